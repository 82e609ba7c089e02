"""Papers and the lists they come in: a paper from any source, a ranked recommendation, a
search hit, a reading list.

`Paper` keeps unknown API fields (``extra="allow"``) so nothing a source tells us is thrown away.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from papercast.ids import normalize_arxiv_id
from papercast.sanitize import clean_record


class Paper(BaseModel):
    """A paper as papercast knows it. ``id`` is the arXiv id without version."""

    model_config = ConfigDict(extra="allow")

    id: str
    title: str
    abstract: str = ""
    authors: list[str] = Field(default_factory=list)
    published: date | None = None
    categories: list[str] = Field(default_factory=list)
    upvotes: int | None = None
    sources: list[str] = Field(default_factory=list)  # "hf", "arxiv", "import", ...
    # Hugging Face Daily Papers fields (None when unknown).
    hf_date: date | None = None  # the Daily Papers list the paper was on
    num_comments: int | None = None
    ai_summary: str | None = None
    ai_keywords: list[str] = Field(default_factory=list)
    github_repo: str | None = None
    github_stars: int | None = None
    project_page: str | None = None
    organization: str | None = None
    comment: str | None = None  # arXiv comment (pages, venue)
    # What ``clean_record`` cut to size when this paper came in ("title: 52,428,800 → 1,000 characters").
    _cuts: list[str] = PrivateAttr(default_factory=list)

    @model_validator(mode="wrap")
    @classmethod
    def _sanitize(cls, data: Any, handler: Any) -> Any:
        """Paper text is untrusted: control characters out and every field capped before anything
        stores or shows it (papercast/sanitize.py); the cuts are kept for ``cut_note``."""
        cuts: list[str] = []
        if isinstance(data, dict):
            data, cuts = clean_record(data, cls.model_fields.keys())
        paper = handler(data)
        if cuts:
            paper._cuts = cuts
        return paper

    def cut_note(self) -> str | None:
        """One line saying what was cut from this paper when it came in (None: nothing)."""
        return f"{self.id}: cut to size: {'; '.join(self._cuts)}" if self._cuts else None

    @field_validator("id")
    @classmethod
    def _normalize_id(cls, value: str) -> str:
        return normalize_arxiv_id(value)

    @field_validator("title", "abstract")
    @classmethod
    def _collapse_ws(cls, value: str) -> str:
        return " ".join(str(value).split())

    @field_validator("published", "hf_date", mode="before")
    @classmethod
    def _parse_date(cls, value: Any) -> Any:
        if isinstance(value, str) and len(value) > 10:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
        return value

    def to_json(self) -> dict[str, Any]:
        """The JSON shape of a paper on the command line (``papers show --json``)."""
        data = json.loads(self.model_dump_json(exclude_none=True))
        data.update({"url": self.url, "pdf_url": self.pdf_url})
        return data

    @property
    def url(self) -> str:
        return f"https://arxiv.org/abs/{self.id}"

    @property
    def pdf_url(self) -> str:
        return f"https://arxiv.org/pdf/{self.id}"

    @property
    def hf_url(self) -> str:
        return f"https://huggingface.co/papers/{self.id}"

    @property
    def embedding_text(self) -> str:
        """What the embedding model reads: title and abstract."""
        return f"{self.title}. {self.abstract}".strip()

    @property
    def first_author(self) -> str:
        return self.authors[0] if self.authors else ""

    def merged_with(self, other: Paper) -> Paper:
        """One record from two sources: fields of ``other`` fill and refresh ours.

        arXiv metadata (abstract, categories) and HF fields (upvotes, ai_*) come together;
        a non-empty value never gets replaced by an empty one.
        """
        mine = self.model_dump()
        theirs = other.model_dump()
        for key, value in theirs.items():
            if key == "sources":
                mine["sources"] = sorted(set(mine.get("sources") or []) | set(value or []))
            elif value not in (None, "", [], {}):
                if key == "upvotes" and mine.get("upvotes") is not None:
                    mine[key] = max(mine[key], value)
                else:
                    mine[key] = value
        merged = Paper.model_validate(mine)
        merged._cuts = list(dict.fromkeys([*self._cuts, *other._cuts]))  # still to be reported
        return merged


class Recommendation(BaseModel):
    paper: Paper
    score: float
    reasons: list[str] = Field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The `recommend --json` item shape of the CLI contract."""
        return {
            "id": self.paper.id,
            "title": self.paper.title,
            "score": round(self.score, 4),
            "reasons": self.reasons,
            "published": self.paper.published.isoformat() if self.paper.published else None,
            "url": self.paper.url,
            "authors": self.paper.authors,
            "upvotes": self.paper.upvotes,
        }


class SearchHit(BaseModel):
    """A search result: the paper, its fused score (higher is better, comparable within one search
    only) and why it matched ("matches: kv cache", "close in meaning to the query")."""

    paper: Paper
    score: float
    reasons: list[str] = Field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The `papers search --json` item shape: the paper's JSON plus its score and reasons."""
        return self.paper.to_json() | {"score": round(self.score, 4), "reasons": self.reasons}


@dataclass
class ReadingList:
    """A ranked list and the window it came from (``note`` says when another window was used)."""

    items: list[Recommendation]
    since: date | None
    until: date | None
    note: str | None = None
    llm_notes: list[str] = field(default_factory=list)  # the model's re-ranking troubles, one line each
