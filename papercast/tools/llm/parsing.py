"""Reading structured answers out of model text: JSON in code fences or prose, batch rows per paper.

Models wrap JSON in fences, add a sentence before it, key rows by id instead of listing them, or
stop mid-object. These helpers accept every shape we have met and turn anything else into a
``ValueError`` that names the problem, so callers can ask once more or fall back.
"""

from __future__ import annotations

import json
import re
from typing import Any


def extract_json(text: str) -> Any:
    """The JSON value in a model's answer: tolerates code fences and prose around one object.

    Anything unparsable, including pathological nesting, is a ``ValueError``.
    """
    try:
        return _extract_json(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def json_rows(text: str, finish_reason: str | None, *, keys: tuple[str, ...], value_key: str) -> list[Any]:
    """The per-paper rows of a batch answer, however the model shaped them.

    Accepts ``{"<key>": [{"id": ..}, ..]}`` for any of ``keys``, a bare list, or an id map
    ``{"<key>": {"<id>": {..} | value}}`` (a bare value lands under ``value_key``). A cut-off or
    unparsable answer, or one without such rows, is a ``ValueError`` naming what is wrong.
    """
    if finish_reason == "length":
        raise ValueError("the answer was cut off (finish_reason=length)")
    try:
        data: Any = extract_json(text)
    except (ValueError, TypeError):
        raise ValueError("not valid JSON") from None
    rows = next((data[k] for k in keys if k in data), None) if isinstance(data, dict) else data
    if isinstance(rows, dict):
        rows = [{"id": k, **(v if isinstance(v, dict) else {value_key: v})} for k, v in rows.items()]
    if not isinstance(rows, list):
        raise ValueError(f'no "{keys[0]}" list')
    return rows


def _extract_json(text: str) -> Any:
    stripped = text.strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", stripped, re.DOTALL)
    if fenced:
        stripped = fenced.group(1).strip()
    try:
        return json.loads(stripped)
    except json.JSONDecodeError:
        start, end = stripped.find("{"), stripped.rfind("}")
        if start == -1 or end <= start:
            raise
        return json.loads(stripped[start:end + 1])
