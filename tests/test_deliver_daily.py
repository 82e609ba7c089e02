"""``papercast daily`` as cron runs it: every channel at once, one failing while the others deliver,
and an exit code that tells a failure (a source, the model, a channel) even when a digest went out.

Real parts: the CLI, the daily graph on the bundled sample, an SMTP server and a webhook receiver on
127.0.0.1, the scripted model server; the sources' HTTP is a MockTransport serving recorded responses.
"""

from __future__ import annotations

import json

import httpx
import pytest

from papercast.cli import main

import smtp_helpers
import webhook_server
from llm_server import Reply
from smtp_helpers import parts

smtp_plain, webhook = smtp_helpers.smtp_plain, webhook_server.webhook  # fixtures
SECRET = "secret-token-0123"


@pytest.fixture
def home(service, monkeypatch):
    """The sample home; no sources unless a test gives some."""
    monkeypatch.setenv("PAPERCAST_SOURCES", "")
    return str(service.settings.home)


def test_one_failing_channel_does_not_stop_the_others_and_fails_the_run(home, service, smtp_plain, webhook,
                                                                        tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PAPERCAST_SMTP_HOST", smtp_plain.host)
    monkeypatch.setenv("PAPERCAST_SMTP_PORT", str(smtp_plain.port))
    webhook.status, webhook.body = 500, "internal_error"
    out, feed = tmp_path / "digest.md", tmp_path / "feed.xml"
    code = main(["--home", home, "--debug", "daily", "-n", "3", "--out", str(out), "--feed", str(feed),
                 "--email", "me@example.org", "--email", "lab@example.org", "--webhook",
                 f"slack:{webhook.url()}"])
    captured = capsys.readouterr()
    assert code == 1  # a channel failed: cron must hear it ...
    errors = [line for line in captured.err.splitlines() if line.startswith("papercast: error:")]
    [error] = errors  # ... in one line naming the channel and the answer, without the URL's secret
    assert "webhook slack http://127.0.0.1" in error and "HTTP 500 internal_error" in error
    assert SECRET not in captured.err
    assert len(webhook.posts) == 3  # retried, then given up
    # ... while every other channel delivered:
    assert out.read_text().startswith("# papercast digest")
    assert feed.read_text().startswith("<?xml")
    [message] = smtp_plain.sink.messages
    assert sorted(smtp_plain.sink.envelopes[0].rcpt_tos) == ["lab@example.org", "me@example.org"]
    assert set(parts(message)) == {"text/plain", "text/html"}
    assert captured.out == ""  # the digest went to the channels, not stdout
    # Each delivered channel is recorded (the failed one is not); the log never holds the webhook's secret.
    history = service.delivery_history()
    assert sorted(r.channel for r in history) == ["email", "feed", "file"]
    assert all(r.target and SECRET not in r.target for r in history)
    log = (service.settings.home / "logs" / "papercast.log").read_text()
    assert "failed: HTTP 500" in log and SECRET not in log


def test_json_report_names_each_channel(home, webhook, tmp_path, capsys):
    code = main(["--home", home, "daily", "-n", "2", "--json", "--out", str(tmp_path / "d.md"),
                 "--webhook", webhook.url()])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["ok"] is True and report["digest_built"] is True
    port = httpx.URL(webhook.url()).port
    assert report["delivered"] == [f"file {tmp_path / 'd.md'}", f"webhook json http://127.0.0.1:{port}/…"]
    assert report["failed"] == [] and report["errors"] == [] and len(report["recommended"]) == 2
    [(_, _, body)] = webhook.posts
    assert body["event"] == "papercast.digest"


def test_a_failing_source_fails_the_run_even_with_a_digest(home, fixtures_dir, tmp_path, monkeypatch, capsys):
    """HF answers, arXiv is down: the digest is built and written, and the exit code still says 1."""
    import papercast.tools.sources.fetch as fetch_module

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "huggingface.co":
            return httpx.Response(200,
                                  content=(fixtures_dir / "hf_daily_papers_2026-08-21.json").read_bytes())
        return httpx.Response(500, headers={"Retry-After": "0"}, text="down for maintenance")

    monkeypatch.setattr(fetch_module, "make_client", lambda **_: httpx.AsyncClient(
        transport=httpx.MockTransport(handler)))
    monkeypatch.setenv("PAPERCAST_SOURCES", "hf,arxiv")
    out = tmp_path / "d.md"
    assert main(["--home", home, "daily", "-n", "3", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "error: arxiv" in err and "HTTP 500" in err
    assert out.read_text().startswith("# papercast digest") and "arxiv" in out.read_text()


def test_the_mode_line_says_how_many_summaries_fell_back(home, llm_server, tmp_path, monkeypatch, capsys):
    llm_server.responder = lambda body: Reply.error(500)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0000000000000000")
    monkeypatch.setenv("PAPERCAST_MODEL", "openai/test-model")
    monkeypatch.setenv("PAPERCAST_API_BASE", llm_server.api_base)
    monkeypatch.setenv("PAPERCAST_LLM_RETRIES", "0")
    out = tmp_path / "d.md"
    assert main(["--home", home, "daily", "-n", "3", "--out", str(out)]) == 1  # the model failed
    text = out.read_text()
    assert "mode: openai/test-model (all 3 of 3 summaries fell back to offline)" in text
    assert "error: llm:" in capsys.readouterr().err


def test_daily_bad_channels_are_bad_input_before_anything_runs(home, capsys):
    assert main(["--home", home, "daily", "--webhook", "ftp://x"]) == 2
    assert main(["--home", home, "daily", "--email", "a@example.org"]) == 2  # no SMTP host set
    assert main(["--home", home, "daily", "--feed", "/no/such/dir/feed.xml"]) == 2
    err = capsys.readouterr().err
    assert ("not a webhook URL" in err and "PAPERCAST_SMTP_HOST" in err
            and "no such directory for --feed" in err)


def test_digest_can_mail_too_and_records_it(home, service, smtp_plain, monkeypatch, capsys):
    """``digest --email`` is a one-off delivery: recorded, so ``daily`` and the next digest skip its papers;
    the configured channels (here PAPERCAST_EMAIL_TO) are daily's, not digest's."""
    monkeypatch.setenv("PAPERCAST_SMTP_HOST", smtp_plain.host)
    monkeypatch.setenv("PAPERCAST_SMTP_PORT", str(smtp_plain.port))
    monkeypatch.setenv("PAPERCAST_EMAIL_TO", "configured@example.org")
    assert main(["--home", home, "digest", "-n", "2", "--format", "json", "--email", "me@example.org"]) == 0
    captured = capsys.readouterr()
    sent = [item["id"] for item in json.loads(captured.out)["items"]]
    assert "delivered to email to me@example.org" in captured.err
    assert [e.rcpt_tos for e in smtp_plain.sink.envelopes] == [["me@example.org"]]
    [record] = service.delivery_history()
    assert record.channel == "email" and record.papers == sent
    assert main(["--home", home, "digest", "-n", "2", "--format", "json"]) == 0  # a preview: not recorded
    again = [item["id"] for item in json.loads(capsys.readouterr().out)["items"]]
    assert not set(sent) & set(again) and len(service.delivery_history()) == 1
