"""Acronyms and their expansions, as the papers define them: "low-rank adaptation (LoRA)".

A query saying "DPO" should find the paper that writes "direct preference optimization", and the
other way round. The pairs are read from the papers themselves (Schwartz and Hearst's rule: the
short form's letters, in order, in the words before the parenthesis, the first letter starting a
word), so no list of acronyms is kept and a new field's abbreviations come with its papers.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from papercast.tools.ranking.lexical import BM25, tokens
from papercast.tools.ranking.proximity import field_terms

# "(LoRA)", "(LLMs)", "(GRPO;": a short form in brackets, two capitals or more, up to ten characters.
_DEFINED = re.compile(r"\(\s*([A-Za-z0-9][A-Za-z0-9\-]{1,9})\s*[;,)]")
_WORDS_BEFORE = re.compile(r"[A-Za-z0-9][\w\-]*")
MIN_REVERSE = 3  # a phrase typed finds its acronym's papers only for acronyms of three letters or more


def is_acronym(word: str) -> bool:
    """Written with two capitals or more and no space: DPO, LoRA, LLMs, Qwen3-VL."""
    return sum(c.isupper() for c in word) >= 2 and " " not in word


def acronym_key(word: str) -> str:
    """An acronym compared without case or a plural s: LLMs, LLM and llm are one."""
    key = word.lower().replace("-", "")
    return key[:-1] if key.endswith("s") and len(key) > 2 else key


def _long_form(short: str, words: list[str]) -> str | None:
    """The fewest words before the bracket that spell ``short`` (its letters in order, the first
    one starting a word), or None."""
    letters = [c.lower() for c in short if c.isalnum()]
    if letters and short.endswith("s") and short[:-1].isupper():
        letters = letters[:-1]  # LLMs: the s is the plural's, "models" holds it anyway
    for count in range(1, min(len(letters) + 3, len(words)) + 1):
        text = " ".join(words[-count:]).lower()
        s, pos = len(letters) - 1, len(text) - 1
        while s >= 0 and pos >= 0:
            at_start = pos == 0 or not text[pos - 1].isalnum()
            if text[pos] == letters[s] and (s > 0 or at_start):
                s -= 1
            pos -= 1
        if s < 0 and text[0] == letters[0] and len(re.split(r"[\s\-]+", text)) >= 2:
            return " ".join(words[-count:])
    return None


@lru_cache(maxsize=20_000)
def definitions(text: str) -> list[tuple[str, str]]:
    """The (acronym, expansion) pairs a text defines, as written: [("LoRA", "low-rank adaptation")]."""
    out: list[tuple[str, str]] = []
    for m in _DEFINED.finditer(text):
        short = m.group(1)
        if not is_acronym(short):
            continue
        before = re.split(r"[.;:()\[\]]", text[max(0, m.start() - 200):m.start()])[-1]
        expansion = _long_form(short, _WORDS_BEFORE.findall(before))
        if expansion:
            out.append((short, expansion))
    return out


def expansions(texts: Iterable[str], acronym: str) -> list[str]:
    """What these texts say ``acronym`` stands for, most often said first (lower case)."""
    key = acronym_key(acronym)
    said = Counter(long.lower() for text in texts for short, long in definitions(text)
                   if acronym_key(short) == key)
    return [long for long, _ in said.most_common()]


def acronyms_of(texts: Iterable[str], phrase: str) -> list[str]:
    """The acronyms these texts define for ``phrase`` (compared in lower case, hyphens as spaces)."""
    norm = " ".join(re.findall(r"[a-z0-9]+", phrase.lower()))
    said = Counter(short for text in texts for short, long in definitions(text)
                   if " ".join(re.findall(r"[a-z0-9]+", long.lower())).rstrip("s") == norm.rstrip("s"))
    return [short for short, _ in said.most_common()]


@dataclass(frozen=True)
class Alias:
    """One side of the query's acronym found in papers that hold only the other: ``said`` (the
    query's words) stands for ``meant`` in the papers of ``mask``, which get ``credit`` (the BM25
    weight of what they lack, as if they held it once)."""

    said: str
    meant: str
    mask: np.ndarray
    credit: float


def aliases(index: BM25, query_text: str, query_terms: Sequence[str], weights: Mapping[str, float],
            idf: Mapping[str, float], texts: Iterable[tuple[str, bool]]) -> list[Alias]:
    """The acronyms and expansions ``texts`` (the best candidates' texts, each with whether it holds
    two query words side by side) define for the query, both ways: "DPO" in the query and "direct
    preference optimization" in a paper, or the reverse."""
    # Only the texts that can define what the query says: holding one of its acronyms, or two of its
    # words side by side (``phrased``); parsing every candidate's brackets would cost more than the rest.
    texts = list(texts)
    first = [d for text, phrased in texts if phrased for d in definitions(text)]
    # ... and those defining an acronym of the query or one found so far (another meaning of it).
    wanted = ({acronym_key(w) for w in re.findall(r"[\w\-]+", query_text) if is_acronym(w)}
              | {acronym_key(short) for short, _ in first})
    defined = first + [d for text, phrased in texts
                       if not phrased and wanted & {acronym_key(w) for w in _DEFINED.findall(text)}
                       for d in definitions(text)]
    if not defined:
        return []
    span = " ".join(query_terms)
    out: list[Alias] = []
    for word in dict.fromkeys(w for w in re.findall(r"[\w\-]+", query_text) if is_acronym(w)):
        key = acronym_key(word)
        said = Counter(long.lower() for short, long in defined if acronym_key(short) == key)
        if not said:
            continue
        meant = said.most_common(1)[0][0]
        if f" {' '.join(field_terms(meant))} " in f" {span} ":
            continue  # the query spells it out already
        own = tokens(word)
        mask = index.having_all(tokens(meant)) & ~index.having_all(own)
        out.append(Alias(word, meant, mask, sum(weights.get(t, 0.0) * idf.get(t, 0.0) for t in own)))
    keys = {acronym_key(w) for w in re.findall(r"[\w\-]+", query_text)}
    meanings: dict[str, set[tuple[str, ...]]] = {}
    for short, long in defined:
        meanings.setdefault(acronym_key(short), set()).add(field_terms(long))
    for short, long in dict.fromkeys(defined):
        terms = field_terms(long)
        key = acronym_key(short)
        # Two letters name too many things ("SD": speculative decoding, self-distillation), and an
        # acronym the candidates define two ways is not this phrase's alone.
        if (len(terms) < 2 or key in keys or len(key) < MIN_REVERSE or len(meanings[key]) > 1
                or f" {' '.join(terms)} " not in f" {span} "):
            continue
        keys.add(acronym_key(short))
        mask = index.having_all(tokens(short)) & ~index.having_all(tokens(long))
        out.append(Alias(long.lower(), short, mask, sum(weights.get(t, 0.0) * idf.get(t, 0.0)
                                                        for t in tokens(long))))
    return out
