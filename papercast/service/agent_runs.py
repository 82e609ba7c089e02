"""The agent's entry points: chat turns (with the loop that answers their proposals) and the daily run."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from papercast.agent.consent import scoped
from papercast.service.core import ServiceCore
from papercast.store.threads import list_threads

if TYPE_CHECKING:
    from papercast.agent.events import ChatEvent, DailyReport
    from papercast.agent.tool_types import Applied
    from papercast.models import ChatAnswer, Proposal, ThreadInfo

OnEvent = Callable[["ChatEvent"], None]
OnPending = Callable[["ChatAnswer", dict[str, bool]], None]  # a paused turn, and the answer to each proposal


async def _final_answer(events: AsyncIterator[ChatEvent], on_event: OnEvent | None) -> ChatAnswer:
    """The answer of a turn's ``final`` event (always its last), each event shown to ``on_event``."""
    answer: ChatAnswer | None = None
    async for event in events:
        if on_event is not None:
            on_event(event)
        if event.kind == "final" and event.answer is not None:
            answer = event.answer
    assert answer is not None  # stream_turn and resume_turn always end with the final event
    return answer


def _chat() -> ModuleType:
    """``agent/chat`` (a turn on a stored thread), imported on first use: the TUI's first paint and every
    command but ``chat`` skip LangGraph."""
    from papercast.agent import chat  # lazy: langgraph (~2 s)

    return chat


class AgentRunsMixin(ServiceCore):
    """Chat and the daily graph (``papercast.agent``); the agent sees this service as its ``Library``."""

    def chat(self, message: str, thread_id: str | None = None, *, profile: str | None = None,
             approve: bool = False, on_event: OnEvent | None = None,
             on_pending: OnPending | None = None) -> ChatAnswer:
        """One chat turn, answered in full (a new thread when ``thread_id`` is None).

        Changes the agent proposes are applied only with ``approve`` (the CLI's ``--yes``), and then only
        those whose object the message names (``agent/consent``); either way the turn goes on to its
        answer, which states what was and was not applied.
        Synchronous: for the CLI and scripts. Inside an event loop (the TUI) use ``achat_stream``.
        """
        return asyncio.run(self.achat(message, thread_id, profile=profile, approve=approve,
                                      on_event=on_event, on_pending=on_pending))

    async def achat(self, message: str, thread_id: str | None = None, *, profile: str | None = None,
                    approve: bool = False, on_event: OnEvent | None = None,
                    on_pending: OnPending | None = None) -> ChatAnswer:
        """``chat`` for async callers. ``on_event`` sees every event as it comes (the CLI streams the
        tokens); ``on_pending`` gets each paused step (its ``pending`` proposals) and the answers given."""
        answer = await _final_answer(self.achat_stream(message, thread_id, profile=profile), on_event)
        while answer.pending:  # each model step may propose more; each is answered the same way
            answers = {p.id: False for p in answer.pending}
            if approve:  # yes only to what the message names: not to what the model made up
                answers = await asyncio.to_thread(scoped, message, answer.pending,
                                                  lambda name: self.active_profile(name or profile))
            if on_pending is not None:
                on_pending(answer, answers)
            resumed = self.aresume_stream(answer.thread_id, answers, profile=profile)
            answer = await _final_answer(resumed, on_event)
        return answer

    def achat_stream(self, message: str, thread_id: str | None = None, *,
                     profile: str | None = None) -> AsyncIterator[ChatEvent]:
        """A chat turn as events: ``token``, ``tool_start``, ``proposal``, ``tool_end`` and, last, ``final``.

        See ``papercast.agent.events`` for the event fields. The thread persists in
        ``settings.checkpoint_path``; ``final.answer.thread_id`` names it for the next turn. When
        ``final.answer.pending`` is not empty the turn waits for the user: ``aresume_stream``.
        """
        return _chat().stream_turn(self, message, thread_id, profile=profile)

    def aresume_stream(self, thread_id: str, approve: bool | Mapping[str, bool], *,
                       profile: str | None = None) -> AsyncIterator[ChatEvent]:
        """Answer a turn's proposed changes and continue it: the same events as ``achat_stream``.

        ``approve``: True applies them all, False none, ``{proposal id: bool}`` each as said.
        """
        return _chat().resume_turn(self, thread_id, approve, profile=profile)

    async def apropose_change(self, tool: str, args: dict[str, Any], *, thread_id: str,
                              profile: str | None = None) -> Proposal:
        """The change a state-changing agent tool (``give_feedback``, ``update_profile``, ``undo_change``...)
        would make, checked and named before -> after; nothing is written. For a caller that asks the
        user itself (the MCP server); ``thread_id``'s change log is what ``undo_change`` sees."""
        return await _chat().propose_change(self, tool, args, profile=profile, thread_id=thread_id)

    async def aapply_change(self, proposal: Proposal, *, thread_id: str,
                            profile: str | None = None) -> Applied:
        """Apply a proposal the user confirmed, recorded with its change id (``proposal.change``) in the
        thread's change log, where the chat's ``undo cN`` finds it."""
        return await _chat().apply_change(self, proposal, profile=profile, thread_id=thread_id)

    def list_threads(self) -> list[ThreadInfo]:
        """Stored conversations, most recently used first."""
        return list_threads(self.settings.checkpoint_path)

    async def athread_messages(self, thread_id: str) -> list[dict[str, Any]]:
        """A stored thread's messages for display: ``{"role", "text", ...}`` in order."""
        return await _chat().thread_messages(self, thread_id)

    def daily(self, profile: str | None = None, out: str | Path | None = None,
              email: str | Sequence[str] | None = None, **options: Any) -> DailyReport:
        """The daily graph: fetch -> store -> rank -> summarize -> digest, then deliver it to every channel
        (file, Atom feed, e-mail, webhooks, stdout) and record each delivery; papers already delivered to
        the profile are left out.

        ``options`` go to ``papercast.agent.daily.run_daily`` (n, webhooks, feed, stdout, include_seen,
        sources, client, policy, today, say, tls_context, http).
        """
        return asyncio.run(self.adaily(profile, out, email, **options))

    async def adaily(self, profile: str | None = None, out: str | Path | None = None,
                     email: str | Sequence[str] | None = None, **options: Any) -> DailyReport:
        from papercast.agent.daily import run_daily  # lazy: langgraph (~2 s)

        return await run_daily(self, profile=profile, out=out, email=email, **options)
