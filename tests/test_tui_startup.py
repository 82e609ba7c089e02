"""Start-up: the first frame is painted before chromadb, litellm, langgraph or onnxruntime load.

Runs the app in a fresh interpreter (this test process has imported them already) on an empty
home, records which heavy modules were loaded at the first paint, and how long that took.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

CHILD = r"""
import json, os, sys, time
started = float(sys.argv[2])
from papercast.config import load_settings
from papercast.service import Papercast
from papercast.tui.app import create_app

async def main():
    tui = create_app(Papercast(load_settings(home=sys.argv[1])), animations=False)
    async with tui.run_test(size=(80, 24)) as pilot:
        while tui.first_paint_at is None:
            await pilot.pause(0.01)
        offset = time.time() - time.perf_counter()
        print(json.dumps({"heavy": tui.heavy_at_first_paint,
                          "first_paint_s": tui.first_paint_at + offset - started,
                          "screen": type(tui.screen).__name__,
                          "loading": bool(tui.screen.query_one("#list-loading").display)}), flush=True)
        os._exit(0)  # do not wait for the sample load the start-up worker has begun

import asyncio
asyncio.run(main())
"""


def test_first_paint_comes_before_the_heavy_imports(tmp_path: Path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    started = time.time()
    proc = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "home"), str(started)],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["heavy"] == [], f"imported before the first paint: {result['heavy']}"
    assert result["screen"] == "ReadingListScreen" and result["loading"], \
        "the frame shows a loading indicator"


def test_theme_follows_the_terminal():
    from papercast.tui.app import pick_theme

    assert pick_theme({"COLORFGBG": "0;15"}) == "textual-light"
    assert pick_theme({"COLORFGBG": "15;0"}) == "textual-dark"
    assert pick_theme({}) == "textual-dark"
    assert pick_theme({"PAPERCAST_THEME": "nord", "COLORFGBG": "0;15"}) == "nord"


async def test_first_start_loads_the_sample_and_creates_a_starter_profile(empty_service):
    from tui_helpers import make_tui, wait_loaded

    tui = make_tui(empty_service)
    async with tui.run_test(size=(100, 32)) as pilot:
        screen = await wait_loaded(pilot)
        messages = [n.message for n in tui._notifications]
        assert any("loading the bundled sample" in m for m in messages)
        assert any("Loaded 452 sample papers" in m for m in messages)
        assert any("starter profile" in m and "4" in m for m in messages), "says how to edit the profile"
        assert tui.status.count == 452 and screen.papers.rows


async def test_the_next_start_shows_the_last_list_at_once(service):
    from papercast.tui import last_list

    from tui_helpers import make_tui, row_ids, wait_for, wait_loaded

    first = make_tui(service)
    async with first.run_test(size=(100, 32)) as pilot:
        screen = await wait_loaded(pilot)
        ranked = row_ids(screen)
        await wait_for(pilot, lambda: last_list.path_for(service.settings.home).exists(),
                       what="the saved list")
        assert screen.last_session_shown == 0.0, "nothing saved before the first start"

    second = make_tui(service)
    async with second.run_test(size=(100, 32)) as pilot:
        screen = pilot.app.screen
        assert screen.last_session_shown > 0.0 and screen.last_session_ids == ranked
        await wait_loaded(pilot, screen)
        assert row_ids(screen) == ranked, "then the fresh ranking replaces it"
        assert "Last session" not in str(screen.query_one("#list-note").render())

    other_window = make_tui(service, window="month")  # another window: no stale list from this one
    async with other_window.run_test(size=(100, 32)) as pilot:
        assert pilot.app.screen.last_session_shown == 0.0


def test_the_status_bar_names_a_remote_embedding_model(settings):
    """The status bar's mode is the settings' own label, without the hint on leaving offline mode."""
    from papercast.service import Papercast
    from papercast.tui.app import create_app

    assert create_app(Papercast(settings)).status.mode == "offline mode (no LLM)"
    remote = settings.with_overrides(embedding="openai/text-embedding-3-small", model="openai/gpt-4o-mini")
    assert create_app(Papercast(remote)).status.mode == (
        "LLM: openai/gpt-4o-mini · embeddings: openai/text-embedding-3-small")
