"""Hugging Face Daily Papers: the community-curated daily list, with upvotes and AI summaries.

Two response schemas exist in the wild (2024: ``mediaUrl``, no ``ai_*``; 2026: ``ai_summary``,
``githubRepo``, ``organization``...); one mapper handles both. A bad item is skipped and reported
so one odd record never costs the whole day, while a response that is not a JSON list at all is a
:class:`SourceError`, because then nothing on the page can be trusted.
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import httpx
from pydantic import ValidationError

from papercast.errors import one_line, validation_line
from papercast.models import InvalidPaperId, Paper, shift_day
from papercast.tools.sources.http import DEFAULT_POLICY, RetryPolicy, SourceError, request

SOURCE = "hf"
API = "https://huggingface.co/api"
PAGE_SIZE = 100
MAX_PAGES = 20
LOOKBACK_DAYS = 7

# Fields mapped onto Paper, or dropped on purpose (avatars, nested user records, media lists).
_MAPPED_PAPER_KEYS = {
    "id", "title", "summary", "authors", "publishedAt", "upvotes", "ai_summary", "ai_keywords",
    "githubRepo", "githubStars", "projectPage", "organization", "submittedOnDailyAt",
    "submittedOnDailyBy", "mediaUrls", "numComments",
}
_MAPPED_ITEM_KEYS = {
    "paper", "title", "summary", "publishedAt", "numComments", "organization", "submittedBy",
    "mediaUrls", "mediaUrl", "thumbnail",
}
_MAX_EXTRA_STR = 300


@dataclass
class HFResult:
    """Papers from one or more listing requests, plus skipped-item errors and user-facing notes."""

    papers: list[Paper] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- parsing

def _date_of(value: Any) -> date | None:
    """``2026-08-21T00:00:00.000Z`` -> date; None for anything unusable."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _author_names(authors: Any) -> list[str]:
    """Author names in order. Hidden authors are kept: the flag hides the HF account, not the name."""
    names: list[str] = []
    for author in authors or []:
        if isinstance(author, dict):
            name = author.get("name") or (author.get("user") or {}).get("fullname")
        else:
            name = author
        if isinstance(name, str) and name.strip():
            names.append(" ".join(name.split()))
    return names


