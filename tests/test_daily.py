"""The daily graph: real source responses through httpx.MockTransport, the real store, ranking,
summaries and digest, email to a real SMTP server on 127.0.0.1; the model (when there is one) is the
scripted server. Failing servers answer ``Retry-After: 0`` so retries cost no waiting.
"""

from __future__ import annotations

import json
from datetime import date

import httpx
import pytest

from papercast.cli import main
from papercast.service import Papercast

import smtp_helpers
from llm_server import Reply, point_settings
from smtp_helpers import parts

smtp_plain = smtp_helpers.smtp_plain
FIXTURE = "hf_daily_papers_2026-08-21.json"
TODAY = date(2026, 8, 21)


def transport(fixtures_dir, *, hf_ok: bool = True, offline: bool = False) -> httpx.AsyncClient:
    """HF answers with the real Daily Papers fixture (or 500s); arXiv always answers 500."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.host)
        if offline:
            raise httpx.ConnectError("[Errno -3] Temporary failure in name resolution", request=request)
        if request.url.host == "huggingface.co" and hf_ok:
            return httpx.Response(200, content=(fixtures_dir / FIXTURE).read_bytes())
        return httpx.Response(500, headers={"Retry-After": "0"}, text="down for maintenance")

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client.seen = seen  # type: ignore[attr-defined]
    return client


def test_one_source_failing_still_makes_a_digest_and_emails_it(settings, fixtures_dir, tmp_path, smtp_plain):
    service = Papercast(settings.with_overrides(smtp_host=smtp_plain.host, smtp_port=smtp_plain.port))
    hf_papers = json.loads((fixtures_dir / FIXTURE).read_text())
    client = transport(fixtures_dir)
    out = tmp_path / "digest.md"
    lines: list[str] = []
    report = service.daily(out=out, email="me@example.com", client=client, today=TODAY, n=5, say=lines.append)

    assert report.ok
    assert report.fetched["hf"] == len(hf_papers) > 0 and report.fetched["arxiv"] == 0
    assert any(h.endswith("arxiv.org") for h in client.seen)
    [error] = [e for e in report.errors if e.startswith("arxiv")]
    assert "HTTP 500" in error and "\n" not in error
    assert service.count() == len(hf_papers) == report.stored["added"]  # everything fetched is stored
    assert len(report.recommended) == 5 and report.summarized == 5
    assert not report.offline_network
    # The digest: written atomically to --out, and mentions the failure.
    text = out.read_text()
    assert text == report.markdown and report.out == str(out)
    top = service.get_paper(report.recommended[0])
    assert top.title.split(":")[0] in text
    assert "arxiv: HTTP 500" in text
    assert not list(tmp_path.glob(".*.tmp"))
    # ... and emailed as text + HTML.
    assert report.emailed == "me@example.com"
    [message] = smtp_plain.sink.messages
    assert message["Subject"].startswith("papercast digest") and "5 papers for default" in message["Subject"]
    body = parts(message)
    assert body["text/plain"].replace("\r\n", "\n").strip() == report.markdown.strip()
    assert "<html>" in body["text/html"] and "arxiv: HTTP 500" in body["text/html"]
    assert any(line.startswith("fetch hf:") for line in lines)  # -v progress lines


def test_without_network_the_digest_comes_from_the_store(settings, fixtures_dir):
    service = Papercast(settings)
    service.ensure_sample()
    report = service.daily(client=transport(fixtures_dir, offline=True), today=TODAY, n=3)
    assert report.offline_network and report.ok
    assert report.fetched == {"hf": 0, "arxiv": 0} and report.stored == {}
    assert len(report.recommended) == 3
    assert "no network" in report.markdown


def test_nothing_fetched_and_nothing_stored_is_not_ok(settings, fixtures_dir):
    report = Papercast(settings).daily(client=transport(fixtures_dir, hf_ok=False), today=TODAY)
    assert not report.ok and "no papers in the store yet" in report.markdown
    assert {e.split(":")[0] for e in report.errors} == {"hf", "arxiv"}
    assert not report.offline_network  # the servers answered: this is not "no network"


def test_a_failing_model_does_not_stop_the_pipeline(settings, fixtures_dir, llm_server, monkeypatch):
    llm_server.responder = lambda body: Reply.error(500)
    service = Papercast(point_settings(llm_server, settings, monkeypatch, llm_retries=0))
    service.ensure_sample()  # the stored papers (no embedding work): the model is what this test is about
    report = service.daily(client=transport(fixtures_dir, offline=True), today=TODAY, n=3)
    assert report.ok and len(report.recommended) == 3 and report.summarized == 3
    assert llm_server.requests  # the model was asked ...
    assert any(e.startswith("llm:") for e in report.errors)  # ... its failure is reported
    assert "(offline" in report.markdown or "extractive" in report.markdown.lower()


def test_a_failing_embedding_model_is_reported_not_raised(settings, fixtures_dir, llm_server, monkeypatch):
    """Ranking needs the embedding model for the interests; when it fails, the retry without the chat
    model fails the same way: the run reports it and still finishes (no traceback, no lost state)."""
    from llm_server import point_embedding

    llm_server.responder = lambda body: Reply.error(500)
    service = Papercast(point_embedding(llm_server, point_settings(llm_server, settings, monkeypatch,
                                                               llm_retries=0), monkeypatch))
    service.ensure_sample()  # embedded through the loopback server while it works
    llm_server.queue_embeddings(*[Reply.error(500)] * 20)
    report = service.daily(client=transport(fixtures_dir, offline=True), today=TODAY, n=3)
    assert not report.ok and report.recommended == []
    assert any(e.startswith("rank:") and "PAPERCAST_EMBEDDING" in e for e in report.errors)


def test_with_a_model_it_ranks_summarizes_and_writes_the_overview(
    settings, fixtures_dir, llm_server, monkeypatch):
    from llm_server import PaperModel

    model = PaperModel()
    llm_server.responder = model
    service = Papercast(point_settings(llm_server, settings, monkeypatch, llm_retries=0))
    service.ensure_sample()
    report = service.daily(client=transport(fixtures_dir, offline=True), today=TODAY, n=3)
    assert report.ok and not [e for e in report.errors if not e.startswith(("hf", "arxiv"))]
    assert model.seen.get("rerank") and model.seen.get("tldr") and model.seen.get("overview")
    assert all(f"TL;DR of {pid}" in report.markdown for pid in report.recommended)
    assert "papers worth reading" in report.markdown  # the model's overview
    assert "LLM usage this run" in report.markdown


def test_bad_input_fails_before_fetching(settings, fixtures_dir):
    from papercast.errors import UserError

    client = transport(fixtures_dir)
    service = Papercast(settings)
    with pytest.raises(UserError, match="profile"):
        service.daily("no-such-profile", client=client)
    with pytest.raises(UserError, match="PAPERCAST_SMTP_HOST"):
        service.daily(email="me@example.com", client=client)
    with pytest.raises(UserError, match="email address"):
        service.daily(email="nobody", client=client)
    assert client.seen == []


def test_cli_daily_is_quiet_and_exits_by_outcome(settings, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PAPERCAST_SOURCES", "")  # no sources: the run never touches the network
    home = str(settings.home)
    assert main(["--home", home, "daily"]) == 1  # empty store, nothing fetched: nothing could be done
    assert "nothing to put in a digest" in capsys.readouterr().err

    Papercast(settings).ensure_sample()
    out = tmp_path / "d.md"
    assert main(["--home", home, "daily", "--out", str(out), "-n", "2"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""  # cron-quiet
    assert out.read_text().startswith("# papercast digest")

    assert main(["--home", home, "daily", "-n", "2"]) == 0  # nowhere else to go: stdout
    assert capsys.readouterr().out.startswith("# papercast digest")
    assert main(["--home", home, "daily", "--email", "not-an-address"]) == 2
