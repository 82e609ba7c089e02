"""The one hybrid search (BM25 + embeddings) and the stemmer it shares with the ranker.

On the bundled sample (452 real papers, shipped embeddings) through the real store, and on small
hand-made candidate sets for ``fuse`` and ``HybridIndex``.
"""

from __future__ import annotations

import json
import re
from datetime import date

import numpy as np
import pytest

from papercast.errors import UserError
from papercast.tools.ranking.lexical import BM25, american, stem, tokens
from papercast.tools.ranking.search import (
    HybridIndex,
    fuse,
    parse_query,
    query_breadth,
    rank_candidates,
    search,
    search_request,
    smooth_by_neighbours,
)

from helpers import paper_store


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    from papercast.config import load_settings
    from papercast.service import Papercast

    service = Papercast(load_settings(home=tmp_path_factory.mktemp("search-home")))
    service.ensure_sample()
    return service


# -- stemming ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("a, b", [
    ("embedding", "embeddings"), ("embed", "embedding"), ("embedded", "embeds"), ("retrieved", "retrieve"),
    ("bias", "biases"), ("string", "strings"), ("modelling", "modeling"), ("optimise", "optimize"),
    ("optimisation", "optimization"), ("generalise", "generalization"), ("behaviour", "behaviors"),
    ("centre", "center"), ("travelled", "traveled"), ("fuelled", "fueled"), ("analyse", "analyzes"),
    ("LLMs", "LLM"), ("quantisation", "quantization"), ("labelled", "labeling"),
])
def test_forms_of_one_word_meet(a, b):
    assert stem(a.lower()) == stem(b.lower())


@pytest.mark.parametrize("a, b", [("model", "modal"), ("supervise", "supervize"), ("precise", "prize"),
                                  ("cache", "catch"), ("string", "strong")])
def test_different_words_stay_apart(a, b):
    assert stem(a) != stem(b)


def test_words_spelled_ise_everywhere_are_not_americanized():
    assert american("supervised") == "supervised" and american("promising") == "promising"
    assert american("randomised") == "randomized" and american("neighbourhood") == "neighborhood"
    assert stem("supervised") == stem("supervision")


# -- query parsing and fusion -------------------------------------------------------------------------
def test_quoted_phrases_are_kept_and_every_word_counts():
    q = parse_query('"KV cache" compression for “long context”')
    assert q.phrases == ("KV cache", "long context")
    assert q.text == "KV cache compression for long context"
    assert q.terms == tuple(dict.fromkeys(tokens("KV cache compression long context")))
    assert parse_query('an "unpaired quote').phrases == ()
    assert parse_query('  ""  ').empty


def test_filters_in_the_query_are_read_apart_from_its_words():
    q = parse_query('au:"Yann LeCun" world models cat:cs.LG, category:“cs.AI” author:Sutskever')
    assert (q.text, q.categories, q.authors) == ("world models", ("cs.LG", "cs.AI"),
                                                 ("Yann LeCun", "Sutskever"))
    q = parse_query("what is new in cat:astro-ph.GA?")  # a question's mark is not part of the category
    assert q.categories == ("astro-ph.GA",) and q.terms == ()  # "what is new in": stopwords only
    assert parse_query("mycat:cs.CL ratio:3").categories == ()  # a filter starts a word; others are words
    assert parse_query("cat:cs.CL cat:cs.CL").categories == ("cs.CL",)
    assert parse_query("cat:cs.CL,cs.LG, agents").categories == ("cs.CL", "cs.LG")  # a list: either


def test_a_search_request_needs_words_or_filters_and_real_categories():
    assert search_request("cat:cs.CL").listing  # filters alone list their papers
    assert search_request("what is in", categories=["cs.CL"]).listing  # no word to rank by
    assert not search_request("kv cache cat:cs.CL").listing
    assert search_request("x", ["cs.CL"], [" Yann  LeCun "]).authors == ("Yann LeCun",)
    assert search_request("x cat:cs.AI", ["cs.CL, cs.LG"]).categories == ("cs.CL", "cs.LG", "cs.AI")
    with pytest.raises(UserError, match="empty search query"):
        search_request(' "" ')
    with pytest.raises(UserError, match=r"not an arXiv category: 'machine learning' \(they look like cs.CL"):
        search_request('cat:"machine learning" transformers')
    with pytest.raises(UserError, match="not an arXiv category"):
        search_request("x", categories=["cs.CL; drop"])


