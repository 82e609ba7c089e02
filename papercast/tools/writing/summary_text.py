"""Sentence helpers both kinds of summary use: the abstract's (``summarize``) and the full text's
(``fulltext_summary``) split sentences, cap words and find a field's sentence with the same rules."""

from __future__ import annotations

import re

TLDR_WORDS = 30

_ABBREV = re.compile(r"\b(e\.g|i\.e|et al|etc|vs|cf|Fig|Eq|Sec|approx|resp|w\.r\.t)\.", re.IGNORECASE)
_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[\"'])")
# The sentences that say a field: what the paper does, how, what it finds and what it cannot.
METHOD = re.compile(r"\b(we (propose|introduce|present|develop|design|train|use)|our (method|approach|model|"
                    r"framework)|framework|architecture|algorithm|approach)\b", re.IGNORECASE)
RESULTS = re.compile(r"\b(outperform\w*|achiev\w*|improv\w*|results?|state[- ]of[- ]the[- ]art|sota|"
                     r"experiments? (show|demonstrate)|surpass\w*|gains?|accuracy)\b|\d+(\.\d+)?\s?%",
                     re.IGNORECASE)
LIMITS = re.compile(r"\b(limitation\w*|fails? to|does not|remain\w* (challenging|open))\b", re.IGNORECASE)
CONTRIB = re.compile(r"\b(we (propose|introduce|present|show|release|develop|find|demonstrate)|"
                     r"this (paper|work)|our contributions?)\b", re.IGNORECASE)


# A leading word that points back to the sentence before ("First, ...", "To this end, ..."): a sentence
# lifted out of its abstract reads alone without it.
_LEAD = re.compile(r"^(?:first(?:ly)?|second(?:ly)?|third(?:ly)?|fourth|finally|lastly|next|then|also|"
                   r"moreover|furthermore|additionally|besides|in addition|in particular|specifically|"
                   r"notably|concretely|to this end|to that end|to do so|to do this)\s*,\s*(?=\S)",
                   re.IGNORECASE)


def read_alone(sentence: str) -> str:
    """``sentence`` without a leading connective that needs the sentence before it ("First, we
    introduce X" -> "We introduce X"), its new first word capitalized unless it is written mixed-case
    (a name such as "iOS" or "eBPF" is left alone)."""
    rest = _LEAD.sub("", sentence, count=1)
    if rest == sentence:
        return sentence
    word = rest.split(maxsplit=1)[0]
    return rest[0].upper() + rest[1:] if word.islower() else rest


def split_sentences(text: str) -> list[str]:
    """Sentences of an abstract (abbreviations like "e.g." and "et al." do not end one)."""
    protected = _ABBREV.sub(lambda m: m.group(0).replace(".", "\x00"), " ".join(text.split()))
    parts = [p.replace("\x00", ".").strip() for p in _SPLIT.split(protected)]
    return [p for p in parts if len(p.split()) >= 3]


def first_sentence(text: str) -> str:
    parts = split_sentences(text)
    return parts[0] if parts else text.strip()


def words_cap(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` words, with an ellipsis when cut."""
    words = text.split()
    return text if len(words) <= limit else " ".join(words[:limit]).rstrip(",;:") + "…"
