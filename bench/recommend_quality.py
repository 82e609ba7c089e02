"""Recommendation quality: papercast against the tools researchers use, on simulated users.

Protocol (issue 3): a simulated user is a written interest text plus liked papers drawn with a
fixed seed from one arXiv area, published before 2026-01-01. The candidate pool is every paper
with known categories published 2026-01-01 .. 2026-06-30; a candidate is relevant when it carries
the user's area. Categories are the labels, so every paper is imported with ``categories``
emptied and no ranker sees them. papercast is driven through its real service, profile and
ranking code on a tmp home (``store.upsert`` with the cached corpus vectors is the real import
path minus the model). Users are split: "tune" users were used while designing the ranker,
"held-out" users were written up front and not looked at until the design was fixed.

Baselines on the same users and pool: random; popularity (HF upvotes); tf-idf cosine to the
interests + liked abstracts; tf-idf + embedding blend; arxiv-sanity-lite (tf-idf 1-2-grams, 20k
features, min_df 5, max_df 0.1, sublinear tf, LinearSVC C=0.01 balanced, liked positive, every
other pre-2026 paper negative); zotero-arxiv-daily (mean embedding cosine to the liked papers).
Metrics averaged over users: nDCG@20, P@10, AP@100.

``--daily`` (issue 15): learning from each day's ratings. Day 0 is interests + 5 likes; each day the
top 10 of papercast's list are rated (a like for each relevant paper, a dislike for each other one;
or likes only, the others dismissed) and leave every list. After each of 3 rounds: nDCG@20 over the
papers not yet rated for papercast, the no-learning control (day 0's list minus the rated papers),
Scholar Inbox's learner alone (``logreg_scores``) and arxiv-sanity's SVM fed the same ratings; how many
users fall below their own control. ``--ceiling`` adds what a classifier given the true labels of 80% of
the pool scores on the same papers: the bound these features and these (category) labels put on any
learner.

Issue 21 adds: six "hard" users (``--split hard``: areas that share most of their words with a bigger
neighbour, written up front), the count of users ever below their own control by more than 0.05, the
ratings dated one simulated day apart, ``--teach`` (day 1 rates the 10 papers ``papercast teach`` asks
about, against the top 10) and ``--eval`` (``papercast eval`` on each simulated user, against the
bench's own figure for it), ``--null`` (a learner that learns nothing and lists day 0's scores plus a
little noise: how many users the backfire count, and the relevant papers seen, flag by chance),
``--noisy P`` (the user rates each on-topic paper as off-topic with probability P, as real users do).
``--no-svm`` skips the SVM for quick runs.
The gap closed is printed with a 95% interval over the areas resampled, and ``--compare JSON`` sets this
run against an earlier one's results, paired per user: what the 24 areas can tell from noise. Beside
nDCG, the relevant papers among each day's rated 10, against a user who rates the no-learning list's
next 10 each day: what learning changes in what the user sees.

Run: .venv/bin/python bench/recommend_quality.py  (needs bench/.cache/corpus_embeddings.npz)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from corpus_cache import CACHE, corpus_embeddings, corpus_rows  # noqa: E402
from service_parts import paper_store, profile_store  # noqa: E402

POOL_SINCE, POOL_UNTIL = date(2026, 1, 1), date(2026, 6, 30)
# BENCH_QUALITY_HOME: another home (parallel runs of different code must not share one ranking cache)
HOME = Path(os.environ.get("BENCH_QUALITY_HOME") or ROOT / "bench" / ".cache" / "quality-home")
# BENCH_RESULTS: another folder for the results (parallel runs would write over each other's)
RESULTS = Path(os.environ.get("BENCH_RESULTS") or ROOT / "bench" / "results")
SEED = 20260101


@dataclass(frozen=True)
class User:
    area: str
    interests: str
    split: str  # "tune", "held-out" or "hard"


USERS = [
    # -- tune: looked at while designing the ranker ------------------------------------------------
    User("cs.RO", "robot manipulation and grasping, legged locomotion, motion planning, "
         "vision-language-action models for robots, sim-to-real transfer", "tune"),
    User("cs.CR", "security and privacy of machine learning systems: jailbreaks and prompt injection, "
         "adversarial attacks, backdoors, differential privacy, malware and intrusion detection", "tune"),
    User("math.RT", "representation theory of Lie algebras and quantum groups, categorification, "
         "Hecke algebras, modular representations of finite groups", "tune"),
    User("q-bio.NC", "computational neuroscience: neural coding, models of cortical circuits, "
         "brain decoding from fMRI and EEG, spiking neural networks and learning in the brain", "tune"),
    User("cs.IR", "information retrieval and recommender systems: dense retrieval, learning to rank, "
         "sequential recommendation, retrieval-augmented generation, query understanding", "tune"),
    User("stat.ML", "statistical learning theory, Bayesian inference and uncertainty quantification, "
         "causal inference, Gaussian processes, generalization bounds", "tune"),
    User("cs.HC", "human-computer interaction: user studies of AI assistants, accessibility, "
         "visualization, how people use and trust LLM tools, participatory design", "tune"),
    User("cs.CL", "natural language processing: machine translation, multilingual and low-resource "
         "languages, evaluation of language models, syntax and semantics", "tune"),
    # -- held-out: written up front, not tuned on ----------------------------------------------------
    User("cs.CV", "computer vision: object detection and segmentation, 3D reconstruction, "
         "video understanding, image generation with diffusion models", "held-out"),
    User("cs.SE", "software engineering: LLMs for code generation and program repair, testing and "
         "fuzzing, static analysis, developer productivity", "held-out"),
    User("eess.SY", "control systems: model predictive control, stability of nonlinear systems, "
         "power grids, safe control with learning in the loop", "held-out"),
    User("q-bio.QM", "quantitative biology: protein structure and design, single-cell data analysis, "
         "drug discovery with machine learning, genomics", "held-out"),
    User("cs.GR", "computer graphics: neural rendering, Gaussian splatting, character animation, "
         "geometry processing and mesh generation", "held-out"),
    User("math.QA", "quantum algebra: quantum groups, Hopf algebras, vertex operator algebras, "
         "tensor categories and topological quantum field theory", "held-out"),
    User("cs.MA", "multi-agent systems: cooperation and communication among LLM agents, multi-agent "
         "reinforcement learning, agent-based simulation, negotiation", "held-out"),
    User("cs.CY", "computers and society: AI ethics, fairness and bias, AI policy and regulation, "
         "impact of AI on education and labour", "held-out"),
    User("cs.LG", "machine learning: optimization for deep learning, representation learning, "
         "reinforcement learning, efficient training of large models", "held-out"),
    User("physics.med-ph", "medical physics: radiotherapy planning, medical imaging reconstruction "
         "for CT and MRI, dosimetry, imaging biomarkers", "held-out"),
    # -- hard (issue 21): areas that share most of their words with a bigger neighbour; written up front,
    # not tuned on, and kept apart so the 18 users above stay comparable with earlier runs ------------
    User("cs.NE", "evolutionary computation: genetic algorithms, evolution strategies, neuroevolution, "
         "spiking neural networks, LLM-driven evolutionary search", "hard"),
    User("physics.comp-ph", "computational physics: molecular dynamics, density functional theory, "
         "numerical methods for PDEs, machine-learned interatomic potentials", "hard"),
    User("cs.GT", "game theory and mechanism design: auctions, computing equilibria, incentives, "
         "social choice, strategic behaviour of LLM agents", "hard"),
    User("cs.DB", "databases: query optimization, text-to-SQL, data management for machine learning, "
         "vector databases, data lakes and data cleaning", "hard"),
    User("cs.IT", "information theory: channel coding, rate-distortion theory, semantic communication, "
         "information-theoretic limits of learning", "hard"),
    User("math.OC", "optimization and control: convex and nonconvex optimization, first-order methods, "
         "optimal control, stochastic approximation", "hard"),
]


# -- metrics ------------------------------------------------------------------------------------------
def ndcg_at(ranked: list[str], relevant: set[str], k: int = 20) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, pid in enumerate(ranked[:k]) if pid in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return dcg / ideal if ideal else 0.0


def precision_at(ranked: list[str], relevant: set[str], k: int = 10) -> float:
    return sum(pid in relevant for pid in ranked[:k]) / k


def ap_at(ranked: list[str], relevant: set[str], k: int = 100) -> float:
    hits, total = 0, 0.0
    for i, pid in enumerate(ranked[:k]):
        if pid in relevant:
            hits += 1
            total += hits / (i + 1)
    return total / min(len(relevant), k) if relevant else 0.0


def metrics(ranked: list[str], relevant: set[str]) -> dict[str, float]:
    return {"nDCG@20": ndcg_at(ranked, relevant), "P@10": precision_at(ranked, relevant),
            "AP@100": ap_at(ranked, relevant)}


# -- data -------------------------------------------------------------------------------------------
def wait_for_cache(timeout: float = 3600) -> None:
    """The corpus vectors are built by another process; wait for its file instead of re-embedding."""
    deadline = time.monotonic() + timeout
    while not CACHE.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"{CACHE} did not appear; build it with bench/corpus_cache.py")
        time.sleep(10)
    time.sleep(1)


def load_corpus() -> tuple[list[dict], dict[str, np.ndarray]]:
    from papercast.models import normalize_arxiv_id

    rows = [r for r in corpus_rows() if r.get("categories")]
    for r in rows:
        r["id"] = normalize_arxiv_id(r["id"])
    wait_for_cache()
    return rows, corpus_embeddings()


LIKE_DRAW = 0  # --draw: another fixed draw of liked papers (0 is the published one)


def draw_likes(rows: list[dict], area: str, k: int) -> list[str]:
    """k liked papers from the area, published before 2026; a fixed seed per area. The first five
    of the twenty are the five, so 20 likes extend the 5-like user."""
    candidates = sorted(r["id"] for r in rows if area in r["categories"] and r["published"] < "2026-01-01")
    rng = np.random.default_rng(SEED + zlib.crc32(area.encode()) + 7919 * LIKE_DRAW)
    order = rng.permutation(len(candidates))
    return [candidates[i] for i in order[:k]]


def build_service(rows: list[dict], vectors: dict[str, np.ndarray]):
    """A Papercast service on a tmp-like home holding every benchmark paper, categories emptied."""
    from papercast.config import load_settings
    from papercast.models import Paper
    from papercast.service import Papercast

    app = Papercast(load_settings(home=HOME))
    if app.count() != len(rows):
        papers = [Paper.model_validate({**r, "categories": []}) for r in rows]
        started = time.perf_counter()
        paper_store(app).upsert(papers, embeddings={p.id: vectors[p.id] for p in papers})
        print(f"imported {len(papers)} papers in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    assert app.count() == len(rows)
    return app


# -- rankers ----------------------------------------------------------------------------------------
def papercast_ranker(app, user: User, liked: list[str], tag: str, n: int = 100, weights=None) -> list[str]:
    from papercast.tools.ranking.score import recommend

    name = f"{user.area.replace('.', '-')}-{tag}"
    if profile_store(app).exists(name):
        app.profile_delete(name)
    app.profile_create(name, interests=user.interests)
    if liked:
        app.feedback(liked, "like", profile=name)
    result = recommend(paper_store(app), app.profile_show(name), since=POOL_SINCE, until=POOL_UNTIL, n=n,
                       weights=weights)
    assert (result.since, result.until) == (POOL_SINCE, POOL_UNTIL), result.note
    app.profile_delete(name)
    return [r.paper.id for r in result.items]


class Baselines:
    """The comparison rankers, fitted once on the same papers (scikit-learn: benchmark only)."""

    def __init__(self, rows: list[dict], vectors: dict[str, np.ndarray], pool: list[dict]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.rows = rows
        self.pool = pool
        self.pool_ids = [r["id"] for r in pool]
        self.text = {r["id"]: f"{r['title']}. {r['abstract']}" for r in rows}
        self.pre = [r["id"] for r in rows if r["published"] < "2026-01-01"]
        self.pool_vecs = np.stack([vectors[i] for i in self.pool_ids]).astype(np.float32)
        self.vectors = vectors
        # Plain tf-idf (for the cosine baselines), fitted on every benchmark paper.
        self.tfidf = TfidfVectorizer(stop_words="english", sublinear_tf=True, min_df=2)
        self.tfidf.fit([self.text[r["id"]] for r in rows])
        self.pool_tfidf = self.tfidf.transform([self.text[i] for i in self.pool_ids])
        # arxiv-sanity-lite's features.
        self.sanity = TfidfVectorizer(input="content", encoding="utf-8", decode_error="replace",
                                      strip_accents="unicode", lowercase=True, analyzer="word",
                                      stop_words="english", token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b",
                                      ngram_range=(1, 2), max_features=20000, norm="l2", use_idf=True,
                                      smooth_idf=True, sublinear_tf=True, max_df=0.1, min_df=5)
        all_ids = self.pre + self.pool_ids
        matrix = self.sanity.fit_transform([self.text[i] for i in all_ids])
        self.sanity_pre = matrix[: len(self.pre)]
        self.sanity_pool = matrix[len(self.pre):]
        self.upvotes = np.array([r.get("upvotes") or 0 for r in pool], dtype=np.float32)
        # Centred unit vectors (MiniLM's share a large common direction), for the logistic regressions.
        self.pool_mean = self.pool_vecs.mean(axis=0)
        self.pool_cen = self.centred(self.pool_vecs)

    def centred(self, vectors: np.ndarray) -> np.ndarray:
        x = vectors - self.pool_mean
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    def _top(self, scores: np.ndarray, n: int = 100) -> list[str]:
        return [self.pool_ids[i] for i in np.argsort(-scores, kind="stable")[:n]]

    def random(self, user: User, liked: list[str]) -> list[str]:
        rng = np.random.default_rng(SEED + zlib.crc32(user.area.encode()) + 1)
        return self._top(rng.random(len(self.pool_ids)))

    def popularity(self, user: User, liked: list[str]) -> list[str]:
        return self._top(self.upvotes)

    def tfidf_scores(self, user: User, liked: list[str]) -> np.ndarray:
        query = " ".join([user.interests] + [self.text[i] for i in liked])
        q = self.tfidf.transform([query])
        return (self.pool_tfidf @ q.T).toarray().ravel()

    def tfidf_cosine(self, user: User, liked: list[str]) -> list[str]:
        return self._top(self.tfidf_scores(user, liked))

    def embedding_scores(self, user: User, liked: list[str]) -> np.ndarray:
        from papercast.store.embeddings import get_embedder

        q = [get_embedder().embed([user.interests])[0]] + [self.vectors[i] for i in liked]
        centroid = np.mean(q, axis=0)
        return self.pool_vecs @ (centroid / np.linalg.norm(centroid))

    def tfidf_embedding_blend(self, user: User, liked: list[str]) -> list[str]:
        def z(x: np.ndarray) -> np.ndarray:
            return (x - x.mean()) / (x.std() or 1)

        return self._top(0.5 * z(self.tfidf_scores(user, liked)) + 0.5
                         * z(self.embedding_scores(user, liked)))

    def arxiv_sanity(self, user: User, liked: list[str]) -> list[str]:
        from sklearn.svm import LinearSVC

        if not liked:
            return self.tfidf_cosine(user, liked)
        y = np.array([pid in set(liked) for pid in self.pre], dtype=int)
        clf = LinearSVC(class_weight="balanced", verbose=0, max_iter=10000, tol=1e-6, C=0.01)
        clf.fit(self.sanity_pre, y)
        return self._top(clf.decision_function(self.sanity_pool))

    def zotero_embedding(self, user: User, liked: list[str]) -> list[str]:
        if not liked:
            return self._top(self.embedding_scores(user, liked))
        liked_vecs = np.stack([self.vectors[i] for i in liked])
        return self._top((self.pool_vecs @ liked_vecs.T).mean(axis=1))


# -- daily rounds of ratings (issue 15) -------------------------------------------------------------
DAYS = 3
SHOWN = 10  # the top of each day's list is rated


def svm_scores(base: Baselines, liked: set[str], rated: set[str]) -> np.ndarray:
    """arxiv-sanity-lite's SVM fed the same ratings: every pre-2026 paper and every rated pool
    paper is a training example, the liked ones positive (it has no notion of a dislike)."""
    import scipy.sparse as sp
    from sklearn.svm import LinearSVC

    rated_rows = [i for i, pid in enumerate(base.pool_ids) if pid in rated]
    x = sp.vstack([base.sanity_pre, base.sanity_pool[rated_rows]])
    y = np.array([pid in liked for pid in base.pre] + [base.pool_ids[i] in liked for i in rated_rows],
                 dtype=int)
    clf = LinearSVC(class_weight="balanced", verbose=0, max_iter=10000, tol=1e-6, C=0.01)
    clf.fit(x, y)
    return clf.decision_function(base.sanity_pool)


LOGREG_BACKGROUND = 400  # unrated pool papers drawn as weak negatives


def logreg_scores(base: Baselines, liked: set[str], disliked: set[str], rated: set[str]) -> np.ndarray:
    """Scholar Inbox's learner (arXiv 2504.08385), alone: a per-user logistic regression on the paper
    embeddings (the same centred MiniLM vectors papercast has), trained on thumbs up and down, classes
    balanced. A new user has few thumbs down, so a fixed random draw of unrated pool papers stands in as
    weak negatives. No interests text: its users start from papers (here the 5 likes). With likes only, the
    papers dismissed unrated are no thumbs down."""
    from sklearn.linear_model import LogisticRegression

    drawn = np.random.default_rng(SEED).choice(len(base.pool_ids), LOGREG_BACKGROUND, replace=False)
    background = [i for i in drawn.tolist() if base.pool_ids[i] not in rated]
    pos = base.centred(np.stack([base.vectors[i] for i in sorted(liked)]))
    neg = base.centred(np.stack([base.vectors[i] for i in sorted(disliked)])) if disliked else pos[:0]
    x = np.vstack([pos, neg, base.pool_cen[background]])
    y = np.r_[np.ones(len(pos)), np.zeros(len(neg) + len(background))]
    clf = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000).fit(x, y)
    return clf.decision_function(base.pool_cen)


def unrated_order(base: Baselines, scores: np.ndarray, rated: set[str]) -> list[str]:
    """The pool's papers best first by ``scores``, the rated ones left out."""
    return [base.pool_ids[i] for i in np.argsort(-scores, kind="stable") if base.pool_ids[i] not in rated]


