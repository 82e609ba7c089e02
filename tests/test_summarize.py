"""Summaries: offline extractive ones, and LLM ones through the loopback server (valid, invalid then
valid, truncated, near-miss JSON, model down), stored once per model and prompt, and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from papercast.models import Paper
from papercast.service import Papercast
from papercast.tools.writing.roles import predict
from papercast.tools.writing.summarize import summary_label
from papercast.tools.writing.summary_draft import parse_summary
from papercast.tools.writing.summary_prompts import PROMPT_VERSION
from papercast.tools.writing.summary_text import read_alone, split_sentences

from helpers import llm_log, paper_store
from llm_server import PaperModel, Reply

pytestmark = pytest.mark.usefixtures("litellm_loaded")
GOOD = {"tldr": "A method that compresses the KV cache with no loss.", "contributions": ["one", "two"],
        "method": "Block-sparse attention.", "results": "2x faster.", "limitations": "not stated",
        "keywords": ["kv cache", "attention"]}


@pytest.fixture
def llm_app(llm_settings, make_service) -> Papercast:
    return make_service(llm_settings)


def sample_ids(service: Papercast, n: int) -> list[str]:
    return [p.id for p in service.list_papers(n)]


# -- offline ----------------------------------------------------------------------------------------
def test_offline_summary_is_extractive_labelled_and_stored(service):
    paper = service.list_papers(1)[0]
    [summary] = service.summarize([paper.id])
    assert summary.model == "offline" and summary_label(summary) == "offline summary"
    sentences = split_sentences(paper.abstract)
    tldr = summary.tldr.rstrip("…")
    assert tldr and any(read_alone(s).startswith(tldr) for s in sentences)
    assert len(summary.tldr.split()) <= 30
    assert all(c in sentences for c in summary.contributions)
    assert summary.keywords
    assert llm_log(service).get_summary(paper.id, "offline", summary.prompt_version) == summary
    assert service.summarize([paper.id]) == [summary]


def test_offline_fields_are_the_sentences_of_their_roles(service):
    """The TL;DR is the surest objective sentence (else a method one), the method the method sentences,
    the results the result sentences and the contributions what is left of those three roles (never the
    background), by the sentence-role model on the bundled embedder's token states."""
    checked = 0
    for paper in service.list_papers(40):
        sentences = split_sentences(paper.abstract)
        if len(sentences) < 5 or paper.ai_summary:
            continue
        [summary] = service.summarize([paper.id])
        roles = predict(paper_store(service).embed_tokens(sentences), sentences)
        of = {role: [s for s, (r, _) in zip(sentences, roles, strict=True) if r == role]
              for role in ("objective", "method", "result")}
        tldr = summary.tldr.rstrip("…")
        if of["objective"]:
            assert any(read_alone(s).startswith(tldr) for s in of["objective"])
        if of["result"]:
            assert summary.results and summary.results.startswith(tuple(of["result"]))
        if of["method"] and len(of["method"]) + len(of["objective"]) > 1:
            assert summary.method and summary.method.startswith(tuple(of["method"]))
        source = next(s for s in sentences if read_alone(s).startswith(tldr))  # the tldr's own sentence
        said = " ".join([source, summary.method, summary.results])
        left = [s for s in sentences if s in of["objective"] + of["method"] + of["result"] and s not in said]
        assert all(c in left for c in summary.contributions)
        assert bool(summary.contributions) == bool(left)
        checked += 1
        if checked == 5:
            break
    assert checked == 5


def test_offline_tldr_reads_alone(service):
    """A TL;DR lifted from an abstract drops the connective that pointed to the sentence before it: the
    sample's FlashPrefill V2 abstract lists its method as "First, we introduce ...", "Second, we redesign
    ...", and the TL;DR is one of them (the role model's surest method sentence), read alone."""
    [paper] = service.get_papers(["2608.19758"])
    listed = [s for s in split_sentences(paper.abstract) if s.startswith(("First, ", "Second, ", "Third, "))]
    assert len(listed) == 3
    [summary] = service.summarize([paper.id])
    assert any(read_alone(s).startswith(summary.tldr.rstrip("…").rstrip()) for s in listed), summary.tldr
    assert not summary.tldr.startswith(("First", "Second", "Third"))


@pytest.mark.parametrize(("sentence", "alone"), [
    ("First, we introduce a loss.", "We introduce a loss."),
    ("To this end, we train a probe.", "We train a probe."),
    ("Specifically , eBPF hooks trace calls.", "eBPF hooks trace calls."),
    ("In this paper, we study X.", "In this paper, we study X."),  # reads alone already
    ("Thenceforth we go.", "Thenceforth we go."),  # a word that only starts like one
    ("Finally,", "Finally,"),  # nothing after it: kept as it is
])
def test_read_alone_drops_a_leading_connective(sentence, alone):
    assert read_alone(sentence) == alone


def test_offline_summary_uses_hf_ai_summary_and_keywords(service):
    paper = Paper(id="2611.00001", title="Sparse Prefill", abstract="We propose a thing. It works well on "
                  "long inputs. Results show gains of 20% on RULER.", ai_summary="Sparse prefill makes long "
                  "prompts cheap.", ai_keywords=["Sparse Attention", "Prefill"], sources=["hf"])
    paper_store(service).upsert([paper], embeddings={paper.id: np.ones(384, dtype=np.float32) / np.sqrt(384)})
    [summary] = service.summarize([paper.id])
    assert summary.tldr == "Sparse prefill makes long prompts cheap."
    assert summary.keywords == ["sparse attention", "prefill"]
    assert "20%" in summary.results


