"""The two LangGraph graphs: the chat agent (model <-> tools loop) and the daily pipeline.

Both are built per run from closures over the service, which costs under a millisecond; what is
slow is importing langgraph (~2 s), so this module is imported only when a graph is needed.

Chat::

    START -> retrieve -> agent --(tool calls?)--> tools --(proposals?)--> confirm -> agent ...
                               --(no tool calls)--> finish -> END

``retrieve`` searches the library for the user's message (``grounding``): the model answers from
those results even when it calls no tool. ``agent`` is the LLM (``llm_node``) or, with no model
configured, the offline planner (``offline``); both emit the same AI messages, so the tool nodes,
streaming and the checkpointed threads work the same either way. When the model fails mid-turn the
rest of the turn falls back to the offline planner and says why. ``tools`` runs read-only calls and
turns state-changing ones into proposals; ``confirm`` pauses the turn (``interrupt``) until the user
answers, then applies what they confirmed. ``finish`` checks the answer's citations against the
library and states every change of the turn (``grounding.review``).

Daily::

    START -> fetch -> store -> rank -> summarize -> digest -> END

Each node records its failures in ``errors`` and lets the pipeline go on (see ``daily``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from papercast.agent import daily, grounding, offline
from papercast.agent.llm_node import (
    ModelConfig,
    TokenCounter,
    complete,
    context_window,
    openai_history,
    plain_history,
    step_limit_message,
    trim,
)
from papercast.agent.prompts import library_results
from papercast.agent.state import ChatState, DailyState, TurnContext
from papercast.agent.tool_node import confirm_proposals, run_tool_calls
from papercast.agent.toolbox import tool_schemas
from papercast.errors import RuntimeFailure
from papercast.models import Proposal

log = logging.getLogger(__name__)


def recursion_limit(max_steps: int) -> int:
    """langgraph's hard limit, a backstop above our own graceful step limit (3 supersteps per step:
    agent, tools, confirm; plus retrieve and finish)."""
    return 3 * max_steps + 8


def route_after_agent(state: ChatState) -> str:
    last = state["messages"][-1]
    return "tools" if getattr(last, "tool_calls", None) or getattr(last, "invalid_tool_calls", None) else "finish"


def turn_start(messages: list[Any]) -> int:
    """Index of the current turn's user message (the turn is everything from there)."""
    return max((i for i, m in enumerate(messages) if m.type == "human"), default=0)


def turn_proposals(messages: list[Any]) -> list[Proposal]:
    """The proposals of the current turn that the user has answered (applied, declined, failed)."""
    out = []
    for m in messages[turn_start(messages):]:
        proposal = (getattr(m, "artifact", None) or {}).get("proposal") if m.type == "tool" else None
        if proposal:
            out.append(Proposal(**proposal))
    return out


def thread_papers(messages: list[Any]) -> dict[str, str]:
    """``id -> title`` of every paper the thread's tools showed or its answers cited."""
    known: dict[str, str] = {}
    for m in messages:
        if m.type == "tool":
            known.update({pid: title for pid, title in (m.artifact or {}).get("papers", [])})
        elif m.type == "ai":
            known.update({pid: title for pid, title in ((m.additional_kwargs or {}).get("review") or {})
                          .get("cited", [])})
    return known


