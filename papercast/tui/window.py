"""The date window a list shows: today, this week, the last 30 days, everything, or a custom range.

``today`` is injected (the app's clock) so tests and snapshots can freeze it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

PRESETS = ("today", "week", "month", "all")
LABELS = {"today": "today", "week": "this week", "month": "last 30 days", "all": "all papers",
          "custom": "custom"}


@dataclass(frozen=True)
class Window:
    kind: str
    since: date | None
    until: date | None

    @classmethod
    def preset(cls, kind: str, today: date) -> Window:
        if kind == "today":
            return cls(kind, today, today)
        if kind == "week":
            return cls(kind, today - timedelta(days=6), today)
        if kind == "month":
            return cls(kind, today - timedelta(days=29), today)
        if kind == "all":
            return cls(kind, None, None)
        raise ValueError(f"unknown window {kind!r}")

    @classmethod
    def parse(cls, text: str) -> Window:
        """``YYYY-MM-DD`` (one day) or ``YYYY-MM-DD..YYYY-MM-DD``; ValueError with a one-line cause."""
        parts = [p.strip() for p in text.replace("–", "..").split("..")]
        try:
            days = [date.fromisoformat(p) for p in parts if p]
        except ValueError:
            raise ValueError(f"not a date range: {text!r} (use YYYY-MM-DD..YYYY-MM-DD)") from None
        if not days or len(days) > 2:
            raise ValueError(f"not a date range: {text!r} (use YYYY-MM-DD..YYYY-MM-DD)")
        since, until = days[0], days[-1]
        if since > until:
            raise ValueError(f"{since} is after {until}")
        return cls("custom", since, until)

    @property
    def label(self) -> str:
        return describe(self.kind, self.since, self.until)


def describe(kind: str, since: date | None, until: date | None) -> str:
    """A short human label: ``this week (2026-08-14 – 2026-08-20)``."""
    name = LABELS.get(kind, kind)
    if since is None and until is None:
        return name
    if since == until:
        return f"{name} ({since})" if kind != "custom" else f"{since}"
    span = f"{since or '…'} – {until or '…'}"
    return span if kind == "custom" else f"{name} ({span})"
