"""The date window a list is ranked over, and its papers, loaded lean and cached per process.

From the ranking cache (``store/ranking_cache.py``) when it is fresh: one SQLite read of vectors, term
counts, dates and upvotes, papers parsed only when used (``pool.LazyPapers``). Otherwise (a Chroma
server, a write in flight elsewhere) from Chroma, the main cost of a recommendation: papers are built
without pydantic validation (trusted metadata the store wrote; the final top-n parsed in full), and the
window with its ranking pool is cached per (window, store size) for two minutes, since the TUI and the
agent re-rank the same window after every like. ``resolve_window`` says which window to rank when none
is given, and what to say when one is empty.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from papercast.errors import UserError, one_line
from papercast.models import Paper, shift_day
from papercast.store.embeddings import DIMENSIONS
from papercast.tools.ranking.lexical import BM25
from papercast.tools.ranking.pool import LazyPapers, LibraryChanged, Pool

if TYPE_CHECKING:
    from papercast.store.papers import PaperStore
    from papercast.store.ranking_cache import RankingCache

log = logging.getLogger(__name__)

DEFAULT_DAYS = 7  # the window ranked when none is given: the week ending at the newest paper
MAX_CACHED = 4
# A new paper changes the store size and so the key; a refreshed one (new upvotes) keeps it, so
# entries also expire: a long-running TUI sees metadata refreshes within two minutes.
TTL_SECONDS = 120.0


@dataclass
class Window:
    papers: Sequence[Paper]  # light: id, title, abstract, authors, published, categories, upvotes
    pool: Pool  # their vectors and what ranking derives from them, whatever the profile
    # ids -> the stored Paper JSON, parsed only for what is shown
    full: Callable[[Sequence[str]], dict[str, str]]
    loaded: float = 0.0

    def paper(self, paper_id: str) -> Paper:
        """The stored paper in full; ``LibraryChanged`` when another process removed it since."""
        found = self.full([paper_id])
        if paper_id not in found:
            raise LibraryChanged([paper_id])
        return Paper.model_validate_json(found[paper_id])


_CACHE: OrderedDict[tuple[Any, ...], Window] = OrderedDict()
_LOCK = threading.Lock()
T = TypeVar("T")


def _window_key(store: PaperStore, since: date | None, until: date | None, count: int) -> tuple[Any, ...]:
    """A cached window's key. The store's generation (a new value at every write, None on a Chroma
    server) is in it, not only the store size: another process that removes one paper and adds
    another leaves the size as it was, and a window of this process would still list the removed one."""
    return store.cache_key, since, until, count, store.generation()


def forget_windows(store: PaperStore) -> None:
    """Drop this process's cached windows of ``store`` (the next ranking reads them again)."""
    with _LOCK:
        for key in [k for k in _CACHE if k[0] == store.cache_key]:
            del _CACHE[key]


def once_more_if_changed(store: PaperStore, rank: Callable[[], T]) -> T:
    """``rank()``, run again on freshly read windows when another process removed a paper of the
    window while it was being ranked (``LibraryChanged``); a second change in a row is reported."""
    try:
        return rank()
    except LibraryChanged as exc:
        log.info("ranking again: %s", one_line(exc))
        forget_windows(store)
        return rank()


# Every field is given: pydantic's model_construct fills a missing one by calling its default
# factory after inspecting the factory's signature, which made 19k light papers take 5 s, not 0.15 s.
_NONE_FIELDS: dict[str, Any] = {name: None for name in Paper.model_fields}


def _light(meta: dict[str, Any]) -> Paper:
    return _light_data(json.loads(meta["paper"]), int(meta.get("published") or 0))


