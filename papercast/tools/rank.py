"""The ranking engine: a personal reading list from a profile and a window of papers.

Each paper's score is a weighted sum of explainable signals, each standardized over the window
(so weights mean "standard deviations" whatever the window size):

* semantic match to the interests text (each comma-separated interest on its own, so a profile
  with two topics does not average them into neither), and to keywords;
* lexical match (BM25 over the window) of interests and keywords — exact terms embeddings blur;
* nearness to liked papers (mean of the nearest few, not only the centroid) and, against it,
  nearness to disliked ones;
* a linear classifier fitted on the profile's own feedback once it has enough of it;
* pseudo-relevance feedback: the centroid of the first-pass top papers, which pulls in the
  profile's whole area instead of only the papers that share its wording;
* followed authors, categories, a small HF-upvotes prior and recency.

Embeddings are centred on the window mean first: MiniLM vectors share a large common
direction, and removing it makes cosine similarity discriminate between topics.
Dismissed papers, papers with an excluded keyword and papers already read (liked, disliked,
saved) never appear. The top of the list is diversified (MMR) so it is not near-duplicates.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np

from papercast.errors import UserError
from papercast.models import Paper, Profile, Recommendation
from papercast.tools.lexical import bm25_for, normalize_phrase, phrase_in, surface_forms, tokens

if TYPE_CHECKING:
    from papercast.store.papers import PaperStore

DEFAULT_DAYS = 7


@dataclass
class RankResult:
    items: list[Recommendation]
    since: date | None
    until: date | None
    note: str | None = None


@dataclass
class Weights:
    """How much each standardized signal counts. Tuned on the benchmark's tuning users only."""

    interest: float = 1.0
    lexical: float = 0.5
    liked: float = 1.0
    disliked: float = 0.6
    classifier: float = 0.8
    prf: float = 0.6
    author: float = 2.0
    category: float = 1.0
    popularity: float = 0.1
    recency: float = 0.05
    diversity: float = 0.3  # MMR penalty for near-duplicates of what is already above
    prf_top: int = 20
    knn: int = 3
    extra: dict[str, float] = field(default_factory=dict)


WEIGHTS = Weights()


# -- windows -------------------------------------------------------------------------------------
def resolve_window(store: PaperStore, since: date | None, until: date | None,
                   today: date | None = None) -> tuple[date | None, date | None, str | None]:
    """The window to rank and a note when it is not the one asked for.

    No dates: the 7 days ending at the newest paper in the store (a store fetched yesterday
    still has a list today). Dates given but no papers in them: the latest window of the same
    length that has papers, ending on or before ``until`` if possible, said in the note.
    """
    if since and until and since > until:
        raise UserError(f"--since {since} is after --until {until}")
    if since is None and until is None:
        latest = latest_date(store)
        if latest is None:
            return None, None, None
        start = latest - timedelta(days=DEFAULT_DAYS - 1)
        note = None
        today = today or date.today()
        if latest < today - timedelta(days=1):
            note = f"newest papers in the store are from {latest}; showing {start} .. {latest}"
        return start, latest, note
    if until is None:
        until = latest_date(store)
        if until is None:
            return since, None, None
        until = max(until, since) if since else until
    if since is None:
        since = until - timedelta(days=DEFAULT_DAYS - 1)
    if _has_papers(store, since, until):
        return since, until, None
    span = (until - since).days
    latest = latest_date(store, before=until) or latest_date(store)
    if latest is None:
        return since, until, None
    new_since = latest - timedelta(days=span)
    asked = str(since) if since == until else f"{since} .. {until}"
    shown = str(latest) if span == 0 else f"{new_since} .. {latest}"
    return new_since, latest, f"no papers for {asked}; showing the latest with papers: {shown}"


def _has_papers(store: PaperStore, since: date, until: date) -> bool:
    from papercast.store.papers import _window_where

    got = store.collection.get(where=_window_where(since, until), limit=1, include=[])
    return bool(got["ids"])


