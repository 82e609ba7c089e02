"""Learning from ratings, graded and taught (issue 21): ``evaluation`` (the recommender grades itself on
a profile's own ratings, split by time), ``teach`` (the papers it is least sure about) and the
calibration both use, on the bundled sample (452 real papers, their shipped embeddings)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from papercast.errors import UserError
from papercast.models import Feedback, Profile
from papercast.service.profiles import hiding
from papercast.tools.ranking.classifier import calibrate
from papercast.tools.ranking.evaluation import auc, evaluate, mrr, ndcg
from papercast.tools.ranking.ratings import as_of, graded_ratings, passed_over, ratings_of, starting_point
from papercast.tools.ranking.teach import NEAR_DUPLICATE, teach

from helpers import paper_store, profile_store

ASTRO = "galaxy formation, cosmological simulations, dark matter halos"
START = datetime(2026, 11, 2, 9, tzinfo=UTC)
_names = itertools.count()


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    from papercast.config import load_settings
    from papercast.service import Papercast

    service = Papercast(load_settings(home=tmp_path_factory.mktemp("learning-home")))
    service.ensure_sample()
    return service


def new_profile(service, **fields) -> str:
    name = f"learn{next(_names)}"
    service.profile_create(name, **fields)
    return name


# -- metrics ---------------------------------------------------------------------------------------------
def test_ranking_metrics_of_rated_papers():
    liked = np.array([False, True, False, True])
    assert ndcg(np.array([4.0, 3.0, 2.0, 1.0]), liked) == pytest.approx(
        (1 / np.log2(3) + 1 / np.log2(5)) / (1 + 1 / np.log2(3)))
    assert ndcg(np.array([1.0, 4.0, 2.0, 3.0]), liked) == pytest.approx(1.0)  # both likes first
    assert mrr(np.array([4.0, 3.0, 2.0, 1.0]), liked) == pytest.approx(0.5)
    assert ndcg(np.array([1.0, 2.0]), np.array([False, False])) is None  # nothing to find
    # AUC: likes against dislikes and unrated papers, half each; only the unrated without a dislike.
    assert auc(np.array([3.0]), np.array([1.0, 4.0]), np.array([0.0, 2.0, 5.0, 6.0])) == pytest.approx(
        0.5 * 0.5 + 0.5 * 0.5)
    assert auc(np.array([3.0]), np.array([]), np.array([0.0, 2.0, 5.0, 6.0])) == pytest.approx(0.5)
    assert auc(np.array([]), np.array([1.0]), np.array([0.0])) is None


def test_calibration_puts_the_threshold_between_likes_and_the_rest():
    rng = np.random.default_rng(0)
    unrated = rng.normal(0.0, 1.0, 2000)
    a, b = calibrate(np.array([3.0, 3.5, 4.0]), np.array([1.0, 1.5]), unrated)
    threshold = -b / a
    assert a > 0 and 1.5 < threshold < 3.0
    # Only likes: the unrated papers are the negatives, and two likes do not make a cliff.
    a, b = calibrate(np.array([3.0, 4.0]), np.array([]), unrated)
    assert a > 0 and 0.5 < -b / a < 4.0 and a < 5.0
    a, b = calibrate(np.array([]), np.array([]), unrated)  # no like: a like is a rare paper
    assert (a * unrated + b >= 0).mean() == pytest.approx(0.01, abs=0.002)


# -- ratings by day ---------------------------------------------------------------------------------------
def test_ratings_are_the_last_word_on_each_paper_dated_by_day():
    profile = Profile(name="x", feedback=[
        Feedback(paper_id="a", kind="like", at=START),
        Feedback(paper_id="b", kind="save", at=START + timedelta(days=1)),
        Feedback(paper_id="c", kind="dismiss", at=START + timedelta(days=1)),  # hides, rates nothing
        Feedback(paper_id="d", kind="like", at=START),
        Feedback(paper_id="d", kind="dislike", at=START + timedelta(days=2)),  # changed its mind
    ])
    got = {r.paper_id: (r.liked, r.day) for r in ratings_of(profile)}
    assert got == {"a": (True, START.date()), "b": (True, date(2026, 11, 3)), "d": (False, date(2026, 11, 4))}
    earlier = as_of(profile, date(2026, 11, 3))
    assert [f.paper_id for f in earlier.feedback] == ["a", "d"] and earlier.name == "x"


def test_eval_grades_a_dismissed_paper_as_not_liked_unless_it_was_rated():
    profile = Profile(name="x", feedback=[
        Feedback(paper_id="a", kind="like", at=START),
        Feedback(paper_id="c", kind="dismiss", at=START + timedelta(days=1)),
        Feedback(paper_id="e", kind="dismiss", at=START),
        Feedback(paper_id="e", kind="like", at=START + timedelta(days=2)),  # rated after all: a like
    ])
    got = {r.paper_id: (r.liked, r.day, r.dismissed) for r in graded_ratings(profile)}
    assert got == {"a": (True, START.date(), False), "c": (False, date(2026, 11, 3), True),
                   "e": (True, date(2026, 11, 4), False)}
    assert "c" not in {r.paper_id for r in ratings_of(profile)}  # not a rating (passed_over decides)


def test_only_papers_dismissed_on_a_day_with_a_like_are_passed_over():
    day = timedelta(days=1)
    profile = Profile(name="x", feedback=[
        Feedback(paper_id="a", kind="like", at=START),
        Feedback(paper_id="b", kind="dismiss", at=START + timedelta(hours=2)),  # beside the like
        Feedback(paper_id="c", kind="dismiss", at=START + day),  # a day of dismissals alone
        Feedback(paper_id="d", kind="dismiss", at=START + 2 * day),
        Feedback(paper_id="e", kind="save", at=START + 2 * day),
        Feedback(paper_id="f", kind="dismiss", at=START + 2 * day),
        Feedback(paper_id="f", kind="dislike", at=START + 3 * day),  # rated: a dislike, not passed over
    ])
    assert passed_over(profile) == ["b", "d"]


def test_papers_hidden_because_they_were_delivered_are_no_answer():
    """``recommend`` without the delivered papers hides them as dismissals on a copy of the profile: on a
    day the user liked papers they must not become negatives (they were never shown as a choice)."""
    today = datetime.now(UTC)
    profile = Profile(name="x", feedback=[Feedback(paper_id="a", kind="like", at=today),
                                          Feedback(paper_id="b", kind="dismiss", at=today)])
    hidden = hiding(profile, {"c", "b"})
    assert set(hidden.dismissed) == {"b", "c"}
    assert passed_over(hidden) == ["b"]


# -- evaluate --------------------------------------------------------------------------------------------
def rate_days(service, name: str, days: list[tuple[list[str], list[str]]], negative: str = "dislike") -> None:
    for day, (likes, dislikes) in enumerate(days):
        at = START + timedelta(days=day)
        if likes:
            profile_store(service).add_feedback(name, likes, "like", at=at)
        if dislikes:
            profile_store(service).add_feedback(name, dislikes, negative, at=at)


def astro_and_other(service) -> tuple[list[str], list[str]]:
    papers, _ = paper_store(service).window()
    astro = sorted(p.id for p in papers if any(c.startswith("astro-ph") for c in p.categories))
    other = sorted(p.id for p in papers if not any(c.startswith("astro-ph") for c in p.categories))
    return astro, other


def test_evaluate_needs_ratings_after_the_first_day(service):
    name = new_profile(service, interests=ASTRO)
    got = evaluate(paper_store(service), service.profile_show(name))
    assert got.needed and got.needed.startswith("no ratings yet") and not got.days and got.overall is None
    astro, other = astro_and_other(service)
    rate_days(service, name, [(astro[:3], []), (astro[3:6], other[:2])])
    got = evaluate(paper_store(service), service.profile_show(name))
    assert got.needed is not None and "5 more ratings" in got.needed and got.ratings == 8


def test_a_profile_that_only_likes_and_dismisses_is_graded(service):
    """Many users never dislike: they like what they want and dismiss what they do not. A dismissed paper
    was not wanted in the list, so eval grades it as not liked (and the ranker still learns nothing
    from it)."""
    name = new_profile(service, interests="science")
    astro, other = astro_and_other(service)
    rate_days(service, name, [(astro[:2], []), (astro[2:8], []), (astro[8:12], [])])
    got = evaluate(paper_store(service), service.profile_show(name), background=300)
    assert got.needed == ("eval needs a dislike or a dismissal given after 2026-11-02 (the first day's "
                          "ratings are what it starts from; 10 ratings since)")
    days = [(astro[:2], []), (astro[2:6], other[:3]), (astro[6:10], other[3:7]), (astro[10:13], other[7:10])]
    name = new_profile(service, interests="science")
    rate_days(service, name, days, negative="dismiss")
    profile = service.profile_show(name)
    assert not profile.disliked and len(profile.dismissed) == 10
    got = evaluate(paper_store(service), profile, background=300)
    assert got.needed is None and got.ratings == 13 and got.first_day == START.date()
    assert [(d.likes, d.dislikes, d.dismissed) for d in got.days] == [(4, 0, 3), (4, 0, 4), (3, 0, 3)]
    overall = got.overall
    assert overall is not None and overall.dismissed == 10 and overall.dislikes == 0
    for metrics in (overall.learning, overall.no_learning):
        assert 0 <= metrics.ndcg <= 1 and 0 <= metrics.balanced_accuracy <= 1
    # The same days with dislikes instead grade the same papers as not liked: the same ranker (a
    # dismissal teaches nothing) gives the no-learning side the same order, so the same nDCG.
    disliking = new_profile(service, interests="science")
    rate_days(service, disliking, days)
    graded = evaluate(paper_store(service), service.profile_show(disliking), background=300)
    assert graded.days[0].no_learning.ndcg == pytest.approx(got.days[0].no_learning.ndcg)


def test_evaluate_grades_each_later_day_learning_against_the_first_days_knowledge(service):
    # Interests that say nothing of the topic: the first day likes two astro papers, later days like
    # more astro papers and dislike language-model ones. Learning has to rank the later likes first.
    name = new_profile(service, interests="science")
    astro, other = astro_and_other(service)
    days = [(astro[:2], []), (astro[2:6], other[:3]), (astro[6:10], other[3:7]), (astro[10:13], other[7:10])]
    rate_days(service, name, days)
    got = evaluate(paper_store(service), service.profile_show(name), background=300)
    assert got.needed is None and got.first_day == START.date()
    assert [d.label for d in got.days] == [str(START.date() + timedelta(days=k)) for k in (1, 2, 3)]
    assert [(d.likes, d.dislikes) for d in got.days] == [(4, 3), (4, 4), (3, 3)]
    assert got.overall is not None and got.overall.likes == 11 and got.overall.dislikes == 10
    assert sum(w.days for w in got.weeks) == 3 and {w.label for w in got.weeks} <= {"2026-W45", "2026-W46"}
    learned, base = got.overall.learning, got.overall.no_learning
    for metrics in (learned, base):
        assert 0 <= metrics.ndcg <= 1 and 0 < metrics.mrr <= 1 and 0 <= metrics.balanced_accuracy <= 1
    # The first graded day learns from the first day only: the same ranker as no learning.
    assert got.days[0].learning.ndcg == pytest.approx(got.days[0].no_learning.ndcg)
    # Later days learned from the dislikes too, which no learning never saw.
    assert got.days[-1].learning.auc > got.days[-1].no_learning.auc
    assert learned.ndcg >= base.ndcg


def rate_lists(service, interests: str, category: str, since: date, until: date
               ) -> tuple[str, list[float | None], int]:
    """A user who rates each day's reading list of [since, until] (a like for each paper of ``category``,
    a dislike for the rest): the profile, each day's nDCG in the order shown, and how often the list put a
    paper above one that scored higher (a near-duplicate moved down)."""
    name = new_profile(service, interests=interests)
    papers, _ = paper_store(service).window()
    relevant = {p.id for p in papers if category in p.categories}
    profile_store(service).add_feedback(name, sorted(relevant)[:2], "like", at=START)
    rated, shown_ndcg, reordered = set(sorted(relevant)[:2]), [], 0
    for day in (1, 2, 3, 4):
        listed = service.recommend(profile=name, n=20, since=since, until=until, use_llm=False)
        items = [r for r in listed.items if r.paper.id not in rated][:10]
        shown = [r.paper.id for r in items]
        reordered += sum(b.score > a.score for a, b in itertools.pairwise(items))
        shown_ndcg.append(ndcg(-np.arange(len(shown), dtype=float), np.array([p in relevant for p in shown])))
        at, window = START + timedelta(days=day), (listed.since, listed.until)
        profile_store(service).add_feedback(name, [p for p in shown if p in relevant], "like", at=at,
                                            window=window)
        profile_store(service).add_feedback(name, [p for p in shown if p not in relevant], "dislike", at=at,
                                            window=window)
        rated |= set(shown)
    return name, shown_ndcg, reordered


@pytest.mark.parametrize(("interests", "category", "since", "until"), [
    ("agents, reasoning and language", "cs.CL", date(2026, 8, 3), date(2026, 8, 16)),
    ("galaxy formation, dark matter", "astro-ph.GA", date(2026, 7, 1), date(2026, 8, 20)),
])
def test_a_day_rated_in_a_list_is_graded_on_the_order_that_list_showed(service, interests, category, since,
                                                                       until):
    """The ratings keep the list's dates, so eval replays each day on the papers the list ranked, with
    what the ranker knew that day, in the order the list shows (a near-duplicate of a paper above moved
    down): its nDCG is the nDCG of the order the user saw. (Ranked among a draw from the rated papers'
    dates instead, the first case's second day grades 0.526, not the list's 0.577.)"""
    name, shown_ndcg, reordered = rate_lists(service, interests, category, since, until)
    assert 0 < shown_ndcg[0] < 1, "the first day's list held likes and dislikes, not sorted"
    got = evaluate(paper_store(service), service.profile_show(name))
    assert [d.learning.ndcg for d in got.days] == pytest.approx(shown_ndcg, abs=1e-6)
    assert [d.in_lists for d in got.days] == [1, 1, 1, 1]
    if category == "astro-ph.GA":
        assert reordered, "the lists moved near-duplicates down, and eval graded that order"


def test_past_the_replay_budget_each_window_is_ranked_as_a_draw(service, monkeypatch):
    """Replaying every day on its whole window costs a ranking of the window per day; past the budget
    (many days of big windows) each window is a fixed draw of its papers and those rated in it, still
    graded day by day, in the list's order."""
    from papercast.tools.ranking import evaluation

    name, shown_ndcg, _ = rate_lists(service, "galaxy formation, dark matter", "astro-ph.GA",
                                     date(2026, 7, 1), date(2026, 8, 20))
    monkeypatch.setattr(evaluation, "REPLAY_BUDGET", 4 * 452 - 1)  # the four days' windows hold 452 each
    got = evaluate(paper_store(service), service.profile_show(name), background=100)
    assert [d.in_lists for d in got.days] == [1, 1, 1, 1]
    assert all(0 < d.learning.ndcg <= 1 and 0 < d.no_learning.ndcg <= 1 for d in got.days)
    assert [d.learning.ndcg for d in got.days] != pytest.approx(shown_ndcg, abs=1e-6), "a draw, not the list"
    monkeypatch.setattr(evaluation, "REPLAY_BUDGET", 4 * 452)
    got = evaluate(paper_store(service), service.profile_show(name), background=100)
    assert [d.learning.ndcg for d in got.days] == pytest.approx(shown_ndcg, abs=1e-6)


