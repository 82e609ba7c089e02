"""The graphs' states: a chat thread as the checkpointer keeps it, and a daily run.

Imported only when a graph runs (it loads LangChain's message types); what callers see of a turn
or a run is in ``events``.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages

from papercast.agent.tool_types import Applied
from papercast.models import Paper, Proposal, ReadingList, Summary
from papercast.tools.writing.digest import Digest


class ChangeRecord(TypedDict):
    """An applied change, as the thread keeps it: ``undo`` are the operations that take it back
    (``changes.run_ops``), so an undo works in a later turn or another process."""

    id: str  # "c1", "c2", ... within the thread
    summary: str
    undo: list[dict[str, Any]]
    undone: bool


def record_applied(changes: Sequence[ChangeRecord], records: Sequence[ChangeRecord], proposal: Proposal,
                   applied: Applied) -> list[ChangeRecord]:
    """The log entries of one applied proposal, after ``changes`` (the thread's) and ``records`` (this
    step's): its own, numbered next (``c1``, ``c2``...; set on ``proposal.change``), and for an undo
    the change it took back, marked undone. The chat's confirm node and the MCP server both use it."""
    proposal.change = f"c{len(changes) + len(records) + 1}"
    out = [ChangeRecord(id=proposal.change, summary=proposal.summary, undo=applied.undo, undone=False)]
    if applied.undoes:
        out += [ChangeRecord(**{**c, "undone": True}) for c in changes if c["id"] == applied.undoes]
    return out


def merge_changes(left: list[ChangeRecord] | None, right: list[ChangeRecord] | None) -> list[ChangeRecord]:
    """The thread's change log: new records appended, a record with a known id replaced (``undone``)."""
    out = {c["id"]: c for c in left or []}
    for record in right or []:
        out[record["id"]] = record
    return list(out.values())


class Retrieved(TypedDict, total=False):
    """A turn's library retrieval (``grounding.retrieve``), before the model speaks."""

    papers: list[list[str]]  # [id, title] of every paper shown to the model
    relevant: list[str]  # ids of those that hold a topic word of the message (or that it names)
    passages: list[str]  # citations of the stored passages shown, "[id §n]"
    text: str  # what the model reads, after the user's message


# -- chat ---------------------------------------------------------------------------------------
class ChatState(TypedDict, total=False):
    """One conversation thread, as the SQLite checkpointer stores it.

    ``messages`` is the whole thread (never trimmed on disk; only the copy sent to the model is).
    ``steps`` counts model calls in the current turn: at the model's ``max_steps`` the turn stops
    (langgraph's own recursion limit is the backstop).
    """

    messages: Annotated[Sequence[AnyMessage], add_messages]
    steps: int
    stopped: bool  # the turn hit the step limit
    fallback: str  # why the model failed this turn ("" = it did not): the rest of the turn is offline
    proposals: list[dict[str, Any]]  # Proposal.to_json() of the changes waiting for the user's answer
    changes: Annotated[list[ChangeRecord], merge_changes]  # every change applied in the thread (undo)
    retrieved: Retrieved
    ended: bool  # the user moved on from a proposal: the turn ends without the model


# -- daily ---------------------------------------------------------------------------------------
class DailyState(TypedDict, total=False):
    """The daily pipeline's state. ``errors``, ``skipped`` and ``notes`` accumulate across nodes (one
    line each); ``skipped`` is what the run did without (full text of a host found unreachable)."""

    profile: str | None
    n: int
    sources: list[str]
    papers: list[Paper]  # fetched this run (all sources)
    fetched: dict[str, int]  # source -> papers fetched
    stored: dict[str, int]  # added / updated / unchanged
    offline_network: bool  # every source failed to connect: built from the store
    reading: ReadingList | None  # the ranked list, its window and notes (None: ranking failed)
    summaries: dict[str, Summary]  # by paper id
    digest_md: str
    digest_html: str
    digest: Digest  # the digest itself, for the channels that render it their own way (feed, webhooks)
    errors: Annotated[list[str], operator.add]
    skipped: Annotated[list[str], operator.add]
    notes: Annotated[list[str], operator.add]
