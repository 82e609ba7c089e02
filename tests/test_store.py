"""The Chroma paper store, on an embedded store and on a real ``chroma run`` server.

Embeddings come from the real bundled model; a counting wrapper tells how many texts reached it.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from papercast.models import Paper
from papercast.store.chroma_access import make_client
from papercast.store.papers import PaperStore
from papercast.store.recent import RecentById

from helpers import CORPUS_SLICE, REPO, CountingEmbed

BOTH = pytest.mark.parametrize("chroma_mode", ["embedded", "server"], indirect=True)


def corpus_papers(n: int, start: int = 9000) -> list[Paper]:
    """``n`` real recent papers of the shared corpus (rows 9000 on, kept in ``tests/fixtures``)."""
    with gzip.open(CORPUS_SLICE, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    return [Paper.model_validate(r) for r in rows[start - 9000:start - 9000 + n]]


@BOTH
def test_upsert_is_idempotent_and_never_embeds_twice(settings) -> None:
    counter = CountingEmbed()
    store = PaperStore(settings, embed=counter)
    papers = corpus_papers(12)
    first = store.upsert(papers)
    assert (first.added, first.embedded) == (12, 12)
    assert len(counter.texts) == 12

    again = store.upsert(papers)
    assert (again.added, again.unchanged, again.embedded) == (0, 12, 0)
    assert len(counter.texts) == 12, "re-import must not call the model"
    assert store.count() == 12

    # New upvotes refresh the metadata without re-embedding; a changed abstract re-embeds.
    bumped = papers[0].model_copy(update={"upvotes": 999})
    edited = papers[1].model_copy(update={"abstract": papers[1].abstract + " Revised."})
    third = store.upsert([bumped, edited])
    assert (third.updated, third.reembedded) == (1, 1)
    assert len(counter.texts) == 13
    assert store.get(papers[0].id).upvotes == 999
    assert store.get(papers[1].id).abstract.endswith("Revised.")


def test_a_store_with_more_metadata_keys_counts_a_reimport_as_unchanged(settings) -> None:
    """Stores written before the metadata was slimmed carry copies of fields (title, authors, ...):
    a re-import must still find them unchanged, not rewrite every paper."""
    store = PaperStore(settings, embed=CountingEmbed())
    papers = corpus_papers(4)
    store.upsert(papers)
    got = store.collection.get(ids=[p.id for p in papers], include=["metadatas"])
    fat = [{**meta, "title": "a copy", "upvotes": -1} for meta in got["metadatas"]]
    store.collection.update(ids=got["ids"], metadatas=fat)
    again = store.upsert(papers)
    assert (again.unchanged, again.updated, again.embedded) == (4, 0, 0)
    assert [p.title for p in store.get_many([p.id for p in papers])] == [p.title for p in papers]


@BOTH
def test_ids_are_normalized_and_versions_collapse(settings) -> None:
    store = PaperStore(settings, embed=CountingEmbed())
    base = corpus_papers(1)[0]
    versions = [base.model_copy(update={"id": f"{base.id}v{i}"}) for i in (1, 2)]
    store.upsert([Paper.model_validate(v.model_dump()) for v in versions])
    assert store.count() == 1
    assert store.get(f"arXiv:{base.id}v3").id == base.id
    assert store.missing([base.id, "2001.00001"]) == ["2001.00001"]


@BOTH
def test_window_filters_and_search(settings) -> None:
    store = PaperStore(settings, embed=CountingEmbed())
    papers = corpus_papers(10)
    days = [date(2026, 3, d) for d in range(1, 11)]
    papers = [p.model_copy(update={"published": d, "categories": ["cs.CL"] if i % 2 else ["cs.CV"]})
              for i, (p, d) in enumerate(zip(papers, days, strict=True))]
    store.upsert(papers)
    inside, matrix = store.window(date(2026, 3, 3), date(2026, 3, 5), with_embeddings=True)
    assert sorted(p.published.day for p in inside) == [3, 4, 5]
    assert matrix.shape == (3, 384)
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-3)
    assert [p.published.day for p in store.latest(3)] == [10, 9, 8]
    assert all("cs.CL" in p.categories for p in store.latest(10, category="cs.CL"))
    assert store.newest_date_by_scan() == date(2026, 3, 10)
    assert store.newest_date_by_scan(date(2026, 3, 4)) == date(2026, 3, 4)
    # A paper's own title finds it first.
    hits = store.search(papers[6].title, 3)
    assert hits[0][0].id == papers[6].id
    assert hits[0][1] > 0.5
    assert all(p.published.day >= 8 for p, _ in store.search(papers[2].title, 5, since=date(2026, 3, 8)))
    assert papers[3].id not in [p.id for p, _ in store.similar(papers[3].id, 3)]


def test_unknown_fields_survive_a_round_trip(settings) -> None:
    store = PaperStore(settings, embed=CountingEmbed())
    paper = Paper.model_validate({**corpus_papers(1)[0].model_dump(), "hf": {"numComments": 3}})
    store.upsert([paper])
    assert store.get(paper.id).model_dump()["hf"] == {"numComments": 3}


def _run(code: str, home: Path, *, wait: bool = True) -> subprocess.Popen | subprocess.CompletedProcess:
    env = {**os.environ, "PAPERCAST_HOME": str(home)}
    args = [sys.executable, "-c", textwrap.dedent(code)]
    if wait:
        return subprocess.run(args, env=env, capture_output=True, text=True, timeout=120, cwd=REPO)
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=REPO)


IMPORT_SCRIPT = """
    import json, sys
    from papercast.config import load_settings
    from papercast.models import Paper
    from papercast.store.papers import PaperStore
    papers = [Paper.model_validate(json.loads(l))
              for l in open(sys.argv[1] if len(sys.argv) > 1 else {path!r})]
    store = PaperStore(load_settings(), write_chunk=4)
    def progress(done, total):
        print("progress", done, total, flush=True)
    result = store.upsert(papers, progress=progress)
    print("result", result.added, result.embedded, store.count(), flush=True)
