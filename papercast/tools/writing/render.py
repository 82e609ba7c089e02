"""A digest as Markdown (terminal, GitHub), JSON, a self-contained HTML page (e-mail, a static page) and Atom.

Paper text is untrusted in every format: Markdown escapes what would make links, HTML or emphasis; HTML
escapes everything; the feed is built as XML elements. Every rendering states the digest's mode (and
the summaries that fell back to offline ones) and the run's LLM usage. The Atom feed is one file each
run updates (``update_feed``): stable entry ids (profile and paper) and first-added times, so a feed
reader shows a paper once; the newest ``limit`` entries are kept.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from papercast import __version__
from papercast.errors import UserError, one_line
from papercast.models import Paper
from papercast.tools.writing.digest import Digest
from papercast.tools.writing.summarize import FALLBACK, summary_label


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


def mode_text(digest: Digest) -> str:
    """``offline``, or the model and how many of the summaries fell back to offline ones when the model
    failed: a digest that names a model must not pass offline summaries off as the model's."""
    if digest.mode == "offline":
        return "offline"
    fell = sum(1 for item in digest.items if item.summary.prompt_version.startswith(FALLBACK))
    if not fell:
        return digest.mode
    every = "all " if fell == len(digest.items) else ""
    return f"{digest.mode} ({every}{fell} of {len(digest.items)} summaries fell back to offline)"


def _usage_line(digest: Digest) -> str:
    if digest.mode == "offline":
        return "offline mode: no LLM used (set PAPERCAST_MODEL to use one)"
    return f"LLM usage this run: {digest.usage.summary_line()}"


def render_markdown(digest: Digest) -> str:
    out = [f"# {digest.title}", "",
           f"*Profile **{md(digest.profile)}** · {len(digest.items)} papers from {digest.window_label} · "
           f"mode: {md(mode_text(digest))} · generated {digest.generated:%Y-%m-%d %H:%M} UTC*", ""]
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
        if item.result:
            out += [f"**Result** {md(item.result)} *(from the abstract)*", ""]
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
        "summary_fallbacks": sum(1 for i in digest.items if i.summary.prompt_version.startswith(FALLBACK)),
        "note": digest.note, "overview": digest.overview, "overview_by": digest.overview_by,
        "window_count": digest.window_count,
        "items": [{**item.recommendation.to_json(),
                   "links": dict(paper_links(item.paper)),
                   "summary": json.loads(item.summary.model_dump_json()),
                   "summary_label": summary_label(item.summary)}
                  | ({"result": item.result} if item.result else {}) for item in digest.items],
        "usage": digest.usage.to_json(), "notices": digest.notices,
    }


def render_json(digest: Digest) -> str:
    return json.dumps(to_json(digest), ensure_ascii=False, indent=2) + "\n"


