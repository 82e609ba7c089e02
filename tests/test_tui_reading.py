# ruff: noqa: F811  (pytest fixtures imported from test_tui_helpers are redefined as arguments)
"""The reading list (home): load, navigate, open, feedback that re-ranks, dismiss/undo, windows,
search, trending, browser links and a failing fetch — all through the real app and service."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from papercast.tui.screens.lists import SearchScreen
from papercast.tui.screens.paper import PaperScreen
from papercast.tui.screens.reading_list import ReadingListScreen
from papercast.tui.screens.trending import TrendingScreen

from tui_helpers import make_tui, notifications, row_ids, tui, wait_for, wait_loaded  # noqa: F401


async def test_reading_list_loads_navigates_and_opens(tui, service):
    async with tui.run_test(size=(100, 32)) as pilot:
        screen = await wait_loaded(pilot)
        assert isinstance(screen, ReadingListScreen)
        rows = screen.papers.rows
        assert len(rows) > 10
        ranked = service.recommend(n=50, since=tui.window.since, until=tui.window.until, use_llm=False)
        assert row_ids(screen) == [r.paper.id for r in ranked.items], "the list shows the ranker's order"
        assert all(r.reasons for r in rows[:5]), "every top row says why it was picked"
        title = str(screen.query_one("#list-title").render())
        assert "default" in title and "this week" in title
        assert tui.status.count == service.count() == 452

        await pilot.press("j", "j")
        assert screen.papers.highlighted == 2
        await pilot.press("k")
        assert screen.papers.highlighted == 1
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(tui.screen, PaperScreen), what="the paper screen")
        assert tui.screen.paper_id == rows[1].paper.id
        assert tui.screen.reasons == rows[1].reasons
        await pilot.press("escape")
        assert tui.screen is screen


async def test_like_and_dislike_re_rank_at_once(tui, service):
    """Feedback triages the paper out of the list (the ranker drops read papers) and re-ranks the rest."""
    async with tui.run_test(size=(100, 32)) as pilot:
        screen = await wait_loaded(pilot)
        before = row_ids(screen)
        liked = before[8]
        for _ in range(8):
            await pilot.press("j")
        generation = screen.applied_generation
        await pilot.press("l")
        assert liked not in row_ids(screen)[:8], "out of the list at once"
        await wait_loaded(pilot, screen, after=generation)
        assert liked in service.active_profile().liked
        listed = service.recommend(n=1, since=tui.window.since, until=tui.window.until, use_llm=False)
        assert listed.since and listed.until
        given = {f.paper_id: f.window for f in service.active_profile().feedback}
        assert given[liked] == (listed.since, listed.until), "the like keeps the list's dates (for eval)"
        after_like = row_ids(screen)
        assert screen.papers.highlighted == 8, "the cursor stays in place: the next paper is under it"
        rest = [i for i in before if i != liked]
        assert after_like[:20] != rest[:20], "the order changed beyond the removed paper"
        similar = {p.id for p, _ in service.similar(liked, 10)}
        moved_up = [i for i in after_like[:20] if i in similar
                    and (i not in rest or after_like.index(i) < rest.index(i))]
        assert moved_up, "papers close to the liked one moved up"

        top = after_like[0]
        screen.papers.highlighted = 0
        generation = screen.applied_generation
        await pilot.press("d")
        await wait_loaded(pilot, screen, after=generation)
        assert top in service.active_profile().disliked
        after_dislike = row_ids(screen)
        assert top not in after_dislike
        rest = [i for i in after_like if i != top]
        assert after_dislike[:20] != rest[:20]

        generation = screen.applied_generation
        await pilot.press("u")  # undo the dislike: back at the top, the ranking as before
        assert row_ids(screen)[0] == top
        await wait_loaded(pilot, screen, after=generation)
        assert top not in service.active_profile().disliked
        assert row_ids(screen)[:10] == after_like[:10]


async def test_quick_presses_are_recorded_in_order_and_re_ranked_once(tui, service):
    """Presses faster than a re-rank queue for one feedback worker: each is recorded in key order
    (an undo never overtakes what it undoes), one re-rank covers them all, and it is the list shown."""
    async with tui.run_test(size=(100, 32)) as pilot:
        screen = await wait_loaded(pilot)
        first, second, third = row_ids(screen)[:3]
        loads = []
        load_rows = screen.load_rows
        screen.load_rows = lambda **options: loads.append(options) or load_rows(**options)
        generation = screen.applied_generation
        screen.papers.highlighted = 0
        # The actions the l/d/u keys run, one after another with no pause for a worker in between.
        screen.action_feedback("like")
        screen.action_feedback("like")
        screen.action_feedback("dislike")
        screen.action_undo()  # takes the dislike back: the third paper returns at once
        assert row_ids(screen)[0] == third
        await wait_loaded(pilot, screen, after=generation)
        profile = service.active_profile()
        assert first in profile.liked and second in profile.liked
        assert third not in profile.disliked, "the undo was recorded after the dislike, not before"
        assert len(loads) == 1, "one re-rank for the four presses"
        shown = row_ids(screen)
        assert first not in shown and second not in shown and third in shown


async def test_dismiss_hides_and_undo_brings_back(tui, service):
    async with tui.run_test(size=(100, 32)) as pilot:
        screen = await wait_loaded(pilot)
        gone = row_ids(screen)[0]
        generation = screen.applied_generation
        await pilot.press("x")
        assert gone not in row_ids(screen), "hidden at once"
        await wait_loaded(pilot, screen, after=generation)
        assert gone not in row_ids(screen), "and after the re-rank"
        assert gone in service.active_profile().dismissed

        generation = screen.applied_generation
        await pilot.press("u")
        assert row_ids(screen)[0] == gone, "undo puts it back where it was"
        await wait_loaded(pilot, screen, after=generation)
        assert gone in row_ids(screen)
        assert gone not in service.active_profile().dismissed

        await pilot.press("u")  # nothing left to undo: a notification, no crash
        assert any("Nothing to undo" in n.message for n in notifications(tui))


async def test_window_switch_and_browser_links(tui):
    async with tui.run_test(size=(100, 32)) as pilot:
        screen = await wait_loaded(pilot)
        week = len(screen.papers.rows)
        first = screen.papers.rows[0].paper
        await pilot.press("o", "p")
        assert tui.opened_urls == [first.url, first.pdf_url]

        generation = screen.applied_generation
        await pilot.press("w")
        await wait_for(pilot, lambda: tui.screen is not screen, what="the window dialog")
        await pilot.press("down", "enter")  # today -> this week is highlighted; one down = last 30 days
        await wait_loaded(pilot, screen, after=generation)
        assert tui.window.kind == "month"
        assert "last 30 days" in str(screen.query_one("#list-title").render())
        assert len(screen.papers.rows) >= week

        generation = screen.applied_generation
        await pilot.press("w")
        await wait_for(pilot, lambda: tui.screen is not screen)
        await pilot.press("end", "enter")  # custom range…
        await wait_for(pilot, lambda: tui.screen.__class__.__name__ == "PromptDialog")
        tui.screen.query_one("Input").value = ""
        await pilot.press(*"2026-08-17..2026-08-18", "enter")
        await wait_loaded(pilot, screen, after=generation)
        assert tui.window.kind == "custom"
        dates = {r.paper.published.isoformat() for r in screen.papers.rows}
        assert dates <= {"2026-08-17", "2026-08-18"} and dates


async def test_search_the_library(tui):
    async with tui.run_test(size=(100, 32)) as pilot:
        await wait_loaded(pilot)
        await pilot.press("slash")
        search = await wait_for(pilot, lambda: isinstance(tui.screen, SearchScreen) and tui.screen)
        await pilot.press(*"speculative decoding", "enter")
        await wait_for(pilot, lambda: search.papers.rows, what="search results")
        titles = " ".join(r.paper.title + r.paper.abstract for r in search.papers.rows[:3]).lower()
        assert "decoding" in titles or "speculative" in titles
        # The query's own filters: a category alone lists its papers, newest first.
        box = search.query_one("#search-query")
        box.value = ""
        await pilot.click("#search-query")
        await pilot.press(*"cat:astro-ph.GA", "enter")
        await wait_for(pilot, lambda: search.papers.rows and all(
            "astro-ph.GA" in r.paper.categories for r in search.papers.rows), what="the category's papers")
        days = [r.paper.published for r in search.papers.rows]
        assert days == sorted(days, reverse=True)
        box.value = ""  # a query that is wrong in itself says so under the title: no error to retry
        await pilot.click("#search-query")
        await pilot.press(*'cat:"machine learning"', "enter")
        note = search.query_one("#list-note")
        await wait_for(pilot, lambda: note.display and "not an arXiv category" in str(note.render()),
                       what="the query's error")
        assert not search.papers.rows and not any(n.severity == "error" for n in notifications(tui))
        await pilot.press("escape")
        assert isinstance(tui.screen, ReadingListScreen)


async def test_trending_orders_by_upvotes_with_the_same_keys(tui, service):
    async with tui.run_test(size=(100, 32)) as pilot:
        await wait_loaded(pilot)
        await pilot.press("2")
        screen = await wait_for(pilot, lambda: isinstance(tui.screen, TrendingScreen) and tui.screen)
        await wait_loaded(pilot, screen)
        votes = [r.paper.upvotes for r in screen.papers.rows]
        assert votes and votes == sorted(votes, reverse=True)
        top = row_ids(screen)[0]
        await pilot.press("s")
        await wait_for(pilot, lambda: top in service.active_profile().saved, what="the save to land")
        await pilot.press("x")
        assert top not in row_ids(screen)
        await pilot.press("1")
        assert isinstance(tui.screen, ReadingListScreen)


def _failing_client() -> httpx.AsyncClient:
    async def refuse(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.5)  # a slow source: the UI must keep responding meanwhile
        return httpx.Response(404, text="not here")

    return httpx.AsyncClient(transport=httpx.MockTransport(refuse))


async def test_failed_fetch_is_a_notification_and_can_be_retried(service):
    tui = make_tui(service, fetch_client=_failing_client)
    async with tui.run_test(size=(100, 32)) as pilot:
        screen = await wait_loaded(pilot)
        await pilot.press("r")
        assert "fetch" in tui.status.tasks
        await pilot.press("j")  # keys keep working while the fetch runs
        assert screen.papers.highlighted == 1
        await wait_for(pilot, lambda: any(n.severity == "error" for n in notifications(tui)), what="an error")
        error = next(n for n in notifications(tui) if n.severity == "error")
        assert "\n" not in error.message and "press R to retry" in error.message
        assert "fetch" not in tui.status.tasks and tui.last_failed is not None
        tui.clear_notifications()
        await pilot.press("R")
        await wait_for(pilot, lambda: any(n.severity == "error" for n in notifications(tui)),
                       what="the retry")
        assert tui.is_running


@pytest.mark.parametrize("size", [(80, 24)])
async def test_small_terminal_and_help(tui, size):
    async with tui.run_test(size=size) as pilot:
        screen = await wait_loaded(pilot)
        assert screen.papers.size.height > 5
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: tui.screen.__class__.__name__ == "HelpScreen")
        await pilot.press("escape")
        assert tui.screen is screen
        before = screen.papers.highlighted or 0
        await pilot.press("j")
        assert screen.papers.highlighted == before + 1, "keys still drive the list at 80x24"


async def test_window_fallback_note_palette_and_profile_switch(service):
    from datetime import date

    service.profile_create("vision", interests="3D reconstruction and novel view synthesis")
    tui = make_tui(service, today=date(2026, 11, 26))  # months after the sample's last day
    async with tui.run_test(size=(100, 32)) as pilot:
        screen = await wait_loaded(pilot)
        note = screen.query_one("#list-note")
        assert note.display and str(note.render()).strip(), "the ranker's window fallback is said"
        assert screen.papers.rows, "and the list still shows the latest papers"

        generation = screen.applied_generation
        await pilot.press("P")
        await wait_for(pilot, lambda: tui.screen.__class__.__name__ == "ChoiceDialog")
        await pilot.press("end", "enter")  # "vision" sorts after "default"
        await wait_loaded(pilot, screen, after=generation)
        assert service.active_profile().name == "vision"
        assert "vision" in str(screen.query_one("#list-title").render())

        await pilot.press("ctrl+p")
        await pilot.press(*"Trending", "enter")
        trending = await wait_for(pilot, lambda: isinstance(tui.screen, TrendingScreen) and tui.screen)
        await wait_loaded(pilot, trending)
        assert trending.query_one("#list-note").display, "trending falls back to the latest week too"
        assert trending.papers.rows


async def test_refresh_fetches_in_the_background_with_a_progress_bar(service, fixtures_dir):
    from textual.widgets import ProgressBar

    hf_day = (fixtures_dir / "hf_daily_papers_2026-08-21.json").read_bytes()

    def sources() -> httpx.AsyncClient:
        async def handle(request: httpx.Request) -> httpx.Response:
            await asyncio.sleep(0.3)
            if request.url.host == "huggingface.co":
                return httpx.Response(200, content=hf_day, headers={"content-type": "application/json"})
            return httpx.Response(404, text="no arXiv today")  # one source fails, the other's papers land

        return httpx.AsyncClient(transport=httpx.MockTransport(handle))

    tui = make_tui(service, fetch_client=sources)
    async with tui.run_test(size=(100, 32)) as pilot:
        screen = await wait_loaded(pilot)
        generation = screen.applied_generation
        await pilot.press("r")
        bar = screen.query_one("#status-progress", ProgressBar)
        assert bar.display and "Fetching new papers" in str(screen.query_one("#status-task").render())
        await wait_for(pilot, lambda: any("Fetched" in n.message for n in notifications(tui)),
                       what="the fetch")
        done = next(n.message for n in notifications(tui) if "Fetched" in n.message)
        assert done.startswith("Fetched 17 papers")
        assert any(n.severity == "warning" and "arxiv" in n.message.lower() for n in notifications(tui))
        assert not bar.display and not tui.status.tasks
        await wait_loaded(pilot, screen, after=generation)  # the list re-ranked with the fetched papers
        assert tui.status.count == service.count()