"""


def test_reopen_in_new_process_and_survive_kill_mid_import(tmp_path: Path) -> None:
    """kill -9 in the middle of an import leaves a store that opens; a re-run completes it."""
    home = tmp_path / "home"
    papers = corpus_papers(40)
    source = tmp_path / "papers.jsonl"
    source.write_text("".join(p.model_dump_json() + "\n" for p in papers))
    proc = _run(IMPORT_SCRIPT.format(path=str(source)), home, wait=False)
    assert proc.stdout is not None
    deadline = time.monotonic() + 90
    for line in proc.stdout:
        if line.startswith("progress") and int(line.split()[1]) >= 12:
            break
        assert time.monotonic() < deadline
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    done = _run(IMPORT_SCRIPT.format(path=str(source)), home)
    assert done.returncode == 0, done.stderr
    added, embedded, count = map(int, done.stdout.strip().splitlines()[-1].split()[1:])
    assert count == 40
    assert 0 < added == embedded < 40, "the re-run must embed only what the killed run did not store"

    check = _run("""
        from papercast.config import load_settings
        from papercast.store.papers import PaperStore
        store = PaperStore(load_settings())
        got = store.collection.get(include=[])
        print(len(got["ids"]), len(set(got["ids"])))
    """, home)
    assert check.returncode == 0, check.stderr
    assert check.stdout.split() == ["40", "40"]


@BOTH
def test_reads_by_id_are_remembered_but_never_outlive_a_write(settings) -> None:
    """Papers and vectors read by id are remembered per process (the ranker reads the liked ones
    again after every like), but a write through any store object, a deletion and a collection
    made again are never answered from memory."""
    papers = corpus_papers(3)
    store = PaperStore(settings, embed=CountingEmbed())
    store.upsert(papers)
    a, b, c = (p.id for p in papers)
    store.window(None, None, with_embeddings=True)  # a window read warms the caches too
    before = store.get(a)
    assert before is not None
    vector = store.embeddings([b])[b]
    assert not vector.flags.writeable, "shared with later callers, so read-only"

    other = PaperStore(settings, embed=CountingEmbed())  # another service in this process
    other.upsert([papers[0].model_copy(update={"upvotes": (before.upvotes or 0) + 100})])
    assert store.get(a).upvotes == (before.upvotes or 0) + 100
    other.upsert([papers[1].model_copy(update={"title": papers[1].title + " (revised)"})])
    assert not np.allclose(store.embeddings([b])[b], vector), "re-embedded: the new vector"
    other.delete([c])
    assert store.get(c) is None and store.missing([c]) == [c] and store.embeddings([c]) == {}

    make_client(settings).delete_collection(store.collection_name)  # e.g. a reset Chroma server
    again = PaperStore(settings, embed=CountingEmbed())
    assert again.get(a) is None and again.embeddings([a]) == {}


def test_a_read_that_started_before_a_write_is_not_remembered() -> None:
    cache = RecentById(ttl=60.0)
    version = cache.version()
    cache.forget("store", ["x"])  # a write lands while the read is on its way
    cache.put("store", {"x": "old"}, version)
    assert cache.get("store", ["x"]) == {}
    cache.put("store", {"x": "new"}, cache.version())
    assert cache.get("store", ["x"]) == {"x": "new"} and cache.get("elsewhere", ["x"]) == {}
    expired = RecentById(ttl=0.0)
    expired.put("store", {"x": "new"}, expired.version())
    assert expired.get("store", ["x"]) == {}, "other processes' writes show after the TTL"
