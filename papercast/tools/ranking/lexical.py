"""Lexical matching for ranking: a small BM25 index and exact keyword/phrase matching.

Embeddings blur exact terms ("LoRA", "KV cache", a dataset name); BM25 over titles and
abstracts catches them. Document statistics come from the papers being ranked (the window); the
ranking pool (``tools.pool``) keeps one index per window, because the TUI re-ranks the same window
after every like. numpy only: scikit-learn is not a runtime dependency.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

_TOKEN = re.compile(r"[a-z0-9][a-z0-9\-+]*[a-z0-9+]|[a-z0-9]")
_STOPWORD_TEXT = """
a an and are as at be been being but by can could did do does for from had has have how however i if in
into is it its it's may might more most much must no not of on or our over paper propose proposed
show shows such than that the their them then there these they this those through to toward towards
under up upon use used uses using via was we were what when where which while who whose will with
within without would you your also both each other only same so some very well new novel approach
approaches method methods work study based results result present presents introduce introduces
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


@lru_cache(maxsize=200_000)  # the vocabulary repeats: stem each word once per process
def stem(token: str) -> str:
    """A deliberately light stemmer: plural and a few suffixes, so 'models' matches 'model'."""
    if len(token) <= 3 or not token.isalpha():
        return token
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", "e"), ("s", "")):
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            if suffix == "s" and token.endswith(("ss", "us", "is")):
                return token
            return token[: -len(suffix)] + repl
    return token


# Words and terms as the tokenizer sees them, remembered per process: the vocabulary repeats, so
# a document costs one regex pass and one dictionary lookup per word. Terms are also numbered,
# so an index is built from id arrays with numpy (a sort, not a Python loop per token).
_WORD_TERMS: dict[str, tuple[str, ...]] = {}  # raw word -> its terms ("low-rank": low-rank, low, rank)
_WORD_IDS: dict[str, tuple[int, ...]] = {}  # raw word -> its terms' ids
_VOCAB: dict[str, int] = {}
_VOCAB_LOCK = threading.Lock()
_MAX_WORDS = 1_000_000  # a bound on the word caches; the vocabulary itself must keep its ids


def _terms_of_word(raw: str) -> tuple[str, ...]:
    hit = _WORD_TERMS.get(raw)
    if hit is None:
        parts = [raw] if "-" not in raw else [raw, *raw.split("-")]
        hit = tuple(stem(p) for p in parts if p and p not in STOPWORDS and len(p) > 1)
        if len(_WORD_TERMS) > _MAX_WORDS:
            _WORD_TERMS.clear()
        _WORD_TERMS[raw] = hit
    return hit


def tokens(text: str) -> list[str]:
    """Lower-cased, stemmed word tokens without stopwords; hyphenated words also split."""
    out: list[str] = []
    for raw in _TOKEN.findall(text.lower()):
        hit = _WORD_TERMS.get(raw)
        out += hit if hit is not None else _terms_of_word(raw)
    return out


def term_id(term: str) -> int | None:
    """The id of a term some document has used in this process (None: no document has it)."""
    return _VOCAB.get(term)


def _ids_of_word(raw: str) -> tuple[int, ...]:
    with _VOCAB_LOCK:
        hit = tuple(_VOCAB.setdefault(t, len(_VOCAB)) for t in _terms_of_word(raw))
        if len(_WORD_IDS) > _MAX_WORDS:
            _WORD_IDS.clear()
        _WORD_IDS[raw] = hit
    return hit


@lru_cache(maxsize=25_000)
def doc_term_ids(text: str) -> np.ndarray:
    """``tokens`` of a document as term ids, remembered: a re-rank after each like re-indexes
    the same papers."""
    ids: list[int] = []
    for raw in _TOKEN.findall(text.lower()):
        hit = _WORD_IDS.get(raw)
        ids += hit if hit is not None else _ids_of_word(raw)
    return np.fromiter(ids, dtype=np.int64, count=len(ids))


@lru_cache(maxsize=64)  # the same interests text for every listed paper
def surface_forms(text: str) -> dict[str, str]:
    """token -> the word as the user wrote it (to show matched terms in reasons, unstemmed)."""
    out: dict[str, str] = {}
    for raw in _TOKEN.findall(text.lower()):
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


