"""The one entry the service calls to fetch papers: picks sources, dates and merges the results.

Date semantics: ``date`` is one day; ``since``/``until`` an inclusive range; nothing means "today's
lists" (HF today, falling back to its last non-empty day; the arXiv RSS listing). With ``source="all"``
the sources run concurrently and a failing source becomes a one-line error while the others' papers
are kept; a paper seen by both comes back as one record (``Paper.merged_with``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date

import httpx
from pydantic import BaseModel, Field

from papercast.errors import UserError
from papercast.models import Paper, parse_date
from papercast.sanitize import summarize_cuts
from papercast.tools.sources import arxiv, hf
from papercast.tools.sources.breaker import HostBreaker
from papercast.tools.sources.http import DEFAULT_POLICY, RetryPolicy, SourceError, make_client, with_breaker

log = logging.getLogger(__name__)

SOURCES = ("hf", "arxiv")
DEFAULT_ARXIV_CATEGORIES = ("cs.AI", "cs.CL", "cs.LG")
MAX_RANGE_DAYS = 366
ARXIV_MAX_RESULTS = 1000  # a date range: ~3 days of cs.AI+cs.CL+cs.LG
ARXIV_MAX_QUERY_RESULTS = 200  # newest matches of a query without dates


class FetchResult(BaseModel):
    """Papers (one record per id), one-line errors naming their source, and notes for the user."""

    papers: list[Paper] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


DateLike = date | str | None


def resolve_window(date_: DateLike, since: DateLike, until: DateLike,
                   today: date) -> tuple[date, date] | None:
    """``(first, last)`` day of the request, or None for "today's lists". Bad combinations -> UserError."""
    day, start, end = parse_date(date_, "date"), parse_date(since, "since"), parse_date(until, "until")
    if day is not None and (start is not None or end is not None):
        raise UserError("give either a date or a since/until range, not both")
    if day is not None:
        return day, day
    if end is not None and start is None:
        raise UserError("until needs since")
    if start is None:
        return None
    end = end or today
    if start > end:
        raise UserError(f"since ({start}) is after until ({end})")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise UserError(f"date range too long ({(end - start).days + 1} days; at most {MAX_RANGE_DAYS})")
    return start, end


async def fetch_papers(
    source: str,
    *,
    date: DateLike = None,
    since: DateLike = None,
    until: DateLike = None,
    categories: Sequence[str] = (),
    query: str | None = None,
    include_cross: bool = False,
    client: httpx.AsyncClient | None = None,
    arxiv_min_interval: float = arxiv.ARXIV_MIN_INTERVAL,
    policy: RetryPolicy = DEFAULT_POLICY,
    today: DateLike = None,
    breaker: HostBreaker | None = None,
) -> FetchResult:
    """Fetch papers from ``source`` ("hf", "arxiv" or "all").

    Raises :class:`~papercast.errors.UserError` (a ``ValueError``; one line) for an unknown source or
    bad dates, and :class:`SourceError`
    when a single requested source fails — or, with "all", when every source fails. ``breaker``: the
    run's unreachable hosts, skipped at once (``policy``'s own breaker, when it has one, wins).
    """
    if source not in (*SOURCES, "all"):
        raise UserError(f"unknown source {source!r}; choose hf, arxiv or all")
    now = parse_date(today, "today") or hf.today_utc()
    window = resolve_window(date, since, until, now)
    wanted = SOURCES if source == "all" else (source,)
    job = _Job(window=window, today=now, categories=tuple(categories), query=query or None,
               include_cross=include_cross, arxiv_min_interval=arxiv_min_interval,
               policy=with_breaker(policy, breaker))
    own_client = client is None
    client = client or make_client()
    try:
        runners: dict[str, Callable[[httpx.AsyncClient], Awaitable[FetchResult]]] = {
            "hf": job.hf, "arxiv": job.arxiv}
        outcomes = await asyncio.gather(*(runners[name](client) for name in wanted), return_exceptions=True)
    finally:
        if own_client:
            await client.aclose()
    return _combine(wanted, outcomes)


def _combine(names: Sequence[str], outcomes: Sequence[FetchResult | BaseException]) -> FetchResult:
    """Merge per-source results; a lone failing source (or all of them) raises, others become errors."""
    combined = FetchResult()
    collected: list[Paper] = []
    failures: list[SourceError] = []
    for name, outcome in zip(names, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            if not isinstance(outcome, Exception):
                raise outcome  # KeyboardInterrupt / CancelledError are not source failures
            error = outcome if isinstance(outcome, SourceError) else _unexpected(name, outcome)
            log.warning("fetch: source %s failed: %s", name, error)
            failures.append(error)
            combined.errors.append(str(error))
            continue
        skipped = (f" ({len(outcome.errors)} entries skipped, the first: {outcome.errors[0]})"
                   if outcome.errors else "")
        log.info("fetch: source %s gave %d papers%s", name, len(outcome.papers), skipped)
        collected.extend(outcome.papers)
        combined.errors.extend(outcome.errors)
        combined.notes.extend(outcome.notes)
    if failures and len(failures) == len(names):
        if len(failures) == 1:
            raise failures[0]
        raise SourceError("all", "; ".join(str(f) for f in failures))
    combined.papers = hf.dedupe(collected)
    combined.notes.extend(summarize_cuts([n for p in combined.papers if (n := p.cut_note())]))
    return combined


def _unexpected(name: str, exc: Exception) -> SourceError:
    """A bug in one source must not cost the other source's papers; keep the trace in the debug log."""
    log.debug("source %s failed unexpectedly: %s: %s", name, type(exc).__name__, exc, exc_info=exc)
    return SourceError(name, f"unexpected {type(exc).__name__}: {exc}")