# -- teach -----------------------------------------------------------------------------------------------
ALL = {"since": date(2026, 1, 1), "until": date(2026, 12, 31)}


def test_teach_asks_about_unrated_papers_near_the_boundary_each_a_different_question(service):
    name = new_profile(service, interests=ASTRO)
    astro, other = astro_and_other(service)
    service.feedback(astro[:3], "like", profile=name)
    service.feedback(other[:2], "dislike", profile=name)
    before = service.profile_show(name).feedback
    asked, _ = teach(paper_store(service), service.profile_show(name), n=6, **ALL)
    assert len(asked) == 6 and service.profile_show(name).feedback == before  # nothing recorded
    ids = [c.paper.id for c in asked]
    assert not set(ids) & set(astro[:3] + other[:2]) and len(set(ids)) == 6
    distance = [abs(c.p_like - 0.5) for c in asked]
    assert distance == sorted(distance)  # most uncertain first
    assert all(c.reasons[0] == f"unsure: {c.p_like:.0%} like" for c in asked)
    vectors = service.embeddings(ids)
    from papercast.tools.ranking.window import load_window

    pool = load_window(paper_store(service), ALL["since"], ALL["until"]).pool
    cen = pool.cen[[pool.position[i] for i in ids]]
    sims = cen @ cen.T - 2 * np.eye(len(ids))
    assert sims.max() <= NEAR_DUPLICATE + 1e-6 and len(vectors) == 6
    # Nearer the boundary than the top of the list: the list's first paper is surer than any question.
    top = service.recommend(profile=name, n=1, use_llm=False, **ALL).items[0].paper.id
    assert top not in ids


