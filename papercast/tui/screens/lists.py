"""Paper list screens: the reading list (home), trending and library search.

One base holds the list, its keys and the load cycle: loading happens in a thread worker, the result
comes back as a ``ListLoaded`` tagged with a generation so a stale ranking never overwrites a newer one.
Feedback shows at once, is recorded in key-press order by the screen's one feedback worker and, on the
reading list, followed by one re-rank for everything recorded so far. Textual calls a message handler
of every class in the MRO, so subclasses add to one through hooks (``rows_shown``), not ``super()``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Input, LoadingIndicator, OptionList, Static

from papercast.errors import UserError
from papercast.models import OPPOSITE_FEEDBACK, FeedbackKind, Paper, Profile
from papercast.tui.background import FailedTask, Progress, one_line
from papercast.tui.messages import FeedbackRecorded, ListLoaded
from papercast.tui.screens.dialogs import ChoiceDialog, PromptDialog
from papercast.tui.widgets.paper_list import PaperList, Row
from papercast.tui.widgets.status_bar import StatusBar
from papercast.tui.window import PRESETS, Window, describe

if TYPE_CHECKING:
    from textual import getters

    from papercast.service import Papercast
    from papercast.tui.app import PapercastApp

LIST_SIZE = 50
TRENDING_SIZE = 100
DELIVERED = "✉ delivered"  # on a paper `daily` already sent to the profile (it never sends it again)


def marks_for(profile: Profile) -> dict[str, set[str]]:
    """paper id -> the feedback kinds it has, from one pass over the profile."""
    out: dict[str, set[str]] = {}
    for item in profile.feedback:
        out.setdefault(item.paper_id, set()).add(item.kind)
    return out


@dataclass
class UndoEntry:
    row: Row
    kind: FeedbackKind
    was_undo: bool  # the action removed feedback (pressing l on a liked paper)
    index: int | None = None


@dataclass
class PendingFeedback:
    paper_id: str
    kind: FeedbackKind
    undo: bool
    generation: int  # the list generation this key press asked for
    window: tuple[date, date] | None = None  # the dates of the list shown when it was pressed


@dataclass
class Loaded:
    rows: list[Row]
    title: str
    note: str | None = None
    window: tuple[date, date] | None = None  # the dates the list was ranked over (a reading list's)


class PaperListScreen(Screen):
    """The shared list screen. Subclasses say how to load rows and whether feedback re-ranks."""

    BINDINGS = [
        Binding("l", "feedback('like')", "Like"),
        Binding("d", "feedback('dislike')", "Dislike"),
        Binding("s", "feedback('save')", "Save"),
        Binding("x", "hide", "Dismiss"),
        Binding("u", "undo", "Undo"),
        Binding("o", "browse('abs')", "Abs page", show=False),
        Binding("p", "browse('pdf')", "PDF", show=False),
        Binding("r", "app.refresh_papers", "Refresh"),
        Binding("slash", "search", "Search"),
        Binding("w", "window", "Window"),
        Binding("P", "switch_profile", "Profile", show=False),
        Binding("E", "export_saved", "Export saved", show=False),
    ]

    if TYPE_CHECKING:  # types only: at run time Textual's own ``app``, with no import of app.py
        app = getters.app(PapercastApp)  # typed: the screens use the app's service, window and tasks
    reranks = False  # does feedback change the order of this list?
    triage = False  # does feedback take the paper out of this list (the ranker drops read papers)?
    heading = "Papers"

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.generation = 0  # the newest load requested
        self.applied_generation = 0  # the newest load shown
        self.shown_window: tuple[date, date] | None = None  # the dates of the list shown (kept with ratings)
        self.loaded_version = -1  # the app's data_version this list reflects
        self.undo_stack: list[UndoEntry] = []
        self.last_update = 0.0  # perf_counter() when rows were last shown (the benchmark reads it)
        self.last_feedback_shown = 0.0  # perf_counter() when a key's feedback was last drawn
        self.last_ranked = 0.0  # perf_counter() when a worker last finished loading rows
        self._pending: list[PendingFeedback] = []  # key presses the feedback worker has not taken yet
        self._pending_lock = threading.Lock()
        self._draining = False  # a feedback worker is running (it takes what is queued meanwhile)

    @property
    def service(self) -> Papercast:
        return self.app.service

    @property
    def papers(self) -> PaperList:
        return self.query_one("#papers", PaperList)

    def compose(self) -> ComposeResult:
        yield Static(self.heading, id="list-title", classes="screen-title")
        yield from self.compose_top()
        yield Static(id="list-note", classes="note")
        yield PaperList(id="papers")
        yield LoadingIndicator(id="list-loading")
        yield Static(id="list-empty", classes="empty")
        yield StatusBar()
        yield Footer()

    def compose_top(self) -> ComposeResult:
        """Widgets between the title and the list (the search input)."""
        yield from ()

    def on_mount(self) -> None:
        self.query_one("#list-note").display = False
        self.query_one("#list-empty").display = False
        self.watch(self.app, "data_version", self._data_changed, init=False)
        if self.app.ready:
            self.reload()
        else:
            self.show_last_session()

    def show_last_session(self) -> None:
        """Before the store is open: the last session's rows for this window, if any (reading list)."""

    # -- loading ---------------------------------------------------------------------------
    def _data_changed(self, version: int) -> None:
        if version != self.loaded_version and self.is_current:
            self.reload()

    def on_screen_resume(self) -> None:
        if self.app.ready and self.loaded_version != self.app.data_version:
            self.reload()

    def load_rows(self, *, interactive: bool = False) -> Loaded:
        """Runs in a worker thread. ``interactive`` is True for re-ranks right after a key press."""
        raise NotImplementedError

    def reload(self, *, keep_index: int | None = None) -> None:
        self.loaded_version = self.app.data_version
        self.generation += 1
        if not self.papers.rows:
            self.query_one("#list-loading").display = True
        self.run_worker(partial(self._load_in_thread, self.generation, keep_index, False),
                        thread=True, group="load", exit_on_error=False)

    def slow_pass(self, interactive: bool) -> bool:
        """Whether a full load has a slow second pass (the LLM re-rank) after a quick first one."""
        return False

    def _load_in_thread(self, generation: int, keep_index: int | None, interactive: bool) -> None:
        """Load rows; with a slow pass, show the quick ranking first and the LLM's when it is done."""
        two_pass = self.slow_pass(interactive)
        try:
            loaded = self.load_rows(interactive=interactive or two_pass)
        except Exception as exc:
            self.app.call_from_thread(self._load_failed, exc)
            return
        self.last_ranked = time.perf_counter()
        note = loaded.note
        app = self.app
        if two_pass:
            note = " ".join(n for n in (note, "Re-ranking the top papers with the LLM…") if n)
            app.call_from_thread(app.task_begin, "rerank", "LLM re-ranking")
        self.post_message(ListLoaded(loaded.rows, generation, title=loaded.title, note=note,
                                     keep_index=keep_index, window=loaded.window))
        if not two_pass:
            return
        try:
            loaded = self.load_rows(interactive=False)
        except Exception as exc:
            self.app.call_from_thread(self._load_failed, exc)
            return
        finally:
            app.call_from_thread(app.task_end, "rerank")
        self.post_message(ListLoaded(loaded.rows, generation, title=loaded.title, note=loaded.note,
                                     keep_index=keep_index, window=loaded.window))

    def _load_failed(self, exc: BaseException) -> None:
        self.query_one("#list-loading").display = False

        def retry_load(_progress: Progress) -> Loaded:
            return self.load_rows()

        def show(loaded: Loaded) -> None:
            self.generation += 1
            self.post_message(ListLoaded(loaded.rows, self.generation, title=loaded.title, note=loaded.note,
                                         window=loaded.window))

        self.app.report_error(f"Loading the {self.heading.lower()} failed", one_line(exc),
                         retry=FailedTask(f"load-{self.heading}", f"Loading the {self.heading.lower()}",
                                          retry_load, show, one_line(exc)))

    def on_list_loaded(self, message: ListLoaded) -> None:
        message.stop()
        if message.generation < self.generation:
            return  # a newer load is on its way
        self.applied_generation = message.generation
        self.shown_window = message.window
        self.query_one("#list-loading").display = False
        self.query_one("#list-title", Static).update(message.title)
        note = self.query_one("#list-note", Static)
        note.update(message.note or "")
        note.display = bool(message.note)
        self.papers.show_rows(message.rows, keep_index=message.keep_index)
        empty = self.query_one("#list-empty", Static)
        empty.update(self.empty_text())
        empty.display = not message.rows
        self.last_update = time.perf_counter()
        self.rows_shown(message)

    def rows_shown(self, message: ListLoaded) -> None:
        """After a load was shown: a hook, because Textual already calls ``on_list_loaded`` of every class."""

    def empty_text(self) -> str:
        return "No papers here. Press r to fetch today's papers or w to pick another window."

    def store_ready(self) -> bool:
        """Keys that touch the store wait until start-up opened it (the list may be last session's)."""
        if self.app.ready:
            return True
        self.notify("Still opening the paper store — one moment.", timeout=2)
        return False

    # -- opening ---------------------------------------------------------------------------
    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if not self.store_ready():
            return
        row = self.papers.current
        if row is not None:
            self.app.open_paper(row.paper.id, row.reasons, window=self.shown_window)

    def action_browse(self, which: str) -> None:
        row = self.papers.current
        if row is not None:
            self.app.open_url(row.paper.pdf_url if which == "pdf" else row.paper.url)

    # -- feedback --------------------------------------------------------------------------
    def action_feedback(self, kind: FeedbackKind) -> None:
        row = self.papers.current
        if row is None or not self.store_ready():
            return
        undo = kind in row.marks
        if self.triage and not undo:
            self._take_out(row, kind)
            return
        self.undo_stack.append(UndoEntry(row, kind, undo))
        self._mark(row, kind, remove=undo)
        self._send(row.paper.id, kind, undo)

    def _mark(self, row: Row, kind: str, *, remove: bool) -> None:
        if remove:
            row.marks.discard(kind)
        else:
            row.marks.add(kind)
            if kind in OPPOSITE_FEEDBACK:
                row.marks.discard(OPPOSITE_FEEDBACK[kind])
        if self.papers.index_of(row.paper.id) is not None:
            self.papers.refresh_row(row.paper.id)

    def action_hide(self) -> None:
        row = self.papers.current
        if row is not None and self.store_ready():
            self._take_out(row, "dismiss")

    def _take_out(self, row: Row, kind: FeedbackKind, *, announce: bool = True) -> None:
        """Feedback that removes the paper from this list at once (undo puts it back)."""
        index = self.papers.remove_row(row.paper.id)
        self.last_feedback_shown = time.perf_counter()
        self._mark(row, kind, remove=False)
        self.undo_stack.append(UndoEntry(row, kind, False, index))
        self._send(row.paper.id, kind, False)
        if announce:
            done = {"like": "Liked", "dislike": "Disliked", "save": "Saved", "dismiss": "Dismissed"}[kind]
            title = row.paper.title if len(row.paper.title) <= 60 else row.paper.title[:59] + "…"
            self.notify(f"{done}: {title} (u to undo)", timeout=3)
        empty = self.query_one("#list-empty", Static)
        empty.update(self.empty_text())
        empty.display = not self.papers.rows

    def record_feedback(self, paper: Paper, kind: FeedbackKind) -> None:
        """Feedback given over this list on another screen (the teach dialog), for a paper that may not be
        in the list: it goes through the same queue and worker as the list's own keys, so it is recorded in
        key-press order, followed by the list's re-rank, and ``u`` undoes it like any other press."""
        index = self.papers.index_of(paper.id)
        row = self.papers.rows[index] if index is not None else Row(paper)
        if kind in row.marks:
            return  # recorded already (a key here is never an undo)
        if index is not None and self.triage:
            under = self.papers.current
            self._take_out(row, kind, announce=False)  # the dialog says what it recorded
            at = self.papers.index_of(under.paper.id) if under is not None else None
            if at is not None:
                self.papers.highlighted = at  # the cursor stays on its paper, not where this one was
            return
        self.undo_stack.append(UndoEntry(row, kind, False))
        self._mark(row, kind, remove=False)
        self._send(paper.id, kind, False)

    def action_undo(self) -> None:
        if not self.store_ready():
            return
        if not self.undo_stack:
            self.notify("Nothing to undo.")
            return
        entry = self.undo_stack.pop()
        pid = entry.row.paper.id
        if entry.index is not None and self.papers.index_of(pid) is None:
            rows = list(self.papers.rows)
            at = min(entry.index, len(rows))
            entry.row.marks.discard(entry.kind)
            rows.insert(at, entry.row)
            self.papers.show_rows(rows, keep_index=at)
            self.query_one("#list-empty").display = False
            self._send(pid, entry.kind, True)
            return
        index = self.papers.index_of(pid)
        row = self.papers.rows[index] if index is not None else entry.row
        self._mark(row, entry.kind, remove=not entry.was_undo)
        self._send(pid, entry.kind, not entry.was_undo)

    def _send(self, paper_id: str, kind: FeedbackKind, undo: bool) -> None:
        """Queue feedback for the screen's feedback worker, starting one unless one is running.

        One worker at a time keeps presses in order (a like and its undo never swap) and lets
        quick presses share a re-rank instead of racing each other for the two cores.
        """
        if self.reranks:
            self.generation += 1  # whatever is loading now lacks this press: its result is stale
        with self._pending_lock:
            self._pending.append(PendingFeedback(paper_id, kind, undo, self.generation, self.shown_window))
            if self._draining:
                return
            self._draining = True
        self.run_worker(self._drain_feedback, thread=True, group="feedback", exit_on_error=False)

    def _drain_feedback(self) -> None:
        """Record queued presses in order; on ranked lists re-rank once no press is waiting.

        The re-rank carries the newest recorded press's generation, so the list shown always
        includes every press; a press that arrives during the re-rank makes it stale and is
        recorded and re-ranked in the next round.
        """
        try:
            while batch := self._take_pending():
                if self._record(batch) and self.reranks and not self._has_pending():
                    # keep=None: the re-ranked list keeps the cursor where it is when the result lands
                    self._load_in_thread(batch[-1].generation, None, True)
        except BaseException:
            with self._pending_lock:
                self._draining = False  # the next press starts a new worker (and takes what is left)
            raise

    def _take_pending(self) -> list[PendingFeedback]:
        """Everything queued; when nothing is, the worker is done (decided under the lock, so a
        press either lands in this batch or starts a new worker)."""
        with self._pending_lock:
            batch, self._pending = self._pending, []
            if not batch:
                self._draining = False
            return batch

    def _has_pending(self) -> bool:
        with self._pending_lock:
            return bool(self._pending)

    def _record(self, batch: list[PendingFeedback]) -> bool:
        """Store the presses (a like removes a dislike, and vice versa); False if none was stored."""
        recorded = False
        for item in batch:
            try:
                self.service.feedback([item.paper_id], item.kind, undo=item.undo, window=item.window)
            except Exception as exc:
                self.app.call_from_thread(self.app.report_error, f"Could not save {item.kind}", one_line(exc))
                continue
            recorded = True
        if recorded:
            # not call_from_thread: the re-rank must not wait for the UI
            self.post_message(FeedbackRecorded())
        return recorded

    def on_feedback_recorded(self, message: FeedbackRecorded) -> None:
        """Other screens re-load when they next show; this one re-ranks itself."""
        message.stop()
        app = self.app
        self.loaded_version = app.data_version + 1
        app.data_version += 1

    # -- window, profile, search -----------------------------------------------------------
    def action_window(self) -> None:
        app = self.app
        options = [(kind, describe(kind, *_span(kind, app.today))) for kind in PRESETS]
        options.append(("custom", "custom range…"))
        self.app.push_screen(
            _choice("Show papers from", options, app.window.kind), self._window_chosen)

    def _window_chosen(self, kind: str | None) -> None:
        app = self.app
        if kind is None:
            return
        if kind == "custom":
            current = f"{app.window.since or ''}..{app.window.until or ''}" if app.window.since else ""
            self.app.push_screen(PromptDialog("Date range (YYYY-MM-DD..YYYY-MM-DD)", value=current,
                                              placeholder="2026-08-01..2026-08-20"), self._custom_chosen)
            return
        app.window = Window.preset(kind, app.today)
        app.data_version += 1

    def _custom_chosen(self, text: str | None) -> None:
        if not text:
            return
        try:
            window = Window.parse(text)
        except ValueError as exc:
            self.notify(str(exc), severity="error")
            return
        app = self.app
        app.window = window
        app.data_version += 1

    def action_switch_profile(self) -> None:
        if not self.store_ready():
            return
        try:
            profiles = self.service.profile_list()
            active = self.service.active_profile().name
        except Exception as exc:
            self.app.report_error("Profiles unavailable", one_line(exc))
            return
        names = [p.name for p in profiles]
        self.app.push_screen(_choice("Rank for profile", [(n, n) for n in names], active),
                             self._profile_chosen)

    def _profile_chosen(self, name: str | None) -> None:
        if not name:
            return

        def use(_progress: Progress) -> str:
            self.service.profile_use(name)
            return name

        def done(chosen: str) -> None:
            self.notify(f"Ranking for profile {chosen!r}.")
            self.app.data_version += 1

        self.app.start_task("profile", f"Switching to {name}", use, done)

    def action_search(self) -> None:
        if self.store_ready():
            self.app.push_screen(SearchScreen())

    def action_export_saved(self) -> None:
        """E: the profile's saved papers as BibTeX in the home's exports/ folder, for a reference manager
        (``papercast export --saved`` does the same, in every format)."""
        if not self.store_ready():
            return

        def export(_progress: Progress) -> tuple[int, str]:
            service = self.service
            name = service.active_profile().name
            text, papers = service.export_papers("saved", "bibtex", profile=name)
            folder = service.settings.home / "exports"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"saved-{''.join(c if c.isalnum() or c in '-_.' else '_' for c in name)}.bib"
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
            return len(papers), str(path)

        def done(result: tuple[int, str]) -> None:
            count, path = result
            self.notify(f"Exported {count} saved papers to {path}" if count else
                        f"No saved papers yet (s saves one); wrote an empty {path}")

        self.app.start_task("export", "Exporting saved papers", export, done)