_CEILING: dict[str, np.ndarray] = {}


def ceiling_scores(base: Baselines, area: str, relevant: set[str], folds: int = 5) -> np.ndarray:
    """What a learner could reach with far more labels than any user gives: a linear classifier
    (logistic regression on the centred embeddings, and one on tf-idf, z-scores summed) trained on
    the true labels of 80% of the pool scores the other 20%; five such folds score every pool paper
    (cross-fitting: no paper is scored by a model that saw its label). Labels are arXiv categories,
    which some papers on the topic lack; this bounds what a ranker on these features can score on
    this protocol. Remembered per area (it does not depend on the ratings)."""
    from sklearn.linear_model import LogisticRegression

    if area in _CEILING:
        return _CEILING[area]

    x = base.pool_vecs - base.pool_vecs.mean(axis=0)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = np.array([pid in relevant for pid in base.pool_ids])
    fold = np.random.default_rng(SEED).integers(0, folds, len(y))
    out = np.zeros(len(y))
    for k in range(folds):
        train, test = fold != k, fold == k
        for features, c in ((x, 1.0), (base.pool_tfidf, 10.0)):
            clf = LogisticRegression(C=c, class_weight="balanced", max_iter=3000).fit(features[train],
                                                                                     y[train])
            got = clf.decision_function(features[test])
            out[test] += (got - got.mean()) / (got.std() or 1.0)
    _CEILING[area] = out
    return out


