"""Interest profiles and the feedback (like, dislike, save, dismiss) that lives with them."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

FeedbackKind = Literal["like", "dislike", "save", "dismiss"]
# Liking a paper takes back a dislike of it and vice versa; the other kinds are independent.
OPPOSITE_FEEDBACK: dict[str, FeedbackKind] = {"like": "dislike", "dislike": "like"}


class Feedback(BaseModel):
    paper_id: str
    kind: FeedbackKind
    at: datetime
    # The dates of the list it was given in (the reading list's window, teach's), when it was given in one:
    # ``papercast eval`` replays that day's ratings on the same papers. None: given elsewhere (a search, the
    # CLI by id, the agent), or before windows were recorded.
    window: tuple[date, date] | None = None


class Profile(BaseModel):
    """A named interest profile. Feedback lives with it (liked/disliked/saved/dismissed)."""

    name: str
    interests: str = ""
    keywords: list[str] = Field(default_factory=list)
    excluded_keywords: list[str] = Field(default_factory=list)
    authors: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    feedback: list[Feedback] = Field(default_factory=list)
    created: datetime | None = None
    updated: datetime | None = None

    def ids(self, kind: FeedbackKind) -> list[str]:
        return [f.paper_id for f in self.feedback if f.kind == kind]

    @property
    def liked(self) -> list[str]:
        return self.ids("like")

    @property
    def disliked(self) -> list[str]:
        return self.ids("dislike")

    @property
    def saved(self) -> list[str]:
        return self.ids("save")

    @property
    def dismissed(self) -> list[str]:
        return self.ids("dismiss")

    def to_json(self, *, active: bool) -> dict[str, Any]:
        """The JSON shape of a profile (``profile show --json``): its fields and feedback by kind."""
        data = json.loads(self.model_dump_json())
        data["active"] = active
        for kind in ("liked", "disliked", "saved", "dismissed"):
            data[kind] = getattr(self, kind)
        return data
