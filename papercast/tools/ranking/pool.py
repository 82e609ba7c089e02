"""What ranking derives from a set of candidate papers, whatever the profile: computed once per
process and reused by every re-rank of the same window.

The TUI re-ranks the same window after every like, and a 6-month window holds tens of thousands
of papers, so the profile-independent work is done here once: unit and centred vectors, document
texts, the BM25 index, phrase matches, author and category lookups, and each paper's nearest
neighbours in the window (filled in only for the papers that reach the top of some ranking).
A cached window (``tools.window``) owns its pool, so both expire together.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Sequence

import numpy as np

from papercast.models import Paper
from papercast.tools.ranking.lexical import BM25, normalize_phrase

# Neighbours kept per paper: the k the ranker uses plus spares for the read papers it drops.
NEIGHBOURS_KEPT = 18


def unit(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=-1, keepdims=True)
    return m / np.clip(norms, 1e-9, None)


def name_key(name: str) -> str:
    """An author name reduced to lower-case ASCII words, for matching."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return " ".join(re.findall(r"[a-z]+", text))


class Pool:
    """Candidate papers with their vectors, and what ranking needs of them, computed lazily."""

    def __init__(self, papers: Sequence[Paper], matrix: np.ndarray) -> None:
        self.papers = list(papers)
        self.position = {p.id: i for i, p in enumerate(self.papers)}
        self.emb = unit(np.asarray(matrix, dtype=np.float32))
        # MiniLM vectors share a large common direction; removing it makes cosine similarity
        # discriminate between topics.
        self.mean = self.emb.mean(axis=0) if len(self.emb) > 1 else np.zeros(self.emb.shape[1], dtype=np.float32)
        offset = self.emb - self.mean
        self.cen_norm = np.linalg.norm(offset, axis=1)  # plain cosine from centred: q.e = |e-m| q.cen + q.m
        self.cen = offset / np.clip(self.cen_norm, 1e-9, None)[:, None]
        self.texts = [p.embedding_text for p in self.papers]
        self.upvotes = np.array([max(p.upvotes or 0, 0) for p in self.papers], np.float32)
        # Publication dates as ordinals (0: unknown), for ages without a Python loop per paper.
        self.day_numbers = np.array([p.published.toordinal() if p.published else 0 for p in self.papers], np.int64)
        self._lock = threading.Lock()
        self._index: BM25 | None = None
        self._joined: tuple[str, np.ndarray] | None = None
        self._phrases: dict[str, np.ndarray] = {}
        self._surnames: dict[str, list[tuple[int, str, str]]] | None = None
        self._categories: dict[str, list[tuple[int, str]]] | None = None
        n = len(self.papers)
        self._nn = np.zeros((n, NEIGHBOURS_KEPT), dtype=np.int32)
        self._nn_sim = np.zeros((n, NEIGHBOURS_KEPT), dtype=np.float32)
        self._nn_done = np.zeros(n, dtype=bool)

    def __len__(self) -> int:
        return len(self.papers)

    # -- lexical ---------------------------------------------------------------------------------
    @property
    def index(self) -> BM25:
        """The BM25 index of the pool's titles and abstracts."""
        if self._index is None:
            index = BM25.build(self.texts)
            with self._lock:
                self._index = self._index or index
        return self._index

    def with_phrase(self, phrase: str) -> np.ndarray:
        """Which papers contain ``phrase`` as whole words (plural forms too), as a boolean mask.

        One regex pass over all normalized texts joined by new lines, not one search per paper.
        """
        norm = normalize_phrase(phrase)
        mask = self._phrases.get(norm)
        if mask is not None:
            return mask
        mask = np.zeros(len(self.papers), dtype=bool)
        if norm:
            joined, starts = self._joined_texts()
            pattern = re.compile(rf"(?<![a-z0-9]){re.escape(norm)}(?:s|es)?(?![a-z0-9])")
            offsets = [m.start() for m in pattern.finditer(joined)]
            if offsets:
                mask[np.searchsorted(starts, np.asarray(offsets), side="right") - 1] = True
        with self._lock:
            self._phrases[norm] = mask
        return mask

    def _joined_texts(self) -> tuple[str, np.ndarray]:
        if self._joined is None:
            normalized = [normalize_phrase(t) for t in self.texts]
            lengths = np.fromiter((len(t) + 1 for t in normalized), dtype=np.int64, count=len(normalized))
            starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if len(normalized) else np.zeros(0, np.int64)
            self._joined = ("\n".join(normalized), starts)
        return self._joined

    # -- authors and categories ------------------------------------------------------------------
    def by_authors(self, followed: Sequence[str]) -> dict[int, str]:
        """Papers with an author in ``followed``: paper index -> that author as the paper writes it.

        Same full name, or same surname and first initial when either side gives only the
        initial ("Y. LeCun" / "Yann LeCun").
        """
        if self._surnames is None:
            surnames: dict[str, list[tuple[int, str, str]]] = {}
            for i, paper in enumerate(self.papers):
                for author in paper.authors:
                    parts = name_key(author).split()
                    if parts:
                        surnames.setdefault(parts[-1], []).append((i, parts[0], author))
            self._surnames = surnames
        out: dict[int, str] = {}
        for wanted in followed:
            fparts = name_key(wanted).split()
            if not fparts:
                continue
            for i, first, author in self._surnames.get(fparts[-1], []):
                if i in out:
                    continue
                same = name_key(author) == " ".join(fparts)
                initial = first[:1] == fparts[0][:1] and (len(first) == 1 or len(fparts[0]) == 1)
                if same or initial:
                    out[i] = author
        return out

    def in_categories(self, wanted: Sequence[str]) -> dict[int, str]:
        """Papers in one of ``wanted`` categories: paper index -> the first such category."""
        if self._categories is None:
            cats: dict[str, list[tuple[int, str]]] = {}
            for i, paper in enumerate(self.papers):
                for cat in paper.categories:
                    cats.setdefault(cat.lower(), []).append((i, cat))
            self._categories = cats
        out: dict[int, str] = {}
        for cat in {c.lower() for c in wanted}:
            for i, name in self._categories.get(cat, []):
                # The paper's own first listed category among the wanted ones.
                if i not in out or self.papers[i].categories.index(name) < self.papers[i].categories.index(out[i]):
                    out[i] = name
        return out

    # -- structure -------------------------------------------------------------------------------
    def neighbours(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The nearest pool papers (centred cosine, best first, never the paper itself) of each
        paper in ``rows``, and their similarities: (len(rows), NEIGHBOURS_KEPT) each.

        Computed for the rows not seen before and kept: after a like, the top of the ranking
        is mostly the same papers, so a re-rank computes only a few new rows.
        """
        rows = np.asarray(rows, dtype=np.int64)
        k = min(NEIGHBOURS_KEPT, len(self.papers) - 1)
        missing = rows[~self._nn_done[rows]]
        if len(missing) and k > 0:
            missing = np.unique(missing)
            sims = self.cen[missing] @ self.cen.T
            sims[np.arange(len(missing)), missing] = -np.inf
            part = np.argpartition(sims, -k, axis=1)[:, -k:]
            part_sims = np.take_along_axis(sims, part, axis=1)
            order = np.argsort(-part_sims, axis=1)
            with self._lock:
                self._nn[missing, :k] = np.take_along_axis(part, order, axis=1)
                self._nn_sim[missing, :k] = np.take_along_axis(part_sims, order, axis=1)
                self._nn_sim[missing, k:] = -np.inf
                self._nn_done[missing] = True
        return self._nn[rows], self._nn_sim[rows]