NULL_NOISE = 0.05  # --null: day 0's scores plus this many of their standard deviations of fixed noise
NULL_SEEDS = 5  # --null: draws of that noise per user


def null_rounds(app, name: str, relevant: set[str], seed: int) -> list[tuple[list[float], ...]]:
    """What the per-user backfire count means: a "learner" that learns nothing and lists day 0's scores
    plus fixed random noise of ``NULL_NOISE`` standard deviations (a reshuffle of near-ties no user would
    notice), rating its own top 10 each day like the simulated user. Per draw of the noise (drawn over the
    papers sorted by id, so a run repeats it): its nDCG@20 per day, its own no-learning control's (day 0's
    scores without the noise, minus the same rated papers), and the relevant papers among its rated 10 and
    among the 10 a user of the clean list rates each day (the "relevant papers seen" measure's chance)."""
    from papercast.tools.ranking.score import score_pool
    from papercast.tools.ranking.window import load_window

    pool = load_window(paper_store(app), POOL_SINCE, POOL_UNTIL).pool
    sig, total = score_pool(paper_store(app), app.profile_show(name), pool)
    ids = [pool.ids[i] for i in sig.keep]
    clean = np.where(sig.read, -np.inf, total)
    control = [ids[i] for i in np.argsort(-clean, kind="stable")[:300]]
    by_id = np.argsort(ids, kind="stable")
    out = []
    for k in range(NULL_SEEDS):
        noise = np.empty(len(ids))
        noise[by_id] = np.random.default_rng([seed, k]).standard_normal(len(ids))
        shuffled = [ids[i] for i in np.argsort(-(clean + NULL_NOISE * float(total.std()) * noise),
                                               kind="stable")[:300]]
        rated: set[str] = set()
        mine, theirs = [], []
        seen, seen_alone = [float("nan")], [float("nan")]
        for day in range(DAYS + 1):
            if day:
                shown = [p for p in shuffled if p not in rated][:SHOWN]
                rated |= set(shown)
                seen.append(float(len(relevant.intersection(shown))))
                alone = control[(day - 1) * SHOWN: day * SHOWN]
                seen_alone.append(float(len(relevant.intersection(alone))))
            left = relevant - rated
            mine.append(ndcg_at([p for p in shuffled if p not in rated], left))
            theirs.append(ndcg_at([p for p in control if p not in rated], left))
        out.append((mine, theirs, seen, seen_alone))
    return out


