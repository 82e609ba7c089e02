# ruff: noqa: F811  (pytest fixtures imported from helper modules are redefined as arguments)
"""Teaching the ranker from the reading list (``t``: the papers it is least sure about; l / d / s,
escape) and "how well papercast knows you" on the profile screen — the real app and service, offline."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from textual.widgets import Static

from papercast.tui.screens.profile import ProfileScreen
from papercast.tui.screens.reading_list import ReadingListScreen
from papercast.tui.screens.teach import TeachScreen
from papercast.tui.widgets.learning import BARS, bar, overall_sentence

from helpers import profile_store
from tui_helpers import notifications, row_ids, tui, wait_for, wait_loaded  # noqa: F401


def _given(service) -> set[tuple[str, str]]:
    """The active profile's feedback as (paper id, kind) pairs."""
    return {(f.paper_id, f.kind) for f in service.profile_show().feedback}


def _text(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def _open_teach(pilot, tui) -> TeachScreen:
    await pilot.press("t")
    return await wait_for(pilot, lambda: isinstance(tui.screen, TeachScreen) and tui.screen,
                          what="the teach dialog")


async def test_teach_asks_about_the_least_sure_papers_and_records_only_the_answers(tui, service):
    week = tui.window
    ranked = [r.paper.id for r in service.recommend(n=10, since=week.since, until=week.until,
                                                     use_llm=False).items]
    service.feedback(ranked[:2], "like")
    service.feedback(ranked[5:6], "dislike")
    expected, _note = service.teach(since=week.since, until=week.until)
    assert len(expected) == 5
    async with tui.run_test(size=(100, 32)) as pilot:
        home = await wait_loaded(pilot)
        home.papers.highlighted = 10  # below the papers asked about: answering one must not move it there
        before = _given(service)
        dialog = await _open_teach(pilot, tui)
        await wait_for(pilot, lambda: dialog.candidates, what="the candidates")
        await pilot.pause()
        assert [c.paper.id for c in dialog.candidates] == [c.paper.id for c in expected]
        queue = _text(dialog, "#teach-queue")
        assert queue.startswith("▸ 1.") and queue.count("\n") == 4, "one line per candidate, the first asked"
        first, second = expected[0], expected[1]
        card = _text(dialog, "#teach-paper")
        assert first.paper.title in card and first.paper.id in card
        assert first.reasons[0].startswith("unsure: ") and first.reasons[0] in card
        assert _given(service) == before, "nothing is rated before an answer"

        await pilot.press("l")
        assert second.paper.title in _text(dialog, "#teach-paper"), "the next paper is asked at once"
        assert "♥ liked" in _text(dialog, "#teach-queue").splitlines()[0]
        await pilot.press("d")
        await wait_for(pilot, lambda: len(_given(service)) == len(before) + 2, what="the two answers")
        await pilot.press("escape")
        assert tui.screen is home
        await tui.workers.wait_for_complete()
        await pilot.pause()
        assert _given(service) - before == {(first.paper.id, "like"), (second.paper.id, "dislike")}
        assert before <= _given(service), "and nothing else changed"
        profile = service.profile_show()
        assert first.paper.id in profile.liked and second.paper.id in profile.disliked
        windows = {f.window for f in profile.feedback if f.paper_id in (first.paper.id, second.paper.id)}
        assert windows == {first.window} and first.window is not None, "answers keep the list's dates"
        assert any(n.message == "taught: 1 like, 1 dislike, 3 skipped" for n in notifications(tui))
        shown = row_ids(home)
        assert first.paper.id not in shown and second.paper.id not in shown, "the list re-ranked without them"
        assert home.papers.highlighted in (8, 9), "the cursor kept its paper as the rows above it left"

        await pilot.press("u")  # a taught answer is undone like any press on the list
        await wait_for(pilot, lambda: second.paper.id not in service.profile_show().disliked, what="the undo")
        assert first.paper.id in service.profile_show().liked


async def test_teach_answering_every_paper_closes_the_dialog(tui, service):
    service.feedback([service.list_papers(1)[0].id], "like")
    async with tui.run_test(size=(80, 24)) as pilot:
        home = await wait_loaded(pilot)
        before = _given(service)
        teach = service.teach
        closed = threading.Event()  # a big library's seconds: the candidates come only once it closed
        service.teach = lambda **options: closed.wait(30) and teach(**options)
        await pilot.press("t", "escape")  # closed before the candidates came: the worker finds it gone
        await wait_for(pilot, lambda: tui.screen is home, what="the dialog closed")
        closed.set()
        await tui.workers.wait_for_complete()
        await pilot.pause()
        assert tui.is_running and tui.screen is home and _given(service) == before
        assert not any(n.message.startswith("taught") for n in notifications(tui))
        service.teach = teach
        dialog = await _open_teach(pilot, tui)
        await wait_for(pilot, lambda: dialog.candidates, what="the candidates")
        asked = [c.paper.id for c in dialog.candidates]
        # As when the candidates rank below the list's rows: answers about papers the list does not show.
        home.papers.show_rows([r for r in home.papers.rows if r.paper.id not in asked])
        await pilot.press("s", "l", "s", "d", "s")
        await wait_for(pilot, lambda: tui.screen is home, what="the dialog to close after the last answer")
        await tui.workers.wait_for_complete()
        assert _given(service) - before == {(asked[1], "like"), (asked[3], "dislike")}
        assert any(n.message == "taught: 1 like, 1 dislike, 3 skipped" for n in notifications(tui))


async def test_teach_without_ratings_says_so_in_one_line_and_records_nothing(tui, service):
    assert not service.profile_show().feedback
    async with tui.run_test(size=(100, 32)) as pilot:
        home = await wait_loaded(pilot)
        dialog = await _open_teach(pilot, tui)
        await wait_for(pilot, lambda: dialog.message, what="the message")
        await pilot.pause()
        assert "no ratings yet" in dialog.message and "\n" not in dialog.message
        assert "no ratings yet" in _text(dialog, "#teach-message")
        assert dialog.candidates is None and not dialog.query_one("#teach-queue").display
        await pilot.press("l", "d", "s")
        await pilot.press("escape")
        assert isinstance(tui.screen, ReadingListScreen) and tui.screen is home
        await tui.workers.wait_for_complete()
        assert not service.profile_show().feedback, "nothing recorded"
        assert not any(n.severity == "error" or n.message.startswith("taught") for n in notifications(tui))


async def _open_profile(pilot, tui) -> ProfileScreen:
    await wait_loaded(pilot)
    await pilot.press("4")
    profile = await wait_for(pilot, lambda: isinstance(tui.screen, ProfileScreen) and tui.screen)
    await wait_for(pilot, lambda: profile.evaluation is not None, what="the evaluation")
    await pilot.pause()
    return profile


async def test_profile_says_which_ratings_are_missing_for_a_new_profile(tui, service):
    needed = service.evaluate().needed
    assert needed
    async with tui.run_test(size=(100, 32)) as pilot:
        profile = await _open_profile(pilot, tui)
        assert _text(profile, "#learning-summary") == needed
        assert not any(row.display for row in profile.query(".learning-row")), "no chart without a grade"


async def test_profile_charts_learning_per_week_and_says_the_overall(tui, service):
    ids = [p.id for p in service.list_papers(40)]
    name = service.active_profile().name
    # (day, likes, dislikes): a first day to start from, then 16 ratings over three days in two ISO weeks
    days = [(4, 3, 2), (11, 4, 3), (13, 3, 2), (18, 2, 2)]
    at = 0
    for day, likes, dislikes in days:
        when = datetime(2026, 8, day, 12, tzinfo=UTC)
        profile_store(service).add_feedback(name, ids[at:at + likes], "like", at=when)
        profile_store(service).add_feedback(name, ids[at + likes:at + likes + dislikes], "dislike", at=when)
        at += likes + dislikes
    expected = service.evaluate()
    assert expected.needed is None and [w.label for w in expected.weeks] == ["2026-W33", "2026-W34"]
    async with tui.run_test(size=(100, 32)) as pilot:
        profile = await _open_profile(pilot, tui)
        weeks, learning, baseline = (_text(profile, f"#learning-{row}")
                                     for row in ("weeks", "with", "without"))
        assert all(row.display for row in profile.query(".learning-row"))
        assert "W33" in weeks and "W34" in weeks and weeks.index("W33") < weeks.index("W34")
        assert learning.startswith("learning ") and baseline.startswith("no learning ")
        for row, which in ((learning, "learning"), (baseline, "no_learning")):
            bars = [bar(getattr(week, which).ndcg) for week in expected.weeks]
            assert all(b.strip() and b in row for b in bars), f"one bar per week in the {which} row"
            assert sum(row.count(c) for c in BARS) == 3 * len(expected.weeks)
        summary = _text(profile, "#learning-summary")
        assert summary == overall_sentence(expected.overall)
        overall = expected.overall
        assert f"with learning nDCG {overall.learning.ndcg:.2f}" in summary
        assert f"without learning nDCG {overall.no_learning.ndcg:.2f}" in summary
        assert "MRR" in summary and "balanced accuracy" in summary
        assert summary.endswith(" Each day ranked among a draw of the library from the rated papers' dates "
                                "(rated outside a list).")

        await pilot.press("ctrl+n")  # a new profile: the section follows the profile shown
        await wait_for(pilot, lambda: tui.screen.__class__.__name__ == "PromptDialog")
        await pilot.press(*"fresh", "enter")
        await wait_for(pilot, lambda: profile.data and profile.data.profile.name == "fresh",
                       what="the new profile")
        await wait_for(pilot, lambda: "no ratings yet" in _text(profile, "#learning-summary"),
                       what="the needed line for the new profile")
        assert not any(row.display for row in profile.query(".learning-row"))
