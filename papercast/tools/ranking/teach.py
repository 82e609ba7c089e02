"""Active learning (``papercast teach``): the window's papers the ranker is least sure about
(``boundary``), with what moved them. Nothing here records anything: the caller rates only what the
user answers.
"""

from __future__ import annotations

import math
from datetime import date
from typing import TYPE_CHECKING

from papercast.errors import UserError
from papercast.models import Profile, TeachCandidate
from papercast.tools.ranking.boundary import least_sure, like_logits
from papercast.tools.ranking.ratings import ratings_of
from papercast.tools.ranking.reasons import reasons_for
from papercast.tools.ranking.score import score_pool, standardized
from papercast.tools.ranking.window import load_window, once_more_if_changed, resolve_window

if TYPE_CHECKING:
    from papercast.store.papers import PaperStore


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
    logit = like_logits(sig, total, profile)
    chosen = least_sure(sig, logit, n)
    pool.papers_at(sig.keep[chosen].tolist())
    zs = standardized(sig)
    out = []
    for i in chosen:
        p = 1.0 / (1.0 + math.exp(-float(logit[i])))
        out.append(TeachCandidate(paper=window.paper(sig.papers[i].id), p_like=p,
                                  reasons=[f"unsure: {p:.0%} like"] + reasons_for(i, sig, profile, zs)[:2]))
    return out, note

