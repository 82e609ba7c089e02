# ruff: noqa: F811  (pytest fixtures imported from helper modules are redefined as arguments)
"""The paper screen reads the full text: ``f`` runs a worker (the UI keeps answering), then the outline
shows, a section opens with enter, and the summary is written again from the full text. A paper read
before shows its outline at once, with nothing fetched. arXiv is an httpx.MockTransport serving a real
LaTeXML page."""

from __future__ import annotations

import httpx
from textual.widgets import OptionList

from papercast.tui.screens.paper import NOT_READ, PaperScreen

from helpers import FIXTURES, PAPER, Recorder, copy_sample, fast_policy
from tui_helpers import make_tui, notifications, wait_for, wait_loaded

PAGE = FIXTURES / "fulltext" / "latexml080_acl2014_P14-2026.xhtml"


async def test_f_reads_the_full_text_then_the_outline_opens_sections(settings, sample_home_template):
    service = copy_sample(sample_home_template, settings.with_overrides(fulltext=True))
    rec = Recorder(lambda request: httpx.Response(200, content=PAGE.read_bytes()))
    service.fulltext_client = rec.client
    service.fulltext_policy = fast_policy()
    tui = make_tui(service)
    async with tui.run_test(size=(100, 40)) as pilot:
        home = await wait_loaded(pilot)
        tui.open_paper(PAPER)
        paper = await wait_for(pilot, lambda: isinstance(tui.screen, PaperScreen) and tui.screen)
        await wait_for(pilot, lambda: paper.summary is not None, what="the abstract's summary")
        assert paper.summary.source == "abstract" and rec.requests == [], "opening a paper fetches nothing"
        assert NOT_READ.replace("[b]", "").replace("[/b]", "") in str(
            paper.query_one("#fulltext-status").render())
        assert not paper.query_one("#outline").display
        await pilot.press("slash")  # nothing read yet: nothing to find in, and it says how to read it
        assert not paper.query_one("#find-query").display
        assert any("press f to read" in n.message for n in notifications(tui))

        await pilot.press("f")
        await pilot.press("j", "k")  # the screen answers while the worker reads
        await wait_for(pilot, lambda: paper.document is not None, timeout=120, what="the full text")
        assert [r.url.path for r in rec.requests] == [f"/html/{PAPER}"]
        outline = paper.query_one("#outline", OptionList)
        assert outline.display and outline.option_count == len(paper.document.sections) == 5
        status = str(paper.query_one("#fulltext-status").render())
        assert "Read from the full text (arXiv HTML): 5 sections" in status
        await wait_for(pilot, lambda: paper.summary.source == "html", timeout=60,
                       what="the full-text summary")
        assert "made from the full text (arXiv HTML)" in paper.query_one("#paper-summary").source

        outline.focus()
        outline.highlighted = 2
        await pilot.press("enter")
        section = paper.query_one("#section-text")
        await wait_for(pilot, lambda: section.display, what="the section")
        shown = str(section.render())
        assert shown.startswith("3 Experiments") and f"[{PAPER} §3]" in shown and "§1]" not in shown

        await pilot.press("slash")  # find in the full text: its best passages, cited
        box = paper.query_one("#find-query")
        assert box.display and box.has_focus
        await pilot.press(*"conclusion", "enter")
        await wait_for(pilot, lambda: str(section.render()).startswith("Best passages for “conclusion”"),
                       what="the passages found")
        found = str(section.render())
        assert found.count(f"[{PAPER} §") >= 2 and f"[{PAPER} §4]" in found  # §4 is the Conclusion
        await pilot.press("slash", "escape")  # escape in the find box closes it, and stays on the paper
        assert not box.display and tui.screen is paper

        await pilot.press("escape")
        assert tui.screen is home
        tui.open_paper(PAPER)  # read before: the outline shows at once, nothing is fetched again
        again = await wait_for(pilot, lambda: tui.screen is not home and tui.screen)
        await wait_for(pilot, lambda: again.document is not None and again.query_one("#outline").display,
                       what="the stored outline")
        assert len(rec.requests) == 1
