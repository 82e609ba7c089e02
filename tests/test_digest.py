"""The digest: offline and with the model, never empty, cached (a second digest sends nothing), budgeted,
rendered as Markdown / JSON / HTML with untrusted text escaped, and the ``digest`` command."""

from __future__ import annotations

import json
from datetime import date

import pytest

from papercast.models import Paper
from papercast.service import Papercast
from papercast.tools.writing.render import render_html, render_json, render_markdown
from papercast.tools.writing.summarize import summary_label

from helpers import paper_store
from llm_server import PaperModel, Reply

pytestmark = pytest.mark.usefixtures("litellm_loaded")


def test_offline_digest_has_everything_and_says_it_is_offline(service):
    digest = service.digest(n=5)
    assert len(digest.items) == 5 and digest.mode == "offline" and digest.overview_by == "computed"
    assert digest.window_count >= 5 and f"from {digest.window_count} papers" in digest.overview
    assert "Top themes:" in digest.overview
    text = render_markdown(digest)
    for item in digest.items:
        assert f"[abs](https://arxiv.org/abs/{item.paper.id})" in text
        assert f"[pdf](https://arxiv.org/pdf/{item.paper.id})" in text
        assert item.summary.tldr.split()[0] in text
    assert text.count("*(offline summary)*") == 5 and "**Why:**" in text
    assert "offline mode: no LLM used" in text and "## Overview" in text
    data = json.loads(render_json(digest))
    assert [i["id"] for i in data["items"]] == [i.paper.id for i in digest.items]
    assert data["items"][0]["summary"]["model"] == "offline" and data["mode"] == "offline"
    assert data["items"][0]["links"]["abs"].startswith("https://arxiv.org/abs/")
    assert render_html(digest).count("<h3>") == 5


def test_an_empty_window_the_user_gave_is_kept_and_said(service):
    """Issue 12: a window the user gave is kept (an empty digest with a note naming the newest papers)."""
    digest = service.digest(n=3, since=date(2020, 1, 1), until=date(2020, 1, 2))
    assert digest.items == [] and (digest.since, digest.until) == (date(2020, 1, 1), date(2020, 1, 2))
    assert digest.note and "no papers for 2020-01-01 .. 2020-01-02" in digest.note
    assert "the newest paper in the store is from" in digest.note
    assert "**Note:** no papers for" in render_markdown(digest)


def test_the_default_window_falls_back_to_the_latest_week_with_papers(service):
    digest = service.digest(n=3)
    assert len(digest.items) == 3 and digest.until == paper_store(service).newest_date()


def test_untrusted_text_is_escaped_in_every_format(service):
    day = service.list_papers(1)[0].published
    paper = Paper(id="2611.00042",
                  title="<script>alert(1)</script> *long-context* [fine-tuning](http://evil)",
                  abstract="Efficient fine-tuning of LLMs for long-context modelling and long-output "
                  "generation.",
                  published=day, categories=["cs.CL"], github_repo="org/repo", upvotes=500, sources=["hf"])
    store = paper_store(service)
    store.upsert([paper], embeddings={paper.id: store.embed_texts([paper.embedding_text])[0]})
    digest = service.digest(n=5)
    assert paper.id in [i.paper.id for i in digest.items]
    html = render_html(digest)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="https://github.com/org/repo"' in html
    md = render_markdown(digest)
    assert "<script>" not in md and r"\<script\>" in md and "[fine-tuning](http://evil)" not in md
    assert ("[code](https://github.com/org/repo)" in md
            and f"[HF](https://huggingface.co/papers/{paper.id})" in md)


def test_llm_digest_then_a_second_digest_sends_nothing(make_service, llm_server, llm_settings):
    model = PaperModel()
    llm_server.responder = model
    service = make_service(llm_settings)
    digest = service.digest(n=5)
    # top 30 re-ranked in batches of 15, one batch of TL;DRs for the 5 picks, one overview
    assert model.seen == {"rerank": 2, "tldr": 1, "overview": 1}
    assert len(llm_server.requests) == 4
    assert digest.overview == "Today brings 5 papers worth reading. They share a common theme."
    assert digest.overview_by == "openai/test-model" and digest.mode == "openai/test-model"
    assert [i.summary.tldr for i in digest.items] == [f"TL;DR of {i.paper.id} in one short sentence."
                                                      for i in digest.items]
    assert all(i.recommendation.reasons[-1].startswith("LLM ") for i in digest.items)
    assert digest.usage.calls == 4 and digest.usage.total_tokens > 0
    text = render_markdown(digest)
    assert "*(written by openai/test-model)*" in text and text.count("*(TL;DR by openai/test-model)*") == 5
    assert "LLM usage this run: 4 LLM calls" in text

    again = Papercast(service.settings).digest(n=5)  # a new process: new run id
    assert len(llm_server.requests) == 4
    assert [i.paper.id for i in again.items] == [i.paper.id for i in digest.items]
    assert (again.overview == digest.overview
            and [i.summary for i in again.items] == [i.summary for i in digest.items])
    assert again.usage.calls == 0 and again.usage.total_tokens == 0 and again.usage.cached_calls == 3
    assert "0 LLM calls, 3 from cache" in render_markdown(again)
    runs = service.usage_runs()
    assert [r.calls for r in runs] == [0, 4] and runs[0].cached_calls == 3


