"""`papercast papers search` latency, a baseline tree against this one, side by side (issue 24).

Each run is a fresh process, as a user's command is: the whole command's wall time, and inside the
process the time of the search alone (``Papercast.search``, the store already open). The baseline
and this tree run interleaved, query by query, so a busy machine slows both alike; medians printed.

Run: .venv/bin/python bench/search_speed.py --baseline DIR [--homes H ...] [--runs 3]
  DIR holds the baseline's ``papercast`` package (e.g. ``git archive main papercast | tar -x -C DIR``);
  the homes default to the 10k and 50k stores of ``bench/tui.py`` and ``bench/recommend_speed.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE_DIR = ROOT / "bench" / ".cache"
QUERIES = ("direct preference optimization DPO", "test-time scaling for LLMs", "reward model",
           "KV cache compression", "low-rank adaptation methods", "Robotics")
_TIMED = """
import json, sys, time
from papercast.config import load_settings
from papercast.service import Papercast
app = Papercast(load_settings(home=sys.argv[1]))
started = time.perf_counter()
hits = app.search(sys.argv[2], 10)
print(json.dumps({"search_s": time.perf_counter() - started, "ids": [h.paper.id for h in hits]}))
"""


def one(tree: Path, home: Path, query: str, cli: bool) -> float:
    """Seconds of one fresh process: the whole CLI command, or the search inside the process."""
    env = {**os.environ, "PYTHONPATH": str(tree), "PAPERCAST_MODEL": ""}
    if cli:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "papercast", "--home", str(home), "-q", "papers", "search",
                        query, "-n", "10", "--json"], env=env, check=True, capture_output=True)
        return time.perf_counter() - started
    out = subprocess.run([sys.executable, "-c", _TIMED, str(home), query], env=env, check=True,
                         capture_output=True, text=True).stdout
    return float(json.loads(out.strip().splitlines()[-1])["search_s"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True,
                        help="a directory holding the baseline's papercast/")
    parser.add_argument("--homes", type=Path, nargs="+",
                        default=[CACHE_DIR / "tui-10k", CACHE_DIR / "speed-50k"])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    trees = {"baseline": args.baseline.resolve(), "this tree": ROOT}
    scratch = Path(tempfile.mkdtemp(prefix="search-speed-"))
    for source in args.homes:
        # Each tree searches its own copy: a newer tree may migrate the home's schema, which an older
        # tree then refuses (and the cached stores stay as they were).
        homes = {name: scratch / f"{source.name}-{i}" for i, name in enumerate(trees)}
        for copy in homes.values():
            shutil.copytree(source, copy)
        for name, tree in trees.items():  # a first search per tree and home: the caches as a user finds them
            one(tree, homes[name], QUERIES[0], cli=False)
        times: dict[tuple[str, bool], list[float]] = {(name, cli): []
                                                      for name in trees for cli in (False, True)}
        for _ in range(args.runs):
            for query in QUERIES:
                for cli in (False, True):
                    for name, tree in trees.items():
                        times[(name, cli)].append(one(tree, homes[name], query, cli))
        print(f"{source.name}: {len(QUERIES)} queries x {args.runs} runs, median seconds")
        for name in trees:
            print(f"  {name:<10} search {statistics.median(times[(name, False)]):.3f}   "
                  f"whole command {statistics.median(times[(name, True)]):.3f}")
        for copy in homes.values():
            shutil.rmtree(copy, ignore_errors=True)
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
