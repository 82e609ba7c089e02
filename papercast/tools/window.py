"""The papers of a date window, loaded lean and cached per process, for ranking.

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
from datetime import date
from typing import TYPE_CHECKING, Any

from papercast.models import Paper
from papercast.tools.pool import Pool

if TYPE_CHECKING:
    from papercast.store.papers import PaperStore

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


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()
