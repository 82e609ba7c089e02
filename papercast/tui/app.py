"""The papercast TUI: the app factory, background tasks and app-wide state.

Start-up is built for a fast first paint: this module imports only Textual and papercast's light
modules. The store (chromadb), the embedding model, litellm and langgraph are opened by the
service on first use, and the first use happens in a worker after the frame is on screen.
Tests and the benchmark build the app with ``create_app`` and drive it with ``App.run_test``.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.binding import Binding
from textual.reactive import reactive

from papercast.errors import RuntimeFailure, redact
from papercast.sanitize import clean_text
from papercast.tui.background import AppStatus, FailedTask, Progress, TaskState, Throttle, one_line
from papercast.tui.commands import PapercastCommands
from papercast.tui.screens.reading_list import ReadingListScreen
from papercast.tui.window import Window

if TYPE_CHECKING:  # types only: the app is handed a built service and never imports its module (numpy)
    import httpx
    from textual.screen import Screen

    from papercast.models import FetchReport
    from papercast.service import Papercast

SCREEN_NAMES = ("reading", "trending", "chat", "profile")
# Never imported before the first paint (each costs seconds on two cores).
HEAVY_MODULES = ("chromadb", "litellm", "langgraph", "onnxruntime")


def pick_theme(environ: dict[str, str] | None = None) -> str:
    """Follow the terminal: ``PAPERCAST_THEME`` wins, else ``COLORFGBG`` says light or dark."""
    env = os.environ if environ is None else environ
    if env.get("PAPERCAST_THEME"):
        return env["PAPERCAST_THEME"]
    fgbg = env.get("COLORFGBG", "")
    background = fgbg.split(";")[-1] if fgbg else ""
    if background.isdigit() and int(background) in (7, 15):
        return "textual-light"
    return "textual-dark"


def _modes() -> dict[str, str | Callable[[], Screen[Any]]]:
    """Screens are built on first switch. The reading list is the first screen, so it comes with the
    app; importing the others lazily keeps the first paint small.

    Typed as Textual's own ``App.MODES`` so the override is checked against it.
    """

    def trending() -> Screen[Any]:
        from papercast.tui.screens.trending import TrendingScreen  # lazy: keeps the TUI's first paint fast

        return TrendingScreen()

    def chat() -> Screen[Any]:
        from papercast.tui.screens.chat import ChatScreen  # lazy: keeps the TUI's first paint fast

        return ChatScreen()

    def profile() -> Screen[Any]:
        from papercast.tui.screens.profile import ProfileScreen  # lazy: keeps the TUI's first paint fast

        return ProfileScreen()

    return {"reading": ReadingListScreen, "trending": trending, "chat": chat, "profile": profile}


class PapercastApp(App[int]):
    """Reading list, trending, paper, chat and profile screens over one ``Papercast`` service."""

    CSS_PATH = "papercast.tcss"
    TITLE = "papercast"
    MODES = _modes()
    COMMANDS = App.COMMANDS | {PapercastCommands}
    BINDINGS = [
        Binding("1", "goto('reading')", "List"),
        Binding("2", "goto('trending')", "Trending"),
        Binding("3", "goto('chat')", "Chat"),
        Binding("4", "goto('profile')", "Profile"),
        Binding("question_mark", "help", "Help"),
        Binding("R", "retry", "Retry", show=False),
        Binding("q", "quit", "Quit"),
    ]

    status_version: reactive[int] = reactive(0, init=False)
    # Bumped when papers or the profile changed; list screens re-load when they see a new value.
    data_version: reactive[int] = reactive(0, init=False)

    def __init__(self, service: Papercast, *, screen: str = "reading", today: date | None = None,
                 window: str = "week", theme: str | None = None, animations: bool = True,
                 fetch_client: Callable[[], httpx.AsyncClient] | None = None,
                 browser: Callable[[str], None] | None = None, thread: str | None = None) -> None:
        super().__init__()
        if screen not in SCREEN_NAMES:
            raise ValueError(f"unknown screen {screen!r}: use one of {', '.join(SCREEN_NAMES)}")
        self.service = service
        self.start_screen = screen
        self._today = today
        self.window = Window.preset(window, self.today)
        self._theme_name = theme or pick_theme()
        self._animations = animations
        self._fetch_client = fetch_client
        self._browser = browser
        # The settings say the mode; the status bar has no room for the hint on leaving offline mode.
        self.status = AppStatus(mode=service.settings.mode_text(hint=False))
        self.ready = False  # the store is open and the sample loaded
        self.last_failed: FailedTask | None = None
        self.chat_thread: str | None = thread  # `papercast chat --thread ID` resumes it
        self.chat_draft: str | None = None
        self.first_paint_at: float | None = None
        self.heavy_at_first_paint: list[str] = []
        self._froze_heap = False

    # -- clock and start-up --------------------------------------------------------------
    @property
    def today(self) -> date:
        """The app's clock; frozen in tests and snapshots."""
        return self._today or date.today()

    def on_mount(self) -> None:
        if not self._animations:
            self.animation_level = "none"
        self.theme = self._theme_name
        self.switch_mode(self.start_screen)
        # Open the store only after the first frame is painted: the chromadb import holds the GIL.
        self.call_after_refresh(self._after_first_paint)
        self.set_interval(2.0, self._poll_cost)

    @property
    def still(self) -> bool:
        """No animations and no blinking cursors (snapshots, benchmarks, TEXTUAL_ANIMATIONS=none)."""
        return self.animation_level == "none"

    def _after_first_paint(self) -> None:
        self.first_paint_at = time.perf_counter()
        self.heavy_at_first_paint = sorted(m for m in HEAVY_MODULES if m in sys.modules)
        self.start_task("startup", "Opening the paper store", self._startup, self._started, retry=True)

    def _startup(self, progress: Progress) -> dict[str, Any]:
        """Open the store (first chromadb import), load the sample into an empty one, make a profile."""
        service = self.service
        loaded = 0
        if service.count() == 0:
            self.call_from_thread(self.notify, "Empty paper store: loading the bundled sample papers…",
                                  title="First start")
            loaded = service.ensure_sample(progress=progress)
        profile = service.active_profile()  # creates the starter profile on first start
        return {"count": service.count(), "loaded": loaded, "created_profile": service.starter_created,
                "profile": profile.name}

    def _started(self, result: dict[str, Any]) -> None:
        self.ready = True
        self.status.count = result["count"]
        if result["loaded"]:
            self.notify(f"Loaded {result['loaded']} sample papers. Press r to fetch today's papers.",
                        title="Sample loaded")
        if result["created_profile"]:
            self.notify(f"Created the starter profile {result['profile']!r}. Press 4 to edit its interests, "
                        "or use `papercast profile set`.", title="Starter profile", timeout=10)
        self.bump_status()
        self.data_version += 1
        self._freeze_heap()

    def _freeze_heap(self) -> None:
        """Take what start-up allocated out of the cyclic garbage collector's reach.

        Textual, chromadb, onnxruntime and the embedding model leave objects that live as long as the
        app, and each full collection walked them all holding the GIL, once every few re-ranks (the
        slow tail of like/dislike latency). ``on_unmount`` gives them back.
        """
        if not self._froze_heap:
            gc.freeze()
            self._froze_heap = True

    def on_unmount(self) -> None:
        if self._froze_heap:
            gc.unfreeze()  # their garbage can be collected again (tests run many apps in one process)
            self._froze_heap = False

    # -- app-wide state ------------------------------------------------------------------
    def bump_status(self) -> None:
        self.status_version += 1

    def papers_changed(self, count: int | None = None) -> None:
        """The store changed: update the count and make every list re-load."""
        if count is not None:
            self.status.count = count
        self.bump_status()
        self.data_version += 1

    def _poll_cost(self) -> None:
        """This session's LLM cost: the service's own client (never imports litellm just for this)."""
        cost = self.service.llm_usage().cost_usd
        if cost != self.status.cost:
            self.status.cost = cost
            self.bump_status()

    # -- background tasks ----------------------------------------------------------------
    def start_task(self, key: str, label: str, fn: Callable[[Progress], Any],
                   on_done: Callable[[Any], None] | None = None, *, retry: bool = True) -> bool:
        """Run ``fn(progress)`` in a thread worker, shown in the status bar; False if already running."""
        if key in self.status.tasks:
            self.notify(f"{label} is already running.", severity="warning")
            return False
        self.status.tasks[key] = TaskState(key, label)
        self.bump_status()
        throttle = Throttle()

        def progress(done: int, total: int) -> None:
            if throttle.ready(done, total):
                self._from_thread(self._task_progress, key, done, total)

        def body() -> None:
            try:
                result = fn(progress)
            except Exception as exc:
                self._from_thread(self._task_failed, key, label, fn, on_done, exc, retry)
                return
            self._from_thread(self._task_done, key, result, on_done)

        self.run_worker(body, thread=True, group=key, name=label, exit_on_error=False)
        return True

    def task_begin(self, key: str, label: str) -> None:
        """Show work that is not a ``start_task`` (a screen's own worker) in the status bar."""
        self.status.tasks[key] = TaskState(key, label)
        self.bump_status()

    def task_end(self, key: str) -> None:
        if self.status.tasks.pop(key, None) is not None:
            self.bump_status()

    def _from_thread(self, callback: Callable[..., Any], *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the app is shutting down: nobody left to tell
            self.call_from_thread(callback, *args)

    def _task_progress(self, key: str, done: int, total: int) -> None:
        task = self.status.tasks.get(key)
        if task:
            task.done, task.total = done, total
            self.bump_status()

    def _task_done(self, key: str, result: Any, on_done: Callable[[Any], None] | None) -> None:
        self.status.tasks.pop(key, None)
        self.bump_status()
        if on_done is not None:
            on_done(result)

    def _task_failed(self, key: str, label: str, fn: Callable[[Progress], Any],
                     on_done: Callable[[Any], None] | None, exc: BaseException, retry: bool) -> None:
        self.status.tasks.pop(key, None)
        self.bump_status()
        cause = one_line(exc)
        # A home file that failed (papercast.db damaged, read-only...) is named, not the task that met it:
        # "Opening the paper store failed" would send the user to the wrong file.
        where = getattr(exc, "path", None)
        title = f"{where.name} cannot be used" if isinstance(where, PurePath) else f"{label} failed"
        self.report_error(title, cause, retry=FailedTask(key, label, fn, on_done, cause) if retry else None)

    def report_error(self, title: str, cause: str, retry: FailedTask | None = None) -> None:
        """One notification with the one-line cause; remember the task so ``R`` can run it again."""
        if retry is not None:
            self.last_failed = retry
            cause += " — press R to retry"
        cause = clean_text(redact(cause))  # a setting's URL credentials or paper text may be in it
        self.notify(cause, title=title, severity="error", timeout=8)

    def action_retry(self) -> None:
        failed = self.last_failed
        if failed is None:
            self.notify("Nothing to retry.")
            return
        self.last_failed = None
        self.start_task(failed.key, failed.label, failed.fn, failed.on_done)

    # -- fetch ---------------------------------------------------------------------------
    def action_refresh_papers(self) -> None:
        """Fetch today's papers from all sources in the background; lists re-rank when they land."""
        self.start_task("fetch", "Fetching new papers", self._fetch, self._fetched)

    def _fetch(self, progress: Progress) -> tuple[FetchReport, int]:
        client = self._fetch_client() if self._fetch_client else None
        report = self.service.fetch("all", progress=progress, client=client)
        if report.errors and not report.papers:
            raise RuntimeFailure("; ".join(report.errors))
        return report, self.service.count()

    def _fetched(self, outcome: tuple[FetchReport, int]) -> None:
        report, count = outcome
        result = report.result
        added = result.added if result else 0
        self.notify(f"Fetched {len(report.papers)} papers ({added} new).", title="Fetch finished")
        for error in report.errors:
            self.notify(error, title="A source failed", severity="warning", timeout=8)
        self.papers_changed(count)

    # -- navigation ----------------------------------------------------------------------
    def action_goto(self, name: str) -> None:
        if self.current_mode != name:
            self.switch_mode(name)

    def action_help(self) -> None:
        from papercast.tui.screens.help import HelpScreen  # lazy: keeps the TUI's first paint fast

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def open_paper(self, paper_id: str, reasons: list[str] | None = None, *,
                   window: tuple[date, date] | None = None) -> None:
        """The paper view; ``window``: the dates of the list it was opened from (kept with its ratings)."""
        from papercast.tui.screens.paper import PaperScreen  # lazy: keeps the TUI's first paint fast

        self.push_screen(PaperScreen(paper_id, reasons=reasons or [], window=window))

    def open_url(self, url: str, *, new_tab: bool = True) -> None:
        """Open a link in the browser (tests pass ``browser=`` to see the link instead)."""
        if self._browser is not None:
            self._browser(url)
        else:
            super().open_url(url, new_tab=new_tab)
        self.notify(url, title="Opened in the browser", timeout=3)


def create_app(service: Papercast, **options: Any) -> PapercastApp:
    """The app factory the CLI, the tests and the benchmark use. Options: see ``PapercastApp``."""
    return PapercastApp(service, **options)


def run_app(service: Papercast, screen: str | None = None, **options: Any) -> int:
    """Run the TUI in this terminal; returns the exit code for the CLI."""
    app = create_app(service, screen=screen or "reading", **options)
    result = app.run()
    return int(result or 0)
