"""The chat agent's tools: thin, typed wrappers over ``papercast.service.Papercast``.

Each tool is an argument model (pydantic; its JSON schema is what the model sees) and an async
function returning a ``ToolOutput``: plain text for the model plus the ``(id, title)`` of the papers it
showed, so answers can be checked for citations. The service is synchronous (Chroma, the embedder,
SQLite), so blocking calls run in a worker thread and never stall the event loop the TUI draws on.

Tools raise ``UserError`` for bad input (unknown id, bad date); the tool node turns any exception
into an error message for the model, so a tool can never crash a turn.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from papercast.errors import UserError
from papercast.models import Paper, parse_date
from papercast.tools.ranking.lexical import STOPWORDS

if TYPE_CHECKING:
    from papercast.service import Papercast

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")
_WORD = re.compile(r"[a-z0-9]+")


@dataclass
class ToolContext:
    """What a tool may use: the service, the profile the chat acts for, the user's latest message."""

    service: Papercast
    user_message: str = ""
    profile: str | None = None


@dataclass
class ToolOutput:
    text: str
    papers: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    args: type[BaseModel]
    run: Callable[[ToolContext, Any], Awaitable[ToolOutput]]
    changes_state: bool = False

    def schema(self) -> dict[str, Any]:
        """The OpenAI function-calling schema."""
        params = self.args.model_json_schema()
        params.pop("title", None)
        for prop in params.get("properties", {}).values():
            prop.pop("title", None)
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                 "parameters": params}}


# -- text helpers ---------------------------------------------------------------------------------
def cite(paper: Paper) -> str:
    return f"[{paper.id}] {paper.title}"


def paper_line(paper: Paper, extra: str = "") -> str:
    """``[id] title — First Author et al., 2025-09-04, ▲12``."""
    bits = []
    if paper.authors:
        bits.append(paper.first_author + (" et al." if len(paper.authors) > 1 else ""))
    if paper.published:
        bits.append(paper.published.isoformat())
    if paper.upvotes:
        bits.append(f"▲{paper.upvotes}")
    meta = f" — {', '.join(bits)}" if bits else ""
    return f"{cite(paper)}{meta}{extra}"


def terms(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 2]


def extract(paper: Paper, query: str = "", limit: int = 220) -> str:
    """One line of the abstract: the sentence sharing most words with ``query`` (else the first)."""
    sentences = [s.strip() for s in _SENTENCE.split(paper.abstract) if s.strip()] or [paper.title]
    wanted = set(terms(query))
    best = sentences[0]
    if wanted:
        scored = [(len(wanted & set(terms(s))), -i, s) for i, s in enumerate(sentences)]
        top = max(scored)
        if top[0] > 0:
            best = top[2]
    return best if len(best) <= limit else best[:limit - 1].rsplit(" ", 1)[0] + "…"


async def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(fn, *args, **kwargs)


# -- argument models -------------------------------------------------------------------------------
class SearchArgs(BaseModel):
    query: str = Field(description="what to look for, in plain words")
    since: str | None = Field(None, description="first publication day, YYYY-MM-DD")
    until: str | None = Field(None, description="last publication day, YYYY-MM-DD")
    n: int = Field(8, ge=1, le=25, description="how many papers")


class PaperArgs(BaseModel):
    id: str = Field(description="arXiv id, e.g. 2509.04664")


class SimilarArgs(BaseModel):
    id: str = Field(description="arXiv id of the paper to start from")
    n: int = Field(5, ge=1, le=20)


class ProfileArgs(BaseModel):
    profile: str | None = Field(None, description="profile name (default: the active one)")


class RecommendArgs(BaseModel):
    n: int = Field(10, ge=1, le=30, description="how many papers")
    profile: str | None = Field(None, description="profile name (default: the active one)")


class FetchArgs(BaseModel):
    source: Literal["hf", "arxiv", "all"] = Field("all", description="hf = Hugging Face Daily Papers")
    date: str | None = Field(None, description="one day, YYYY-MM-DD (default: today's lists)")
    query: str | None = Field(None, description="arXiv search query, e.g. 'ti:diffusion AND cat:cs.CV'")


