"""arXiv: the query API (search, id lookups) and the daily RSS/Atom listing.

Both speak Atom, so one parser serves both. The XML comes from the network, so it is parsed with
``defusedxml`` (no entity expansion bombs, no external entities). arXiv asks clients to wait >= 3 s
between requests on one connection; callers pass ``min_interval`` and the shared HTTP policy paces it.

Choice for an entry without an abstract: keep the paper with an empty abstract (its title and ids are
still worth ranking), rather than dropping it. An entry without an id or title is skipped and reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import httpx
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET
from pydantic import ValidationError

from papercast.errors import validation_line
from papercast.models import InvalidPaperId, Paper, normalize_arxiv_id
from papercast.tools.sources.http import DEFAULT_POLICY, RetryPolicy, SourceError, request

SOURCE = "arxiv"
API_URL = "https://export.arxiv.org/api/query"
RSS_URL = "https://rss.arxiv.org/atom/"
ID_BATCH = 100
PAGE_SIZE = 100
DEFAULT_MAX_RESULTS = 500
ARXIV_MIN_INTERVAL = 3.0

NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "arxiv": "http://arxiv.org/schemas/atom",
    "opensearch": "http://a9.com/-/spec/opensearch/1.1/",
    "dc": "http://purl.org/dc/elements/1.1/",
}
_RSS_PREFIX = re.compile(r"^\s*arXiv:\S+\s+Announce Type:\s*\S+\s*(?:Abstract:\s*)?", re.IGNORECASE)
_VERSION = re.compile(r"v(\d+)$")


@dataclass
class AtomFeed:
    """A parsed Atom response: papers, skipped-entry errors, and what the feed says about itself."""

    papers: list[Paper] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    total_results: int | None = None
    entries_seen: int = 0
    announce_types: dict[str, str] = field(default_factory=dict)


@dataclass
class ArxivResult:
    papers: list[Paper] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- query building

def _term(field_name: str, text: str) -> str:
    """``ti:"graph neural"`` for phrases, ``ti:graph`` for one word (quotes inside are dropped)."""
    text = " ".join(text.replace('"', " ").split())
    return f'{field_name}:"{text}"' if " " in text else f"{field_name}:{text}"


def cat(category: str) -> str:
    return _term("cat", category)


def ti(text: str) -> str:
    return _term("ti", text)


def abs_(text: str) -> str:
    return _term("abs", text)


def au(name: str) -> str:
    return _term("au", name)


def any_of(terms: Iterable[str]) -> str:
    """OR-group, parenthesised so it composes with AND."""
    terms = [t for t in terms if t]
    if len(terms) <= 1:
        return terms[0] if terms else ""
    return "(" + " OR ".join(terms) + ")"


def all_of(terms: Iterable[str]) -> str:
    return " AND ".join(t for t in terms if t)


def submitted_between(since: date, until: date) -> str:
    """``submittedDate:[YYYYMMDD0000 TO YYYYMMDD2359]`` (inclusive days, arXiv's GMT)."""
    return f"submittedDate:[{since:%Y%m%d}0000 TO {until:%Y%m%d}2359]"


def free_text(query: str) -> str:
    """A user query: passed through if it already uses field prefixes, else every word via ``all:``."""
    if re.search(r"\b(?:ti|au|abs|co|jr|cat|rn|id|all|submittedDate):", query):
        return f"({query})"
    return all_of(_term("all", word) for word in query.split())


def build_search_query(*, categories: Sequence[str] = (), query: str | None = None,
                       since: date | None = None, until: date | None = None) -> str:
    """Compose categories (OR), the free-text query and the date range (AND) into ``search_query``."""
    parts = [any_of(cat(c) for c in categories)]
    if query:
        parts.append(free_text(query))
    if since is not None:
        parts.append(submitted_between(since, until or since))
    query_text = all_of(parts)
    if not query_text:
        raise ValueError("an arXiv search needs categories, a query or a date range")
    return query_text


# ----------------------------------------------------------------------------- parsing

def _text(element: Element | None) -> str:
    return " ".join((element.text or "").split()) if element is not None else ""


def _categories(entry: Element) -> list[str]:
    """Primary category first, then the rest in feed order, without duplicates."""
    terms: list[str] = []
    primary = entry.find("arxiv:primary_category", NS)
    if primary is not None and primary.get("term"):
        terms.append(primary.get("term", ""))
    terms += [c.get("term", "") for c in entry.findall("atom:category", NS)]
    return list(dict.fromkeys(t for t in terms if t))


def _authors(entry: Element) -> list[str]:
    """API feeds list ``<author><name>``; the RSS feed puts all names in one ``dc:creator``."""
    names = [_text(a.find("atom:name", NS)) for a in entry.findall("atom:author", NS)]
    names = [n for n in names if n]
    if names:
        return names
    creator = _text(entry.find("dc:creator", NS))
    if not creator:
        return []
    return [n.strip() for n in re.split(r",\s*|\s+and\s+", creator) if n.strip()]


def _abstract(entry: Element) -> str:
    return _RSS_PREFIX.sub("", _text(entry.find("atom:summary", NS)))


def _arxiv_extras(entry: Element, raw_id: str, announce: str) -> dict[str, Any]:
    """Small arXiv-only facts worth keeping: version, journal ref, DOI, updated time, announce type."""
    extras: dict[str, Any] = {}
    version = _VERSION.search(raw_id)
    if version:
        extras["version"] = int(version.group(1))
    for key, path in (("journal_ref", "arxiv:journal_ref"), ("doi", "arxiv:doi"),
                      ("updated", "atom:updated")):
        value = _text(entry.find(path, NS))
        if value:
            extras[key] = value
    if announce:
        extras["announce_type"] = announce
    return extras


def paper_from_entry(entry: Element) -> tuple[Paper, str]:
    """Map one Atom entry to ``(Paper, announce_type)``; ``ValueError`` when it has no usable id/title."""
    raw_id = _text(entry.find("atom:id", NS))
    if not raw_id:
        raise ValueError("missing id")
    title = _text(entry.find("atom:title", NS))
    if not title:
        raise ValueError(f"{raw_id}: missing title")
    announce = _text(entry.find("arxiv:announce_type", NS)).lower()
    try:
        paper = Paper(
            id=raw_id,
            title=title,
            abstract=_abstract(entry),
            authors=_authors(entry),
            published=_text(entry.find("atom:published", NS)) or None,
            categories=_categories(entry),
            comment=_text(entry.find("arxiv:comment", NS)) or None,
            sources=[SOURCE],
            arxiv=_arxiv_extras(entry, raw_id, announce),
        )
    except InvalidPaperId as exc:
        raise ValueError(str(exc)) from exc
    except ValidationError as exc:
        message = validation_line(exc)
        raise ValueError(message if raw_id in message else f"{raw_id}: {message}") from exc
    return paper, announce


def _check_api_error(entries: list[Element]) -> None:
    """The query API reports bad requests as a feed with one entry titled "Error"."""
    if len(entries) == 1 and _text(entries[0].find("atom:title", NS)) == "Error":
        message = _text(entries[0].find("atom:summary", NS)) or "unspecified error"
        raise SourceError(SOURCE, f"API error: {message}")


def parse_atom(content: str | bytes, *, label: str = "entry") -> AtomFeed:
    """Parse an arXiv API or RSS Atom document.

    Raises :class:`SourceError` for invalid/unsafe XML, a non-Atom document or an API error feed;
    a bad entry is skipped and reported as ``"entry 3: missing title"``.
    """
    try:
        root = SafeET.fromstring(content)
    except ParseError as exc:
        raise SourceError(SOURCE, f"invalid XML in response ({exc})") from exc
    except DefusedXmlException as exc:
        raise SourceError(SOURCE, f"refused unsafe XML ({type(exc).__name__})") from exc
    if root.tag != f"{{{NS['atom']}}}feed":
        raise SourceError(SOURCE, f"not an Atom feed (root element {root.tag!r})")
    entries = root.findall("atom:entry", NS)
    _check_api_error(entries)
    feed = AtomFeed(entries_seen=len(entries))
    total = _text(root.find("opensearch:totalResults", NS))
    feed.total_results = int(total) if total.isdigit() else None
    for index, entry in enumerate(entries):
        try:
            paper, announce = paper_from_entry(entry)
        except ValueError as exc:
            feed.errors.append(f"{label} {index}: {exc}")
            continue
        feed.papers.append(paper)
        if announce:
            feed.announce_types[paper.id] = announce
    return feed


# ----------------------------------------------------------------------------- API calls

async def _get_feed(client: httpx.AsyncClient, url: str, params: dict[str, Any] | None, *,
                    min_interval: float, policy: RetryPolicy, label: str) -> AtomFeed:
    response = await request(client, "GET", url, params=params, source=SOURCE,
                             min_interval=min_interval, policy=policy)
    return parse_atom(response.content, label=label)


async def search(client: httpx.AsyncClient, search_query: str, *, max_results: int = DEFAULT_MAX_RESULTS,
                 page_size: int = PAGE_SIZE, min_interval: float = ARXIV_MIN_INTERVAL,
                 policy: RetryPolicy = DEFAULT_POLICY) -> ArxivResult:
    """Newest-first search results, paged with ``start``/``max_results`` until exhausted or capped."""
    result = ArxivResult()
    start = 0
    while start < max_results:
        size = min(page_size, max_results - start)
        params = {"search_query": search_query, "start": start, "max_results": size,
                  "sortBy": "submittedDate", "sortOrder": "descending"}
        feed = await _get_feed(client, API_URL, params, min_interval=min_interval, policy=policy,
                               label=f"results {start}+ entry")
        result.papers.extend(feed.papers)
        result.errors.extend(feed.errors)
        start += feed.entries_seen
        exhausted = feed.total_results is not None and start >= feed.total_results
        if feed.entries_seen < size or exhausted:
            break
    else:
        result.notes.append(f"arXiv: stopped at {max_results} results; narrow the query or dates for more.")
    return result


async def fetch_by_ids(client: httpx.AsyncClient, ids: Sequence[str], *, batch_size: int = ID_BATCH,
                       min_interval: float = ARXIV_MIN_INTERVAL,
                       policy: RetryPolicy = DEFAULT_POLICY) -> ArxivResult:
    """Full metadata for the given ids via ``id_list``, ``batch_size`` ids per request."""
    result = ArxivResult()
    clean = list(dict.fromkeys(normalize_arxiv_id(i) for i in ids))
    for offset in range(0, len(clean), batch_size):
        batch = clean[offset:offset + batch_size]
        params = {"id_list": ",".join(batch), "start": 0, "max_results": len(batch)}
        feed = await _get_feed(client, API_URL, params, min_interval=min_interval, policy=policy,
                               label=f"id batch {offset // batch_size} entry")
        result.papers.extend(feed.papers)
        result.errors.extend(feed.errors)
    return result


async def fetch_listing(client: httpx.AsyncClient, categories: Sequence[str], *, include_cross: bool = False,
                        min_interval: float = ARXIV_MIN_INTERVAL,
                        policy: RetryPolicy = DEFAULT_POLICY) -> ArxivResult:
    """Today's announcements for ``categories`` from the RSS/Atom listing, with full API metadata.

    Keeps ``new`` entries (and ``cross`` when asked), never ``replace``/``replace-cross``. If the
    ``id_list`` lookup fails, the listing's own (slightly thinner) metadata is used and a note says so.
    """
    if not categories:
        raise ValueError("the arXiv listing needs at least one category")
    feed = await _get_feed(client, RSS_URL + "+".join(categories), None, min_interval=min_interval,
                           policy=policy, label="listing entry")
    wanted = {"new", "cross"} if include_cross else {"new"}
    listed = [p for p in feed.papers if feed.announce_types.get(p.id, "new") in wanted]
    result = ArxivResult(errors=list(feed.errors))
    if not listed:
        kinds = "new or cross-listed" if include_cross else "new"
        result.notes.append(f"arXiv listing for {'+'.join(categories)} has no {kinds} papers today "
                            "(no announcements on weekends and holidays).")
        return result
    try:
        full = await fetch_by_ids(client, [p.id for p in listed], min_interval=min_interval, policy=policy)
    except SourceError as exc:
        result.notes.append(f"arXiv id_list lookup failed ({exc.message}); "
                            "using the listing's own metadata.")
        result.papers = listed
        return result
    by_id = {p.id: p for p in full.papers}
    result.errors.extend(full.errors)
    # Listing order; the API record wins, the announce type survives from the listing.
    result.papers = [_with_api_record(p, by_id[p.id]) if p.id in by_id else p for p in listed]
    return result


def _with_api_record(listed: Paper, api: Paper) -> Paper:
    """Listing paper refreshed by its API record, keeping both sides' arXiv extras (announce type)."""
    merged = listed.merged_with(api)
    extras = {**(getattr(listed, "arxiv", None) or {}), **(getattr(api, "arxiv", None) or {})}
    return merged.model_copy(update={"arxiv": extras})
