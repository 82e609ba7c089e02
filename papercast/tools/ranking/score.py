"""The ranking engine: a personal reading list from a profile and a window of papers.

A paper's score is a weighted sum of explainable signals (``signals.Signals``), each standardized over
the window so weights mean standard deviations: meaning and BM25 matches of the interests (each on its
own) and keywords, nearness to liked and disliked papers, a classifier on the feedback, pseudo-relevance
feedback, followed authors, categories, upvotes and recency; then the cluster hypothesis (the top move
toward their neighbours' scores). Embeddings are centred on the window mean (MiniLM vectors share a large
common direction). What ratings teach is leaned on as rating days add up (``score_pool``). Dismissed,
excluded and already-read papers never appear; the top is diversified (MMR).
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

import numpy as np

from papercast.errors import UserError
from papercast.models import Profile, ReadingList, Recommendation
from papercast.store import memo
from papercast.store.embeddings import MODEL_NAME
from papercast.tools.ranking.classifier import feedback_direction
from papercast.tools.ranking.lexical import normalize_phrase, tokens
from papercast.tools.ranking.pool import Pool, unit
from papercast.tools.ranking.ratings import passed_over, rating_days, starting_point
from papercast.tools.ranking.reasons import reasons_for
from papercast.tools.ranking.signals import Candidates, Signals
from papercast.tools.ranking.window import (
    load_window,
    once_more_if_changed,
    papers_by_id,
    resolve_window,
    vectors_by_id,
)

if TYPE_CHECKING:
    from papercast.store.papers import PaperStore


@dataclass
class Weights:
    """How much each standardized signal counts: set by hand and checked on the benchmark's tuning
    users only, so these are round numbers, not fitted ones."""

    interest: float = 1.0
    lexical: float = 0.5
    liked: float = 1.0
    liked_lexical: float = 0.3
    disliked: float = 0.6
    classifier: float = 0.8
    prf: float = 0.6
    author: float = 2.0
    category: float = 1.0
    popularity: float = 0.1
    recency: float = 0.1  # the oldest paper of the window loses this much
    diversity: float = 0.3  # MMR penalty for near-duplicates of what is already above
    prf_top: int = 20
    knn: int = 3  # liked-paper similarity: mean of the nearest k liked papers (and the centroid)
    neighbours: float = 1.0  # cluster hypothesis: the mean score of a paper's nearest window papers
    neighbours_k: int = 10
    neighbours_top: int = 500  # only the first pass's top papers are re-scored (cost ~ top x window)
    classifier_dislike: float = 0.5  # the disliked papers' share of the classifier's negatives
    # Papers dismissed beside likes (``ratings.passed_over``): negatives of the classifier (their share of
    # it, as ``classifier_dislike`` is the dislikes') and a nearness that lowers a paper, as a dislike's does.
    classifier_dismissed: float = 1.0
    dismissed: float = 0.6
    # How far the list leans on what was learned since the first rating day: d / (d + learning_days), d the
    # rating days since (score_pool). 2: a third on the second rating day, half on the third, ...
    learning_days: float = 2.0


WEIGHTS = Weights()


# -- embeddings of profile texts -----------------------------------------------------------------
_TEXT_CACHE: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_TEXT_LOCK = threading.Lock()


def embedding_model_key(store: PaperStore) -> str:
    """Names what made a vector (the model, and the server of a remote one): vectors of different
    models must never mix."""
    settings = store.settings
    if not settings.embedding:
        return f"bundled:{MODEL_NAME}"
    return f"{settings.embedding}@{settings.embedding_api_base or settings.api_base or ''}"


def embed_texts(store: PaperStore, texts: Sequence[str], dims: int | None = None) -> np.ndarray:
    """Embeddings of profile texts, remembered per process and in the home (the interests rarely
    change, and a CLI run would otherwise load the embedding model just to embed them again).

    ``dims``: the size the caller's vectors have; a remembered vector of another size (the model
    behind a name changed) is embedded again, so the store's own check speaks, not numpy."""
    model = embedding_model_key(store)
    missing = [t for t in dict.fromkeys(texts) if (model, t) not in _TEXT_CACHE
               or (dims is not None and _TEXT_CACHE[(model, t)].shape[0] != dims)]
    if missing:
        found = {text: vec for text, vec in memo.text_vectors(store.settings.db_path, model, missing).items()
                 if dims is None or vec.shape[0] == dims}
        fresh = [t for t in missing if t not in found]
        if fresh:
            made = dict(zip(fresh, np.asarray(store.embed_texts(fresh), dtype=np.float32), strict=True))
            memo.remember_text_vectors(store.settings.db_path, model, made)
            found.update(made)
        with _TEXT_LOCK:
            for text in missing:
                _TEXT_CACHE[(model, text)] = found[text]
            while len(_TEXT_CACHE) > 512:
                _TEXT_CACHE.popitem(last=False)
    if not texts:
        return np.zeros((0, dims or 0), dtype=np.float32)
    return np.stack([_TEXT_CACHE[(model, t)] for t in texts])


