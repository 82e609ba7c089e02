"""Trending: the window's papers by Hugging Face upvotes."""

from __future__ import annotations

from papercast.tui.screens.lists import DELIVERED, TRENDING_SIZE, Loaded, PaperListScreen, marks_for
from papercast.tui.widgets.paper_list import Row
from papercast.tui.window import describe


class TrendingScreen(PaperListScreen):
    """The window's papers by Hugging Face upvotes, like the Daily Papers page."""

    heading = "Trending"

    def load_rows(self, *, interactive: bool = False) -> Loaded:
        window = self.app.window
        service = self.service
        trending = service.trending(since=window.since, until=window.until)
        note = None
        if trending.note:
            shown_window = describe("custom", trending.since, trending.until)
            note = f"No papers in {window.label}; showing the latest in the store ({shown_window})."
        ranked = [r.paper for r in trending.items]
        marks = marks_for(service.active_profile())
        shown = [p for p in ranked if "dismiss" not in marks.get(p.id, ())][:TRENDING_SIZE]
        sent = service.seen_ids([p.id for p in shown])
        rows = [Row(p, None, [], set(marks.get(p.id, ())), rank=i, extra=DELIVERED if p.id in sent else "")
                for i, p in enumerate(shown, 1)]
        return Loaded(rows, f"Trending on Hugging Face · {window.label}", note)

    def empty_text(self) -> str:
        return "No papers with Hugging Face upvotes in this window. Press w for another window."
