"""The chat graph's tool nodes: read-only calls run, state-changing ones become proposals to confirm.

``run_tool_calls`` (node ``tools``) runs the last AI message's calls in order: they share one Chroma
client and SQLite file, and "search, then get_paper" expects that order. A state-changing call only
*proposes* (checked, described, nothing written); ``confirm_proposals`` (node ``confirm``) pauses the
turn with ``interrupt()`` until the user answers, then applies what was confirmed, each with the
operations that undo it. Every failure (unknown tool, bad JSON or arguments, a tool that raises, a
declined change) is a ``ToolMessage`` with ``status="error"`` the model reads: nothing here raises into
the graph. Outputs are wrapped in ``<tool_output>`` delimiters (see ``prompts``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, ToolMessage
from langgraph.types import interrupt
from pydantic import ValidationError

from papercast.agent.llm_node import ordered_calls
from papercast.agent.port import Library
from papercast.agent.prompts import wrap_tool_output
from papercast.agent.state import ChangeRecord, ChatState, record_applied
from papercast.agent.tool_types import ToolContext
from papercast.agent.toolbox import TOOLS
from papercast.errors import UserError, first_line, one_line, redact, validation_line
from papercast.models import Proposal

log = logging.getLogger(__name__)

Emit = Callable[[dict[str, Any]], None]
MAX_PROPOSALS = 5  # per model step: more would be a wall of dialogs (and is never what a user asked)


def _failure(name: str, exc: Exception) -> str:
    """A tool's exception as the model may see it: one line, no key, no traceback."""
    if isinstance(exc, UserError):
        log.info("tool %s refused its input: %s: %s", name, type(exc).__name__, exc)
        return f"error: {exc}"
    log.info("tool %s failed: %s: %s", name, type(exc).__name__, one_line(exc, None))
    log.debug("tool %s failed", name, exc_info=True)
    detail = redact(one_line(exc, None))[:300]  # the model must never see a key
    return f"error: {name} failed: {type(exc).__name__}: {detail}"


async def run_one(name: str, args: Any, ctx: ToolContext,
                  call_id: str = "") -> tuple[bool, str, list[tuple[str, str]], Proposal | None]:
    """(ok, text, papers, proposal) for one call; every failure becomes (False, reason, [], None).

    A state-changing call that passes its checks returns its proposal and changes nothing.
    """
    tool = TOOLS.get(name)
    if tool is None:
        log.info("the model called an unknown tool %r", name)
        return False, f"error: there is no tool named {name!r}; available: {', '.join(TOOLS)}", [], None
    if not isinstance(args, dict):
        log.info("the model called %s with arguments that are not an object: %r", name, args)
        return False, f"error: arguments for {name} must be a JSON object", [], None
    try:
        parsed = tool.args.model_validate(args)
    except ValidationError as exc:
        problems = validation_line(exc, "arguments", most=5)
        log.info("the model called %s with invalid arguments: %s", name, problems)
        return False, f"error: invalid arguments for {name}: {problems}", [], None
    try:
        if tool.propose is not None:
            proposal = await tool.propose(ctx, parsed, call_id)
            # WARNING: a change the user did not ask for is how an injected instruction shows itself.
            log.warning("proposed %s %s: %s (waiting for the user)", name,
                        json.dumps(proposal.args, ensure_ascii=False, sort_keys=True, default=str),
                        proposal.summary)
            return True, f"proposed: {proposal.summary}", [], proposal
        assert tool.run is not None
        out = await tool.run(ctx, parsed)
    except Exception as exc:  # a bug or an outside failure in one tool must not end the turn
        return False, _failure(name, exc), [], None
    return True, out.text, out.papers, None


def _tool_message(call_id: str, name: str, text: str, *, ok: bool, papers: Sequence[tuple[str, str]] = (),
                  proposal: Proposal | None = None) -> ToolMessage:
    artifact: dict[str, Any] = {"text": text, "papers": [list(p) for p in papers]}
    if proposal is not None:
        artifact["proposal"] = proposal.to_json()
    return ToolMessage(content=wrap_tool_output(name or "unknown", text, ok=ok), tool_call_id=call_id,
                       name=name or "unknown", status="success" if ok else "error", artifact=artifact)


