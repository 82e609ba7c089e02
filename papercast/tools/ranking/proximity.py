"""How closely a paper holds the query as written: its words side by side, in order, in the title.

BM25 scores a bag of words, so "direct preference optimization" ranked a paper using "preference"
and "optimization" apart above the one paper naming the method. Here each pair of neighbouring
query words scores when a paper has them adjacent and in order (or, for less, within a small
window), in its title more than in its abstract (a sequential-dependence model over the two fields),
each pair weighted by its words' weights (rare words and acronyms more). Stop words are dropped on
both sides, so "mixture of experts" holds the pair (mixture, experts).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from papercast.store.terms import STOPWORDS, stem

WINDOW = 8  # two query words within this many words of each other (either order) are "near"
NEAR_SHARE = 0.35  # ... and score this share of an adjacent, in-order pair
ABSTRACT_SHARE = 0.85  # a pair found in the abstract only scores this share of one in the title
_WORD = re.compile(r"[a-z0-9][a-z0-9+]*")


@dataclass(frozen=True)
class QueryWords:
    """A query's words in order, stop words out: their terms and where each stands in the text."""

    text: str
    terms: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]  # character span of each word in ``text``

    def surface(self, start: int, end: int) -> str:
        """The query's own text from word ``start`` to word ``end`` (inclusive), as typed."""
        return self.text[self.spans[start][0]:self.spans[end][1]]


def query_words(text: str) -> QueryWords:
    """The query's words as proximity reads them (hyphens split words: "test-time" is two)."""
    terms: list[str] = []
    spans: list[tuple[int, int]] = []
    for m in _WORD.finditer(text.lower()):
        word = m.group()
        if word not in STOPWORDS and len(word) > 1:
            terms.append(stem(word))
            spans.append(m.span())
    return QueryWords(text, tuple(terms), tuple(spans))


_TERM_OF: dict[str, str] = {}  # word -> its term ("" for a stop word), bounded like the tokenizer's


def _term(word: str) -> str:
    if len(_TERM_OF) > 200_000:
        _TERM_OF.clear()
    term = _TERM_OF[word] = "" if word in STOPWORDS or len(word) < 2 else stem(word)
    return term


@lru_cache(maxsize=50_000)
def field_terms(text: str) -> tuple[str, ...]:
    """A field's words as terms in order, stop words out (remembered: the same top papers recur)."""
    get = _TERM_OF.get
    return tuple(t for t in (get(w) if w in _TERM_OF else _term(w) for w in _WORD.findall(text.lower())) if t)


@dataclass(frozen=True)
class Closeness:
    """One paper's proximity: ``score`` in [0, 1] (1: every pair adjacent in the title), ``title``
    the weighted share of the query's words its title holds, ``phrases`` the query's runs of two or
    more words it holds side by side (word index ranges into the query)."""

    score: float
    title: float
    phrases: tuple[tuple[int, int], ...]


def _pair_value(a: str, b: str, seq: Sequence[str], where: Mapping[str, list[int]]) -> float:
    best = 0.0
    for i in where.get(a, ()):
        if i + 1 < len(seq) and seq[i + 1] == b:
            return 1.0
        if best < NEAR_SHARE and any(abs(j - i) <= WINDOW for j in where.get(b, ())):
            best = NEAR_SHARE
    return best


def _positions(seq: Sequence[str], wanted: set[str]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for i, t in enumerate(seq):
        if t in wanted:
            out.setdefault(t, []).append(i)
    return out


def _runs(query: Sequence[str], seq: Sequence[str], where: Mapping[str, list[int]]) -> list[tuple[int, int]]:
    """The longest runs of the query's words (two or more) that stand side by side in ``seq``."""
    out: list[tuple[int, int]] = []
    i = 0
    while i < len(query) - 1:
        best = i
        for start in where.get(query[i], ()):
            j = i
            while j + 1 < len(query) and (k := start + j + 1 - i) < len(seq) and seq[k] == query[j + 1]:
                j += 1
            best = max(best, j)
        if best > i:
            out.append((i, best))
        i = best + 1 if best > i else i + 1
    return out


def closeness(query: Sequence[str], weights: Mapping[str, float], title: Sequence[str],
              abstract: Sequence[str]) -> Closeness:
    """How closely a paper's title and abstract (``field_terms``) hold the query's words."""
    wanted = set(query)
    in_title, in_abstract = _positions(title, wanted), _positions(abstract, wanted)
    total = sum(weights.get(t, 1.0) for t in wanted) or 1.0
    title_share = sum(weights.get(t, 1.0) for t in wanted if t in in_title) / total
    pairs = [(a, b) for a, b in zip(query, query[1:], strict=False) if a != b]
    score = 0.0
    if pairs:
        norm = sum(weights.get(a, 1.0) + weights.get(b, 1.0) for a, b in pairs)
        for a, b in pairs:
            value = max(_pair_value(a, b, title, in_title),
                        ABSTRACT_SHARE * _pair_value(a, b, abstract, in_abstract))
            score += (weights.get(a, 1.0) + weights.get(b, 1.0)) * value / norm
    found = _runs(query, title, in_title) + _runs(query, abstract, in_abstract)
    phrases: list[tuple[int, int]] = []
    for run in sorted(found, key=lambda r: (r[0] - r[1], r[0])):  # longest first, no overlaps
        if all(run[1] < s or run[0] > e for s, e in phrases):
            phrases.append(run)
    return Closeness(score, title_share, tuple(sorted(phrases)))
