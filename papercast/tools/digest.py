"""The digest: a window's reading list with TL;DRs, why each paper was picked and an overview.

It is built from the same parts as everything else (``recommend`` with its LLM re-ranking, stored
summaries, batch TL;DRs for papers without one), so a second digest of the same day is served from
the stored summaries and the response cache and sends nothing to the model. The overview is written by the model when one is
set, otherwise computed (counts, top themes from the summaries' keywords); it always says which.
Every digest states its mode and this run's LLM usage. Renderers: Markdown (terminal and GitHub),
JSON, and HTML (the daily e-mail's HTML part). All paper text is escaped in every format.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from papercast.models import Paper, Recommendation, Summary
from papercast.tools.llm import (
    UNTRUSTED_RULE,
    BudgetExceeded,
    LLMUnavailable,
    Usage,
    escape_data,
    one_line,
    run_sync,
)
from papercast.tools.summarize import digest_summaries, summary_label

if TYPE_CHECKING:
    from papercast.models import Profile
    from papercast.service import Papercast

OVERVIEW_VERSION = "overview-v1"
OVERVIEW_WORDS = 90

OVERVIEW_PROMPT = f"""You write the opening paragraph of a researcher's daily paper digest: 2 to 4 sentences,
at most 80 words, plain text without lists or headings. Say what the day's picks are about and what
stands out for this reader (interests between <reader> tags). {UNTRUSTED_RULE}"""


@dataclass
class DigestItem:
    recommendation: Recommendation
    summary: Summary

    @property
    def paper(self) -> Paper:
        return self.recommendation.paper


@dataclass
class Digest:
    profile: str
    items: list[DigestItem]
    since: date | None
    until: date | None
    overview: str
    overview_by: str  # the model's name, or "computed"
    mode: str  # "offline" or the model name
    usage: Usage
    generated: datetime
    window_count: int = 0  # papers published in the window
    note: str | None = None  # the window is not the one asked for
    notices: list[str] = field(default_factory=list)  # LLM trouble: unreachable, budget, fallbacks

    @property
    def window_label(self) -> str:
        return window_label(self.since, self.until)

    @property
    def title(self) -> str:
        return f"papercast digest — {self.until or self.generated.date()}"


def window_label(since: date | None, until: date | None) -> str:
    if since and until and since != until:
        return f"{since} .. {until}"
    return str(until or since or "all dates")


def paper_links(paper: Paper) -> list[tuple[str, str]]:
    """(label, url) for the abs page, the PDF, the HF page and code/project pages when known."""
    links = [("abs", paper.url), ("pdf", paper.pdf_url)]
    if "hf" in paper.sources or paper.hf_date or paper.upvotes is not None or paper.ai_summary:
        links.append(("HF", paper.hf_url))
    if paper.github_repo:
        repo = paper.github_repo
        links.append(("code", repo if repo.startswith("http") else f"https://github.com/{repo}"))
    if paper.project_page:
        links.append(("project", paper.project_page))
    return links


def themes(summaries: list[Summary], limit: int = 5) -> list[tuple[str, int]]:
    """The most frequent keywords across the picks (each counted once per paper)."""
    counts: Counter[str] = Counter()
    for summary in summaries:
        counts.update({k.lower() for k in summary.keywords if k})
    top = [(k, c) for k, c in counts.most_common(limit * 2) if c > 1][:limit]
    return top or counts.most_common(min(limit, 3))


def computed_overview(profile: str, items: list[DigestItem], window_label: str, window_count: int) -> str:
    if not items:
        return f"No papers to show for {window_label}."
    parts = [f"{len(items)} picks for profile \u201c{profile}\u201d from {window_count or len(items)} papers "
             f"published {window_label}."]
    top = themes([i.summary for i in items])
    if top:
        parts.append("Top themes: " + ", ".join(f"{k} ({c})" if c > 1 else k for k, c in top) + ".")
    voted = max(items, key=lambda i: i.paper.upvotes or -1)
    if voted.paper.upvotes:
        parts.append(f"Most upvoted on Hugging Face: {voted.paper.title} (\u25b2{voted.paper.upvotes}).")
    return " ".join(parts)


def overview_messages(profile: Profile, items: list[DigestItem]) -> list[dict[str, str]]:
    from papercast.tools.rerank import profile_block

    papers = "\n".join(f'<paper id="{escape_data(i.paper.id)}">\ntitle: {escape_data(i.paper.title)}\n'
                       f"tldr: {escape_data(i.summary.tldr)}\n</paper>" for i in items)
    return [{"role": "system", "content": OVERVIEW_PROMPT},
            {"role": "user", "content": f"{profile_block(profile)}\n\nToday's picks, best first:\n{papers}"}]


def clean_overview(text: str) -> str:
    flat = one_line(re.sub(r"^#+\s*|^overview:\s*", "", text.strip(), flags=re.IGNORECASE), 2000)
    words = flat.split()
    return flat if len(words) <= OVERVIEW_WORDS else " ".join(words[:OVERVIEW_WORDS]) + "…"


async def llm_overview(app: Papercast, profile: Profile, items: list[DigestItem]) -> str | None:
    """The model's overview, or None (with a notice) when it cannot write one."""
    try:
        answer = await app.llm.complete(overview_messages(profile, items), purpose="overview",
                                        prompt_version=OVERVIEW_VERSION, max_tokens=220, temperature=0.2)
    except (LLMUnavailable, BudgetExceeded):
        return None
    text = clean_overview(answer.text)
    if len(text.split()) < 5:
        app.llm.notice("the model's overview was empty or unusable; used the computed overview")
        return None
    return text


