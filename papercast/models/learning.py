"""What the ranker learns from ratings: the papers it is least sure about, and how well it ranks
(``papercast teach``, ``papercast eval``)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from papercast.models.papers import Paper


class TeachCandidate(BaseModel):
    """A paper the ranker is least sure about (``papercast teach``): rating it teaches it most."""

    paper: Paper
    p_like: float  # the ranker's calibrated probability that the profile likes it
    reasons: list[str] = Field(default_factory=list)
    window: tuple[date, date] | None = None  # the dates it was drawn from: an answer keeps them (for eval)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.paper.id, "title": self.paper.title, "p_like": round(self.p_like, 3),
                "reasons": self.reasons,
                "published": self.paper.published.isoformat() if self.paper.published else None,
                "url": self.paper.url, "authors": self.paper.authors}


class RankingMetrics(BaseModel):
    """How a ranker ordered and classified some rated papers (``papercast eval``)."""

    ndcg: float | None = None
    mrr: float | None = None
    balanced_accuracy: float | None = None
    auc: float | None = None  # how often a like ranks above a dislike or an unrated paper of the window
    liked_right: int = 0  # likes it predicted liked
    disliked_right: int = 0  # dislikes (and dismissals) it predicted not liked


class EvaluationPeriod(BaseModel):
    """One day, week or the whole history of ratings, graded with learning and without."""

    label: str  # "2026-11-30", "2026-W48" or "overall"
    likes: int
    dislikes: int
    days: int  # rating days graded in it
    in_lists: int = 0  # of those, the days replayed on the list they were rated in (the rest: on a draw)
    dismissed: int = 0  # papers hidden from the list and never rated: graded as not liked
    learning: RankingMetrics
    no_learning: RankingMetrics

    def ranked_among(self) -> str:
        """Which papers its days were ranked among, said for the user: the list each was rated in (a rating
        keeps the dates of the list that showed its paper, ``store/shown.py``), else a draw of the library
        (papers no list showed lately, or rated before windows were kept)."""
        drawn = "ranked among a draw of the library from the rated papers' dates (rated outside a list)"
        if self.in_lists == self.days:
            return "each day ranked among the papers of the list it was rated in, in the order the list shows"
        if not self.in_lists:
            return f"each day {drawn}"
        return (f"{self.in_lists} of {self.days} days ranked among the papers of the list they were rated "
                f"in, the other {self.days - self.in_lists} {drawn}")


class Evaluation(BaseModel):
    """The recommender graded on a profile's own ratings, split by time (``papercast eval``)."""

    profile: str
    ratings: int
    needed: str | None = None  # what is missing before anything can be graded
    first_day: date | None = None
    days: list[EvaluationPeriod] = Field(default_factory=list)
    weeks: list[EvaluationPeriod] = Field(default_factory=list)
    overall: EvaluationPeriod | None = None

    def to_json(self) -> dict[str, Any]:
        return json.loads(self.model_dump_json())