# -- rated papers' titles and terms ------------------------------------------------------------------
_RATED_CACHE: OrderedDict[tuple[str, str], tuple[float, str, frozenset[str]]] = OrderedDict()
_RATED_TTL = 120.0  # seconds, as a cached window: a refreshed abstract is seen within two minutes


def rated_texts(store: PaperStore, ids: Sequence[str]) -> dict[str, tuple[str, frozenset[str]]]:
    """Each rated paper's title and distinct terms, remembered per process for a while: every re-rank
    (and every day ``eval`` replays) reads the same liked papers, and parsing and tokenizing hundreds
    of them each time cost more than the ranking itself."""
    now = time.monotonic()
    key = store.cache_key
    with _TEXT_LOCK:
        hits = {pid: _RATED_CACHE[(key, pid)] for pid in ids if (key, pid) in _RATED_CACHE}
    fresh = {pid: (title, terms) for pid, (at, title, terms) in hits.items() if now - at < _RATED_TTL}
    missing = [pid for pid in ids if pid not in fresh]
    if missing:
        for paper in papers_by_id(store, missing):
            fresh[paper.id] = (paper.title, frozenset(tokens(paper.embedding_text)))
        with _TEXT_LOCK:
            for pid in missing:
                if pid in fresh:
                    _RATED_CACHE[(key, pid)] = (now, *fresh[pid])
                    _RATED_CACHE.move_to_end((key, pid))
            while len(_RATED_CACHE) > 20_000:
                _RATED_CACHE.popitem(last=False)
    return {pid: fresh[pid] for pid in ids if pid in fresh}


def interest_phrases(text: str) -> list[str]:
    """The separate interests in an interests text: split on commas, semicolons, new lines
    and a final 'and' between clauses. One phrase when the text is a single interest."""
    parts = [p.strip(" .") for p in re.split(r"[;,\n]|\band also\b|\. ", text) if p.strip(" .")]
    out: list[str] = []
    for part in parts:
        part = re.sub(r"^(?:and|or|also|i am interested in|interested in)\s+", "", part, flags=re.I).strip()
        if len(part) >= 3:
            out.append(part)
    return out


# -- helpers ---------------------------------------------------------------------------------------
def _z(x: np.ndarray) -> np.ndarray:
    """Standardize over the window; a constant signal becomes all zeros."""
    if x.size == 0:
        return x
    sd = float(x.std())
    return (x - float(x.mean())) / sd if sd > 1e-9 else np.zeros_like(x)