async def run_tool_calls(state: ChatState, *, library: Library, profile: str | None,
                         emit: Emit) -> dict[str, Any]:
    """Node ``tools``: a ToolMessage per read-only call (in order); proposals for the changes."""
    messages = state["messages"]
    ctx = ToolContext(library=library, profile=profile, changes=list(state.get("changes") or []))
    results = []
    proposals: list[dict[str, Any]] = []
    calls = [(c["id"], c.get("name") or "", c["args"] if c["valid"] else None,
              None if c["valid"] else (c.get("error") or "not JSON")) for c in ordered_calls(messages[-1])]
    for call_id, name, args, bad_json in calls:
        emit({"kind": "tool_start", "tool": name, "args": args or {}, "call_id": call_id})
        started = time.perf_counter()
        proposal = None
        papers: list[tuple[str, str]]
        if bad_json is not None:
            log.info("the model's arguments for %s are not valid JSON (%s)", name or "a call", bad_json)
            ok, text, papers = False, (f"error: the arguments of {name or 'this call'} are not valid JSON "
                                       f"({bad_json}); call it again with a JSON object"), []
        elif name in TOOLS and TOOLS[name].changes_state and len(proposals) >= MAX_PROPOSALS:
            ok, text, papers = False, (f"error: at most {MAX_PROPOSALS} changes can be proposed at once; "
                                       "propose the rest after the user answered"), []
        else:
            ok, text, papers, proposal = await run_one(name, args, ctx, call_id)
        log.debug("tool %s ok=%s in %.1f ms", name, ok, (time.perf_counter() - started) * 1000)
        if proposal is not None:  # no result yet: the user answers first (node ``confirm``)
            proposals.append(proposal.to_json())
            emit({"kind": "proposal", "tool": name, "call_id": call_id, "text": proposal.summary,
                  "proposal": proposal})
            continue
        emit({"kind": "tool_end", "tool": name, "call_id": call_id, "ok": ok,
              "text": first_line(text.strip(), 120)})
        results.append(_tool_message(call_id, name, text, ok=ok, papers=papers))
    return {"messages": results, "proposals": proposals}


def decisions(resume: Any, proposals: list[Proposal]) -> tuple[dict[str, bool], bool]:
    """The user's answer (the resume value) as ``{proposal id: yes?}``, and whether the turn ends.

    ``{"approve": true}`` confirms every proposal, ``{"approve": {"call_1": true}}`` some (a missing
    id is a no), anything else confirms nothing; ``"end": true`` ends the turn without the model
    (the user moved on to a new message).
    """
    resume = resume if isinstance(resume, Mapping) else {}
    approve = resume.get("approve", False)
    if isinstance(approve, Mapping):
        answers = {p.id: approve.get(p.id) is True for p in proposals}
    else:
        answers = {p.id: approve is True for p in proposals}
    return answers, bool(resume.get("end"))


async def confirm_proposals(state: ChatState, *, library: Library, profile: str | None,
                            emit: Emit) -> dict[str, Any]:
    """Node ``confirm``: ask the user (``interrupt``), then apply what they confirmed.

    LangGraph re-runs this node from its start when the turn resumes, so nothing may come before
    ``interrupt``: it returns the user's answer on that second run.
    """
    pending = [Proposal(**p) for p in state.get("proposals") or []]
    answer = interrupt({"proposals": [p.to_json() for p in pending]})
    approved, end = decisions(answer, pending)
    changes: list[ChangeRecord] = list(state.get("changes") or [])
    ctx = ToolContext(library=library, profile=profile, changes=[dict(c) for c in changes])
    records: list[ChangeRecord] = []
    results = []
    for p in pending:
        tool = TOOLS[p.tool]
        papers: list[tuple[str, str]] = []
        if not approved.get(p.id):
            p.status = "declined"
            why = "the user moved on without confirming it" if end else "the user did not confirm it"
            p.detail = "you moved on without confirming it" if end else "not confirmed"
            text = (f"not applied: {why} ({p.summary}). Nothing was changed; do not propose it again "
                    "unless the user asks.")
            log.info("proposal %s not applied (%s)", p.summary, why)
        else:
            try:
                assert tool.apply is not None
                applied = await tool.apply(ctx, p)
            except Exception as exc:
                p.status = "failed"
                text = _failure(p.tool, exc)
                p.detail = text.removeprefix("error: ")
            else:
                p.status = "applied"
                records += record_applied(changes, records, p, applied)
                p.detail = applied.text
                papers = applied.papers
                text = (f"applied as change {p.change} (the user confirmed it; it can be undone): "
                        f"{applied.text}")
                log.info("applied %s as change %s (confirmed by the user)", p.summary, p.change)
        ok = p.status == "applied"
        emit({"kind": "tool_end", "tool": p.tool, "call_id": p.id, "ok": ok,
              "text": first_line(text.strip(), 120), "proposal": p})
        results.append(_tool_message(p.id, p.tool, text, ok=ok, papers=papers, proposal=p))
    update: dict[str, Any] = {"messages": results, "proposals": [], "changes": records}
    if end:  # close the turn without asking the model again: the user has already moved on
        update["messages"] = [*results, AIMessage(content="(The proposed change was not confirmed, so "
                                                          "nothing was changed.)")]
        update["ended"] = True
    return update
