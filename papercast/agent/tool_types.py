"""What every chat tool is made of: its context, its output, and the ``Tool`` record itself.

Two kinds of tool exist, and the difference is the point of the design (docs/architecture.md, "The
agent and the user's data"): a **read-only** tool (``run``) looks things up whenever the model asks; a
**state-changing** tool (``propose`` + ``apply``) never changes anything when the model calls it:
``propose`` checks the arguments and describes the exact change (before -> after), the graph pauses
for the user, and only a "yes" runs ``apply``, which returns how to undo what it did. Kept apart from
``toolbox`` (the read-only tools, the registry) and ``changes`` (the state-changing ones) so both use
these types without importing each other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from papercast.agent.port import Library
from papercast.models import Paper, Proposal


@dataclass
class ToolContext:
    """What a tool may use: the library, the profile the chat acts for, and the thread's applied
    changes (``undo_change`` reads them; see ``state.ChangeRecord``)."""

    library: Library
    profile: str | None = None
    changes: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ToolOutput:
    """Text for the model, and the ``(id, title)`` of the papers it showed (for citation checks)."""

    text: str
    papers: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Applied:
    """What applying a proposal did: the text for the model and the answer, and the operations that
    take it back (data, kept in the thread: see ``changes.undo_ops``)."""

    text: str
    undo: list[dict[str, Any]]
    papers: list[tuple[str, str]] = field(default_factory=list)
    undoes: str | None = None  # the id of the change this one took back (``undo_change``)


ReadTool = Callable[["ToolContext", Any], Awaitable[ToolOutput]]
ProposeTool = Callable[["ToolContext", Any, str], Awaitable[Proposal]]
ApplyTool = Callable[["ToolContext", Proposal], Awaitable[Applied]]


@dataclass(frozen=True)
class Tool:
    """One tool the model can call: a read-only ``run``, or ``propose`` + ``apply`` for a change."""

    name: str
    description: str
    args: type[BaseModel]
    run: ReadTool | None = None
    propose: ProposeTool | None = None
    apply: ApplyTool | None = None

    @property
    def changes_state(self) -> bool:
        return self.propose is not None

    def schema(self) -> dict[str, Any]:
        """The OpenAI function-calling schema."""
        params = self.args.model_json_schema()
        params.pop("title", None)
        for prop in params.get("properties", {}).values():
            prop.pop("title", None)
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                 "parameters": params}}


def cite(paper: Paper) -> str:
    return f"[{paper.id}] {paper.title}"


async def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a blocking service call (Chroma, the embedder, SQLite) off the event loop the TUI draws on."""
    return await asyncio.to_thread(fn, *args, **kwargs)
