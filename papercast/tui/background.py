"""Background work the status bar shows: named tasks with progress, one-line errors and retry.

Sync service calls (fetch, sample load, summaries) run in Textual *thread* workers so the event
loop — and therefore every key press — stays free. Results and progress come back to the loop
with ``call_from_thread``; a failure becomes a notification with its one-line cause and can be
retried with ``R`` (the app keeps the last failed task).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Progress = Callable[[int, int], None]


def one_line(exc: BaseException) -> str:
    """The first line of an error, never a traceback; the exception type when it says nothing."""
    text = str(exc).strip().splitlines()
    first = text[0].strip() if text else ""
    return first[:200] if first else type(exc).__name__


@dataclass
class TaskState:
    key: str
    label: str
    done: int = 0
    total: int = 0
    started: float = field(default_factory=time.monotonic)


@dataclass
class AppStatus:
    """What the status bar shows (owned by the app, rendered by every screen's ``StatusBar``)."""

    mode: str = ""
    count: int | None = None
    cost: float = 0.0
    tasks: dict[str, TaskState] = field(default_factory=dict)

    @property
    def current_task(self) -> TaskState | None:
        return next(iter(self.tasks.values()), None)


@dataclass
class FailedTask:
    """Enough to run a failed task again."""

    key: str
    label: str
    fn: Callable[[Progress], Any]
    on_done: Callable[[Any], None] | None
    cause: str


class Throttle:
    """Let progress through at most every ``interval`` seconds (and always the last step)."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self._last = 0.0

    def ready(self, done: int, total: int) -> bool:
        now = time.monotonic()
        if done >= total or now - self._last >= self.interval:
            self._last = now
            return True
        return False