def _span(kind: str, today: date) -> tuple[date | None, date | None]:
    window = Window.preset(kind, today)
    return window.since, window.until


def _choice(title: str, options: list[tuple[str, str]], selected: str | None) -> ChoiceDialog:
    return ChoiceDialog(title, options, selected=selected)


class SearchScreen(PaperListScreen):
    """The library's hybrid search (words, "phrases", meaning; ``cat:``/``au:`` filters); ``escape`` goes
    back."""

    heading = "Search"
    BINDINGS = [Binding("escape", "back", "Back"), Binding("slash", "focus_query", "Search", show=False)]

    def __init__(self, query: str = "") -> None:
        super().__init__()
        self.query_text = query

    def compose_top(self) -> ComposeResult:
        yield Input(value=self.query_text, id="search-query",
                    placeholder='search titles and abstracts…  (cat:cs.CL  au:LeCun  "a phrase")')

    def on_mount(self) -> None:
        # No super().on_mount(): Textual runs PaperListScreen.on_mount right after this one (a
        # call here loaded the search twice and watched data_version twice).
        box = self.query_one("#search-query", Input)
        box.cursor_blink = not self.app.still
        box.focus()

    def load_rows(self, *, interactive: bool = False) -> Loaded:
        if not self.query_text:
            return Loaded([], "Search the library")
        try:
            results = self.service.search(self.query_text, 30)
        except UserError as exc:  # the query itself (an empty one, a category that is not one): no retry
            return Loaded([], f"Search · {self.query_text!r}", note=str(exc))
        marks = marks_for(self.service.active_profile())
        rows = [Row(h.paper, None, list(h.reasons), set(marks.get(h.paper.id, ()))) for h in results]
        return Loaded(rows, f"Search · {self.query_text!r} · {len(rows)} results")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_text = event.value.strip()
        self.reload()
        self.papers.focus()

    def empty_text(self) -> str:
        return "Type a query and press enter." if not self.query_text else "Nothing matched."

    def action_focus_query(self) -> None:
        self.query_one("#search-query", Input).focus()

    def action_search(self) -> None:
        self.action_focus_query()

    def action_back(self) -> None:
        self.app.pop_screen()