# -- ranking ---------------------------------------------------------------------------------------
def recommend(store: PaperStore, profile: Profile, *, since: date | None, until: date | None,
              n: int, weights: Weights | None = None, fallback: bool = False) -> ReadingList:
    """The top ``n`` papers of the window for ``profile``, best first, each with reasons.

    A window the caller gave is kept even when it is empty (an empty list and a note); only the
    default window (no dates), or any window with ``fallback``, moves to the latest papers
    (``window.resolve_window``)."""
    if n < 1:
        raise UserError(f"-n must be at least 1, got {n}")
    return once_more_if_changed(store, lambda: _recommend(store, profile, since, until, n, weights, fallback))


def _recommend(store: PaperStore, profile: Profile, since: date | None, until: date | None, n: int,
               weights: Weights | None, fallback: bool) -> ReadingList:
    window = None
    note = None
    count = store.count()  # keys the per-process caches: a new paper invalidates them
    if since is not None and until is not None and since <= until:
        window = load_window(store, since, until, count)  # the usual case: no probing needed
    if window is None or not window.papers:
        since, until, note = resolve_window(store, since, until, count=count, fallback=fallback)
        window = load_window(store, since, until, count)
    items = rank_pool(store, profile, window.pool, n=n, weights=weights)
    for item in items:  # the ranked papers were built lean; what is shown is parsed in full
        item.paper = window.paper(item.paper.id)
    if not items and window.papers:
        note = (note + "; " if note else "") + "every paper in this window is read, dismissed or excluded"
    return ReadingList(items=items, since=since, until=until, note=note)