# the simulated days' ratings are dated, so ``eval`` can split them
DAY0 = datetime(2026, 7, 1, 9, tzinfo=UTC)


def daily_rounds(app, base: Baselines, users: list[User], rows: list[dict], pool: list[dict],
                 dislikes: bool, weights=None, ceiling: bool = False, svm: bool = True, teach: bool = False,
                 grade: bool = False, null: bool = False, noisy: float = 0.0) -> dict[str, list[list[float]]]:
    """The issue's protocol: day 0 is interests + 5 likes; each day the top 10 of papercast's list
    are rated (a like for each relevant paper; with ``dislikes`` a dislike for each other one, else
    it is dismissed unrated) and leave every list. After each round, nDCG@20 over the papers not yet
    rated, for papercast, the no-learning control (the day-0 list minus the rated papers) and the SVM on
    the same ratings. Ratings are dated one simulated day apart. Returns method -> per user, per day
    scores.

    ``teach`` (issue 21): on day 1 the user rates the 10 papers ``teach`` asks about instead of the
    top 10 (then the top 10 again); beside it, "top-10 rated" is the usual day 1 on a copy of the
    profile, and both are also scored on the papers neither rated ("... common").
    ``grade`` (issue 21): after day 3, ``papercast eval`` grades the profile on its own ratings; its
    overall nDCG is compared with the bench's own figure, the nDCG (true labels) of each day's rated 10
    in the order they were shown, averaged over days 1-3 with a like among the 10 (the days eval can grade:
    nDCG needs a relevant paper); method "eval", and "bench's own" with that figure and, second, the
    same averaged over all three days with a day of no like as 0.
    ``null``: ``null_rounds`` beside each user (methods "null k" and "null control k", k the draw).
    ``noisy`` (issue 21): the share of on-topic papers the user rates as off-topic (a dislike, or with
    likes only a dismissal), as real users do: each drawn by a fixed seed per user, draw and day. Every
    figure still grades by the true labels."""
    from papercast.tools.ranking.evaluation import ndcg
    from papercast.tools.ranking.score import recommend

    out: dict[str, list[list[float]]] = {"papercast": [], "no learning": [], "LogReg": []}
    if svm:
        out["SVM"] = []
    if ceiling:
        out["ceiling"] = []
    per_day = list(out)  # scored after every day (teach and eval add their own entries below)
    for user in users:
        relevant = {r["id"] for r in pool if user.area in r["categories"]}
        liked = set(draw_likes(rows, user.area, 5))
        # runs may overlap
        name = f"{user.area.replace('.', '-')}-daily-{'ld' if dislikes else 'l'}-{os.getpid()}"
        for old in (name, name + "-top"):
            if profile_store(app).exists(old):
                app.profile_delete(old)
        app.profile_create(name, interests=user.interests)
        profile_store(app).add_feedback(name, sorted(liked), "like", at=DAY0)

        def ranked(name: str = name) -> list[str]:
            got = recommend(paper_store(app), app.profile_show(name), since=POOL_SINCE,
                            until=POOL_UNTIL, n=300,
                            weights=weights)
            return [r.paper.id for r in got.items]

        def rate(shown: list[str], day: int, name: str = name, relevant: set[str] = relevant,
                 area: str = user.area) -> list[str]:
            good = [pid for pid in shown if pid in relevant]
            if noisy:
                slip = np.random.default_rng([zlib.crc32(area.encode()), LIKE_DRAW, day]).random(len(good))
                good = [pid for pid, r in zip(sorted(good), slip, strict=True) if r >= noisy]
            bad = [pid for pid in shown if pid not in good]
            at = DAY0 + timedelta(days=day)
            window = (POOL_SINCE, POOL_UNTIL)  # the list's window: eval replays the day on it
            if good:
                profile_store(app).add_feedback(name, good, "like", at=at, window=window)
            if bad:
                profile_store(app).add_feedback(name, bad, "dislike" if dislikes else "dismiss", at=at,
                                                window=window)
            return good

        control = ranked()
        if null:
            for k, (got, theirs, seen, alone) in enumerate(
                    null_rounds(app, name, relevant, seed=zlib.crc32(user.area.encode()) + LIKE_DRAW)):
                out.setdefault(f"null {k}", []).append(got)
                out.setdefault(f"null control {k}", []).append(theirs)
                out.setdefault(f"null seen {k}", []).append(seen)
                out.setdefault(f"null seen alone {k}", []).append(alone)
        best = ([base.pool_ids[i]
                 for i in np.argsort(-ceiling_scores(base, user.area, relevant), kind="stable")]
                if ceiling else [])
        rated: set[str] = set()
        scores: dict[str, list[float]] = {m: [] for m in per_day}
        extra: dict[str, float] = {}
        own: list[float | None] = []
        found = [float("nan")]  # relevant papers among each day's rated 10
        found_alone = [float("nan")]  # the same for a user who rates the no-learning list's own next 10
        current = control
        for day in range(DAYS + 1):
            if day:
                shown = [pid for pid in current if pid not in rated][:SHOWN]
                if teach and day == 1:
                    app.profile_create(name + "-top", interests=user.interests)
                    profile_store(app).add_feedback(name + "-top", sorted(liked), "like", at=DAY0)
                    rate(shown, day, name + "-top")
                    top_list = [p for p in ranked(name + "-top") if p not in set(shown)]
                    asked, _ = app.teach(profile=name, n=SHOWN, since=POOL_SINCE, until=POOL_UNTIL)
                    shown = [c.paper.id for c in asked]
                own.append(ndcg(-np.arange(len(shown), dtype=float),
                                np.array([p in relevant for p in shown])))
                found.append(float(sum(p in relevant for p in shown)))
                found_alone.append(float(sum(p in relevant for p in control[(day - 1) * SHOWN:day * SHOWN])))
                liked |= set(rate(shown, day))  # what the user liked, noisy or not
                rated |= set(shown)
                current = ranked()
                if teach and day == 1:
                    neither = rated | set(control[:SHOWN])  # what teach and the top-10 user rated
                    left = relevant - neither
                    extra["top-10 rated"] = ndcg_at(top_list, relevant - set(control[:SHOWN]))
                    extra["teach, common"] = ndcg_at([p for p in current if p not in neither], left)
                    extra["top-10 rated, common"] = ndcg_at([p for p in top_list if p not in neither], left)
                    app.profile_delete(name + "-top")
            left = relevant - rated
            scores["papercast"].append(ndcg_at([p for p in current if p not in rated], left))
            scores["no learning"].append(ndcg_at([p for p in control if p not in rated], left))
            got = logreg_scores(base, liked, (rated - liked) if dislikes else set(), rated)
            scores["LogReg"].append(ndcg_at(unrated_order(base, got, rated)[:100], left))
            if svm:
                got = svm_scores(base, liked, rated)
                scores["SVM"].append(ndcg_at(unrated_order(base, got, rated)[:100], left))
            if ceiling:
                scores["ceiling"].append(ndcg_at([p for p in best if p not in rated][:100], left))
        for m in per_day:
            out[m].append(scores[m])
        out.setdefault("relevant rated", []).append(found)
        out.setdefault("relevant rated, no learning", []).append(found_alone)
        for m, value in extra.items():
            out.setdefault(m, []).append([float("nan"), value, float("nan"), float("nan")])
        if grade:
            started = time.perf_counter()
            graded = app.evaluate(name)
            seconds = time.perf_counter() - started
            mine = graded.overall.learning.ndcg if graded.overall else None
            out.setdefault("eval", []).append([float("nan") if mine is None else mine, seconds,
                                               len(graded.days), float("nan")])
            graded_days = [x for x in own if x is not None]
            out.setdefault("bench's own", []).append([
                float(np.mean(graded_days)) if graded_days else float("nan"),
                float(np.mean([x or 0.0 for x in own])), float("nan"), float("nan")])
        app.profile_delete(name)
    return out


