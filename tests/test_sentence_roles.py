# ruff: noqa: F811  (pytest fixtures imported from helper modules are redefined as arguments)
"""Sentence roles: the shipped model on a plain abstract and on bad input, roles remembered once computed,
offline summaries picking fields by role (and redone once), ``papers show --json`` / ``read --json``, the
agent's ``get_paper``, the TUI's highlighted abstract and result lines, and the digest's result sentences."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest

from papercast.agent.tool_types import ToolContext
from papercast.agent.toolbox import PaperArgs, get_paper
from papercast.cli import main
from papercast.models import Paper, Summary, result_sentence
from papercast.service import Papercast
from papercast.tools.writing.roles import (
    ROLE_BATCH,
    ROLES,
    WEIGHTS,
    abstract_roles,
    load_model,
    predict,
    predict_many,
)
from papercast.tools.writing.summarize import OFFLINE_VERSION
from papercast.tools.writing.summary_text import read_alone

from helpers import CountingEmbed, llm_log, paper_store
from tui_helpers import open_first_paper, tui, wait_for, wait_loaded  # noqa: F401

ABSTRACT = [
    "Large language models are increasingly used to read long documents such as books and code bases.",
    "However, their key-value cache grows linearly with the context and quickly exhausts GPU memory.",
    "In this paper, we study how to compress the key-value cache without losing accuracy.",
    "We propose KVZip, which scores every cached token by how well it helps reconstruct the context and "
    "evicts the lowest-scoring ones.",
    "Experiments on LongBench and RULER show that KVZip reduces cache memory by 3x while matching the "
    "accuracy of the full cache.",
]
PAPER = Paper(id="2611.00042", title="KVZip: compressing the key-value cache", abstract=" ".join(ABSTRACT),
              authors=["A. Author"], published="2026-08-20", categories=["cs.CL"])


def add_paper(service: Papercast, paper: Paper = PAPER) -> None:
    paper_store(service).upsert([paper], embeddings={paper.id: np.ones(384, dtype=np.float32) / np.sqrt(384)})


def test_shipped_weights_are_small_and_read_a_plain_abstract_in_order(service):
    assert WEIGHTS.stat().st_size <= 2_000_000
    assert (WEIGHTS.parent / "sentence_roles.LICENSE").is_file()
    tokens = paper_store(service).embed_tokens(ABSTRACT)
    roles = [role for role, _ in predict(tokens, ABSTRACT)]
    assert roles[0] == "background" and roles[3] == "method" and roles[4] == "result"
    assert roles[2] in ("objective", "method")


BAD = {
    "one sentence": "We propose a method for graphs.",
    "200 sentences": " ".join(f"Claim {i} holds here." for i in range(200)),
    "no punctuation": "we study graphs and we show bounds and we also run experiments on many datasets " * 5,
    "latex": r"We prove that $\mathcal{O}(n \log n)$ bounds hold for \emph{all} graphs \cite{x}. "
             r"Our \textbf{main result} is Theorem~\ref{thm:1}. $$\sum_{i=1}^n x_i^2 \leq 1$$",
    "german": "Wir untersuchen neuronale Netze. Unsere Methode verbessert die Genauigkeit um 5 Prozent.",
    "chinese": "我们提出了一种新的方法。实验表明该方法优于基线。",
    "empty": "",
    "markup and symbols": "<b>&&&</b> ??? !!! ... --- ### $$$ ]] [[ {{ }}",
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_gets_sensible_roles_never_an_error(service, name):
    paper = Paper(id="2611.00043", title="x", abstract=BAD[name])
    [roles] = abstract_roles([paper], store=paper_store(service), db_path=service.settings.db_path).values()
    assert all(r.role in ROLES and 0.0 <= r.confidence <= 1.0 and r.text for r in roles)
    assert all(r.text in " ".join(BAD[name].split()) for r in roles)
    if name == "200 sentences":
        assert len(roles) == 200
    if name in ("one sentence", "no punctuation"):
        assert len(roles) == 1


def test_states_of_another_model_give_other_rather_than_an_error():
    assert predict([np.ones((5, 768), dtype=np.float32)] * 3) == [("other", 0.0)] * 3
    assert predict([]) == []
    nan = predict([np.full((4, 384), np.nan, dtype=np.float32)] * 2, ["a b", "c d"])  # NaNs still give roles
    assert [role for role, _ in nan] and all(role in ROLES for role, _ in nan)
    assert predict([np.zeros((0, 384), dtype=np.float32)], [""])[0][0] in ROLES  # no tokens at all


def test_abstracts_read_together_get_the_roles_they_get_alone(service):
    """The GRUs of a batch's abstracts run side by side, shorter ones padded: padding must not reach
    a real sentence, in either direction, and a batch boundary must not change a role."""
    texts = [ABSTRACT, ABSTRACT[:2], [ABSTRACT[4]], ABSTRACT[::-1], BAD["german"].split(". ")]
    tokens = [paper_store(service).embed_tokens(t) for t in texts]
    alone = [predict(s, t) for s, t in zip(tokens, texts, strict=True)]
    assert predict_many(list(zip(tokens, texts, strict=True))) == alone
    many = [(tokens[i % 5], texts[i % 5]) for i in range(ROLE_BATCH + 7)]  # two batches
    assert predict_many(many) == [alone[i % 5] for i in range(ROLE_BATCH + 7)]


def test_roles_are_computed_once_then_remembered_until_the_abstract_changes(service):
    add_paper(service)
    counter = CountingEmbed()
    first = Papercast(service.settings, embed=counter)
    roles = first.abstract_roles(PAPER.id)
    assert [r.text for r in roles] == ABSTRACT and len(counter.texts) == len(ABSTRACT)
    again = Papercast(service.settings, embed=counter)  # a new process: nothing embedded
    assert again.abstract_roles(PAPER.id) == roles and len(counter.texts) == len(ABSTRACT)
    changed = PAPER.model_copy(update={"abstract": " ".join(ABSTRACT[:3])})
    assert [r.text for r in again.sentence_roles([changed])[PAPER.id]] == ABSTRACT[:3]
    assert len(counter.texts) == len(ABSTRACT) + 3
    assert load_model().version.startswith("roles-")


def test_offline_summary_fields_come_from_their_roles_and_old_ones_are_redone(service):
    add_paper(service)
    old = Summary(paper_id=PAPER.id, tldr="an old tldr", model="offline", prompt_version="extractive-v1")
    llm_log(service).put_summary(old)
    [summary] = service.summarize([PAPER.id])
    assert summary.prompt_version == OFFLINE_VERSION != "extractive-v1"
    roles = {r.text: r.role for r in service.abstract_roles(PAPER.id)}
    assert roles[ABSTRACT[3]] == "method" and roles[ABSTRACT[4]] == "result"
    assert ABSTRACT[4] in summary.results
    # the TL;DR is the surest objective or method sentence; the method field the other method sentences
    assert summary.tldr.rstrip("…") in ABSTRACT[2] + ABSTRACT[3]
    tldr = next(s for s in ABSTRACT if s.startswith(summary.tldr.rstrip("…")))
    assert roles[tldr] in ("objective", "method")
    in_method = [s for s in ABSTRACT if s in summary.method]
    assert in_method and tldr not in in_method and all(roles[s] == "method" for s in in_method)
    # the summary remembered the roles on its way: showing them embeds nothing
    counter = CountingEmbed()
    assert Papercast(service.settings, embed=counter).abstract_roles(PAPER.id) and len(counter.texts) == 0


def test_show_and_read_json_carry_the_abstract_roles(service, capsys):
    add_paper(service)
    home = str(service.settings.home)
    assert main(["--home", home, "papers", "show", PAPER.id, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)["abstract_roles"]
    assert [r["text"] for r in shown] == ABSTRACT and shown[4]["role"] == "result"
    assert all(set(r) == {"text", "role", "confidence"} for r in shown)
    assert main(["--home", home, "read", PAPER.id, "--json"]) == 0  # full-text reading is off in tests
    assert json.loads(capsys.readouterr().out)["abstract_roles"] == shown


def test_the_agents_get_paper_tool_tags_each_sentence(service):
    add_paper(service)
    output = asyncio.run(get_paper(ToolContext(library=service), PaperArgs(id=PAPER.id)))
    assert f"[result] {ABSTRACT[4]}" in output.text and f"[background] {ABSTRACT[0]}" in output.text


def test_a_result_sentence_is_shown_read_alone(service):
    """Under a title or beside a pick, the result sentence drops a connective that points to the one
    before it: the sample's EnvHarness abstract says "Furthermore, EnvHarness provides ..."."""
    [paper] = service.get_papers(["2608.19880"])
    raw = result_sentence(service.sentence_roles([paper])[paper.id])
    assert raw.startswith("Furthermore, EnvHarness provides")
    assert service.result_sentences([paper]) == {paper.id: raw.removeprefix("Furthermore, ")}


