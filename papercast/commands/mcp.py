"""``papercast mcp``: the library as a Model Context Protocol server over stdio, for other agents.

MCP clients (Claude Code, Claude Desktop, Cursor, Zed...) start it as a child process and talk
JSON-RPC over its stdin and stdout, so nothing but protocol messages may reach stdout: notes go to
stderr and the log file. ``--print-config`` prints the JSON those clients read, ready to paste.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from papercast.commands._output import EXIT_OK, notice
from papercast.errors import UserError


def register(sub: Any) -> None:
    p = sub.add_parser("mcp", help="serve the library to other agents over MCP (stdio); read-only unless "
                       "--allow-changes", description="A Model Context Protocol server over stdio: tools, "
                       "resources and prompts over your papers. See docs/mcp.md.")
    p.add_argument("--profile", help="profile to act for (default: the active one)")
    p.add_argument("--allow-changes", action="store_true",
                   help="offer the change tools (feedback, profile edits, undo); each asks you to confirm "
                   "through the client (MCP elicitation) and applies only on accept")
    p.add_argument("--print-config", action="store_true",
                   help="print the client configuration (JSON for Claude Desktop, Cursor, Zed...) and exit")
    p.set_defaults(handler=cmd_mcp)


def client_config(home: str | None, profile: str | None, allow_changes: bool) -> dict[str, Any]:
    """The ``mcpServers`` entry MCP clients read: command ``papercast``, args ``["mcp", ...]``."""
    args = ["mcp"] + (["--profile", profile] if profile else [])
    args += ["--allow-changes"] if allow_changes else []
    entry: dict[str, Any] = {"command": "papercast", "args": args}
    if home:
        entry["env"] = {"PAPERCAST_HOME": home}
    return {"mcpServers": {"papercast": entry}}


def config_text(home: str | None, profile: str | None, allow_changes: bool) -> str:
    entry = client_config(home, profile, allow_changes)
    server = entry["mcpServers"]["papercast"]
    claude = " ".join(["claude mcp add papercast"] + [f"-e PAPERCAST_HOME={home}" if home else ""]
                      + ["-- papercast", *server["args"]]).replace("  ", " ")
    zed = {"context_servers": {"papercast": {"source": "custom", **server}}}
    return "\n".join([
        "# Claude Desktop (claude_desktop_config.json), Cursor (~/.cursor/mcp.json) and most MCP clients:",
        json.dumps(entry, indent=2),
        "", "# Claude Code:", claude,
        "", "# Zed (settings.json):", json.dumps(zed, indent=2), ""])


def cmd_mcp(args: argparse.Namespace) -> int:
    from papercast.mcp_server import server  # lazy: the MCP SDK (~0.5 s) loads for this command only

    settings = server.settings_for(args.home, model=getattr(args, "model", None),
                                   language=getattr(args, "language", None))
    if args.print_config:
        sys.stdout.write(config_text(str(settings.home), args.profile, args.allow_changes))
        return EXIT_OK
    if args.profile is not None and not args.profile.strip():
        raise UserError("--profile is empty: give a profile name (papercast profile list)")
    notice(f"papercast mcp: serving {settings.home} over stdio "
           f"({'changes allowed, each confirmed by you' if args.allow_changes else 'read-only'})")
    server.serve(settings, profile=args.profile, allow_changes=args.allow_changes)
    return EXIT_OK