def compute_signals(store: PaperStore, profile: Profile, pool: Pool, reference: date | None = None,
                    weights: Weights | None = None) -> Signals | None:
    """Every signal for the pool's papers the profile does not exclude by keyword; the papers it has
    rated are scored too and marked ``read`` (``rank_pool`` never lists them). ``weights`` shape the
    feedback signals (the classifier's share of dislikes). None when nothing is left to list."""
    w = weights or WEIGHTS

    def positions(ids: Iterable[str]) -> np.ndarray:
        mask = np.zeros(len(pool), dtype=bool)
        mask[[pool.position[i] for i in ids if i in pool.position]] = True
        return mask

    # Papers the profile has rated stay in the window's own computations (standardization, PRF,
    # neighbours) and only leave the list at the end: rating the top papers must not change how
    # the rest are ranked.
    read = positions(set(profile.liked) | set(profile.disliked) | set(profile.saved) | set(profile.dismissed))
    allowed = np.ones(len(pool), dtype=bool)
    for phrase in profile.excluded_keywords:
        allowed &= ~pool.with_phrase(phrase)
    keep = np.flatnonzero(allowed)
    if not len(keep) or read[keep].all():
        return None
    sig = Signals(pool=pool, keep=keep, papers=Candidates(pool, keep), values={}, flags={},
                  read=read[keep], disliked=positions(profile.disliked)[keep],
                  rated=positions(set(profile.liked) | set(profile.saved) | set(profile.disliked))[keep])
    mean = pool.mean

    # Every vector the profile brings: its interests and keywords, liked (and saved) papers,
    # disliked ones and, with enough feedback, a classifier's weights. All are compared with every
    # paper in one matrix product: a 6-month window's matrix is tens of MB, read once, not per signal.
    sig.phrases = interest_phrases(profile.interests)
    sig.queries = list(dict.fromkeys(([profile.interests] if profile.interests.strip() else []) + sig.phrases
                                     + list(profile.keywords)))
    dims = pool.cen.shape[1]
    q_raw = embed_texts(store, sig.queries, dims)
    pos_ids = list(dict.fromkeys(profile.liked + profile.saved))
    neg_ids = list(profile.disliked)
    passed = passed_over(profile) if w.classifier_dismissed > 0 or w.dismissed > 0 else []
    vecs = vectors_by_id(store, pos_ids + neg_ids + passed) if (pos_ids or neg_ids or passed) else {}
    pos_ids = [i for i in pos_ids if i in vecs]
    neg_ids = [i for i in neg_ids if i in vecs]
    passed = [i for i in passed if i in vecs]
    sig.pos_ids, sig.n_liked = pos_ids, len(pos_ids)
    p_raw = np.stack([vecs[i] for i in pos_ids]) if pos_ids else np.zeros((0, dims), np.float32)
    pv = unit(p_raw - mean)
    nv = unit(np.stack([vecs[i] for i in neg_ids]) - mean) if neg_ids else np.zeros((0, dims), np.float32)
    sv = unit(np.stack([vecs[i] for i in passed]) - mean) if passed else np.zeros((0, dims), np.float32)
    # A classifier on the profile's own feedback, once there is enough of it: liked papers
    # against the candidates (mostly not relevant), the disliked ones and those passed over.
    beta = np.zeros((0, dims), np.float32)
    if len(pos_ids) >= 5:
        rng = np.random.default_rng(0)
        # The same draw whatever was rated since (a new draw is a new classifier), minus the papers
        # whose labels the classifier already has.
        drawn = rng.choice(len(keep), size=min(len(keep), 400), replace=False)
        labelled = positions(set(pos_ids) | set(neg_ids) | set(passed))[keep]
        background = sig.cen(drawn[~labelled[drawn]])
        beta = feedback_direction(pv, background, nv, w.classifier_dislike, sv, w.classifier_dismissed)[None]
    liked_mean = unit(pv.mean(axis=0))[None] if pos_ids else np.zeros((0, dims), np.float32)
    blocks = {"queries": unit(q_raw - mean), "queries_plain": unit(q_raw), "liked": pv,
              "liked_mean": liked_mean, "disliked": nv, "passed_over": sv, "classifier": beta}
    sims = dict(zip(blocks, np.split(sig.against(np.vstack(list(blocks.values())).astype(np.float32)),
                                     np.cumsum([len(b) for b in blocks.values()])[:-1]), strict=True))
    # Plain cosine (for the reasons' absolute thresholds) from the centred product:
    # q . e = |e - mean| (q . cen) + q . mean.
    norms = sig.mine(pool.cen_norm)
    sig.raw_sims = sims["queries_plain"] * norms + (blocks["queries_plain"] @ mean)[:, None]

    if sig.queries:
        # The whole text and the best single interest both count: a paper on one of two topics
        # is a match, a paper touching both is a better one.
        sig.values["interest"] = 0.5 * sims["queries"][0] + 0.5 * sims["queries"].max(axis=0)

    # Lexical: BM25 of interests and keywords (keywords weigh double), plus exact keyword phrases.
    sig.q_terms = tokens(profile.interests)
    kw_terms = [t for k in profile.keywords for t in tokens(k)]
    has_kw = np.zeros(len(keep), np.float32)
    for keyword in profile.keywords:
        if normalize_phrase(keyword):
            hits = np.flatnonzero(sig.mine(pool.with_phrase(keyword)))
            has_kw[hits] = 1.0
            for i in hits.tolist():
                sig.kw_hits.setdefault(i, []).append(keyword)
    if sig.q_terms or kw_terms:
        lexical = sig.mine(pool.index.score(sig.q_terms + kw_terms, {t: 2.0 for t in kw_terms}))
        sig.values["lexical"] = lexical / (float(lexical.max()) or 1.0) + 0.5 * has_kw

    # Feedback: nearness to liked (and saved) papers, away from disliked ones.
    like_sims = sims["liked"] if pos_ids else None
    if pos_ids:
        liked_texts = rated_texts(store, pos_ids)
        sig.liked_titles = {pid: title for pid, (title, _) in liked_texts.items()}
        sig.liked_plain = unit(p_raw)
        k = min(w.knn, len(pos_ids))
        knn = np.sort(like_sims, axis=0)[-k:].mean(axis=0)
        sig.values["liked"] = 0.5 * knn + 0.5 * sims["liked_mean"][0]
        # The liked papers' own words, BM25-weighted: exact terms of the area.
        terms: dict[str, float] = {}
        for _, paper_terms in liked_texts.values():
            for t in paper_terms:
                terms[t] = terms.get(t, 0.0) + 1.0
        sig.values["liked_lexical"] = sig.mine(pool.index.score(list(terms), terms))
    if neg_ids:
        sig.neg_ids, sig.dislike_raw = neg_ids, sims["disliked"]
        dis = sims["disliked"].max(axis=0)
        ref = like_sims.max(axis=0) if like_sims is not None else np.zeros_like(dis)
        # Only the part of the dislike-nearness that exceeds the like-nearness counts against.
        sig.values["disliked"] = np.clip(dis - ref, 0, None)
    if len(beta):
        sig.values["classifier"] = sims["classifier"][0]
    if passed and w.dismissed > 0:
        sig.passed_ids, sig.passed_raw = passed, sims["passed_over"]
        near = sims["passed_over"].max(axis=0)
        ref = like_sims.max(axis=0) if like_sims is not None else np.zeros_like(near)
        sig.values["dismissed"] = np.clip(near - ref, 0, None)

    # Authors, categories, popularity, recency.
    def candidates(hits: dict[int, str]) -> dict[int, str]:  # pool index -> candidate index
        return {int(sig.visible[i]): v for i, v in hits.items() if sig.visible[i] >= 0}

    sig.by_author = candidates(pool.by_authors(profile.authors)) if profile.authors else {}
    sig.in_cat = candidates(pool.in_categories(profile.categories)) if profile.categories else {}
    for name, hits in (("author", sig.by_author), ("category", sig.in_cat)):
        flag = np.zeros(len(keep), np.float32)
        flag[list(hits)] = 1.0
        sig.flags[name] = flag
    upvotes = sig.mine(pool.upvotes)
    if upvotes.max() > 0:
        sig.values["popularity"] = np.log1p(upvotes)
    days = sig.mine(pool.day_numbers)  # date ordinals, 0 when unknown
    dated = days[days > 0]
    if len(dated):
        ref_day = reference.toordinal() if reference else int(dated.max())
        sig.age_days = np.where(days > 0, ref_day - days, 0).astype(np.float32)
        sig.span_days = max(1, ref_day - int(dated.min()))
    return sig


