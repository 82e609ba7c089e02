"""What the callers of the agent see: a chat turn's streamed events, and what a daily run did.

Light on purpose (no langgraph, no LangChain): the TUI and the service name these types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from papercast.models import ChatAnswer, Proposal

EventKind = Literal["token", "tool_start", "tool_end", "proposal", "final"]


@dataclass
class ChatEvent:
    """One streamed event of a chat turn, as ``Papercast.achat_stream`` / ``aresume_stream`` yield them::

        tool_start  tool, args, call_id          a tool is about to run
        proposal    tool, call_id, text, proposal  a state-changing call became a proposal (text: its summary)
        tool_end    tool, call_id, ok, text      it finished (text: a one-line preview of its output), or
                                                 a proposal was applied (ok) or not, once the user answered
        token       text                         a piece of the answer as the model writes it
        final       answer (ChatAnswer)          the last event, exactly once; ``answer.pending`` lists the
                                                 proposals a paused turn waits on (``aresume_stream`` goes on)
    """

    kind: EventKind
    text: str = ""  # token: the piece; tool_end: output preview (or the error)
    tool: str = ""
    args: dict[str, Any] = field(default_factory=dict)
    call_id: str = ""
    ok: bool = True
    answer: ChatAnswer | None = None  # final only
    proposal: Proposal | None = None  # proposal, and tool_end of a proposal


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
    skipped: list[str] = field(default_factory=list)  # done without, not failed: full text of a host down
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
                "errors": self.errors, "skipped": self.skipped, "notes": self.notes}
