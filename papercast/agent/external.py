"""Changes confirmed outside a chat turn (the MCP server asks its user by elicitation).

The same path as the chat's confirm node: the tool's ``propose`` checks the arguments and names the
change (before -> after) without writing anything; only after the user said yes does ``apply`` run,
against the data as it is then, and ``state.record_applied`` numbers it (``c1``, ``c2``...) into a
chat thread's change log. So the change is listed in that thread, and ``papercast chat --thread
THREAD "undo c1"`` (or the TUI's chat on it, or the server's own ``undo_change``) takes it back.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from langchain_core.messages import AIMessage
from pydantic import ValidationError

from papercast.agent.chat import check_thread_id
from papercast.agent.graph import graph
from papercast.agent.port import Library
from papercast.agent.state import ChangeRecord, record_applied
from papercast.agent.tool_types import Applied, ToolContext
from papercast.agent.toolbox import TOOLS
from papercast.errors import UserError, validation_line
from papercast.models import Proposal
from papercast.store import threads

log = logging.getLogger(__name__)


def _config(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": check_thread_id(thread_id)}}


async def thread_changes(library: Library, thread_id: str) -> list[ChangeRecord]:
    """The change log of a thread (empty when the thread does not exist yet)."""
    path = library.settings.checkpoint_path
    if not path.exists():
        return []
    async with threads.checkpointer(path) as saver:
        state = await graph.copy(update={"checkpointer": saver}).aget_state(_config(thread_id))
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
    config = _config(thread_id)
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