def combine(sig: Signals, w: Weights) -> np.ndarray:
    """The score: weighted standardized signals, then pseudo-relevance feedback."""
    v = {k: _z(x) for k, x in sig.values.items()}
    total = np.zeros(len(sig.keep), dtype=np.float32)
    total += w.interest * v.get("interest", 0)
    total += w.lexical * v.get("lexical", 0)
    if "liked" in v:
        # Likes count more as there are more of them; the interests text still anchors the list.
        scale = min(1.0, 0.6 + 0.1 * sig.n_liked) if "interest" in v else 1.0
        total += w.liked * scale * v["liked"] + w.liked_lexical * scale * v["liked_lexical"]
    if "disliked" in sig.values:
        total -= w.disliked * v["disliked"] * (sig.values["disliked"] > 0)
    if "dismissed" in sig.values:
        total -= w.dismissed * v["dismissed"] * (sig.values["dismissed"] > 0)
    total += w.classifier * v.get("classifier", 0)
    if w.prf and ("interest" in v or "liked" in v) and len(sig.keep) > 2 * w.prf_top:
        # Pseudo-relevance feedback: the first pass's top papers define the area.
        # A rated paper defines no area: a disliked one is not of it, and a liked one scores high because it
        # was liked (its own nearness to itself), not as a prediction. Dismissed papers still count (unread,
        # they say nothing: dismissing the top ten must not move the rest).
        top = np.argsort(-np.where(sig.rated, -np.inf, total))[: w.prf_top]
        prf = sig.against(unit(sig.cen(top).mean(axis=0)))
        sig.values["prf"] = prf
        total += w.prf * _z(prf)
    total += w.author * sig.flags["author"] + w.category * sig.flags["category"]
    total += w.popularity * v.get("popularity", 0)
    if sig.age_days is not None:
        total -= w.recency * sig.age_days / sig.span_days
    if w.neighbours and len(sig.keep) > 2 * w.neighbours_k:
        total = _neighbour_smooth(total, sig, w)
    return total


