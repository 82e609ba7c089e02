"""Words to terms: the tokenizer and stemmer that BM25, search and the ranking cache share.

It sits in ``store/`` because the ranking cache (``store/ranking_cache.py``) stores each paper's
terms when the paper is written; ``tools/ranking/lexical.py`` indexes and scores them. Words are
stemmed with Snowball (Porter2, PyStemmer's C stemmer) after British spellings are made American,
so singular and plural, verb forms and both spellings meet.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

TOKEN = re.compile(r"[a-z0-9][a-z0-9\-+]*[a-z0-9+]|[a-z0-9]")
_STOPWORD_TEXT = """
a an and are as at be been being but by can could did do does for from had has have how however i if in
into is it its it's may might more most much must no not of on or our over paper propose proposed
show shows such than that the their them then there these they this those through to toward towards
under up upon use used uses using via was we were what when where which while who whose will with
within without would you your also both each other only same so some very well new novel approach
approaches method methods work study based results result present presents introduce introduces
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


# British spellings that Snowball would stem apart from their American forms. "-ise" verbs become
# "-ize" unless the word is one of the many that are spelled "-ise" everywhere (supervise, promise).
_ISE = re.compile(r"^([a-z]{3,}?)(is|ys)(e|es|ed|ing|er|ers|ation|ations|able)$")
_ISE_TEXT = """
advertise advise apprise appraise arise chastise circumcise comprise compromise concise cruise demise despise
devise disguise enterprise excise exercise expertise franchise guise improvise incise merchandise otherwise
paradise poise praise precise premise promise raise revise rise sunrise supervise surmise surprise televise
treatise likewise clockwise counterclockwise anticlockwise unwise wise noise bruise valise mortise tortoise
porpoise reprise turquoise imprecise uprise
"""
_ISE_WORDS = frozenset(_ISE_TEXT.split())
_OUR = ("behaviour", "colour", "favour", "flavour", "honour", "humour", "labour", "neighbour", "rumour",
        "vapour", "harbour", "endeavour", "armour", "odour", "vigour", "tumour")
_TRE = {"centre": "center", "centres": "centers", "centred": "centered", "fibre": "fiber", "fibres": "fibers",
        "metre": "meter", "metres": "meters", "litre": "liter", "litres": "liters", "theatre": "theater",
        "theatres": "theaters", "spectre": "specter"}
_STEM_FIXES = {"emb": "embed"}  # Snowball takes "embed" for a past tense ("emb"); "embedded" is "embed"
_VOWEL = re.compile(r"[aeiouy]")
_STEMMER_LOCK = threading.Lock()  # a PyStemmer object must not be used by two threads at once


def american(word: str) -> str:
    """The American spelling of a British one (optimise -> optimize, behaviour -> behavior,
    centre -> center), so both stem alike; other words unchanged."""
    if word in _TRE:
        return _TRE[word]
    if "our" in word:
        for british in _OUR:
            if word.startswith(british):
                return british[:-2] + "r" + word[len(british):]
    m = _ISE.match(word)
    if m and m.group(1) + m.group(2) + "e" not in _ISE_WORDS:
        return f"{m.group(1)}{m.group(2)[0]}z{m.group(3)}"
    return word


@lru_cache(maxsize=1)
def _stemmer() -> object:
    import Stemmer  # PyStemmer: Snowball's C stemmers

    return Stemmer.Stemmer("english")


def _snowball(word: str) -> str:
    with _STEMMER_LOCK:
        return str(_stemmer().stemWord(word))  # type: ignore[attr-defined]


@lru_cache(maxsize=200_000)  # the vocabulary repeats: stem each word once per process
def stem(token: str) -> str:
    """Snowball (Porter2) English stem, after British spellings are made American, so that
    singular and plural, verb forms and both spellings meet (models/model, embedding/embeddings/embed,
    optimise/optimize, modelling/modeling, fuelled/fueled). Numbers and short tokens are kept."""
    if len(token) <= 2 or not token.isalpha():
        return token
    if token.endswith("s") and len(token) >= 4 and not _VOWEL.search(token[:-1]):
        return token[:-1]  # an acronym's plural: LLMs, CNNs (Snowball strips no s after a vowel-less part)
    word = american(token)
    out = _snowball(word)
    if out.endswith("ll") and ("lled" in word or "lling" in word or "ller" in word):
        single = _snowball(word.replace("ll", "l"))  # travelled/traveled: one stem whichever the l's
        if single == out[:-1]:
            out = single
    return _STEM_FIXES.get(out, out)


# Words and terms as the tokenizer sees them, remembered per process: the vocabulary repeats, so
# a document costs one regex pass and one dictionary lookup per word.
_WORD_TERMS: dict[str, tuple[str, ...]] = {}  # raw word -> its terms ("low-rank": low-rank, low, rank)
MAX_WORDS = 1_000_000  # a bound on the word caches; the vocabulary itself must keep its ids


def terms_of_word(raw: str) -> tuple[str, ...]:
    hit = _WORD_TERMS.get(raw)
    if hit is None:
        parts = [raw] if "-" not in raw else [raw, *raw.split("-")]
        hit = tuple(stem(p) for p in parts if p and p not in STOPWORDS and len(p) > 1)
        if len(_WORD_TERMS) > MAX_WORDS:
            _WORD_TERMS.clear()
        _WORD_TERMS[raw] = hit
    return hit


def tokens(text: str) -> list[str]:
    """Lower-cased, stemmed word tokens without stopwords; hyphenated words also split."""
    out: list[str] = []
    for raw in TOKEN.findall(text.lower()):
        hit = _WORD_TERMS.get(raw)
        out += hit if hit is not None else terms_of_word(raw)
    return out


def term_counts(text: str) -> tuple[list[str], list[int], int]:
    """A document's distinct terms with their counts, and its length in terms (what an index keeps)."""
    counted: dict[str, int] = {}
    found = tokens(text)
    for t in found:
        counted[t] = counted.get(t, 0) + 1
    return list(counted), list(counted.values()), len(found)
