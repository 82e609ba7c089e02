"""The MCP server over stdio: the SDK's low-level ``Server`` with papercast's handlers.

``initialize`` and ``tools/list`` are answered from ``catalog`` alone; the service, the toolbox and
the store load on the first call that needs them (one lock, so two first calls open it once).
Every failure becomes one line (an ``is_error`` tool result, or a JSON-RPC error for resources and
prompts), never a traceback: the log file has the rest. A change tool exists only with
``--allow-changes``, and even then it applies nothing until the user accepted it by elicitation.
"""

from __future__ import annotations

import asyncio
import json
import logging
from types import ModuleType
from typing import TYPE_CHECKING, Any

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.shared._context_streams import create_context_streams
from mcp.shared.exceptions import MCPError
from mcp.shared.message import SessionMessage
from pydantic import BaseModel, ValidationError

from papercast import __version__
from papercast.config import Settings, load_settings
from papercast.errors import UserError, one_line, redact, validation_line
from papercast.mcp_server import catalog

if TYPE_CHECKING:
    from papercast.mcp_server.handlers import Handlers

log = logging.getLogger(__name__)
WARM_UP_DELAY = 0.5  # seconds after tools/list; a call that comes sooner opens the store itself
THREAD = "mcp"  # the chat thread whose change log holds the changes made through the server

INSTRUCTIONS = ("papercast: the user's own library of research papers, their interest profile and digests. "
                "Search it before answering questions about papers; cite [id] and [id §section]. "
                + catalog.UNTRUSTED)


class Refused(Exception):
    """A call the server will not run; its message is the one line the client sees."""


