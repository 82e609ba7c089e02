"""The recommender grades itself on a profile's own ratings (``papercast eval``), split by time.

Ratings are grouped by the day (UTC) they were given. For every day after the first, the ranker learns
from the earlier days' ratings only and is graded on how it ordered that day's papers (a like is
relevant; a dislike, or a paper dismissed and never rated, is not), beside "no learning" (the first
day's ratings only), both ranking the day's pool: the window of the list it was rated in (ratings keep
it), so the grade is of the order the user saw, or for a day rated outside a list, the rated papers and a
fixed draw of the library from their dates (``_Pools``). Per day, ISO week and overall: nDCG, MRR (the
first like) and balanced accuracy of the calibrated probability (``classifier.calibrate``) at one half.
Today's interests rank every day; saves are likes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np

from papercast.models import Evaluation, EvaluationPeriod, Profile, RankingMetrics
from papercast.tools.ranking.classifier import calibrate
from papercast.tools.ranking.ratings import Rating, as_of, graded_ratings
from papercast.tools.ranking.score import listed_order, score_pool
from papercast.tools.ranking.window import load_window, once_more_if_changed, papers_by_id, sample_pool

if TYPE_CHECKING:
    from papercast.store.papers import PaperStore
    from papercast.tools.ranking.pool import Pool

MIN_TEST = 10  # ratings given after the first rating day before a grade means anything
BACKGROUND = 2000  # library papers drawn beside the rated ones, for days rated outside a list
LISTED = 50  # the reading list's length: its order (near-duplicates lowered) is graded, then the rest's
# Days are replayed on their lists' whole windows while the papers ranked over all of them stay within
# this (a day costs about 6 us a paper on a 2-core machine: 500 ratings in 50 days of 4,000 papers ~ 1.5 s);
# beyond, each window is a fixed draw of ``BACKGROUND`` of its papers and the papers rated in it.
REPLAY_BUDGET = 200_000


def needed_ratings(rated: Sequence[Rating]) -> str | None:
    """What is missing before ``evaluate`` can grade anything, said for the user; None when nothing is."""
    if not any(not r.dismissed for r in rated):
        return (f"no ratings yet: like or dislike papers on at least two days ({MIN_TEST} ratings after the "
                "first day, some of each) and eval grades how well papercast learned them")
    first = _first_day(rated)
    later = [r for r in rated if r.day > first]
    likes, dislikes = sum(r.liked for r in later), sum(not r.liked for r in later)
    missing = []
    if len(later) < MIN_TEST:
        missing.append(f"{MIN_TEST - len(later)} more rating{'s' if MIN_TEST - len(later) != 1 else ''}")
    if not likes:
        missing.append("a like")
    if not dislikes:
        missing.append("a dislike or a dismissal")
    if not missing:
        return None
    return (f"eval needs {' and '.join(missing)} given after {first} (the first day's ratings are what it "
            f"starts from; {len(later)} rating{'s' if len(later) != 1 else ''} since)")


def evaluate(store: PaperStore, profile: Profile, *, background: int = BACKGROUND) -> Evaluation:
    """Grade the ranker on the profile's own ratings, split by time (see the module's docstring).
    Too few ratings is not an error: the evaluation says how many more it needs."""
    return once_more_if_changed(store, lambda: _evaluate(store, profile, background))


def _evaluate(store: PaperStore, profile: Profile, background: int) -> Evaluation:
    given = graded_ratings(profile)
    gone = set(store.missing([r.paper_id for r in given]))  # deleted from the library since
    rated = [r for r in given if r.paper_id not in gone]
    need = needed_ratings(rated)
    if need is not None:
        return Evaluation(profile=profile.name, ratings=sum(not r.dismissed for r in rated), needed=need)
    first = _first_day(rated)
    days = [first, *sorted({r.day for r in rated if r.day > first})]
    pools = _Pools(store, rated, days[0], background)
    start = as_of(profile, days[0] + timedelta(days=1))  # no learning: what the first day's ratings taught
    baselines: dict[object, _Scorer] = {}
    graded: list[tuple[date, list[Rating], RankingMetrics, RankingMetrics]] = []
    for day in days[1:]:
        test = [r for r in rated if r.day == day]
        key, pool = pools.of_day(test)
        if key not in baselines:
            baselines[key] = _Scorer(store, start, pool, [r for r in rated if r.day <= days[0]])
        learned = _Scorer(store, as_of(profile, day), pool, [r for r in rated if r.day < day])
        graded.append((day, test, learned.grade(test), baselines[key].grade(test)))
    return Evaluation(profile=profile.name, ratings=sum(not r.dismissed for r in rated), first_day=days[0],
                      days=[_period(str(day), tests, [(a, b)]) for day, tests, a, b in graded],
                      weeks=[_period(label, tests, pairs) for label, tests, pairs in _by_week(graded)],
                      overall=_period("overall", [r for _, t, _, _ in graded for r in t],
                                      [(a, b) for _, _, a, b in graded]))



def day_window(test: Sequence[Rating]) -> tuple[date, date] | None:
    """The dates a day's ratings were given in: the span of the windows of its lists (one list, most
    days), or None when none was given in a list."""
    windows = [r.window for r in test if r.window is not None]
    if not windows:
        return None
    return min(w[0] for w in windows), max(w[1] for w in windows)


class _Pools:
    """The pool each graded day is ranked in, built once and shared by the days it serves. A day rated in
    a list is ranked among the papers that list ranked (``load_window``, as the list loaded them), while
    every graded day's window adds up to at most ``REPLAY_BUDGET`` papers; beyond it, or for a day that
    also rated papers outside its window, among a fixed draw of ``background`` papers of the window and
    every paper rated on the days of that window. A day rated outside a list (papers no list showed lately,
    or rated before windows were kept): among every rated paper and ``background`` papers drawn from the
    dates of those rated after the first day."""

    def __init__(self, store: PaperStore, rated: Sequence[Rating], first: date, background: int) -> None:
        self.store, self.rated, self.first, self.background = store, rated, first, background
        by_day: dict[date, list[Rating]] = defaultdict(list)
        for r in rated:
            by_day[r.day].append(r)
        self.members: dict[tuple[date, date] | None, list[str]] = defaultdict(list)  # rated, per window
        for day_rated in by_day.values():
            self.members[day_window(day_rated)].extend(r.paper_id for r in day_rated)
        graded = [window for day, day_rated in by_day.items() if day > first
                  and (window := day_window(day_rated)) is not None]
        sizes = {window: store.count(*window) for window in set(graded)}
        self.whole = sum(sizes[window] for window in graded) <= REPLAY_BUDGET
        self.built: dict[object, Pool] = {}

    def of_day(self, test: Sequence[Rating]) -> tuple[object, Pool]:
        """The day's pool and a key that is the same for days ranked in the same pool."""
        window = day_window(test)
        if window is None:
            return None, self._get(None, self._sampled)
        if self.whole:  # what the list ranked, as it loaded it
            listed = self._get(window, lambda: load_window(self.store, *window).pool)
            if all(r.paper_id in listed.position for r in test):
                return window, listed
        key = ("drawn", window)
        return key, self._get(key, lambda: sample_pool(self.store, self.members[window], self.background,
                                                       *window))

    def _get(self, key: object, build: Callable[[], Pool]) -> Pool:
        if key not in self.built:
            self.built[key] = build()
        return self.built[key]

    def _sampled(self) -> Pool:
        """The rated papers and a draw of the library from the dates of those rated after the first day
        (a first day's likes may be old papers, imported from a bibliography)."""
        since, until = _span(self.store, [r.paper_id for r in self.rated if r.day > self.first])
        return sample_pool(self.store, [r.paper_id for r in self.rated], self.background, since, until)


