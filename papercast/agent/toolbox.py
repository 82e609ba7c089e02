"""The chat agent's read-only tools: thin, typed wrappers over the library (``port.Library``).

Each tool is an argument model (pydantic; its JSON schema is what the model sees) and an async
function returning a ``ToolOutput``: plain text for the model plus the ``(id, title)`` of the papers
it showed; the tools that change the user's data are proposals, in ``changes``. The service is
synchronous (Chroma, the embedder, SQLite), so blocking calls run in a worker thread and never stall
the event loop the TUI draws on. Tools raise ``UserError`` for bad input; the tool node turns any
exception into an error message for the model, so a tool can never crash a turn.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import cache
from typing import Any

from papercast.agent.changes import CHANGE_TOOLS
from papercast.agent.tool_args import (
    CompareArgs,
    PaperArgs,
    PassagesArgs,
    ProfileArgs,
    ReadArgs,
    RecommendArgs,
    SearchArgs,
    SimilarArgs,
)
from papercast.agent.tool_types import Tool, ToolContext, ToolOutput
from papercast.agent.tool_types import call as _call
from papercast.agent.tool_types import cite as cite
from papercast.models import Paper, SearchHit, parse_date
from papercast.tools.ranking.lexical import STOPWORDS
from papercast.tools.ranking.search import search_request

__all__ = ["TOOLS", "Tool", "ToolContext", "ToolOutput", "cite", "extract", "hits_of", "paper_line", "terms",
           "tool_schemas"]

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")
_WORD = re.compile(r"[a-z0-9]+")
MAX_READ_CHARS = 8000  # of a paper's text in one read_paper output
MAX_PASSAGE_CHARS = 600  # of one passage in a search_passages output


# -- text helpers ---------------------------------------------------------------------------------
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
    return _cut(best, limit)


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rsplit(" ", 1)[0] + "…"


def hits_of(results: Sequence[SearchHit]) -> list[tuple[Paper, float, list[str]]]:
    """Search hits as ``(paper, score, reasons)``."""
    return [(hit.paper, float(hit.score), list(hit.reasons)) for hit in results]


# -- the tools ---------------------------------------------------------------------------------------
async def search_library(ctx: ToolContext, a: SearchArgs) -> ToolOutput:
    hits = hits_of(await _call(ctx.library.search, a.query, a.n, since=parse_date(a.since, "since"),
                               until=parse_date(a.until, "until"), categories=a.categories,
                               authors=a.authors))
    request = search_request(a.query, a.categories, a.authors)  # checked by the search: it cannot fail here
    asked = " ".join(filter(None, [repr(a.query) if a.query.strip() else "", request.scope]))
    if not hits:
        return ToolOutput(f"no stored papers match {asked}")
    ranked = not request.listing  # else the filters' newest papers, unscored
    lines = [f"{len(hits)} papers matching {asked}, {'best' if ranked else 'newest'} first:"]
    for paper, score, _reasons in hits:
        lines.append(f"- {paper_line(paper, f' (match {score:.2f})' if ranked else '')}\n  "
                     f"{extract(paper, a.query)}")
    return ToolOutput("\n".join(lines), [(p.id, p.title) for p, _, _ in hits])


async def get_paper(ctx: ToolContext, a: PaperArgs) -> ToolOutput:
    p: Paper = await _call(ctx.library.get_paper, a.id)
    lines = [cite(p), f"authors: {', '.join(p.authors) or 'unknown'}",
             f"published: {p.published or 'unknown'}; categories: {' '.join(p.categories) or '-'}"
             + (f"; ▲{p.upvotes} upvotes" if p.upvotes is not None else ""),
             f"url: {p.url}"]
    if p.github_repo:
        lines.append(f"code: {p.github_repo}")
    roles = await _call(ctx.library.abstract_roles, p.id)
    if roles:  # what each sentence does, so "what did they find?" is answered from the result sentences
        lines.append("abstract, sentence by sentence with its role:")
        lines += [f"  [{r.role}] {r.text}" for r in roles]
    else:
        lines.append(f"abstract: {p.abstract}")
    if p.ai_summary:
        lines.append(f"HF AI summary: {p.ai_summary}")
    return ToolOutput("\n".join(lines), [(p.id, p.title)])


async def read_paper(ctx: ToolContext, a: ReadArgs) -> ToolOutput:
    """The paper's outline and abstract, or one section's passages, each citable as ``[id §n]``."""
    paper: Paper = await _call(ctx.library.get_paper, a.id)  # only papers of the library are read
    section = " ".join((a.section or "").split()) or None
    doc = await _call(ctx.library.read_paper, paper.id, section=section)
    source = {"html": "arXiv HTML", "pdf": "the PDF", "file": "a saved file"}.get(doc.source)
    head = f"{cite(paper)} — " + (f"full text from {source}" if source else "only the abstract")
    lines = [head + (f" (note: {doc.note})" if doc.note else "")]
    if doc.sections and not section:
        outline = [f"§{s.number} {s.title}".replace("§ ", "§") if s.number else f"§{s.title}"
                   for s in doc.sections if s.level <= 2]
        lines.append("outline: " + "; ".join(outline[:60]))
    passages = list(doc.passages)
    if not section:
        passages = [p for p in passages if p.kind == "abstract"] or passages[:3]
        lines.append("(read one section with read_paper(id, section), or find passages with search_passages)")
    used = sum(len(x) for x in lines)
    for passage in passages:
        text = f"{passage.cite} ({passage.section or 'abstract'}): {' '.join(passage.text.split())}"
        if used + len(text) > MAX_READ_CHARS:
            lines.append(f"… ({len(passages) - passages.index(passage)} more passages not shown)")
            break
        lines.append(text)
        used += len(text)
    if section and not passages:
        lines.append(f"no text found for section {section!r}")
    return ToolOutput("\n".join(lines), [(paper.id, paper.title)])


async def search_passages(ctx: ToolContext, a: PassagesArgs) -> ToolOutput:
    """The best paragraphs of the stored full texts, each with its ``[id §section]`` citation."""
    ids = None
    papers: dict[str, Paper] = {}
    if a.ids:
        found: list[Paper] = await _call(ctx.library.get_papers, a.ids)  # unknown ids: a UserError
        ids = [p.id for p in found]
        papers = {p.id: p for p in found}
    results = await _call(ctx.library.search_passages, a.query, ids=ids, n=a.n)
    missing = [pid for pid in ids or [] if pid not in papers]
    wanted = list(dict.fromkeys(p.paper_id for p, _ in results))
    if [pid for pid in wanted if pid not in papers]:
        more: list[Paper] = await _call(ctx.library.papers_found,
                                        [pid for pid in wanted if pid not in papers])
        papers.update({p.id: p for p in more})
    lines: list[str] = []
    if results:
        lines.append(f"{len(results)} passages matching {a.query!r}, best first:")
        for passage, score in results:
            title = papers[passage.paper_id].title if passage.paper_id in papers else ""
            lines.append(f"- {passage.cite} {title} — {passage.section or 'abstract'} (match {score:.2f}):\n"
                         f"  {_cut(passage.text, MAX_PASSAGE_CHARS)}")
    without = [pid for pid in ids or [] if pid not in {p.paper_id for p, _ in results}] + missing
    for pid in dict.fromkeys(without):
        paper = papers.get(pid)
        if paper is not None:  # no stored full text: the abstract is all there is
            lines.append(f"{cite(paper)}: no stored full text matches (read_paper fetches it); abstract: "
                         f"{extract(paper, a.query, 400)}")
    if not lines:
        return ToolOutput(f"no stored full text matches {a.query!r} (papers' full text is stored once they "
                          "are read: read_paper)")
    shown = list(dict.fromkeys([p.paper_id for p, _ in results] + list(without)))
    return ToolOutput("\n".join(lines), [(pid, papers[pid].title) for pid in shown if pid in papers])


async def similar_papers(ctx: ToolContext, a: SimilarArgs) -> ToolOutput:
    hits = await _call(ctx.library.similar, a.id, a.n)
    if not hits:
        return ToolOutput(f"no papers similar to {a.id} in the library")
    lines = [f"papers most similar to {a.id}:"]
    lines += [f"- {paper_line(p, f' (similarity {s:.2f})')}\n  {extract(p)}" for p, s in hits]
    return ToolOutput("\n".join(lines), [(p.id, p.title) for p, _ in hits])


async def get_profile(ctx: ToolContext, a: ProfileArgs) -> ToolOutput:
    profile = await _call(ctx.library.active_profile, a.profile or ctx.profile)
    lines = [f"profile {profile.name!r}", f"interests: {profile.interests or '-'}",
             f"keywords: {', '.join(profile.keywords) or '-'}",
             f"excluded keywords: {', '.join(profile.excluded_keywords) or '-'}",
             f"followed authors: {', '.join(profile.authors) or '-'}",
             f"categories: {', '.join(profile.categories) or '-'}"]
    cited: list[tuple[str, str]] = []
    for kind, label in (("like", "liked"), ("save", "saved"), ("dislike", "disliked")):
        all_ids = profile.ids(kind)  # type: ignore[arg-type]
        papers = await _call(ctx.library.papers_found, all_ids[-10:]) if all_ids else []
        lines.append(f"{label} papers ({len(all_ids)}, latest last):")
        lines += [f"- {cite(p)}" for p in papers]
        cited += [(p.id, p.title) for p in papers]
    return ToolOutput("\n".join(lines), cited)


async def recommend(ctx: ToolContext, a: RecommendArgs) -> ToolOutput:
    reading = await _call(ctx.library.recommend, profile=a.profile or ctx.profile, n=a.n, use_llm=False)
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
    summaries = await _call(ctx.library.summarize, [a.id])
    paper = await _call(ctx.library.get_paper, a.id)
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


async def compare_papers(ctx: ToolContext, a: CompareArgs) -> ToolOutput:
    papers: list[Paper] = await _call(ctx.library.get_papers, a.ids)
    vectors = await _call(ctx.library.embeddings, [p.id for p in papers])
    lines = [f"comparing {len(papers)} papers:"]
    for p in papers:
        abstract = p.abstract if len(p.abstract) <= 700 else p.abstract[:699] + "…"
        lines.append(f"- {paper_line(p)}\n  categories: {' '.join(p.categories) or '-'}\n  abstract: "
                     f"{abstract}")
    shared = set.intersection(*(set(terms(p.embedding_text)) for p in papers))
    if shared:
        lines.append(f"terms all of them use: {', '.join(sorted(shared)[:12])}")
    for i, p in enumerate(papers):
        for q in papers[i + 1:]:
            if p.id in vectors and q.id in vectors:
                sim = float(vectors[p.id] @ vectors[q.id])
                lines.append(f"similarity {p.id} vs {q.id}: {sim:.2f}")
    return ToolOutput("\n".join(lines), [(p.id, p.title) for p in papers])


READ_TOOLS: list[Tool] = [
    Tool("search_library",
         "Search the stored papers (titles and abstracts) by words and meaning, optionally only in some "
         "arXiv categories or by some authors.", SearchArgs, run=search_library),
    Tool("get_paper", "One stored paper in full: authors, date, categories, abstract (each sentence "
         "tagged background, objective, method, result or other).", PaperArgs,
         run=get_paper),
    Tool("read_paper", "Read a library paper's full text (arXiv HTML or PDF): without a section, its outline "
         "and abstract; with one, that section's passages. Cite passages as [id §section].", ReadArgs,
         run=read_paper),
    Tool("search_passages", "Search the stored full texts for paragraphs answering a question, optionally "
         "within given papers. Cite passages as [id §section].", PassagesArgs, run=search_passages),
    Tool("similar_papers", "Stored papers most similar to a given paper.", SimilarArgs, run=similar_papers),
    Tool("get_profile", "The user's interest profile: interests, keywords, authors, liked/saved papers.",
         ProfileArgs, run=get_profile),
    Tool("recommend", "The personal reading list: the best recent papers for the profile.", RecommendArgs,
         run=recommend),
    Tool("summarize_paper", "A structured summary of one paper (TL;DR, contributions, method, results).",
         PaperArgs, run=summarize_paper),
    Tool("compare_papers", "Side-by-side facts of 2-5 papers with their pairwise similarity.", CompareArgs,
         run=compare_papers),
]

TOOLS: dict[str, Tool] = {t.name: t for t in [*READ_TOOLS, *CHANGE_TOOLS]}


@cache
def _schemas_json() -> str:
    return json.dumps([t.schema() for t in TOOLS.values()])


def tool_schemas() -> list[dict[str, Any]]:
    """The OpenAI tool schemas (built once: pydantic's schema generation is not free)."""
    return json.loads(_schemas_json())
