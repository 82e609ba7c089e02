"""Citations in generated text: finding the paper ids and ``[id §section]`` references a model wrote.

A model can cite what does not exist (an invented ``9999.99999``, a section the paper does not have).
Every writer that shows model text — chat answers, the digest overview — finds the citations here
and checks them against what it holds; this module only parses, so it needs no store and any layer
may use it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

from papercast.models import InvalidPaperId, normalize_arxiv_id

# A new-style id (2509.04664, optional version) or an old-style one (hep-th/9901001), not inside a
# longer number or a decimal ("1.5", "20250.1").
_ID = re.compile(r"(?<![\w.])(\d{4}\.\d{4,5})(?:v\d+)?(?![\d])|\b([a-z][a-z\-]+(?:\.[A-Z]{2})?/\d{7})\b",
                 re.IGNORECASE)
# [2608.19758 §3.2], [2608.19758, §3.2], [2608.19758 §Related Work]: the paper and what follows "§".
# A heading's leading number: "3.2", "A.1", "IV-A" (appendix letters and roman numerals included).
_NUMBER = re.compile(r"^(?:\d[\w.\-]*|[A-Z](?:\.\d+)*|[IVXL]+(?:-[A-Z])?)\s+", re.IGNORECASE)
_SECTION = re.compile(r"\[\s*(\d{4}\.\d{4,5})(?:v\d+)?\s*,?\s*§\s*([^\]\n]{1,80}?)\s*\]")


def paper_ids_in(text: str) -> set[str]:
    """The arXiv ids (canonical, no version) written in ``text``."""
    return set(cited_ids(text))


def cited_ids(text: str) -> list[str]:
    """The arXiv ids written in ``text``, canonical, each once, in order of first mention."""
    found: dict[str, None] = {}
    for match in _ID.finditer(text):
        raw = match.group(1) or match.group(2)
        try:
            found[normalize_arxiv_id(raw)] = None
        except InvalidPaperId:
            continue
    return list(found)


def section_citations(text: str) -> list[tuple[str, str]]:
    """``(paper id, section)`` of each ``[id §section]`` citation, each once, in order."""
    out: dict[tuple[str, str], None] = {}
    for match in _SECTION.finditer(text):
        out[(normalize_arxiv_id(match.group(1)), " ".join(match.group(2).split()))] = None
    return list(out)


def section_matches(cited: str, sections: Iterable[tuple[str, str]]) -> bool:
    """Whether ``cited`` (after "§") names one of ``sections`` (``(number, path)`` pairs).

    A number must match exactly ("3.2"); a title may be the whole last part of the path or its start
    (``Passage.cite`` shortens long titles with "…"). Case and surrounding spaces are ignored.
    """
    want = cited.strip().rstrip("…").strip().lower()
    if not want:
        return False
    shortened = cited.strip().endswith("…")
    for number, path in sections:
        if number and want == number.strip().lower():
            return True
        last = path.split(" > ")[-1].strip().lower()
        for title in {last, _NUMBER.sub("", last)}:  # "5 Results" is cited as "Results" too
            if title and (want == title or (shortened and title.startswith(want))):
                return True
        if want == path.strip().lower():
            return True
    return False


def strip_ids(text: str, ids: Collection[str]) -> str:
    """``text`` without the citations of ``ids`` (bracketed or bare), spaces tidied.

    For text that must not show an id at all (the digest's overview paragraph); chat answers flag
    instead, so the reader sees what the model claimed.
    """
    if not ids:
        return text

    def drop(match: re.Match[str]) -> str:
        raw = match.group(1) or match.group(2)
        try:
            return "" if normalize_arxiv_id(raw) in ids else match.group(0)
        except InvalidPaperId:
            return match.group(0)

    out = _SECTION.sub(lambda m: "" if normalize_arxiv_id(m.group(1)) in ids else m.group(0), text)
    out = _ID.sub(drop, out)
    out = re.sub(r"\(\s*\)|\[\s*\]", "", out)  # brackets the ids left empty
    out = re.sub(r"\s+([,.;:])", r"\1", out)
    return " ".join(out.split())
