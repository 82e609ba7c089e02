"""Home: the active profile's reading list for the window, shown at once from the last session."""

from __future__ import annotations

import contextlib
import time
from functools import partial
from typing import TYPE_CHECKING

from textual.binding import Binding
from textual.widgets import Static

from papercast.tui import last_list
from papercast.tui.background import one_line
from papercast.tui.messages import ListLoaded
from papercast.tui.screens.lists import DELIVERED, LIST_SIZE, Loaded, PaperListScreen, marks_for
from papercast.tui.screens.teach import TeachScreen
from papercast.tui.widgets.paper_list import Row
from papercast.tui.window import describe

if TYPE_CHECKING:
    from papercast.tui.screens.teach import TeachAnswers


RESULTS_BATCH = 5  # rows whose result sentences are found (and shown) together


class ReadingListScreen(PaperListScreen):
    """Home: the active profile's ranked list for the window; feedback re-ranks at once."""

    BINDINGS = [Binding("t", "teach", "Teach"), Binding("v", "toggle_results", "Results", show=False)]
    reranks = True
    triage = True  # liked, disliked, saved and dismissed papers count as read: the ranker drops them
    heading = "Reading list"

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.last_session_shown = 0.0  # perf_counter() when last session's rows were shown
        self.last_session_ids: list[str] = []
        self.show_results = False  # ``v``: each paper's result sentence under its title

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

    def action_toggle_results(self) -> None:
        """v: show (or hide) each paper's result sentence under its title; the roles are computed in a
        worker the first time (one embedding batch for the list), then remembered."""
        self.show_results = not self.show_results
        rows = list(self.papers.rows)
        if not self.show_results:
            for row in rows:
                row.result = ""
            self.papers.show_rows(rows)
            return
        self.notify("Finding each paper's result sentence…", timeout=2)
        self.run_worker(partial(self._results_in_thread, rows), thread=True, group="results",
                        exit_on_error=False)

    def add_results(self, rows: list[Row]) -> None:
        """Set each row's result sentence (in a worker thread: it may embed the abstracts)."""
        for row, result in zip(rows, self.results_of(rows), strict=True):
            row.result = result

    def results_of(self, rows: list[Row]) -> list[str]:
        found = self.service.result_sentences([r.paper for r in rows])
        return [found[r.paper.id] for r in rows]

    def _results_in_thread(self, rows: list[Row]) -> None:
        """The result sentences a few rows at a time, top first, so the first ones show at once."""
        for start in range(0, len(rows), RESULTS_BATCH):
            batch = rows[start:start + RESULTS_BATCH]
            try:
                results = self.results_of(batch)
            except Exception as exc:
                self.app.call_from_thread(self.app.report_error, "No result sentences", one_line(exc))
                return
            self.app.call_from_thread(self._results_ready, rows, batch, results)

    def _results_ready(self, rows: list[Row], batch: list[Row], results: list[str]) -> None:
        if not (self.show_results and rows == self.papers.rows):
            return  # hidden again, or the list changed meanwhile (its load sets the results itself)
        for row, result in zip(batch, results, strict=True):
            row.result = result
            self.papers.refresh_row(row.paper.id)

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
        if self.show_results:
            self.add_results(rows)
        notes = [n for n in [reading.note, *reading.llm_notes] if n]
        shown = describe(window.kind, reading.since, reading.until) if not reading.note else window.label
        ranked = (reading.since, reading.until) if reading.since and reading.until else None
        return Loaded(rows, f"Reading list · {profile.name} · {shown}", " ".join(notes) or None,
                      window=ranked)
