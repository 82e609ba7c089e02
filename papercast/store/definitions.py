"""The acronyms a text defines, "low-rank adaptation (LoRA)": read when a paper is stored.

The ranking cache keeps each paper's definitions (``store/ranking_cache.py``), so a search for "DPO"
knows what the library says DPO stands for, even among papers that never spell it out. The pairs are
found by Schwartz and Hearst's rule (the short form's letters, in order, in the words before the
bracket, the first letter starting a word): no list of acronyms is kept, a new field's come with it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from papercast.store.terms import STOPWORDS, stem

# "(LoRA)", "(LLMs)", "(GRPO;": a short form in brackets, two capitals or more, up to ten characters.
DEFINED = re.compile(r"\(\s*([A-Za-z0-9][A-Za-z0-9\-]{1,9})\s*[;,)]")
WORDS_BEFORE = re.compile(r"[A-Za-z0-9][\w\-]*")
WORD = re.compile(r"[a-z0-9][a-z0-9+]*")  # a word as proximity reads it (``tools/ranking/proximity.py``)


class Definition(NamedTuple):
    """One (acronym, expansion) pair: ``key`` and ``terms`` compare them (case, plural, hyphens and
    stop words aside), ``short`` and ``written`` are how a paper wrote them."""

    key: str
    terms: str  # the expansion's terms, space-separated: "low rank adapt"
    short: str
    written: str  # the expansion in lower case: "low-rank adaptation"


def is_acronym(word: str) -> bool:
    """Written with two capitals or more and no space: DPO, LoRA, LLMs, Qwen3-VL."""
    return sum(c.isupper() for c in word) >= 2 and " " not in word


def acronym_key(word: str) -> str:
    """An acronym compared without case or a plural s: LLMs, LLM and llm are one."""
    key = word.lower().replace("-", "")
    return key[:-1] if key.endswith("s") and len(key) > 2 else key


def expansion_terms(text: str) -> str:
    """An expansion as terms, the way proximity reads a field (stems, stop words out), space-separated:
    "Large Language Models" and "large language model" are one."""
    return " ".join(stem(w) for w in WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1)


def long_form(short: str, words: list[str]) -> str | None:
    """The fewest of ``words`` (those just before the bracket) that spell ``short``: its letters in
    order, the first one starting a word; None when none do."""
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


def read_definitions(text: str) -> list[tuple[str, str]]:
    """The (acronym, expansion) pairs a text defines, as written: [("LoRA", "low-rank adaptation")]."""
    out: list[tuple[str, str]] = []
    for m in DEFINED.finditer(text):
        short = m.group(1)
        if not is_acronym(short):
            continue
        before = re.split(r"[.;:()\[\]]", text[max(0, m.start() - 200):m.start()])[-1]
        expansion = long_form(short, WORDS_BEFORE.findall(before))
        if expansion:
            out.append((short, expansion))
    return out


definitions = lru_cache(maxsize=20_000)(read_definitions)  # the same texts recur among search candidates


def paper_definitions(title: str, abstract: str) -> list[Definition]:
    """What a paper defines, each pair once (a paper counts once for a pair, however often it says it)."""
    out: dict[tuple[str, str], Definition] = {}
    text = f"{title}. {abstract}"
    if "(" not in text:
        return []
    for short, long in read_definitions(text):  # not remembered: each paper is stored once
        found = Definition(acronym_key(short), expansion_terms(long), short, long.lower())
        if found.key and found.terms:
            out.setdefault((found.key, found.terms), found)
    return list(out.values())