def _light_data(data: dict[str, Any], key: int) -> Paper:
    """A light paper from its stored JSON (parsed) and its YYYYMMDD date number."""
    return Paper.model_construct(**{
        **_NONE_FIELDS, "sources": [], "ai_keywords": [],
        "id": data["id"], "title": data.get("title", ""), "abstract": data.get("abstract", ""),
        "authors": data.get("authors") or [], "categories": data.get("categories") or [],
        "upvotes": data.get("upvotes"),
        "published": date(key // 10000, key // 100 % 100, key % 100) if key else None,
    })


def ranking_source(store: PaperStore) -> RankingCache | None:
    """The persistent ranking cache when it can serve this store (made fresh first if needed:
    a first use rebuilds it from Chroma once), else None (rank from Chroma)."""
    cache = store.fresh_ranking_cache()
    if cache is not None or store.ranking_cache is None:
        return cache
    try:
        return store.ranking_cache if store.ranking_cache.sync(store.read_back) else None
    except Exception as exc:  # the cache is optional: a damaged file or a busy one must not stop ranking
        log.warning("ranking cache unavailable, ranking from the paper store: %s", one_line(exc))
        return None


def vectors_by_id(store: PaperStore, ids: Sequence[str]) -> dict[str, np.ndarray]:
    """Stored vectors of these papers (the cache's when fresh, else Chroma's)."""
    cache = store.fresh_ranking_cache()
    return cache.vectors(ids) if cache is not None else store.embeddings(ids)


def papers_by_id(store: PaperStore, ids: Sequence[str]) -> list[Paper]:
    """These papers in the given order, unknown ids skipped (from the cache when fresh)."""
    cache = store.fresh_ranking_cache()
    if cache is None:
        return store.get_many(ids)
    found = cache.paper_json(ids)
    return [Paper.model_validate_json(found[i]) for i in ids if i in found]


def cached_window(store: PaperStore, since: date | None, until: date | None, count: int) -> Window | None:
    """The window if this process holds it fresh (nothing is read from the store)."""
    with _LOCK:
        hit = _CACHE.get(_window_key(store, since, until, count))
    return hit if hit is not None and time.monotonic() - hit.loaded < TTL_SECONDS else None


def load_window(store: PaperStore, since: date | None, until: date | None,
                count: int | None = None) -> Window:
    """The window's papers and vectors (cached per process while the store size is unchanged),
    from the persistent ranking cache when it is fresh, else from Chroma."""
    cache = ranking_source(store)
    key = _window_key(store, since, until, count if count is not None else store.count())
    now = time.monotonic()
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None and now - hit.loaded < TTL_SECONDS:
            _CACHE.move_to_end(key)
            return hit
    window = (_from_cache(cache, since, until, now) if cache is not None
              else _from_store(store, since, until, now))
    with _LOCK:
        _CACHE[key] = window
        while len(_CACHE) > MAX_CACHED:
            _CACHE.popitem(last=False)
    return window


def _from_store(store: PaperStore, since: date | None, until: date | None, now: float) -> Window:
    metas, matrix = store.window_records(since, until, with_embeddings=True)
    assert matrix is not None
    papers = [_light(m) for m in metas]
    full = {p.id: m["paper"] for p, m in zip(papers, metas, strict=True)}
    return Window(papers=papers, pool=Pool(papers, matrix), full=lambda ids: {i: full[i] for i in ids},
                  loaded=now)


def _from_cache(cache: RankingCache, since: date | None, until: date | None, now: float) -> Window:
    """A window as columns: vectors, term counts, dates and upvotes; papers parsed when used."""
    pool = _columns_pool(cache, cache.window(since, until, DIMENSIONS))
    return Window(papers=pool.papers, pool=pool, full=cache.paper_json, loaded=now)


def sample_pool(store: PaperStore, include: Sequence[str], size: int, since: date | None = None,
                until: date | None = None, seed: int = 0) -> Pool:
    """A pool of these papers and a fixed random draw of ``size`` others published in [since, until]
    (the whole library without dates), ranked as a window is: ``papercast eval`` replays a profile's
    ratings, which span many windows, on one. From the ranking cache when it is fresh (no paper parsed
    until used), else from the paper store."""
    wanted = list(dict.fromkeys(include))
    chosen = set(wanted)
    rest = sorted(pid for pid in store.ids(since, until) if pid not in chosen)
    drawn = np.random.default_rng(seed).choice(len(rest), size=min(size, len(rest)), replace=False)
    ids = wanted + [rest[i] for i in sorted(drawn.tolist())]
    cache = ranking_source(store)
    if cache is not None:
        return _columns_pool(cache, cache.columns(ids, DIMENSIONS))
    papers = store.get_many(ids)
    vectors = store.embeddings([p.id for p in papers])
    papers = [p for p in papers if p.id in vectors]
    return Pool(papers, np.stack([vectors[p.id] for p in papers]) if papers
                else np.zeros((0, DIMENSIONS), np.float32))


def _columns_pool(cache: RankingCache, cols: Any) -> Pool:
    """The pool of a window's (or a sample's) columns: the papers themselves are parsed when used."""

    def light(ids: Sequence[str]) -> dict[str, Paper]:
        found = {pid: json.loads(text) for pid, text in cache.paper_json(ids).items()}
        return {pid: _light_data(data, _key(data.get("published"))) for pid, data in found.items()}

    papers = LazyPapers(cols.ids, light)
    index = BM25(cols.terms, cols.counts, cols.offsets, cols.lengths, cache.term_ids)
    return Pool(papers, cols.matrix, ids=cols.ids, day_numbers=cols.day_numbers, upvotes=cols.upvotes,
                index=index)


def _key(day: str | None) -> int:
    """The YYYYMMDD number of a stored paper's date (0 when it has none)."""
    return int(day[:10].replace("-", "")) if day else 0


def resolve_window(store: PaperStore, since: date | None, until: date | None, today: date | None = None,
                   count: int | None = None, *,
                   fallback: bool = False) -> tuple[date | None, date | None, str | None]:
    """The window to rank and a note when it holds no papers or is not the one asked for.

    No dates: the 7 days ending at the newest paper in the store (a store fetched yesterday
    still has a list today), said in the note when that is not recent. Dates given: they are kept
    (one missing end is filled in: ``until`` the newest paper, ``since`` a week before ``until``);
    a window with no papers gives a note naming the store's newest day, and the caller shows an
    empty list. ``fallback`` (the TUI's "today"/"this week" presets, which are relative, not typed
    dates): an empty window is replaced by the latest window of the same length that has papers,
    said in the note.
    """
    if since and until and since > until:
        raise UserError(f"--since {since} is after --until {until}")
    # dates without Chroma when fresh
    source: PaperStore | RankingCache = store.fresh_ranking_cache() or store
    if since is None and until is None:
        latest = source.newest_date(count=count)
        if latest is None:
            return None, None, None
        start = shift_day(latest, -(DEFAULT_DAYS - 1))
        note = None
        today = today or date.today()
        if latest < shift_day(today, -1):
            note = f"newest papers in the store are from {latest}; showing {start} .. {latest}"
        return start, latest, note
    if until is None:
        until = source.newest_date(count=count)
        if until is None:
            return since, None, None
        until = max(until, since) if since else until
    if since is None:
        since = shift_day(until, -(DEFAULT_DAYS - 1))
    if source.has_papers(since, until):
        return since, until, None
    asked = str(since) if since == until else f"{since} .. {until}"
    newest = source.newest_date(count=count)
    if not fallback or newest is None:
        where = f"; the newest paper in the store is from {newest}" if newest else "; the store is empty"
        return since, until, f"no papers for {asked}{where}"
    span = (until - since).days
    latest = source.newest_date(until, count=count) or newest
    new_since = shift_day(latest, -span)
    shown = str(latest) if span == 0 else f"{new_since} .. {latest}"
    return new_since, latest, f"no papers for {asked}; showing the latest with papers: {shown}"