def _window_count(app: Papercast, since: date | None, until: date | None) -> int:
    from papercast.store.papers import _window_where

    try:
        got = app.store.collection.get(where=_window_where(since, until), include=[])
        return len(got["ids"])
    except Exception:  # a count for the overview is not worth failing a digest
        return 0


def build_digest(app: Papercast, *, profile: str | None = None, n: int = 10, since: date | None = None,
                 until: date | None = None, use_llm: bool = True) -> Digest:
    """The digest for a profile and window (the ranker falls back to the latest non-empty window)."""
    from papercast.errors import UserError

    if n < 1:
        raise UserError(f"-n must be at least 1, got {n}")
    llm_on = use_llm and not app.settings.offline
    target = app.active_profile(profile)
    reading = app.recommend(profile=target.name, n=n, since=since, until=until, use_llm=llm_on)
    recs = reading.items
    summaries = digest_summaries(app, [r.paper for r in recs], use_llm=llm_on)
    items = [DigestItem(r, s) for r, s in zip(recs, summaries, strict=True)]
    count = _window_count(app, reading.since, reading.until)
    window = window_label(reading.since, reading.until)
    overview, by = None, "computed"
    if llm_on and items:
        overview = run_sync(llm_overview(app, target, items))
        by = app.settings.model or "computed"
    if overview is None:
        overview, by = computed_overview(target.name, items, window, count), "computed"
    note = reading.note
    if not items and note is None:
        note = "no papers in the store yet: run `papercast fetch` or `papercast import FILE`"
    notices = list(dict.fromkeys([*reading.llm_notes, *app.llm_notices()]))
    notices = [n for n in notices if not any(n != other and n in other for other in notices)]  # said already
    return Digest(profile=target.name, items=items, since=reading.since, until=reading.until, overview=overview,
                  overview_by=by, mode=app.settings.model if llm_on else "offline", usage=app.llm_usage(),
                  generated=datetime.now(UTC), window_count=count, note=note, notices=notices)


