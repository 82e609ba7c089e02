"""A chat turn as callers see it: the tools it ran, the changes it proposes, its answer, and the
stored threads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal


@dataclass
class ToolRecord:
    """One tool call of a turn: what ran, with which arguments, and whether it worked."""

    name: str
    args: dict[str, Any]
    ok: bool
    preview: str = ""  # first line of the output (or the error)


ProposalStatus = Literal["pending", "applied", "declined", "failed"]


@dataclass
class Proposal:
    """A change to the user's data that the chat agent asked for and the user must confirm.

    The agent never changes a profile, feedback or the library on its own: a state-changing tool
    call stops the turn with one of these (``pending``) until the user says yes (``applied``, with the
    ``change`` id that ``undo`` takes back) or no (``declined``). ``before``/``after`` name the exact
    change so a dialog or a terminal line can show it.
    """

    id: str  # the tool call's id (unique within the turn)
    tool: str
    args: dict[str, Any]
    summary: str  # one line: "like [2608.20281] Title"
    before: str
    after: str
    status: ProposalStatus = "pending"
    change: str | None = None  # once applied: its id in the thread ("c2"), for undo
    detail: str = ""  # what applying it did, or why it failed

    def diff_lines(self) -> list[str]:
        """``field: before -> after``, one line per changed field (``before``/``after`` hold one
        ``field: value`` line per field, in the same order)."""
        out = []
        for old, new in zip(self.before.split("\n"), self.after.split("\n"), strict=False):
            label, _, was = old.partition(": ")
            label_new, _, now = new.partition(": ")
            out.append(f"{label}: {was} -> {now}" if was and label == label_new else f"{old} -> {new}")
        return out

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "tool": self.tool, "args": self.args, "summary": self.summary,
                "before": self.before, "after": self.after, "status": self.status, "change": self.change,
                "detail": self.detail}


@dataclass
class ChatAnswer:
    """The result of one chat turn.

    ``papers`` are the ``(id, title)`` of the library papers the answer cites; ``unverified`` the ids
    (and ``[id §section]`` citations) it cites that the library does not hold, which the answer's
    text flags. ``offline`` marks a retrieval answer written without a model. ``proposals`` are the
    turn's state changes; while one is ``pending`` the turn waits for the user (``pending``).
    ``library_fallback`` says the model cited nothing, so the library's matches were appended.
    """

    text: str
    thread_id: str
    offline: bool = False
    papers: list[tuple[str, str]] = field(default_factory=list)
    tools: list[ToolRecord] = field(default_factory=list)
    stopped: bool = False  # the step limit ended the turn
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    proposals: list[Proposal] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)
    library_fallback: bool = False
    model_error: str = ""  # why the model failed this turn (the answer is then the offline fallback)

    @property
    def pending(self) -> list[Proposal]:
        """The proposals waiting for the user's answer (the turn resumes once they are answered)."""
        return [p for p in self.proposals if p.status == "pending"]

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text, "thread_id": self.thread_id, "offline": self.offline,
            "papers": [{"id": i, "title": t} for i, t in self.papers],
            "tools": [{"name": t.name, "args": t.args, "ok": t.ok} for t in self.tools],
            "proposals": [p.to_json() for p in self.proposals],
            "unverified": self.unverified, "library_fallback": self.library_fallback,
            "model_error": self.model_error, "stopped": self.stopped,
            "usage": {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                      "cost_usd": self.cost_usd},
        }


@dataclass
class ThreadInfo:
    """A stored conversation: id, title (its first message, shortened) and when it was used."""

    id: str
    title: str
    created: datetime
    updated: datetime
    turns: int

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "created": self.created.isoformat(),
                "updated": self.updated.isoformat(), "turns": self.turns}
