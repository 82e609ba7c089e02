"""Recommendation speed as the store grows: 10k and 50k papers, a week and a 6-month window.

Stores are built once under bench/.cache/ from the shared corpus and its cached vectors; the
50k store re-inserts corpus papers under new ids (same text, dates and vectors), so each window
holds about three times the papers it would. Reports the in-process time of
``tools.ranking.score.recommend`` (first call in the process, then the median of warm calls) for a
profile with interests and 5 likes, and the whole-process time of ``papercast recommend --json`` for
the default week and for 6 months, as a multiple of ``python -c "import chromadb, numpy"`` timed in
the same run (issue 15's yardstick; medians of 3, alternated), and ``papercast eval`` on a profile
with 500 ratings over 50 days (issue 21: within 2 s), rated outside any list and from 50 week-long lists.

Run: .venv/bin/python bench/recommend_speed.py [--sizes 10000,50000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from corpus_cache import corpus_embeddings, corpus_rows  # noqa: E402
from service_parts import paper_store, profile_store  # noqa: E402

CACHE_DIR = ROOT / "bench" / ".cache"
RESULTS = ROOT / "bench" / "results"
INTERESTS = "efficient fine-tuning of LLMs, long-context modelling and long-output generation"


def build_store(size: int):
    """A Papercast service whose store holds ``size`` papers (corpus + re-inserted copies)."""
    from papercast.config import load_settings
    from papercast.models import Paper
    from papercast.service import Papercast

    app = Papercast(load_settings(home=CACHE_DIR / f"speed-{size // 1000}k"))
    if app.count() == size:
        return with_ranking_cache(app)
    rows = corpus_rows()
    vectors = corpus_embeddings()
    # Newest first: a smaller store holds the latest papers, as a real one would.
    papers = sorted((Paper.model_validate(r) for r in rows), key=lambda p: p.published or date.min,
                    reverse=True)
    known = {p.id: vectors[p.id] for p in papers}
    out: list[Paper] = []
    copy = 0
    while len(out) < size:
        for idx, p in enumerate(papers):
            if len(out) >= size:
                break
            if copy == 0:
                out.append(p)
                continue
            # New-style ids with a prefix no real paper has (91xx, 92xx, ...): same text and vector.
            new_id = f"{90 + copy}00.{idx:05d}"
            clone = p.model_copy(update={"id": new_id})
            known[new_id] = known[p.id]
            out.append(clone)
        copy += 1
    started = time.perf_counter()
    paper_store(app).upsert(out, embeddings=known)
    print(f"built the {size} store in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    assert app.count() == size, app.count()
    return with_ranking_cache(app)


def with_ranking_cache(app):
    """Build the persistent ranking cache of a store made before it existed (once; timed)."""
    from papercast.tools.ranking.window import ranking_source

    if paper_store(app).fresh_ranking_cache() is None:
        started = time.perf_counter()
        assert ranking_source(paper_store(app)) is not None
        print(f"built the ranking cache of {app.count()} papers in "
              f"{time.perf_counter() - started:.0f}s", file=sys.stderr)
    return app


def time_recommend(app, since: date | None, until: date | None, repeat: int = 5) -> dict[str, float]:
    from papercast.tools.ranking.score import recommend

    profile = app.profile_show("bench")
    t0 = time.perf_counter()
    first = recommend(paper_store(app), profile, since=since, until=until, n=20)
    first_ms = 1000 * (time.perf_counter() - t0)
    warm = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        recommend(paper_store(app), profile, since=since, until=until, n=20)
        warm.append(1000 * (time.perf_counter() - t0))
    window, _ = paper_store(app).window(first.since, first.until)
    return {"first_ms": first_ms, "warm_ms": statistics.median(warm), "window_papers": len(window),
            "since": str(first.since), "until": str(first.until)}


def time_eval(app, ratings: int = 500, per_day: int = 10, repeat: int = 3, *,
              in_lists: bool = False) -> dict[str, float]:
    """``papercast eval`` on a profile with ``ratings`` ratings, ``per_day`` a day (issue 21: within 2 s at
    500), each day's ratings dated a day apart: a like when the paper is in cs.CL, else a dislike (the
    labels do not matter to the cost). By default the papers are drawn from the 6-month window and rated
    outside any list (eval ranks them among a draw from their dates). ``in_lists``: each day rates 10
    papers of its own week-long reading list, three days on from the last one's, and keeps the list's
    dates, so eval ranks every day on a window of its own (the most work a daily user's history asks)."""
    from datetime import UTC, datetime, timedelta

    name = f"eval-{ratings}" + ("-lists" if in_lists else "")
    store = profile_store(app)
    if not store.exists(name):
        app.profile_create(name, interests=INTERESTS)
        rng = random.Random(0)
        start = datetime(2026, 7, 1, 9, tzinfo=UTC)
        days = range(ratings // per_day)
        if in_lists:
            windows = [(date(2026, 1, 1) + timedelta(days=3 * k), date(2026, 1, 7) + timedelta(days=3 * k))
                       for k in days]
            batches = [rng.sample(paper_store(app).window(*w)[0], per_day) for w in windows]
        else:
            papers, _ = paper_store(app).window(date(2026, 1, 1), date(2026, 6, 30))
            chosen = [papers[i] for i in sorted(rng.sample(range(len(papers)), ratings))]
            windows = [None for _ in days]
            batches = [chosen[k * per_day:(k + 1) * per_day] for k in days]
        for k, (window, batch) in enumerate(zip(windows, batches, strict=True)):
            at = start + timedelta(days=k)
            for kind, group in (("like", [p.id for p in batch if "cs.CL" in p.categories]),
                                ("dislike", [p.id for p in batch if "cs.CL" not in p.categories])):
                if group:
                    store.add_feedback(name, group, kind, at=at, window=window)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        graded = app.evaluate(name)
        times.append(1000 * (time.perf_counter() - t0))
    assert graded.needed is None, graded.needed
    return {"first_ms": times[0], "warm_ms": statistics.median(times[1:]),
            "window_papers": float(len(graded.days)), "since": "", "until": ""}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,50000")
    parser.add_argument("--eval-only", action="store_true",
                        help="only time `papercast eval` with 500 ratings")
    args = parser.parse_args()
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        app = build_store(size)
        rows.append({"store": size, "window": "eval, 500 ratings on 50 days (papers = days graded)",
                     **time_eval(app)})
        rows.append({"store": size, "window": "eval, the same from 50 week-long lists (their dates kept)",
                     **time_eval(app, in_lists=True)})
        if args.eval_only:
            continue
        if not profile_store(app).exists("bench"):
            app.profile_create("bench", interests=INTERESTS, use=True)
            liked = [h.paper.id for h in app.search("parameter-efficient fine-tuning of language models", 5)]
            app.feedback(liked, "like", profile="bench")
        # Warm the process: the embedding model loads once per process (~0.3 s) for the interests.
        from papercast.tools.ranking.score import embed_texts, interest_phrases

        embed_texts(paper_store(app), [INTERESTS, *interest_phrases(INTERESTS)])
        for label, since, until in (("week (default window)", None, None),
                                    ("6 months", date(2026, 1, 1), date(2026, 6, 30))):
            stats = time_recommend(app, since, until)
            rows.append({"store": size, "window": label, **stats})
        # Whole processes, next to the floor the issue measures against (chromadb and numpy imported),
        # alternated so that a busy moment of the machine hits both alike; medians of 3.
        commands = {
            "process: python -c 'import chromadb, numpy'": [sys.executable, "-c", "import chromadb, numpy"],
            "process: recommend --json (week)": [sys.executable, "-m", "papercast", "--home",
                                                 str(app.settings.home), "recommend", "--json", "--no-llm"],
            "process: recommend --json (6 months)": [sys.executable, "-m", "papercast", "--home",
                                                      str(app.settings.home), "recommend", "--json",
                                                      "--no-llm", "--since", "2026-01-01",
                                                      "--until", "2026-06-30"],
        }
        times: dict[str, list[float]] = {label: [] for label in commands}
        for _ in range(3):
            for label, command in commands.items():
                started = time.perf_counter()
                proc = subprocess.run(command, capture_output=True, text=True)
                times[label].append(1000 * (time.perf_counter() - started))
                assert proc.returncode == 0, proc.stderr
        floor = statistics.median(times[next(iter(commands))])
        for label in commands:
            ms = statistics.median(times[label])
            rows.append({"store": size, "window": f"{label} = {ms / floor:.2f}x", "first_ms": ms,
                         "warm_ms": float("nan"), "window_papers": float("nan")})

    print(f"\n{'store':>6}  {'window':<56} {'papers':>7} {'first ms':>9} {'warm ms':>8}")
    for r in rows:
        print(f"{r['store']:>6}  {r['window']:<56} {r['window_papers']:>7.0f} {r['first_ms']:>9.0f} "
              f"{r['warm_ms']:>8.0f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "recommend_speed.json").write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