# -- rendering ------------------------------------------------------------------------------------------
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def md(text: str) -> str:
    """Untrusted text safe inside Markdown: no links, HTML or emphasis it did not mean."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _authors(paper: Paper, limit: int = 5) -> str:
    names = paper.authors[:limit]
    more = f" et al. ({len(paper.authors)} authors)" if len(paper.authors) > limit else ""
    return ", ".join(names) + more


def _usage_line(digest: Digest) -> str:
    if digest.mode == "offline":
        return "offline mode: no LLM used (set PAPERCAST_MODEL to use one)"
    return f"LLM usage this run: {digest.usage.summary_line()}"


def render_markdown(digest: Digest) -> str:
    out = [f"# {digest.title}", "",
           f"*Profile **{md(digest.profile)}** · {len(digest.items)} papers from {digest.window_label} · "
           f"mode: {md(digest.mode)} · generated {digest.generated:%Y-%m-%d %H:%M} UTC*", ""]
    if digest.note:
        out += [f"> **Note:** {md(digest.note)}", ""]
    by = "computed" if digest.overview_by == "computed" else f"written by {md(digest.overview_by)}"
    out += ["## Overview", "", md(digest.overview) + f" *({by})*", ""]
    for rank, item in enumerate(digest.items, 1):
        paper, summary = item.paper, item.summary
        meta = [_authors(paper)] if paper.authors else []
        if paper.published:
            meta.append(paper.published.isoformat())
        if paper.upvotes:
            meta.append(f"▲ {paper.upvotes}")
        if paper.categories:
            meta.append(" ".join(paper.categories[:3]))
        out += [f"## {rank}. {md(paper.title)}", "", md(" · ".join(meta)), "",
                " · ".join(f"[{label}]({url})" for label, url in paper_links(paper)), "",
                f"**TL;DR** {md(summary.tldr)} *({md(summary_label(summary))})*", ""]
        if item.recommendation.reasons:
            out += ["**Why:** " + "; ".join(md(r) for r in item.recommendation.reasons), ""]
    if not digest.items:
        out += ["*No papers to show.*", ""]
    out += ["---", ""]
    for notice in digest.notices:
        out.append(f"*{md(notice)}*  ")
    out.append(f"*{md(_usage_line(digest))}*")
    return "\n".join(out) + "\n"


def to_json(digest: Digest) -> dict[str, Any]:
    return {
        "title": digest.title, "profile": digest.profile,
        "since": digest.since.isoformat() if digest.since else None,
        "until": digest.until.isoformat() if digest.until else None,
        "generated": digest.generated.isoformat(timespec="seconds"), "mode": digest.mode,
        "note": digest.note, "overview": digest.overview, "overview_by": digest.overview_by,
        "window_count": digest.window_count,
        "items": [{**item.recommendation.to_json(),
                   "links": dict(paper_links(item.paper)),
                   "summary": json.loads(item.summary.model_dump_json()),
                   "summary_label": summary_label(item.summary)} for item in digest.items],
        "usage": digest.usage.to_json(), "notices": digest.notices,
    }


def render_json(digest: Digest) -> str:
    return json.dumps(to_json(digest), ensure_ascii=False, indent=2) + "\n"


def render_html(digest: Digest) -> str:
    """A self-contained HTML page (inline styles, for e-mail clients)."""
    e = html.escape
    parts = ["<!DOCTYPE html>", '<html><head><meta charset="utf-8">', f"<title>{e(digest.title)}</title></head>",
             '<body style="font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; max-width: 760px; '
             'margin: auto; line-height: 1.45; color: #222">',
             f"<h1>{e(digest.title)}</h1>",
             f'<p style="color:#666">Profile <b>{e(digest.profile)}</b> · {len(digest.items)} papers from '
             f"{e(digest.window_label)} · mode: {e(digest.mode)} · generated "
             f"{digest.generated:%Y-%m-%d %H:%M} UTC</p>"]
    if digest.note:
        parts.append(f'<p style="background:#fff8e1;padding:6px"><b>Note:</b> {e(digest.note)}</p>')
    by = "computed" if digest.overview_by == "computed" else f"written by {digest.overview_by}"
    parts.append(f"<h2>Overview</h2><p>{e(digest.overview)} <i>({e(by)})</i></p>")
    for rank, item in enumerate(digest.items, 1):
        paper, summary = item.paper, item.summary
        links = " · ".join(f'<a href="{e(url)}">{e(label)}</a>' for label, url in paper_links(paper))
        meta = " · ".join(x for x in [_authors(paper), paper.published.isoformat() if paper.published else "",
                                       f"▲ {paper.upvotes}" if paper.upvotes else ""] if x)
        parts += [f"<h3>{rank}. {e(paper.title)}</h3>", f'<p style="color:#555">{e(meta)}<br>{links}</p>',
                  f"<p><b>TL;DR</b> {e(summary.tldr)} <i>({e(summary_label(summary))})</i></p>"]
        if item.recommendation.reasons:
            parts.append("<p><b>Why:</b> " + "; ".join(e(r) for r in item.recommendation.reasons) + "</p>")
    parts.append('<hr><p style="color:#666;font-size:90%">')
    parts += [f"<i>{e(n)}</i><br>" for n in digest.notices]
    parts += [e(_usage_line(digest)), "</p></body></html>"]
    return "\n".join(parts) + "\n"
