"""Running chat turns: threads on disk, streamed events, the answer of a turn.

Threads live in ``settings.checkpoint_path`` (``threads.db``): langgraph's ``AsyncSqliteSaver`` keeps
the messages (so another process continues a thread), and a small ``papercast_threads`` table next to
it keeps what a thread list needs (title, times, turns) without reading every checkpoint.

One turn = one run of the chat graph on the thread, streamed with ``stream_mode="custom"``: the nodes
write token / tool events as they happen and ``stream_turn`` turns them into ``ChatEvent``s, then
reads the final state and yields the ``final`` event with the ``ChatAnswer``.
"""

from __future__ import annotations

import asyncio
import re
import uuid
import weakref
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from papercast.agent.guard import paper_ids_in
from papercast.agent.state import ChatEvent, TurnContext
from papercast.errors import UserError
from papercast.models import ChatAnswer, ToolRecord
from papercast.store import threads

if TYPE_CHECKING:
    from papercast.service import Papercast

MAX_MESSAGE_CHARS = 20_000
_THREAD_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


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
    from papercast.agent.llm_node import ModelConfig

    return ModelConfig(client=service.llm, context_window=service.settings.chat_context_window,
                       max_steps=service.settings.chat_max_steps)


_GRAPHS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def compiled_graph(service: Papercast, model: Any) -> Any:
    """The service's compiled chat graph, built on first use (settings are frozen, so one is enough)."""
    graph = _GRAPHS.get(service)
    if graph is None:
        from papercast.agent.graph import build_chat_graph

        graph = build_chat_graph(service, model=model).compile()
        _GRAPHS[service] = graph
    return graph


async def stream_turn(service: Papercast, message: str, thread_id: str | None = None, *,
                      profile: str | None = None) -> AsyncIterator[ChatEvent]:
    """Run one turn on a thread; yield its events, the ``final`` one last (see ``state``)."""
    from langchain_core.messages import HumanMessage
    from langgraph.errors import GraphRecursionError

    from papercast.agent.graph import recursion_limit
    from papercast.agent.prompts import system_prompt

    text = message.strip()
    if not text:
        raise UserError("empty chat message")
    if len(text) > MAX_MESSAGE_CHARS:
        raise UserError(f"chat message too long ({len(text)} characters; at most {MAX_MESSAGE_CHARS})")
    tid = check_thread_id(thread_id) if thread_id else new_thread_id()
    model = _model_config(service)
    target = await asyncio.to_thread(service.active_profile, profile)
    count = await asyncio.to_thread(service.count)
    context = TurnContext(system=system_prompt(profile=target.name, count=count), profile=target.name)
    graph = compiled_graph(service, model)
    max_steps = model.max_steps if model else 4
    config = {"configurable": {"thread_id": tid}, "recursion_limit": recursion_limit(max_steps)}
    path = service.settings.checkpoint_path
    path.parent.mkdir(parents=True, exist_ok=True)
    turn_input = {"messages": [HumanMessage(content=text)], "steps": 0, "stopped": False, "fallback": ""}
    async with threads.checkpointer(path) as saver:
        compiled = graph.copy({"checkpointer": saver})
        before = await compiled.aget_state(config)
        start = len(before.values.get("messages", [])) if before and before.values else 0
        backstop = False
        # durability="exit": one checkpoint write per turn instead of one per step. Each write stores the
        # whole message list, so per-step writes made a 10-turn thread ~2x slower; the price is that a
        # turn killed midway is not kept (the thread stays as it was before it).
        try:
            async for event in compiled.astream(turn_input, config, stream_mode="custom", context=context,
                                                durability="exit"):
                yield ChatEvent(**event)
        except GraphRecursionError:
            backstop = True
        state = (await compiled.aget_state(config)).values
    await asyncio.to_thread(threads.record_turn, path, tid, text)
    answer = build_answer(state, start, tid, offline=model is None, backstop=backstop)
    yield ChatEvent(kind="final", text=answer.text, answer=answer)


def build_answer(state: dict[str, Any], start: int, thread_id: str, *, offline: bool,
                 backstop: bool = False) -> ChatAnswer:
    """The ChatAnswer of the turn whose messages start at index ``start`` of the thread."""
    from papercast.agent.llm_node import ordered_calls, step_limit_message

    messages = state.get("messages", [])
    turn = messages[start:]
    known: dict[str, str] = {}
    for m in messages:  # titles of every paper a tool showed in this thread
        if m.type == "tool":
            known.update({pid: title for pid, title in (m.artifact or {}).get("papers", [])})
    calls: dict[str, tuple[str, dict[str, Any]]] = {}
    tools = []
    for m in turn:  # ids are only unique within one AI message (some servers reuse "call_1")
        if m.type == "ai":
            calls = {c["id"]: (c.get("name") or "", c["args"] if c["valid"] else {}) for c in ordered_calls(m)}
        elif m.type == "tool":
            name, args = calls.get(m.tool_call_id, (m.name or "", {}))
            text = (m.artifact or {}).get("text") or ""
            tools.append(ToolRecord(name=name, args=args, ok=m.status != "error",
                                    preview=text.strip().split("\n", 1)[0][:120]))
    last = turn[-1] if turn else None
    stopped = bool(state.get("stopped")) or backstop
    text = str(last.content) if last is not None and last.type == "ai" and not last.tool_calls else ""
    if backstop and not text:
        text = step_limit_message(state.get("steps", 0))
    cited = [(pid, known[pid]) for pid in sorted(paper_ids_in(text), key=text.find) if pid in known]
    usage = [m.usage_metadata for m in turn if m.type == "ai" and getattr(m, "usage_metadata", None)]
    cost = sum(float((m.response_metadata or {}).get("cost_usd") or 0.0) for m in turn if m.type == "ai")
    return ChatAnswer(text=text, thread_id=thread_id, offline=offline or bool(state.get("fallback")),
                      papers=cited, tools=tools, stopped=stopped,
                      prompt_tokens=sum(u.get("input_tokens", 0) for u in usage),
                      completion_tokens=sum(u.get("output_tokens", 0) for u in usage), cost_usd=cost)


async def thread_messages(service: Papercast, thread_id: str) -> list[dict[str, Any]]:
    """A thread as the TUI shows it: ``{"role": "user"|"assistant"|"tool", "text", "tool"?}`` in order."""

    check_thread_id(thread_id)
    path = service.settings.checkpoint_path
    if not path.exists():
        return []
    graph = compiled_graph(service, _model_config(service))
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
