"""A profile's ratings in time: which papers it liked or disliked, and on which day.

Learning is measured and paced in rating days. ``evaluation`` grades each day's ratings with what
the ranker knew the day before; the ranker itself (``score.score_pool``) leans on what it learned
since the first rating day only as far as the days of evidence allow. Both need the same view of
the feedback: one rating per paper (its last word), dated by day, and the profile as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from papercast.models import Profile


@dataclass(frozen=True)
class Rating:
    paper_id: str
    liked: bool
    day: date
    dismissed: bool = False  # not liked because it was hidden from the list (graded, never learned from)
    window: tuple[date, date] | None = None  # the dates of the list it was given in, when recorded


def ratings_of(profile: Profile) -> list[Rating]:
    """The profile's ratings, oldest first: one per paper, a like or save (liked) or a dislike, dated by
    its first feedback of that kind (a paper liked and later disliked counts as disliked, when it was)."""
    out: dict[str, Rating] = {}
    for item in sorted(profile.feedback, key=lambda f: f.at):
        if item.kind in ("like", "save"):
            if not (item.paper_id in out and out[item.paper_id].liked):
                out[item.paper_id] = Rating(item.paper_id, True, item.at.date(), window=item.window)
        elif item.kind == "dislike":
            out[item.paper_id] = Rating(item.paper_id, False, item.at.date(), window=item.window)
    return sorted(out.values(), key=lambda r: r.day)


def graded_ratings(profile: Profile) -> list[Rating]:
    """What ``eval`` grades: the ratings, and each paper dismissed and never rated as not liked (a paper
    the user hid from the list was not wanted there; a profile that only likes and dismisses is graded
    too). The ranker learns only from dismissals beside likes (``passed_over``)."""
    rated = ratings_of(profile)
    seen = {r.paper_id for r in rated}
    hidden: dict[str, Rating] = {}
    for item in sorted(profile.feedback, key=lambda f: f.at):
        if item.kind == "dismiss" and item.paper_id not in seen and item.paper_id not in hidden:
            hidden[item.paper_id] = Rating(item.paper_id, False, item.at.date(), dismissed=True,
                                           window=item.window)
    return sorted([*rated, *hidden.values()], key=lambda r: r.day)


def rating_days(profile: Profile) -> list[date]:
    """The days the profile rated papers on, oldest first."""
    return sorted({r.day for r in ratings_of(profile)})


def as_of(profile: Profile, before: date) -> Profile:
    """The profile as it was before ``before``: its feedback given earlier (interests as today)."""
    return profile.model_copy(update={"feedback": [f for f in profile.feedback if f.at.date() < before]})


def starting_point(profile: Profile) -> Profile | None:
    """The profile as it stood at the end of its first rating day (what it started from: likes brought
    in, an author's papers), or None while all its ratings are from one day (nothing learned since)."""
    days = rating_days(profile)
    return as_of(profile, days[0] + timedelta(days=1)) if len(days) > 1 else None


def passed_over(profile: Profile) -> list[str]:
    """Papers dismissed, never rated, on a day the profile also liked or saved a paper: a list read and
    answered ("these, not those"), so negatives for the ranker, like dislikes. A dismissal on a day
    without a like clears the list (read elsewhere, hidden unread) and says nothing about a topic."""
    liking_days = {f.at.date() for f in profile.feedback if f.kind in ("like", "save")}
    return [r.paper_id for r in graded_ratings(profile) if r.dismissed and r.day in liking_days]
