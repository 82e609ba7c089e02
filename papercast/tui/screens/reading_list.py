"""Home: the active profile's reading list for the window, shown at once from the last session."""

from __future__ import annotations

import contextlib
import time
from functools import partial
from typing import TYPE_CHECKING

from textual.binding import Binding
from textual.widgets import Static

from papercast.tui import last_list
from papercast.tui.messages import ListLoaded
from papercast.tui.screens.lists import DELIVERED, LIST_SIZE, Loaded, PaperListScreen, marks_for
from papercast.tui.screens.teach import TeachScreen
from papercast.tui.widgets.paper_list import Row
from papercast.tui.window import describe

if TYPE_CHECKING:
    from papercast.tui.screens.teach import TeachAnswers


class ReadingListScreen(PaperListScreen):
    """Home: the active profile's ranked list for the window; feedback re-ranks at once."""

    BINDINGS = [Binding("t", "teach", "Teach")]
    reranks = True
    triage = True  # liked, disliked, saved and dismissed papers count as read: the ranker drops them
    heading = "Reading list"

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.last_session_shown = 0.0  # perf_counter() when last session's rows were shown
        self.last_session_ids: list[str] = []

    def _window_key(self) -> str:
        window = self.app.window
        return f"{window.kind}:{window.since}:{window.until}"

    def show_last_session(self) -> None:
        saved = last_list.load(self.service.settings.home, self._window_key())
        if not saved or not saved[1] or self.applied_generation:
            return
        title, rows = saved
        self.query_one("#list-loading").display = False
        self.query_one("#list-title", Static).update(title)
        note = self.query_one("#list-note", Static)
        note.update("Last session's list — updating…")
        note.display = True
        self.papers.show_rows(rows)
        self.last_session_shown = time.perf_counter()
        self.last_session_ids = [r.paper.id for r in rows]

    def rows_shown(self, message: ListLoaded) -> None:
        if message.rows:
            self.run_worker(partial(self._save_last, self._window_key(), message.title, list(message.rows)),
                            thread=True, group="last-list", exit_on_error=False)

    def _save_last(self, window_key: str, title: str, rows: list[Row]) -> None:
        with contextlib.suppress(OSError):  # a read-only home only loses the fast start
            last_list.save(self.service.settings.home, window_key, title, rows)

    def slow_pass(self, interactive: bool) -> bool:
        return not interactive and not self.service.settings.offline

    def action_teach(self) -> None:
        """t: rate the window's papers the ranker is least sure about (they teach it most). Each answer
        comes back through ``record_feedback``, so this list records it and re-ranks as for its own keys."""
        if not self.store_ready():
            return
        window = self.app.window
        self.app.push_screen(TeachScreen(self.record_feedback, since=window.since, until=window.until),
                             self._taught)

    def _taught(self, answers: TeachAnswers | None) -> None:
        """Back from the teach dialog: say what was taught (the re-rank already follows each answer)."""
        if answers is not None:
            self.notify(answers.summary(), title="Teach", timeout=5)

    def load_rows(self, *, interactive: bool = False) -> Loaded:
        window = self.app.window
        service = self.service
        profile = service.active_profile()
        reading = service.recommend(n=LIST_SIZE, since=window.since, until=window.until,
                                    use_llm=not interactive, fallback=window.kind != "custom")
        marks = marks_for(profile)
        sent = service.seen_ids([r.paper.id for r in reading.items], profile.name)
        rows = [Row(r.paper, r.score, list(r.reasons), set(marks.get(r.paper.id, ())),
                    extra=DELIVERED if r.paper.id in sent else "")
                for r in reading.items if "dismiss" not in marks.get(r.paper.id, ())]
        notes = [n for n in [reading.note, *reading.llm_notes] if n]
        shown = describe(window.kind, reading.since, reading.until) if not reading.note else window.label
        return Loaded(rows, f"Reading list · {profile.name} · {shown}", " ".join(notes) or None)
