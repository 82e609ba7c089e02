"""What the tools and resources do: the agent's own tools over the service, loaded on the first call.

Every answer comes from the code the chat agent and the CLI use (``agent.toolbox``'s tools over the
``Library`` port, the digest builder and renderer, the citation exporter); this module only picks
which and says what is offline. Paper text is data: each result that holds it is wrapped in the
chat's ``<tool_output>`` delimiters with a line saying so.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from papercast.agent import toolbox
from papercast.agent.prompts import wrap_tool_output
from papercast.agent.tool_args import PaperArgs, ProfileArgs
from papercast.agent.tool_types import ToolContext, ToolOutput, call, cite
from papercast.config import Settings
from papercast.errors import UserError
from papercast.mcp_server.catalog import DIGEST_URI, UNTRUSTED, DigestArgs, ExportArgs, cap
from papercast.service import Papercast
from papercast.tools.writing.export import export
from papercast.tools.writing.render import render_markdown

_PAPER_URI = re.compile(r"^papercast://paper/(?P<id>[^/?#]{1,64})$")
_PROFILE_URI = re.compile(r"^papercast://profile/(?P<name>[^/?#]{1,64})$")
MAX_FULLTEXT_CHARS = 20_000  # of a paper resource's full text (the whole result is capped anyway)


class Handlers:
    """The server's answers for one home: ``run`` a read-only tool, ``read`` a resource."""

    def __init__(self, settings: Settings, profile: str | None) -> None:
        self.library = Papercast(settings)
        self.profile = profile
        self.ctx = ToolContext(library=self.library, profile=profile)

    @property
    def settings(self) -> Settings:
        return self.library.settings

    async def prepare(self) -> None:
        """The bundled sample in an empty store (as every command does), the profile checked, and one
        search, which loads Chroma, the embedder and the search's index the first call would wait for."""
        await call(self.library.ensure_sample)
        await call(self.library.active_profile, self.profile)
        await call(self.library.search, "language models", 1)

    def offline_note(self) -> str:
        """The line that says an answer was made without a model (empty when one answered)."""
        if self.settings.offline:
            return "offline: no model is set (PAPERCAST_MODEL), so summaries are extractive"
        why = self.library.llm_unreachable()
        return f"offline: the model could not be reached ({why}); summaries are extractive" if why else ""

    async def run(self, name: str, args: Any) -> str:
        """A read-only tool's text result (a ``UserError`` for bad input, an unknown id...)."""
        if name == "show_paper":
            out = await self._show_paper(args)
        elif name == "summarize":
            out = await toolbox.summarize_paper(self.ctx, args)
        elif name == "digest":
            out = await self._digest(args)
        elif name == "export_citation":
            return await self._export(args)  # paste-ready: the server adds its warning as a block apart
        else:
            out = await getattr(toolbox, name)(self.ctx, args)
        text = out.text
        if name in ("summarize", "digest") and (note := self.offline_note()):
            text = f"{text}\n({note})"
        return wrap(name, text)

    async def _show_paper(self, args: PaperArgs) -> ToolOutput:
        out = await toolbox.get_paper(self.ctx, args)
        paper = await call(self.library.get_paper, args.id)
        stored = await call(self.library.has_fulltext, paper.id)
        extra = ("full text: stored (read_paper, search_passages)" if stored
                 else "full text: not stored yet (read_paper fetches it)")
        return ToolOutput(f"{out.text}\n{extra}\nresource: papercast://paper/{paper.id}", out.papers)

    async def _digest(self, args: DigestArgs) -> ToolOutput:
        profile = args.profile or self.profile
        if args.which == "latest":
            last = await call(self.library.delivery_history, profile or self.library.active_profile().name, 1)
            if last:
                record = last[0]
                papers = await call(self.library.papers_found, record.papers)
                summaries = await call(self.library.digest_summaries, papers,
                                       use_llm=not self.settings.offline)
                lines = [f"digest delivered to profile {record.profile!r} on {record.day} "
                         f"({record.channel}), {len(papers)} papers:"]
                for paper, summary in zip(papers, summaries, strict=False):
                    lines.append(f"- {cite(paper)}\n  TL;DR: {summary.tldr}")
                return ToolOutput("\n".join(lines), [(p.id, p.title) for p in papers])
        digest = await call(self.library.digest, profile, args.n, use_llm=not self.settings.offline)
        head = "today's digest (built now; nothing was delivered to this profile yet)" \
            if args.which == "latest" else "today's digest (built now)"
        return ToolOutput(f"{head}\n\n{render_markdown(digest)}", [(i.paper.id, i.paper.title)
                                                                    for i in digest.items])

    async def _export(self, args: ExportArgs) -> str:
        papers = await call(self.library.get_papers, args.ids)  # unknown ids: a UserError naming them
        return export(papers, args.format)

    # -- resources -----------------------------------------------------------------------------------
    async def profile_names(self) -> list[str]:
        return [p.name for p in await call(self.library.profile_list)]

    async def read(self, uri: str) -> str:
        """A resource's text (a ``UserError`` for an unknown URI, paper or profile)."""
        if uri == DIGEST_URI:
            return cap(await self.run("digest", DigestArgs()))
        if m := _PROFILE_URI.match(uri):
            out = await toolbox.get_profile(self.ctx, ProfileArgs(profile=m["name"]))
            return cap(wrap("profile", out.text))
        if m := _PAPER_URI.match(uri):
            return cap(await self._paper_resource(m["id"]))
        raise UserError(f"unknown resource {uri[:100]!r}: papercast://paper/ID, papercast://profile/NAME "
                        f"or {DIGEST_URI}")

    async def _paper_resource(self, paper_id: str) -> str:
        out = await toolbox.get_paper(self.ctx, PaperArgs(id=paper_id))
        paper = await call(self.library.get_paper, paper_id)
        parts = [out.text]
        if await call(self.library.has_fulltext, paper.id):
            doc = await call(self.library.read_paper, paper.id, fetch=False)
            body = "\n\n".join(f"{p.cite} ({p.section or 'abstract'}): {' '.join(p.text.split())}"
                               for p in doc.passages)
            if len(body) > MAX_FULLTEXT_CHARS:
                body = body[:MAX_FULLTEXT_CHARS] + "\n… (the rest: read_paper with a section)"
            parts.append(f"full text:\n{body}")
        else:
            parts.append("full text: not stored (the read_paper tool fetches it)")
        return wrap("paper", "\n".join(parts))


def wrap(name: str, text: str) -> str:
    """A result holding paper text: the chat's delimiters (a paper cannot close them) and a warning."""
    return f"{UNTRUSTED}\n{wrap_tool_output(name, text)}"


async def open_handlers(settings: Settings, profile: str | None) -> Handlers:
    """The handlers, with the store opened off the event loop (Chroma and the embedder load here)."""
    handlers = await asyncio.to_thread(Handlers, settings, profile)
    await handlers.prepare()
    return handlers