def _with_retrieval(sent: list[dict[str, Any]], retrieved: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The sent copy with this turn's library results after the current user message."""
    text = (retrieved or {}).get("text") or ""
    if not text:
        return sent
    last_user = max((i for i, m in enumerate(sent) if m["role"] == "user"), default=None)
    if last_user is None:
        return sent
    out = list(sent)
    out[last_user] = {**sent[last_user], "content": f"{sent[last_user]['content']}\n\n{library_results(text)}"}
    return out


def build_chat_graph(service: Any, *, model: ModelConfig | None) -> StateGraph:
    """The chat graph of a service. ``model`` None means offline mode.

    Per-turn values (system prompt, profile) come in the run's context (``TurnContext``), so one
    compiled graph serves every turn of the service; only the checkpointer is attached per turn.
    """
    schemas = tool_schemas() if model is None or model.tools else []
    window: list[int] = []
    counter = TokenCounter(model.model) if model is not None else None

    def emitter() -> Callable[[dict[str, Any]], None]:
        return get_stream_writer()

    async def retrieve(state: ChatState) -> dict[str, Any]:
        if model is None:  # the offline planner searches the library itself
            return {"retrieved": {}}
        messages = state["messages"]
        message = str(messages[turn_start(messages)].content)
        return {"retrieved": await asyncio.to_thread(grounding.retrieve, service, message)}

    async def agent(state: ChatState, runtime: Runtime[TurnContext]) -> dict[str, Any]:
        from langchain_core.messages import AIMessage

        write = emitter()
        steps = state.get("steps", 0)
        fallback = state.get("fallback") or ""
        if model is None or fallback:
            result = offline.step(state["messages"])
            if result.text and fallback:
                result.text = f"The model failed ({fallback}), so here is an {result.text}"
            if result.text:
                write({"kind": "token", "text": result.text})
            return {"messages": [offline.as_ai_message(result)], "steps": steps + 1}
        if steps >= model.max_steps:
            text = step_limit_message(steps)
            write({"kind": "token", "text": text})
            return {"messages": [AIMessage(content=text)], "stopped": True}
        start = turn_start(state["messages"])
        if not model.tools and not any(m.type == "ai" for m in state["messages"][start:]):
            # A model without tools still gets commands done: the offline planner's patterns pick the
            # calls ("like ID" becomes a proposal, "summarize ID" a summary); the model then answers.
            calls = [c for c in offline.plan(str(state["messages"][start].content)) if c[0] != "search_library"]
            if calls:
                return {"messages": [offline.as_ai_message(offline.OfflineStep(calls))], "steps": steps}
        if not window:
            window.append(context_window(model.model, model.context_window, model.client))
        history = openai_history(state["messages"])
        if not model.tools:
            history = plain_history(history)
        system = {"role": "system", "content": runtime.context.system}
        assert counter is not None
        sent = _with_retrieval(trim(system, history, schemas, window[0], counter), state.get("retrieved"))
        try:
            reply = await complete(model.client, sent, schemas,
                                   on_token=lambda text: write({"kind": "token", "text": text}))
        except RuntimeFailure as exc:
            # Keep the turn alive: the offline planner answers from the library instead.
            log.warning("chat: the model failed at step %d (%s: %s); the offline planner answers instead",
                        steps + 1, type(exc).__name__, exc)
            return {"fallback": str(exc), "steps": steps, "messages": []}
        message = AIMessage(
            content=reply.content, tool_calls=reply.tool_calls if model.tools else [],
            invalid_tool_calls=reply.invalid_tool_calls if model.tools else [],
            usage_metadata={"input_tokens": reply.prompt_tokens, "output_tokens": reply.completion_tokens,
                            "total_tokens": reply.prompt_tokens + reply.completion_tokens},
            response_metadata={"model": model.model, "cost_usd": reply.cost_usd},
            additional_kwargs={"call_order": reply.call_order})
        return {"messages": [message], "steps": steps + 1}

    async def tools(state: ChatState, runtime: Runtime[TurnContext]) -> dict[str, Any]:
        return await run_tool_calls(state, service=service, profile=runtime.context.profile, emit=emitter())

    async def confirm(state: ChatState, runtime: Runtime[TurnContext]) -> dict[str, Any]:
        return await confirm_proposals(state, service=service, profile=runtime.context.profile, emit=emitter())

    async def finish(state: ChatState) -> dict[str, Any]:
        messages = state["messages"]
        last = messages[-1]
        if last.type != "ai" or last.tool_calls:
            return {}
        text = str(last.content)
        checked = await asyncio.to_thread(
            grounding.review, service, message=str(messages[turn_start(messages)].content), text=text,
            retrieved=state.get("retrieved"), proposals=turn_proposals(messages),
            offline=model is None or bool(state.get("fallback")), known=thread_papers(messages[:-1]))
        addition = checked.addition
        if addition and text.endswith("\n"):
            addition = addition[1:]  # one blank line between the answer and what follows, not two
        if addition:
            emitter()({"kind": "token", "text": addition})
        review = {"cited": [list(c) for c in checked.cited], "unverified": checked.unverified,
                  "library_fallback": checked.library_fallback}
        if checked.unverified:
            log.warning("chat answer cites what the library does not hold: %s", ", ".join(checked.unverified))
        kwargs = {**(last.additional_kwargs or {}), "review": review}
        return {"messages": [last.model_copy(update={"content": text + addition,
                                                     "additional_kwargs": kwargs})]}

    def after_agent(state: ChatState) -> str:
        if state.get("fallback") and state["messages"][-1].type != "ai":
            return "agent"  # the model failed: go round once more, offline
        if state["messages"][-1].type != "ai":
            return "finish"
        return route_after_agent(state)

    def after_tools(state: ChatState) -> str:
        return "confirm" if state.get("proposals") else "agent"

    def after_confirm(state: ChatState) -> str:
        return "finish" if state.get("ended") else "agent"

    graph = StateGraph(ChatState, context_schema=TurnContext)
    graph.add_node("retrieve", retrieve)
    graph.add_node("agent", agent)
    graph.add_node("tools", tools)
    graph.add_node("confirm", confirm)
    graph.add_node("finish", finish)
    graph.add_edge(START, "retrieve")
    graph.add_edge("retrieve", "agent")
    graph.add_conditional_edges("agent", after_agent, ["agent", "tools", "finish"])
    graph.add_conditional_edges("tools", after_tools, ["confirm", "agent"])
    graph.add_conditional_edges("confirm", after_confirm, ["agent", "finish"])
    graph.add_edge("finish", END)
    return graph


def build_daily_graph(run: daily.DailyRun) -> StateGraph:
    """fetch -> store -> rank -> summarize -> digest, each node bound to this run."""
    graph = StateGraph(DailyState)
    steps: list[tuple[str, Callable[..., Any]]] = [
        ("fetch", daily.fetch), ("store", daily.store), ("rank", daily.rank),
        ("summarize", daily.summarize), ("digest", daily.digest)]
    previous = START
    for name, fn in steps:
        graph.add_node(name, _bind(fn, run))
        graph.add_edge(previous, name)
        previous = name
    graph.add_edge(previous, END)
    return graph


def _bind(fn: Callable[..., Any], run: daily.DailyRun) -> Callable[[DailyState], Any]:
    async def node(state: DailyState) -> dict[str, Any]:
        return await fn(state, run)

    node.__name__ = fn.__name__
    return node
