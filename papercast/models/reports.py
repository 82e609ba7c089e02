"""What storing, importing, fetching and delivering did, as the commands report it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from papercast.models.papers import Paper


@dataclass
class UpsertResult:
    """What one store write did to each paper."""

    added: int = 0
    updated: int = 0  # metadata refreshed, embedding kept
    reembedded: int = 0  # title/abstract changed
    unchanged: int = 0

    @property
    def embedded(self) -> int:
        return self.added + self.reembedded

    def to_json(self) -> dict[str, int]:
        return {"added": self.added, "updated": self.updated + self.reembedded, "unchanged": self.unchanged}


def _upsert_json(result: UpsertResult | None) -> dict[str, int]:
    return result.to_json() if result is not None else UpsertResult().to_json()


@dataclass
class ImportReport:
    files: list[str] = field(default_factory=list)
    parsed: int = 0
    errors: list[str] = field(default_factory=list)
    result: UpsertResult | None = None
    notes: list[str] = field(default_factory=list)  # fields cut to size, the sample removed

    def to_json(self, stored: int | None = None) -> dict[str, Any]:
        """``import --json``: what was read, what the store made of it, every skipped entry."""
        return {"files": self.files, "parsed": self.parsed, **_upsert_json(self.result),
                "errors": self.errors, "notes": self.notes, "stored": stored}


@dataclass
class FetchReport:
    papers: list[Paper] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    result: UpsertResult | None = None
    new_ids: list[str] = field(default_factory=list)  # papers the store did not hold before

    def to_json(self, stored: int | None = None) -> dict[str, Any]:
        """``fetch --json``: the papers fetched (ids), what the store made of them, errors and notes."""
        return {"fetched": len(self.papers), "ids": [p.id for p in self.papers], **_upsert_json(self.result),
                "errors": self.errors, "notes": self.notes, "stored": stored}


DeliveryChannel = Literal["email", "webhook", "feed", "file", "stdout"]


class DeliveryRecord(BaseModel):
    """One digest that reached one channel: the history behind "never resend" (``papercast history``).

    ``target`` is what may be shown and stored: addresses, a file path, a webhook's scheme and host
    only (its path is the secret that lets anyone post).
    """

    id: int
    profile: str
    channel: DeliveryChannel
    target: str = ""
    day: date
    at: datetime
    papers: list[str] = Field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "profile": self.profile, "channel": self.channel, "target": self.target,
                "day": self.day.isoformat(), "at": self.at.isoformat(timespec="seconds"),
                "papers": self.papers}