def _organization(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("fullname") or value.get("name") or None
    return value if isinstance(value, str) and value else None


def _compact_extras(paper: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    """The HF fields Paper has no slot for, kept small: scalars only, no avatar/thumbnail URLs."""
    extras: dict[str, Any] = {}
    for source, known in ((paper, _MAPPED_PAPER_KEYS), (item, _MAPPED_ITEM_KEYS)):
        for key, value in source.items():
            if key in known or key in extras or "avatar" in key.lower():
                continue
            if isinstance(value, bool | int | float) or (
                    isinstance(value, str) and len(value) <= _MAX_EXTRA_STR):
                extras[key] = value
    submitter = paper.get("submittedOnDailyBy") or item.get("submittedBy")
    if isinstance(submitter, dict) and submitter.get("user" if "user" in submitter else "name"):
        extras["submittedBy"] = submitter.get("user") or submitter.get("name")
    organization = paper.get("organization") or item.get("organization")
    if isinstance(organization, dict) and organization.get("name"):
        extras["organizationId"] = organization["name"]
    media = paper.get("mediaUrls") or item.get("mediaUrls")
    if isinstance(media, list) and media:
        extras["mediaCount"] = len(media)
    return extras


def paper_from_hf(obj: dict[str, Any], *, listing_date: date | None = None) -> Paper:
    """Map one daily_papers item (``{"paper": {...}, ...}``) or a bare paper object to a Paper.

    ``hf_date`` is the day the paper was on the list: ``submittedOnDailyAt`` when present (2026
    schema), else the requested listing date, else the item's own ``publishedAt`` (2024 schema,
    where the item timestamp is the listing time). Raises ``ValueError`` on an unusable record.
    """
    if not isinstance(obj, dict):
        raise ValueError(f"expected an object, got {type(obj).__name__}")
    inner = obj.get("paper")
    paper, item = (inner, obj) if isinstance(inner, dict) else (obj, {})
    if not paper.get("id"):
        raise ValueError("missing paper id")
    title = paper.get("title") or item.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ValueError(f"paper {paper.get('id')}: missing title")
    hf_date = (_date_of(paper.get("submittedOnDailyAt")) or listing_date
               or (_date_of(item.get("publishedAt")) if item else None))
    upvotes = paper.get("upvotes")
    try:
        return Paper(
            id=str(paper["id"]),
            title=title,
            abstract=paper.get("summary") or item.get("summary") or "",
            authors=_author_names(paper.get("authors")),
            published=_date_of(paper.get("publishedAt")),
            upvotes=upvotes if isinstance(upvotes, int) else None,
            sources=[SOURCE],
            hf_date=hf_date,
            num_comments=item.get("numComments", paper.get("numComments")),
            ai_summary=paper.get("ai_summary") or None,
            ai_keywords=[k for k in paper.get("ai_keywords") or [] if isinstance(k, str)],
            github_repo=paper.get("githubRepo") or None,
            github_stars=paper.get("githubStars"),
            project_page=paper.get("projectPage") or None,
            organization=_organization(paper.get("organization") or item.get("organization")),
            hf=_compact_extras(paper, item),
        )
    except InvalidPaperId as exc:
        raise ValueError(str(exc)) from exc
    except ValidationError as exc:
        raise ValueError(validation_line(exc)) from exc


def parse_daily_papers(data: Any, *, listing_date: date | None = None,
                       label: str = "item") -> tuple[list[Paper], list[str]]:
    """Parse a decoded daily_papers response (a list) or a single paper object.

    Returns ``(papers, errors)``; errors read ``"item 3: missing paper id"``.
    Raises :class:`SourceError` when the payload is neither a list nor a paper object.
    """
    if isinstance(data, dict) and ("paper" in data or "id" in data):
        data = [data]
    if not isinstance(data, list):
        raise SourceError(SOURCE, f"unexpected response: expected a JSON list, got {type(data).__name__}")
    papers: list[Paper] = []
    errors: list[str] = []
    for index, item in enumerate(data):
        try:
            papers.append(paper_from_hf(item, listing_date=listing_date))
        except ValueError as exc:
            errors.append(f"{label} {index}: {one_line(exc, None)}")
    return papers, errors


def decode_json(text: str | bytes) -> Any:
    """JSON or a one-line SourceError (a truncated body must not surface as a traceback)."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
        raise SourceError(SOURCE, f"invalid JSON in response ({reason}); truncated or not JSON") from exc


# ----------------------------------------------------------------------------- fetching

async def fetch_listing(client: httpx.AsyncClient, *, day: date | None = None, week: str | None = None,
                        month: str | None = None, policy: RetryPolicy = DEFAULT_POLICY) -> HFResult:
    """All papers of one daily/weekly/monthly list, paging ``limit=100&p=N`` until a short page.

    Stops early if a page brings no new ids (an API that ignores ``p`` must not loop forever).
    """
    params: dict[str, Any] = {"limit": PAGE_SIZE}
    if day is not None:
        params["date"] = day.isoformat()
    elif week is not None:
        params["week"] = week
    elif month is not None:
        params["month"] = month
    result = HFResult()
    seen: set[str] = set()
    for page in range(MAX_PAGES):
        response = await request(client, "GET", f"{API}/daily_papers", params={**params, "p": page},
                                 source=SOURCE, policy=policy)
        data = decode_json(response.content)
        papers, errors = parse_daily_papers(data, listing_date=day, label=f"page {page} item")
        result.errors.extend(errors)
        fresh = [p for p in papers if p.id not in seen]
        seen.update(p.id for p in fresh)
        result.papers.extend(fresh)
        if not isinstance(data, list) or len(data) < PAGE_SIZE or not fresh:
            break
    return result


async def fetch_day(client: httpx.AsyncClient, day: date, *, fallback: bool = False,
                    lookback: int = LOOKBACK_DAYS, policy: RetryPolicy = DEFAULT_POLICY) -> HFResult:
    """One day's list. An empty day (weekend, holiday) yields a note naming the last non-empty day.

    With ``fallback`` (no date was asked for: "today") that day's papers are returned instead;
    with an explicit date the result stays empty and the note only offers the other day.
    """
    result = await fetch_listing(client, day=day, policy=policy)
    if result.papers or result.errors:
        return result
    for back in range(1, lookback + 1):
        earlier = shift_day(day, -back)
        previous = await fetch_listing(client, day=earlier, policy=policy)
        if previous.papers:
            if fallback:
                previous.notes.append(
                    f"Hugging Face Daily Papers has no papers for {day} (weekend or holiday?); "
                    f"showing the last non-empty day, {earlier}.")
                return previous
            result.notes.append(
                f"Hugging Face Daily Papers has no papers for {day} (weekend or holiday?); "
                f"the last non-empty day is {earlier} (try --date {earlier}).")
            return result
    result.notes.append(f"Hugging Face Daily Papers has no papers for {day} "
                        f"or the {lookback} days before it.")
    return result


def split_range(since: date, until: date) -> list[tuple[str, Any]]:
    """Cover ``since..until`` with the fewest requests: whole months, whole ISO weeks, then days.
    Counted in day ordinals, so a range ending on 9999-12-31 never steps past the calendar."""
    parts: list[tuple[str, Any]] = []
    day, last = since.toordinal(), until.toordinal()
    while day <= last:
        current = date.fromordinal(day)
        month_end = day + calendar.monthrange(current.year, current.month)[1] - current.day
        if current.day == 1 and month_end <= last:
            parts.append(("month", current.strftime("%Y-%m")))
            day = month_end + 1
        elif current.weekday() == 0 and day + 6 <= last:
            iso = current.isocalendar()
            parts.append(("week", f"{iso.year}-W{iso.week:02d}"))
            day += 7
        else:
            parts.append(("day", current))
            day += 1
    return parts


async def fetch_range(client: httpx.AsyncClient, since: date, until: date, *,
                      policy: RetryPolicy = DEFAULT_POLICY) -> HFResult:
    """Every list from ``since`` to ``until`` inclusive; a paper listed twice appears once."""
    result = HFResult()
    collected: list[Paper] = []
    for kind, value in split_range(since, until):
        part = await fetch_listing(client, **{kind: value}, policy=policy)
        result.errors.extend(part.errors)
        collected.extend(part.papers)
    result.papers = dedupe(collected)
    if not result.papers:
        result.notes.append(f"Hugging Face Daily Papers has no papers from {since} to {until}.")
    return result


async def fetch_paper(client: httpx.AsyncClient, paper_id: str, *,
                      policy: RetryPolicy = DEFAULT_POLICY) -> Paper:
    """One paper by id (``GET /api/papers/{id}``), e.g. to refresh its upvotes."""
    response = await request(client, "GET", f"{API}/papers/{paper_id}", source=SOURCE, policy=policy)
    data = decode_json(response.content)
    try:
        return paper_from_hf(data)
    except ValueError as exc:
        raise SourceError(SOURCE, f"unexpected paper record for {paper_id}: {exc}") from exc


def matches_query(paper: Paper, query: str | None) -> bool:
    """Local keyword filter for HF lists (the API has no search here): every word must appear."""
    if not query:
        return True
    haystack = " ".join([paper.title, paper.abstract, " ".join(paper.ai_keywords)]).lower()
    return all(word in haystack for word in query.lower().split())


def today_utc() -> date:
    """HF labels its lists by UTC day."""
    return datetime.now(UTC).date()


def dedupe(papers: Iterable[Paper]) -> list[Paper]:
    """Merge repeated ids keeping first-seen order."""
    by_id: dict[str, Paper] = {}
    for paper in papers:
        by_id[paper.id] = by_id[paper.id].merged_with(paper) if paper.id in by_id else paper
    return list(by_id.values())
