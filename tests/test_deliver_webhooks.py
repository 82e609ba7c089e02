"""Webhook delivery against a real HTTP server on 127.0.0.1: Slack's and Discord's message formats, the
generic JSON POST, failures named in one line with the answer, and webhook URLs kept secret."""

from __future__ import annotations

import logging

import pytest

from papercast.errors import RuntimeFailure, UserError, redact
from papercast.tools.delivery.channels import Channel
from papercast.tools.delivery.payloads import webhook_payload
from papercast.tools.delivery.send import deliver
from papercast.tools.delivery.webhooks import Webhook, parse_webhook, post_webhook

import webhook_server

webhook = webhook_server.webhook  # the fixture
SECRET = "secret-token-0123"


@pytest.fixture
def digest(service):
    return service.digest(n=3, use_llm=False)


def hostile(digest):
    """The digest with a first paper whose title tries to ping everyone and smuggle a link."""
    item = digest.items[0]
    paper = item.paper.model_copy(update={"title": "<!channel> @everyone [click](https://evil.example) & co"})
    item.recommendation = item.recommendation.model_copy(update={"paper": paper})
    return digest


def test_styles_are_told_by_the_host_or_given():
    assert parse_webhook("https://hooks.slack.com/services/T/B/x").style == "slack"
    assert parse_webhook("https://discord.com/api/webhooks/1/abc").style == "discord"
    assert parse_webhook("https://example.org/hook").style == "json"
    forced = parse_webhook("discord:http://127.0.0.1:9/x")
    assert forced.style == "discord" and forced.url == "http://127.0.0.1:9/x"
    with pytest.raises(UserError, match="not a webhook URL"):
        parse_webhook("ftp://example.org/x")
    with pytest.raises(UserError, match="not a webhook URL"):
        parse_webhook("hooks.slack.com/services/x")


def test_slack_blocks_escape_what_the_paper_says(webhook, digest):
    digest = hostile(digest)
    status = post_webhook(Webhook(webhook.url(), "slack"), webhook_payload(digest, "slack"))
    assert status == 200
    [(path, headers, body)] = webhook.posts
    assert path.endswith(SECRET) and headers["content-type"] == "application/json"
    assert body["text"].startswith("papercast digest") and len(body["blocks"]) <= 50
    assert body["blocks"][0]["type"] == "header"
    sections = [b["text"]["text"] for b in body["blocks"] if b["type"] == "section"]
    first = sections[1]  # after the overview
    assert "&lt;!channel&gt;" in first and "<!channel>" not in first and "&amp; co" in first
    assert f"<{digest.items[0].paper.url}|" in first  # the link papercast made is a real link
    assert all(len(s) <= 3000 for s in sections)


def test_discord_embeds_ping_nobody(webhook, digest):
    digest = hostile(digest)
    post_webhook(Webhook(webhook.url(), "discord"), webhook_payload(digest, "discord"))
    [(_, _, body)] = webhook.posts
    assert body["allowed_mentions"] == {"parse": []}
    assert len(body["content"]) <= 2000 and len(body["embeds"]) == 3 <= 10
    assert body["embeds"][0]["url"] == digest.items[0].paper.url
    assert sum(len(e["title"]) + len(e["description"]) for e in body["embeds"]) <= 6000


def test_generic_json_carries_the_whole_digest(webhook, digest):
    post_webhook(Webhook(webhook.url(), "json"), webhook_payload(digest, "json"))
    [(_, _, body)] = webhook.posts
    assert body["event"] == "papercast.digest"
    assert [i["id"] for i in body["digest"]["items"]] == [i.paper.id for i in digest.items]
    assert body["digest"]["summary_fallbacks"] == 0


def test_a_failing_webhook_is_one_line_with_the_answer_and_no_secret(webhook, digest):
    webhook.status, webhook.body = 404, "no_team"
    hook = parse_webhook(f"slack:{webhook.url()}")
    with pytest.raises(RuntimeFailure) as info:
        post_webhook(hook, webhook_payload(digest, "slack"), sleep=lambda _s: None)
    message = str(info.value)
    assert "HTTP 404 no_team" in message and "127.0.0.1" in message
    assert SECRET not in message and "\n" not in message
    assert len(webhook.posts) == 1  # a 404 is not retried


def test_server_errors_are_retried_then_reported(webhook, digest):
    webhook.status, webhook.body = 503, "try later"
    waits: list[float] = []
    with pytest.raises(RuntimeFailure, match="HTTP 503 try later"):
        post_webhook(parse_webhook(webhook.url()), {"x": 1}, sleep=waits.append)
    assert len(webhook.posts) == 3 and len(waits) == 2


def test_an_unreachable_webhook_is_a_failure_not_a_traceback(digest):
    from helpers import free_port

    hook = parse_webhook(f"http://127.0.0.1:{free_port()}/hooks/{SECRET}")
    with pytest.raises(RuntimeFailure) as info:
        post_webhook(hook, {"x": 1}, attempts=1)
    assert "webhook json http://127.0.0.1" in str(info.value) and SECRET not in str(info.value)


def test_deliver_goes_on_after_a_failing_channel_and_names_it(webhook, digest, settings, tmp_path, caplog):
    """One channel fails, the others deliver; the failure is one line naming the channel, without the URL."""
    caplog.set_level(logging.DEBUG)
    webhook.status, webhook.body = 500, "boom"
    out = tmp_path / "digest.html"
    channels = [Channel("webhook", webhook.url(), "slack"), Channel("file", str(out), "html"),
                Channel("feed", str(tmp_path / "feed.xml"))]
    outcomes = deliver(digest, channels, settings)
    assert [o.ok for o in outcomes] == [False, True, True]
    error = outcomes[0].error or ""
    assert error.startswith("webhook slack http://127.0.0.1") and "HTTP 500 boom" in error
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("papercast"))
    assert "failed: HTTP 500" in ours  # logged (the log file is papercast's logger only) ...
    assert SECRET not in error and SECRET not in ours  # ... without the secret
    assert out.read_text().startswith("<!DOCTYPE html>") and (tmp_path / "feed.xml").exists()
    assert channels[0].label.endswith("/…") and SECRET not in channels[0].name


def test_known_webhook_urls_are_redacted_everywhere(monkeypatch):
    assert redact("POST https://hooks.slack.com/services/T1/B2/abcdefgh failed") == \
        "POST https://hooks.slack.com/*** failed"
    assert SECRET not in redact(f"https://discord.com/api/webhooks/42/{SECRET}")
    url = f"http://127.0.0.1:9/custom/{SECRET}"
    monkeypatch.setenv("PAPERCAST_WEBHOOKS", f"https://a.example/x,{url}")
    assert redact(f"failed: {url}") == "failed: ***"  # each URL of the list is a secret


def test_the_config_file_may_not_hold_a_webhook(tmp_path, monkeypatch):
    from papercast.config import ConfigError, load_settings

    monkeypatch.setenv("PAPERCAST_CONFIG", str(tmp_path / "config.toml"))
    (tmp_path / "config.toml").write_text('webhooks = ["https://hooks.slack.com/services/T/B/x"]\n')
    with pytest.raises(ConfigError, match="keep secrets in environment variables"):
        load_settings(home=tmp_path / "home")
    monkeypatch.setenv("PAPERCAST_WEBHOOKS", "https://hooks.slack.com/services/T/B/x")
    (tmp_path / "config.toml").write_text("")
    settings = load_settings(home=tmp_path / "home")
    assert settings.webhooks == ("https://hooks.slack.com/services/T/B/x",)
    assert "hooks.slack.com" not in repr(settings)
