"""Lexical matching for ranking: a small BM25 index and exact keyword/phrase matching.

Embeddings blur exact terms ("LoRA", "KV cache", a dataset name); BM25 over titles and
abstracts catches them. Document statistics come from the papers being ranked (the window), and
the index is cached per process by the window's ids, because the TUI re-ranks the same window
after every like. numpy only: scikit-learn is not a runtime dependency.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
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


@lru_cache(maxsize=25_000)
def doc_tokens(text: str) -> tuple[str, ...]:
    """``tokens`` of a document, remembered: a re-rank after each like re-indexes the same papers."""
    return tuple(tokens(text))


def tokens(text: str) -> list[str]:
    """Lower-cased, stemmed word tokens without stopwords; hyphenated words also split."""
    out: list[str] = []
    for raw in _TOKEN.findall(text.lower()):
        parts = [raw] if "-" not in raw else [raw, *raw.split("-")]
        for part in parts:
            if part and part not in STOPWORDS and len(part) > 1:
                out.append(stem(part))
    return out


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
    """An inverted index over a fixed list of documents (k1 = 1.2, b = 0.75)."""

    postings: dict[str, tuple[np.ndarray, np.ndarray]]  # term -> (doc indices, term frequencies)
    doc_len: np.ndarray
    n_docs: int
    k1: float = 1.2
    b: float = 0.75

    @classmethod
    def build(cls, docs: Sequence[str]) -> BM25:
        index: dict[str, dict[int, int]] = {}
        lengths = np.zeros(len(docs), dtype=np.float32)
        for i, doc in enumerate(docs):
            toks = doc_tokens(doc)
            lengths[i] = len(toks)
            for tok in toks:
                row = index.setdefault(tok, {})
                row[i] = row.get(i, 0) + 1
        postings = {t: (np.fromiter(r.keys(), dtype=np.int32, count=len(r)),
                        np.fromiter(r.values(), dtype=np.float32, count=len(r))) for t, r in index.items()}
        return cls(postings=postings, doc_len=lengths, n_docs=len(docs))

    def idf(self, term: str) -> float:
        df = len(self.postings.get(term, ((),))[0])
        return math.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5))

    def score(self, query_terms: Iterable[str], weights: dict[str, float] | None = None) -> np.ndarray:
        """BM25 score of every document for the (already tokenized) query terms."""
        out = np.zeros(self.n_docs, dtype=np.float32)
        if self.n_docs == 0:
            return out
        avg = float(self.doc_len.mean()) or 1.0
        norm = self.k1 * (1 - self.b + self.b * self.doc_len / avg)
        for term in dict.fromkeys(query_terms):
            hit = self.postings.get(term)
            if hit is None:
                continue
            docs, tf = hit
            w = self.idf(term) * (weights.get(term, 1.0) if weights else 1.0)
            out[docs] += w * tf * (self.k1 + 1) / (tf + norm[docs])
        return out

    def matched_terms(self, doc: int, query_terms: Iterable[str]) -> list[str]:
        """The query terms a document contains, rarest first (for reasons)."""
        found = [t for t in dict.fromkeys(query_terms)
                 if t in self.postings and doc in set(self.postings[t][0].tolist())]
        return sorted(found, key=self.idf, reverse=True)


_CACHE: OrderedDict[tuple[int, int], BM25] = OrderedDict()
_LOCK = threading.Lock()


def bm25_for(ids: Sequence[str], docs: Sequence[str], max_entries: int = 4) -> BM25:
    """The BM25 index of these documents, cached per process by their ids (a few windows)."""
    key = (len(ids), hash(tuple(ids)))
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    index = BM25.build(docs)
    with _LOCK:
        _CACHE[key] = index
        while len(_CACHE) > max_entries:
            _CACHE.popitem(last=False)
    return index
