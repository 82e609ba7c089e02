"""Full-text passages in their own Chroma collection, next to the papers (embedded store or server).

One collection per embedding model, like the papers. A passage's id is ``<paper id>#<position>``, so
writing is an upsert: a run killed halfway leaves no duplicates, and reading the paper again embeds only
the missing passages. Each passage carries the document's content hash, so a new version of a paper
replaces the old passages. Embedding is the cost, so passages are embedded in chunks, each written as
soon as it is embedded: an interrupted run keeps its work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from papercast.models import Document, Passage
from papercast.store.chroma_access import NamedCollection, StoreError
from papercast.store.embeddings import COLLECTION, collection_name
from papercast.store.papers import PaperStore

log = logging.getLogger(__name__)

PASSAGES = "passages"
EMBED_CHUNK = 128  # passages embedded (and then written) per step
_FIELDS = ("paper_id", "section", "section_number", "kind", "position")


@dataclass
class IndexResult:
    """What indexing a document did: passages embedded now, already there, stale ones removed."""

    embedded: int = 0
    kept: int = 0
    removed: int = 0


def passage_id(paper_id: str, position: int) -> str:
    return f"{paper_id}#{position:05d}"


def embedding_text(passage: Passage) -> str:
    """What the embedding model reads: the section path, then the text (a question about "limitations"
    or "the training data" then finds the passages of that section)."""
    return f"{passage.section}: {passage.text}" if passage.section else passage.text


def _where(paper_ids: Sequence[str] | None, content_hash: str | None = None) -> dict[str, Any] | None:
    clauses: list[dict[str, Any]] = []
    if paper_ids is not None:
        ids = list(dict.fromkeys(paper_ids))
        clauses.append({"paper_id": ids[0]} if len(ids) == 1 else {"paper_id": {"$in": ids}})
    if content_hash is not None:
        clauses.append({"content_hash": content_hash})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class PassageStore:
    """The passages of read papers, searchable by meaning. Opened lazily, like the paper store."""

    def __init__(self, papers: PaperStore) -> None:
        """``papers`` gives the settings, the embedding model and its dimension checks."""
        self.papers = papers
        self.settings = papers.settings
        self._chroma = NamedCollection(self.settings, self.collection_name, papers.embedding_model,
                                       "the passage store")

    @property
    def collection_name(self) -> str:
        """"passages" for the bundled model; "passages--<slug>-<hash>" beside "papers--<slug>-<hash>"."""
        return PASSAGES + collection_name(self.papers.embedding_model)[len(COLLECTION):]

    @property
    def collection(self) -> Any:
        """The collection behind a ``GuardedCollection``, like the papers': transient errors retried and
        another process's writes seen (store/chroma_access.py)."""
        return self._chroma.collection

    @property
    def read_only(self) -> bool:
        """A home papercast cannot write: passages are read from a copy, never written."""
        _ = self._chroma.collection
        return self._chroma.read_only

    def _batch(self) -> int:
        return self._chroma.max_batch

    # -- writing ------------------------------------------------------------------------------------
    def indexed(self, document: Document) -> int:
        """How many of the document's passages are stored (its current version's)."""
        got = self.collection.get(where=_where([document.paper_id], document.content_hash), include=[])
        wanted = {passage_id(document.paper_id, p.position) for p in document.passages}
        return len(wanted & set(got["ids"]))

    def index(self, document: Document, progress: Callable[[int, int], None] | None = None) -> IndexResult:
        """Store the document's passages, embedding only those not stored yet; passages of another
        version of the paper are deleted first. ``progress`` gets (embedded so far, to embed)."""
        result = IndexResult()
        got = self.collection.get(where=_where([document.paper_id]), include=["metadatas"])
        if self.read_only and len(got["ids"]) < len(document.passages):
            raise StoreError(f"cannot index the passages of {document.paper_id}: the home "
                             f"{self.settings.home} is read-only")
        wanted = {passage_id(document.paper_id, p.position): p for p in document.passages}
        have = {pid for pid, meta in zip(got["ids"], got["metadatas"], strict=True)
                if pid in wanted and (meta or {}).get("content_hash") == document.content_hash}
        stale = [pid for pid in got["ids"] if pid not in have]
        if stale:
            size = self._batch()
            for start in range(0, len(stale), size):
                self.collection.delete(ids=stale[start:start + size])
            result.removed = len(stale)
        todo = [p for pid, p in wanted.items() if pid not in have]
        result.kept = len(have)
        for start in range(0, len(todo), EMBED_CHUNK):
            chunk = todo[start:start + EMBED_CHUNK]
            vectors = self.papers.embed_texts([embedding_text(p) for p in chunk])
            self._write(chunk, vectors, document.content_hash)
            result.embedded += len(chunk)
            if progress:
                progress(result.embedded, len(todo))
        if todo or stale:
            log.info("passages of %s: %d embedded, %d already stored, %d stale removed", document.paper_id,
                     result.embedded, result.kept, result.removed)
        return result

    def _write(self, passages: Sequence[Passage], vectors: np.ndarray, content_hash: str) -> None:
        size = self._batch()
        for start in range(0, len(passages), size):
            part = passages[start:start + size]
            self.collection.upsert(
                ids=[passage_id(p.paper_id, p.position) for p in part],
                embeddings=[np.asarray(v, dtype=np.float32).tolist() for v in vectors[start:start + size]],
                documents=[p.text for p in part],
                metadatas=[{**{k: getattr(p, k) for k in _FIELDS},
                            "content_hash": content_hash} for p in part],
            )

    def delete(self, paper_id: str) -> None:
        got = self.collection.get(where=_where([paper_id]), include=[])
        if got["ids"]:
            self.collection.delete(ids=got["ids"])

    # -- reading ------------------------------------------------------------------------------------
    def count(self, paper_id: str | None = None) -> int:
        if paper_id is None:
            return int(self.collection.count())
        return len(self.collection.get(where=_where([paper_id]), include=[])["ids"])

    def query(self, vector: np.ndarray, *, ids: Sequence[str] | None = None, n: int = 8
              ) -> list[tuple[Passage, float]]:
        """The passages nearest to ``vector`` (cosine similarity), of the papers ``ids`` when given."""
        if ids is not None and not ids:
            return []
        total = self.count()
        if total == 0 or n < 1:
            return []
        got = self.collection.query(query_embeddings=[np.asarray(vector, dtype=np.float32).tolist()],
                                    n_results=min(n, total), where=_where(ids),
                                    include=["metadatas", "documents", "distances"])
        out = []
        for meta, text, distance in zip(got["metadatas"][0], got["documents"][0], got["distances"][0],
                                        strict=True):
            out.append((_passage(meta, text), 1.0 - float(distance)))
        return out

    def search(self, query: str, *, ids: Sequence[str] | None = None,
               n: int = 8) -> list[tuple[Passage, float]]:
        if not query.strip() or self.count() == 0:
            return []
        return self.query(self.papers.embed_texts([query])[0], ids=ids, n=n)

    def with_vectors(self, paper_ids: Sequence[str]) -> tuple[list[Passage], np.ndarray]:
        """Every stored passage of these papers and their vectors (one row each), in reading order."""
        got = self.collection.get(where=_where(paper_ids), include=["metadatas", "documents", "embeddings"])
        rows = sorted(zip(got["metadatas"], got["documents"], got["embeddings"], strict=True),
                      key=lambda r: (str(r[0]["paper_id"]), int(r[0].get("position") or 0)))
        if not rows:
            return [], np.zeros((0, 0), dtype=np.float32)
        passages = [_passage(meta, text) for meta, text, _ in rows]
        return passages, np.asarray([vec for _, _, vec in rows], dtype=np.float32)

    def nearest(self, vector: np.ndarray, *, ids: Sequence[str] | None = None, k: int = 64
                ) -> tuple[list[Passage], np.ndarray]:
        """The ``k`` passages nearest to ``vector`` (of the papers ``ids``) and their vectors: the
        candidates a hybrid search re-ranks when there are too many to score all."""
        total = self.count()
        if total == 0 or (ids is not None and not ids):
            return [], np.zeros((0, 0), dtype=np.float32)
        got = self.collection.query(query_embeddings=[np.asarray(vector, dtype=np.float32).tolist()],
                                    n_results=min(k, total), where=_where(ids),
                                    include=["metadatas", "documents", "embeddings"])
        passages = [_passage(m, t) for m, t in zip(got["metadatas"][0], got["documents"][0], strict=True)]
        if not passages:
            return [], np.zeros((0, 0), dtype=np.float32)
        return passages, np.asarray(got["embeddings"][0], dtype=np.float32)


def _passage(meta: dict[str, Any], text: str) -> Passage:
    return Passage(paper_id=str(meta["paper_id"]), section=str(meta.get("section") or ""),
                   section_number=str(meta.get("section_number") or ""), kind=meta.get("kind") or "paragraph",
                   position=int(meta.get("position") or 0), text=text or "")
