"""Running chat turns: threads on disk, streamed events, proposals answered, the answer of a turn.

Threads live in ``settings.checkpoint_path`` (``threads.db``): langgraph's ``AsyncSqliteSaver`` keeps
the messages (so another process continues a thread), and a small ``papercast_threads`` table next to
it keeps what a thread list needs (title, times, turns) without reading every checkpoint.

One turn = one run of the chat graph on the thread, streamed with ``stream_mode="custom"``: the nodes
write token / tool / proposal events as they happen and ``drive`` turns them into ``ChatEvent``s, then
reads the state and yields the ``final`` event with the ``ChatAnswer``. When the model proposed a
change, the graph stops at ``interrupt()`` and the answer says so (``answer.pending``); ``resume_turn``
continues the same turn with the user's answer. A thread left waiting (the TUI closed on the dialog)
is answered "no" when the next message comes, so it never blocks the conversation.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
import weakref
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from papercast.agent.state import ChatEvent, TurnContext
from papercast.errors import UserError
from papercast.models import ChatAnswer, Proposal, ToolRecord
from papercast.store import threads

if TYPE_CHECKING:
    from papercast.service import Papercast

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
def _model_config(service: Papercast) -> Any:
    if service.settings.offline:
        return None
    from papercast.agent.llm_node import ModelConfig, choose_tools

    tools, why = choose_tools(service.settings.chat_tools, service.llm.model, service.settings.api_base)
    if not tools:
        log.info("chat without tools for %s: %s", service.llm.model, why)
    return ModelConfig(client=service.llm, context_window=service.settings.chat_context_window,
                       max_steps=service.settings.chat_max_steps, tools=tools)


_GRAPHS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
_MODELS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def model_config(service: Papercast) -> Any:
    """The service's chat model configuration (None offline), decided once per service."""
    if service not in _MODELS:
        _MODELS[service] = (_model_config(service),)
    return _MODELS[service][0]


def compiled_graph(service: Papercast, model: Any) -> Any:
    """The service's compiled chat graph, built on first use (settings are frozen, so one is enough)."""
    graph = _GRAPHS.get(service)
    if graph is None:
        from papercast.agent.graph import build_chat_graph

        graph = build_chat_graph(service, model=model).compile()
        _GRAPHS[service] = graph
    return graph


async def _context(service: Papercast, profile: str | None, model: Any) -> TurnContext:
    from papercast.agent.prompts import system_prompt

    target = await asyncio.to_thread(service.active_profile, profile)
    count = await asyncio.to_thread(service.count)
    tools = model is None or model.tools
    return TurnContext(system=system_prompt(profile=target.name, count=count, tools=tools), profile=target.name)


def _config(tid: str, model: Any) -> dict[str, Any]:
    from papercast.agent.graph import recursion_limit

    return {"configurable": {"thread_id": tid}, "recursion_limit": recursion_limit(model.max_steps if model else 4)}


async def drive(compiled: Any, graph_input: Any, config: dict[str, Any], context: TurnContext,
                ) -> AsyncIterator[ChatEvent | bool]:
    """Run the graph, yielding its events; finally ``True`` when langgraph's recursion limit hit."""
    from langgraph.errors import GraphRecursionError

    # durability="exit": one checkpoint write per run instead of one per step. Each write stores the
    # whole message list, so per-step writes made a 10-turn thread ~2x slower; the price is that a
    # turn killed midway is not kept (the thread stays as it was before it). A run that stops at a
    # proposal's interrupt is written too, so another process can resume it.
    try:
        async for event in compiled.astream(graph_input, config, stream_mode="custom", context=context,
                                            durability="exit"):
            yield ChatEvent(**event)
    except GraphRecursionError:
        yield True


async def stream_turn(service: Papercast, message: str, thread_id: str | None = None, *,
                      profile: str | None = None) -> AsyncIterator[ChatEvent]:
    """Run one turn on a thread; yield its events, the ``final`` one last (see ``state``)."""
    from langchain_core.messages import HumanMessage
    from langgraph.types import Command

    text = message.strip()
    if not text:
        raise UserError("empty chat message")
    if len(text) > MAX_MESSAGE_CHARS:
        raise UserError(f"chat message too long ({len(text)} characters; at most {MAX_MESSAGE_CHARS})")
    tid = check_thread_id(thread_id) if thread_id else new_thread_id()
    model = model_config(service)
    context = await _context(service, profile, model)
    graph = compiled_graph(service, model)
    config = _config(tid, model)
    path = service.settings.checkpoint_path
    path.parent.mkdir(parents=True, exist_ok=True)
    turn_input = {"messages": [HumanMessage(content=text)], "steps": 0, "stopped": False, "fallback": "",
                  "proposals": [], "retrieved": {}, "ended": False}
    backstop = False
    async with threads.checkpointer(path) as saver:
        compiled = graph.copy({"checkpointer": saver})
        before = await compiled.aget_state(config)
        if before is not None and before.interrupts:  # the user moved on from a proposal: that is a no
            async for _ in drive(compiled, Command(resume={"approve": False, "end": True}), config, context):
                pass
        async for event in drive(compiled, turn_input, config, context):
            if event is True:
                backstop = True
            else:
                yield event  # type: ignore[misc]
        snapshot = await compiled.aget_state(config)
    await asyncio.to_thread(threads.record_turn, path, tid, text)
    answer = build_answer(snapshot.values, tid, offline=model is None, backstop=backstop,
                          waiting=bool(snapshot.interrupts))
    yield ChatEvent(kind="final", text=answer.text, answer=answer)