# -- with the model ---------------------------------------------------------------------------------
def test_llm_summary_is_validated_stored_and_never_asked_twice(llm_app, llm_server):
    model = PaperModel()
    llm_server.responder = model
    ids = sample_ids(llm_app, 3)
    summaries = llm_app.summarize(ids)
    assert [s.paper_id for s in summaries] == ids
    assert all(s.model == "openai/test-model" and s.prompt_version == PROMPT_VERSION for s in summaries)
    assert summary_label(summaries[0]) == "summary by openai/test-model"
    assert len(llm_server.requests) == 3
    body = llm_server.requests[0]
    assert body["response_format"] == {"type": "json_object"}
    system, user = body["messages"][0]["content"], body["messages"][1]["content"]
    assert "untrusted data" in system and "<paper id=" in user
    # A new process (new service, new run) gets them from the store: zero requests.
    again = Papercast(llm_app.settings).summarize(ids)
    assert again == summaries and len(llm_server.requests) == 3


def test_invalid_json_then_valid(llm_app, llm_server):
    llm_server.queue(Reply.text('Sure! {"tldr": "broken, "contributions": ['), Reply.json(GOOD))
    [summary] = llm_app.summarize(sample_ids(llm_app, 1))
    assert summary.tldr == GOOD["tldr"] and summary.model == "openai/test-model"
    assert len(llm_server.requests) == 2
    repair = llm_server.requests[1]["messages"]
    assert repair[-2]["role"] == "assistant" and "not valid JSON" in repair[-1]["content"]


def test_truncated_twice_falls_back_to_the_labelled_offline_summary(llm_app, llm_server):
    cut = json.dumps(GOOD)[:40]
    llm_server.queue(Reply.truncated(cut), Reply.truncated(cut))
    [summary] = llm_app.summarize(sample_ids(llm_app, 1))
    assert summary.model == "offline"
    assert summary_label(summary) == "offline summary (the model's answer was unusable)"
    assert len(llm_server.requests) == 2
    # The second request is a shorter one (half the abstract, asking for brevity), not a repair of
    # the cut answer, and may use more tokens.
    first, second = llm_server.requests
    assert "under 120 words" in second["messages"][-1]["content"]
    assert len(second["messages"][-1]["content"]) < len(first["messages"][-1]["content"])
    assert all(m["role"] != "assistant" for m in second["messages"])
    assert second["max_tokens"] > first["max_tokens"]
    assert any("cut off twice" in n and "used the offline summary" in n for n in llm_app.llm_notices())
    # The bad answers are cached: a new run pays nothing for the same request.
    assert Papercast(llm_app.settings).summarize(sample_ids(llm_app, 1))[0].model == "offline"
    assert len(llm_server.requests) == 2


def test_near_miss_json_is_normalised(llm_app, llm_server):
    long_tldr = " ".join(["word"] * 50) + ". A second sentence."
    llm_server.queue(Reply.text("```json\n" + json.dumps({
        "tldr": long_tldr, "contributions": [f"c{i}" for i in range(6)], "method": ["a", "b"],
        "results": None, "keywords": "Alpha, Beta , gamma"}) + "\n```"))
    [summary] = llm_app.summarize(sample_ids(llm_app, 1))
    assert summary.model == "openai/test-model"
    assert len(summary.tldr.split()) == 30 and "second" not in summary.tldr
    assert summary.contributions == ["c0", "c1", "c2", "c3"]
    assert (summary.keywords == ["alpha", "beta", "gamma"] and summary.method == "a b"
            and summary.results == "")
    assert len(llm_server.requests) == 1


def test_model_down_gives_offline_summaries_with_one_notice(llm_app, llm_server):
    llm_server.default = Reply.error(500)
    summaries = llm_app.summarize(sample_ids(llm_app, 3))
    assert all(summary_label(s) == "offline summary (model unavailable)" for s in summaries)
    notices = llm_app.llm_notices()
    assert len([n for n in notices if "cannot get an answer" in n]) == 1
    assert len(llm_server.requests) <= 2 * 3  # retries for the first, then every later call fails fast


@pytest.mark.parametrize("text", ["", "null", "[]", '{"tldr": 5}', '{"tldr": ""}', "{" * 5000,
                                  '"just a string"', '{"summary": {"tldr": "Nested but fine, really."}}'])
def test_parse_summary_rejects_garbage_with_valueerror_only(text):
    try:
        draft = parse_summary(text)
    except ValueError:
        return
    assert draft.tldr  # the nested one is accepted


# -- CLI ------------------------------------------------------------------------------------------------
def test_cli_summarize_unknown_id_is_one_line_exit_2(service, capsys):
    from papercast.cli import main

    code = main(["--home", str(service.settings.home), "summarize", "2101.00001", "not-an-id-at-all"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "not-an-id-at-all" in err
    code = main(["--home", str(service.settings.home), "summarize", "2101.00001"])
    err = capsys.readouterr().err
    assert code == 2 and "unknown paper id: 2101.00001" in err


def test_cli_summarize_json_offline(service, capsys):
    from papercast.cli import main

    pid = sample_ids(service, 1)[0]
    assert main(["--home", str(service.settings.home), "summarize", pid, "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["paper_id"] == pid and row["label"] == "offline summary" and row["tldr"]


@pytest.mark.parametrize("text", ["", "null", "{}", '{"papers": 3}', '{"papers": [{"id": "a", "tldr": ""}]}',
                                  '{"papers": [{"id": "zzz", "tldr": "Other paper entirely here."}]}',
                                  '{"a": "A direct mapping of id to TL;DR works."}'])
def test_parse_tldrs_never_raises_anything_but_valueerror(text):
    from papercast.tools.writing.summarize import parse_tldrs

    try:
        got = parse_tldrs(text, "stop", ["a"])
    except ValueError:
        return
    assert got["a"].tldr == "A direct mapping of id to TL;DR works."
