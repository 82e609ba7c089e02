"""Why a paper is on the list: short strings naming the signals that put it there.

Reasons quote the numbers the score used (``Signals``), strongest first. Absolute plain-cosine
thresholds keep them honest: below ``MATCH_COSINE`` a paper can still rank (it is the best the
window has), but its reason says "a loose match" instead of "matches your interest".
"""

from __future__ import annotations

import numpy as np

from papercast.models import Profile
from papercast.tools.ranking.lexical import surface_forms
from papercast.tools.ranking.signals import Signals

# Plain-cosine thresholds (MiniLM) above which a reason says "matches" / "similar".
MATCH_COSINE = 0.35
LIKE_COSINE = 0.5


def reasons_for(i: int, sig: Signals, profile: Profile, zs: dict[str, np.ndarray]) -> list[str]:
    """Short strings naming the signals that put paper ``i`` on the list, strongest first."""
    paper = sig.papers[i]
    out: list[tuple[float, str]] = []
    z = {k: float(x[i]) for k, x in zs.items()}
    if i in sig.by_author:
        out.append((10.0, f"by an author you follow: {sig.by_author[i]}"))
    for kw in sig.kw_hits.get(i, [])[:2]:
        out.append((5.0, f"mentions your keyword: '{kw}'"))
    if sig.queries and sig.raw_sims is not None:
        candidates = sig.phrases or [profile.interests]
        cand_idx = [sig.queries.index(c) for c in candidates if c in sig.queries] or [0]
        best = max(cand_idx, key=lambda j: sig.raw_sims[j, i])
        if sig.raw_sims[best, i] >= MATCH_COSINE:
            out.append((2.0 + float(sig.raw_sims[best, i]), f"matches your interest: '{sig.queries[best]}'"))
    like_raw = sig.like_raw([i])
    if like_raw is not None:
        j = int(np.argmax(like_raw[:, 0]))
        if like_raw[j, 0] >= LIKE_COSINE and sig.pos_ids[j] in sig.liked_titles:
            liked = sig.pos_ids[j]
            out.append((2.5 + float(like_raw[j, 0]), f"near your like {liked}: {sig.liked_titles[liked]}"))
    lowered = sig.values.get("disliked")
    if lowered is not None and lowered[i] > 0 and sig.dislike_raw is not None:
        # It ranks lower than its other signals would put it: say which rating did that.
        j = int(np.argmax(sig.dislike_raw[:, i]))
        out.append((1.5, f"lowered: close to your dislike {sig.neg_ids[j]}"))
    passed = sig.values.get("dismissed")
    if passed is not None and passed[i] > 0 and sig.passed_raw is not None:
        j = int(np.argmax(sig.passed_raw[:, i]))
        out.append((1.4, f"lowered: close to {sig.passed_ids[j]}, which you dismissed beside your likes"))
    if z.get("classifier", 0) > 1.5:
        out.append((z["classifier"] - 0.5, f"fits the pattern of your {sig.n_liked} liked/saved papers"))
    if "lexical" in z:
        forms = surface_forms(profile.interests)
        found = [forms.get(t, t) for t in sig.matched.get(i, [])]
        # "long-context" makes "long" and "context" redundant.
        parts = {p for t in found if "-" in t for p in t.split("-")}
        terms = [t for t in found if t not in parts][:3]
        if terms and z["lexical"] > 0.5 and i not in sig.kw_hits:
            out.append((z["lexical"] - 0.3, f"uses your terms: {', '.join(terms)}"))
    if i in sig.in_cat:
        out.append((1.0, f"in your category: {sig.in_cat[i]}"))
    if (paper.upvotes or 0) >= 20:
        out.append((0.8, f"trending on HF: {paper.upvotes} upvotes"))
    if not out:
        if z.get("prf", 0) > 1.5:
            out.append((0.0, "in the same area as your top matches"))
        elif z.get("neighbours", 0) > 1.5:
            out.append((0.0, "its nearest papers in this window match your profile"))
        elif sig.queries and sig.raw_sims is not None:
            j = int(np.argmax(sig.raw_sims[:, i]))
            out.append((0.0, f"a loose match: among this window's closest to '{sig.queries[j]}'"))
        elif paper.upvotes:
            out.append((0.0, f"popular on HF: {paper.upvotes} upvotes"))
        else:
            out.append((0.0, "recent paper in this window (your profile has no interests or likes yet)"))
    out.sort(key=lambda r: -r[0])
    return [text for _, text in out[:4]]
