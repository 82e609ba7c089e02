"""The status bar: which mode is active, papers in the store, LLM cost, background work.

It renders app state only (``app.status``); the app bumps ``status_version`` whenever that state
changes, so every screen's status bar stays in sync without knowing who changed what.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar

if TYPE_CHECKING:  # types only: app.py imports the screens that use this widget
    from textual import getters

    from papercast.tui.app import PapercastApp


class StatusBar(Horizontal):
    """``offline mode · 452 papers · $0.0000 · Fetching new papers [=====   ] 120/400``."""

    if TYPE_CHECKING:  # types only: at run time Textual's own ``app``, with no import of app.py
        app = getters.app(PapercastApp)  # typed: it reads the app's ``status``

    def compose(self) -> ComposeResult:
        yield Label(id="status-mode")
        yield Label(id="status-count")
        yield Label(id="status-cost")
        yield Label(id="status-task")
        yield ProgressBar(id="status-progress", show_eta=False, show_percentage=False)

    def on_mount(self) -> None:
        self.watch(self.app, "status_version", self.update_status, init=True)

    def update_status(self, _version: int = 0) -> None:
        status = self.app.status
        self.query_one("#status-mode", Label).update(status.mode)
        self.query_one("#status-count", Label).update(
            "… papers" if status.count is None else f"{status.count:,} papers")
        self.query_one("#status-cost", Label).update(f"LLM ${status.cost:.4f}")
        bar = self.query_one("#status-progress", ProgressBar)
        task = status.current_task
        if task is None:
            self.query_one("#status-task", Label).update("")
            bar.display = False
            return
        label = task.label
        if task.total:
            label += f" {task.done}/{task.total}"
        self.query_one("#status-task", Label).update(label)
        bar.display = True
        bar.update(total=task.total or None, progress=task.done)
