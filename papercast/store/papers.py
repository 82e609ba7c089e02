"""The paper store: one Chroma collection per embedding model, embedded on disk or on a Chroma server.

A litellm model (``PAPERCAST_EMBEDDING``) has its own collection (``embeddings.collection_name``), so
vectors of two models never meet. Ids are arXiv ids without version; metadata is ``store/metadata.py``'s.
``upsert`` embeds a paper only when it is new or its title/abstract changed (the expensive part of
ingest). Papers and vectors read by id are remembered per process (``RecentById``), since the ranker
reads the liked ones after every like. Calls go through ``GuardedCollection`` (``chroma_access``); the
writes keep the ranking cache right. The sample's papers carry a ``sample`` key (``drop_sample``); a
home papercast cannot write is read from a private copy, and writes are refused (``read_only``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

from papercast.config import Settings
from papercast.errors import RuntimeFailure, one_line
from papercast.models import Paper, UpsertResult, normalize_arxiv_id, shift_day
from papercast.store import memo
from papercast.store.chroma_access import (
    Generation,
    NamedCollection,
    StoreError,
    content_file,
    writable,
)
from papercast.store.embeddings import DIMENSIONS, TextEmbedder, collection_name, get_embedder, make_embedder
from papercast.store.ingest import plan, upsert_stream
from papercast.store.lock import home_lock
from papercast.store.metadata import SAMPLE_SOURCE, date_key, from_metadata, to_metadata
from papercast.store.ranking_cache import RankingCache
from papercast.store.recent import RECENT_SIZE, RecentById

if TYPE_CHECKING:
    from papercast.store.embeddings.remote import EmbeddingClient

log = logging.getLogger(__name__)

WRITE_CHUNK = 256  # papers embedded and written per step: a crash loses at most one chunk of work


class DimensionMismatch(RuntimeFailure):
    """The embedding model's vectors do not fit its collection (the model behind the name changed)."""