def _first_day(rated: Sequence[Rating]) -> date:
    """The first day with a like or a dislike: what the ranker starts from (dismissals before it hid papers,
    they taught nothing)."""
    return min(r.day for r in rated if not r.dismissed)


def _span(store: PaperStore, ids: Sequence[str]) -> tuple[date | None, date | None]:
    """The first and last publication dates of these papers (None, None when none has one)."""
    dates = [p.published for p in papers_by_id(store, ids) if p.published]
    return (min(dates), max(dates)) if dates else (None, None)


class _Scorer:
    """The ranker's scores over the pool for a profile as of one day, and its calibrated threshold."""

    def __init__(self, store: PaperStore, profile: Profile, pool: Pool,
                 learned_from: Sequence[Rating]) -> None:
        self.pool = pool
        scored = score_pool(store, profile, pool)
        self.scores = np.full(len(pool), -np.inf)
        listed: list[int] = []
        if scored is not None:
            sig, total = scored
            self.scores[sig.keep] = total
            listed = sig.keep[listed_order(sig, total, LISTED)].tolist()
        self.shown = _shown_order(self.scores, listed)
        rows = {r.paper_id: pool.position[r.paper_id] for r in learned_from if r.paper_id in pool.position}
        liked = np.array([self.scores[rows[r.paper_id]] for r in learned_from if r.liked
                          and r.paper_id in rows])
        disliked = np.array([self.scores[rows[r.paper_id]] for r in learned_from
                             if not r.liked and r.paper_id in rows])
        unrated = np.ones(len(pool), dtype=bool)
        unrated[list(rows.values())] = False
        finite = np.isfinite(self.scores)
        self.a, self.b = calibrate(liked[np.isfinite(liked)], disliked[np.isfinite(disliked)],
                                   self.scores[unrated & finite])
        self.unrated = unrated

    def grade(self, test: Sequence[Rating]) -> RankingMetrics:
        rows = [self.pool.position[r.paper_id] for r in test]
        scores, shown = self.scores[rows], self.shown[rows]
        liked = np.array([r.liked for r in test])
        predicted = np.isfinite(scores) & (self.a * np.where(np.isfinite(scores), scores, 0) + self.b >= 0)
        others = self.unrated.copy()
        others[rows] = False
        return RankingMetrics(ndcg=ndcg(shown, liked), mrr=mrr(shown, liked),
                              auc=auc(scores[liked], scores[~liked], self.scores[others]),
                              liked_right=int((predicted & liked).sum()),
                              disliked_right=int((~predicted & ~liked).sum()))