@dataclass(frozen=True)
class _Job:
    """One fetch request, shared by the per-source runners."""

    window: tuple[date, date] | None
    today: date
    categories: tuple[str, ...]
    query: str | None
    include_cross: bool
    arxiv_min_interval: float
    policy: RetryPolicy

    async def hf(self, client: httpx.AsyncClient) -> FetchResult:
        """HF lists for the window (or today with fallback); a query filters locally (HF has no search)."""
        if self.window is None:
            got = await hf.fetch_day(client, self.today, fallback=True, policy=self.policy)
        elif self.window[0] == self.window[1]:
            got = await hf.fetch_day(client, self.window[0], fallback=False, policy=self.policy)
        else:
            got = await hf.fetch_range(client, *self.window, policy=self.policy)
        result = FetchResult(papers=got.papers, errors=[f"hf: {e}" for e in got.errors], notes=got.notes)
        if self.query:
            result.papers = [p for p in result.papers if hf.matches_query(p, self.query)]
            result.notes.append(f"hf: kept {len(result.papers)} papers matching {self.query!r} "
                                "(title, abstract and keywords).")
        return result

    async def arxiv(self, client: httpx.AsyncClient) -> FetchResult:
        """arXiv: the RSS listing for "today", otherwise an API search over the date range."""
        categories = self.categories
        notes: list[str] = []
        if not categories and not self.query:
            categories = DEFAULT_ARXIV_CATEGORIES
            notes.append(f"arxiv: no --category given; using {', '.join(categories)}.")
        pace, policy = self.arxiv_min_interval, self.policy
        if self.window is None and not self.query:
            got = await arxiv.fetch_listing(client, categories, include_cross=self.include_cross,
                                            min_interval=pace, policy=policy)
        else:
            since, until = self.window or (None, None)
            search_query = arxiv.build_search_query(categories=categories, query=self.query,
                                                    since=since, until=until)
            cap = ARXIV_MAX_RESULTS if self.window is not None else ARXIV_MAX_QUERY_RESULTS
            got = await arxiv.search(client, search_query, max_results=cap, min_interval=pace, policy=policy)
            if not got.papers and self.window is not None:
                got.notes.append(f"arxiv: nothing submitted {_span(*self.window)} matches.")
        return FetchResult(papers=got.papers, errors=[f"arxiv: {e}" for e in got.errors],
                           notes=notes + got.notes)


def _span(first: date, last: date) -> str:
    return f"on {first}" if first == last else f"from {first} to {last}"
