"""arXiv ids from a likes file: a plain list of ids/URLs, or a BibTeX export (Zotero, Google
Scholar, arXiv's own "Export BibTeX").

BibTeX carries the arXiv id in several places depending on the exporter: ``eprint`` (with
``archivePrefix = {arXiv}``), ``url``/``howpublished`` (arxiv.org/abs/...), ``doi``
(10.48550/arXiv.X), ``journal = {arXiv preprint arXiv:X}`` or a note. Entries with none of these
are reported by key so the user knows what was skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from papercast.models import InvalidPaperId, normalize_arxiv_id

_NEW = r"\d{4}\.\d{4,5}(?:v\d+)?"
_OLD = r"[a-z][a-z\-]+(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?"
_PATTERNS = [
    re.compile(rf"10\.48550/arxiv\.({_NEW}|{_OLD})", re.IGNORECASE),
    re.compile(rf"arxiv\.org/(?:abs|pdf|html)/({_NEW}|{_OLD})", re.IGNORECASE),
    re.compile(rf"huggingface\.co/papers/({_NEW})", re.IGNORECASE),
    re.compile(rf"arxiv[:\s]\s*({_NEW}|{_OLD})", re.IGNORECASE),
]
_ENTRY = re.compile(r"@(\w+)\s*\{\s*([^,\s]*)\s*,", re.IGNORECASE)
_FIELD = re.compile(r"(\w+)\s*=\s*", re.IGNORECASE)


@dataclass
class LikesFile:
    ids: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # entries/lines without an arXiv id


class ImportedLikes(list[str]):
    """The liked ids of an import, with what could not be liked (a list, so callers that want
    only the ids need nothing else)."""

    def __init__(self, ids: list[str], *, missing: list[str], skipped: list[str], profile: str) -> None:
        super().__init__(ids)
        self.missing = missing
        self.skipped = skipped
        self.profile = profile


def _field_values(body: str) -> dict[str, str]:
    """``name -> value`` for a BibTeX entry body; values in braces (nested) or quotes or bare."""
    out: dict[str, str] = {}
    pos = 0
    while True:
        m = _FIELD.search(body, pos)
        if not m:
            return out
        name, i = m.group(1).lower(), m.end()
        if i < len(body) and body[i] == "{":
            depth, j = 0, i
            while j < len(body):
                depth += {"{": 1, "}": -1}.get(body[j], 0)
                if depth == 0:
                    break
                j += 1
            value, pos = body[i + 1:j], j + 1
        elif i < len(body) and body[i] == '"':
            j = body.find('"', i + 1)
            j = len(body) if j < 0 else j
            value, pos = body[i + 1:j], j + 1
        else:
            j = body.find(",", i)
            j = len(body) if j < 0 else j
            value, pos = body[i:j], j + 1
        out.setdefault(name, " ".join(value.replace("{", "").replace("}", "").split()))


def _find_id(text: str) -> str | None:
    for pattern in _PATTERNS:
        m = pattern.search(text)
        if m:
            try:
                return normalize_arxiv_id(m.group(1))
            except InvalidPaperId:
                continue
    return None


def _entry_id(values: dict[str, str]) -> str | None:
    eprint = values.get("eprint", "")
    prefix = values.get("archiveprefix", values.get("eprinttype", "arxiv")).lower()
    if eprint and "arxiv" in prefix:
        try:
            return normalize_arxiv_id(eprint)
        except InvalidPaperId:
            pass
    for name in ("doi", "url", "howpublished", "journal", "note", "eprint", "pdf", "booktitle"):
        found = _find_id(values.get(name, ""))
        if found:
            return found
    return None


def parse_bibtex(text: str) -> LikesFile:
    result = LikesFile()
    starts = [m for m in _ENTRY.finditer(text)]
    for k, m in enumerate(starts):
        kind, key = m.group(1).lower(), m.group(2)
        if kind in ("comment", "string", "preamble"):
            continue
        end = starts[k + 1].start() if k + 1 < len(starts) else len(text)
        found = _entry_id(_field_values(text[m.end():end]))
        if found:
            result.ids.append(found)
        else:
            result.skipped.append(f"@{kind}{{{key}}}: no arXiv id")
    result.ids = list(dict.fromkeys(result.ids))
    return result


def parse_id_list(text: str) -> LikesFile:
    """One id per line (or several separated by spaces/commas); '#' starts a comment."""
    result = LikesFile()
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        for token in re.split(r"[\s,;]+", line):
            if not token:
                continue
            try:
                result.ids.append(normalize_arxiv_id(token))
            except InvalidPaperId:
                found = _find_id(token)
                if found:
                    result.ids.append(found)
                else:
                    result.skipped.append(f"line {number}: not an arXiv id: {token!r}")
    result.ids = list(dict.fromkeys(result.ids))
    return result


def parse_likes(text: str) -> LikesFile:
    """Ids from a likes file, BibTeX or a plain list (detected by an ``@type{`` entry)."""
    if _ENTRY.search(text):
        return parse_bibtex(text)
    return parse_id_list(text)
