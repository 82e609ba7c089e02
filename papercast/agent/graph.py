"""The chat agent: a model <-> tools loop over the library, where changes wait for the user.

Nodes, then routers, then the wiring, top to bottom (react-agent's shape). Every turn starts from the
library (``retrieve``); with no model, or after it failed, the offline planner takes the steps; a
change is a proposal the user confirms. Per-run settings come through ``Runtime[ChatContext]``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal

from langchain_core.messages import AIMessage
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from papercast.agent import grounding, offline
from papercast.agent.context import ChatContext
from papercast.agent.llm_node import (
    complete,
    openai_history,
    plain_history,
    step_limit_message,
    trim,
    with_retrieval,
)
from papercast.agent.state import ChatState
from papercast.agent.tool_node import confirm_proposals, run_tool_calls
from papercast.agent.toolbox import tool_schemas
from papercast.agent.turn import thread_papers, turn_message, turn_proposals, turn_start
from papercast.errors import RuntimeFailure

log = logging.getLogger(__name__)

Step = Literal["call_model", "offline_step", "plan_commands", "stop_at_limit"]


# -- nodes ---------------------------------------------------------------------------------------------
async def retrieve(state: ChatState, runtime: Runtime[ChatContext]) -> dict[str, Any]:
    """The library's best matches for the message (the offline planner searches by itself)."""
    if runtime.context.model is None:
        return {"retrieved": {}}
    message = turn_message(state["messages"])
    return {"retrieved": await asyncio.to_thread(grounding.retrieve, runtime.context.library, message)}


async def call_model(state: ChatState, runtime: Runtime[ChatContext]) -> dict[str, Any]:
    """One model step: the thread trimmed to the window, this turn's library results, the tools."""
    model = runtime.context.model
    assert model is not None  # route_step sends a turn without a model to offline_step
    schemas = tool_schemas() if model.tools else []
    history = openai_history(state["messages"])
    if not model.tools:
        history = plain_history(history)
    system = {"role": "system", "content": runtime.context.system}
    sent = with_retrieval(trim(system, history, schemas, model.window, model.counter), state.get("retrieved"))
    steps = state.get("steps", 0)
    try:
        reply = await complete(model.client, sent, schemas,
                               on_token=lambda text: runtime.stream_writer({"kind": "token", "text": text}))
    except RuntimeFailure as exc:  # keep the turn alive: the offline planner answers instead
        log.warning("chat: the model failed at step %d (%s: %s); the offline planner answers instead",
                    steps + 1, type(exc).__name__, exc)
        return {"fallback": str(exc)}
    message = AIMessage(
        content=reply.content, tool_calls=reply.tool_calls if model.tools else [],
        invalid_tool_calls=reply.invalid_tool_calls if model.tools else [],
        usage_metadata={"input_tokens": reply.prompt_tokens, "output_tokens": reply.completion_tokens,
                        "total_tokens": reply.prompt_tokens + reply.completion_tokens},
        response_metadata={"model": model.model, "cost_usd": reply.cost_usd},
        additional_kwargs={"call_order": reply.call_order})
    return {"messages": [message], "steps": steps + 1}


async def offline_step(state: ChatState, runtime: Runtime[ChatContext]) -> dict[str, Any]:
    """The offline planner's next calls, or its answer composed from the tool outputs."""
    fallback = state.get("fallback")
    result = offline.step(state["messages"], failed=bool(fallback))
    if result.text and fallback:
        result.text = f"The model failed ({fallback}), so here is an {result.text}"
    if result.text:
        runtime.stream_writer({"kind": "token", "text": result.text})
    return {"messages": [offline.as_ai_message(result)], "steps": state.get("steps", 0) + 1}


async def plan_commands(state: ChatState) -> dict[str, Any]:
    """For a model without tools: the commands of the message ("like ID", "summarize ID") as calls,
    picked by the offline planner's patterns; the model then answers from their results."""
    return {"messages": [offline.as_ai_message(offline.OfflineStep(_commands(state)))]}


async def stop_at_limit(state: ChatState, runtime: Runtime[ChatContext]) -> dict[str, Any]:
    """The model reached its step limit: end the turn with what it found."""
    text = step_limit_message(state.get("steps", 0))
    runtime.stream_writer({"kind": "token", "text": text})
    return {"messages": [AIMessage(content=text)], "stopped": True}


async def tools(state: ChatState, runtime: Runtime[ChatContext]) -> dict[str, Any]:
    """Run the read-only calls; turn the changes into proposals."""
    return await run_tool_calls(state, library=runtime.context.library, profile=runtime.context.profile,
                                emit=runtime.stream_writer)


async def confirm(state: ChatState, runtime: Runtime[ChatContext]) -> dict[str, Any]:
    """Wait for the user's answer to the proposals, then apply what they confirmed."""
    return await confirm_proposals(state, library=runtime.context.library, profile=runtime.context.profile,
                                   emit=runtime.stream_writer)