def _window_where(since: date | None, until: date | None) -> dict[str, Any] | None:
    clauses = []
    if since:
        clauses.append({"published": {"$gte": date_key(since)}})
    if until:
        clauses.append({"published": {"$lte": date_key(until)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


_RECENT_METADATA = RecentById()
_NEWEST: dict[tuple[object, ...], date | None] = {}  # newest_date answers by (store, size, anchor)
_RECENT_VECTORS = RecentById()


class PaperStore:
    """Papers in Chroma. Opening is lazy: importing chromadb costs over a second."""

    def __init__(self, settings: Settings, embed: Callable[[Sequence[str]], np.ndarray] | None = None,
                 write_chunk: int = WRITE_CHUNK, *,
                 remote_client: Callable[[], EmbeddingClient] | None = None) -> None:
        """``embed`` replaces the embedding model (tests count its calls); ``remote_client`` makes the
        model client of a litellm embedding model (``settings.embedding``)."""
        self.settings = settings
        self._embed = embed
        self._remote_client = remote_client
        self._write_chunk = write_chunk
        self._chroma = NamedCollection(settings, collection_name(settings.embedding), settings.embedding,
                                       "the paper store")
        self._embedder: TextEmbedder | None = None
        self._dimensions: int | None = None  # of the vectors in the collection, once known
        self._ranking_cache: RankingCache | None = None

    # -- plumbing -------------------------------------------------------------------------
    @property
    def embedding_model(self) -> str | None:
        """The litellm embedding model of this store, or None for the bundled offline model."""
        return self.settings.embedding

    @property
    def collection_name(self) -> str:
        return collection_name(self.embedding_model)

    @property
    def cache_key(self) -> str:
        """This store in the per-process caches (two services on one store share them)."""
        return f"{self.settings.chroma_url or self.settings.chroma_path}|{self.collection_name}"

    @property
    def _recent_key(self) -> str:
        """``cache_key`` plus the collection's id: to the by-id caches a collection dropped and made
        again (a reset Chroma server) is another store, so none of its old papers is served."""
        return f"{self.cache_key}|{self.collection.id}"

    @property
    def collection(self) -> Any:
        """The collection behind a ``GuardedCollection``: transient errors retried, and another
        process's writes seen (store/chroma_access.py)."""
        return self._chroma.collection

    @property
    def read_only(self) -> bool:
        """A home papercast cannot write: reads come from a private copy, writes are refused."""
        _ = self._chroma.collection  # opening decides it
        return self._chroma.read_only

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """The home's inter-process lock, for steps other processes must not interleave with
        (loading the sample, removing it). A no-op on a Chroma server."""
        with home_lock(self.settings.home) if not self.settings.chroma_url else nullcontext():
            yield

    @property
    def embedder(self) -> TextEmbedder:
        """The embedding model of this store (opened on first use)."""
        if self._embedder is None:
            self._embedder = make_embedder(self.settings, self._remote_client)
        return self._embedder

    @property
    def max_batch(self) -> int:
        return self._chroma.max_batch

    def raw_embed(self) -> Callable[[Sequence[str], Callable[[int], None] | None], np.ndarray]:
        """The model alone (no Chroma, no SQLite: safe on another thread), loaded now; the caller
        checks the vectors' dimension (``check_dimensions``)."""
        if self._embed is None:
            return self.embedder.embed
        embed = self._embed

        def replaced(texts: Sequence[str], progress: Callable[[int], None] | None) -> np.ndarray:
            vectors = np.asarray(embed(texts), dtype=np.float32)
            if progress is not None:
                progress(len(texts))
            return vectors

        return replaced

    def embed_texts(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Vectors of ``texts`` from this store's model, checked against the collection's dimension."""
        if self._embed is not None:
            vectors = np.asarray(self._embed(texts), dtype=np.float32)
        else:
            vectors = self.embedder.embed(texts, progress=progress)
        self._check_dimensions(vectors)
        return vectors

    def embed_tokens(self, texts: Sequence[str]) -> list[np.ndarray]:
        """The bundled MiniLM's token states of ``texts``, whatever model this store embeds with: the
        sentence-role model was trained on them. A replacement ``embed`` that has its own
        ``embed_tokens`` (tests count the texts) serves them instead."""
        if not texts:
            return []
        source = getattr(self._embed, "embed_tokens", None) or get_embedder().embed_tokens
        return source(list(texts))

    @property
    def embeds_with_bundled_model(self) -> bool:
        """Whether ``embed_texts`` is the bundled MiniLM itself (its vectors pool ``embed_tokens``)."""
        return self._embed is None and self.embedding_model is None

    @property
    def dimensions(self) -> int | None:
        """The dimension of the collection's vectors (None while it holds none)."""
        if self._dimensions is None:
            cache = self.fresh_ranking_cache()
            if cache is not None:
                self._dimensions = cache.dimensions()
            else:
                got = self.collection.get(limit=1, include=["embeddings"])
                if got["ids"]:
                    self._dimensions = len(got["embeddings"][0])
        return self._dimensions

    def _check_dimensions(self, vectors: np.ndarray) -> None:
        """Refuse vectors that cannot be compared with the stored ones, before anything uses them."""
        if vectors.ndim != 2 or not len(vectors):
            return
        stored = self.dimensions
        if stored is not None and vectors.shape[1] != stored:
            model = self.embedding_model or "the bundled embedding model"
            raise DimensionMismatch(
                f"{model} now gives {vectors.shape[1]}-d vectors, but collection {self.collection_name} "
                f"holds {stored}-d ones it gave before (the model behind the name changed?): go back to the "
                "model that filled it, or use another PAPERCAST_EMBEDDING name for a new collection")

    def batches(self, items: Sequence[Any]) -> Iterable[Sequence[Any]]:
        size = self.max_batch
        for start in range(0, len(items), size):
            yield items[start:start + size]

    # -- writing --------------------------------------------------------------------------
    def upsert(self, papers: Iterable[Paper], *, embeddings: Mapping[str, np.ndarray] | None = None,
               progress: Callable[[int, int], None] | None = None) -> UpsertResult:
        """Add or refresh papers; embed only new papers and changed texts.

        ``embeddings`` supplies known vectors (the bundled sample ships its own). ``progress``
        is called with (embedded so far, to embed in total).
        """
        planned = plan(self, papers)
        if planned.ids:
            with self.forgetting(planned.ids):
                for batch in self.batches(planned.meta_only):
                    self.collection.update(ids=[i for i, _ in batch], metadatas=[m for _, m in batch])
                self.write_embedded(planned.to_embed, embeddings or {}, progress)
        return planned.result

    def upsert_stream(self, batches: Iterable[Sequence[Paper]], progress: Callable[[int], None] | None = None,
                      sample_seen: set[str] | None = None) -> UpsertResult:
        """``upsert`` of batches, the model on its own thread while the rest is written (store/ingest.py)."""
        return upsert_stream(self, batches, progress, sample_seen)

    def write_embedded(self, papers: list[Paper], known: Mapping[str, np.ndarray],
                       progress: Callable[[int, int], None] | None) -> None:
        total = sum(1 for p in papers if p.id not in known)
        done = 0
        for start in range(0, len(papers), self._write_chunk):
            chunk = papers[start:start + self._write_chunk]
            need = [p for p in chunk if p.id not in known]
            vectors: dict[str, np.ndarray] = {p.id: np.asarray(known[p.id], dtype=np.float32)
                                               for p in chunk if p.id in known}
            if need:
                report = (lambda n, base=done: progress(base + n, total)) if progress else None
                fresh = self.embed_texts([p.embedding_text for p in need], progress=report)
                vectors.update(zip([p.id for p in need], fresh, strict=True))
                done += len(need)
            self._check_dimensions(np.stack([vectors[p.id] for p in chunk]))
            # No documents: the paper is its metadata's JSON, nothing reads them back, and Chroma's
            # full-text index of them took half its write time and half the store on disk.
            for batch in self.batches(chunk):
                self.collection.upsert(
                    ids=[p.id for p in batch],
                    embeddings=[vectors[p.id].tolist() for p in batch],
                    metadatas=[to_metadata(p) for p in batch],
                )
            if self._dimensions is None and chunk:
                self._dimensions = len(vectors[chunk[0].id])

    def existing_metadata(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for batch in self.batches(ids):
            got = self.collection.get(ids=list(batch), include=["metadatas"])
            found.update(zip(got["ids"], got["metadatas"], strict=True))
        return found

    def drop_sample(self, keep: Iterable[str] = ()) -> int:
        """Remove the bundled sample's papers now that the user's own have arrived; returns how many.

        Sample papers in ``keep`` (just stored by the user, or liked/saved) stay, as the user's own.
        Under the home's lock: a sample load that another process began before this one's papers
        were written has finished, and one that checks the store afterwards finds it non-empty.
        """
        with self.exclusive():
            marked = self.collection.get(where={"sample": True}, include=[])["ids"]
            if not marked:
                return 0
            wanted = set(keep)
            kept = [pid for pid in marked if pid in wanted]
            gone = [pid for pid in marked if pid not in wanted]
            with self.forgetting(kept):
                for batch in self.batches(kept):
                    self.collection.update(ids=list(batch), metadatas=[{"sample": None}] * len(batch))
            self.delete(gone)
            return len(gone)

    def refuse_if_read_only(self, papers: Sequence[Paper] = ()) -> None:
        """A read-only home's store is a private copy: only the sample may go there (a first start),
        anything else would be lost at exit, so it is refused with a one-line error."""
        _ = self.collection  # opening decides ``read_only``
        if self.read_only and (not papers or any(p.sources != [SAMPLE_SOURCE] for p in papers)):
            raise StoreError(f"the paper store at {self.settings.chroma_path} is read-only (no write access "
                             "to the home): papercast can read it but not change it; "
                             "use a home you can write")

    def delete(self, ids: Sequence[str]) -> None:
        self.refuse_if_read_only()
        with self.forgetting(ids):
            for batch in self.batches(list(ids)):
                self.collection.delete(ids=list(batch))

    @contextmanager
    def forgetting(self, ids: Sequence[str]) -> Iterator[None]:
        """Drop ``ids`` from the per-process caches after a write, even a failed one (part may be written),
        and bring the ranking cache (``store/ranking_cache.py``) up to what the store now holds for them."""
        cache = self.ranking_cache
        complete = False
        if cache is not None:
            try:
                complete = cache.begin(ids, lambda: self.collection.count() == 0)
            except Exception as exc:  # the write goes on; a cache that cannot be written is rebuilt later
                log.warning("ranking cache: %s", one_line(exc))
                cache = None
        try:
            yield
        finally:
            _RECENT_METADATA.forget(self._recent_key, ids)
            _RECENT_VECTORS.forget(self._recent_key, ids)
            if cache is not None:
                try:
                    cache.refresh(ids, self.read_back, complete=complete)
                except Exception as exc:  # the ids stay pending: the next reader rebuilds the cache
                    log.warning("ranking cache: could not refresh %d papers: %s", len(ids), one_line(exc))

    @property
    def ranking_cache(self) -> RankingCache | None:
        """The ranking cache of this collection; None on a Chroma server (no generation file to check
        it against) or a home papercast cannot write."""
        if self.settings.chroma_url or not writable(self.settings.chroma_path):
            return None
        if self._ranking_cache is None:
            # Keyed by the collection alone: the file is in the home, so a copied home keeps its cache.
            self._ranking_cache = RankingCache(self.settings.home, self.collection_name, self.generation,
                                               self._content_generation().bump)
        return self._ranking_cache

    def generation(self) -> str | None:
        """The embedded paper collection's generation: a value every write to it makes anew (a file in
        the home, so it survives a copy of the home; the passages' writes have their own); None on a
        Chroma server or before the first write."""
        return None if self.settings.chroma_url else self._content_generation().value()

    def _content_generation(self) -> Generation:
        return Generation(self.settings.chroma_path, content_file(self.collection_name))

    def fresh_ranking_cache(self) -> RankingCache | None:
        """The ranking cache when it holds exactly what the store holds (then no Chroma is needed)."""
        cache = self.ranking_cache
        try:
            return cache if cache is not None and cache.fresh() else None
        except Exception as exc:  # a damaged or busy cache file: rank from Chroma (the cache is optional)
            log.warning("ranking cache: %s", one_line(exc))
            return None

    def read_back(self,
                  ids: Sequence[str] | None) -> Iterator[tuple[list[str], list[dict[str, Any]], np.ndarray]]:
        """Papers as stored (ids, metadatas, vectors), in batches: these ids, or the whole collection."""
        include = ["metadatas", "embeddings"]
        if ids is not None:
            for batch in self.batches(list(ids)):
                got = self.collection.get(ids=list(batch), include=include)
                if got["ids"]:
                    yield (list(got["ids"]), list(got["metadatas"]),
                           np.asarray(got["embeddings"], dtype=np.float32))
            return
        size, offset = self.max_batch, 0
        while True:
            got = self.collection.get(include=include, limit=size, offset=offset)
            if not got["ids"]:
                return
            yield list(got["ids"]), list(got["metadatas"]), np.asarray(got["embeddings"], dtype=np.float32)
            offset += len(got["ids"])

    def author_lists(self) -> Iterator[tuple[str, list[str]]]:
        """Every paper's id and authors, streamed (finding an author's papers in the whole library):
        from the ranking cache when it is fresh (no Chroma), else from Chroma's metadata in batches."""
        cache = self.fresh_ranking_cache()
        if cache is not None:
            yield from cache.author_lists()
            return
        offset = 0
        while True:
            got = self.collection.get(include=["metadatas"], limit=self.max_batch, offset=offset)
            if not got["ids"]:
                return
            for pid, meta in zip(got["ids"], got["metadatas"], strict=True):
                yield pid, json.loads(meta["paper"]).get("authors") or []  # no Paper built per paper
            offset += len(got["ids"])

    def _recent_metadata(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """``existing_metadata`` through the per-process cache (for reads; ``upsert`` asks Chroma)."""
        found = _RECENT_METADATA.get(self._recent_key, ids)
        rest = [i for i in ids if i not in found]
        if rest:
            version = _RECENT_METADATA.version()
            fresh = self.existing_metadata(rest)
            _RECENT_METADATA.put(self._recent_key, fresh, version)
            found.update(fresh)
        return found

    # -- reading --------------------------------------------------------------------------
    def count(self, since: date | None = None, until: date | None = None) -> int:
        """How many papers are published in [since, until] (all of them without dates)."""
        cache = self.fresh_ranking_cache()  # no Chroma (nor its import) when the cache is fresh
        if cache is not None:
            return cache.count(since, until)
        if since is None and until is None:
            return int(self.collection.count())
        return len(self.ids(since, until))

    def ids(self, since: date | None = None, until: date | None = None) -> list[str]:
        """The ids of the papers published in [since, until], every paper's without dates (from the
        ranking cache when fresh, else Chroma's ids alone)."""
        cache = self.fresh_ranking_cache()
        if cache is not None:
            return cache.ids(since, until)
        return list(self.collection.get(where=_window_where(since, until), include=[])["ids"])

    def get(self, paper_id: str) -> Paper | None:
        papers = self.get_many([paper_id])
        return papers[0] if papers else None

    def get_many(self, ids: Sequence[str]) -> list[Paper]:
        """Papers for ``ids`` in the given order; unknown ids are skipped."""
        wanted = [normalize_arxiv_id(i) for i in ids]
        meta = self._recent_metadata(list(dict.fromkeys(wanted)))
        return [from_metadata(meta[i]) for i in wanted if i in meta]

    def missing(self, ids: Sequence[str]) -> list[str]:
        """The ids (as given) that the store does not hold (from the ranking cache when fresh: no Chroma)."""
        wanted = list(dict.fromkeys(normalize_arxiv_id(i) for i in ids))
        cache = self.fresh_ranking_cache()
        known = cache.holding(wanted) if cache is not None else set(self._recent_metadata(wanted))
        return [i for i in ids if normalize_arxiv_id(i) not in known]

    def embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Vectors by id; unknown ids are left out. Read-only arrays: later callers get the same ones."""
        wanted = list(dict.fromkeys(ids))
        out: dict[str, np.ndarray] = _RECENT_VECTORS.get(self._recent_key, wanted)
        fresh: dict[str, np.ndarray] = {}
        rest = [i for i in wanted if i not in out]
        version = _RECENT_VECTORS.version()
        for batch in self.batches(rest) if rest else ():
            got = self.collection.get(ids=list(batch), include=["embeddings"])
            for pid, vec in zip(got["ids"], got["embeddings"], strict=True):
                array = np.asarray(vec, dtype=np.float32)
                array.setflags(write=False)
                fresh[pid] = array
        _RECENT_VECTORS.put(self._recent_key, fresh, version)
        out.update(fresh)
        return out

    def window_records(self, since: date | None = None, until: date | None = None, *,
                       with_embeddings: bool = False) -> tuple[list[dict[str, Any]], np.ndarray | None]:
        """Raw metadata of the papers published in [since, until] (and their vectors as one matrix).

        For callers that parse lazily (the ranker builds light papers from it); others use ``window``.
        """
        include = ["metadatas", "embeddings"] if with_embeddings else ["metadatas"]
        versions = (_RECENT_METADATA.version(), _RECENT_VECTORS.version())
        got = self.collection.get(where=_window_where(since, until), include=include)
        metas = list(got["metadatas"])
        if not with_embeddings:
            self._remember(got["ids"], metas, None, versions)
            return metas, None
        if metas:
            matrix = np.asarray(got["embeddings"], dtype=np.float32)
        else:
            matrix = np.zeros((0, self.dimensions or DIMENSIONS), dtype=np.float32)
        self._remember(got["ids"], metas, matrix, versions)
        return metas, matrix

    def _remember(self, ids: list[str], metas: list[dict[str, Any]], matrix: np.ndarray | None,
                  versions: tuple[int, int]) -> None:
        """Warm the by-id caches from a window read: the next like is a paper of the window on
        screen, and the ranker then reads its vector and text by id. Big windows are left out so
        they do not push out the liked papers."""
        if not ids or len(ids) > RECENT_SIZE // 2:
            return
        _RECENT_METADATA.put(self._recent_key, dict(zip(ids, metas, strict=True)), versions[0])
        if matrix is None:
            return
        rows: dict[str, np.ndarray] = {}
        for pid, row in zip(ids, matrix, strict=True):
            row.setflags(write=False)  # a view: the matrix itself stays writable for its caller
            rows[pid] = row
        _RECENT_VECTORS.put(self._recent_key, rows, versions[1])

    def window(self, since: date | None = None, until: date | None = None, *,
               with_embeddings: bool = False) -> tuple[list[Paper], np.ndarray | None]:
        """All papers published in [since, until]; their embeddings as one matrix if asked."""
        metas, matrix = self.window_records(since, until, with_embeddings=with_embeddings)
        return [from_metadata(m) for m in metas], matrix

    def latest(self, n: int = 20, *, since: date | None = None, until: date | None = None,
               category: str | None = None) -> list[Paper]:
        papers, _ = self.window(since, until)
        if category:
            papers = [p for p in papers if category in p.categories]
        papers.sort(key=lambda p: (p.published or date.min, p.upvotes or 0, p.id), reverse=True)
        return papers[:n]

    def has_papers(self, since: date | None = None, until: date | None = None) -> bool:
        """Whether any paper was published in [since, until] (one id read, whatever the store size)."""
        got = self.collection.get(where=_window_where(since, until), limit=1, include=[])
        return bool(got["ids"])

    def window_count(self, since: date | None = None, until: date | None = None) -> int:
        """How many papers were published in [since, until] (ids only; the whole store without dates)."""
        if since is None and until is None:
            return self.count()
        return len(self.collection.get(where=_window_where(since, until), include=[])["ids"])

    def newest_date(self, before: date | None = None, *, count: int | None = None) -> date | None:
        """The newest publication date (on or before ``before``), without reading the whole store.

        Existence probes (ids only, one row) over growing spans back from ``before`` (or today)
        bracket the date, then a binary search pins the day: about ten probes whatever the store size,
        so the answer is remembered by store size and generation (another process may replace a paper
        and keep the size), in the process and in the home (a CLI run is a new process). ``count``: the
        store's size, when the caller knows it.
        """
        anchor = before or date.today()
        count = count if count is not None else self.count()
        generation = self.generation()
        key = (self.cache_key, count, generation, anchor)
        if key in _NEWEST:
            return _NEWEST[key]
        fact = f"latest_date|{self.cache_key}|{count}|{generation}|{anchor}"
        remembered = memo.store_fact(self.settings.db_path, fact)
        if remembered is not None:
            _NEWEST[key] = None if remembered == "none" else date.fromisoformat(remembered)
            return _NEWEST[key]
        if before is None and self.has_papers(shift_day(anchor, 1), None):
            found = self.newest_date_by_scan(None)  # papers dated after today: rare, read them all
        else:
            found = None
            span = 7
            while span <= 4096 and not self.has_papers(shift_day(anchor, -span), anchor):
                span *= 2
            if span <= 4096:
                lo, hi = shift_day(anchor, -span), anchor  # the newest day is in [lo, hi]
                while lo < hi:
                    mid = shift_day(lo, (hi - lo).days // 2 + 1)
                    if self.has_papers(mid, anchor):
                        lo = mid
                    else:
                        hi = shift_day(mid, -1)
                found = lo
            elif self.has_papers(None, anchor):
                found = self.newest_date_by_scan(anchor)  # older than ~11 years: read them all
        if len(_NEWEST) > 64:
            _NEWEST.clear()
        _NEWEST[key] = found
        memo.remember_store_fact(self.settings.db_path, fact, found.isoformat() if found else "none")
        return found

    def newest_date_by_scan(self, before: date | None = None) -> date | None:
        """``newest_date`` by reading every date in the store: exact, slow on big stores."""
        got = self.collection.get(where=_window_where(None, before), include=["metadatas"])
        keys = [m.get("published", 0) for m in got["metadatas"]]
        best = max((k for k in keys if k), default=0)
        return date(best // 10000, best // 100 % 100, best % 100) if best else None

    def query_vector(self, vector: np.ndarray, n: int = 10, *, since: date | None = None,
                     until: date | None = None) -> list[tuple[Paper, float]]:
        """Nearest papers to ``vector`` by cosine similarity (1 - distance)."""
        total = self.count()
        if total == 0:
            return []
        got = self.collection.query(query_embeddings=[np.asarray(vector, dtype=np.float32).tolist()],
                                    n_results=min(n, total), where=_window_where(since, until),
                                    include=["metadatas", "distances"])
        return [(from_metadata(m), 1.0 - float(d)) for m, d in zip(got["metadatas"][0], got["distances"][0],
                                                                    strict=True)]

    def search(self, query: str, n: int = 10, *, since: date | None = None,
               until: date | None = None) -> list[tuple[Paper, float]]:
        """Semantic search over titles and abstracts."""
        if not query.strip():
            return []
        return self.query_vector(self.embed_texts([query])[0], n, since=since, until=until)

    def similar(self, paper_id: str, n: int = 5) -> list[tuple[Paper, float]]:
        vec = self.embeddings([paper_id]).get(paper_id)
        if vec is None:
            return []
        return [(p, s) for p, s in self.query_vector(vec, n + 1) if p.id != paper_id][:n]
