"""papercast's contracts against a real local model (SmolLM2-135M on llama.cpp): ``make test-model``.

A 135M model is weak: it rambles, invents, forgets ids and calls tools badly. What must hold anyway:
nothing crashes (exit 0, or exit 1 with one line), every fallback is labelled (offline summaries
say so and why, skipped re-ranking is reported, offline chat answers say so), every cited id is a
paper of the library (or is flagged as not in it), and the wall time is what the policy allows
(``Lane.check_time``: one request at a time, no retry of a timed-out request, no waiting beyond the
server's own time on the requests and papercast's own work).
"""

from __future__ import annotations

import json
import re
from datetime import date

import httpx
import pytest

from papercast.cli import main
from papercast.models import normalize_arxiv_id

from llama_server import MODEL_NAME

pytestmark = pytest.mark.model_lane
ARXIV_ID = re.compile(r"(?<![\w.])(\d{4}\.\d{4,5})(?:v\d+)?(?![\w])")
TODAY = date(2026, 8, 21)  # the day after the bundled sample's last day


def library_ids(service, ids) -> set[str]:
    """The ids of ``ids`` that are papers of the library (one store read)."""
    return {p.id for p in service.papers_found(list(ids))} if ids else set()


def one_line_errors(err: str) -> list[str]:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, err
    return lines


def assert_timeouts_not_retried(log: str) -> None:
    """The policy: a timed-out request to a local server is never sent again."""
    assert not re.search(r"no answer (for|within) [^\n]*retrying in", log), log[-3000:]


