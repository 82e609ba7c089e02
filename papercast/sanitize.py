"""Paper text is untrusted (servers and files papercast does not control): two defences.

* at ingestion (``Paper``'s validator calls ``clean_record``): terminal escape sequences and control
  characters are removed (a title holding ``ESC ]0;PWNED BEL ESC [2J`` would retitle the terminal and
  clear it), newlines are kept only in the free-form fields that may hold them, and every field is cut
  to a size no real paper reaches; what was cut is reported, never dropped silently;
* on output (``escape_controls``): the CLI escapes any control character that still reaches it
  (data stored before this check, text from a model), so nothing in a paper can drive the terminal.
"""

from __future__ import annotations

import json
import re
from typing import Any

# ESC/CSI/OSC sequences as a whole (so "ESC[2J" leaves nothing behind), then single characters.
_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: ESC [ params final
    r"|\x1b\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC: ESC ] text BEL|ST
    r"|\x1b[PX^_][^\x1b\x9c]*(?:\x1b\\|\x9c)?"  # DCS, SOS, PM, APC strings
    r"|\x1b[ -/]*[0-~]?"  # other ESC sequences (and a lone ESC)
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
    r"|\x9d[^\x07\x9c]*(?:\x07|\x9c)?"  # 8-bit OSC
)
# C0 and C1 controls, DEL, and the bidirectional overrides/isolates that reorder what a terminal shows.
_CONTROLS = "\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
_ANY_CONTROL = re.compile(f"[{_CONTROLS}]")
_ASCII_CONTROLS = bytes(range(0x20)) + b"\x7f"
_SPACE_LIKE = re.compile(r"[\t\n\v\f\r\x1c-\x1f\x85]+")

# Sizes no real paper reaches (arXiv caps abstracts at 1,920 characters; the longest author lists,
# from particle physics collaborations, run to ~3,000 names).
TEXT_LIMITS: dict[str, int] = {
    "title": 1_000, "abstract": 10_000, "ai_summary": 5_000, "comment": 2_000, "organization": 300,
    "github_repo": 2_000, "project_page": 2_000,
}
LIST_LIMITS: dict[str, tuple[int, int]] = {  # field: (items, characters per item)
    "authors": (5_000, 300), "categories": (50, 64), "ai_keywords": (100, 100), "sources": (20, 32),
}
MULTILINE_FIELDS = frozenset({"ai_summary", "comment"})  # may keep their line breaks
EXTRA_TEXT_LIMIT = 5_000  # characters of each string in a field papercast does not know
EXTRA_FIELD_LIMIT = 20_000  # characters of one unknown field as JSON; a bigger one is dropped
EXTRA_FIELDS = 50  # unknown fields kept per paper


def has_controls(text: str) -> bool:
    """Whether ``text`` holds a character ``clean_text`` removes. ASCII text (most of it) is checked
    by ``bytes.translate`` in C, much faster than the regular expression that non-ASCII text needs."""
    if text.isascii():
        raw = text.encode("ascii")
        return len(raw.translate(None, _ASCII_CONTROLS)) != len(raw)
    return _ANY_CONTROL.search(text) is not None


def clean_text(text: str, *, multiline: bool = False) -> str:
    """``text`` without escape sequences or control characters; line breaks and tabs become spaces
    unless ``multiline`` (then ``\\n`` stays, ``\\r\\n`` becomes ``\\n``)."""
    if not has_controls(text):
        return text
    text = _SEQUENCE.sub("", text)
    if multiline:
        text = text.replace("\r\n", "\n").replace("\t", " ")
        return "".join(ch for ch in text if ch == "\n" or not _ANY_CONTROL.match(ch))
    text = _SPACE_LIKE.sub(" ", text)
    return _ANY_CONTROL.sub("", text)


def escape_controls(text: str, *, keep: str = "\n\t") -> str:
    """``text`` with every control character but those in ``keep`` shown as ``\\u001b`` and the like,
    so it is visible and inert (the same spelling is a valid escape inside a JSON string)."""
    if not has_controls(text):
        return text
    return "".join(ch if ch in keep or not _ANY_CONTROL.match(ch) else f"\\u{ord(ch):04x}" for ch in text)


