"""Acronym pairs learned at import (issue 24): the papers' definitions ("direct preference optimization
(DPO)") kept in the ranking cache, counted per pair, and used by the search for papers that never
define the acronym themselves.

On copies of the bundled sample (real Chroma, real ranking cache, the shipped vectors); the papers
added here get the vectors of an astrophysics paper, so only their words can bring them up.
"""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest

from papercast.models import Paper
from papercast.store import db, ranking_cache
from papercast.store.definitions import Definition, expansion_terms, paper_definitions
from papercast.tools.ranking.acronyms import TextLexicon, main_meanings, query_definitions
from papercast.tools.ranking.proximity import field_terms

from helpers import copy_sample, paper_store

THIS_MONTH = date(2026, 8, 1)
ASTRO = "2607.00764"  # "The age of the Universe from a large sample of the oldest Galactic stars"
DEFINER = Paper(id="2501.00001", title="Aligning chat models without a reward model",
                published=date(2025, 1, 10),
                abstract="We introduce direct preference optimization (DPO), which fits a policy to pairwise "
                         "preferences in closed form, and compare it with RLHF.")
SAYS_DPO = Paper(id="2608.30001", title="Tuning a stellar chatbot", published=date(2026, 8, 20),
                 abstract="Our chatbot for observatories was tuned with DPO on answers astronomers ranked.")
SPELLS_IT = Paper(id="2608.30002", title="A chatbot for observatories", published=date(2026, 8, 20),
                  abstract="The assistant was trained by direct preference optimization on ranked answers.")


def _add(store, papers):
    vector = store.embeddings([ASTRO])[ASTRO]
    store.upsert(papers, embeddings={p.id: vector for p in papers})


@pytest.fixture(scope="module")
def library(tmp_path_factory, sample_home_template):
    """The sample, a paper defining DPO published last year, and two of this month that do not."""
    from papercast.config import load_settings

    service = copy_sample(sample_home_template, load_settings(home=tmp_path_factory.mktemp("pairs") / "home"))
    _add(paper_store(service), [DEFINER, SAYS_DPO, SPELLS_IT])
    return service


def _meanings(service, key):
    cache = paper_store(service).fresh_ranking_cache()
    return [(d.written, n) for d, n in cache.acronym_meanings([key]).get(key, [])]


def test_a_pair_learned_at_import_serves_papers_that_do_not_define_it(library):
    assert _meanings(library, "dpo") == [("direct preference optimization", 1)]
    # This month's papers: the definer (last year) is not among the candidates, its pair still serves.
    hits = library.search("DPO", 5, since=THIS_MONTH)
    found = {h.paper.id: h.reasons for h in hits}
    assert SPELLS_IT.id in found and "matches: DPO as 'direct preference optimization'" in found[SPELLS_IT.id]
    order = [h.paper.id for h in hits]
    assert order.index(SAYS_DPO.id) < order.index(SPELLS_IT.id)  # the word typed weighs more than its pair
    hits = library.search("direct preference optimization", 5, since=THIS_MONTH)
    found = {h.paper.id: h.reasons for h in hits}
    assert SAYS_DPO.id in found, [h.paper.title for h in hits]
    assert found[SAYS_DPO.id][0] == "matches: direct preference optimization as 'DPO'"
    order = [h.paper.id for h in hits]
    assert order.index(SPELLS_IT.id) < order.index(SAYS_DPO.id)


def test_the_counts_follow_the_papers_through_changes_rebuilds_and_deletes(library, sample_home_template,
                                                                          tmp_path):
    from papercast.config import load_settings

    service = copy_sample(sample_home_template, load_settings(home=tmp_path / "home"))
    store = paper_store(service)
    second = DEFINER.model_copy(update={"id": "2502.00002"})
    _add(store, [DEFINER, second, SAYS_DPO, SPELLS_IT])
    assert _meanings(service, "dpo") == [("direct preference optimization", 2)]
    # The paper changed: its old pair goes with its old text.
    _add(store, [second.model_copy(update={"abstract": "Dynamic path optimization (DPO) routes packets."})])
    both = [("direct preference optimization", 1), ("dynamic path optimization", 1)]
    assert _meanings(service, "dpo") == both
    store.fresh_ranking_cache().rebuild(store.read_back)  # read again from Chroma: counted once, not twice
    assert _meanings(service, "dpo") == both
    service.delete_papers([DEFINER.id])
    assert _meanings(service, "dpo") == [("dynamic path optimization", 1)]
    found = {h.paper.id: h.reasons for h in service.search("DPO", 5, since=THIS_MONTH)}
    assert all("direct preference optimization" not in " ".join(r) for r in found.values())