def test_rrf_rewards_agreement_and_ignores_unmatched_lexical():
    dense = np.array([0.9, 0.8, 0.1, 0.2])
    lexical = np.array([0.0, 5.0, 7.0, 0.0])
    fused = fuse(dense, lexical, method="rrf", k=1)
    # ranks: dense 1,2,4,3; lexical (only where matched) -,2,1,-
    expected = np.array([1 / 2, 1 / 3 + 1 / 3, 1 / 5 + 1 / 2, 1 / 4])
    assert np.allclose(fused, expected)  # k + 1 over 2 = 1: no scaling when k = 1
    assert fuse(dense, lexical, method="rrf").argmax() == 1  # with k = 60, second in both beats first in one


def test_calibrated_blend_scales_bm25_by_what_a_full_match_scores():
    dense = np.array([0.5, 0.4, 0.2])
    lexical = np.array([0.0, 6.0, 3.0])
    fused = fuse(dense, lexical, method="blend", alpha=0.25, lexical_scale=6.0)
    assert np.allclose(fused, 0.25 * lexical / 6.0 + 0.75 * dense)
    # Without a scale: the best candidate's lexical score is the full match.
    assert np.allclose(fuse(dense, lexical, method="blend", alpha=0.25), fused)
    with pytest.raises(ValueError, match="shape"):
        fuse(dense, lexical[:2])
    assert fuse(np.zeros(0), np.zeros(0)).shape == (0,)


def test_hybrid_index_over_any_texts_finds_exact_terms_meaning_and_phrases():
    texts = ["Compressing the KV cache of long-context models.",
             "A cache for key-value stores in databases.",
             "Galaxy halos in cosmological simulations.",
             "Attention memory reduction at inference time."]
    vectors = np.eye(4, 8, dtype=np.float32)  # four unrelated meanings
    query_vector = vectors[3] + 0.01  # the query "means" passage 3
    index = HybridIndex(texts, vectors)
    found = index.search("KV cache", query_vector, n=4)
    assert {m.index for m in found[:2]} == {0, 3}  # the words' paper and the meaning's paper
    assert "matches: the phrase 'KV cache'" in found[[m.index for m in found].index(0)].reasons
    quoted = index.search('"kv cache"', query_vector, n=4)
    assert quoted[0].index == 0 and quoted[0].phrases == ["kv cache"]
    assert quoted[0].reasons[0] == 'matches: "kv cache"'
    allowed = np.array([False, True, True, True])
    assert 0 not in [m.index for m in index.search("KV cache", query_vector, n=4, allowed=allowed)]
    with pytest.raises(ValueError):
        HybridIndex(texts, vectors[:2])


def test_bm25_idf_sum_is_what_a_document_with_each_term_once_scores():
    docs = ["alpha beta gamma delta", "alpha alpha omega psi", "gamma epsilon zeta eta",
            "theta iota kappa lambda"]
    index = BM25.build(docs)
    terms = tokens("alpha gamma")
    assert index.score(terms)[0] == pytest.approx(index.idf_sum(terms), rel=1e-5)  # doc 0: average length
    assert index.idf_sum(tokens("absent")) == 0.0