def _neighbour_smooth(total: np.ndarray, sig: Signals, w: Weights) -> np.ndarray:
    """Cluster hypothesis: a paper whose nearest papers in the window also score well is in the
    profile's area, one that matches the words alone is less likely to be. The first pass's top
    papers get the similarity-weighted mean standardized score of their k nearest window papers
    added (standardized over them); the rest keep their order below. Every other signal reads one
    paper at a time; this one reads the window's own structure.

    Neighbours come from the pool (computed once per window); papers the profile may not see
    are skipped, so each paper uses its k nearest visible ones."""
    z = _z(total)
    k = w.neighbours_k
    cand = np.argsort(-z)[: w.neighbours_top]
    nn_pool, nn_sim = sig.pool.neighbours(sig.keep[cand])
    nn = sig.visible[nn_pool]
    use = (nn >= 0) & (np.cumsum(nn >= 0, axis=1) <= k) & np.isfinite(nn_sim)
    # Weighted by similarity: a loose neighbour says less than a close one.
    nsim = np.where(use, np.clip(nn_sim, 0, None), 0.0)
    near = (z[np.where(use, nn, 0)] * nsim).sum(axis=1) / np.clip(nsim.sum(axis=1), 1e-6, None)
    near_z = _z(near)
    out = z.copy()
    out[cand] = z[cand] + w.neighbours * near_z
    rest = np.ones(len(z), dtype=bool)
    rest[cand] = False
    if rest.any():
        # Shifted as one block: their order kept, all below the re-scored top.
        shift = min(w.neighbours * float(near_z.min()), float(out[cand].min() - z[rest].max()) - 1e-3)
        out[rest] = z[rest] + shift
    neighbours = np.full(len(z), float(near.min()), dtype=np.float32)
    neighbours[cand] = near
    sig.values["neighbours"] = neighbours
    return out.astype(np.float32)


_STARTS: WeakKeyDictionary[Pool, OrderedDict[str, np.ndarray]] = WeakKeyDictionary()
_STARTS_LOCK = threading.Lock()


def score_pool(store: PaperStore, profile: Profile, pool: Pool, reference: date | None = None,
               weights: Weights | None = None) -> tuple[Signals, np.ndarray] | None:
    """The signals and every candidate's score for the profile (None when nothing is left to list).

    What the ranker learned from all the ratings is leaned on as far as the days of evidence allow:
    the score moves from what the first rating day taught (the likes a profile starts from: brought
    in, an author's papers, the first session) toward what every rating teaches, by d / (d +
    ``Weights.learning_days``), d the rating days since: one day's ratings are ten or twenty papers
    from the top of the list, which mostly confirm it, and followed at once they tip it. The starting
    point's scores are kept per window while its ratings stay the same, so a re-rank after a rating
    computes one set of signals, not two (a profile of one rating day is remembered as the starting point
    of its later selves: the next day's first rating, and ``eval``'s no-learning ranker, cost nothing)."""
    w = weights or WEIGHTS
    sig = compute_signals(store, profile, pool, reference, w)
    if sig is None:
        return None
    total = combine(sig, w)
    if not w.learning_days:
        return sig, total
    start = starting_point(profile)
    if start is None:
        _remember_start(_start_key(profile, reference, w), pool, _z(total))
        return sig, total
    base = _start_scores(store, start, pool, reference, w, len(sig.keep))
    if base is None:
        return sig, total
    days = len(rating_days(profile)) - 1
    share = days / (days + w.learning_days)
    return sig, (base + share * (_z(total) - base)).astype(np.float32)