class UpdateProfileArgs(BaseModel):
    add_keywords: list[str] = Field(default_factory=list, description="keywords to add")
    remove_keywords: list[str] = Field(default_factory=list, description="keywords to remove")
    add_authors: list[str] = Field(default_factory=list, description="authors to follow")
    remove_authors: list[str] = Field(default_factory=list, description="authors to unfollow")
    add_interests: str | None = Field(None, description="text appended to the free-text interests")
    interests: str | None = Field(None, description="replaces the free-text interests")
    profile: str | None = Field(None, description="profile name (default: the active one)")


class FeedbackArgs(BaseModel):
    id: str = Field(description="arXiv id")
    kind: Literal["like", "dislike", "save", "dismiss"]
    undo: bool = Field(False, description="take the feedback back")


class CompareArgs(BaseModel):
    ids: list[str] = Field(min_length=2, max_length=5, description="2 to 5 arXiv ids")


# -- the tools ---------------------------------------------------------------------------------------
def _date(text: str | None, what: str) -> Any:
    return parse_date(text, what)


async def search_library(ctx: ToolContext, a: SearchArgs) -> ToolOutput:
    hits = await _call(ctx.service.search, a.query, a.n, since=_date(a.since, "since"), until=_date(a.until, "until"))
    if not hits:
        return ToolOutput(f"no stored papers match {a.query!r}")
    lines = [f"{len(hits)} papers matching {a.query!r}, best first:"]
    for paper, score in hits:
        lines.append(f"- {paper_line(paper, f' (match {score:.2f})')}\n  {extract(paper, a.query)}")
    return ToolOutput("\n".join(lines), [(p.id, p.title) for p, _ in hits])


async def get_paper(ctx: ToolContext, a: PaperArgs) -> ToolOutput:
    p: Paper = await _call(ctx.service.get_paper, a.id)
    lines = [cite(p), f"authors: {', '.join(p.authors) or 'unknown'}",
             f"published: {p.published or 'unknown'}; categories: {' '.join(p.categories) or '-'}"
             + (f"; ▲{p.upvotes} upvotes" if p.upvotes is not None else ""),
             f"url: {p.url}"]
    if p.github_repo:
        lines.append(f"code: {p.github_repo}")
    lines.append(f"abstract: {p.abstract}")
    if p.ai_summary:
        lines.append(f"HF AI summary: {p.ai_summary}")
    return ToolOutput("\n".join(lines), [(p.id, p.title)])


async def similar_papers(ctx: ToolContext, a: SimilarArgs) -> ToolOutput:
    hits = await _call(ctx.service.similar, a.id, a.n)
    if not hits:
        return ToolOutput(f"no papers similar to {a.id} in the library")
    lines = [f"papers most similar to {a.id}:"]
    lines += [f"- {paper_line(p, f' (similarity {s:.2f})')}\n  {extract(p)}" for p, s in hits]
    return ToolOutput("\n".join(lines), [(p.id, p.title) for p, _ in hits])


async def get_profile(ctx: ToolContext, a: ProfileArgs) -> ToolOutput:
    profile = await _call(ctx.service.active_profile, a.profile or ctx.profile)
    lines = [f"profile {profile.name!r}", f"interests: {profile.interests or '-'}",
             f"keywords: {', '.join(profile.keywords) or '-'}",
             f"excluded keywords: {', '.join(profile.excluded_keywords) or '-'}",
             f"followed authors: {', '.join(profile.authors) or '-'}",
             f"categories: {', '.join(profile.categories) or '-'}"]
    cited: list[tuple[str, str]] = []
    for kind, label in (("like", "liked"), ("save", "saved"), ("dislike", "disliked")):
        all_ids = profile.ids(kind)  # type: ignore[arg-type]
        papers = await _call(ctx.service.store.get_many, all_ids[-10:]) if all_ids else []
        lines.append(f"{label} papers ({len(all_ids)}, latest last):")
        lines += [f"- {cite(p)}" for p in papers]
        cited += [(p.id, p.title) for p in papers]
    return ToolOutput("\n".join(lines), cited)