_LATEST: dict[tuple[int, int], date | None] = {}


def latest_date(store: PaperStore, before: date | None = None) -> date | None:
    """The newest publication date (on or before ``before``), without reading the whole store.

    Probes growing windows back from ``before`` (or today) and reads metadata only for the first
    window with papers; cached per process by store size.
    """
    from papercast.store.papers import _window_where, date_key

    count = store.count()
    key = (count, date_key(before))
    if key in _LATEST:
        return _LATEST[key]
    anchor = before or date.today()
    found: date | None = None
    for days in (7, 31, 180, 730):
        since = anchor - timedelta(days=days)
        got = store.collection.get(where=_window_where(since, before), include=["metadatas"])
        keys = [m.get("published", 0) for m in got["metadatas"] if m.get("published", 0)]
        if keys:
            found = _from_key(max(keys))
            break
    else:
        found = store.latest_date(before)
    if len(_LATEST) > 64:
        _LATEST.clear()
    _LATEST[key] = found
    return found


def _from_key(k: int) -> date:
    return date(k // 10000, k // 100 % 100, k % 100)


# -- embeddings of profile texts -----------------------------------------------------------------
_TEXT_CACHE: OrderedDict[str, np.ndarray] = OrderedDict()
_TEXT_LOCK = threading.Lock()


def embed_texts(store: PaperStore, texts: Sequence[str]) -> np.ndarray:
    """Embeddings of profile texts, cached per process (the interests rarely change)."""
    missing = [t for t in dict.fromkeys(texts) if t not in _TEXT_CACHE]
    if missing:
        vectors = store.embed_texts(missing)
        with _TEXT_LOCK:
            for text, vec in zip(missing, vectors, strict=True):
                _TEXT_CACHE[text] = np.asarray(vec, dtype=np.float32)
            while len(_TEXT_CACHE) > 512:
                _TEXT_CACHE.popitem(last=False)
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    return np.stack([_TEXT_CACHE[t] for t in texts])


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
def _unit(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=-1, keepdims=True)
    return m / np.clip(norms, 1e-9, None)


def _z(x: np.ndarray) -> np.ndarray:
    """Standardize over the window; a constant signal becomes all zeros."""
    if x.size == 0:
        return x
    sd = float(x.std())
    return (x - float(x.mean())) / sd if sd > 1e-9 else np.zeros_like(x)


def _name_key(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return " ".join(re.findall(r"[a-z]+", text))


def _author_match(paper: Paper, followed: dict[str, str]) -> str | None:
    for author in paper.authors:
        key = _name_key(author)
        if key in followed:
            return author
        parts = key.split()
        # "Y. LeCun" / "Yann LeCun": same surname and first initial.
        for fkey in followed:
            fparts = fkey.split()
            if parts and fparts and parts[-1] == fparts[-1] and parts[0][:1] == fparts[0][:1] and (
                    len(parts[0]) == 1 or len(fparts[0]) == 1):
                return author
    return None


def fit_logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float = 1.0, steps: int = 8) -> np.ndarray:
    """L2-regularized weighted logistic regression by Newton steps (d <= 400, so exact solves are
    cheap). Returns weights with the bias last."""
    xb = np.hstack([x, np.ones((len(x), 1), dtype=x.dtype)]).astype(np.float64)
    beta = np.zeros(xb.shape[1])
    reg = np.full(xb.shape[1], l2)
    reg[-1] = 1e-6
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-xb @ beta))
        grad = xb.T @ (w * (p - y)) + reg * beta
        hess = (xb * (w * p * (1 - p))[:, None]).T @ xb + np.diag(reg)
        beta -= np.linalg.solve(hess, grad)
    return beta