# the per-day table's columns (when run)
DAILY_TABLE = ("papercast", "no learning", "LogReg", "SVM", "ceiling")
BACKFIRE = 0.05  # issue 21: no user, no day, below its own no-learning control by more than this
RESAMPLES = 2000  # bootstrap resamples of the areas for the intervals printed with --daily


def seen_changes(more: np.ndarray) -> tuple[int, int, int]:
    """From each user's relevant papers seen minus the no-learning list's: the users who saw fewer, 2 or
    more fewer, and 2 or more more (one count for papercast and for the null learner's chance of it)."""
    return int((more < 0).sum()), int((more <= -2).sum()), int((more >= 2).sum())


def by_area(users: list[User]) -> list[np.ndarray]:
    """Each area's rows (its draws): the unit the intervals resample, as one area's draws share its pool,
    its interests text and its relevant papers, so they are not independent users."""
    rows: dict[str, list[int]] = {}
    for i, user in enumerate(users):
        rows.setdefault(user.area.split("#")[0], []).append(i)
    return [np.array(r) for r in rows.values()]


def area_interval(users: list[User], statistic, seed: int = SEED) -> tuple[float, float]:
    """A 95% percentile interval of ``statistic(rows)`` over ``RESAMPLES`` resamples of the areas."""
    groups = by_area(users)
    rng = np.random.default_rng(seed)
    got = [statistic(np.concatenate([groups[g] for g in rng.integers(0, len(groups), len(groups))]))
           for _ in range(RESAMPLES)]
    low, high = np.nanpercentile(got, [2.5, 97.5])
    return float(low), float(high)


