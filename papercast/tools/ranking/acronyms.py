"""Acronyms and their expansions, as the papers define them: "low-rank adaptation (LoRA)".

A query saying "DPO" should find the paper that writes "direct preference optimization", and the
other way round, even when neither paper defines it: the pairs are learned when papers are stored
(``store/definitions.py``, counted in the ranking cache) and looked up here, in a ``Lexicon``. A query
may define its own pair ("direct preference optimization DPO"); texts no store keeps (passages) are
read as they come (``TextLexicon``). An acronym said several ways stands for its most said meanings.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from papercast.store.definitions import (
    Definition,
    acronym_key,
    definitions,
    expansion_terms,
    is_acronym,
    long_form,
)
from papercast.tools.ranking.lexical import BM25, normalize_phrase, phrase_in, tokens

__all__ = ["Alias", "Lexicon", "TextLexicon", "acronym_key", "aliases", "checked_lift", "definitions",
           "expansion_terms", "is_acronym", "query_definitions"]

MIN_REVERSE = 3  # a phrase typed finds its acronym's papers only for acronyms of three letters or more
TOP_SHARE = 0.5  # an acronym stands for each meaning said at least half as often as its most said one ...
MAX_MEANINGS = 2  # ... two at most
REVERSE_SHARE = 0.66  # a phrase stands for its acronym when it is 2/3 of what the acronym is said to mean
MAX_GRAM = 10  # the longest run of query words looked up as an expansion
CHECK_ROUNDS = 4  # at most this many times the top's new arrivals are read (``checked_lift``)
_QUERY_WORD = re.compile(r"[A-Za-z0-9][\w\-]*")


class Lexicon(Protocol):
    """Where the pairs come from: the ranking cache (``store/ranking_cache.py``) or ``TextLexicon``."""

    def acronym_meanings(self, keys: Collection[str]) -> dict[str, list[tuple[Definition, int]]]:
        """Each acronym's expansions with how many papers (texts) say so, most first."""
        ...

    def acronyms_for(self, expansions: Collection[str]) -> set[str]:
        """The acronyms defined as one of these expansions (``expansion_terms``)."""
        ...


class TextLexicon:
    """The pairs some texts define, counted per text: texts that no store keeps (passages), or the
    candidates of a store whose ranking cache cannot be used (a Chroma server, a read-only home)."""

    def __init__(self, texts: Iterable[str]) -> None:
        said: Counter[Definition] = Counter()
        for text in texts:
            if "(" in text:
                said.update({Definition(acronym_key(s), expansion_terms(long), s, long.lower())
                             for s, long in definitions(text)})
        self._by_key: dict[str, Counter[str]] = {}
        self._first: dict[tuple[str, str], Definition] = {}
        for d, count in said.items():
            if d.key and d.terms:
                self._by_key.setdefault(d.key, Counter())[d.terms] += count
                self._first.setdefault((d.key, d.terms), d)

    def acronym_meanings(self, keys: Collection[str]) -> dict[str, list[tuple[Definition, int]]]:
        return {k: [(self._first[k, terms], n) for terms, n in sorted(self._by_key[k].items(),
                                                                       key=lambda kv: (-kv[1], kv[0]))]
                for k in keys if k in self._by_key}  # as the ranking cache orders them

    def acronyms_for(self, expansions: Collection[str]) -> set[str]:
        wanted = set(expansions)
        return {k for k, said in self._by_key.items() if wanted & said.keys()}


def query_definitions(text: str) -> list[tuple[str, str]]:
    """The pairs a query defines by writing an acronym next to the words that spell it, before or
    after it: "direct preference optimization DPO", "DPO direct preference optimization"."""
    words = _QUERY_WORD.findall(text)
    out: list[tuple[str, str]] = []
    for i, word in enumerate(words):
        if not is_acronym(word):
            continue
        found = long_form(word, words[:i])
        if found is None:
            after = words[i + 1:]
            found = next((long for count in range(2, len(after) + 1)
                          if (long := long_form(word, after[:count])) == " ".join(after[:count])), None)
        if found:
            out.append((word, found))
    return out


def main_meanings(found: Sequence[tuple[Definition, int]]) -> list[Definition]:
    """What an acronym stands for: its most said meanings (``TOP_SHARE``, ``MAX_MEANINGS``)."""
    if not found:
        return []
    top = found[0][1]
    return [d for d, n in found[:MAX_MEANINGS] if n >= TOP_SHARE * top]


@dataclass(frozen=True)
class Alias:
    """One side of the query's acronym found in papers that hold only the other: ``said`` (the
    query's words) stands for ``meant`` in the papers of ``mask``, which get ``credit`` (the BM25
    weight of the words they lack, as if they held them once; one value per candidate)."""

    said: str
    meant: str
    mask: np.ndarray
    credit: np.ndarray


