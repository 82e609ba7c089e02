"""Shared pieces of the TUI tests (no tests here): the app on the sample data and waiting helpers.

The app runs for real: ``App.run_test`` + Pilot, the real service on a real (embedded) Chroma store
with the bundled sample, offline mode. The clock is frozen at the sample's last day so windows
and snapshots are deterministic.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

SAMPLE_TODAY = date(2026, 8, 20)  # the last day of the bundled sample


def make_tui(service: Any, **options: Any) -> Any:
    from papercast.tui.app import create_app

    opened: list[str] = []
    options.setdefault("today", SAMPLE_TODAY)
    options.setdefault("animations", False)
    options.setdefault("theme", "textual-dark")
    options.setdefault("browser", opened.append)
    tui = create_app(service, **options)
    tui.opened_urls = opened  # type: ignore[attr-defined]
    return tui


@pytest.fixture
def tui(service: Any) -> Any:
    """The TUI over the service with the sample loaded (``service`` is the conftest service fixture)."""
    return make_tui(service)


async def wait_for(pilot: Any, predicate: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    """Pause the pilot until ``predicate()`` is truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await pilot.pause(0.05)
        await asyncio.sleep(0)


async def wait_loaded(pilot: Any, screen: Any = None, after: int = 0) -> Any:
    """Wait until a list screen shows a load newer than generation ``after`` (and no newer is pending)."""
    target = screen or pilot.app.screen
    await wait_for(pilot, lambda: target.applied_generation > after
                   and target.applied_generation == target.generation, what="the list to load")
    await pilot.pause()
    return target


async def open_first_paper(pilot: Any) -> tuple[Any, Any, Any]:
    """Once the reading list is loaded, open its first row: ``(the list screen, the row, the paper
    screen)``."""
    from papercast.tui.screens.paper import PaperScreen

    home = await wait_loaded(pilot)
    row = home.papers.rows[0]
    await pilot.press("enter")
    paper = await wait_for(pilot, lambda: isinstance(pilot.app.screen, PaperScreen) and pilot.app.screen,
                           what="the paper screen")
    return home, row, paper


def notifications(tui: Any) -> list[Any]:
    return list(tui._notifications)


def row_ids(screen: Any) -> list[str]:
    return [r.paper.id for r in screen.papers.rows]