def gap_closed(arr: dict[str, np.ndarray], rows: np.ndarray, day: int, method: str = "papercast") -> float:
    """The share of the gap between no learning and the ceiling that ``method`` closes on ``day``."""
    none, best = arr["no learning"][rows, day].mean(), arr["ceiling"][rows, day].mean()
    return float((arr[method][rows, day].mean() - none) / (best - none)) if best > none else float("nan")


def print_comparison(users: list[User], results: dict[str, dict[str, list[list[float]]]], path: Path) -> None:
    """This run against an earlier one (its ``recommend_daily.json``) on the same users: per day, the mean
    paired difference of papercast's nDCG@20 and of the gap closed, each with a 95% interval over the areas
    resampled. An interval that holds 0 is a difference these users cannot tell from noise."""
    try:
        before = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise SystemExit(f"--compare: cannot read {path}: {err}") from None
    if before.get("users") != [u.area for u in users]:
        raise SystemExit(f"--compare: {path} was run on other users or draws")
    for label, res in results.items():
        if label not in before.get("results", {}):
            continue
        now = {m: np.array(v, dtype=float) for m, v in res.items()}
        then = {m: np.array(v, dtype=float) for m, v in before["results"][label].items()}
        print(f"\nAgainst {path.name}, {label} (this run minus that one; 95% intervals, areas resampled):")
        for day in range(1, DAYS + 1):
            diff = now["papercast"][:, day] - then["papercast"][:, day]
            low, high = area_interval(users, lambda rows, x=diff: float(x[rows].mean()))
            line = f"  day {day}: nDCG@20 {diff.mean():+.3f} ({low:+.3f} to {high:+.3f})"
            if "ceiling" in now and "ceiling" in then:
                def change(rows, d=day, now=now, then=then):
                    return gap_closed(now, rows, d) - gap_closed(then, rows, d)
                low, high = area_interval(users, change)
                line += f", gap closed {change(np.arange(len(users))):+.0%} ({low:+.0%} to {high:+.0%})"
            print(line)
        if "relevant rated" in now and "relevant rated" in then:
            more = np.nansum(now["relevant rated"], axis=1) - np.nansum(then["relevant rated"], axis=1)
            low, high = area_interval(users, lambda rows, x=more: float(x[rows].mean()))
            print(f"  relevant papers among the rated 10s, days 1-{DAYS} together: {more.mean():+.2f} a user "
                  f"({low:+.2f} to {high:+.2f})")


