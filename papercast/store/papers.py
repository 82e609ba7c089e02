"""The paper store: one Chroma collection, embedded on disk or on a Chroma server.

Ids are arXiv ids without version. Metadata holds what filters and ranking need (``published``
as a sortable YYYYMMDD number, upvotes, HF fields) plus the whole ``Paper`` as JSON, so
unknown API fields survive a round trip. Embedding is the expensive part of ingest, so
``upsert`` embeds a paper only when it is new or its title/abstract changed (content hash).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlparse

import numpy as np

from papercast.config import Settings
from papercast.models import Paper, normalize_arxiv_id

COLLECTION = "papers"
WRITE_CHUNK = 256  # papers embedded and written per step: a crash loses at most one chunk of work


class StoreError(RuntimeError):
    """The store cannot be opened or reached. The message is one line for the user."""


@dataclass
class UpsertResult:
    added: int = 0
    updated: int = 0  # metadata refreshed, embedding kept
    reembedded: int = 0  # title/abstract changed
    unchanged: int = 0

    @property
    def embedded(self) -> int:
        return self.added + self.reembedded


def content_hash(paper: Paper) -> str:
    return hashlib.sha1(paper.embedding_text.encode("utf-8")).hexdigest()[:16]


def date_key(day: date | None) -> int:
    return day.year * 10000 + day.month * 100 + day.day if day else 0


def to_metadata(paper: Paper) -> dict[str, Any]:
    """The paper as Chroma metadata: its JSON, plus the two keys papercast filters or compares on.

    Few keys on purpose: Chroma keeps one row per metadata key and paper, and reading a window
    costs per row (10k papers: ~0.3 s with 3 keys, ~1.4 s with 12), so copies of fields the JSON
    already holds would only slow every read down.
    """
    return {
        "published": date_key(paper.published),
        "content_hash": content_hash(paper),
        "paper": paper.model_dump_json(exclude_none=True),
    }


def from_metadata(meta: Mapping[str, Any]) -> Paper:
    return Paper.model_validate_json(meta["paper"])


def _window_where(since: date | None, until: date | None) -> dict[str, Any] | None:
    clauses = []
    if since:
        clauses.append({"published": {"$gte": date_key(since)}})
    if until:
        clauses.append({"published": {"$lte": date_key(until)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def make_client(settings: Settings) -> Any:
    """A Chroma client: embedded on disk, or ``HttpClient`` when ``chroma_url`` is set."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise StoreError(f"PAPERCAST_CHROMA_URL must look like http://host:port, got {settings.chroma_url!r}")
        try:
            return chromadb.HttpClient(host=url.hostname, port=url.port or (443 if url.scheme == "https" else 8000),
                                       ssl=url.scheme == "https", settings=chroma_settings)
        except Exception as exc:  # chromadb raises plain Exceptions for connection failures
            raise StoreError(f"cannot reach the Chroma server at {settings.chroma_url}: {exc}") from exc
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)
    except Exception as exc:
        raise StoreError(f"cannot open the paper store at {settings.chroma_path}: {exc}") from exc