async def recommend(ctx: ToolContext, a: RecommendArgs) -> ToolOutput:
    reading = await _call(ctx.service.recommend, profile=a.profile or ctx.profile, n=a.n, use_llm=False)
    window = f"{reading.since or '…'} to {reading.until or '…'}"
    if not reading.items:
        return ToolOutput(f"nothing to recommend for {window}")
    lines = [f"top {len(reading.items)} for the profile, papers from {window}:"]
    if reading.note:
        lines.append(f"note: {reading.note}")
    for rank, rec in enumerate(reading.items, 1):
        why = "; ".join(rec.reasons[:3])
        lines.append(f"{rank}. {paper_line(rec.paper)} (score {rec.score:.2f})"
                     + (f"\n   why: {why}" if why else "") + f"\n   {extract(rec.paper)}")
    return ToolOutput("\n".join(lines), [(r.paper.id, r.paper.title) for r in reading.items])


async def summarize_paper(ctx: ToolContext, a: PaperArgs) -> ToolOutput:
    summaries = await _call(ctx.service.summarize, [a.id])
    paper = await _call(ctx.service.get_paper, a.id)
    s = summaries[0]
    lines = [cite(paper), f"TL;DR: {s.tldr}"]
    if s.contributions:
        lines.append("contributions:\n" + "\n".join(f"- {c}" for c in s.contributions))
    for label, value in (("method", s.method), ("results", s.results), ("limitations", s.limitations)):
        if value:
            lines.append(f"{label}: {value}")
    if s.keywords:
        lines.append(f"keywords: {', '.join(s.keywords)}")
    lines.append(f"(summary by {'the offline extractive summarizer' if s.is_offline else s.model})")
    return ToolOutput("\n".join(lines), [(paper.id, paper.title)])


async def fetch_papers(ctx: ToolContext, a: FetchArgs) -> ToolOutput:
    report = await ctx.service.afetch(a.source, day=_date(a.date, "date"), query=a.query)
    r = report.result
    stored = f"{r.added} new, {r.updated + r.reembedded} updated, {r.unchanged} unchanged" if r else "nothing new"
    lines = [f"fetched {len(report.papers)} papers from {a.source} ({stored})"]
    lines += [f"error: {e}" for e in report.errors] + [f"note: {n}" for n in report.notes]
    top = sorted(report.papers, key=lambda p: (p.upvotes or 0, p.published or 0), reverse=True)[:10]
    if top:
        lines.append("among them:")
        lines += [f"- {paper_line(p)}" for p in top]
    return ToolOutput("\n".join(lines), [(p.id, p.title) for p in top])


async def update_profile(ctx: ToolContext, a: UpdateProfileArgs) -> ToolOutput:
    profile = await _call(ctx.service.active_profile, a.profile or ctx.profile)
    changes: dict[str, Any] = {}
    if a.add_keywords:
        changes["add_keywords"] = a.add_keywords
    if a.remove_keywords:
        changes["remove_keywords"] = a.remove_keywords
    if a.add_authors:
        changes["add_authors"] = a.add_authors
    if a.remove_authors:
        changes["remove_authors"] = a.remove_authors
    if a.interests is not None:
        changes["interests"] = a.interests
    elif a.add_interests:
        changes["interests"] = "; ".join(x for x in (profile.interests, a.add_interests) if x)
    if not changes:
        raise UserError("update_profile needs at least one change")
    updated = await _call(ctx.service.profile_update, profile.name, **changes)
    return ToolOutput(f"profile {updated.name!r} updated: {_describe(changes)}\n"
                      f"keywords now: {', '.join(updated.keywords) or '-'}\n"
                      f"authors now: {', '.join(updated.authors) or '-'}\n"
                      f"interests now: {updated.interests or '-'}")


