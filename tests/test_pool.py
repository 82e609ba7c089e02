"""The ranking pool and the BM25 index agree with plain, one-paper-at-a-time computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from papercast.models import Paper
from papercast.tools.ranking.lexical import BM25, normalize_phrase, phrase_in, tokens
from papercast.tools.ranking.pool import Pool, name_key

DOCS = [
    "Low-rank adapters (LoRA) for efficient fine-tuning of language models.",
    "Models of galaxy formation: dark matter halos in cosmological simulations.",
    "A KV cache for long-context language models; the cache is compressed.",
    "Fine-tuning fine-tuning fine-tuning: repetition in abstracts of models.",
    "Graph neural networks for molecules.",
    "",
]


def naive_bm25(docs: list[str], query: list[str], k1: float = 1.2, b: float = 0.75) -> np.ndarray:
    toks = [tokens(d) for d in docs]
    avg = sum(len(t) for t in toks) / len(toks) or 1.0
    out = np.zeros(len(docs))
    for term in dict.fromkeys(query):
        df = sum(term in t for t in toks)
        idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
        for i, t in enumerate(toks):
            tf = t.count(term)
            if tf:
                out[i] += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(t) / avg))
    return out


def test_bm25_scores_match_the_formula_computed_per_document():
    index = BM25.build(DOCS)
    for query in ("fine-tuning language models", "cache", "galaxy halos LoRA", "absent words entirely"):
        q = tokens(query)
        assert np.allclose(index.score(q), naive_bm25(DOCS, q), atol=1e-5), query
    q = tokens("cache for language models")
    present = [t for t in dict.fromkeys(q) if t in tokens(DOCS[2])]
    assert len(present) == 3
    df = {t: sum(t in tokens(d) for d in DOCS) for t in present}
    # rarest first, ties in query order; a document with none of the terms gets none
    assert index.matched_terms_many([2, 4], q) == [sorted(present, key=lambda t: df[t]), []]


def test_bm25_of_no_documents_scores_nothing():
    index = BM25.build([])
    assert index.score(["model"]).shape == (0,)


def pool_of(texts: list[str], authors: list[list[str]] | None = None, cats: list[list[str]] | None = None,
            dim: int = 8, seed: int = 0) -> Pool:
    rng = np.random.default_rng(seed)
    papers = [Paper(id=f"2601.{i:05d}", title=t, authors=(authors or [[]] * len(texts))[i],
                    categories=(cats or [[]] * len(texts))[i]) for i, t in enumerate(texts)]
    return Pool(papers, rng.standard_normal((len(texts), dim)).astype(np.float32))


def test_phrase_masks_match_a_search_per_paper():
    pool = pool_of(DOCS)
    for phrase in ("fine-tuning", "language model", "KV cache", "cache", "dark matter halo",
                   "tuning of", "x"):
        expected = [phrase_in(phrase, normalize_phrase(t)) for t in pool.texts]
        assert pool.with_phrase(phrase).tolist() == expected, phrase


def test_neighbours_are_the_nearest_others_by_centred_cosine():
    pool = pool_of([f"paper {i}" for i in range(60)], dim=16, seed=3)
    rows = np.array([0, 7, 59, 7])
    nn, sims = pool.neighbours(rows)
    full = pool.cen @ pool.cen.T
    np.fill_diagonal(full, -np.inf)
    for row, got, got_sims in zip(rows, nn, sims, strict=True):
        expected = np.argsort(-full[row])[: got.shape[0]]
        assert got.tolist() == expected.tolist()
        assert np.allclose(got_sims, full[row, expected], atol=1e-6)
    again, _ = pool.neighbours(np.array([59]))  # remembered, same answer
    assert again[0].tolist() == nn[2].tolist()


def test_neighbours_of_a_tiny_pool_never_include_the_paper_itself():
    pool = pool_of(["a", "b", "c"])
    nn, sims = pool.neighbours(np.arange(3))
    for row in range(3):
        real = nn[row][np.isfinite(sims[row])]
        assert sorted(real.tolist()) == sorted({0, 1, 2} - {row})


def test_followed_authors_match_full_names_and_initials():
    pool = pool_of(["a", "b", "c", "d"], authors=[["Yann LeCun"], ["Y. LeCun", "Ada Lovelace"],
                                                  ["Yvonne Lecun"], ["José Müller"]])
    assert pool.by_authors(["Yann LeCun"]) == {0: "Yann LeCun", 1: "Y. LeCun"}
    assert pool.by_authors(["Y LeCun"]) == {0: "Yann LeCun", 1: "Y. LeCun", 2: "Yvonne Lecun"}
    assert pool.by_authors(["Jose Muller", "nobody at all", "   "]) == {3: "José Müller"}
    assert name_key("José  Müller") == "jose muller"


def test_categories_name_the_papers_first_listed_match():
    pool = pool_of(["a", "b", "c"], cats=[["cs.LG", "cs.CL"], ["cs.CL"], ["astro-ph.GA"]])
    assert pool.in_categories(["cs.cl", "CS.LG"]) == {0: "cs.LG", 1: "cs.CL"}
    assert pool.in_categories([]) == {}


@pytest.mark.parametrize("text", ["", "the of and"])
def test_documents_without_terms_are_indexed_with_length_zero(text):
    index = BM25.build([text, "language models"])
    assert index.doc_len.tolist() == [0.0, 2.0]
    assert index.score(tokens("language"))[0] == 0.0