def test_digest_prefers_stored_full_summaries(make_service, llm_server, llm_settings):
    model = PaperModel()
    llm_server.responder = model
    service = make_service(llm_settings)
    first = service.digest(n=3)
    full = service.summarize([first.items[0].paper.id])[0]
    assert full.contributions and model.seen["summary"] == 1
    again = Papercast(service.settings).digest(n=3)
    assert again.items[0].summary == full and "summary by openai/test-model" in render_markdown(again)
    assert again.items[1].summary == first.items[1].summary  # the stored TL;DR
    assert model.seen == {"rerank": 2, "tldr": 1, "overview": 2, "summary": 1}  # new TL;DR -> new overview


def test_unusable_tldrs_fall_back_to_labelled_offline_summaries(make_service, llm_server, llm_settings):
    model = PaperModel()
    llm_server.responder = lambda body: (Reply.truncated('{"papers": [{"id"') if "Write TL;DRs" in
                                         json.dumps(body) else model(body))
    service = make_service(llm_settings)
    digest = service.digest(n=3)
    assert all(summary_label(i.summary) == "offline summary (the model's answer was unusable)"
               for i in digest.items)
    assert any("TL;DRs of 3 papers" in n for n in digest.notices)
    assert sum("Write TL;DRs" in json.dumps(b) for b in llm_server.requests) == 2  # the answer and one repair


def test_budget_reached_mid_digest_stops_llm_work_with_a_notice(make_service, llm_server, llm_settings):
    llm_server.responder = PaperModel()
    service = make_service(llm_settings, model="openai/gpt-4o-mini", max_usd_per_run=1e-7, llm_concurrency=1)
    digest = service.digest(n=4)
    assert len(llm_server.requests) == 1  # the first rerank batch spent the budget
    [notice] = [n for n in digest.notices if "budget" in n]
    assert notice.startswith("LLM re-ranking skipped for 15 of 30 papers: LLM budget of $1e-07 per run "
                             "reached")
    assert all(i.summary.model == "offline" for i in digest.items)
    assert all("LLM budget reached" in i.summary.prompt_version for i in digest.items)
    assert digest.overview_by == "computed" and len(digest.items) == 4
    assert "budget" in render_markdown(digest)


def test_unreachable_model_still_gives_a_full_digest(make_service, llm_server, llm_settings):
    llm_server.default = Reply.error(500)
    service = make_service(llm_settings, llm_concurrency=1)
    digest = service.digest(n=3)
    assert len(digest.items) == 3 and digest.overview_by == "computed"
    assert all(i.summary.model == "offline" for i in digest.items)
    failures = [n for n in digest.notices if "cannot get an answer" in n]
    assert len(failures) >= 1 and all("\n" not in n for n in digest.notices)
    assert len(llm_server.requests) == 2  # one call and its retry; everything after fails fast


# -- the command ---------------------------------------------------------------------------------------
def test_cli_digest_writes_json_and_markdown(service, tmp_path, capsys):
    from papercast.cli import main

    home = str(service.settings.home)
    out = tmp_path / "digest.json"
    assert main(["--home", home, "digest", "-n", "3", "--format", "json", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert len(data["items"]) == 3 and data["mode"] == "offline"
    assert "wrote the digest of 3 papers" in capsys.readouterr().err
    assert main(["--home", home, "digest", "-n", "2"]) == 0
    assert capsys.readouterr().out.startswith("# papercast digest")


@pytest.mark.parametrize("args", [["-n", "0"], ["--out", "/nonexistent-dir/x.md"],
                                  ["--since", "yesterdayish"]])
def test_cli_digest_bad_input_is_exit_2(service, capsys, args):
    from papercast.cli import main

    assert main(["--home", str(service.settings.home), "digest", *args]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_no_llm_digest_sends_nothing_and_says_offline(make_service, llm_server, llm_settings):
    digest = make_service(llm_settings).digest(n=3, use_llm=False)
    assert llm_server.requests == [] and digest.mode == "offline" and digest.overview_by == "computed"
    assert "offline mode: no LLM used" in render_markdown(digest)