def print_daily(users: list[User], results: dict[str, dict[str, list[list[float]]]]) -> None:
    for label, res in results.items():
        arr = {m: np.array(v, dtype=float) for m, v in res.items()}
        cols = [m for m in DAILY_TABLE if m in arr]
        # the share of the gap between no learning and the ceiling that learning closes
        gap = "ceiling" in arr
        print(f"\nDaily ratings, {label}: nDCG@20 over the papers not yet rated ({len(users)} users)")
        print(f"{'after day':<10} " + " ".join(f"{m:>12}" for m in cols)
              + (f" {'pc - SVM':>9}" if "SVM" in arr else "") + f" {'below control':>14} {'by > 0.05':>10}"
              + (f" {'gap closed':>11}" if gap else ""))
        diff = arr["papercast"] - arr["no learning"]
        for day in range(DAYS + 1):
            mean = {m: float(arr[m][:, day].mean()) for m in cols}
            closed = ""
            if gap and day > 0 and mean["ceiling"] > mean["no learning"]:
                closed = f""" {(mean['papercast'] - mean['no learning'])
                               / (mean['ceiling'] - mean['no learning']):>11.0%}"""
            print(f"{day:<10} " + " ".join(f"{mean[m]:>12.3f}" for m in cols)
                  + (f" {mean['papercast'] - mean['SVM']:>+9.3f}" if "SVM" in arr else "")
                  + f" {int((diff[:, day] < -1e-9).sum()):>14} "
                  f"{int((diff[:, day] < -BACKFIRE).sum()):>10}{closed}")
        if gap:
            spans = [area_interval(users, lambda rows, d=d, arr=arr: gap_closed(arr, rows, d))
                     for d in range(1, DAYS + 1)]
            print(f"  gap closed, 95% intervals over the {len(by_area(users))} areas resampled (each area's "
                  "draws together): " + " / ".join(f"{lo:.0%} to {hi:.0%}" for lo, hi in spans))
        if gap and "LogReg" in arr:
            ours, none, best = (arr[m].mean(axis=0) for m in ("LogReg", "no learning", "ceiling"))
            shares = [(ours[d] - none[d]) / (best[d] - none[d]) for d in range(1, DAYS + 1)]
            scale = "papercast's no-learning list 0%, the ceiling 100%"
            print(f"  LogReg (Scholar Inbox's learner alone, the same ratings) on the gap's scale ({scale}): "
                  + " / ".join(f"{x:.0%}" for x in shares))
        worst = diff.min(axis=1)
        print(f"  users ever below their control by > {BACKFIRE}: {int((worst < -BACKFIRE).sum())} of "
              f"{len(users)}; "
              + " ".join(f"{u.area}:{w:+.2f}" for u, w in zip(users, worst, strict=True) if w < -BACKFIRE))
        print(f"  users below their control by > {BACKFIRE} on average over days 1-{DAYS}: "
              f"{int((diff[:, 1:].mean(axis=1) < -BACKFIRE).sum())} of {len(users)}")
        if "relevant rated" in arr:
            ours, alone = arr["relevant rated"][:, 1:], arr["relevant rated, no learning"][:, 1:]
            more = ours.sum(axis=1) - alone.sum(axis=1)
            low, high = area_interval(users, lambda rows, x=more: float(x[rows].mean()))
            print(f"  relevant papers among the {SHOWN} rated each day (days 1-{DAYS}): papercast "
                  + " / ".join(f"{x:.2f}" for x in ours.mean(axis=0)) + "; a user of the no-learning list "
                  "rating its next 10 each day " + " / ".join(f"{x:.2f}" for x in alone.mean(axis=0))
                  + f"; over the {DAYS} days {more.mean():+.2f} a user ({low:+.2f} to {high:+.2f})")
            fewer, lost, gained = seen_changes(more)
            print(f"    users who saw fewer: {fewer}, 2 or more fewer: {lost}, 2 or more more: {gained} of "
                  f"{len(users)}")
        if "null 0" in arr:
            noise = [arr[f"null {k}"] - arr[f"null control {k}"] for k in range(NULL_SEEDS)]
            ever = [int((x.min(axis=1) < -BACKFIRE).sum()) for x in noise]
            mean = [int((x[:, 1:].mean(axis=1) < -BACKFIRE).sum()) for x in noise]
            print(f"  a null learner (day 0's scores plus noise of {NULL_NOISE} sd, learning nothing; "
                  f"{NULL_SEEDS} draws of the noise): users ever below its own control by > {BACKFIRE}: "
                  f"{np.mean(ever):.1f} of {len(users)} (from {min(ever)} to {max(ever)}), on average over "
                  f"days 1-{DAYS}: {np.mean(mean):.1f} ({min(mean)} to {max(mean)}); mean change per day "
                  + " / ".join(f"{np.mean([x[:, d].mean() for x in noise]):+.3f}"
                               for d in range(1, DAYS + 1)))
            counts = np.array([seen_changes(np.nansum(arr[f"null seen {k}"][:, 1:]
                                                      - arr[f"null seen alone {k}"][:, 1:], axis=1))
                               for k in range(NULL_SEEDS)])
            fewer, lost, gained = counts.mean(axis=0)
            print(f"    its relevant papers seen over days 1-{DAYS} against the no-learning list's: "
                  f"users who saw fewer {fewer:.1f}, 2 or more fewer {lost:.1f} (from {counts[:, 1].min()} "
                  f"to {counts[:, 1].max()}), 2 or more more {gained:.1f} of {len(users)}")
        for split in dict.fromkeys(u.split.split("#")[0] for u in users):
            rows = [i for i, u in enumerate(users) if u.split == split]
            if len(rows) < len(users):
                print(f"  {split} users ({len(rows)}): papercast " + " / ".join(
                    f"{arr['papercast'][rows, d].mean():.3f}" for d in range(DAYS + 1)) + ", no learning "
                    + " / ".join(f"{arr['no learning'][rows, d].mean():.3f}" for d in range(DAYS + 1)))
        if "top-10 rated" in arr:
            print("  day 1 after 10 ratings chosen by teach vs the top 10 rated, each over the papers it "
                  f"left unrated: {arr['papercast'][:, 1].mean():.3f} vs "
                  f"{arr['top-10 rated'][:, 1].mean():.3f}; over the papers neither rated: "
                  f"{arr['teach, common'][:, 1].mean():.3f} vs "
                  f"{arr['top-10 rated, common'][:, 1].mean():.3f}")
        if "eval" in arr:
            mine, own, zeros = arr["eval"][:, 0], arr["bench's own"][:, 0], arr["bench's own"][:, 1]
            ok = np.isfinite(mine) & np.isfinite(own)
            gaps, zero_gaps = np.abs(mine[ok] - own[ok]), np.abs(mine[ok] - zeros[ok])
            if not ok.any():  # likes only: a day of likes alone has nothing to rank them against
                print("  eval: no user could be graded (each graded day needs a like and a paper not liked)")
            else:
                print("  eval's nDCG vs the bench's own figure (each day's rated 10 in the order shown, "
                      f"days 1-3 with a like), {int(ok.sum())} users graded: mean |difference| "
                      f"{gaps.mean():.3f}, within 0.05 for {int((gaps <= 0.05).sum())}, largest "
                      f"{gaps.max():.3f}; eval took {np.median(arr['eval'][:, 1]):.2f} s (median), "
                      f"{np.max(arr['eval'][:, 1]):.2f} s at most")
                print("    against the figure over all 3 days, a day with no like counted as 0 (a day eval "
                      f"cannot grade): mean |difference| {zero_gaps.mean():.3f}, within 0.05 for "
                      f"{int((zero_gaps <= 0.05).sum())}, largest {zero_gaps.max():.3f}")


