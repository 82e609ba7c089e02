"""A digest as Markdown (terminal and GitHub), JSON and a self-contained HTML page (the e-mail's HTML part).

Paper text is untrusted in every format: Markdown escapes what would make links, HTML or emphasis;
HTML escapes everything. Every rendering states the digest's mode and this run's LLM usage.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from papercast.models import Paper
from papercast.tools.writing.digest import Digest
from papercast.tools.writing.summarize import summary_label


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
