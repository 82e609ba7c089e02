"""What the hygiene and concurrency guards cost: printed numbers, never asserted.

* ``Paper`` validation per paper with and without the ingestion cleaning (``clean_record``), on the
  bundled sample's 452 papers as stored (the fast path every store read takes) and with a control
  character planted in each (the slow path an import of hostile data takes);
* one ``GuardedCollection`` call against the raw Chroma call (the generation check per call);
* taking and giving back the home's lock (uncontended);
* opening a read-only home's store (the private copy) against opening it in place.

    .venv/bin/python bench/hygiene.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from service_parts import paper_store

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def per_item(fn, items, repeat: int) -> float:
    """Median microseconds per item over ``repeat`` passes."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        for item in items:
            fn(item)
        times.append((time.perf_counter() - started) / len(items) * 1e6)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    import papercast.models as models
    from papercast.models import Paper

    with gzip.open(ROOT / "papercast" / "data" / "sample.jsonl.gz", "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    stored = [Paper.model_validate(r).model_dump_json(exclude_none=True) for r in rows]
    hostile = [json.dumps({**r, "title": r["title"] + "\x1b[2J"}) for r in rows]

    clean = per_item(Paper.model_validate_json, stored, args.repeat)
    dirty = per_item(Paper.model_validate_json, hostile, args.repeat)
    original = models.clean_record
    models.clean_record = lambda data, known: (data, [])
    try:
        bare = per_item(Paper.model_validate_json, stored, args.repeat)
    finally:
        models.clean_record = original
    print(f"Paper validation, stored papers:        {clean:7.1f} us/paper (without cleaning {bare:.1f}, "
          f"+{clean - bare:.1f} us = +{(clean / bare - 1) * 100:.0f}%)")
    print(f"Paper validation, a control char each:  {dirty:7.1f} us/paper")

    from papercast.config import load_settings
    from papercast.service import Papercast
    from papercast.store.lock import home_lock

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        service = Papercast(load_settings(home=home))
        service.ensure_sample()
        store = paper_store(service)
        ids = [p["id"] for p in rows[:50]]
        guarded = per_item(lambda pid: store.collection.get(ids=[pid], include=["metadatas"]), ids,
                           args.repeat)
        raw = per_item(lambda pid: store.collection.raw.get(ids=[pid], include=["metadatas"]), ids,
                       args.repeat)
        print(f"Chroma get by id: guarded {guarded:7.1f} us, raw {raw:.1f} us (+{guarded - raw:.1f} us per "
              "call)")
        def take(_: int) -> None:
            with home_lock(home):
                pass

        locked = per_item(take, range(200), args.repeat)
        print(f"home lock, take and give back:          {locked:7.1f} us")

        started = time.perf_counter()
        from papercast.store.chroma_access import readable_copy

        readable_copy(home / "chroma")
        copy_s = time.perf_counter() - started
        size = sum(f.stat().st_size for f in (home / "chroma").rglob("*") if f.is_file())
        print(f"read-only home: private copy of the {len(rows)}-paper store ({size / 1e6:.1f} MB) in "
              f"{copy_s:.2f} s")


if __name__ == "__main__":
    main()