def _shown_order(scores: np.ndarray, listed: Sequence[int]) -> np.ndarray:
    """Each pool paper's place as a score (higher first): the listed papers in the list's order, then
    every other paper by its score (one the profile has read too: a paper rated again later); a paper
    the profile excludes stays -inf."""
    order = np.argsort(-scores, kind="stable")
    order = order[np.isfinite(scores[order])]
    is_listed = np.zeros(len(scores), dtype=bool)
    is_listed[list(listed)] = True
    places = np.concatenate([np.asarray(listed, dtype=np.int64), order[~is_listed[order]]])
    out = np.full(len(scores), -np.inf)
    out[places] = -np.arange(len(places), dtype=float)
    return out


def _order(scores: np.ndarray) -> np.ndarray:
    """Best first; ties (a paper the profile excludes scores -inf) in rating order."""
    return np.argsort(-scores, kind="stable")


def ndcg(scores: np.ndarray, liked: np.ndarray) -> float | None:
    """nDCG of these papers in score order, likes relevant (None without a like)."""
    if not liked.any():
        return None
    gains = liked[_order(scores)].astype(float)
    discounts = 1.0 / np.log2(np.arange(2, len(gains) + 2))
    return float((gains * discounts).sum() / discounts[: int(liked.sum())].sum())


def auc(liked: np.ndarray, disliked: np.ndarray, unrated: np.ndarray) -> float | None:
    """How often a like scores above a paper not liked: the dislikes and the unrated papers weigh half each
    (all of it on the unrated papers when there is no dislike), so a profile that only likes is graded too.
    None without a like."""
    if not len(liked):
        return None

    def above(others: np.ndarray) -> float:
        ordered = np.sort(others)
        below = np.searchsorted(ordered, liked, side="left")
        ties = np.searchsorted(ordered, liked, side="right") - below
        return float(np.mean((below + 0.5 * ties) / len(ordered)))

    parts = [(above(x), share) for x, share in ((disliked, 0.5), (unrated, 0.5)) if len(x)]
    return sum(v * s for v, s in parts) / sum(s for _, s in parts) if parts else None


def mrr(scores: np.ndarray, liked: np.ndarray) -> float | None:
    """One over the rank of the first like in score order (None without a like)."""
    if not liked.any():
        return None
    return 1.0 / (int(np.argmax(liked[_order(scores)])) + 1)


def _mean(values: Iterable[float | None]) -> float | None:
    got = [v for v in values if v is not None]
    return float(np.mean(got)) if got else None


def _period(label: str, tests: Sequence[Rating], pairs: Sequence[tuple[RankingMetrics, RankingMetrics]]
            ) -> EvaluationPeriod:
    """Days pooled: nDCG and MRR averaged over the days, balanced accuracy from the pooled counts."""
    likes = sum(r.liked for r in tests)
    dismissed = sum(r.dismissed for r in tests)
    dislikes = len(tests) - likes - dismissed

    def pooled(which: int) -> RankingMetrics:
        got = [pair[which] for pair in pairs]
        right_l, right_d = sum(m.liked_right for m in got), sum(m.disliked_right for m in got)
        return RankingMetrics(ndcg=_mean(m.ndcg for m in got), mrr=_mean(m.mrr for m in got),
                              auc=_mean(m.auc for m in got),
                              liked_right=right_l, disliked_right=right_d,
                              balanced_accuracy=_balanced(right_l, likes, right_d, dislikes + dismissed))

    return EvaluationPeriod(label=label, likes=likes, dislikes=dislikes, dismissed=dismissed, days=len(pairs),
                            in_lists=len({r.day for r in tests if r.window is not None}),
                            learning=pooled(0), no_learning=pooled(1))


def _balanced(right_l: int, likes: int, right_d: int, dislikes: int) -> float | None:
    rates = [right / total for right, total in ((right_l, likes), (right_d, dislikes)) if total]
    return float(np.mean(rates)) if rates else None


def _by_week(graded: Sequence[tuple[date, list[Rating], RankingMetrics, RankingMetrics]]
             ) -> list[tuple[str, list[Rating], list[tuple[RankingMetrics, RankingMetrics]]]]:
    weeks: dict[str, tuple[list[Rating], list[tuple[RankingMetrics, RankingMetrics]]]] = defaultdict(
        lambda: ([], []))
    for day, tests, learned, base in graded:
        year, week, _ = day.isocalendar()
        tests_of, pairs = weeks[f"{year}-W{week:02d}"]
        tests_of.extend(tests)
        pairs.append((learned, base))
    return [(label, tests, pairs) for label, (tests, pairs) in sorted(weeks.items())]

