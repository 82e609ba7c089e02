"""Lexical matching for ranking and search: a small BM25 index and exact keyword/phrase matching.

Words become terms in ``store/terms.py`` (Snowball stemming after British spellings are made
American, so singular and plural, verb forms and both spellings meet), shared with the ranking cache.

Embeddings blur exact terms ("LoRA", "KV cache", a dataset name); BM25 over titles and
abstracts catches them. Document statistics come from the papers being ranked (the window); the
ranking pool (``tools.pool``) keeps one index per window, because the TUI re-ranks the same window
after every like. numpy only: scikit-learn is not a runtime dependency.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache

import numpy as np

from papercast.store.terms import (  # noqa: F401  (american, stem, term_counts: re-exported for callers)
    MAX_WORDS,
    STOPWORDS,
    TOKEN,
    american,
    stem,
    term_counts,
    terms_of_word,
    tokens,
)

# Process-wide term ids for indexes built from texts here (the ranking cache has its own, on disk).
_WORD_IDS: dict[str, tuple[int, ...]] = {}  # raw word -> its terms' ids
_VOCAB: dict[str, int] = {}
_VOCAB_LOCK = threading.Lock()


def process_term_ids(terms: Sequence[str]) -> dict[str, int]:
    """The ids of the terms some document of this process has used (the others are left out)."""
    return {t: i for t in terms if (i := _VOCAB.get(t)) is not None}


def _ids_of_word(raw: str) -> tuple[int, ...]:
    with _VOCAB_LOCK:
        hit = tuple(_VOCAB.setdefault(t, len(_VOCAB)) for t in terms_of_word(raw))
        if len(_WORD_IDS) > MAX_WORDS:
            _WORD_IDS.clear()
        _WORD_IDS[raw] = hit
    return hit


@lru_cache(maxsize=25_000)
def doc_term_ids(text: str) -> np.ndarray:
    """``tokens`` of a document as term ids, remembered: a re-rank after each like re-indexes
    the same papers."""
    ids: list[int] = []
    for raw in TOKEN.findall(text.lower()):
        hit = _WORD_IDS.get(raw)
        ids += hit if hit is not None else _ids_of_word(raw)
    return np.fromiter(ids, dtype=np.int64, count=len(ids))


@lru_cache(maxsize=64)  # the same interests text for every listed paper
def surface_forms(text: str) -> dict[str, str]:
    """token -> the word as the user wrote it (to show matched terms in reasons, unstemmed)."""
    out: dict[str, str] = {}
    for raw in TOKEN.findall(text.lower()):
        for part in ([raw] if "-" not in raw else [raw, *raw.split("-")]):
            if part and part not in STOPWORDS and len(part) > 1:
                out.setdefault(stem(part), part)
    return out


def normalize_phrase(text: str) -> str:
    """Lower-case words joined by single spaces; hyphens count as spaces (so phrases match)."""
    return " ".join(re.findall(r"[a-z0-9+]+", text.lower()))


def phrase_in(phrase: str, normalized_text: str) -> bool:
    """Whole-word phrase match on texts made by ``normalize_phrase``; plural forms match too."""
    norm = normalize_phrase(phrase)
    if not norm:
        return False
    return re.search(rf"(?<![a-z0-9]){re.escape(norm)}(?:s|es)?(?![a-z0-9])", normalized_text) is not None


class BM25:
    """BM25 (k1 = 1.2, b = 0.75) over a fixed list of documents, as a forward index scanned per query.

    Each document is its distinct term ids with their counts (``terms``/``counts``, document i at
    ``offsets[i]:offsets[i + 1]``) and its length. A query marks its terms in a lookup table and
    gathers every document's matches in one pass over the flat arrays: no inverted index to build, so
    an index costs nothing beyond its arrays, which the ranking cache (``store/ranking_cache.py``) keeps
    on disk. ``lookup`` maps a term to its id (the process vocabulary for ``build``; the cache's for its
    windows).
    """

    def __init__(self, terms: np.ndarray, counts: np.ndarray, offsets: np.ndarray, doc_len: np.ndarray,
                 lookup: Callable[[Sequence[str]], dict[str, int]], k1: float = 1.2, b: float = 0.75) -> None:
        self.terms = np.asarray(terms, dtype=np.int64)
        self.counts = np.asarray(counts, dtype=np.float32)
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.doc_len = np.asarray(doc_len, dtype=np.float32)
        self.n_docs = len(self.doc_len)
        self.lookup = lookup
        self.k1, self.b = k1, b
        avg = float(self.doc_len.mean()) if self.n_docs else 1.0
        # The length normalization of every document, the same for every query.
        self.norm = k1 * (1 - b + b * self.doc_len / (avg or 1.0))
        self._owner: np.ndarray | None = None

    @classmethod
    def build(cls, docs: Sequence[str]) -> BM25:
        """An index of texts, tokenized here (term ids of this process's vocabulary)."""
        ids = [doc_term_ids(doc) for doc in docs]
        n = len(ids)
        lengths = np.fromiter((len(a) for a in ids), dtype=np.int64, count=n)
        flat = np.concatenate(ids) if n else np.zeros(0, dtype=np.int64)
        span = int(flat.max()) + 1 if len(flat) else 1
        # One key per (document, term) occurrence; one sort groups them by document, then term.
        keys, counts = np.unique(np.repeat(np.arange(n, dtype=np.int64), lengths) * span + flat,
                                 return_counts=True)
        offsets = np.searchsorted(keys // span, np.arange(n + 1))
        return cls(keys % span, counts, offsets, lengths, process_term_ids)

    @property
    def owner(self) -> np.ndarray:
        """The document of each posting."""
        if self._owner is None:
            self._owner = np.repeat(np.arange(self.n_docs, dtype=np.int32), np.diff(self.offsets))
        return self._owner

    def _matches(self, query_terms: Iterable[str]) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """The query terms some document has, and every posting of them: (terms, term index, document,
        count)."""
        wanted = list(dict.fromkeys(query_terms))
        known = self.lookup(wanted) if wanted and self.n_docs else {}
        ids = [known[t] for t in wanted if t in known]
        if not ids or not len(self.terms):
            empty = np.zeros(0, np.int64)
            return [], empty, empty, np.zeros(0, np.float32)
        table = np.full(max(int(self.terms.max()), max(ids)) + 1, -1, dtype=np.int32)
        table[ids] = np.arange(len(ids), dtype=np.int32)
        which = table[self.terms]
        at = np.flatnonzero(which >= 0)
        return ([t for t in wanted if t in known], which[at].astype(np.int64),
                self.owner[at].astype(np.int64), self.counts[at])

    def _idf(self, which: np.ndarray, n_terms: int) -> np.ndarray:
        df = np.bincount(which, minlength=n_terms).astype(np.float64)
        return np.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5))

    def score(self, query_terms: Iterable[str], weights: dict[str, float] | None = None) -> np.ndarray:
        """BM25 score of every document for the (already tokenized) query terms (a liked paper's
        terms make queries of hundreds of terms: still one pass)."""
        if self.n_docs == 0:
            return np.zeros(0, dtype=np.float32)
        terms, which, docs, tf = self._matches(query_terms)
        if not terms:
            return np.zeros(self.n_docs, dtype=np.float32)
        idf = self._idf(which, len(terms))
        if weights:
            idf = idf * np.array([weights.get(t, 1.0) for t in terms])
        contrib = idf[which] * tf * (self.k1 + 1) / (tf + self.norm[docs])
        return np.bincount(docs, weights=contrib, minlength=self.n_docs).astype(np.float32)

    def idfs(self, query_terms: Iterable[str]) -> dict[str, float]:
        """The idf of each query term some document holds (a term no document holds is left out)."""
        terms, which, _, _ = self._matches(query_terms)
        present = np.bincount(which, minlength=len(terms)) > 0
        idf = self._idf(which, len(terms)).tolist()
        return {t: idf[j] for j, t in enumerate(terms) if present[j]}

    def idf_sum(self, query_terms: Iterable[str]) -> float:
        """The sum of the query terms' idf: about what a document holding each term once scores,
        so ``score / idf_sum`` is near 1 for a full match whatever the query (a calibrated scale)."""
        terms, which, _, _ = self._matches(query_terms)
        if not terms:
            return 0.0
        present = np.bincount(which, minlength=len(terms)) > 0  # a term no document here has adds nothing
        return float(self._idf(which, len(terms))[present].sum())

    def having_all(self, query_terms: Iterable[str]) -> np.ndarray:
        """Which documents hold every one of the terms (a boolean mask; none when a term is unknown)."""
        wanted = list(dict.fromkeys(query_terms))
        terms, which, docs, _ = self._matches(wanted)
        if not wanted or len(terms) < len(wanted):
            return np.zeros(self.n_docs, dtype=bool)
        return np.bincount(docs, minlength=self.n_docs) >= len(wanted)

    def matched_terms_many(self, docs: Sequence[int], query_terms: Iterable[str]) -> list[list[str]]:
        """For each of ``docs``, the query terms it contains, rarest first (ties in query order)."""
        terms, which, owners, _ = self._matches(query_terms)
        if not terms:
            return [[] for _ in docs]
        df = np.bincount(which, minlength=len(terms))
        rank = {j: r for r, j in enumerate(sorted(range(len(terms)), key=lambda j: int(df[j])))}
        out: list[list[str]] = []
        for d in docs:
            got = sorted(set(which[owners == d].tolist()), key=rank.__getitem__)
            out.append([terms[j] for j in got])
        return out
