"""The chat graph's tool node: run the model's tool calls, safely.

Every way a call can go wrong ends as a ``ToolMessage`` with ``status="error"`` that the model reads
and can react to — an unknown tool name, arguments that are not JSON or do not fit the schema, a
call the guard refuses, a tool that raises. Nothing here raises into the graph, so a turn never
crashes on a tool. Outputs are wrapped in ``<tool_output>`` delimiters (see ``prompts``).

Calls run one after another: they share one Chroma client and one SQLite file, and a model that
asks for "search, then get_paper" in one step expects that order.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from papercast.agent.guard import check_call
from papercast.agent.llm_node import ordered_calls
from papercast.agent.prompts import wrap_tool_output
from papercast.agent.toolbox import TOOLS, ToolContext, output_preview
from papercast.errors import UserError

log = logging.getLogger(__name__)

Emit = Callable[[dict[str, Any]], None]


def latest_user_text(messages: list[Any]) -> str:
    """The text of the last human message: the only words that may license a state change."""
    for message in reversed(messages):
        if message.type == "human":
            return message.content if isinstance(message.content, str) else str(message.content)
    return ""


def _validation_text(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ())) or "arguments"
        parts.append(f"{where}: {err.get('msg')}")
    return "; ".join(parts)


async def run_one(name: str, args: Any, ctx: ToolContext) -> tuple[bool, str, list[tuple[str, str]]]:
    """(ok, text, papers) for one call; every failure becomes (False, reason, [])."""
    tool = TOOLS.get(name)
    if tool is None:
        log.info("the model called an unknown tool %r", name)
        return False, f"error: there is no tool named {name!r}; available: {', '.join(TOOLS)}", []
    if not isinstance(args, dict):
        log.info("the model called %s with arguments that are not an object: %r", name, args)
        return False, f"error: arguments for {name} must be a JSON object", []
    try:
        parsed = tool.args.model_validate(args)
    except ValidationError as exc:
        log.info("the model called %s with invalid arguments: %s", name, _validation_text(exc))
        return False, f"error: invalid arguments for {name}: {_validation_text(exc)}", []
    refusal = check_call(name, parsed.model_dump(exclude_defaults=True), ctx.user_message)  # logs refusals
    if refusal:
        return False, refusal, []
    try:
        out = await tool.run(ctx, parsed)
    except UserError as exc:
        log.info("tool %s refused its input: %s: %s", name, type(exc).__name__, exc)
        return False, f"error: {exc}", []
    except Exception as exc:  # a bug or an outside failure in one tool must not end the turn
        from papercast.errors import redact

        log.info("tool %s failed: %s: %s", name, type(exc).__name__, " ".join(str(exc).split()))
        log.debug("tool %s failed", name, exc_info=True)
        detail = redact(" ".join(str(exc).split()))[:300]  # the model must never see a key
        return False, f"error: {name} failed: {type(exc).__name__}: {detail}", []
    return True, out.text, out.papers


async def run_tool_calls(state: dict[str, Any], *, service: Any, profile: str | None, emit: Emit) -> dict[str, Any]:
    """The node: one ToolMessage per call of the last AI message, in order."""
    from langchain_core.messages import ToolMessage

    messages = state["messages"]
    last = messages[-1]
    ctx = ToolContext(service=service, user_message=latest_user_text(messages), profile=profile)
    results = []
    calls = [(c["id"], c.get("name") or "", c["args"] if c["valid"] else None,
              None if c["valid"] else (c.get("error") or "not JSON")) for c in ordered_calls(last)]
    for call_id, name, args, bad_json in calls:
        emit({"kind": "tool_start", "tool": name, "args": args or {}, "call_id": call_id})
        started = time.perf_counter()
        if bad_json is not None:
            log.info("the model's arguments for %s are not valid JSON (%s)", name or "a call", bad_json)
            ok, text, papers = False, (f"error: the arguments of {name or 'this call'} are not valid JSON "
                                       f"({bad_json}); call it again with a JSON object"), []
        else:
            ok, text, papers = await run_one(name, args, ctx)
        log.debug("tool %s ok=%s in %.1f ms", name, ok, (time.perf_counter() - started) * 1000)
        emit({"kind": "tool_end", "tool": name, "call_id": call_id, "ok": ok, "text": output_preview(text)})
        results.append(ToolMessage(content=wrap_tool_output(name or "unknown", text, ok=ok), tool_call_id=call_id,
                                   name=name or "unknown", status="success" if ok else "error",
                                   artifact={"text": text, "papers": [list(p) for p in papers]}))
    return {"messages": results}