def _credit(index: BM25, terms: Sequence[str], weights: Mapping[str, float], idf: Mapping[str, float],
            mask: np.ndarray) -> np.ndarray:
    """Per candidate of ``mask``, the weight of the query's ``terms`` it does not hold."""
    out = np.zeros(len(mask))
    for t in dict.fromkeys(terms):
        value = weights.get(t, 0.0) * idf.get(t, 0.0)
        if value:
            out += np.where(mask & ~index.having_all([t]), value, 0.0)
    return out


def _parts(text: str) -> list[str]:
    """A phrase's terms, hyphens as spaces: "low rank adaptation" holds "low-rank adaptation"."""
    return tokens(text.replace("-", " "))


def aliases(index: BM25, query_text: str, query_terms: Sequence[str], weights: Mapping[str, float],
            idf: Mapping[str, float], lexicon: Lexicon) -> list[Alias]:
    """The acronyms and expansions ``lexicon`` knows for the query, both ways: "DPO" in the query
    and "direct preference optimization" in a paper (each of DPO's main meanings), or the reverse
    (for a phrase that is most of what its acronym is said to mean, or that the query names with it)."""
    typed: dict[str, str] = {}
    for w in _QUERY_WORD.findall(query_text):
        if is_acronym(w):
            typed.setdefault(acronym_key(w), w)
    n = len(query_terms)
    grams = {" ".join(query_terms[i:j]) for i in range(n) for j in range(i + 2, min(n, i + MAX_GRAM) + 1)}
    own = {acronym_key(s): [(Definition(acronym_key(s), expansion_terms(long), s, long.lower()), 1)]
           for s, long in query_definitions(query_text)}
    keys = (set(typed) | (lexicon.acronyms_for(grams) if grams else set())) - own.keys()
    found = {**(lexicon.acronym_meanings(keys) if keys else {}), **own}
    span = f" {' '.join(query_terms)} "
    out: list[Alias] = []
    for key, said in found.items():
        total = sum(n for _, n in said)
        for d in main_meanings(said):
            spelled = f" {d.terms} " in span
            if key in typed:  # papers that spell it out, without the acronym typed
                short = tokens(typed[key])
                mask = index.having_all(_parts(d.written)) & ~index.having_all(short)
                out.append(Alias(typed[key], d.written, mask, _credit(index, short, weights, idf, mask)))
            # The reverse: papers naming the acronym, without the phrase typed. Two letters name too
            # many things ("SD"), and an acronym often said another way is not this phrase's alone.
            share = next(n for e, n in said if e == d) / total
            if spelled and (key in typed or (len(key) >= MIN_REVERSE and share >= REVERSE_SHARE)):
                long = tokens(d.written)
                mask = index.having_all(tokens(d.short)) & ~index.having_all(_parts(d.written))
                out.append(Alias(d.written, d.short, mask, _credit(index, long, weights, idf, mask)))
    return out


def checked_lift(said: Sequence[Alias], lifts: Sequence[np.ndarray], top: Callable[[np.ndarray], np.ndarray],
                 fields: Callable[[list[int]], Sequence[tuple[str, str]]]) -> tuple[list[Alias], np.ndarray]:
    """What ``said`` adds to each candidate (``lifts``: per alias, per candidate), once per word said
    (its best meaning). The index knows words, not phrases: a candidate that reaches the ``top`` with
    a lift is read (``fields``), and loses it unless it holds the expansion as a phrase. Returns the
    aliases with their masks so checked, and the lift (``said`` is not empty)."""
    masks = [a.mask.copy() for a in said]
    phrased = [" " in normalize_phrase(a.meant) for a in said]

    def total() -> np.ndarray:
        groups: dict[str, np.ndarray] = {}
        for a, mask, lift in zip(said, masks, lifts, strict=True):
            groups[a.said] = np.maximum(groups.get(a.said, 0.0), np.where(mask, lift, 0.0))
        return sum(groups.values(), np.zeros(len(masks[0])))

    checked: set[int] = set()
    for _ in range(CHECK_ROUNDS):
        rows = [i for i in top(total()).tolist()
                if i not in checked and any(m[i] for m, p in zip(masks, phrased, strict=True) if p)]
        if not rows:
            break
        for i, (title, abstract) in zip(rows, fields(rows), strict=True):
            text = normalize_phrase(f"{title}. {abstract}")
            for a, mask, p in zip(said, masks, phrased, strict=True):
                if p and mask[i] and not phrase_in(a.meant, text):
                    mask[i] = False
        checked.update(rows)
    return [replace(a, mask=m) for a, m in zip(said, masks, strict=True)], total()
