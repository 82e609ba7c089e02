"""A paper read in full (its sections, passages and references) and its structured summary."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

DocumentSource = Literal["html", "pdf", "file", "abstract"]
PassageKind = Literal["paragraph", "caption", "abstract"]


class Section(BaseModel):
    """A heading of a paper: ``number`` as the paper prints it ("3.2", "IV-A", "A", or ""), ``path``
    from the nearest numbered section down ("3.2 Training > Data"), ``level`` 1 for a section."""

    number: str = ""
    title: str
    path: str
    level: int = 1

    @property
    def label(self) -> str:
        return f"{self.number} {self.title}".strip()


class Passage(BaseModel):
    """A paragraph-sized piece of a paper's text (never crossing a section), the unit that is
    embedded, searched and cited. ``section`` is the section path; ``section_number`` the number of the
    nearest numbered section ("" for unnumbered ones and the abstract)."""

    paper_id: str
    section: str
    section_number: str = ""
    kind: PassageKind = "paragraph"
    position: int
    text: str

    @property
    def cite(self) -> str:
        """``[2608.19758 §3.2]``: the section number, else a short section title; ``[id]`` for the
        abstract."""
        if self.kind == "abstract":
            return f"[{self.paper_id}]"
        if self.section_number:
            return f"[{self.paper_id} §{self.section_number}]"
        title = self.section.split(" > ")[-1].strip()
        short = title if len(title) <= 32 else title[:31].rstrip() + "…"
        return f"[{self.paper_id} §{short}]" if short else f"[{self.paper_id}]"

    def to_json(self) -> dict[str, Any]:
        return {**self.model_dump(), "cite": self.cite}


class Document(BaseModel):
    """A paper read in full: its outline, its passages in reading order (the abstract first), its
    references. ``source`` says what it was read from; ``note`` why it is only the abstract, or what was
    left out (e.g. pages beyond the cap)."""

    paper_id: str
    title: str
    source: DocumentSource
    sections: list[Section] = Field(default_factory=list)
    passages: list[Passage] = Field(default_factory=list)
    references: list[str] = Field(default_factory=list)
    content_hash: str = ""
    note: str | None = None
    # arXiv could not be reached this time (the abstract stands in): said by ``read``, never stored.
    unreachable: bool = Field(False, exclude=True)

    @property
    def is_fulltext(self) -> bool:
        return self.source != "abstract"

    @property
    def abstract(self) -> str:
        return " ".join(p.text for p in self.passages if p.kind == "abstract")

    def to_json(self) -> dict[str, Any]:
        """The shape of ``papercast read --json``."""
        return {"id": self.paper_id, "title": self.title, "source": self.source, "note": self.note,
                "content_hash": self.content_hash,
                "sections": [s.model_dump() for s in self.sections],
                "passages": [p.to_json() for p in self.passages], "references": self.references}


class SentenceRole(BaseModel):
    """One abstract sentence and what it does there (background, objective, method, result or other),
    with the model's probability for that role: what the paper view highlights and summaries pick from."""

    text: str
    role: str
    confidence: float


def result_sentence(roles: Sequence[SentenceRole]) -> str:
    """The abstract's surest result sentence ("" when no sentence is one): what the paper found, shown
    under its title in the reading list and next to it in a digest."""
    results = [r for r in roles if r.role == "result"]
    return max(results, key=lambda r: r.confidence).text if results else ""


class Summary(BaseModel):
    """A structured summary. ``model`` names who wrote it ("offline" for the extractive one)."""

    paper_id: str
    tldr: str
    contributions: list[str] = Field(default_factory=list)
    method: str = ""
    results: str = ""
    limitations: str = ""
    keywords: list[str] = Field(default_factory=list)
    model: str = "offline"
    prompt_version: str = ""
    created: datetime | None = None
    # What it was made from ("abstract", "html", "pdf", "file") and, per field, the sections it drew on.
    source: str = "abstract"
    sections: dict[str, list[str]] = Field(default_factory=dict)

    @property
    def is_offline(self) -> bool:
        return self.model == "offline"

    def to_json(self, label: str | None = None) -> dict[str, Any]:
        """The JSON shape of a summary (``summarize --json``), with how it is labelled when given."""
        data = json.loads(self.model_dump_json())
        return data | {"label": label} if label is not None else data
