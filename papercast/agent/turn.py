"""Reading a thread's current turn: where it starts, what it proposed, what it cited, its answer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import AnyMessage

from papercast.agent.llm_node import ordered_calls, step_limit_message
from papercast.errors import first_line
from papercast.models import ChatAnswer, Proposal, ToolRecord


def turn_start(messages: Sequence[AnyMessage]) -> int:
    """Index of the current turn's user message (the turn is everything from there)."""
    return max((i for i, m in enumerate(messages) if m.type == "human"), default=0)


def turn_message(messages: Sequence[AnyMessage]) -> str:
    """The text of the current turn's user message."""
    return str(messages[turn_start(messages)].content) if messages else ""


def turn_proposals(messages: Sequence[AnyMessage]) -> list[Proposal]:
    """The proposals of the current turn that the user has answered (applied, declined, failed)."""
    out = []
    for m in messages[turn_start(messages):]:
        proposal = (getattr(m, "artifact", None) or {}).get("proposal") if m.type == "tool" else None
        if proposal:
            out.append(Proposal(**proposal))
    return out


def thread_papers(messages: Sequence[AnyMessage]) -> dict[str, str]:
    """``id -> title`` of every paper the thread's tools showed or its answers cited."""
    known: dict[str, str] = {}
    for m in messages:
        if m.type == "tool":
            known.update({pid: title for pid, title in (m.artifact or {}).get("papers", [])})
        elif m.type == "ai":
            known.update({pid: title for pid, title in ((m.additional_kwargs or {}).get("review") or {})
                          .get("cited", [])})
    return known


def build_answer(state: Mapping[str, Any], thread_id: str, *, offline: bool, backstop: bool = False,
                 waiting: bool = False) -> ChatAnswer:
    """The ChatAnswer of the thread's current turn (from its last user message on).

    ``waiting``: the turn stopped at a proposal; its pending proposals are in ``state["proposals"]``.
    """
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
                                                     preview=first_line(text.strip(), 120, mark=""))))
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
