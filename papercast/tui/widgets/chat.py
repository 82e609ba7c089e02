"""Chat log pieces: the user's message, a tool status line and the agent's streamed answer."""

from __future__ import annotations

import re
from typing import Any

from textual.markup import escape
from textual.widgets import Markdown, Static

# New-style arXiv ids (2408.01234) not already inside a Markdown link or a URL.
PAPER_ID = re.compile(r"(?<![\w/.:\[(])(\d{4}\.\d{4,5})(v\d+)?(?![\w\]])")

TOOL_VERBS = {
    "search": "searching the library",
    "search_papers": "searching the library",
    "fetch": "fetching papers",
    "fetch_papers": "fetching papers",
    "recommend": "ranking papers",
    "get_paper": "reading a paper",
    "summarize": "summarizing",
    "similar": "finding similar papers",
}


# ``[2408.01234]`` (how the agent cites) when it is not already a Markdown link.
BRACKETED_ID = re.compile(r"\[(\d{4}\.\d{4,5})(v\d+)?\](?!\()")
ANY_ID = re.compile(r"(?<![\w/.])(\d{4}\.\d{4,5})(?:v\d+)?(?!\w)")


def paper_ids(text: str) -> list[str]:
    """arXiv ids mentioned in a text (bare, bracketed or linked), first mention first."""
    return list(dict.fromkeys(m.group(1) for m in ANY_ID.finditer(text)))


def linkify(text: str) -> str:
    """Turn cited and bare paper ids into ``paper:`` links that open the paper screen."""
    text = BRACKETED_ID.sub(lambda m: f"[{m.group(1)}{m.group(2) or ''}](paper:{m.group(1)})", text)
    return PAPER_ID.sub(lambda m: f"[{m.group(0)}](paper:{m.group(1)})", text)


def describe_args(args: dict[str, Any]) -> str:
    if not args:
        return ""
    main = next(iter(args.values()))
    text = str(main if len(args) == 1 else ", ".join(f"{k}={v}" for k, v in args.items()))
    return text if len(text) <= 60 else text[:57] + "…"


class UserMessage(Static):
    def __init__(self, text: str) -> None:
        super().__init__(f"[b]you[/b]  {escape(text)}", classes="user-message")


class ToolLine(Static):
    """``⋯ searching the library: long context`` → ``✓ search_papers: 12 papers``."""

    def __init__(self, tool: str, args: dict[str, Any]) -> None:
        self.tool = tool
        verb = TOOL_VERBS.get(tool, f"running {tool}")
        detail = describe_args(args)
        super().__init__(f"⋯ {verb}…" + (f" [dim]{escape(detail)}[/dim]" if detail else ""),
                         classes="tool-line")

    def finish(self, ok: bool, text: str) -> None:
        mark = "✓" if ok else "✗"
        preview = text.splitlines()[0] if text else ("done" if ok else "failed")
        if len(preview) > 100:
            preview = preview[:97] + "…"
        self.update(f"{mark} {escape(self.tool)}: {escape(preview)}")
        self.set_class(not ok, "tool-failed")


class AgentMessage(Markdown):
    """The agent's answer; tokens stream in through ``Markdown.get_stream``."""

    def __init__(self) -> None:
        super().__init__("", classes="agent-message", open_links=False)
        self.text = ""
