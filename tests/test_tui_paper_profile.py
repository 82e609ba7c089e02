# ruff: noqa: F811  (pytest fixtures imported from helper modules are redefined as arguments)
"""The paper screen (details, summary in a worker, similar papers, feedback) and the profile editor
(edit → save → the reading list re-ranks; feedback lists with remove; create/rename/switch/delete)."""

from __future__ import annotations

from textual.widgets import Input, OptionList, TextArea

from papercast.tui.screens.paper import PaperScreen
from papercast.tui.screens.profile import ProfileScreen
from papercast.tui.screens.reading_list import ReadingListScreen

from llm_server import Reply, llm_server, llm_settings  # noqa: F401
from tui_helpers import make_tui, notifications, open_first_paper, row_ids, tui, wait_for, wait_loaded  # noqa: F401


async def test_paper_screen_shows_details_summary_and_similar(tui, service):
    async with tui.run_test(size=(100, 32)) as pilot:
        home, row, paper = await open_first_paper(pilot)
        await wait_for(pilot, lambda: paper.paper is not None and paper.summary is not None, what="details")
        await pilot.pause()
        head = str(paper.query_one("#paper-head").render())
        assert row.paper.title in head and row.paper.authors[0] in head and row.paper.url in head
        assert row.reasons[0] in paper.query_one("#paper-why").source
        summary = paper.query_one("#paper-summary").source
        assert paper.summary.tldr in summary and "offline extractive summary" in summary
        assert not paper.query_one("#summary-loading").display
        assert row.paper.abstract[:40] in str(paper.query_one("#paper-abstract").render())
        similar = paper.query_one("#similar")
        expected = [p.id for p, _ in service.similar(row.paper.id, 5)]
        assert [r.paper.id for r in similar.rows] == expected

        await pilot.press("o", "p", "h")
        assert tui.opened_urls == [row.paper.url, row.paper.pdf_url, row.paper.hf_url]

        similar.focus()
        await pilot.press("enter")
        nested = await wait_for(pilot, lambda: tui.screen is not paper and tui.screen)
        assert isinstance(nested, PaperScreen) and nested.paper_id == expected[0]
        await pilot.press("escape")
        assert tui.screen is paper

        await pilot.press("l")
        await wait_for(pilot, lambda: row.paper.id in service.active_profile().liked, what="the like")
        [like] = [f for f in service.active_profile().feedback if f.paper_id == row.paper.id]
        assert like.window is not None and like.window == home.shown_window, "opened from the list: its dates"
        await pilot.press("escape")
        assert tui.screen is home
        await wait_for(pilot, lambda: row.paper.id not in row_ids(home), what="the re-rank after the like")


async def test_editing_the_profile_re_ranks_the_list(tui, service):
    async with tui.run_test(size=(100, 32)) as pilot:
        home = await wait_loaded(pilot)
        before = row_ids(home)[:5]
        await pilot.press("4")
        profile = await wait_for(pilot, lambda: isinstance(tui.screen, ProfileScreen) and tui.screen)
        await wait_for(pilot, lambda: profile.data is not None, what="the profile")
        interests = profile.query_one("#interests", TextArea)
        assert interests.text == service.active_profile().interests
        interests.text = "3D object generation, part-aware shape modelling and point clouds"
        profile.query_one("#field-keywords", Input).value = "3D, mesh"
        profile.query_one("#field-authors", Input).value = "Manwen Liao"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: any("Saved" in n.message for n in notifications(tui)), what="the save")
        saved = service.active_profile()
        assert saved.interests.startswith("3D object generation") and saved.keywords == ["3D", "mesh"]
        assert saved.authors == ["Manwen Liao"]

        generation = home.applied_generation
        await pilot.press("1")
        assert tui.screen is home
        await wait_loaded(pilot, home, after=generation)
        after = row_ids(home)[:5]
        assert after != before, "saving the profile re-ranked the list"
        top = " ".join(r.paper.title + " " + r.paper.abstract for r in home.papers.rows[:3]).lower()
        assert "3d" in top


async def test_feedback_lists_and_profile_management(tui, service):
    liked = service.list_papers(1)[0].id
    service.feedback([liked], "like")
    async with tui.run_test(size=(100, 32)) as pilot:
        await wait_loaded(pilot)
        await pilot.press("4")
        profile = await wait_for(pilot, lambda: isinstance(tui.screen, ProfileScreen) and tui.screen)
        await wait_for(pilot, lambda: profile.data is not None)
        likes = profile.query_one("#list-like", OptionList)
        assert likes.get_option_at_index(0).id == liked
        likes.focus()
        likes.highlighted = 0
        await pilot.press("delete")
        await wait_for(pilot, lambda: liked not in service.active_profile().liked, what="the removal")
        await wait_for(pilot, lambda: likes.get_option_at_index(0).id is None, what="the list to refresh")

        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: tui.screen.__class__.__name__ == "PromptDialog")
        await pilot.press(*"vision", "enter")
        await wait_for(pilot, lambda: service.active_profile().name == "vision", what="the new profile")
        await wait_for(pilot, lambda: profile.data and profile.data.profile.name == "vision")
        assert "vision (active)" in str(profile.query_one("#profile-title").render())

        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: tui.screen.__class__.__name__ == "PromptDialog")
        tui.screen.query_one(Input).value = ""
        await pilot.press(*"vision2", "enter")
        await wait_for(pilot, lambda: service.active_profile().name == "vision2", what="the rename")

        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: tui.screen.__class__.__name__ == "ChoiceDialog")
        await pilot.press("home", "enter")  # "default" sorts first
        await wait_for(pilot, lambda: service.active_profile().name == "default", what="the switch")

        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: tui.screen.__class__.__name__ == "ChoiceDialog")
        await pilot.press("end", "enter")
        await wait_for(pilot, lambda: service.active_profile().name == "vision2")
        await wait_for(pilot, lambda: profile.data and profile.data.profile.name == "vision2")
        await pilot.press("ctrl+d")
        await wait_for(pilot, lambda: tui.screen.__class__.__name__ == "ChoiceDialog")
        await pilot.press("end", "enter")
        await wait_for(pilot, lambda: "vision2" not in [p.name for p in service.profile_list()],
                       what="the delete")
        assert isinstance(tui.screen, ProfileScreen)
        await pilot.press("1")
        assert isinstance(tui.screen, ReadingListScreen)


async def test_llm_summary_is_written_in_a_worker_and_labelled(llm_server, llm_settings, service):
    from papercast.service import Papercast

    draft = {"tldr": "A scripted one-sentence summary from the loopback model.",
             "contributions": ["first contribution", "second contribution"],
             "method": "A method.", "results": "Results with numbers.", "limitations": "not stated",
             "keywords": ["scripted", "loopback"]}

    def respond(body: dict) -> object:
        system = " ".join(str(m.get("content", "")) for m in body.get("messages", [])
                          if m.get("role") == "system")
        return Reply.json(draft) if "structured summaries" in system else None

    llm_server.responder = respond
    tui = make_tui(Papercast(llm_settings))  # same home as ``service``: the sample is loaded
    async with tui.run_test(size=(100, 32)) as pilot:
        _, _, paper = await open_first_paper(pilot)
        await wait_for(pilot, lambda: paper.summary is not None, timeout=60, what="the LLM summary")
        await pilot.pause()
        shown = paper.query_one("#paper-summary").source
        assert paper.summary.model == "openai/test-model"
        assert draft["tldr"] in shown and "summary by openai/test-model" in shown
        assert "second contribution" in shown
