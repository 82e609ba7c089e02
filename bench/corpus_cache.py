"""Embeddings of the whole shared corpus, computed once and cached for the benchmarks.

Embedding 16k abstracts takes ~18 minutes on two cores; the benchmarks measure ranking and
store costs, so they load these vectors through the store's real ``upsert(..., embeddings=)``
path instead of paying the model again on every run. ``bench/ingest.py`` measures the model.
Run directly to build the cache: .venv/bin/python bench/corpus_cache.py (BENCH_CORPUS=FILE for another
copy of papers.jsonl.gz than ../shared/data/).
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# The shared corpus next to this checkout, or wherever BENCH_CORPUS points (the benchmarks only: the tests
# never read it).
CORPUS = Path(os.environ.get("BENCH_CORPUS") or ROOT.parent / "shared" / "data" / "papers.jsonl.gz")
CACHE = ROOT / "bench" / ".cache" / "corpus_embeddings.npz"


def corpus_rows() -> list[dict]:
    with gzip.open(CORPUS, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def corpus_embeddings() -> dict[str, np.ndarray]:
    """id -> float32 vector for every corpus paper (computed and cached on first call)."""
    from papercast.models import Paper
    from papercast.store.embeddings import get_embedder

    if CACHE.exists():
        with np.load(CACHE) as data:
            return dict(zip(data["ids"].tolist(), data["vectors"].astype(np.float32), strict=True))
    papers = [Paper.model_validate(r) for r in corpus_rows()]
    started = time.perf_counter()
    last = [0.0]

    def report(done: int) -> None:
        now = time.perf_counter()
        if now - last[0] > 10:
            last[0] = now
            rate = done / (now - started)
            print(f"embedded {done}/{len(papers)} ({rate:.1f}/s)", file=sys.stderr)

    vectors = get_embedder().embed([p.embedding_text for p in papers], progress=report)
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    np.savez(CACHE, ids=np.array([p.id for p in papers]), vectors=vectors.astype(np.float16))
    return dict(zip([p.id for p in papers], vectors, strict=True))


if __name__ == "__main__":
    vectors = corpus_embeddings()
    print(f"{len(vectors)} corpus embeddings in {CACHE}")
