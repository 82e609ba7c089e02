"""Ingest benchmark: import N corpus papers end to end and compare with the raw embedder.

First parses the whole corpus with papercast's importer (every line must parse: exit 1 if one does
not; the test suite does not read it). Then prints papers/s of `import_files` (parse + embed +
Chroma writes), the raw embedder's docs/s on the same texts in the same run, their ratio (goal >=
0.85), peak RSS (goal <= 1 GB), the store's size on disk, and the re-import time (goal: >= 50x faster
than the first import).

    .venv/bin/python bench/ingest.py [--n 1000]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="papers to import (default 1000)")
    args = parser.parse_args()

    from corpus_cache import CORPUS

    from papercast.config import load_settings
    from papercast.models import Paper
    from papercast.service import Papercast
    from papercast.store.embeddings import get_embedder
    from papercast.tools.sources.files import parse_file

    started = time.perf_counter()
    whole = parse_file(CORPUS)
    print(f"whole corpus parsed    {len(whole.papers)} papers, {len(whole.errors)} bad lines "
          f"({time.perf_counter() - started:.1f} s)")
    with gzip.open(CORPUS, "rt", encoding="utf-8") as fh:
        lines = sum(1 for line in fh if line.strip())
    # unknown fields stay
    kept_extra = bool(whole.papers) and getattr(whole.papers[0], "source", None) is not None
    if whole.errors or whole.kind != "jsonl" or len(whole.papers) != lines or not kept_extra:
        print(f"the corpus did not parse cleanly: {len(whole.papers)} of {lines} lines, errors "
              f"{whole.errors[:3]}, extra fields kept: {kept_extra}", file=sys.stderr)
        return 1

    with gzip.open(CORPUS, "rt", encoding="utf-8") as fh:
        rows = [line for _, line in zip(range(args.n), fh, strict=False)]
    texts = [Paper.model_validate(json.loads(r)).embedding_text for r in rows]

    with tempfile.TemporaryDirectory(prefix="papercast-bench-") as tmp:
        source = Path(tmp) / "papers.jsonl"
        source.write_text("".join(rows), encoding="utf-8")
        embedder = get_embedder()
        embedder.embed(texts[:8])  # load the session before timing either side

        started = time.perf_counter()
        embedder.embed(texts)
        raw_s = time.perf_counter() - started

        app = Papercast(load_settings(home=Path(tmp) / "home"))
        app.count()  # open Chroma before timing: its import is start-up, not ingest
        started = time.perf_counter()
        report = app.import_files([source])
        import_s = time.perf_counter() - started
        assert report.result is not None and report.result.embedded == len(rows), report

        started = time.perf_counter()
        again = app.import_files([source])
        reimport_s = time.perf_counter() - started
        assert again.result is not None and again.result.embedded == 0

        size = dir_size(app.settings.chroma_path)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    n = len(rows)
    raw_rate, import_rate = n / raw_s, n / import_s
    print(f"papers                 {n}")
    print(f"raw embedder           {raw_rate:8.1f} docs/s   ({raw_s:.1f} s)")
    print(f"import end to end      {import_rate:8.1f} papers/s ({import_s:.1f} s)")
    print(f"ratio import/raw       {import_rate / raw_rate:8.2f}   (goal >= 0.85)")
    print(f"re-import              {reimport_s:8.2f} s   {import_s / reimport_s:.0f}x faster (goal >= 50x)")
    print(f"peak RSS               {peak_mb:8.0f} MB  (goal <= 1024)")
    print(f"store size on disk     {size / 1e6:8.1f} MB  ({size / n / 1024:.1f} KB/paper)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