# -- ranking ---------------------------------------------------------------------------------------
def recommend(store: PaperStore, profile: Profile, *, since: date | None, until: date | None,
              n: int, weights: Weights | None = None) -> RankResult:
    """The top ``n`` papers of the window for ``profile``, best first, each with reasons."""
    if n < 1:
        raise UserError(f"-n must be at least 1, got {n}")
    since, until, note = resolve_window(store, since, until)
    papers, matrix = store.window(since, until, with_embeddings=True)
    items = rank_papers(store, profile, papers, matrix, n=n, weights=weights)
    if not items and papers:
        note = (note + "; " if note else "") + "every paper in this window is read, dismissed or excluded"
    return RankResult(items=items, since=since, until=until, note=note)


def rank_papers(store: PaperStore, profile: Profile, papers: list[Paper], matrix: np.ndarray | None,
                *, n: int, weights: Weights | None = None, reference: date | None = None) -> list[Recommendation]:
    """Rank given papers (with their embeddings) for a profile. Separate from the window logic
    so benchmarks and tests can rank any candidate set through the same code."""
    w = weights or WEIGHTS
    if not papers or matrix is None:
        return []
    read = set(profile.liked) | set(profile.disliked) | set(profile.saved) | set(profile.dismissed)
    texts = [normalize_phrase(p.embedding_text) for p in papers]
    excluded = [k for k in profile.excluded_keywords if normalize_phrase(k)]
    keep = [i for i, p in enumerate(papers)
            if p.id not in read and not any(phrase_in(k, texts[i]) for k in excluded)]
    if not keep:
        return []
    papers = [papers[i] for i in keep]
    texts = [texts[i] for i in keep]
    emb = _unit(np.asarray(matrix, dtype=np.float32)[keep])
    mean = emb.mean(axis=0) if len(emb) > 1 else np.zeros(emb.shape[1], dtype=np.float32)
    cen = _unit(emb - mean)

    total = np.zeros(len(papers), dtype=np.float32)
    signals: dict[str, np.ndarray] = {}

    # Interests and keywords, semantically.
    phrases = interest_phrases(profile.interests)
    queries = list(dict.fromkeys(([profile.interests] if profile.interests.strip() else []) + phrases
                                 + list(profile.keywords)))
    phrase_sims = np.zeros((0, len(papers)), dtype=np.float32)
    if queries:
        qv = _unit(embed_texts(store, queries) - mean)
        phrase_sims = qv @ cen.T  # (queries, papers)
        # The whole text and the best single interest both count: a paper on one of two topics
        # is a match, a paper touching both is a better one.
        interest = 0.5 * phrase_sims[0] + 0.5 * phrase_sims.max(axis=0)
        signals["interest"] = interest
        total += w.interest * _z(interest)

    # Lexical: BM25 of interests and keywords (keywords weigh double), plus exact keyword phrases.
    index = bm25_for([p.id for p in papers], [p.embedding_text for p in papers])
    q_terms = tokens(profile.interests)
    kw_terms = [t for k in profile.keywords for t in tokens(k)]
    lex_weights = {t: 2.0 for t in kw_terms}
    lexical = index.score(q_terms + kw_terms, lex_weights)
    kw_hits = [[k for k in profile.keywords if phrase_in(k, text)] for text in texts]
    lexical = lexical / (float(lexical.max()) or 1.0) + 0.5 * np.array([len(h) > 0 for h in kw_hits], np.float32)
    if q_terms or kw_terms:
        signals["lexical"] = lexical
        total += w.lexical * _z(lexical)

    # Feedback: nearness to liked (and saved) papers, away from disliked ones.
    pos_ids = list(dict.fromkeys(profile.liked + profile.saved))
    neg_ids = list(profile.disliked)
    vecs = store.embeddings(pos_ids + neg_ids) if (pos_ids or neg_ids) else {}
    pos_ids = [i for i in pos_ids if i in vecs]
    neg_ids = [i for i in neg_ids if i in vecs]
    like_sims = None
    if pos_ids:
        pv = _unit(np.stack([vecs[i] for i in pos_ids]) - mean)
        like_sims = pv @ cen.T  # (liked, papers)
        k = min(w.knn, len(pos_ids))
        knn = np.sort(like_sims, axis=0)[-k:].mean(axis=0)
        centroid = cen @ _unit(pv.mean(axis=0))
        liked = 0.5 * knn + 0.5 * centroid
        signals["liked"] = liked
        # Likes count more as there are more of them; the interests text still anchors the list.
        total += w.liked * min(1.0, 0.4 + 0.15 * len(pos_ids)) * _z(liked)
    if neg_ids:
        nv = _unit(np.stack([vecs[i] for i in neg_ids]) - mean)
        dis = (nv @ cen.T).max(axis=0)
        ref = like_sims.max(axis=0) if like_sims is not None else np.zeros_like(dis)
        # Only the part of the dislike-nearness that exceeds the like-nearness counts against.
        penalty = np.clip(dis - ref, 0, None)
        signals["disliked"] = dis
        total -= w.disliked * _z(penalty) * (penalty > 0)

    # A classifier on the profile's own feedback, once there is enough of it.
    if len(pos_ids) >= 5:
        rng = np.random.default_rng(0)
        bg = rng.choice(len(cen), size=min(len(cen), 300), replace=False)
        x_parts = [pv, cen[bg]]
        y_parts = [np.ones(len(pv)), np.zeros(len(bg))]
        w_parts = [np.full(len(pv), len(bg) / len(pv)), np.ones(len(bg))]
        if neg_ids:
            x_parts.append(nv)
            y_parts.append(np.zeros(len(nv)))
            w_parts.append(np.full(len(nv), 0.5 * len(bg) / len(nv)))
        beta = fit_logistic(np.vstack(x_parts), np.concatenate(y_parts), np.concatenate(w_parts), l2=2.0)
        clf = cen @ beta[:-1].astype(np.float32)
        signals["classifier"] = clf
        total += w.classifier * _z(clf)

    # Pseudo-relevance feedback: the first pass's top papers define the area.
    if w.prf and (queries or pos_ids) and len(papers) > 2 * w.prf_top:
        top = np.argsort(-total)[: w.prf_top]
        prf = cen @ _unit(cen[top].mean(axis=0))
        signals["prf"] = prf
        total += w.prf * _z(prf)

    # Authors, categories, popularity, recency.
    followed = {_name_key(a): a for a in profile.authors if _name_key(a)}
    by_author = [_author_match(p, followed) if followed else None for p in papers]
    total += w.author * np.array([a is not None for a in by_author], np.float32)
    cats = {c.lower() for c in profile.categories}
    in_cat = [next((c for c in p.categories if c.lower() in cats), None) if cats else None for p in papers]
    total += w.category * np.array([c is not None for c in in_cat], np.float32)
    upvotes = np.array([max(p.upvotes or 0, 0) for p in papers], np.float32)
    if upvotes.max() > 0:
        total += w.popularity * _z(np.log1p(upvotes))
    ref_day = reference or max((p.published for p in papers if p.published), default=None)
    if ref_day:
        age = np.array([(ref_day - p.published).days if p.published else 30 for p in papers], np.float32)
        total -= w.recency * np.clip(age, 0, 60) / 7.0

    order = _mmr(total, cen, n, w.diversity)
    lookup = {pid: p for pid, p in zip(pos_ids, store.get_many(pos_ids), strict=False)} if pos_ids else {}
    liked_titles = {p.id: p.title for p in lookup.values()}
    out = []
    for i in order:
        reasons = _reasons(i, papers[i], signals, phrases, profile, queries, phrase_sims, like_sims, pos_ids,
                           liked_titles, kw_hits[i], index, q_terms, by_author[i], in_cat[i])
        out.append(Recommendation(paper=papers[i], score=float(total[i]), reasons=reasons))
    return out