# -- the run ----------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", help="comma-separated method names to run")
    parser.add_argument("--split", choices=["tune", "held-out", "hard", "all"], default="all",
                        help="which users: tune, held-out, hard (issue 21's areas next to a bigger one), all")
    parser.add_argument("--daily", action="store_true", help="only the daily-ratings protocol (issue 15)")
    parser.add_argument("--variant", choices=["both", "dislikes", "only"], default="both",
                        help="--daily: likes and dislikes, likes only, or both")
    parser.add_argument("--ceiling", action="store_true",
                        help="--daily: also score a classifier given 80%% of the pool's true labels (what "
                        "these features and labels allow; ~3 min)")
    parser.add_argument("--draw", default="0",
                        help="another fixed draw of each user's liked papers (0: the published one), to tell "
                        "a change from the luck of one draw; --daily takes several (0,1,2,3: each user once "
                             "per draw, all averaged)")
    parser.add_argument("--weights", default="", help="ranker weights to try, e.g. lexical=0.4,disliked=0.3")
    parser.add_argument("--no-svm", action="store_true", help="--daily: skip the SVM baseline (faster)")
    parser.add_argument("--teach", action="store_true",
                        help="--daily: day 1's ratings are the 10 papers `teach` asks about (issue 21)")
    parser.add_argument("--null", action="store_true",
                        help="--daily: beside each user, a learner that learns nothing and lists day 0's "
                        "scores plus a little noise (what the backfire count and the relevant papers seen "
                        "mean by chance)")
    parser.add_argument("--compare", type=Path, metavar="JSON",
                        help="--daily: this run against an earlier run's recommend_daily.json (copy it "
                        "first, or give each run its own BENCH_RESULTS folder: a run writes over it), paired "
                        "per user, with intervals")
    parser.add_argument("--noisy", type=float, default=0.0, metavar="P",
                        help="--daily: the user rates each on-topic paper as off-topic with probability P "
                        "(noisy dislikes, as real users give)")
    parser.add_argument("--eval", action="store_true",
                        help="--daily: grade each user with `papercast eval` after day 3, against the "
                        "bench's figure")
    args = parser.parse_args()

    if not 0.0 <= args.noisy <= 1.0:
        parser.error(f"--noisy is a probability, from 0 to 1 (got {args.noisy})")
    global LIKE_DRAW
    draws = [int(d) for d in args.draw.split(",")]
    if len(draws) > 1 and not args.daily:
        parser.error("several draws are for --daily")
    LIKE_DRAW = draws[0]
    started = time.perf_counter()
    rows, vectors = load_corpus()
    pool = [r for r in rows if POOL_SINCE.isoformat() <= r["published"][:10] <= POOL_UNTIL.isoformat()]
    users = [u for u in USERS if args.split in ("all", u.split)]
    print(f"{len(rows)} papers, pool {len(pool)}, {len(users)} users", file=sys.stderr)
    app = build_service(rows, vectors)
    base = Baselines(rows, vectors, pool)
    from dataclasses import replace

    from papercast.tools.ranking.score import WEIGHTS

    weights = replace(WEIGHTS, **{k: type(getattr(WEIGHTS, k))(v) for k, v in
                                  (kv.split("=") for kv in args.weights.split(",") if kv)})
    if args.daily:
        variants = {"likes and dislikes": True, "likes only": False}
        daily: dict[str, dict[str, list[list[float]]]] = {}
        for draw in draws:
            LIKE_DRAW = draw  # draw_likes reads it
            for label, flag in variants.items():
                if args.variant in ("both", label.split()[-1]):
                    got = daily_rounds(app, base, users, rows, pool, dislikes=flag, weights=weights,
                                       ceiling=args.ceiling, svm=not args.no_svm, teach=args.teach,
                                       grade=args.eval, null=args.null, noisy=args.noisy)
                    for method, per_user in got.items():
                        daily.setdefault(label, {}).setdefault(method, []).extend(per_user)
        shown = [u if len(draws) == 1 else replace(u, area=f"{u.area}#{d}") for d in draws for u in users]
        print_daily(shown, daily)
        if args.compare:
            print_comparison(shown, daily, args.compare)
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "recommend_daily.json").write_text(json.dumps(
            {"users": [u.area for u in shown], "draws": draws, "results": daily,
             "seconds": time.perf_counter() - started}, indent=2))
        return 0

    methods: dict[str, tuple[int, object]] = {
        "random": (5, base.random),
        "popularity (HF upvotes)": (5, base.popularity),
        "tf-idf cosine (5 likes)": (5, base.tfidf_cosine),
        "tf-idf + embedding blend (5 likes)": (5, base.tfidf_embedding_blend),
        "arxiv-sanity-lite SVM (5 likes)": (5, base.arxiv_sanity),
        "zotero-arxiv-daily embedding (5 likes)": (5, base.zotero_embedding),
        "arxiv-sanity-lite SVM (20 likes)": (20, base.arxiv_sanity),
        "zotero-arxiv-daily embedding (20 likes)": (20, base.zotero_embedding),
        "papercast, interests only (0 likes)": (0, None),
        "papercast (5 likes)": (5, None),
        "papercast (20 likes)": (20, None),
    }
    if args.only:
        wanted = [w.strip() for w in args.only.split(",")]
        methods = {k: v for k, v in methods.items() if any(w in k for w in wanted)}

    per_user: dict[str, dict[str, dict[str, float]]] = {m: {} for m in methods}
    timings: dict[str, float] = {m: 0.0 for m in methods}
    for user in users:
        pool_relevant = {r["id"] for r in pool if user.area in r["categories"]}
        likes20 = draw_likes(rows, user.area, 20)
        for method, (k, fn) in methods.items():
            liked = likes20[:k]
            t0 = time.perf_counter()
            ranked = (papercast_ranker(app, user, liked, f"{k}-{os.getpid()}", weights=weights) if fn is None
                      else fn(user, liked))
            timings[method] += time.perf_counter() - t0
            assert set(ranked) <= set(base.pool_ids) and len(ranked) == 100, method
            per_user[method][user.area] = metrics(ranked, pool_relevant)

    def mean(method: str, split: str | None, metric: str) -> float:
        vals = [m[metric] for area, m in per_user[method].items()
                if split is None or next(u.split for u in users if u.area == area) == split]
        return float(np.mean(vals)) if vals else float("nan")

    table = []
    for method in methods:
        row = {"method": method, "ms_per_user": 1000 * timings[method] / len(users)}
        for split, label in ((None, "all"), ("tune", "tune"), ("held-out", "held-out")):
            for metric in ("nDCG@20", "P@10", "AP@100"):
                row[f"{metric} {label}"] = mean(method, split, metric)
        table.append(row)

    n_tune = sum(u.split == "tune" for u in users)
    print(f"\nRecommendation quality: {len(users)} users ({n_tune} tune, {len(users) - n_tune} held-out), "
          f"pool {len(pool)} papers ({POOL_SINCE} .. {POOL_UNTIL})\n")
    header = (f"{'method':<42} {'nDCG@20':>8} {'P@10':>6} {'AP@100':>7} | "
              f"{'nDCG tune':>9} {'held-out':>8} | {'ms/user':>7}")
    print(header)
    print("-" * len(header))
    for row in table:
        print(f"{row['method']:<42} {row['nDCG@20 all']:>8.3f} {row['P@10 all']:>6.3f} "
              f"{row['AP@100 all']:>7.3f} | {row['nDCG@20 tune']:>9.3f} {row['nDCG@20 held-out']:>8.3f} | "
              f"{row['ms_per_user']:>7.0f}")
    print("\nnDCG@20 per user (area: " + ", ".join(
        f"{m.split(' (')[0].split(',')[0][:12]}" for m in methods) + ")")
    for user in users:
        cells = " ".join(f"{per_user[m][user.area]['nDCG@20']:.2f}" for m in methods)
        print(f"  {user.area:<15} {user.split:<9} {cells}")

    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "recommend_quality.json"
    out.write_text(json.dumps({"users": [u.__dict__ for u in users], "pool": len(pool), "table": table,
                               "per_user": per_user, "seconds": time.perf_counter() - started}, indent=2))
    print(f"\nwritten {out} ({time.perf_counter() - started:.0f}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