def render_html(digest: Digest) -> str:
    """A self-contained HTML page: inline styles (for e-mail clients), no scripts, images or fetched
    resources, so the one file works as the e-mail's HTML part and as a static page to publish."""
    e = html.escape
    parts = ["<!DOCTYPE html>", '<html><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{e(digest.title)}</title></head>",
             '<body style="font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; max-width: '
             '760px; margin: auto; line-height: 1.45; color: #222">',
             f"<h1>{e(digest.title)}</h1>",
             f'<p style="color:#666">Profile <b>{e(digest.profile)}</b> · {len(digest.items)} papers from '
             f"{e(digest.window_label)} · mode: {e(mode_text(digest))} · generated "
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
        if item.result:
            parts.append(f"<p><b>Result</b> {e(item.result)} <i>(from the abstract)</i></p>")
        if item.recommendation.reasons:
            parts.append("<p><b>Why:</b> " + "; ".join(e(r) for r in item.recommendation.reasons) + "</p>")
    parts.append('<hr><p style="color:#666;font-size:90%">')
    parts += [f"<i>{e(n)}</i><br>" for n in digest.notices]
    parts += [e(_usage_line(digest)), "</p></body></html>"]
    return "\n".join(parts) + "\n"


# -- Atom ---------------------------------------------------------------------------------------------------
ATOM_NS = "http://www.w3.org/2005/Atom"
_TAG_AUTHORITY = "tag:papercast,2025:"  # RFC 4151 tag URIs: stable, and never dereferenced


def _q(name: str) -> str:
    return f"{{{ATOM_NS}}}{name}"


def feed_id(profile: str) -> str:
    return f"{_TAG_AUTHORITY}feed/{_tag_part(profile)}"


def entry_id(profile: str, paper_id: str) -> str:
    """The same paper for the same profile is the same entry, in every run and every rewrite of the file."""
    return f"{_TAG_AUTHORITY}{_tag_part(profile)}/{paper_id}"


def _tag_part(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def _atom_time(moment: Any) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _entry(digest: Digest, item: Any, updated: str) -> Any:
    from xml.etree import ElementTree as ET

    paper, summary = item.paper, item.summary
    entry = ET.Element(_q("entry"))
    ET.SubElement(entry, _q("id")).text = entry_id(digest.profile, paper.id)
    ET.SubElement(entry, _q("title")).text = " ".join(paper.title.split())
    ET.SubElement(entry, _q("link"), rel="alternate", type="text/html", href=paper.url)
    ET.SubElement(entry, _q("link"), rel="related", type="application/pdf", href=paper.pdf_url)
    ET.SubElement(entry, _q("updated")).text = updated
    if paper.published:
        ET.SubElement(entry, _q("published")).text = f"{paper.published.isoformat()}T00:00:00Z"
    for name in paper.authors[:20]:
        ET.SubElement(ET.SubElement(entry, _q("author")), _q("name")).text = name
    for category in paper.categories[:5]:
        ET.SubElement(entry, _q("category"), term=category)
    ET.SubElement(entry, _q("summary"), type="text").text = f"{summary.tldr} ({summary_label(summary)})"
    e = html.escape
    body = [f"<p><b>TL;DR</b> {e(summary.tldr)} <i>({e(summary_label(summary))})</i></p>"]
    if item.recommendation.reasons:
        body.append("<p><b>Why:</b> " + "; ".join(e(r) for r in item.recommendation.reasons) + "</p>")
    body.append("<p>" + " · ".join(f'<a href="{e(url)}">{e(label)}</a>' for label, url in paper_links(paper))
                + "</p>")
    if paper.abstract:
        body.append(f"<p>{e(paper.abstract)}</p>")
    ET.SubElement(entry, _q("content"), type="html").text = "\n".join(body)
    return entry


def update_feed(digest: Digest, existing: str | None = None, *, limit: int = 100) -> tuple[str, int]:
    """The Atom feed with this digest's papers added to ``existing`` (a feed this function wrote);
    returns (the XML, how many entries are new).

    Entries already in the feed are kept as they were (same id, same ``updated``), so feed readers
    never show a paper twice. A file that is not an Atom feed is refused (a UserError), not overwritten.
    """
    from xml.etree import ElementTree as ET

    from defusedxml import ElementTree as SafeET

    ET.register_namespace("", ATOM_NS)
    old_entries: list[Any] = []
    if existing and existing.strip():
        try:
            root = SafeET.fromstring(existing.encode("utf-8"))
        except Exception as exc:  # ParseError, or defusedxml refusing entities
            raise UserError(f"the feed file is not valid XML ({one_line(exc, None)}); "
                            "give another --feed file or move this one away") from None
        if root.tag != _q("feed"):
            raise UserError("the feed file is not an Atom feed; give another --feed file or move this one "
                            "away")
        old_entries = root.findall(_q("entry"))
    known = {(e.findtext(_q("id")) or "") for e in old_entries}
    now = _atom_time(digest.generated)
    new_entries = [_entry(digest, item, now) for item in digest.items
                   if entry_id(digest.profile, item.paper.id) not in known]
    entries = (new_entries + old_entries)[:limit]

    feed = ET.Element(_q("feed"))
    ET.SubElement(feed, _q("id")).text = feed_id(digest.profile)
    ET.SubElement(feed, _q("title")).text = f"papercast — {digest.profile}"
    ET.SubElement(feed, _q("subtitle")).text = (f"Daily picks for profile {digest.profile}, with TL;DRs "
                                                "and why each paper was picked")
    stamps = [e.findtext(_q("updated")) or "" for e in entries]
    ET.SubElement(feed, _q("updated")).text = max(stamps, default=now) or now
    ET.SubElement(ET.SubElement(feed, _q("author")), _q("name")).text = "papercast"
    ET.SubElement(feed, _q("generator"), version=__version__).text = "papercast"
    feed.extend(entries)
    ET.indent(feed)
    xml = ET.tostring(feed, encoding="unicode", xml_declaration=False)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + xml + "\n", len(new_entries)


def render_atom(digest: Digest, *, limit: int = 100) -> str:
    """A feed of this digest alone (``digest --format atom``; ``daily --feed`` keeps a file up to date)."""
    return update_feed(digest, None, limit=limit)[0]