def test_digest_shows_each_picks_result_sentence_when_asked(service, capsys, tmp_path: Path):
    home = str(service.settings.home)
    out = tmp_path / "digest.md"
    assert main(["--home", home, "digest", "-n", "3", "--no-llm", "--out", str(out), "--results"]) == 0
    text = out.read_text()
    assert text.count("**Result** ") >= 2
    digest = service.digest(n=3, use_llm=False, results=True)
    roles = service.sentence_roles([i.paper for i in digest.items])
    assert [i.result for i in digest.items] == [read_alone(result_sentence(roles[i.paper.id]))
                                              for i in digest.items]
    assert main(["--home", home, "digest", "-n", "3", "--no-llm", "--format", "html", "--results"]) == 0
    assert "<b>Result</b>" in capsys.readouterr().out
    assert not any(i.result for i in service.digest(n=3, use_llm=False).items)  # only when asked


async def test_paper_view_highlights_the_abstract_by_role_with_a_legend(tui, service):
    async with tui.run_test(size=(100, 32)) as pilot:
        home, row, paper = await open_first_paper(pilot)
        await wait_for(pilot, lambda: paper.roles is not None, what="the roles")
        await pilot.pause()
        shown = str(paper.query_one("#paper-abstract").render())
        roles = service.abstract_roles(row.paper.id)
        tags = {"background": "BKG", "objective": "OBJ", "method": "MTH", "result": "RES", "other": "···"}
        for r in roles:
            tag = tags[r.role]
            assert f"{tag} │ {r.text}" in shown
        legend = str(paper.query_one("#roles-legend").render())
        assert paper.query_one("#roles-legend").display and all(role in legend for role in ROLES)


async def test_reading_list_toggles_each_papers_result_sentence(tui, service):
    async with tui.run_test(size=(100, 32)) as pilot:
        home = await wait_loaded(pilot)
        await pilot.press("v")
        # found a few rows at a time, top first (the first time embeds the abstracts)
        await wait_for(pilot, lambda: home.papers.rows[0].result, timeout=60, what="the first result lines")
        top = home.papers.rows[:5]
        roles = service.sentence_roles([r.paper for r in top])
        assert [r.result for r in top] == [read_alone(result_sentence(roles[r.paper.id])) for r in top]
        assert any(r.result for r in top)
        await pilot.press("v")
        await pilot.pause()
        assert not any(r.result for r in home.papers.rows)