def _start_scores(store: PaperStore, start: Profile, pool: Pool, reference: date | None, w: Weights,
                  size: int) -> np.ndarray | None:
    """The standardized scores of the profile's starting point, remembered per pool."""
    key = _start_key(start, reference, w)
    with _STARTS_LOCK:
        hit = _STARTS.setdefault(pool, OrderedDict()).get(key)
    if hit is None:
        sig = compute_signals(store, start, pool, reference, w)
        if sig is None:
            return None
        hit = _z(combine(sig, w))
        _remember_start(key, pool, hit)
    return hit if len(hit) == size else None  # the same candidates (excluded keywords are today's for both)


def _start_key(start: Profile, reference: date | None, w: Weights) -> str:
    """What a starting point's scores depend on: its fields and feedback (not when it was last changed),
    the reference day and the weights."""
    return f"{start.model_dump_json(exclude={'created', 'updated'})}|{reference}|{w!r}"


def _remember_start(key: str, pool: Pool, scores: np.ndarray) -> None:
    with _STARTS_LOCK:
        cached = _STARTS.setdefault(pool, OrderedDict())
        cached[key] = scores
        cached.move_to_end(key)
        while len(cached) > 4:
            cached.popitem(last=False)


def rank_pool(store: PaperStore, profile: Profile, pool: Pool, *, n: int, weights: Weights | None = None,
              reference: date | None = None) -> list[Recommendation]:
    """Rank a pool's papers for a profile (a cached window's pool keeps its derived data)."""
    w = weights or WEIGHTS
    if not len(pool):
        return []
    scored = score_pool(store, profile, pool, reference, w)
    if scored is None:
        return []
    sig, total = scored
    order = listed_order(sig, total, n, w)
    if "lexical" in sig.values:  # the interests' words each listed paper uses, for its reasons
        found = pool.index.matched_terms_many(sig.keep[order].tolist(), sig.q_terms)
        sig.matched = dict(zip(order, found, strict=True))
    zs = standardized(sig)
    pool.papers_at(sig.keep[order].tolist())  # the listed papers, read together (a cached window's are lazy)
    return [Recommendation(paper=sig.papers[i], score=float(total[i]),
                           reasons=reasons_for(i, sig, profile, zs))
            for i in order]


def standardized(sig: Signals) -> dict[str, np.ndarray]:
    """Each signal standardized over the window, as the score weighed it (what the reasons quote)."""
    return {k: _z(x) for k, x in sig.values.items()}


def listed_order(sig: Signals, total: np.ndarray, n: int, weights: Weights | None = None) -> list[int]:
    """The first ``n`` papers in the order a list shows them (``sig.keep``'s indices): unread papers best
    first, a near-duplicate of one above lowered (``_mmr``). ``eval`` grades this order, as the user saw."""
    return _mmr(np.where(sig.read, -np.inf, total), sig, n, (weights or WEIGHTS).diversity)


def _mmr(score: np.ndarray, sig: Signals, n: int, diversity: float) -> list[int]:
    """Greedy selection: each next paper's score is lowered by how close it is to one above it
    (only beyond a similarity of 0.5, so related papers stay and near-duplicates drop)."""
    pool = np.argsort(-score)[: max(3 * n, n + 10)]
    pool = pool[np.isfinite(score[pool])]  # papers already rated are never listed
    if diversity <= 0 or len(pool) <= 1:
        return pool[:n].tolist()
    vectors = sig.cen(pool)
    base = score[pool].astype(np.float64)
    max_sim = np.zeros(len(pool))
    taken = np.zeros(len(pool), dtype=bool)
    chosen: list[int] = []
    for _ in range(min(n, len(pool))):
        adjusted = np.where(taken, -np.inf, base - diversity * 10 * np.clip(max_sim - 0.5, 0.0, None))
        best = int(np.argmax(adjusted))
        taken[best] = True
        chosen.append(int(pool[best]))
        max_sim = np.maximum(max_sim, vectors @ vectors[best])
    return chosen
