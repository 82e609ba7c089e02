# ruff: noqa: F811  (pytest fixtures imported from helper modules are redefined as arguments)
"""Snapshots of the main screens at 100x32 on the sample data.

Deterministic on purpose: the clock is frozen at the sample's last day, animations are off (no
blinking cursors, no spinners left once loaded), notifications are cleared before the shot and the
chat's random thread id is pinned. Update with ``pytest tests/test_tui_snapshots.py --snapshot-update``
after a deliberate change, and look at the SVGs.
"""

from __future__ import annotations

from tui_helpers import tui, wait_for, wait_loaded  # noqa: F401

SIZE = (100, 32)


async def _settle(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    pilot.app.clear_notifications()
    await pilot.pause()


def test_reading_list(snap_compare, tui):
    async def run_before(pilot) -> None:
        await wait_loaded(pilot)
        await pilot.press("j")
        await _settle(pilot)

    assert snap_compare(tui, terminal_size=SIZE, run_before=run_before)


def test_trending(snap_compare, tui):
    async def run_before(pilot) -> None:
        await wait_loaded(pilot)
        await pilot.press("2")
        await wait_loaded(pilot, pilot.app.screen)
        await _settle(pilot)

    assert snap_compare(tui, terminal_size=SIZE, run_before=run_before)


def test_paper(snap_compare, tui):
    async def run_before(pilot) -> None:
        await wait_loaded(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: getattr(pilot.app.screen, "summary", None) is not None)
        await _settle(pilot)

    assert snap_compare(tui, terminal_size=SIZE, run_before=run_before)


def test_chat(snap_compare, tui):
    async def run_before(pilot) -> None:
        await wait_loaded(pilot)
        await pilot.press("3")
        chat = pilot.app.screen
        await pilot.press(*"speculative decoding", "enter")
        await wait_for(pilot, lambda: chat.turn == 1 and not chat.streaming, timeout=60)
        pilot.app.chat_thread = "snapshot"  # pin the random thread id
        chat._update_title()
        await _settle(pilot)

    assert snap_compare(tui, terminal_size=SIZE, run_before=run_before)


def test_profile(snap_compare, tui):
    async def run_before(pilot) -> None:
        await wait_loaded(pilot)
        await pilot.press("4")
        await wait_for(pilot, lambda: getattr(pilot.app.screen, "data", None) is not None)
        await _settle(pilot)

    assert snap_compare(tui, terminal_size=SIZE, run_before=run_before)
