"""Active learning (``papercast teach``): the papers the ranker is least sure about.

Rating the top of a list mostly confirms what the ranker believes; a rating near its decision boundary
moves it most (uncertainty sampling). The boundary is the ranker's score calibrated on the profile's
ratings in the window (``classifier.calibrate``): the candidates are the unrated papers whose
probability of a like is nearest one half, none a near-duplicate of one already chosen. Nothing here
records anything: the caller rates only what the user answers.
"""

from __future__ import annotations

import math
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from papercast.errors import UserError
from papercast.models import Profile, TeachCandidate
from papercast.tools.ranking.classifier import calibrate
from papercast.tools.ranking.ratings import ratings_of
from papercast.tools.ranking.reasons import reasons_for
from papercast.tools.ranking.score import score_pool, standardized
from papercast.tools.ranking.signals import Signals
from papercast.tools.ranking.window import load_window, once_more_if_changed, resolve_window

if TYPE_CHECKING:
    from papercast.store.papers import PaperStore

NEAR_DUPLICATE = 0.5  # centred cosine above which two candidates ask the same question (MMR's threshold)


def teach(store: PaperStore, profile: Profile, *, since: date | None = None, until: date | None = None,
          n: int = 5) -> tuple[list[TeachCandidate], str | None]:
    """Up to ``n`` unrated papers of the window nearest the ranker's boundary, most uncertain first,
    and a note when the window is not the one asked for. A profile without ratings, or a window
    without papers to ask about, is a UserError (one line)."""
    if n < 1:
        raise UserError(f"-n must be at least 1, got {n}")
    if not ratings_of(profile):
        raise UserError(f"profile {profile.name} has no ratings yet: teach asks about the papers it is least "
                        "sure of, and it needs a like or a dislike to be unsure about anything "
                        "(papercast profile like ID, or l/d in the TUI)")
    return once_more_if_changed(store, lambda: _teach(store, profile, since, until, n))


def _teach(store: PaperStore, profile: Profile, since: date | None, until: date | None,
           n: int) -> tuple[list[TeachCandidate], str | None]:
    count = store.count()
    since, until, note = resolve_window(store, since, until, count=count)
    window = load_window(store, since, until, count)
    where = f"{since} .. {until}" if since and until else "the library"
    if not window.papers:
        raise UserError(f"no papers to ask about in {where}" + (f" ({note})" if note else ""))
    pool = window.pool
    scored = score_pool(store, profile, pool)
    if scored is None:
        raise UserError(f"every paper in {where} is rated, dismissed or excluded: nothing to ask about")
    sig, total = scored
    rated = sig.read & ~_dismissed(profile, sig)
    liked = np.zeros(len(sig.keep), dtype=bool)
    liked[[int(sig.visible[pool.position[i]]) for i in set(profile.liked) | set(profile.saved)
           if i in pool.position and sig.visible[pool.position[i]] >= 0]] = True
    a, b = calibrate(total[rated & liked], total[rated & ~liked], total[~sig.read])
    logit = a * total + b
    order = np.argsort(np.where(sig.read, np.inf, np.abs(logit)), kind="stable")
    chosen: list[int] = []
    for i in order.tolist():
        if sig.read[i] or len(chosen) == n:
            break
        vector = sig.cen([i])[0]
        if chosen and float((sig.cen(chosen) @ vector).max()) > NEAR_DUPLICATE:
            continue
        chosen.append(i)
    pool.papers_at(sig.keep[chosen].tolist())
    zs = standardized(sig)
    out = []
    dates = (since, until) if since and until else None
    for i in chosen:
        p = 1.0 / (1.0 + math.exp(-float(logit[i])))
        out.append(TeachCandidate(paper=window.paper(sig.papers[i].id), p_like=p, window=dates,
                                  reasons=[f"unsure: {p:.0%} like"] + reasons_for(i, sig, profile, zs)[:2]))
    return out, note


def _dismissed(profile: Profile, sig: Signals) -> np.ndarray:
    """The candidates the profile only dismissed (hidden, not rated)."""
    rated = set(profile.liked) | set(profile.saved) | set(profile.disliked)
    out = np.zeros(len(sig.keep), dtype=bool)
    for pid in set(profile.dismissed) - rated:
        row = sig.pool.position.get(pid)
        if row is not None and sig.visible[row] >= 0:
            out[sig.visible[row]] = True
    return out