async def finish(state: ChatState, runtime: Runtime[ChatContext]) -> dict[str, Any]:
    """Check the answer's citations against the library and state the turn's changes under it."""
    messages = state["messages"]
    last = messages[-1]
    if last.type != "ai" or getattr(last, "tool_calls", None):
        return {}
    text = str(last.content)
    checked = await asyncio.to_thread(
        grounding.review, runtime.context.library, message=turn_message(messages), text=text,
        retrieved=state.get("retrieved"), proposals=turn_proposals(messages),
        offline=runtime.context.model is None or bool(state.get("fallback")),
        known=thread_papers(messages[:-1]))
    addition = checked.addition
    if addition and text.endswith("\n"):
        addition = addition[1:]  # one blank line between the answer and what follows, not two
    if addition:
        runtime.stream_writer({"kind": "token", "text": addition})
    review = {"cited": [list(c) for c in checked.cited], "unverified": checked.unverified,
              "library_fallback": checked.library_fallback}
    if checked.unverified:
        log.warning("chat answer cites what the library does not hold: %s", ", ".join(checked.unverified))
    kwargs = {**(last.additional_kwargs or {}), "review": review}
    return {"messages": [last.model_copy(update={"content": text + addition, "additional_kwargs": kwargs})]}


# -- routers -------------------------------------------------------------------------------------------
def _commands(state: ChatState) -> list[offline.Call]:
    """The offline planner's calls for the message, other than a library search (retrieval did that)."""
    return [c for c in offline.plan(turn_message(state["messages"])) if c[0] != "search_library"]


def route_step(state: ChatState, runtime: Runtime[ChatContext]) -> Step:
    """Who takes the turn's next step: the model, the offline planner, or nobody (the step limit)."""
    model = runtime.context.model
    if model is None or state.get("fallback"):
        return "offline_step"
    if state.get("steps", 0) >= model.max_steps:
        return "stop_at_limit"
    first_step = not any(m.type == "ai" for m in state["messages"][turn_start(state["messages"]):])
    if not model.tools and first_step and _commands(state):
        return "plan_commands"
    return "call_model"


def route_model_output(state: ChatState) -> Literal["offline_step", "tools", "finish"]:
    """After a step: its tool calls run, a failed model hands over to the planner, else the turn ends."""
    last = state["messages"][-1]
    if last.type != "ai":
        return "offline_step" if state.get("fallback") else "finish"
    return ("tools" if getattr(last, "tool_calls", None) or getattr(last, "invalid_tool_calls", None)
            else "finish")


def route_after_tools(state: ChatState, runtime: Runtime[ChatContext]) -> Step | Literal["confirm"]:
    """Proposals wait for the user; otherwise the next step reads the tools' results."""
    return "confirm" if state.get("proposals") else route_step(state, runtime)


def route_after_confirm(state: ChatState, runtime: Runtime[ChatContext]) -> Step | Literal["finish"]:
    """A user who moved on ends the turn; otherwise the next step reads what was applied."""
    return "finish" if state.get("ended") else route_step(state, runtime)


# -- the graph -----------------------------------------------------------------------------------------
#   START          -> retrieve
#   retrieve       -> route_step           -> call_model | offline_step | plan_commands | stop_at_limit
#   call_model     -> route_model_output   -> tools | finish | offline_step (the model failed)
#   offline_step   -> route_model_output   -> tools | finish
#   plan_commands  -> tools
#   stop_at_limit  -> finish
#   tools          -> route_after_tools    -> confirm | route_step
#   confirm        -> route_after_confirm  -> finish | route_step
#   finish         -> END
STEPS = ["call_model", "offline_step", "plan_commands", "stop_at_limit"]

builder = StateGraph(ChatState, context_schema=ChatContext)
for node in (retrieve, call_model, offline_step, plan_commands, stop_at_limit, tools, confirm, finish):
    builder.add_node(node.__name__, node)
builder.add_edge(START, "retrieve")
builder.add_conditional_edges("retrieve", route_step, STEPS)
builder.add_conditional_edges("call_model", route_model_output, ["offline_step", "tools", "finish"])
builder.add_conditional_edges("offline_step", route_model_output, ["tools", "finish"])
builder.add_edge("plan_commands", "tools")
builder.add_edge("stop_at_limit", "finish")
builder.add_conditional_edges("tools", route_after_tools, ["confirm", *STEPS])
builder.add_conditional_edges("confirm", route_after_confirm, ["finish", *STEPS])
builder.add_edge("finish", END)

graph = builder.compile(name="papercast chat")


def recursion_limit(max_steps: int) -> int:
    """langgraph's hard limit, a backstop above the graceful step limit (per step: a model or planner
    step, tools, confirm; plus retrieve, plan_commands, stop_at_limit and finish)."""
    return 3 * max_steps + 8
