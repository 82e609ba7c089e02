"""Ingest benchmark: import N corpus papers end to end and compare with the raw embedder.

First parses the whole corpus with papercast's importer (every line must parse: exit 1 if one does
not; the test suite does not read it). Then, for ``--rounds`` rounds in a rotating order, each in its
own process (so each has its own peak RSS): the raw embedder on the N texts, ``import_files`` (the
streamed import: the model on its own thread, Chroma and the ranking cache written behind it) and
the serial write it replaced (parse everything, then ``PaperStore.upsert``: embed a chunk, write
it, embed the next). Prints medians of papers/s, of the ratios to the raw embedder in the same
round (goal >= 0.95), peak RSS, the store's size and the re-import time (goal >= 50x faster).

``--scale 5000,300000`` instead imports synthetic JSONL of that many lines (corpus rows under new
ids), each in its own process, with a hash standing in for the model (its memory is one batch's
whatever the file size): peak RSS, time, and the size of Chroma's vector index: its HNSW files, and
what a fresh process holds once it opened the store (Chroma keeps the index in memory, with more).

    .venv/bin/python bench/ingest.py [--n 1000] [--rounds 3]
    .venv/bin/python bench/ingest.py --scale 5000,300000
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def index_size(chroma: Path) -> int:
    """Chroma's HNSW vector index: the files in its segment folders (the SQLite file is the rest)."""
    return sum(f.stat().st_size for d in chroma.iterdir() if d.is_dir() for f in d.rglob("*") if f.is_file())


LOADED = """
import sys, chromadb
def anon():
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("RssAnon"))
client = chromadb.PersistentClient(path=sys.argv[1])
before = anon()
for collection in client.list_collections():
    collection.count()  # opens its segments: the HNSW index is read into memory
print((anon() - before) / 1024)
"""