class PapercastServer:
    """One stdio session's state: the settings, the lazily opened handlers, whether changes may be
    proposed, and the chat thread that records them."""

    def __init__(self, settings: Settings, *, profile: str | None = None, allow_changes: bool = False,
                 thread: str = THREAD) -> None:
        self.settings = settings
        self.profile = profile
        self.allow_changes = allow_changes
        self.thread = thread
        self._handlers: Handlers | None = None
        self._warming: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.server: Server[Any] = Server(
            "papercast", version=__version__, instructions=INSTRUCTIONS,
            on_list_tools=self.list_tools, on_call_tool=self.call_tool,
            on_list_resources=self.list_resources, on_list_resource_templates=self.list_templates,
            on_read_resource=self.read_resource, on_list_prompts=self.list_prompts,
            on_get_prompt=self.get_prompt)

    async def handlers(self) -> Handlers:
        """The handlers, opened once: the service, the store and a first search (the embedder and the
        search's index), off the event loop so the loop keeps answering."""
        async with self._lock:
            if self._handlers is None:
                module = await asyncio.to_thread(_handlers_module)
                self._handlers = await module.open_handlers(self.settings, self.profile)
        return self._handlers

    async def _warm_up(self) -> None:
        """Open the handlers while the client's model thinks (a client lists the tools, then calls one
        later): the first call then finds the store open. A failure here is the first call's to report."""
        await asyncio.sleep(WARM_UP_DELAY)  # the tools/list answer goes out first, on a busy machine too
        try:
            await self.handlers()
        except Exception as exc:
            log.info("warming up failed (the first call will say why): %s", one_line(exc, 200))

    # -- tools ------------------------------------------------------------------------------------
    async def list_tools(self, ctx: Any, params: Any) -> types.ListToolsResult:
        if self._warming is None:
            self._warming = asyncio.create_task(self._warm_up())
        return types.ListToolsResult(tools=catalog.tools(self.allow_changes))

    async def call_tool(self, ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        name = params.name
        try:
            text = await self._call(ctx, name, params.arguments)
        except (Refused, UserError) as exc:
            log.info("tool %s refused: %s", name, exc)
            return _error(str(exc))
        except ValueError as exc:  # the SDK's own checks (an elicitation answer that does not fit)
            log.info("tool %s failed: %s", name, exc)
            return _error(f"{name} failed: {exc}")
        except Exception as exc:  # a failure of the store, the network or a bug: one line, the log has all
            log.warning("tool %s failed: %s: %s", name, type(exc).__name__, one_line(exc, None),
                        exc_info=True)
            return _error(f"{name} failed: {type(exc).__name__}: {redact(one_line(exc, 200))}")
        blocks = [*filter(None, [catalog.UNTRUSTED_BLOCKS.get(name)]), catalog.cap(text)]
        return types.CallToolResult(content=[types.TextContent(type="text", text=b) for b in blocks])

    async def _call(self, ctx: Any, name: str, arguments: dict[str, Any] | None) -> str:
        spec = catalog.ALL_TOOLS.get(name)
        if spec is None:
            raise Refused(f"there is no tool named {name[:80]!r}; tools: "
                          f"{', '.join(t.name for t in catalog.tools(self.allow_changes))}")
        if spec.change and not self.allow_changes:
            raise Refused(f"not applied: {name} changes your data, and this server was started without "
                          "--allow-changes (read-only); nothing was changed")
        args = _parse(spec.args, name, arguments)
        if spec.change:
            caps = ctx.session.client_capabilities
            if caps is None or caps.elicitation is None:
                raise Refused(f"not applied: {name} needs your confirmation, and this client cannot ask for "
                              "it (it does not support MCP elicitation); nothing was changed. Make the "
                              "change in papercast itself (the TUI or the CLI)")
            return await self._change(ctx, await self.handlers(), name, args)
        return await (await self.handlers()).run(name, args)

    async def _change(self, ctx: Any, handlers: Handlers, name: str, args: BaseModel) -> str:
        """Propose, ask the user by elicitation naming the change (before -> after), apply on accept."""
        library = handlers.library
        proposal = await library.apropose_change(name, args.model_dump(), profile=self.profile,
                                                 thread_id=self.thread)
        diff = "\n".join(proposal.diff_lines())
        question = f"papercast wants to change your data:\n{proposal.summary}\n{diff}\nApply this change?"
        answer = await ctx.session.elicit_form(question, _CONFIRM_SCHEMA, related_request_id=ctx.request_id)
        accepted = answer.action == "accept" and bool((answer.content or {}).get("confirm"))
        if not accepted:
            how = {"accept": "did not confirm it", "decline": "declined it",
                   "cancel": "cancelled"}[answer.action]
            log.info("change %s not applied: the user %s", proposal.summary, how)
            raise Refused(f"not applied: the user {how} ({proposal.summary}); nothing was changed")
        applied = await library.aapply_change(proposal, profile=self.profile, thread_id=self.thread)
        return (f"applied as change {proposal.change} (confirmed by the user): {applied.text}\n"
                f"to undo it: the undo_change tool with change={proposal.change}, or papercast chat "
                f"--thread {self.thread} --yes \"undo {proposal.change}\"")

    # -- resources and prompts -----------------------------------------------------------------------
    async def list_resources(self, ctx: Any, params: Any) -> types.ListResourcesResult:
        resources = [types.Resource(uri=catalog.DIGEST_URI, name="digest", mime_type="text/plain",
                                    description="The digest last delivered to the active profile "
                                    "(today's when none was).")]
        try:
            names = await (await self.handlers()).profile_names()
        except Exception as exc:  # the listing still works: the templates name every profile
            log.warning("could not list profiles: %s", one_line(exc, 200))
            names = []
        resources += [types.Resource(uri=f"papercast://profile/{n}", name=f"profile {n}",
                                     mime_type="text/plain",
                                     description=f"Interest profile {n!r} (read-only).")
                      for n in names]
        return types.ListResourcesResult(resources=resources)

    async def list_templates(self, ctx: Any, params: Any) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(resource_templates=catalog.RESOURCE_TEMPLATES)

    async def read_resource(self, ctx: Any,
                            params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
        uri = str(params.uri)
        try:
            text = await (await self.handlers()).read(uri)
        except UserError as exc:
            raise MCPError(code=types.INVALID_PARAMS, message=one_line(exc, 300)) from None
        except Exception as exc:
            log.warning("resource %s failed: %s", uri[:100], one_line(exc, None), exc_info=True)
            raise MCPError(code=types.INTERNAL_ERROR,
                           message=f"{type(exc).__name__}: {redact(one_line(exc, 200))}") from None
        return types.ReadResourceResult(contents=[types.TextResourceContents(uri=uri, text=text,
                                                                             mime_type="text/plain")])

    async def list_prompts(self, ctx: Any, params: Any) -> types.ListPromptsResult:
        return types.ListPromptsResult(prompts=catalog.PROMPTS)

    async def get_prompt(self, ctx: Any, params: types.GetPromptRequestParams) -> types.GetPromptResult:
        try:
            text = catalog.prompt_text(params.name, dict(params.arguments or {}))
        except ValueError as exc:
            raise MCPError(code=types.INVALID_PARAMS, message=one_line(exc, 300)) from None
        return types.GetPromptResult(messages=[types.PromptMessage(
            role="user", content=types.TextContent(type="text", text=text))])

    async def run(self) -> None:
        """Serve stdin/stdout until the client closes them; a line that is not a JSON-RPC message is
        answered with a one-line JSON-RPC error (the SDK drops it, leaving a client waiting)."""
        try:
            async with stdio_server() as (read_stream, write_stream):
                send, receive = create_context_streams[SessionMessage | Exception](0)
                async with anyio.create_task_group() as group:
                    group.start_soon(_screen, read_stream, send, write_stream)
                    await self.server.run(receive, write_stream, self.server.create_initialization_options())
                    group.cancel_scope.cancel()
        except* (BrokenPipeError, ConnectionResetError, anyio.BrokenResourceError, anyio.ClosedResourceError):
            log.info("the client went away (its pipe closed, maybe in the middle of a call): stopping")


async def _screen(read_stream: Any, send: Any, write_stream: Any) -> None:
    """Pass the client's messages on; answer each malformed line with its one-line error."""
    async with send:
        async for item in read_stream:
            if not isinstance(item, Exception):
                await send.send(item)
                continue
            errors = item.errors() if isinstance(item, ValidationError) else []
            not_json = any(e["type"] == "json_invalid" for e in errors)
            code = types.PARSE_ERROR if not_json else types.INVALID_REQUEST
            ids = [e["input"]["id"] for e in errors if isinstance(e.get("input"), dict)
                   and isinstance(e["input"].get("id"), int | str)]
            what = "not JSON" if code == types.PARSE_ERROR else "not a valid JSON-RPC request"
            log.info("malformed message from the client (%s): %s", what, one_line(item, 200))
            error = types.JSONRPCError(jsonrpc="2.0", id=ids[0] if ids else None,
                                       error=types.ErrorData(code=code, message=f"malformed message: {what}"))
            await write_stream.send(SessionMessage(error))


_CONFIRM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"confirm": {"type": "boolean", "title": "Apply this change",
                               "description": "yes applies exactly the change named above"}},
    "required": ["confirm"],
}


