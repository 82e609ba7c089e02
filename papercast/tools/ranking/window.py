"""The date window a list is ranked over, and its papers, loaded lean and cached per process.

``resolve_window`` says which window to rank when none (or an empty one) is given.

Reading a window from Chroma is the main cost of a recommendation (its metadata and vectors;
the where on ``published`` keeps it to the window). Two things keep it small: papers are built
without pydantic validation (only the few fields ranking needs, from trusted metadata the store
wrote itself; the final top-n are parsed in full), and the result is cached per process by
(window, store size) for two minutes, because the TUI and the agent re-rank the same window after
every like. Each cached window carries its ranking pool (``tools.pool``), built once.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from papercast.errors import UserError
from papercast.models import Paper
from papercast.tools.ranking.pool import Pool

if TYPE_CHECKING:
    from papercast.store.papers import PaperStore

DEFAULT_DAYS = 7  # the window ranked when none is given: the week ending at the newest paper
MAX_CACHED = 4
# A new paper changes the store size and so the key; a refreshed one (new upvotes) keeps it, so
# entries also expire: a long-running TUI sees metadata refreshes within two minutes.
TTL_SECONDS = 120.0


@dataclass
class Window:
    papers: list[Paper]  # light: id, title, abstract, authors, published, categories, upvotes
    pool: Pool  # their vectors and what ranking derives from them, whatever the profile
    full: dict[str, str]  # id -> the stored Paper JSON, parsed only for what is shown
    loaded: float = 0.0

    def paper(self, paper_id: str) -> Paper:
        return Paper.model_validate_json(self.full[paper_id])


_CACHE: OrderedDict[tuple[Any, ...], Window] = OrderedDict()
_LOCK = threading.Lock()


# Every field is given: pydantic's model_construct fills a missing one by calling its default
# factory after inspecting the factory's signature, which made 19k light papers take 5 s, not 0.15 s.
_NONE_FIELDS: dict[str, Any] = {name: None for name in Paper.model_fields}


def _light(meta: dict[str, Any]) -> Paper:
    data = json.loads(meta["paper"])
    key = int(meta.get("published") or 0)
    return Paper.model_construct(**{
        **_NONE_FIELDS, "sources": [], "ai_keywords": [],
        "id": data["id"], "title": data.get("title", ""), "abstract": data.get("abstract", ""),
        "authors": data.get("authors") or [], "categories": data.get("categories") or [],
        "upvotes": data.get("upvotes"),
        "published": date(key // 10000, key // 100 % 100, key % 100) if key else None,
    })


def load_window(store: PaperStore, since: date | None, until: date | None, count: int | None = None) -> Window:
    """The window's papers and vectors (cached per process while the store size is unchanged)."""
    key = (store.cache_key, since, until, count if count is not None else store.count())
    now = time.monotonic()
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None and now - hit.loaded < TTL_SECONDS:
            _CACHE.move_to_end(key)
            return hit
    metas, matrix = store.window_records(since, until, with_embeddings=True)
    assert matrix is not None
    papers = [_light(m) for m in metas]
    window = Window(papers=papers, pool=Pool(papers, matrix), full={p.id: m["paper"] for p, m in zip(papers, metas, strict=True)},
                    loaded=now)
    with _LOCK:
        _CACHE[key] = window
        while len(_CACHE) > MAX_CACHED:
            _CACHE.popitem(last=False)
    return window


def resolve_window(store: PaperStore, since: date | None, until: date | None, today: date | None = None,
                   count: int | None = None) -> tuple[date | None, date | None, str | None]:
    """The window to rank and a note when it is not the one asked for.

    No dates: the 7 days ending at the newest paper in the store (a store fetched yesterday
    still has a list today). Dates given but no papers in them: the latest window of the same
    length that has papers, ending on or before ``until`` if possible, said in the note.
    """
    if since and until and since > until:
        raise UserError(f"--since {since} is after --until {until}")
    if since is None and until is None:
        latest = store.newest_date(count=count)
        if latest is None:
            return None, None, None
        start = latest - timedelta(days=DEFAULT_DAYS - 1)
        note = None
        today = today or date.today()
        if latest < today - timedelta(days=1):
            note = f"newest papers in the store are from {latest}; showing {start} .. {latest}"
        return start, latest, note
    if until is None:
        until = store.newest_date(count=count)
        if until is None:
            return since, None, None
        until = max(until, since) if since else until
    if since is None:
        since = until - timedelta(days=DEFAULT_DAYS - 1)
    if store.has_papers(since, until):
        return since, until, None
    span = (until - since).days
    latest = store.newest_date(until, count=count) or store.newest_date(count=count)
    if latest is None:
        return since, until, None
    new_since = latest - timedelta(days=span)
    asked = str(since) if since == until else f"{since} .. {until}"
    shown = str(latest) if span == 0 else f"{new_since} .. {latest}"
    return new_since, latest, f"no papers for {asked}; showing the latest with papers: {shown}"