def _describe(changes: dict[str, Any]) -> str:
    labels = {"add_keywords": "added keywords", "remove_keywords": "removed keywords",
              "add_authors": "following", "remove_authors": "unfollowed", "interests": "interests set to"}
    parts = []
    for key, value in changes.items():
        shown = ", ".join(f"'{v}'" for v in value) if isinstance(value, list) else repr(value)
        parts.append(f"{labels[key]} {shown}")
    return "; ".join(parts)


async def give_feedback(ctx: ToolContext, a: FeedbackArgs) -> ToolOutput:
    paper = await _call(ctx.service.get_paper, a.id)
    profile = await _call(ctx.service.feedback, [paper.id], a.kind, profile=ctx.profile, undo=a.undo)
    verb = f"took back '{a.kind}' for" if a.undo else {"like": "liked", "dislike": "disliked", "save": "saved",
                                                       "dismiss": "dismissed"}[a.kind]
    return ToolOutput(f"{verb} {cite(paper)} (profile {profile.name!r})", [(paper.id, paper.title)])


async def compare_papers(ctx: ToolContext, a: CompareArgs) -> ToolOutput:
    papers: list[Paper] = await _call(ctx.service.get_papers, a.ids)
    vectors = await _call(ctx.service.store.embeddings, [p.id for p in papers])
    lines = [f"comparing {len(papers)} papers:"]
    for p in papers:
        abstract = p.abstract if len(p.abstract) <= 700 else p.abstract[:699] + "…"
        lines.append(f"- {paper_line(p)}\n  categories: {' '.join(p.categories) or '-'}\n  abstract: {abstract}")
    shared = set.intersection(*(set(terms(p.embedding_text)) for p in papers))
    if shared:
        lines.append(f"terms all of them use: {', '.join(sorted(shared)[:12])}")
    for i, p in enumerate(papers):
        for q in papers[i + 1:]:
            if p.id in vectors and q.id in vectors:
                sim = float(vectors[p.id] @ vectors[q.id])
                lines.append(f"similarity {p.id} vs {q.id}: {sim:.2f}")
    return ToolOutput("\n".join(lines), [(p.id, p.title) for p in papers])


TOOLS: dict[str, Tool] = {t.name: t for t in [
    Tool("search_library", "Semantic search over the stored papers (titles and abstracts).", SearchArgs,
         search_library),
    Tool("get_paper", "One stored paper in full: authors, date, categories, abstract.", PaperArgs, get_paper),
    Tool("similar_papers", "Stored papers most similar to a given paper.", SimilarArgs, similar_papers),
    Tool("get_profile", "The user's interest profile: interests, keywords, authors, liked/saved papers.",
         ProfileArgs, get_profile),
    Tool("recommend", "The personal reading list: the best recent papers for the profile.", RecommendArgs,
         recommend),
    Tool("summarize_paper", "A structured summary of one paper (TL;DR, contributions, method, results).",
         PaperArgs, summarize_paper),
    Tool("fetch_papers", "Fetch new papers from Hugging Face Daily Papers and/or arXiv into the library. "
         "Only when the user asks for it.", FetchArgs, fetch_papers, changes_state=True),
    Tool("update_profile", "Change the user's profile: keywords, followed authors, interests. Only what the "
         "user asked for, in their words.", UpdateProfileArgs, update_profile, changes_state=True),
    Tool("give_feedback", "Record like/dislike/save/dismiss for a paper. Only when the user asked for it.",
         FeedbackArgs, give_feedback, changes_state=True),
    Tool("compare_papers", "Side-by-side facts of 2-5 papers with their pairwise similarity.", CompareArgs,
         compare_papers),
]}


@cache
def _schemas_json() -> str:
    return json.dumps([t.schema() for t in TOOLS.values()])


def tool_schemas() -> list[dict[str, Any]]:
    """The OpenAI tool schemas (built once: pydantic's schema generation costs ~15 ms)."""
    return json.loads(_schemas_json())


def output_preview(text: str, limit: int = 120) -> str:
    first = text.strip().split("\n", 1)[0]
    return first if len(first) <= limit else first[:limit - 1] + "…"