def _cut(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def _clean_value(value: Any) -> Any:
    """Strings anywhere inside an unknown field, cleaned (line breaks kept) and capped."""
    if isinstance(value, str):
        return _cut(clean_text(value, multiline=True), EXTRA_TEXT_LIMIT)
    if isinstance(value, list):
        return [_clean_value(v) for v in value]
    if isinstance(value, dict):
        return {clean_text(str(k)): _clean_value(v) for k, v in value.items()}
    return value


def _already_clean(data: dict[str, Any], known: Any) -> bool:
    """Nothing to clean or cut: the usual case, and every stored paper on every read, so the checks
    run in C where they can (one join and one scan of all the text, ``max(map(len, ...))``)."""
    texts: list[str] = []
    for key, value in data.items():
        kind = type(value)
        if kind is str:
            if len(value) > TEXT_LIMITS.get(key, EXTRA_TEXT_LIMIT):
                return False
            texts.append(value)
        elif kind is list and key in LIST_LIMITS:
            items, chars = LIST_LIMITS[key]
            if len(value) > items:
                return False
            if value:
                try:
                    texts.append(" ".join(value))
                except TypeError:  # not all strings: pydantic will say so, after the slow path
                    return False
                if max(map(len, value)) > chars:
                    return False
        elif value is not None and kind not in (int, float, bool) and key not in known:
            return False  # nested unknown data: the slow path looks inside
    return not has_controls(" ".join(texts))


def clean_record(data: dict[str, Any], known: frozenset[str] | set[str]) -> tuple[dict[str, Any], list[str]]:
    """A paper's raw fields cleaned and capped, and what was cut ("title: 52,428,800 → 1,000
    characters"). ``known`` are the model's own fields; the rest are unknown API fields."""
    if _already_clean(data, known):
        return data, []  # every stored paper, on every read: keep that path cheap
    out: dict[str, Any] = {}
    cuts: list[str] = []
    extras = 0
    for key, value in data.items():
        if key in TEXT_LIMITS and isinstance(value, str):
            value = clean_text(value, multiline=key in MULTILINE_FIELDS)
            limit = TEXT_LIMITS[key]
            if len(value) > limit:
                cuts.append(f"{key}: {len(value):,} → {limit:,} characters")
                value = _cut(value, limit)
        elif key in LIST_LIMITS and isinstance(value, list):
            items, chars = LIST_LIMITS[key]
            if len(value) > items:
                cuts.append(f"{key}: {len(value):,} → {items:,} entries")
                value = value[:items]
            cleaned = []
            for item in value:
                if isinstance(item, str):
                    item = clean_text(item).strip()
                    if len(item) > chars:
                        cuts.append(f"{key}: an entry of {len(item):,} → {chars:,} characters")
                        item = _cut(item, chars)
                    if not item:
                        continue
                cleaned.append(item)
            value = cleaned
        elif key == "id" and isinstance(value, str):
            value = clean_text(value)[:200]
        elif key not in known:
            key = clean_text(str(key))[:100]
            extras += 1
            if extras > EXTRA_FIELDS:
                cuts.append(f"unknown field {key[:40]!r} dropped (over {EXTRA_FIELDS} unknown fields)")
                continue
            size = len(json.dumps(value, default=str)) if not isinstance(value, str) else len(value)
            if size > EXTRA_FIELD_LIMIT and not isinstance(value, str):
                cuts.append(f"unknown field {key[:40]!r} dropped ({size:,} characters)")
                continue
            if isinstance(value, str) and size > EXTRA_TEXT_LIMIT:
                cuts.append(f"{key[:40]}: {size:,} → {EXTRA_TEXT_LIMIT:,} characters")
            value = _clean_value(value)
        out[key] = value
    return out, list(dict.fromkeys(cuts))


def summarize_cuts(notes: list[str], limit: int = 20, total: int | None = None) -> list[str]:
    """The first ``limit`` cut notes and a count of the rest (of ``total``, when only the first were
    kept): a hostile file of 100k oversized papers gets 21 lines, not 100k."""
    total = len(notes) if total is None else total
    if total <= limit:
        return notes[:limit]
    return [*notes[:limit], f"... and {total - limit:,} more papers cut to size"]
