"""Searching the passages of papers read in full: the same hybrid as the paper search.

MiniLM finds passages that say it in other words, BM25 the exact terms a question names ("16 kHz",
"Qwen2.5-7b", "grant") that embeddings blur (``search.HybridIndex``). The candidates are every
passage of the papers asked about (up to ``CANDIDATES``), else the passages nearest in meaning
(Chroma's index) re-ranked. Nothing is fetched: only what is stored is searched.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from papercast.models import Passage
from papercast.store.passages import embedding_text
from papercast.tools.ranking.search import HybridIndex

if TYPE_CHECKING:
    from papercast.store.documents import DocumentStore
    from papercast.store.papers import PaperStore
    from papercast.store.passages import PassageStore

CANDIDATES = 3_000  # every passage of the papers asked about is scored, up to this many


def search_passages(query: str, *, papers: PaperStore, documents: DocumentStore, passages: PassageStore,
                    ids: Sequence[str] | None = None, n: int = 8) -> list[tuple[Passage, float]]:
    """The stored passages that best answer ``query`` (of the papers ``ids`` when given), best first with
    their score (higher is better, comparable within one search); [] when no paper is read."""
    wanted = list(ids) if ids is not None else None
    if wanted == [] or passages.count() == 0:
        return []
    stored = sum(i.passages for i in documents.infos(wanted).values()) if wanted else None
    if stored == 0:
        return []
    vector = papers.embed_texts([query])[0]
    if stored is not None and stored <= CANDIDATES:
        candidates, vectors = passages.with_vectors(wanted or [])
    else:
        candidates, vectors = passages.nearest(vector, ids=wanted, k=max(64, 8 * n))
    if not candidates:
        return []
    index = HybridIndex([embedding_text(p) for p in candidates], vectors)
    return [(candidates[m.index], m.score) for m in index.search(query, vector, max(1, n))]
