"""A model's summary answer, validated: ``SummaryDraft`` normalises near-misses (a list given as one
string, a TL;DR of two sentences) instead of rejecting them, so model output never crashes a run."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator

from papercast.errors import one_line
from papercast.tools.llm.parsing import extract_json
from papercast.tools.writing.summary_text import TLDR_WORDS, first_sentence, words_cap

MAX_CONTRIBUTIONS = 4
MAX_KEYWORDS = 8


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        items = re.split(r"\n+|;\s+|(?:^|\s)[-•*]\s+", value) if "\n" in value or ";" in value else [value]
        return [i.strip(" -•*\t") for i in items if i and i.strip(" -•*\t")]
    if isinstance(value, list | tuple):
        return [" ".join(str(i).split()) for i in value if str(i).strip()]
    return [str(value)]


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return " ".join(" ".join(str(i).split()) for i in value)
    return " ".join(str(value).split())


class SummaryDraft(BaseModel):
    """What the model must give; normalises near-misses instead of rejecting them."""

    tldr: str = Field(min_length=3)
    contributions: list[str] = Field(default_factory=list)
    method: str = ""
    results: str = ""
    limitations: str = ""
    keywords: list[str] = Field(default_factory=list)

    @field_validator("tldr", mode="before")
    @classmethod
    def _tldr(cls, value: Any) -> str:
        text = first_sentence(_as_text(value))
        return words_cap(text, TLDR_WORDS)

    @field_validator("contributions", mode="before")
    @classmethod
    def _contributions(cls, value: Any) -> list[str]:
        return [one_line(c, 300) for c in _as_list(value)][:MAX_CONTRIBUTIONS]

    @field_validator("keywords", mode="before")
    @classmethod
    def _keywords(cls, value: Any) -> list[str]:
        items = _as_list(value.split(",") if isinstance(value, str) else value)
        return list(dict.fromkeys(k.lower().strip(" .") for k in items if k.strip(" .")))[:MAX_KEYWORDS]

    @field_validator("method", "results", "limitations", mode="before")
    @classmethod
    def _text(cls, value: Any) -> str:
        return one_line(_as_text(value), 600)


def parse_summary(text: str, finish_reason: str | None = "stop") -> SummaryDraft:
    """The validated summary in a model answer; ValueError says what is wrong with it."""
    if finish_reason == "length":
        raise ValueError("the answer was cut off (finish_reason=length)")
    try:
        data = extract_json(text)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not valid JSON ({one_line(str(exc), 80)})") from None
    if isinstance(data, dict) and isinstance(data.get("summary"), dict):
        data = data["summary"]
    if not isinstance(data, dict):
        raise ValueError("the JSON is not an object")
    try:
        return SummaryDraft.model_validate(data)
    except ValidationError as exc:
        fields = ", ".join(str(e["loc"][0]) for e in exc.errors() if e.get("loc"))
        raise ValueError(f"missing or invalid fields: {fields or 'unknown'}") from None
