"""``papercast mcp`` start-up and search latency, measured as whole processes through the SDK's client.

* start-up: process spawn → ``initialize`` → ``tools/list`` answered, for ``papercast mcp`` and for the
  SDK's own floor, a minimal ``MCPServer`` with one tool (and, for reference, a minimal low-level
  ``Server``, the class papercast uses), started the same way (``python FILE`` / ``python -m papercast
  mcp``), interleaved run by run; medians (issue 25's goal: papercast ≤ 1.3× the minimal MCPServer);
* ``search_library`` on a 10k-paper store: the first call of a fresh server (cold: the store, the
  embedder and the search's caches load on it; goal ≤ 1.5 s), then the same server warm;
* the longest tool result seen on the 10k store (capped at 25,000 characters).

The 10k store is ``bench/tui.py``'s (the newest 10,000 corpus papers with their cached vectors), copied
to a temporary home first so nothing is written to the cache; build it with ``bench/tui.py`` or name
another home with ``--home``.

Run: .venv/bin/python bench/mcp_startup.py [--runs 9] [--cold 5] [--home DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from mcp.client import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

ROOT = Path(__file__).resolve().parents[1]
BIG_HOME = ROOT / "bench" / ".cache" / "tui-10k"
for _name in [n for n in os.environ if n.startswith("PAPERCAST_")]:
    del os.environ[_name]  # offline mode, whatever the caller's shell says

MINIMAL_MCPSERVER = '''
from mcp.server.mcpserver import MCPServer

server = MCPServer("minimal")


@server.tool()
def echo(text: str) -> str:
    """Say the text back."""
    return text


server.run()
'''

MINIMAL_LOWLEVEL = '''
import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

TOOL = types.Tool(name="echo", description="Say the text back.",
                  input_schema={"type": "object", "properties": {"text": {"type": "string"}}})


async def list_tools(ctx, params):
    return types.ListToolsResult(tools=[TOOL])


async def call_tool(ctx, params):
    return types.CallToolResult(content=[types.TextContent(type="text", text=params.arguments["text"])])


async def main():
    server = Server("minimal", on_list_tools=list_tools, on_call_tool=call_tool)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


anyio.run(main)
'''

QUERIES = ["kv cache compression for long context", "speculative decoding", "retrieval augmented generation",
           "diffusion models for video", "reinforcement learning from human feedback", "mixture of experts"]


def params(args: list[str], home: Path) -> StdioServerParameters:
    env = {**os.environ, "PAPERCAST_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return StdioServerParameters(command=sys.executable, args=args, env=env, cwd=str(ROOT))


async def start_up(server: StdioServerParameters) -> float:
    """Seconds from spawning the process to ``tools/list`` answered."""
    started = time.perf_counter()
    async with stdio_client(server, errlog=open(os.devnull, "w")) as (read, write), \
            ClientSession(read, write) as session:
        await session.initialize()
        tools = await session.list_tools()
        took = time.perf_counter() - started
    assert tools.tools
    return took


async def searches(server: StdioServerParameters, warm: int,
                   pause: float | None) -> tuple[float, float, list[float], int]:
    """(process start → first answer, the first call alone, warm calls, the longest result). With a
    ``pause`` the client lists the tools first, as MCP clients do, and calls that many seconds later
    (a model deciding); with None it calls at once, without listing (nothing warmed up)."""
    started = time.perf_counter()
    async with stdio_client(server, errlog=open(os.devnull, "w")) as (read, write), \
            ClientSession(read, write, read_timeout_seconds=300) as session:
        await session.initialize()
        if pause is not None:
            await session.list_tools()
            await asyncio.sleep(pause)
        call = time.perf_counter()
        first = await session.call_tool("search_library", {"query": QUERIES[0], "n": 10})
        done = time.perf_counter()
        assert not first.is_error, first.content
        times = []
        for i in range(warm):
            t = time.perf_counter()
            out = await session.call_tool("search_library", {"query": QUERIES[1 + i % (len(QUERIES) - 1)],
                                                             "n": 10})
            times.append(time.perf_counter() - t)
            assert not out.is_error
        longest = 0
        for name, arguments in (("recommend", {"n": 30}), ("search_library", {"query": "language", "n": 25}),
                                ("digest", {"which": "today", "n": 30})):
            result = await session.call_tool(name, arguments)
            longest = max(longest, max(len(c.text) for c in result.content))
    return done - started, done - call, times, longest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="start-up runs per server (interleaved)")
    parser.add_argument("--cold", type=int, default=5, help="fresh servers for the cold search")
    parser.add_argument("--warm", type=int, default=10, help="warm searches per fresh server")
    parser.add_argument("--home", type=Path, default=BIG_HOME, help="a 10k-paper home (copied first)")
    args = parser.parse_args()
    if not (args.home / "chroma").exists():
        raise SystemExit(f"no store at {args.home}: build it with bench/tui.py, or give --home")
    with tempfile.TemporaryDirectory(prefix="mcp-bench-") as tmp:
        work = Path(tmp)
        (work / "minimal_mcpserver.py").write_text(MINIMAL_MCPSERVER)
        (work / "minimal_lowlevel.py").write_text(MINIMAL_LOWLEVEL)
        home = work / "home"
        shutil.copytree(args.home, home)
        servers = {
            "minimal MCPServer, one tool": params([str(work / "minimal_mcpserver.py")], home),
            "minimal low-level Server, one tool": params([str(work / "minimal_lowlevel.py")], home),
            "papercast mcp": params(["-m", "papercast", "mcp"], home),
        }
        timings: dict[str, list[float]] = {name: [] for name in servers}
        for _ in range(args.runs):
            for name, server in servers.items():
                timings[name].append(asyncio.run(start_up(server)))
        floor = statistics.median(timings["minimal MCPServer, one tool"])
        print(f"initialize + tools/list, whole process, median of {args.runs} interleaved runs:")
        for name, values in timings.items():
            median = statistics.median(values)
            print(f"  {name:<36} {median:6.3f} s  ({median / floor:.2f}x the minimal MCPServer; "
                  f"min {min(values):.3f}, max {max(values):.3f})")

        ways: dict[str, float | None] = {"with no tools/list before it": None,
                                         "right after tools/list": 0.0, "3 s after tools/list": 3.0}
        results: dict[str, list[tuple[float, float, list[float], int]]] = {way: [] for way in ways}
        for _ in range(args.cold):
            for way, pause in ways.items():
                results[way].append(asyncio.run(searches(servers["papercast mcp"], args.warm, pause)))
        print(f"search_library on a copy of {args.home} ({args.cold} fresh servers each way, interleaved):")
        for label in ways:
            calls = [r[1] for r in results[label]]
            totals = [r[0] for r in results[label]]
            print(f"  cold, first call {label:<29} median {statistics.median(calls):.3f} s "
                  f"(min {min(calls):.3f}, max {max(calls):.3f}); process start to answer "
                  f"{statistics.median(totals):.3f} s")
        warm = [t for rs in results.values() for r in rs for t in r[2]]
        longest = max(r[3] for rs in results.values() for r in rs)
        print(f"  warm ({len(warm)} calls): median {statistics.median(warm) * 1000:.0f} ms "
              f"(max {max(warm) * 1000:.0f} ms)")
        print(f"longest tool result (recommend n=30, search n=25, digest n=30): {longest} characters "
              "(cap 25000)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