def _mmr(score: np.ndarray, cen: np.ndarray, n: int, diversity: float) -> list[int]:
    """Greedy selection: each next paper's score is lowered by how close it is to one above it
    (only beyond a similarity of 0.5, so related papers stay and near-duplicates drop)."""
    pool = np.argsort(-score)[: max(3 * n, n + 10)]
    if diversity <= 0 or len(pool) <= 1:
        return pool[:n].tolist()
    chosen: list[int] = []
    remaining = list(pool)
    max_sim = np.zeros(len(pool), dtype=np.float32)
    pos = {int(j): k for k, j in enumerate(pool)}
    while remaining and len(chosen) < n:
        adj = [score[j] - diversity * 10 * max(0.0, float(max_sim[pos[j]]) - 0.5) for j in remaining]
        best = remaining.pop(int(np.argmax(adj)))
        chosen.append(int(best))
        sims = cen[pool] @ cen[best]
        max_sim = np.maximum(max_sim, sims)
    return chosen


def _reasons(i: int, paper: Paper, signals: dict[str, np.ndarray], phrases: list[str], profile: Profile,
             queries: list[str], phrase_sims: np.ndarray, like_sims: np.ndarray | None, pos_ids: list[str],
             liked_titles: dict[str, str], kw_hits: list[str], index, q_terms: list[str],
             author: str | None, category: str | None) -> list[str]:
    """Short strings naming the signals that put paper ``i`` on the list, strongest first."""
    out: list[tuple[float, str]] = []
    if author:
        out.append((10.0, f"by an author you follow: {author}"))
    for kw in kw_hits[:2]:
        out.append((5.0, f"mentions your keyword: '{kw}'"))
    if "interest" in signals and len(queries):
        z = _z(signals["interest"])[i]
        if z > 0.5:
            candidates = phrases or [profile.interests]
            cand_idx = [queries.index(c) for c in candidates if c in queries]
            best = max(cand_idx, key=lambda j: phrase_sims[j, i]) if cand_idx else 0
            out.append((float(z), f"matches your interest: '{queries[best]}'"))
    if like_sims is not None and pos_ids:
        j = int(np.argmax(like_sims[:, i]))
        z = _z(signals["liked"])[i]
        if z > 0.5 and pos_ids[j] in liked_titles:
            out.append((float(z) + 0.1, f"similar to a paper you liked: {liked_titles[pos_ids[j]]}"))
    if "classifier" in signals and _z(signals["classifier"])[i] > 1.0:
        out.append((float(_z(signals["classifier"])[i]) - 0.5,
                    f"fits the pattern of your {len(pos_ids)} liked/saved papers"))
    if "lexical" in signals:
        forms = surface_forms(profile.interests)
        found = [forms.get(t, t) for t in index.matched_terms(i, q_terms)]
        # "long-context" makes "long" and "context" redundant.
        parts = {p for t in found if "-" in t for p in t.split("-")}
        terms = [t for t in found if t not in parts][:3]
        z = _z(signals["lexical"])[i]
        if terms and z > 0.5 and not kw_hits:
            out.append((float(z) - 0.3, f"uses your terms: {', '.join(terms)}"))
    if category:
        out.append((1.0, f"in your category: {category}"))
    if (paper.upvotes or 0) >= 20:
        out.append((0.8, f"trending on HF: {paper.upvotes} upvotes"))
    if not out:
        if "prf" in signals and _z(signals["prf"])[i] > 0.5:
            out.append((0.0, "close to the area of your top matches"))
        elif queries:
            j = int(np.argmax(phrase_sims[:, i]))
            out.append((0.0, f"closest in this window to your interest: '{queries[j]}'"))
        elif paper.upvotes:
            out.append((0.0, f"popular on HF: {paper.upvotes} upvotes"))
        else:
            out.append((0.0, "recent paper in this window (your profile has no interests yet)"))
    out.sort(key=lambda r: -r[0])
    return [text for _, text in out[:4]]
