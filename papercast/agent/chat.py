"""Running chat turns: threads on disk, streamed events, proposals answered, the answer of a turn.

Threads live in ``settings.checkpoint_path`` (``threads.db``): langgraph's ``AsyncSqliteSaver`` keeps
the messages (so another process continues a thread), and a small ``papercast_threads`` table keeps
what a thread list needs (title, times, turns) without reading every checkpoint. A turn is one run of
the chat graph, streamed with ``stream_mode="custom"`` as ``ChatEvent``s and ended by the ``final``
event's ``ChatAnswer``. A proposed change stops the graph at ``interrupt()`` (``answer.pending``);
``resume_turn`` continues it with the user's answer, and a thread left waiting is answered "no" when
the next message comes, so it never blocks the conversation. ``propose_change``/``apply_change``: the
same proposals for a caller that asks the user itself (the MCP server), recorded in a thread's log.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.errors import GraphRecursionError
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command
from pydantic import ValidationError

from papercast.agent.context import ChatContext
from papercast.agent.events import ChatEvent
from papercast.agent.graph import graph, recursion_limit
from papercast.agent.port import Library
from papercast.agent.prompts import system_prompt
from papercast.agent.state import ChangeRecord, record_applied
from papercast.agent.tool_types import Applied, ToolContext
from papercast.agent.toolbox import TOOLS
from papercast.agent.turn import build_answer
from papercast.errors import UserError, first_line, validation_line
from papercast.models import Proposal
from papercast.store import threads

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 20_000
_THREAD_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
Approval = bool | Mapping[str, bool]


def new_thread_id() -> str:
    return uuid.uuid4().hex[:8]


def check_thread_id(thread_id: str) -> str:
    if not _THREAD_ID.match(thread_id or ""):
        raise UserError(f"invalid thread id {thread_id!r}: use letters, digits, '-', '_' or '.' (max 64)")
    return thread_id


# -- a turn ----------------------------------------------------------------------------------------------
@dataclass
class Turn:
    """What running a turn on a thread needs: the thread, the run context and config."""

    thread_id: str
    context: ChatContext
    config: dict[str, Any]
    path: Path  # the threads' database


async def _turn(library: Library, thread_id: str, profile: str | None) -> Turn:
    target = await asyncio.to_thread(library.active_profile, profile)
    count = await asyncio.to_thread(library.count)
    model = library.chat_model
    system = system_prompt(profile=target.name, count=count, tools=model is None or model.tools)
    config = {"configurable": {"thread_id": thread_id},
              "recursion_limit": recursion_limit(model.max_steps if model else 4)}
    return Turn(thread_id, ChatContext(library=library, model=model, system=system, profile=target.name),
                config, library.settings.checkpoint_path)


async def _run(compiled: CompiledStateGraph, graph_input: Any, turn: Turn) -> AsyncIterator[ChatEvent]:
    """Run the graph on the thread, yielding its events, then the ``final`` one with the answer."""
    # durability="exit": one checkpoint write per run instead of one per step. Each write stores the
    # whole message list, so per-step writes made a 10-turn thread ~2x slower; the price is that a
    # turn killed midway is not kept (the thread stays as it was before it). A run that stops at a
    # proposal's interrupt is written too, so another process can resume it.
    backstop = False
    try:
        async for event in compiled.astream(graph_input, turn.config, stream_mode="custom",
                                            context=turn.context, durability="exit"):
            yield ChatEvent(**event)
    except GraphRecursionError:
        backstop = True
    snapshot = await compiled.aget_state(turn.config)
    answer = build_answer(snapshot.values, turn.thread_id, offline=turn.context.model is None,
                          backstop=backstop, waiting=bool(snapshot.interrupts))
    yield ChatEvent(kind="final", text=answer.text, answer=answer)


async def stream_turn(library: Library, message: str, thread_id: str | None = None, *,
                      profile: str | None = None) -> AsyncIterator[ChatEvent]:
    """Run one turn on a thread; yield its events, the ``final`` one last (see ``events``)."""
    text = message.strip()
    if not text:
        raise UserError("empty chat message")
    if len(text) > MAX_MESSAGE_CHARS:
        raise UserError(f"chat message too long ({len(text)} characters; at most {MAX_MESSAGE_CHARS})")
    turn = await _turn(library, check_thread_id(thread_id) if thread_id else new_thread_id(), profile)
    turn.path.parent.mkdir(parents=True, exist_ok=True)
    turn_input = {"messages": [HumanMessage(content=text)], "steps": 0, "stopped": False, "fallback": "",
                  "proposals": [], "retrieved": {}, "ended": False}
    final: ChatEvent | None = None
    async with threads.checkpointer(turn.path) as saver:
        compiled = graph.copy(update={"checkpointer": saver})
        before = await compiled.aget_state(turn.config)
        if before is not None and before.interrupts:  # the user moved on from a proposal: that is a no
            async for _ in _run(compiled, Command(resume={"approve": False, "end": True}), turn):
                pass
        async for event in _run(compiled, turn_input, turn):
            if event.kind == "final":
                final = event
            else:
                yield event
    await asyncio.to_thread(threads.record_turn, turn.path, turn.thread_id, text)
    assert final is not None  # _run always ends with it
    yield final


async def resume_turn(library: Library, thread_id: str, approve: Approval, *,
                      profile: str | None = None) -> AsyncIterator[ChatEvent]:
    """Continue a turn that waits for the user's answer to its proposals; the same events as a turn.

    ``approve`` is True (apply every proposal), False (none) or ``{proposal id: yes?}``.
    """
    turn = await _turn(library, check_thread_id(thread_id), profile)
    if not turn.path.exists():
        raise UserError(f"no conversation thread {turn.thread_id!r}")
    async with threads.checkpointer(turn.path) as saver:
        compiled = graph.copy(update={"checkpointer": saver})
        before = await compiled.aget_state(turn.config)
        if before is None or not before.interrupts:
            raise UserError(f"thread {turn.thread_id!r} has no proposed change waiting for an answer")
        resume = {"approve": dict(approve) if isinstance(approve, Mapping) else bool(approve)}
        async for event in _run(compiled, Command(resume=resume), turn):
            yield event


async def thread_messages(library: Library, thread_id: str) -> list[dict[str, Any]]:
    """A thread as the TUI shows it: ``{"role": "user"|"assistant"|"tool", "text", "tool"?}`` in order."""
    check_thread_id(thread_id)
    path = library.settings.checkpoint_path
    if not path.exists():
        return []
    async with threads.checkpointer(path) as saver:
        config = {"configurable": {"thread_id": thread_id}}
        state = await graph.copy(update={"checkpointer": saver}).aget_state(config)
    out: list[dict[str, Any]] = []
    for m in (state.values or {}).get("messages", []):
        if m.type == "human":
            out.append({"role": "user", "text": str(m.content)})
        elif m.type == "ai" and m.content and not m.tool_calls:
            out.append({"role": "assistant", "text": str(m.content)})
        elif m.type == "tool":
            out.append({"role": "tool", "tool": m.name, "ok": m.status != "error",
                        "text": first_line((m.artifact or {}).get("text") or "", 120, mark="")})
    return out


# -- changes confirmed outside a turn ------------------------------------------------------------------
# The MCP server asks its user by elicitation. The path is the confirm node's: ``propose`` checks and
# names the change (before -> after) without writing; only after a yes does ``apply`` run, against the
# data as it is then, and ``state.record_applied`` numbers it into the thread's change log, so
# ``papercast chat --thread THREAD "undo c1"`` (or the TUI's chat on it) takes it back.
def _thread_config(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": check_thread_id(thread_id)}}


async def thread_changes(library: Library, thread_id: str) -> list[ChangeRecord]:
    """The change log of a thread (empty when the thread does not exist yet)."""
    path = library.settings.checkpoint_path
    if not path.exists():
        return []
    async with threads.checkpointer(path) as saver:
        state = await graph.copy(update={"checkpointer": saver}).aget_state(_thread_config(thread_id))
    return list((state.values or {}).get("changes") or [])


async def propose_change(library: Library, tool: str, args: dict[str, Any], *, profile: str | None,
                         thread_id: str, call_id: str = "mcp") -> Proposal:
    """The checked, described change a state-changing tool would make; nothing is written."""
    spec = TOOLS.get(tool)
    if spec is None or spec.propose is None:
        raise UserError(f"{tool!r} is not a change tool")
    try:
        parsed = spec.args.model_validate(args)
    except ValidationError as exc:
        problems = validation_line(exc, "arguments", most=5)
        raise UserError(f"invalid arguments for {tool}: {problems}") from None
    ctx = ToolContext(library=library, profile=profile, changes=[dict(c) for c in
                                                                 await thread_changes(library, thread_id)])
    proposal = await spec.propose(ctx, parsed, call_id)
    log.warning("proposed %s through MCP: %s (waiting for the user)", tool, proposal.summary)
    return proposal


async def apply_change(library: Library, proposal: Proposal, *, profile: str | None,
                       thread_id: str) -> Applied:
    """Apply a proposal the user confirmed and record it in the thread's change log (its id is then
    ``proposal.change``); the thread also gets one line saying what was applied, for its readers."""
    spec = TOOLS[proposal.tool]
    assert spec.apply is not None
    path = library.settings.checkpoint_path
    path.parent.mkdir(parents=True, exist_ok=True)
    config = _thread_config(thread_id)
    async with threads.checkpointer(path) as saver:
        compiled = graph.copy(update={"checkpointer": saver})
        state = await compiled.aget_state(config)
        changes: list[ChangeRecord] = list((state.values or {}).get("changes") or [])
        ctx = ToolContext(library=library, profile=profile, changes=[dict(c) for c in changes])
        applied = await spec.apply(ctx, proposal)
        records = record_applied(changes, [], proposal, applied)
        proposal.status, proposal.detail = "applied", applied.text
        note = AIMessage(content=f"(applied through MCP, confirmed by the user, as change {proposal.change}: "
                                 f"{proposal.summary})")
        await compiled.aupdate_state(config, {"changes": records, "messages": [note]}, as_node="finish")
    await asyncio.to_thread(threads.record_turn, path, thread_id, "changes confirmed through MCP")
    log.info("applied %s as change %s (confirmed by the user through MCP)", proposal.summary, proposal.change)
    return applied
