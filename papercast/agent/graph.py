"""The two LangGraph graphs: the chat agent (model <-> tools loop) and the daily pipeline.

Both are built per run from closures over the service, which costs under a millisecond; what is
slow is importing langgraph (~2 s), so this module is imported only when a graph is needed.

Chat::

    START -> agent --(tool calls?)--> tools -> agent ... --(no tool calls)--> END

``agent`` is the LLM (``llm_node``) or, with no model configured, the offline planner
(``offline``); both emit the same AI messages, so the tool node, the guard, streaming and the
checkpointed threads work the same either way. When the model fails mid-turn the rest of the turn
falls back to the offline planner and says why.

Daily::

    START -> fetch -> store -> rank -> summarize -> digest -> END

Each node records its failures in ``errors`` and lets the pipeline go on (see ``daily``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from papercast.agent import daily, offline
from papercast.agent.llm_node import (
    ModelConfig,
    TokenCounter,
    complete,
    context_window,
    openai_history,
    step_limit_message,
    trim,
)
from papercast.agent.state import ChatState, DailyState, TurnContext
from papercast.agent.tool_node import run_tool_calls
from papercast.agent.toolbox import tool_schemas
from papercast.errors import RuntimeFailure

log = logging.getLogger(__name__)


def recursion_limit(max_steps: int) -> int:
    """langgraph's hard limit, a backstop above our own graceful step limit (2 supersteps per step)."""
    return 2 * max_steps + 6


def route_after_agent(state: ChatState) -> str:
    last = state["messages"][-1]
    return "tools" if getattr(last, "tool_calls", None) or getattr(last, "invalid_tool_calls", None) else END


def build_chat_graph(service: Any, *, model: ModelConfig | None) -> StateGraph:
    """The chat graph of a service. ``model`` None means offline mode.

    Per-turn values (system prompt, profile) come in the run's context (``TurnContext``), so one
    compiled graph serves every turn of the service; only the checkpointer is attached per turn.
    """
    schemas = tool_schemas()
    window: list[int] = []
    counter = TokenCounter(model.model) if model is not None else None

    def emitter() -> Callable[[dict[str, Any]], None]:
        return get_stream_writer()

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
        if not window:
            window.append(context_window(model.model, model.context_window))
        history = openai_history(state["messages"])
        system = {"role": "system", "content": runtime.context.system}
        assert counter is not None
        sent = trim(system, history, schemas, window[0], counter)
        try:
            reply = await complete(model.client, sent, schemas,
                                   on_token=lambda text: write({"kind": "token", "text": text}))
        except RuntimeFailure as exc:
            # Keep the turn alive: the offline planner answers from the library instead.
            log.warning("chat: the model failed at step %d (%s: %s); the offline planner answers instead",
                        steps + 1, type(exc).__name__, exc)
            return {"fallback": str(exc), "steps": steps, "messages": []}
        message = AIMessage(
            content=reply.content, tool_calls=reply.tool_calls, invalid_tool_calls=reply.invalid_tool_calls,
            usage_metadata={"input_tokens": reply.prompt_tokens, "output_tokens": reply.completion_tokens,
                            "total_tokens": reply.prompt_tokens + reply.completion_tokens},
            response_metadata={"model": model.model, "cost_usd": reply.cost_usd},
            additional_kwargs={"call_order": reply.call_order})
        return {"messages": [message], "steps": steps + 1}

    async def tools(state: ChatState, runtime: Runtime[TurnContext]) -> dict[str, Any]:
        return await run_tool_calls(dict(state), service=service, profile=runtime.context.profile, emit=emitter())

    def after_agent(state: ChatState) -> str:
        if state.get("fallback") and state["messages"][-1].type != "ai":
            return "agent"  # the model failed: go round once more, offline
        if state["messages"][-1].type != "ai":
            return END
        return route_after_agent(state)

    graph = StateGraph(ChatState, context_schema=TurnContext)
    graph.add_node("agent", agent)
    graph.add_node("tools", tools)
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", after_agent, ["agent", "tools", END])
    graph.add_edge("tools", "agent")
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