def _parse(model: type[BaseModel], name: str, arguments: dict[str, Any] | None) -> BaseModel:
    """The call's arguments checked against the tool's model; too large or wrong: one line."""
    size = len(json.dumps(arguments or {}, ensure_ascii=False, default=str))
    if size > catalog.MAX_ARGUMENT_CHARS:
        raise Refused(f"arguments of {name} are too large ({size} characters; at most "
                      f"{catalog.MAX_ARGUMENT_CHARS})")
    try:
        return model.model_validate(arguments or {})
    except ValidationError as exc:
        raise Refused(f"invalid arguments for {name}: {validation_line(exc, 'arguments', most=5)}") from None


def _error(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=one_line(text, 500))],
                                is_error=True)


def _handlers_module() -> ModuleType:
    from papercast.mcp_server import handlers  # lazy: the service, numpy, Chroma (~0.5 s), off tools/list

    return handlers


def settings_for(home: str | None, **overrides: Any) -> Settings:
    """The settings of the home the server serves, the command line's flags above all else."""
    return load_settings(home=home, **overrides)


def serve(settings: Settings, *, profile: str | None = None, allow_changes: bool = False) -> None:
    """Serve over stdin/stdout until the client goes away."""
    anyio.run(PapercastServer(settings, profile=profile, allow_changes=allow_changes).run)