def _as_version_1(path):
    """The ranking cache file as the code before this migration left it: the tables of the first
    migration only, at user_version 1 (what a home of the previous release holds)."""
    conn = sqlite3.connect(path)
    conn.executescript("DROP TABLE rank_definitions; DROP TABLE rank_acronyms; DROP TABLE rank_acronyms_todo;"
                       "PRAGMA user_version = 1;")
    conn.close()
    reference = sqlite3.connect(":memory:")
    for statement in db.MIGRATIONS["ranking"][0].statements:
        reference.execute(statement)
    names = "SELECT type, name FROM sqlite_master ORDER BY name"
    assert sqlite3.connect(path).execute(names).fetchall() == reference.execute(names).fetchall()


def test_a_cache_from_the_previous_schema_is_migrated_and_read_once(library, tmp_path, monkeypatch):
    import shutil

    from papercast.config import load_settings
    from papercast.service import Papercast

    db.close_all()
    shutil.copytree(library.settings.home, tmp_path / "home")
    _as_version_1(tmp_path / "home" / ranking_cache.FILE_NAME)
    db.close_all()
    service = Papercast(load_settings(home=tmp_path / "home"))
    found = {h.paper.id: h.reasons for h in service.search("DPO", 5, since=THIS_MONTH)}
    assert "matches: DPO as 'direct preference optimization'" in found[SPELLS_IT.id]
    conn = sqlite3.connect(tmp_path / "home" / ranking_cache.FILE_NAME)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == db.latest_version("ranking") == 2
    assert conn.execute("SELECT COUNT(*) FROM rank_acronyms_todo").fetchone()[0] == 0
    # Every stored paper was read: the table holds what a home that kept it from the start holds.
    fresh = sqlite3.connect(library.settings.home / ranking_cache.FILE_NAME)
    pairs = "SELECT store, key, terms, papers FROM rank_acronyms ORDER BY store, key, terms"
    assert conn.execute(pairs).fetchall() == fresh.execute(pairs).fetchall()
    assert len(conn.execute(pairs).fetchall()) > 200
    # Once: a new process does not read them again.
    db.close_all()
    monkeypatch.setattr(ranking_cache, "paper_definitions", lambda *a: pytest.fail("read again"))
    again = Papercast(load_settings(home=tmp_path / "home"))
    assert SPELLS_IT.id in {h.paper.id for h in again.search("DPO", 5, since=THIS_MONTH)}
    db.close_all()


def test_the_sample_finds_dpo_for_the_phrase_and_its_acronym(service):
    """The issue's example: the sample's one paper naming DPO (it does not spell it out) among the top 5."""
    hits = service.search("direct preference optimization DPO", 5)
    assert "2608.11274" in [h.paper.id for h in hits]
    assert hits[[h.paper.id for h in hits].index("2608.11274")].reasons[0] == (
        "matches: direct preference optimization as 'DPO'")


def test_a_query_defines_its_own_pair_either_way():
    pair = [("DPO", "direct preference optimization")]
    assert query_definitions("direct preference optimization DPO") == pair
    assert query_definitions("DPO direct preference optimization") == pair
    assert query_definitions("LoRA low-rank adaptation for LLMs") == [("LoRA", "low-rank adaptation")]
    assert query_definitions("LLM agents for tool use") == []
    assert query_definitions("DPO") == []


def test_an_ambiguous_acronym_stands_for_its_most_said_meanings():
    def said(*counts):
        return [(Definition("sd", f"meaning {i}", "SD", f"meaning {i}"), n) for i, n in enumerate(counts)]

    assert [d.terms for d in main_meanings(said(9, 5, 4))] == ["meaning 0", "meaning 1"]
    assert [d.terms for d in main_meanings(said(9, 3))] == ["meaning 0"]
    lexicon = TextLexicon(["Speculative decoding (SD) is fast.", "Speculative Decoding (SD) again.",
                           "Stable diffusion (SD) draws.", "Self-distillation (SD) helps."])
    assert [(d.written, n) for d, n in lexicon.acronym_meanings(["sd"])["sd"]] == [
        ("speculative decoding", 2), ("self-distillation", 1), ("stable diffusion", 1)]


def test_an_expansion_is_compared_as_proximity_reads_the_query():
    for text in ["Large Language Models", "low-rank adaptation", "mixture-of-experts", "Key-Value caches"]:
        assert expansion_terms(text) == " ".join(field_terms(text))
    assert paper_definitions("LLMs", "Large language models (LLMs) and large language models (LLMs).") == [
        Definition("llm", "larg languag model", "LLMs", "large language models")]