class PaperStore:
    """Papers in Chroma. Opening is lazy: importing chromadb costs over a second."""

    def __init__(self, settings: Settings, embed: Callable[[Sequence[str]], np.ndarray] | None = None,
                 write_chunk: int = WRITE_CHUNK) -> None:
        self.settings = settings
        self._embed = embed
        self._write_chunk = write_chunk
        self._client: Any = None
        self._collection: Any = None

    # -- plumbing -------------------------------------------------------------------------
    @property
    def collection(self) -> Any:
        if self._collection is None:
            from papercast.store.embeddings import chroma_embedding_function_class

            self._client = make_client(self.settings)
            ef = chroma_embedding_function_class()()
            try:
                self._collection = self._client.get_or_create_collection(
                    COLLECTION, embedding_function=ef, metadata={"hnsw:space": "cosine"})
            except Exception as exc:
                raise StoreError(f"cannot open the papers collection: {exc}") from exc
        return self._collection

    @property
    def max_batch(self) -> int:
        _ = self.collection
        try:
            return max(1, int(self._client.get_max_batch_size()))
        except Exception:
            return 1000

    def embed_texts(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        if self._embed is not None:
            return np.asarray(self._embed(texts), dtype=np.float32)
        from papercast.store.embeddings import get_embedder

        return get_embedder().embed(texts, progress=progress)

    def _batches(self, items: Sequence[Any]) -> Iterable[Sequence[Any]]:
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
        incoming: dict[str, Paper] = {}
        for paper in papers:
            incoming[paper.id] = incoming[paper.id].merged_with(paper) if paper.id in incoming else paper
        result = UpsertResult()
        if not incoming:
            return result
        existing = self._existing_metadata(list(incoming))

        to_embed: list[Paper] = []
        meta_only: list[tuple[str, dict[str, Any]]] = []
        for pid, paper in incoming.items():
            old = existing.get(pid)
            if old is None:
                to_embed.append(paper)
                result.added += 1
                continue
            merged = from_metadata(old).merged_with(paper)
            meta = to_metadata(merged)
            if all(old.get(key) == value for key, value in meta.items()):  # a store may hold more keys
                result.unchanged += 1
            elif meta["content_hash"] == old.get("content_hash"):
                meta_only.append((pid, meta))
                result.updated += 1
            else:
                to_embed.append(merged)
                result.reembedded += 1

        for batch in self._batches(meta_only):
            self.collection.update(ids=[i for i, _ in batch], metadatas=[m for _, m in batch])
        self._write_embedded(to_embed, embeddings or {}, progress)
        return result

    def _write_embedded(self, papers: list[Paper], known: Mapping[str, np.ndarray],
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
            for batch in self._batches(chunk):
                self.collection.upsert(
                    ids=[p.id for p in batch],
                    embeddings=[vectors[p.id].tolist() for p in batch],
                    documents=[p.embedding_text for p in batch],
                    metadatas=[to_metadata(p) for p in batch],
                )

    def _existing_metadata(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for batch in self._batches(ids):
            got = self.collection.get(ids=list(batch), include=["metadatas"])
            found.update(zip(got["ids"], got["metadatas"], strict=True))
        return found

    def delete(self, ids: Sequence[str]) -> None:
        for batch in self._batches(list(ids)):
            self.collection.delete(ids=list(batch))

    # -- reading --------------------------------------------------------------------------
    def count(self) -> int:
        return int(self.collection.count())

    def get(self, paper_id: str) -> Paper | None:
        papers = self.get_many([paper_id])
        return papers[0] if papers else None

    def get_many(self, ids: Sequence[str]) -> list[Paper]:
        """Papers for ``ids`` in the given order; unknown ids are skipped."""
        wanted = [normalize_arxiv_id(i) for i in ids]
        meta = self._existing_metadata(list(dict.fromkeys(wanted)))
        return [from_metadata(meta[i]) for i in wanted if i in meta]

    def missing(self, ids: Sequence[str]) -> list[str]:
        """The ids (as given) that the store does not hold."""
        known = set(self._existing_metadata([normalize_arxiv_id(i) for i in ids]))
        return [i for i in ids if normalize_arxiv_id(i) not in known]

    def embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for batch in self._batches(list(dict.fromkeys(ids))):
            got = self.collection.get(ids=list(batch), include=["embeddings"])
            for pid, vec in zip(got["ids"], got["embeddings"], strict=True):
                out[pid] = np.asarray(vec, dtype=np.float32)
        return out

    def window_records(self, since: date | None = None, until: date | None = None, *,
                       with_embeddings: bool = False) -> tuple[list[dict[str, Any]], np.ndarray | None]:
        """Raw metadata of the papers published in [since, until] (and their vectors as one matrix).

        For callers that parse lazily (the ranker builds light papers from it); others use ``window``.
        """
        include = ["metadatas", "embeddings"] if with_embeddings else ["metadatas"]
        got = self.collection.get(where=_window_where(since, until), include=include)
        metas = list(got["metadatas"])
        if not with_embeddings:
            return metas, None
        matrix = np.asarray(got["embeddings"], dtype=np.float32) if metas else np.zeros((0, 384), dtype=np.float32)
        return metas, matrix

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

    def latest_date(self, before: date | None = None) -> date | None:
        """The most recent publication date in the store (on or before ``before``)."""
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


def paper_to_json(paper: Paper) -> dict[str, Any]:
    """The JSON shape of a paper on the command line (`papers show --json`)."""
    data = json.loads(paper.model_dump_json(exclude_none=True))
    data.update({"url": paper.url, "pdf_url": paper.pdf_url})
    return data
