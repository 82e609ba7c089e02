"""What a CLI run remembers for the next one: profile-text vectors and the store's newest date."""

from __future__ import annotations

from datetime import date

import numpy as np

from papercast.models import Paper
from papercast.store import memo
from papercast.store import papers as papers_module
from papercast.store.papers import PaperStore
from papercast.tools.ranking import score as rank

from helpers import CountingEmbed, paper_store

INTERESTS = "protein structure prediction, single-cell genomics"


def new_process() -> None:
    """Forget what this process remembers, as a new CLI run would not have it."""
    rank._TEXT_CACHE.clear()
    papers_module._NEWEST.clear()


def test_a_new_process_ranks_without_embedding_the_same_interests_again(service):
    service.profile_create("bio", interests=INTERESTS, keywords=["AlphaFold"])
    profile = service.profile_show("bio")
    first = CountingEmbed()
    new_process()
    before = rank.recommend(PaperStore(service.settings, embed=first), profile, since=None, until=None, n=5)
    assert set(first.texts) >= {INTERESTS, "AlphaFold"}

    again = CountingEmbed()
    new_process()
    after = rank.recommend(PaperStore(service.settings, embed=again), profile, since=None, until=None, n=5)
    assert again.texts == []
    assert [r.paper.id for r in after.items] == [r.paper.id for r in before.items]

    # A changed interests text is embedded (only the new text).
    service.profile_update("bio", interests=INTERESTS + ", cryo-EM")
    third = CountingEmbed()
    new_process()
    rank.recommend(PaperStore(service.settings, embed=third), service.profile_show("bio"), since=None,
                   until=None, n=5)
    assert INTERESTS + ", cryo-EM" in third.texts and "AlphaFold" not in third.texts


def test_vectors_are_remembered_per_embedding_model(tmp_path):
    db = tmp_path / "papercast.sqlite3"
    memo.remember_text_vectors(db, "model-a", {"graph neural networks": np.ones(4, np.float32)})
    assert list(memo.text_vectors(db, "model-a", ["graph neural networks", "other"])) == [
        "graph neural networks"]
    assert memo.text_vectors(db, "model-b", ["graph neural networks"]) == {}


def test_the_newest_date_is_remembered_until_the_store_changes(service):
    count = service.count()
    new_process()
    real = paper_store(service).newest_date(date(2026, 8, 16), count=count)
    assert real == paper_store(service).newest_date_by_scan(date(2026, 8, 16))
    store = paper_store(service)
    key = f"latest_date|{store.cache_key}|{count}|{store.generation()}|2026-08-16"
    assert memo.store_fact(service.settings.db_path, key) == real.isoformat()

    # The remembered answer is what a new process uses (proved by planting a different one) ...
    memo.remember_store_fact(service.settings.db_path, key, "2026-08-01")
    new_process()
    assert paper_store(service).newest_date(date(2026, 8, 16), count=count) == date(2026, 8, 1)
    # ... until the store's size changes,
    assert paper_store(service).newest_date(date(2026, 8, 16), count=count + 1) == real
    # or another process replaces a paper by a newer one and leaves the size as it was.
    store = paper_store(service)
    newest = store.newest_date(count=count)
    assert newest is not None and newest < date(2026, 9, 1)
    store.delete([store.window(newest, newest)[0][0].id])
    store.upsert([Paper(id="2609.99999", title="Written by another process", abstract="Dark matter.",
                        published=date(2026, 9, 1))])
    assert service.count() == count
    new_process()
    assert paper_store(service).newest_date(count=count) == date(2026, 9, 1)


def test_an_unwritable_memo_is_only_a_cache(tmp_path):
    db = tmp_path / "missing-dir-is-a-file"
    db.write_text("")
    bad = db / "papercast.sqlite3"  # its parent is a file: sqlite cannot open it
    assert memo.text_vectors(bad, "m", ["x"]) == {}
    memo.remember_text_vectors(bad, "m", {"x": np.ones(2, np.float32)})
    assert memo.store_fact(bad, "k") is None
    memo.remember_store_fact(bad, "k", "v")


def test_a_remembered_vector_of_another_size_is_embedded_again(service):
    """The model behind a name changed: its old vectors are not handed to numpy to fail there."""
    model = rank.embedding_model_key(paper_store(service))
    memo.remember_text_vectors(service.settings.db_path, model, {INTERESTS: np.ones(4, np.float32)})
    counter = CountingEmbed()
    new_process()
    vectors = rank.embed_texts(PaperStore(service.settings, embed=counter), [INTERESTS], dims=384)
    assert vectors.shape == (1, 384) and counter.texts == [INTERESTS]