# -- summarize ---------------------------------------------------------------------------------------------
def test_summarize_two_papers_labels_every_fallback_within_the_policy_time(lane, capsys):
    ids = [p.id for p in lane.service.list_papers(2)]
    lane.start()
    code = main(["--home", str(lane.home), "summarize", *ids, "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    errors = one_line_errors(out.err)
    rows = json.loads(out.out)
    assert [r["paper_id"] for r in rows] == ids
    for row in rows:
        if row["model"] == MODEL_NAME:
            assert row["label"] == f"summary by {MODEL_NAME}" and row["tldr"].strip()
        else:  # a fallback says it is one, and why; the run says so on stderr too
            assert row["model"] == "offline" and re.match(r"offline summary \(.+\)", row["label"]), row
            assert any(row["paper_id"] in e or "cannot get an answer" in e for e in errors), errors
    # One request per paper, one shorter or repair request after an unusable answer: never more.
    lane.check_time("summarize 2 papers", max_calls=2 * len(ids),
                    fallbacks=sum(r["model"] == "offline" for r in rows))
    assert_timeouts_not_retried(lane.log_text())


# -- recommend with the model's re-ranking -----------------------------------------------------------------
def test_recommend_reranks_the_top_k_or_says_which_it_skipped(lane, capsys):
    top_k = lane.service.settings.rerank_top_k
    lane.start()
    reading = lane.service.recommend(n=top_k)
    ids = [r.paper.id for r in reading.items]
    assert len(ids) == top_k and library_ids(lane.service, ids) == set(ids)
    reranked = [r for r in reading.items if any(reason.startswith("LLM ") for reason in r.reasons)]
    skipped = sum(int(m.group(1)) for note in reading.llm_notes
                  for m in [re.search(r"skipped for (\d+) of", note)] if m)
    assert len(reranked) + skipped == top_k, (reading.llm_notes, [r.reasons for r in reading.items])
    lane.check_time("recommend + re-rank of 10", max_calls=2 * top_k,
                    reranked=len(reranked), skipped=skipped)

    # The CLI: the same list (now from the response cache), its JSON contract, notes as one line each.
    code = main(["--home", str(lane.home), "recommend", "-n", "5", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    one_line_errors(out.err)
    items = json.loads(out.out)
    assert [i["id"] for i in items] == ids[:5]
    assert all({"id", "title", "score", "reasons", "published", "url"} <= set(i) for i in items)
    assert_timeouts_not_retried(lane.log_text())


# -- digest --------------------------------------------------------------------------------------------------
def test_digest_labels_every_summary_and_the_overview(lane, tmp_path, capsys):
    from papercast.tools.writing.summarize import summary_label

    out_file = tmp_path / "digest.md"
    lane.start()
    code = main(["--home", str(lane.home), "digest", "-n", "5", "--out", str(out_file)])
    out = capsys.readouterr()
    assert code == 0, out.err
    one_line_errors(out.err)
    text = out_file.read_text(encoding="utf-8")
    lane.check_time("digest of 5", offline_summaries=text.count("offline summary"))

    digest = lane.service.digest(n=5)  # the same digest, from stored summaries and the response cache
    assert digest.items and library_ids(lane.service, [i.paper.id for i in digest.items]) == {
        i.paper.id for i in digest.items}
    for item in digest.items:
        label = summary_label(item.summary)
        assert label in (f"TL;DR by {MODEL_NAME}", f"summary by {MODEL_NAME}") or re.match(
            r"offline summary \(.+\)", label), label
        assert item.paper.id in text
    assert digest.overview_by in (MODEL_NAME, "computed") and digest.overview.strip()
    assert MODEL_NAME in text  # the digest states its mode
    assert_timeouts_not_retried(lane.log_text())


# -- chat ----------------------------------------------------------------------------------------------------
def check_answer(service, data: dict) -> None:
    """A chat answer's contract: cited papers are in the library, ids in the text are either papers of
    the library or flagged as not, and fallbacks say what they are."""
    cited = [p["id"] for p in data["papers"]]
    assert library_ids(service, cited) == set(cited), data
    mentioned = {normalize_arxiv_id(m) for m in ARXIV_ID.findall(data["text"])}
    unknown = mentioned - library_ids(service, sorted(mentioned))
    flagged = {normalize_arxiv_id(u.split()[0].strip("[]")) for u in data.get("unverified", [])}
    assert unknown <= flagged, (unknown, data)
    if data.get("offline"):
        assert "offline" in data["text"].lower()
    if data.get("library_fallback"):
        assert "From your library" in data["text"]
    # Grounded: a question about the library ends with library papers, cited by the model or appended.
    assert cited or data.get("library_fallback") or data.get("offline"), data


def test_chat_one_shot_cites_only_library_papers(lane, capsys):
    lane.start()
    code = main(["--home", str(lane.home), "chat", "find papers about KV cache compression", "--json"])
    out = capsys.readouterr()
    errors = one_line_errors(out.err)
    assert code in (0, 1), out.err
    if code == 1:  # the model failed: one line saying so, nothing lost
        assert len(errors) == 1 and errors[0].startswith("papercast: error:"), errors
    else:
        data = json.loads(out.out)
        assert data["text"].strip()
        check_answer(lane.service, data)
    facts = {"exit": code} | ({k: data[k] for k in ("offline", "library_fallback", "unverified")}
                              | {"cited": len(data["papers"]), "tools": len(data["tools"])}
                              if code == 0 else {})
    lane.check_time("chat one-shot", **facts)
    assert_timeouts_not_retried(lane.log_text())


async def test_tui_chat_turn_shows_an_answer_that_cites_library_papers(lane):
    from papercast.service import Papercast
    from papercast.tui.screens.chat import ChatScreen
    from papercast.tui.widgets.chat import AgentMessage

    from tui_helpers import make_tui, wait_for, wait_loaded

    # The reading list's re-rank is the recommend test's business: the TUI opens with the quick ranking.
    service = Papercast(lane.service.settings.with_overrides(rerank_top_k=0))
    tui = make_tui(service)
    async with tui.run_test(size=(110, 34)) as pilot:
        await wait_loaded(pilot)
        await pilot.press("3")
        chat = await wait_for(pilot, lambda: isinstance(pilot.app.screen, ChatScreen) and pilot.app.screen)
        lane.start()
        await pilot.press(*"papers about long context", "enter")
        await wait_for(pilot, lambda: chat.turn >= 1 and not chat.streaming, timeout=900, what="the answer")
        lane.stop()
        await pilot.pause()
        answers = list(chat.query(AgentMessage))
        assert answers and answers[-1].text.strip()
        assert chat.mentioned, "the answer shows library papers (cited, or appended from the library)"
        assert library_ids(service, sorted(chat.mentioned)) == set(chat.mentioned)
        assert pilot.app.is_running  # no crash
    lane.check_time("TUI chat turn", cited=len(chat.mentioned))


# -- daily ---------------------------------------------------------------------------------------------------
def test_daily_builds_a_labelled_digest_without_the_network(lane, tmp_path):
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno -3] Temporary failure in name resolution", request=request)

    out_file = tmp_path / "daily.md"
    lane.start()
    report = lane.service.daily(out=out_file,
                                client=httpx.AsyncClient(transport=httpx.MockTransport(unreachable)),
                                today=TODAY, n=3)
    assert report.ok and len(report.recommended) == 3
    assert library_ids(lane.service, report.recommended) == set(report.recommended)
    assert all("\n" not in e for e in report.errors)
    text = out_file.read_text(encoding="utf-8")
    assert all(pid in text for pid in report.recommended)
    if report.fallbacks:
        assert "offline" in report.mode.lower() or "fell back" in report.mode.lower(), report.mode
    lane.check_time("daily (3 papers, no network)", fallbacks=report.fallbacks,
                    mode=report.mode)
    assert_timeouts_not_retried(lane.log_text())
