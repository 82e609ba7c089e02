"""TUI benchmark: time to first paint and to a populated reading list, and keystroke-to-update
latency of like/dislike re-ranking.

* start-up, each in a fresh interpreter (process start → first frame painted → last session's
  list shown from disk → reading list ranked and populated by its worker), on the bundled sample
  (452 papers), on a 10k-paper store, and on recommend_speed.py's 50k store when it is built
  (issue 15's goal: first paint within 1 s at 50k);
* like / dislike on a 10k-paper store (and on the 50k store, a week's window, when it is built):
  key press → the row leaves the list (optimistic) and key press → the re-ranked list is on screen
  (feedback recorded + ``recommend`` + redraw).

The 10k store is built once under bench/.cache/ from the newest 10,000 papers of the shared corpus
with the cached vectors of ``bench/corpus_cache.py`` (never embedded here). The app runs headless
(``App.run_test``), the same code path as in a terminal minus the terminal's own drawing.

Run: .venv/bin/python bench/tui.py [--runs 3] [--presses 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from service_parts import paper_store

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
for _name in [n for n in os.environ if n.startswith("PAPERCAST_")]:
    del os.environ[_name]  # offline mode, whatever the caller's shell says

CACHE_DIR = ROOT / "bench" / ".cache"
RESULTS = ROOT / "bench" / "results"
SAMPLE_HOME = CACHE_DIR / "tui-sample"
BIG_HOME = CACHE_DIR / "tui-10k"
BIG_SIZE = 10_000
SPEED_50K_HOME = CACHE_DIR / "speed-50k"  # built by bench/recommend_speed.py
CORPUS_TODAY = date(2026, 8, 21)  # the corpus' last day: "this week" is a full week
SAMPLE_TODAY = date(2026, 8, 20)

CHILD = r"""
import json, os, sys, time
started = float(sys.argv[2])
from datetime import date
from papercast.config import load_settings
from papercast.service import Papercast
from papercast.tui.app import create_app

async def main():
    app = create_app(Papercast(load_settings(home=sys.argv[1])), today=date.fromisoformat(sys.argv[3]),
                     animations=False)
    async with app.run_test(size=(100, 32)) as pilot:
        screen = app.screen
        while not (screen.applied_generation and screen.papers.rows):
            await pilot.pause(0.005)
        offset = time.time() - time.perf_counter()
        shown = screen.last_session_shown + offset - started if screen.last_session_shown else None
        await pilot.pause(0.5)  # let the list be saved for the next start
        print(json.dumps({"first_paint_s": app.first_paint_at + offset - started, "last_session_s": shown,
                          "populated_s": screen.last_update + offset - started,
                          "rows": len(screen.papers.rows), "heavy": app.heavy_at_first_paint}), flush=True)
        os._exit(0)