# -- neighbour smoothing ---------------------------------------------------------------------------------
def _nearest(vectors: np.ndarray, k: int = 6):
    """A ``Pool.neighbours`` for hand-made vectors: each row's k nearest other rows, best first."""
    def neighbours(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sims = vectors[rows] @ vectors.T
        sims[np.arange(len(rows)), rows] = -np.inf
        nn = np.argsort(-sims, axis=1)[:, :k]
        return nn, np.take_along_axis(sims, nn, axis=1)
    return neighbours


def _two_areas(rng: np.random.Generator):
    """120 papers on legged robots (40 say "locomotion") and 120 on chemistry (4 say "locomotion":
    of cells, of molecules), plus one paper on a rare subject; each area's vectors around its own
    direction."""
    texts, vectors = [], []
    for i in range(120):
        texts.append(f"{'locomotion' if i < 40 else 'terrain'} legged controller policy {i}")
        vectors.append(np.eye(16)[0] + 0.3 * rng.standard_normal(16))
    for i in range(120):
        texts.append(f"{'locomotion' if i < 4 else 'solvent'} catalyst reaction yield {i}")
        vectors.append(np.eye(16)[1] + 0.3 * rng.standard_normal(16))
    texts.append("zeolite frameworks for chiral catalysis")
    vectors.append(np.eye(16)[1] + 0.3 * rng.standard_normal(16))
    vectors = np.asarray(vectors, dtype=np.float32)
    return BM25.build(texts), vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_query_breadth_grows_with_the_papers_holding_every_query_word():
    assert query_breadth(0) == 0.0
    assert 0 < query_breadth(1) < 0.05 < query_breadth(50) == 0.5 < query_breadth(500) < 1


def test_neighbour_smoothing_lifts_an_area_and_sinks_a_stray_word_match():
    fused = np.array([0.9, 0.5, 0.8, 0.7, 0.1, 0.0])
    # 0, 2, 3: one area, all scoring well; 1 scores a little but sits among 4 and 5, which score nothing.
    nn = np.array([[2, 3], [4, 5], [0, 3], [0, 2]])
    sim = np.array([[0.9, 0.8], [0.9, 0.9], [0.9, 0.7], [0.8, 0.7]])
    out = smooth_by_neighbours(fused, np.arange(4), lambda rows: (nn[rows], sim[rows]), 0.5)
    assert out[1] < fused[1] and out[3] > fused[3]  # the stray match falls, the area's weakest rises
    assert list(np.argsort(-out)[:4]) == [0, 2, 3, 1]
    assert out[4] < out[:4].min() and out[4] > out[5]  # the rest: below the re-scored top, order kept
    assert smooth_by_neighbours(fused, np.arange(4), lambda rows: (nn[rows], sim[rows]), 0.0) is fused


def test_a_broad_query_is_smoothed_by_neighbours_and_a_known_item_keeps_its_place():
    index, vectors = _two_areas(np.random.default_rng(15))
    neighbours = _nearest(vectors)
    query_vector = np.eye(16)[0] + 0.6 * np.eye(16)[1]  # the word's embedding leans to robots, loosely
    broad = parse_query("locomotion")  # 44 papers hold it: an area's word
    plain = [m.index for m in rank_candidates(index, vectors, broad, query_vector, 241)]
    smoothed = [m.index for m in rank_candidates(index, vectors, broad, query_vector, 241,
                                                 neighbours=neighbours)]
    strays = range(120, 124)  # chemistry papers that use the word: their neighbours do not
    assert all(smoothed.index(i) >= plain.index(i) for i in strays)
    assert sum(smoothed.index(i) for i in strays) > sum(plain.index(i) for i in strays) + 40
    unsaid = range(40, 120)  # robot papers without the word: their neighbours hold it
    assert sum(smoothed.index(i) for i in unsaid) < sum(plain.index(i) for i in unsaid)
    found = {m.index: m for m in rank_candidates(index, vectors, broad, query_vector, 100,
                                                 neighbours=neighbours)}
    area = "in the same area as the best matches"
    assert any(area in found[i].reasons for i in unsaid if i in found)  # why a paper without the word is here
    assert not any(area in m.reasons for m in found.values() if m.terms)  # the words say it for the others
    rare = parse_query("zeolite chiral")  # one paper holds these words: the query names it
    assert [m.index for m in rank_candidates(index, vectors, rare, vectors[240], 5,
                                             neighbours=neighbours)][0] == 240


# -- the paper search on the sample ---------------------------------------------------------------------
def test_kv_cache_compression_finds_the_papers_that_say_it(sample):
    hits = sample.search("KV cache compression", 10)
    ids = [h.paper.id for h in hits]
    assert "2608.19758" in ids  # FlashPrefill V2 serves a paged KV cache; dense-only missed it
    assert all("kv cache" not in h.paper.title.lower() or i < 5 for i, h in enumerate(hits))
    assert sum(bool(re.search(r"\bkv\W+caches?\b", h.paper.embedding_text, re.I)) for h in hits[:5]) >= 4
    assert not any(h.paper.title.startswith("PixSDS") for h in hits[:5])
    assert hits[0].reasons and any(r.startswith("matches: ") and "kv" in r.lower() for r in hits[0].reasons)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_a_quoted_phrase_ranks_the_papers_that_hold_it_first(sample):
    hits = sample.search('"kv cache"', 12)
    # "(KV) cache" too
    holding = [bool(re.search(r"\bkv\W+caches?\b", h.paper.embedding_text, re.I)) for h in hits]
    assert holding[0] and holding == sorted(holding, reverse=True)  # every holder above every other
    assert sum(holding) >= 5
    assert all(h.reasons[0] == 'matches: "kv cache"' for h, ok in zip(hits, holding, strict=True) if ok)
    mixed = sample.search('"kv cache" compression', 12)  # the phrase and a loose word: one reason names both
    assert 'matches: "kv cache", compression' in [h.reasons[0] for h in mixed]
    assert not any(r.startswith("matches: ") for h in mixed for r in h.reasons[1:])


def test_an_area_query_says_why_papers_without_its_words_are_listed(sample):
    hits = sample.search("Robotics", 20)
    reasons = [r for h in hits for r in h.reasons]
    assert "in the same area as the best matches" in reasons
    assert not any(r.startswith("a loose match") for r in reasons)


def test_search_smooths_by_the_pools_neighbours(sample, monkeypatch):
    from papercast.tools.ranking.pool import Pool

    asked: list[int] = []
    original = Pool.neighbours

    def neighbours(self, rows):
        asked.append(len(rows))
        return original(self, rows)

    monkeypatch.setattr(Pool, "neighbours", neighbours)
    assert sample.search("language models", 10)
    assert asked and asked[-1] > 10  # the first pass's top, not only the papers shown
    asked.clear()
    hits = sample.search("OasisKV lookahead prefetching", 10)  # one paper holds these words: it is named
    assert hits[0].paper.title.startswith("OasisKV") and not asked


def test_filters_by_date_category_and_author(sample):
    hits = sample.search("language models", 20, since=date(2026, 8, 10), until=date(2026, 8, 12))
    assert hits and all(date(2026, 8, 10) <= h.paper.published <= date(2026, 8, 12) for h in hits)
    hits = sample.search("galaxy", 10, categories=["astro-ph.GA"])
    assert hits and all("astro-ph.GA" in h.paper.categories for h in hits)
    assert all("in category: astro-ph.GA" in h.reasons for h in hits)
    author = sample.search("galaxy", 1, categories=["astro-ph.GA"])[0].paper.authors[0]
    hits = sample.search("galaxy", 10, authors=[author])
    assert hits and all(author in h.paper.authors for h in hits)
    assert sample.search("galaxy", 5, categories=["no.SUCH"]) == []


def test_filters_written_in_the_query_are_the_filters_given_apart(sample):
    given = sample.search("galaxy", 10, categories=["astro-ph.GA"])
    written = sample.search("galaxy cat:astro-ph.GA", 10)
    assert [h.paper.id for h in written] == [h.paper.id for h in given]
    author = given[0].paper.authors[0]
    assert [h.paper.id for h in sample.search(f'au:"{author}" galaxy', 5)] == \
        [h.paper.id for h in sample.search("galaxy", 5, authors=[author])]


def test_filters_alone_list_their_papers_newest_first(sample):
    hits = sample.search("cat:astro-ph.GA", 8)
    assert len(hits) == 8 and all("astro-ph.GA" in h.paper.categories for h in hits)
    days = [h.paper.published for h in hits]
    assert days == sorted(days, reverse=True)
    assert all(h.score == 0.0 and h.reasons == ["in category: astro-ph.GA"] for h in hits)
    assert days[0] == sample.list_papers(1, category="astro-ph.GA")[0].published


def test_a_surname_alone_finds_every_author_of_that_name(sample):
    full = sample.search("galaxy", 1, categories=["astro-ph.GA"])[0].paper.authors[0]
    surname = full.split()[-1]
    hits = sample.search(f"au:{surname}", 30)
    assert len(hits) >= 2  # the sample has more than one author of this surname
    assert all(any(re.split(r"[\s-]", a)[-1] == surname for a in h.paper.authors) for h in hits)
    assert full in {r.removeprefix("by ") for h in hits for r in h.reasons}


def test_a_filter_that_leaves_no_match_does_not_claim_the_query_s_area(sample):
    """The sample's cs.CV papers say nothing of diffusion: their neighbours beat them, but are not the area
    of "diffusion" (its best matches score far higher), so they are loose matches, not "in the same area"."""
    hits = sample.search("diffusion", 3, categories=["cs.CV"])
    assert len(hits) == 3 and all("diffusion" not in (h.paper.title + h.paper.abstract).lower() for h in hits)
    assert all(h.reasons[0] == "a loose match: nothing closer was found" for h in hits)


def test_bad_search_inputs(sample):
    with pytest.raises(UserError, match="empty search query"):
        sample.search('  "" ', 5)
    with pytest.raises(UserError, match="-n must be at least 1"):
        search(paper_store(sample), "cache", 0)
    with pytest.raises(UserError, match="after"):
        sample.search("cache", 5, since=date(2026, 8, 2), until=date(2026, 8, 1))


def test_search_on_an_empty_store_finds_nothing(empty_service):
    assert empty_service.search("anything", 5) == []


def test_cli_search_json_has_scores_and_reasons(tmp_path, capsys):
    from papercast.cli import main

    home = str(tmp_path / "home")
    assert main(["--home", home, "papers", "list", "-n", "1"]) == 0  # loads the sample
    capsys.readouterr()
    assert main(["--home", home, "papers", "search", '"kv cache"', "-n", "3", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert len(items) == 3
    for item in items:
        assert {"id", "title", "score", "reasons", "url"} <= set(item)
        assert item["reasons"][0] == 'matches: "kv cache"'


def test_cli_search_filters(tmp_path, capsys):
    from papercast.cli import main

    home = str(tmp_path / "home")
    assert main(["--home", home, "papers", "search", "galaxy", "--category", "astro-ph.GA", "--category",
                 "cs.CV", "-n", "4", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert len(items) == 4 and all({"astro-ph.GA", "cs.CV"} & set(i["categories"]) for i in items)
    author = items[0]["authors"][0]
    assert main(["--home", home, "papers", "search", "--author", author, "-n", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()  # a filter alone lists, newest first: no score column
    assert lines and re.match(r"^\d{4}\.\d{4,5} ", lines[0]) and lines[1].strip() == f"by {author}"
    assert main(["--home", home, "papers", "search", "cat:no.such galaxy"]) == 0
    assert capsys.readouterr().err.strip() == "papercast: nothing matched in no.such"
    for bad in (["--category", "machine learning", "x"], ['cat:""'], []):
        assert main(["--home", home, "papers", "search", *bad]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and ("not an arXiv category" in err or "empty search query" in err)


def test_a_big_store_is_searched_among_the_nearest_papers(sample, monkeypatch):
    """Without the ranking cache, past ``FULL_SCAN_LIMIT`` papers (and with no window of the store read
    yet) the candidates are the nearest by meaning: the same hybrid ranking over fewer papers."""
    from papercast.tools.ranking import search as engine
    from papercast.tools.ranking import window

    # e.g. a Chroma server
    monkeypatch.setattr(type(paper_store(sample)), "ranking_cache", property(lambda self: None))
    monkeypatch.setattr(engine, "FULL_SCAN_LIMIT", 100)
    monkeypatch.setattr(engine, "NEAREST", 120)
    monkeypatch.setattr(window, "_CACHE", type(window._CACHE)())
    hits = sample.search('"kv cache"', 5)
    assert len(hits) == 5 and hits[0].reasons[0] == 'matches: "kv cache"'
    assert not window._CACHE  # the whole store was not read
    hits = sample.search("galaxy", 5, categories=["astro-ph.GA"])
    assert hits and all("astro-ph.GA" in h.paper.categories for h in hits)


def test_the_phrase_typed_ranks_first_with_its_reason(sample):
    """Issue 24: the sample's papers saying "test-time scaling" (2 of them) above those that say "test-time"
    or "scaling" apart; the first for "reward model" says it, and its reason names the phrase."""
    hits = sample.search("test-time scaling", 5)
    holding = [bool(re.search(r"test.time scaling", h.paper.embedding_text, re.I)) for h in hits]
    assert holding[:2] == [True, True] and sum(holding) == 2
    hits = sample.search("reward model", 5)
    assert re.search(r"reward models?\b", hits[0].paper.embedding_text, re.I)
    assert hits[0].reasons[0] == "matches: the phrase 'reward model'"
