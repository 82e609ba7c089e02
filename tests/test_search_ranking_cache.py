"""The persistent ranking cache (store/ranking_cache.py): what ranking and search read instead of Chroma.

On a copy of the bundled sample (real Chroma, shipped vectors): the cache must hold exactly what the
store holds after every kind of write, rank exactly as Chroma does, notice writes it did not see,
and spare a CLI run the Chroma import.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date

import numpy as np
import pytest

from papercast.models import Paper
from papercast.store import ranking_cache
from papercast.tools.ranking import window as windows
from papercast.tools.ranking.lexical import term_counts
from papercast.tools.ranking.pool import LibraryChanged

from helpers import FIXTURES, PAPER, paper_store

ALL = (date(2026, 1, 1), date(2026, 12, 31))


@pytest.fixture(autouse=True)
def no_process_windows(monkeypatch):
    """Every test reads windows afresh (the per-process window cache would hide the store)."""
    monkeypatch.setattr(windows, "_CACHE", type(windows._CACHE)())


def chroma_only(store, monkeypatch):
    monkeypatch.setattr(type(store), "ranking_cache", property(lambda self: None))


def test_the_cache_holds_what_the_store_holds(service):
    store = paper_store(service)
    cache = store.fresh_ranking_cache()
    assert cache is not None, "loading the sample through the store filled the cache"
    metas, matrix = store.window_records(*ALL, with_embeddings=True)
    cols = cache.window(*ALL, 384)
    assert sorted(cols.ids) == sorted(m["paper"] and Paper.model_validate_json(m["paper"]).id for m in metas)
    order = {pid: i for i, pid in enumerate(cols.ids)}
    for meta, vector in zip(metas[:40], matrix[:40], strict=True):
        paper = Paper.model_validate_json(meta["paper"])
        i = order[paper.id]
        assert np.array_equal(cols.matrix[i], vector)
        terms, counts, length = term_counts(paper.embedding_text)
        ids = cache.term_ids(terms)
        got = cols.terms[cols.offsets[i]:cols.offsets[i + 1]].tolist()
        assert got == [ids[t] for t in terms] and cols.lengths[i] == length
        assert cols.counts[cols.offsets[i]:cols.offsets[i + 1]].tolist() == counts
        assert date.fromordinal(int(cols.day_numbers[i])) == paper.published
    assert cache.count() == len(metas) == store.collection.count()
    assert cache.newest_date() == store.newest_date_by_scan() == date(2026, 8, 20)


def test_ranking_from_the_cache_equals_ranking_from_chroma(service, monkeypatch):
    service.profile_create("llm", interests="efficient fine-tuning of LLMs, long-context modelling",
                           keywords=["KV cache"])
    liked = [h.paper.id for h in service.search("speculative decoding", 3)]
    service.feedback(liked, "like", profile="llm")
    cached = service.recommend(profile="llm", n=30, since=ALL[0], until=ALL[1], use_llm=False).items
    hits = service.search('"kv cache" compression', 10)
    chroma_only(paper_store(service), monkeypatch)
    monkeypatch.setattr(windows, "_CACHE", type(windows._CACHE)())
    direct = service.recommend(profile="llm", n=30, since=ALL[0], until=ALL[1], use_llm=False).items
    assert [r.paper.id for r in cached] == [r.paper.id for r in direct]
    assert np.allclose([r.score for r in cached], [r.score for r in direct], atol=1e-5)
    assert [r.reasons for r in cached] == [r.reasons for r in direct]
    assert [h.paper.id for h in service.search('"kv cache" compression', 10)] == [h.paper.id for h in hits]


def test_every_write_through_the_store_keeps_the_cache_fresh(service):
    store = paper_store(service)
    new = Paper(id="2609.00001", title="Gravitational lensing of KV caches",
                abstract="A new abstract about lensing.", published=date(2026, 9, 1), upvotes=3)
    store.upsert([new])
    cache = store.fresh_ranking_cache()
    assert cache is not None and cache.count() == store.collection.count()
    assert cache.newest_date() == date(2026, 9, 1)
    assert "2609.00001" in windows.load_window(store, date(2026, 9, 1), None).pool.position
    store.upsert([new.model_copy(update={"upvotes": 40})])  # metadata only: the embedding is kept
    assert store.fresh_ranking_cache() is not None
    assert '"upvotes":40' in cache.paper_json(["2609.00001"])["2609.00001"].replace(" ", "")
    assert store.missing(["2609.00001", "2609.99999"]) == ["2609.99999"]  # answered by the fresh cache
    store.delete(["2609.00001"])
    assert store.fresh_ranking_cache() is not None and not cache.paper_json(["2609.00001"])
    assert cache.count() == store.collection.count()
    assert store.missing(["2609.00001"]) == ["2609.00001"] and not cache.holding(["2609.00001"])


def test_a_write_the_cache_did_not_see_makes_the_next_reader_rebuild_it(service):
    store = paper_store(service)
    paper = Paper(id="2609.00002", title="Written behind the cache's back", abstract="Dark matter halos.",
                  published=date(2026, 9, 2))
    from papercast.store.metadata import to_metadata

    store.collection.upsert(ids=[paper.id], embeddings=[[0.05] * 384], documents=[paper.embedding_text],
                            metadatas=[to_metadata(paper)])
    assert store.fresh_ranking_cache() is None  # the store's generation moved without it
    day = date(2026, 9, 2)
    assert store.count(date(2026, 9, 1), None) == 1 == store.count(day, day)  # counted by Chroma
    window = windows.load_window(store, date(2026, 9, 1), None)
    assert window.pool.ids == ["2609.00002"]
    assert store.fresh_ranking_cache() is not None
    assert store.count(date(2026, 9, 1), None) == 1 == store.count(day, day)  # by the ranking cache
    assert store.count(date(2026, 9, 3), None) == 0 and store.count() == len(store.ids())


def test_writes_in_flight_are_not_trusted_and_a_dead_writers_are_rebuilt(service):
    store = paper_store(service)
    cache = store.ranking_cache
    cache.begin(["2608.19758"], lambda: False)  # this process, alive, has begun a write
    assert store.fresh_ranking_cache() is None
    assert windows.ranking_source(store) is None  # rank from Chroma meanwhile
    with cache.conn:
        cache.conn.execute("UPDATE rank_pending SET owner = ?",
                           (f"{ranking_cache.socket.gethostname()}:999999999",))
    assert windows.ranking_source(store) is cache and store.fresh_ranking_cache() is not None


def test_the_term_memo_stays_bounded_and_ids_stay_the_same(service, monkeypatch):
    """A library's vocabulary grows with it; the process's memo of term ids must not (issue 26)."""
    store = paper_store(service)
    cache = store.ranking_cache
    before = cache.window(*ALL, 384)
    vocabulary = cache.conn.execute("SELECT COUNT(*) FROM rank_terms").fetchone()[0]
    monkeypatch.setattr(ranking_cache, "TERM_MEMO", 50)

    def in_twenties(ids):  # the store's own rows, 20 papers a write, as an import's batches come
        for got_ids, metas, vectors in store.read_back(ids):
            for start in range(0, len(got_ids), 20):
                yield got_ids[start:start + 20], metas[start:start + 20], vectors[start:start + 20]

    fresh = ranking_cache.RankingCache(store.settings.home, cache.store, cache._generation, cache._bump)
    fresh.rebuild(in_twenties)
    assert len(fresh._terms) < vocabulary / 2, "the memo held the whole vocabulary"
    after = fresh.window(*ALL, 384)
    assert after.ids == before.ids and np.array_equal(after.terms, before.terms)
    assert np.array_equal(after.counts, before.counts) and np.array_equal(after.offsets, before.offsets)
    assert cache.conn.execute("SELECT COUNT(*) FROM rank_terms").fetchone()[0] == vocabulary


def test_a_new_tokenizer_rebuilds_the_cache(service, monkeypatch):
    store = paper_store(service)
    monkeypatch.setattr(ranking_cache, "TOKENIZER", "a-later-stemmer")
    assert store.fresh_ranking_cache() is None
    assert windows.ranking_source(store) is not None
    state = store.ranking_cache.conn.execute("SELECT tokenizer FROM rank_state").fetchall()
    assert [tuple(r) for r in state] == [("a-later-stemmer",)]


def test_a_cli_run_on_a_fresh_cache_does_not_import_chromadb(service):
    code = ("import sys; from papercast.cli import main; "
            f"rc = main(['--home', {str(service.settings.home)!r}, 'recommend', '-n', '3', '--json']); "
            "print('CHROMA' if 'chromadb' in sys.modules else 'NO-CHROMA', rc, file=sys.stderr)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert "NO-CHROMA 0" in run.stderr, run.stderr[-2000:]
    assert run.stdout.count('"id"') == 3


def test_a_damaged_cache_file_is_set_aside_and_rebuilt(service, caplog):
    from papercast.store import db

    db.close_all()  # the next open reads the file again, as a new process would
    path = service.settings.home / ranking_cache.FILE_NAME
    for extra in ("-wal", "-shm"):
        path.with_name(path.name + extra).unlink(missing_ok=True)
    path.write_bytes(b"not a database at all" * 100)
    items = service.recommend(n=5, since=ALL[0], until=ALL[1], use_llm=False).items
    assert len(items) == 5
    assert "ranking cache" in caplog.text and "damaged" in caplog.text
    assert path.with_name(path.name + ".damaged").exists()
    assert paper_store(service).fresh_ranking_cache() is not None  # rebuilt from the store


# -- another process changes the library under a window this one holds --------------------------------
def test_a_paper_replaced_by_another_process_leaves_the_held_window(service, monkeypatch):
    """A long-lived process (the TUI) holds a ranked window; another process removes its top paper
    and adds one, so the store's size is unchanged. The next list must not name the removed paper
    (it failed with a KeyError: the window was keyed by the store's size alone)."""
    monkeypatch.setattr(windows, "_CACHE", type(windows._CACHE)())  # one shared cache for both lists
    first = service.recommend(n=3, use_llm=False)
    top = first.items[0].paper
    store = paper_store(service)
    store.delete([top.id])
    store.upsert([Paper(id="2612.00001", title="Written by another process", abstract="Nothing here.",
                        published=top.published)])
    again = service.recommend(n=3, use_llm=False)
    assert top.id not in [item.paper.id for item in again.items]
    assert [hit.paper.id for hit in service.search(top.title, n=3)].count(top.id) == 0


def test_a_paper_removed_while_a_window_is_ranked_makes_ranking_read_it_again(service):
    """The race CI met: an import removed the bundled sample between reading a window's columns and
    parsing its top papers. The window says which paper is gone, and ranking reads it again once."""
    store = paper_store(service)
    window = windows.load_window(store, *ALL)
    gone = window.pool.ids[0]
    store.delete([gone])
    with pytest.raises(LibraryChanged, match=gone):
        window.paper(gone)
    with pytest.raises(LibraryChanged, match="run the command again"):
        window.pool.papers[0]
    tries = []

    def rank() -> str:
        held = windows.load_window(store, *ALL, count=len(window.pool))  # as before the removal
        tries.append(held is window)
        return held.paper(held.pool.ids[0]).id

    windows._CACHE[windows._window_key(store, *ALL, len(window.pool))] = window  # the stale one
    assert windows.once_more_if_changed(store, rank) != gone
    assert tries == [True, False]  # the held window first, then one read afresh


def test_reading_a_full_text_leaves_the_paper_caches_fresh(service):
    """A paper's passages are written to their own collection: that must not make the ranking cache and
    the windows stale (the next ranking rebuilt the whole cache from Chroma after every read: seconds at
    50k papers). Both collections share the directory's generation, so each has its own as well."""
    store = paper_store(service)
    assert store.fresh_ranking_cache() is not None
    before = store.generation()
    service.read_file(FIXTURES / "fulltext" / "arxiv_html_2508.08468v6.html", PAPER)  # in the library
    assert service.has_fulltext(PAPER)
    assert store.generation() == before and store.fresh_ranking_cache() is not None
    store.upsert([Paper(id="2609.00003", title="A paper written after", abstract="Dark matter.",
                        published=date(2026, 9, 3))])
    assert store.generation() != before and store.fresh_ranking_cache() is not None
