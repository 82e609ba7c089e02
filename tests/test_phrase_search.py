"""Search ranks the phrase typed (issue 24): words side by side and in order before scattered ones,
the title before the abstract, rare words and acronyms before common words, an acronym and its
expansion as one, and reasons that name the phrase.

Small hand-made candidate sets through ``HybridIndex`` and ``rank_candidates`` (the code the paper
search runs); the bundled sample's cases are in ``test_search.py``.
"""

from __future__ import annotations

import numpy as np

from papercast.tools.ranking.acronyms import TextLexicon, definitions, expansion_terms
from papercast.tools.ranking.lexical import BM25
from papercast.tools.ranking.proximity import closeness, field_terms, query_words
from papercast.tools.ranking.search import HybridIndex, parse_query, rank_candidates, term_weights


def _same_meaning(n: int) -> tuple[np.ndarray, np.ndarray]:
    """n candidates the query means equally: only the words can order them."""
    vectors = np.tile(np.eye(1, 8, dtype=np.float32), (n, 1))
    return vectors, vectors[0].copy()


def test_the_phrase_side_by_side_ranks_above_its_words_scattered():
    texts = ["The model is trained with a reward from human raters, and the policy follows it.",
             "We train a reward model from human preferences and use it to align the policy.",
             "A model of rewards: each reward is a number, and the model predicts the next one."]
    vectors, query = _same_meaning(len(texts))
    found = HybridIndex(texts, vectors).search("reward model", query, n=3)
    assert found[0].index == 1
    assert found[0].reasons[0] == "matches: the phrase 'reward model'"
    # The scattered words still match, and their reason lists them one by one.
    scattered = found[[m.index for m in found].index(0)]
    assert scattered.runs == [] and scattered.reasons[0] == "matches: reward, model"


def test_words_in_the_order_typed_beat_the_reverse_and_a_window_beats_far_apart():
    query = query_words("preference optimization")
    weights = {t: 1.0 for t in query.terms}
    adjacent = closeness(query.terms, weights, (),
                         field_terms("direct preference optimization of chat models"))
    reverse = closeness(query.terms, weights, (), field_terms("optimization of a user preference"))
    far = closeness(query.terms, weights, (),
                    field_terms("preference data was gathered from many annotators over several weeks in "
                                "three countries and twelve languages before any optimization"))
    assert adjacent.score > reverse.score > far.score == 0.0
    assert adjacent.phrases == ((0, 1),) and reverse.phrases == ()


def test_the_title_counts_more_than_the_abstract():
    query = query_words("test-time scaling")
    weights = {t: 1.0 for t in query.terms}
    in_title = closeness(query.terms, weights, field_terms("Test-Time Scaling for Reasoning"),
                         field_terms("We study how models think longer."))
    in_abstract = closeness(query.terms, weights, field_terms("Thinking Longer"),
                            field_terms("We study test-time scaling for reasoning."))
    assert in_title.score > in_abstract.score > 0 and in_title.title == 1.0 and in_abstract.title == 0.0
    # Through the search: the same words, one paper says them in its title.
    titles = ["Reasoning Models", "Test-Time Scaling of Reasoning Models"]
    abstracts = ["Test-time scaling lets reasoning models think longer.",
                 "They think longer, and we measure how much longer on each benchmark we know of."]
    index = BM25.build([f"{t}. {a}" for t, a in zip(titles, abstracts, strict=True)])
    vectors, qv = _same_meaning(2)
    found = rank_candidates(index, vectors, parse_query("test-time scaling"), qv, 2,
                            fields=lambda rows: [(titles[i], abstracts[i]) for i in rows])
    assert [m.index for m in found] == [1, 0]


def test_a_rare_word_or_an_acronym_carries_the_query():
    texts = ([f"Preference optimization for model {i}: the preference data and the optimization loop."
              for i in range(30)] + ["Agent safety as a runtime contract, beyond RLHF and DPO."])
    index = BM25.build(texts)
    weights, idf = term_weights(index, parse_query("preference optimization DPO"))
    assert weights["dpo"] > weights["prefer"] >= 1.0 and idf["dpo"] > idf["prefer"]
    # Written in capitals, a word weighs more than the same word in lower case.
    upper, _ = term_weights(index, parse_query("DPO preference"))
    lower, _ = term_weights(index, parse_query("dpo preference"))
    assert upper["dpo"] > lower["dpo"]


def test_acronyms_and_expansions_are_read_from_the_papers():
    text = ("We fine-tune with low-rank adaptation (LoRA) and align by Direct Preference Optimization "
            "(DPO; Rafailov et al.). Large language models (LLMs) keep a key-value (KV) cache. In this "
            "paper (ABC) nothing is defined, and (Smith, 2020) is a citation.")
    assert definitions(text) == [("LoRA", "low-rank adaptation"), ("DPO", "Direct Preference Optimization"),
                                 ("LLMs", "Large language models"), ("KV", "key-value")]
    lexicon = TextLexicon([text])
    assert [d.written for d, _ in lexicon.acronym_meanings(["llm"])["llm"]] == ["large language models"]
    keys = lexicon.acronyms_for([expansion_terms("direct preference optimisation".replace("s", "z"))])
    assert [d.short for k in keys for d, _ in lexicon.acronym_meanings([k])[k]] == ["DPO"]


def test_an_acronym_finds_the_papers_that_spell_it_out_and_the_reverse():
    texts = ["Direct preference optimization (DPO) aligns chat models without a reward model.",
             "We study direct preference optimization for chat models on new data.",
             "Preference data and optimization for diffusion language models.",
             "DPO improves chat alignment at a small cost.",
             "Galaxy halos in cosmological simulations."]
    vectors, qv = _same_meaning(len(texts))
    index = HybridIndex(texts, vectors)
    found = index.search("DPO", qv, n=5)
    order = [m.index for m in found]
    assert order.index(1) < order.index(2)  # spelled out: found although it never says "DPO"
    assert "matches: DPO as 'direct preference optimization'" in found[order.index(1)].reasons
    found = index.search("direct preference optimization", qv, n=5)
    order = [m.index for m in found]
    assert order.index(3) < order.index(4) and order.index(3) < order.index(2)
    assert any("'DPO'" in r for r in found[order.index(3)].reasons)


def test_a_short_or_ambiguous_acronym_does_not_stand_for_the_phrase():
    texts = ["Lookahead tokens drafted by speculative decoding (SD) predict what matters.",
             "On-policy SD lets agents learn from their own experience; SD is cheap.",
             "Decoding paths grow with content; speculative methods help.",
             "Galaxy halos in cosmological simulations."]
    vectors, qv = _same_meaning(len(texts))
    found = HybridIndex(texts, vectors).search("speculative decoding", qv, n=4)
    assert all(not m.aliases for m in found)  # "SD" is two letters: it names too many things
    assert [m.index for m in found][:2] == [0, 2]
    texts = ["Policy learning with self-distillation training (SDT) converges.",
             "Speech diffusion transformers (SDT) synthesize voices.",
             "An SDT for every voice, in real time.",
             "Training policies by distillation from themselves."]
    found = HybridIndex(texts, vectors).search("self-distillation training", qv, n=4)
    assert all(not m.aliases for m in found)  # the candidates define "SDT" two ways