async def resume_turn(service: Papercast, thread_id: str, approve: Approval, *,
                      profile: str | None = None) -> AsyncIterator[ChatEvent]:
    """Continue a turn that waits for the user's answer to its proposals; the same events as a turn.

    ``approve`` is True (apply every proposal), False (none) or ``{proposal id: yes?}``.
    """
    from langgraph.types import Command

    tid = check_thread_id(thread_id)
    model = model_config(service)
    context = await _context(service, profile, model)
    graph = compiled_graph(service, model)
    config = _config(tid, model)
    path = service.settings.checkpoint_path
    if not path.exists():
        raise UserError(f"no conversation thread {tid!r}")
    backstop = False
    async with threads.checkpointer(path) as saver:
        compiled = graph.copy({"checkpointer": saver})
        before = await compiled.aget_state(config)
        if before is None or not before.interrupts:
            raise UserError(f"thread {tid!r} has no proposed change waiting for an answer")
        resume = {"approve": dict(approve) if isinstance(approve, Mapping) else bool(approve)}
        async for event in drive(compiled, Command(resume=resume), config, context):
            if event is True:
                backstop = True
            else:
                yield event  # type: ignore[misc]
        snapshot = await compiled.aget_state(config)
    answer = build_answer(snapshot.values, tid, offline=model is None, backstop=backstop,
                          waiting=bool(snapshot.interrupts))
    yield ChatEvent(kind="final", text=answer.text, answer=answer)


def build_answer(state: dict[str, Any], thread_id: str, *, offline: bool, backstop: bool = False,
                 waiting: bool = False) -> ChatAnswer:
    """The ChatAnswer of the thread's current turn (from its last user message on).

    ``waiting``: the turn stopped at a proposal; its pending proposals are in ``state["proposals"]``.
    """
    from papercast.agent.graph import turn_proposals, turn_start
    from papercast.agent.llm_node import ordered_calls, step_limit_message

    messages = state.get("messages", [])
    turn = messages[turn_start(messages):]
    calls: dict[str, tuple[int, str, dict[str, Any]]] = {}
    tools: list[tuple[int, int, ToolRecord]] = []  # (step, call's position, record): in the model's order
    step = 0
    for m in turn:  # ids are only unique within one AI message (some servers reuse "call_1")
        if m.type == "ai":
            step += 1
            calls = {c["id"]: (i, c.get("name") or "", c["args"] if c["valid"] else {})
                     for i, c in enumerate(ordered_calls(m))}
        elif m.type == "tool":
            position, name, args = calls.get(m.tool_call_id, (len(calls), m.name or "", {}))
            text = (m.artifact or {}).get("text") or ""
            tools.append((step, position, ToolRecord(name=name, args=args, ok=m.status != "error",
                                                     preview=text.strip().split("\n", 1)[0][:120])))
    proposals = turn_proposals(messages)
    if waiting:
        proposals += [Proposal(**p) for p in state.get("proposals") or []]
    last = turn[-1] if turn else None
    stopped = bool(state.get("stopped")) or backstop
    final = last is not None and last.type == "ai" and not last.tool_calls and not waiting
    text = str(last.content) if final and last is not None else ""
    if backstop and not text:
        text = step_limit_message(state.get("steps", 0))
    review = ((last.additional_kwargs or {}).get("review") or {}) if final and last is not None else {}
    usage = [m.usage_metadata for m in turn if m.type == "ai" and getattr(m, "usage_metadata", None)]
    cost = sum(float((m.response_metadata or {}).get("cost_usd") or 0.0) for m in turn if m.type == "ai")
    return ChatAnswer(text=text, thread_id=thread_id, offline=offline or bool(state.get("fallback")),
                      papers=[(pid, title) for pid, title in review.get("cited", [])],
                      tools=[record for *_, record in sorted(tools, key=lambda t: t[:2])],
                      stopped=stopped, prompt_tokens=sum(u.get("input_tokens", 0) for u in usage),
                      completion_tokens=sum(u.get("output_tokens", 0) for u in usage), cost_usd=cost,
                      proposals=proposals, unverified=list(review.get("unverified", [])),
                      library_fallback=bool(review.get("library_fallback")),
                      model_error=str(state.get("fallback") or ""))


async def thread_messages(service: Papercast, thread_id: str) -> list[dict[str, Any]]:
    """A thread as the TUI shows it: ``{"role": "user"|"assistant"|"tool", "text", "tool"?}`` in order."""

    check_thread_id(thread_id)
    path = service.settings.checkpoint_path
    if not path.exists():
        return []
    graph = compiled_graph(service, model_config(service))
    async with threads.checkpointer(path) as saver:
        state = await graph.copy({"checkpointer": saver}).aget_state({"configurable": {"thread_id": thread_id}})
    out: list[dict[str, Any]] = []
    for m in (state.values or {}).get("messages", []):
        if m.type == "human":
            out.append({"role": "user", "text": str(m.content)})
        elif m.type == "ai" and m.content and not m.tool_calls:
            out.append({"role": "assistant", "text": str(m.content)})
        elif m.type == "tool":
            out.append({"role": "tool", "tool": m.name, "ok": m.status != "error",
                        "text": ((m.artifact or {}).get("text") or "").split("\n", 1)[0][:120]})
    return out
