"""Build the sample dataset that ships inside the package (papercast/data/).

Picks recent real papers from the shared corpus: every Hugging Face Daily Papers entry of
2026-08 (with upvotes) plus every arXiv-listing paper since 2026-07-01 (a spread of astro-ph,
math and cs categories), and precomputes their embeddings with the bundled model so the
first start needs no embedding work. Run: .venv/bin/python scripts/make_sample.py
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "data" / "papers.jsonl.gz"
OUT = ROOT / "papercast" / "data"


def main() -> int:
    from papercast.models import Paper
    from papercast.store.embeddings import get_embedder

    with gzip.open(CORPUS, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    picked = [r for r in rows if (r["upvotes"] is not None and r["published"] >= "2026-08-01")
              or (r["upvotes"] is None and r["published"] >= "2026-07-01")]
    picked.sort(key=lambda r: r["id"])
    texts = [Paper.model_validate(r).embedding_text for r in picked]
    vectors = get_embedder().embed(texts)
    OUT.mkdir(parents=True, exist_ok=True)
    with gzip.open(OUT / "sample.jsonl.gz", "wt", encoding="utf-8") as fh:
        for r in picked:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    np.savez_compressed(OUT / "sample_embeddings.npz",
                        ids=np.array([Paper.model_validate(r).id for r in picked]),
                        vectors=vectors.astype(np.float16))
    print(f"{len(picked)} papers -> {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