@dataclass
class BM25:
    """An inverted index over a fixed list of documents (k1 = 1.2, b = 0.75).

    Postings are stored compressed by term: ``terms`` (sorted term ids) and, for the i-th of them,
    ``docs[starts[i]:starts[i + 1]]`` (ascending document indices) with their term frequencies.
    """

    terms: np.ndarray
    starts: np.ndarray
    docs: np.ndarray
    tf: np.ndarray
    doc_len: np.ndarray
    n_docs: int
    k1: float = 1.2
    b: float = 0.75

    @classmethod
    def build(cls, docs: Sequence[str]) -> BM25:
        ids = [doc_term_ids(doc) for doc in docs]
        n = len(docs)
        lengths = np.fromiter((len(a) for a in ids), dtype=np.int64, count=n)
        flat = np.concatenate(ids) if n else np.zeros(0, dtype=np.int64)
        owner = np.repeat(np.arange(n, dtype=np.int64), lengths)
        # One key per (term, document) occurrence; sorting groups them by term, then document.
        keys, counts = np.unique(flat * max(n, 1) + owner, return_counts=True)
        term_of = keys // max(n, 1)
        terms, starts = np.unique(term_of, return_index=True)
        return cls(terms=terms, starts=np.append(starts, len(keys)), docs=(keys % max(n, 1)).astype(np.int32),
                   tf=counts.astype(np.float32), doc_len=lengths.astype(np.float32), n_docs=n)

    def __post_init__(self) -> None:
        avg = float(self.doc_len.mean()) if self.n_docs else 1.0
        # The length normalization of every document, the same for every query.
        self.norm = self.k1 * (1 - self.b + self.b * self.doc_len / (avg or 1.0))

    def _ranges(self, terms: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
        """The terms the index has, with the start and end of each one's postings."""
        ids = [(t, term_id(t)) for t in terms]
        known = [(t, i) for t, i in ids if i is not None]
        if not known or not len(self.terms):
            return [], np.zeros(0, np.int64), np.zeros(0, np.int64)
        at = np.searchsorted(self.terms, np.array([i for _, i in known], dtype=np.int64))
        at_clipped = np.minimum(at, len(self.terms) - 1)
        present = (at < len(self.terms)) & (self.terms[at_clipped] == np.array([i for _, i in known]))
        where = at[present]
        return [t for (t, _), ok in zip(known, present, strict=True) if ok], self.starts[where], self.starts[where + 1]

    def score(self, query_terms: Iterable[str], weights: dict[str, float] | None = None) -> np.ndarray:
        """BM25 score of every document for the (already tokenized) query terms.

        All the query's postings are gathered and summed in one pass (a liked paper's terms
        make queries of hundreds of terms)."""
        if self.n_docs == 0:
            return np.zeros(0, dtype=np.float32)
        terms, lo, hi = self._ranges(list(dict.fromkeys(query_terms)))
        if not terms:
            return np.zeros(self.n_docs, dtype=np.float32)
        df = (hi - lo).astype(np.float64)
        idf = np.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5))
        if weights:
            idf = idf * np.array([weights.get(t, 1.0) for t in terms])
        lengths = hi - lo
        # Positions of every posting of every query term, without a Python loop per posting.
        offsets = np.repeat(lo - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
        idx = np.arange(int(lengths.sum())) + offsets
        docs, tf = self.docs[idx], self.tf[idx]
        contrib = np.repeat(idf, lengths) * tf * (self.k1 + 1) / (tf + self.norm[docs])
        return np.bincount(docs, weights=contrib, minlength=self.n_docs).astype(np.float32)

    def matched_terms_many(self, docs: Sequence[int], query_terms: Iterable[str]) -> list[list[str]]:
        """For each of ``docs``, the query terms it contains, rarest first (ties in query order)."""
        terms, lo, hi = self._ranges(list(dict.fromkeys(query_terms)))
        found: list[list[str]] = [[] for _ in docs]
        wanted = np.asarray(docs, dtype=np.int64)
        order = sorted(range(len(terms)), key=lambda k: int(hi[k] - lo[k]))  # rarest (smallest df) first
        for k in order:
            postings = self.docs[lo[k]:hi[k]]
            at = np.minimum(np.searchsorted(postings, wanted), len(postings) - 1)
            for j in np.flatnonzero(postings[at] == wanted).tolist():
                found[j].append(terms[k])
        return found
