"""JSON schemas of the answers papercast asks models for (summaries, TL;DR batches, re-rank scores).

Why schemas and not only prompts: a model that supports them (``json_schema``) cannot leave out a
field, and a local llama.cpp server turns a schema attached to JSON mode into a grammar, so even a
135M-parameter model writes valid JSON with the right keys, ids from the request only (``enum``)
and bounded lengths (``maxLength``/``maxItems``). The bounds keep a rambling model's answer inside
``max_tokens`` instead of cut off mid-object. They mirror what the parsers keep (a TL;DR of at most
30 words, at most 4 contributions and 8 keywords); hosted strict modes get them without the bounds
(``policy.strict_schema``). The parsers stay lenient: the schema is a request, not a guarantee.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _text(max_chars: int, min_chars: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "string", "maxLength": max_chars}
    if min_chars:
        out["minLength"] = min_chars
    return out


def _list(item: dict[str, Any], max_items: int, min_items: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "array", "items": item, "maxItems": max_items}
    if min_items:
        out["minItems"] = min_items
    return out


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties),
            "additionalProperties": False}


# ~1,900 characters at most: about 500 tokens, inside the 700 a summary may use.
SUMMARY_SCHEMA: dict[str, Any] = _object({
    "tldr": _text(240, 20),
    "contributions": _list(_text(160, 5), 4, 1),
    "method": _text(300),
    "results": _text(300),
    "limitations": _text(200),
    "keywords": _list(_text(30, 2), 8, 1),
})


def _ids(ids: Sequence[str]) -> dict[str, Any]:
    return {"type": "string", "enum": list(dict.fromkeys(ids))}


def tldr_schema(ids: Sequence[str]) -> dict[str, Any]:
    """``{"papers": [{"id", "tldr", "keywords"}]}`` with one row per paper asked about."""
    row = _object({"id": _ids(ids), "tldr": _text(200, 20), "keywords": _list(_text(24, 2), 3, 1)})
    return _object({"papers": _list(row, len(ids), len(ids))})


def rerank_schema(ids: Sequence[str]) -> dict[str, Any]:
    """``{"scores": [{"id", "score" 1..10, "reason"}]}`` with one row per paper asked about."""
    row = _object({"id": _ids(ids), "score": {"type": "integer", "enum": list(range(1, 11))},
                   "reason": _text(110)})
    return _object({"scores": _list(row, len(ids), len(ids))})