def test_teach_refuses_what_it_cannot_do_in_one_line(service):
    name = new_profile(service, interests=ASTRO)
    with pytest.raises(UserError, match="has no ratings yet"):
        teach(paper_store(service), service.profile_show(name), n=5)
    service.feedback(astro_and_other(service)[0][:1], "like", profile=name)
    with pytest.raises(UserError, match="-n must be at least 1"):
        teach(paper_store(service), service.profile_show(name), n=0)
    with pytest.raises(UserError, match="no papers to ask about"):
        teach(paper_store(service), service.profile_show(name), n=5,
              since=date(2001, 1, 1), until=date(2001, 1, 2))


# -- learning paced by days of evidence -------------------------------------------------------------------
def test_the_list_leans_on_what_was_learned_as_rating_days_add_up(service, monkeypatch):
    from papercast.tools.ranking import score
    from papercast.tools.ranking.window import load_window

    pool = load_window(paper_store(service), ALL["since"], ALL["until"]).pool
    astro, other = astro_and_other(service)
    name = new_profile(service, interests=ASTRO)
    rate_days(service, name, [(astro[:3], [])])
    one_day = service.profile_show(name)
    assert starting_point(one_day) is None
    sig, total = score.score_pool(paper_store(service), one_day, pool)
    # one day: nothing learned since, nothing paced
    assert np.allclose(total, score.combine(sig, score.WEIGHTS))

    # a second rating day (the third of the calendar)
    rate_days(service, name, [([], []), (astro[3:6], other[:4])])
    profile = service.profile_show(name)
    start = starting_point(profile)
    assert start is not None and set(start.liked) == set(astro[:3]) and not start.disliked
    calls = []
    real = score.compute_signals
    monkeypatch.setattr(score, "compute_signals", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    sig, total = score.score_pool(paper_store(service), profile, pool)
    full = score._z(score.combine(sig, score.WEIGHTS))
    base = score._z(score.combine(real(paper_store(service), start, pool), score.WEIGHTS))
    lean = score.WEIGHTS.learning_days
    assert np.allclose(total, base + 1 / (1 + lean) * (full - base), atol=1e-5)  # d = 1 rating day since
    # the one-day profile scored this window above: its scores are remembered as its later selves'
    # starting point, so one set of signals (a rating on a new day re-ranks as fast as any other)
    assert calls == [profile]
    score.score_pool(paper_store(service), profile, pool)
    assert len(calls) == 2
    # a window the starting point never ranked: two sets the first time, then the start is remembered
    week = load_window(paper_store(service), date(2026, 8, 3), date(2026, 8, 16)).pool
    calls.clear()
    score.score_pool(paper_store(service), profile, week)
    score.score_pool(paper_store(service), profile, week)
    assert calls == [profile, start, profile]

    rate_days(service, name, [([], [])] * 3 + [(astro[6:8], other[4:6])])  # a third rating day: d = 2
    profile = service.profile_show(name)
    sig, total = score.score_pool(paper_store(service), profile, pool)
    full = score._z(score.combine(sig, score.WEIGHTS))
    assert np.allclose(total, base + 2 / (2 + lean) * (full - base), atol=1e-5)
    # Weights say how fast: learning_days=0 follows every rating at once.
    from dataclasses import replace

    sig, total = score.score_pool(paper_store(service), profile, pool,
                                  weights=replace(score.WEIGHTS, learning_days=0))
    assert np.allclose(total, score.combine(sig, score.WEIGHTS))


def test_a_rated_paper_never_defines_the_prf_area(service):
    """A liked paper scores high because it was liked (its nearness to itself): taking it into the
    pseudo-relevance area would pull the list toward what was already rated."""
    from papercast.tools.ranking import score
    from papercast.tools.ranking.window import load_window

    pool = load_window(paper_store(service), ALL["since"], ALL["until"]).pool
    astro, _ = astro_and_other(service)
    name = new_profile(service, interests=ASTRO)
    service.feedback(astro[:5], "like", profile=name)
    sig = score.compute_signals(paper_store(service), service.profile_show(name), pool)
    assert sig.rated.sum() == 5 and (sig.rated <= sig.read).all()
    total = score.combine(sig, score.WEIGHTS)
    # The first pass, before PRF: every weighted signal so far (no PRF, neighbours, popularity or recency).
    first = score.combine(score.compute_signals(paper_store(service), service.profile_show(name), pool),
                          replace_weights(prf=0.0, neighbours=0.0, popularity=0.0, recency=0.0))
    top = np.argsort(-np.where(sig.rated, -np.inf, first))[: score.WEIGHTS.prf_top]
    expected = sig.against(score.unit(sig.cen(top).mean(axis=0)))
    assert np.allclose(sig.values["prf"], expected, atol=1e-5)
    assert np.isfinite(total).all()


def replace_weights(**changes):
    from dataclasses import replace

    from papercast.tools.ranking.score import WEIGHTS

    return replace(WEIGHTS, **changes)
