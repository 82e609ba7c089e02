"""The ranker's decision boundary: which unrated papers it is least sure a profile would like.

Rating the top of a list mostly confirms what the ranker believes; a rating near its boundary moves it
most (uncertainty sampling). The boundary is the ranker's score calibrated on the profile's ratings in
the window (``classifier.calibrate``); the papers nearest a like probability of one half are chosen,
none a near-duplicate of one already chosen. ``teach`` asks about them; nothing here records anything.
"""

from __future__ import annotations

import numpy as np

from papercast.models import Profile
from papercast.tools.ranking.classifier import calibrate
from papercast.tools.ranking.signals import Signals

NEAR_DUPLICATE = 0.5  # centred cosine above which two candidates ask the same question (MMR's threshold)


def like_logits(sig: Signals, total: np.ndarray, profile: Profile) -> np.ndarray:
    """Each candidate's log-odds of a like: the score calibrated on the profile's ratings in the window
    (papers only dismissed are left out of the calibration: hidden, not rated)."""
    pool = sig.pool
    rated = sig.read & ~_dismissed(profile, sig)
    liked = np.zeros(len(sig.keep), dtype=bool)
    liked[[int(sig.visible[pool.position[i]]) for i in set(profile.liked) | set(profile.saved)
           if i in pool.position and sig.visible[pool.position[i]] >= 0]] = True
    a, b = calibrate(total[rated & liked], total[rated & ~liked], total[~sig.read])
    return a * total + b


def least_sure(sig: Signals, logit: np.ndarray, n: int) -> list[int]:
    """Up to ``n`` unrated candidates (rows of ``sig``) nearest the boundary, most uncertain first, none a
    near-duplicate of one chosen before it."""
    order = np.argsort(np.where(sig.read, np.inf, np.abs(logit)), kind="stable")
    chosen: list[int] = []
    for i in order.tolist():
        if sig.read[i] or len(chosen) == n:
            break
        vector = sig.cen([i])[0]
        if chosen and float((sig.cen(chosen) @ vector).max()) > NEAR_DUPLICATE:
            continue
        chosen.append(i)
    return chosen


def _dismissed(profile: Profile, sig: Signals) -> np.ndarray:
    """The candidates the profile only dismissed (hidden, not rated)."""
    rated = set(profile.liked) | set(profile.saved) | set(profile.disliked)
    out = np.zeros(len(sig.keep), dtype=bool)
    for pid in set(profile.dismissed) - rated:
        row = sig.pool.position.get(pid)
        if row is not None and sig.visible[row] >= 0:
            out[sig.visible[row]] = True
    return out
