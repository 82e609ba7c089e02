"""Typed state of the two graphs, and the events and results their callers see.

This module imports nothing heavy (no langgraph, no litellm): the TUI imports ``ChatEvent`` at start-up.
The graph states are ``TypedDict``s whose reducers are plain functions; the chat messages are
LangChain message objects, merged by langgraph's ``add_messages`` (imported when first used).

Chat events (what ``Papercast.achat_stream`` and ``aresume_stream`` yield, in order)::

    tool_start  tool, args, call_id        the agent is about to run a tool
    proposal    tool, call_id, text, proposal   a state-changing call became a proposal (text: its summary)
    tool_end    tool, call_id, ok, text    the tool finished (text: a one-line preview of its output);
                                           for a proposal: applied (ok) or not, once the user answered
    token       text                       a piece of the answer as the model writes it
    final       answer (ChatAnswer)        the stream is over; always the last event, exactly once

A turn whose model proposed changes pauses: its stream ends with ``final`` whose ``answer.pending``
lists them, and ``aresume_stream`` with the user's answer continues the same turn (same events).

Tokens of a step that ends in tool calls are streamed too (models sometimes "think aloud" before
calling tools); a consumer that only wants the answer can use ``final.answer.text``.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypedDict

from papercast.models import ChatAnswer, Proposal, ReadingList

EventKind = Literal["token", "tool_start", "tool_end", "proposal", "final"]
OFFLINE_LABEL = "offline answer"


def merge_messages(left: list[Any], right: list[Any] | Any) -> list[Any]:
    """langgraph's ``add_messages`` reducer (append, replace by id, ``RemoveMessage``), imported lazily."""
    from langgraph.graph.message import add_messages

    return add_messages(left, right)  # type: ignore[return-value]


class ChangeRecord(TypedDict):
    """An applied change, as the thread keeps it: ``undo`` are the operations that take it back
    (``changes.run_ops``), so an undo works in a later turn or another process."""

    id: str  # "c1", "c2", ... within the thread
    summary: str
    undo: list[dict[str, Any]]
    undone: bool


def merge_changes(left: list[ChangeRecord] | None, right: list[ChangeRecord] | None) -> list[ChangeRecord]:
    """The thread's change log: new records appended, a record with a known id replaced (``undone``)."""
    out = {c["id"]: c for c in left or []}
    for record in right or []:
        out[record["id"]] = record
    return list(out.values())


# -- chat ---------------------------------------------------------------------------------------
class ChatState(TypedDict, total=False):
    """One conversation thread, as the SQLite checkpointer stores it.

    ``messages`` is the whole thread (never trimmed on disk; only the copy sent to the model is).
    ``steps`` counts model calls in the current turn; the model node stops calling tools when it
    reaches ``max_steps`` — the graceful recursion limit (langgraph's own limit is the backstop).
    """

    messages: Annotated[list[Any], merge_messages]
    steps: int
    stopped: bool  # the turn hit the step limit
    fallback: str  # why the model failed this turn ("" = it did not): the rest of the turn is offline
    proposals: list[dict[str, Any]]  # Proposal.to_json() of the changes waiting for the user's answer
    changes: Annotated[list[ChangeRecord], merge_changes]  # every change applied in the thread (undo)
    retrieved: dict[str, Any]  # this turn's library retrieval (``retrieve``): papers, passages, text
    ended: bool  # the user moved on from a proposal: the turn ends without the model


@dataclass(frozen=True)
class TurnContext:
    """What changes from turn to turn but is not conversation state (langgraph's run context)."""

    system: str  # the system prompt of this turn
    profile: str | None = None  # the profile the tools act for


@dataclass
class ChatEvent:
    """One streamed event of a chat turn (see the module docstring for the order)."""

    kind: EventKind
    text: str = ""  # token: the piece; tool_end: output preview (or the error)
    tool: str = ""
    args: dict[str, Any] = field(default_factory=dict)
    call_id: str = ""
    ok: bool = True
    answer: ChatAnswer | None = None  # final only
    proposal: Proposal | None = None  # proposal, and tool_end of a proposal


# -- daily ---------------------------------------------------------------------------------------
class DailyState(TypedDict, total=False):
    """The daily pipeline's state. ``errors`` and ``notes`` accumulate across nodes (one line each)."""

    profile: str | None
    n: int
    sources: list[str]
    papers: list[Any]  # Paper objects fetched this run (all sources)
    fetched: dict[str, int]  # source -> papers fetched
    stored: dict[str, int]  # added / updated / unchanged
    offline_network: bool  # every source failed to connect: built from the store
    reading: ReadingList | None  # the ranked list, its window and notes (None: ranking failed)
    summaries: dict[str, Any]  # paper id -> Summary
    digest_md: str
    digest_html: str
    digest_json: Any
    digest: Any  # the Digest itself, for the channels that render it their own way (feed, webhooks)
    errors: Annotated[list[str], operator.add]
    notes: Annotated[list[str], operator.add]


@dataclass
class DailyReport:
    """What ``papercast daily`` did. ``ok`` is False only when no digest could be built."""

    profile: str
    fetched: dict[str, int] = field(default_factory=dict)
    stored: dict[str, int] = field(default_factory=dict)
    recommended: list[str] = field(default_factory=list)  # paper ids in digest order
    summarized: int = 0
    markdown: str = ""
    html: str = ""
    out: str | None = None
    emailed: str | None = None
    offline_network: bool = False
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    delivered: list[str] = field(default_factory=list)  # channels reached ("email to a@x", "feed f.xml", ...)
    failed: list[str] = field(default_factory=list)  # channels that failed (their errors are in ``errors``)
    fallbacks: int = 0  # summaries that fell back to offline ones because the model failed
    mode: str = ""  # the digest's mode line ("offline", the model, and how many fell back)

    @property
    def ok(self) -> bool:
        return bool(self.recommended)

    def to_json(self) -> dict[str, Any]:
        """``daily --json``: what each step did, where the digest went, and every error (one line each)."""
        return {"profile": self.profile, "ok": self.ok and not self.errors, "digest_built": self.ok,
                "fetched": self.fetched, "stored": self.stored, "recommended": self.recommended,
                "summarized": self.summarized, "summary_fallbacks": self.fallbacks, "mode": self.mode,
                "offline_network": self.offline_network, "delivered": self.delivered, "failed": self.failed,
                "errors": self.errors, "notes": self.notes}