def loaded_index_mb(chroma: Path) -> float:
    """What Chroma holds in memory for the store it wrote: the anonymous memory a fresh process gains
    by opening its collections (the index files are ~0.8 of it: its id maps, hnswlib's locks)."""
    done = subprocess.run([sys.executable, "-c", LOADED, str(chroma)], capture_output=True, text=True,
                          check=False)
    return float(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else float("nan")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def hash_embed(texts: Any) -> Any:
    """Unit vectors from each text's hash: the model's shape at none of its cost (``--scale``)."""
    import numpy as np

    seeds = [int.from_bytes(hashlib.sha256(t.encode()).digest()[:4], "little") for t in texts]
    rows = np.stack([np.random.default_rng(s).standard_normal(384) for s in seeds]).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def child(kind: str, source: Path, home: Path) -> dict[str, float]:
    """One measurement in this process: ``raw``, ``stream``, ``serial`` or ``scale``; the C heap set
    up as ``papercast`` sets it up (``heap.limit_arenas``, before any thread), on every side."""
    from papercast import heap

    heap.limit_arenas()
    from papercast.config import load_settings
    from papercast.service import Papercast
    from papercast.store.embeddings import get_embedder
    from papercast.tools.sources.files import parse_file

    out: dict[str, float] = {}
    if kind == "raw":
        texts = [p.embedding_text for p in parse_file(source).papers]
        embedder = get_embedder()
        embedder.embed(texts[:8])  # load the session before timing
        started = time.perf_counter()
        embedder.embed(texts)
        out["seconds"] = time.perf_counter() - started
    else:
        app = Papercast(load_settings(home=home), embed=hash_embed if kind == "scale" else None)
        app.count()  # open Chroma before timing: its import is start-up, not ingest
        if kind != "scale":
            get_embedder().embed(["warm up"])  # as the raw side: the session is loaded before timing
        started = time.perf_counter()
        if kind == "serial":
            papers = parse_file(source).papers
            app.store_papers(papers)
        elif kind == "scale":
            app.import_files([source], progress=milestones(app.settings.chroma_path, started))
        else:
            app.import_files([source])
        out["seconds"] = time.perf_counter() - started
        if kind == "stream":
            started = time.perf_counter()
            again = app.import_files([source])
            out["reimport"] = time.perf_counter() - started
            assert again.result is not None and again.result.embedded == 0
        out["count"] = app.count()
        out["store_mb"] = dir_size(app.settings.chroma_path) / 1e6
        out["index_mb"] = index_size(app.settings.chroma_path) / 1e6
    out["peak_mb"] = peak_mb()
    return out


def milestones(chroma: Path, started: float) -> Any:
    """A progress callback printing (stderr) peak RSS and index size at every 25,000 papers."""
    step = [25_000]

    def report(done: int, total: int) -> None:
        if done >= step[0]:
            step[0] += 25_000
            seconds = time.perf_counter() - started
            print(f"  at {done:>7} papers  {seconds:7.1f} s  peak RSS {peak_mb():6.0f} MB  "
                  f"Chroma index {index_size(chroma) / 1e6:7.1f} MB", file=sys.stderr, flush=True)

    return report


def spawn(kind: str, source: Path, home: Path) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", kind, "--source", str(source), "--home", str(home)]
    if kind == "scale":  # its milestones as they come (a 300k import takes long on a busy machine)
        done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    else:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{kind} failed: {(done.stderr or '')[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def check_corpus(corpus: Path) -> bool:
    from papercast.tools.sources.files import parse_file

    started = time.perf_counter()
    whole = parse_file(corpus)
    print(f"whole corpus parsed    {len(whole.papers)} papers, {len(whole.errors)} bad lines "
          f"({time.perf_counter() - started:.1f} s)")
    with gzip.open(corpus, "rt", encoding="utf-8") as fh:
        lines = sum(1 for line in fh if line.strip())
    kept_extra = bool(whole.papers) and getattr(whole.papers[0], "source", None) is not None
    if whole.errors or whole.kind != "jsonl" or len(whole.papers) != lines or not kept_extra:
        print(f"the corpus did not parse cleanly: {len(whole.papers)} of {lines} lines, errors "
              f"{whole.errors[:3]}, extra fields kept: {kept_extra}", file=sys.stderr)
        return False
    return True


def throughput(corpus: Path, n: int, rounds: int, tmp: Path) -> None:
    with gzip.open(corpus, "rt", encoding="utf-8") as fh:
        rows = [line for _, line in zip(range(n), fh, strict=False)]
    source = tmp / "papers.jsonl"
    source.write_text("".join(rows), encoding="utf-8")
    runs: dict[str, list[dict[str, float]]] = {"raw": [], "stream": [], "serial": []}
    order = list(runs)
    for r in range(rounds):
        for kind in order[r % 3:] + order[:r % 3]:  # rotate: no side always runs first
            runs[kind].append(spawn(kind, source, tmp / f"home-{kind}-{r}"))
            print(f"  round {r + 1} {kind:6} {n / runs[kind][-1]['seconds']:7.1f} papers/s  "
                  f"peak {runs[kind][-1]['peak_mb']:5.0f} MB", flush=True)
    rate = {k: [n / m["seconds"] for m in v] for k, v in runs.items()}
    print(f"papers                 {n}, {rounds} rounds, medians")
    for kind in runs:
        print(f"{kind:22} {statistics.median(rate[kind]):8.1f} /s   peak RSS "
              f"{statistics.median(m['peak_mb'] for m in runs[kind]):6.0f} MB")
    for kind in ("stream", "serial"):
        ratios = [s / r for s, r in zip(rate[kind], rate["raw"], strict=True)]
        print(f"ratio {kind}/raw{'':9} {statistics.median(ratios):8.2f}   (per round: "
              f"{', '.join(f'{x:.2f}' for x in ratios)}; goal for stream >= 0.95)")
    stream = runs["stream"][-1]
    print(f"re-import              {statistics.median(m['reimport'] for m in runs['stream']):8.2f} s   "
          f"{statistics.median(m['seconds'] / m['reimport'] for m in runs['stream']):.0f}x faster "
          "(goal >= 50x)")
    per_paper = stream["store_mb"] * 1e3 / n
    print(f"store size on disk     {stream['store_mb']:8.1f} MB  ({per_paper:.1f} KB/paper)")


def scale(corpus: Path, sizes: list[int], tmp: Path) -> None:
    with gzip.open(corpus, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    for size in sizes:
        source = tmp / f"synthetic-{size}.jsonl"
        with source.open("w", encoding="utf-8") as out:
            for i in range(size):
                month = i // 99999
                paper_id = f"{20 + month // 12:02d}{month % 12 + 1:02d}.{i % 99999 + 1:05d}"
                row = {**rows[i % len(rows)], "id": paper_id}
                out.write(json.dumps(row) + "\n")
        got = spawn("scale", source, tmp / f"home-scale-{size}")
        loaded = loaded_index_mb(tmp / f"home-scale-{size}" / "chroma")
        print(f"{size:>7} lines  {got['seconds']:7.1f} s  peak RSS {got['peak_mb']:6.0f} MB  "
              f"Chroma index {got['index_mb']:7.1f} MB (in memory {loaded:6.1f} MB)  "
              f"store {got['store_mb']:7.1f} MB  ({int(got['count'])} papers)", flush=True)
        source.unlink()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="papers to import (default 1000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the three sides (default 3)")
    parser.add_argument("--scale", help="comma-separated line counts: peak memory by file size")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--source", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.source, args.home)))
        return 0

    from corpus_cache import CORPUS

    with tempfile.TemporaryDirectory(prefix="papercast-bench-") as tmp:
        if args.scale:
            scale(CORPUS, [int(s) for s in args.scale.split(",")], Path(tmp))
            return 0
        if not check_corpus(CORPUS):
            return 1
        throughput(CORPUS, args.n, args.rounds, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