import asyncio
asyncio.run(main())
"""


def build_sample() -> None:
    from papercast.config import load_settings
    from papercast.service import Papercast

    service = Papercast(load_settings(home=SAMPLE_HOME))
    service.ensure_sample()
    service.active_profile()


def build_big() -> None:
    """The newest 10k corpus papers with their cached vectors, and the starter profile."""
    from corpus_cache import CACHE, corpus_embeddings, corpus_rows

    from papercast.config import load_settings
    from papercast.models import Paper
    from papercast.service import Papercast

    service = Papercast(load_settings(home=BIG_HOME))
    if service.count() >= BIG_SIZE:
        return
    if not CACHE.exists():
        raise SystemExit(f"the corpus vectors are not cached yet ({CACHE}); run bench/corpus_cache.py first")
    rows = corpus_rows()
    papers = [Paper.model_validate(r) for r in rows]
    papers.sort(key=lambda p: (p.published or date.min, p.id))
    newest = papers[-BIG_SIZE:]
    vectors = corpus_embeddings()
    started = time.perf_counter()
    paper_store(service).upsert(newest, embeddings={p.id: vectors[p.id] for p in newest})
    service.active_profile()
    print(f"built the {BIG_SIZE} store in {time.perf_counter() - started:.0f}s", file=sys.stderr)


def start_up(home: Path, today: date, runs: int) -> dict[str, float]:
    """Median first paint and populated list over ``runs`` fresh interpreters."""
    paints, populated, last, rows = [], [], [], 0
    for _ in range(runs):
        started = time.time()
        proc = subprocess.run([sys.executable, "-c", CHILD, str(home), str(started), today.isoformat()],
                              capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise SystemExit(proc.stderr[-3000:])
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        assert not result["heavy"], result
        paints.append(result["first_paint_s"])
        if result["last_session_s"] is not None:
            last.append(result["last_session_s"])
        populated.append(result["populated_s"])
        rows = result["rows"]
    return {"first_paint_ms": 1000 * statistics.median(paints),
            "last_session_list_ms": 1000 * statistics.median(last) if last else float("nan"),
            "populated_ms": 1000 * statistics.median(populated),
            "populated_max_ms": 1000 * max(populated), "rows": rows}


async def feedback_latency(home: Path, today: date, presses: int, window: str) -> dict[str, float]:
    """Key press → row out of the list, and key press → re-ranked list on screen, alternating l and d."""
    from papercast.config import load_settings
    from papercast.service import Papercast
    from papercast.tui.app import create_app

    service = Papercast(load_settings(home=home))
    had = {(f.kind, f.paper_id) for f in service.active_profile().feedback}  # the store's own, kept
    app = create_app(service, today=today, window=window, animations=False)
    shown, reranked, ranked, window_papers = [], [], [], 0
    async with app.run_test(size=(100, 32)) as pilot:
        screen = app.screen
        while not (screen.applied_generation and screen.papers.rows):
            await pilot.pause(0.01)
        await pilot.pause(0.2)
        for i in range(presses):
            key = "l" if i % 2 == 0 else "d"
            screen.papers.highlighted = 3
            target = screen.papers.rows[3].paper.id
            before = screen.applied_generation
            t0 = time.perf_counter()
            await pilot.press(key)
            t_shown = (screen.last_feedback_shown if target not in [r.paper.id for r in screen.papers.rows]
                       else None)
            while screen.applied_generation <= before or screen.applied_generation != screen.generation:
                await asyncio.sleep(0.01)  # poll gently: a busy loop would steal the GIL from the worker
            reranked.append(1000 * (screen.last_update - t0))
            ranked.append(1000 * (screen.last_ranked - t0))
            if t_shown is not None and t_shown > t0:
                shown.append(1000 * (t_shown - t0))
        window_papers = len(service.list_papers(100_000, since=app.window.since, until=app.window.until))
        # Leave the bench profile as it was (the 50k store's profile has likes of its own).
        profile = service.active_profile()
        for kind in ("like", "dislike"):
            ids = [pid for pid in profile.ids(kind) if (kind, pid) not in had]
            if ids:
                service.feedback(ids, kind, undo=True)
    return {"optimistic_ms": statistics.median(shown) if shown else float("nan"),
            "ranked_in_worker_ms": statistics.median(ranked),
            "rerank_median_ms": statistics.median(reranked),
            "rerank_p90_ms": sorted(reranked)[int(0.9 * (len(reranked) - 1))], "rerank_max_ms": max(reranked),
            "window_papers": window_papers}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--presses", type=int, default=10)
    args = parser.parse_args()
    build_sample()
    build_big()
    results: dict[str, dict[str, float]] = {
        "start-up, sample (452)": start_up(SAMPLE_HOME, SAMPLE_TODAY, args.runs),
        f"start-up, {BIG_SIZE // 1000}k store": start_up(BIG_HOME, CORPUS_TODAY, args.runs),
    }
    if (SPEED_50K_HOME / "papercast.db").exists():
        results["start-up, 50k store"] = start_up(SPEED_50K_HOME, CORPUS_TODAY, args.runs)
    else:
        print(f"no 50k store at {SPEED_50K_HOME}: run bench/recommend_speed.py first to time it",
              file=sys.stderr)
    for window in ("week", "month"):
        results[f"like/dislike, {BIG_SIZE // 1000}k store, {window}"] = asyncio.run(
            feedback_latency(BIG_HOME, CORPUS_TODAY, args.presses, window))
    # issue 21's goal: a re-rank after a rating within 100 ms at 50k
    if (SPEED_50K_HOME / "papercast.db").exists():
        results["like/dislike, 50k store, week"] = asyncio.run(
            feedback_latency(SPEED_50K_HOME, CORPUS_TODAY, args.presses, "week"))
    for name, values in results.items():
        print(f"{name:<36} " + "  ".join(f"{k}={v:.0f}" if isinstance(v, float) else f"{k}={v}"
                                         for k, v in values.items()))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "tui.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
