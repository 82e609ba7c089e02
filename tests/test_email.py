"""Email delivery against a real SMTP server on 127.0.0.1 (aiosmtpd): STARTTLS, AUTH, multipart."""

from __future__ import annotations

import logging
import smtplib

import pytest

from papercast.errors import RuntimeFailure, UserError
from papercast.tools.delivery.mail import PASSWORD_ENV, send_email

import smtp_helpers
from smtp_helpers import SMTP_PASSWORD, SMTP_USER, parts

TEXT = "# Your papers\n\n1. [2509.04664] Why Language Models Hallucinate\n"
# The SMTP server fixtures, used by name.
tls_files, smtp_tls, smtp_plain = smtp_helpers.tls_files, smtp_helpers.smtp_tls, smtp_helpers.smtp_plain

HTML = ("<h1>Your papers</h1><ol><li><a href='https://arxiv.org/abs/2509.04664'>Why LMs Hallucinate</a>"
        "</li></ol>")


def test_starttls_login_and_multipart_message(settings, smtp_tls, monkeypatch, caplog):
    monkeypatch.setenv(PASSWORD_ENV, SMTP_PASSWORD)
    cfg = settings.with_overrides(smtp_host=smtp_tls.host, smtp_port=smtp_tls.port, smtp_user=SMTP_USER)
    caplog.set_level(logging.DEBUG)
    delivery = send_email(cfg, "me@example.com", subject="papercast digest", text=TEXT, html=HTML,
                          tls_context=smtp_tls.client_tls)

    assert delivery.encrypted
    assert smtp_tls.sink.logins == [(SMTP_USER, SMTP_PASSWORD, True)]  # logged in after STARTTLS
    [message] = smtp_tls.sink.messages
    assert message["To"] == "me@example.com"
    assert message["From"] == SMTP_USER
    assert message["Subject"] == "papercast digest"
    assert message["Message-ID"] == delivery.message_id
    assert message.get_content_type() == "multipart/alternative"
    got = parts(message)
    assert set(got) == {"text/plain", "text/html"}
    assert "[2509.04664] Why Language Models Hallucinate" in got["text/plain"]
    assert "<a href='https://arxiv.org/abs/2509.04664'>" in got["text/html"]
    # The password went to the server and nowhere else: not the logs, not the message, not the settings.
    assert SMTP_PASSWORD not in caplog.text
    assert SMTP_PASSWORD.encode() not in smtp_tls.sink.envelopes[0].content
    assert SMTP_PASSWORD not in repr(cfg)
    assert not any(SMTP_PASSWORD in p.read_text(errors="ignore")
                   for p in settings.home.rglob("*") if p.is_file())


def test_wrong_password_is_a_runtime_failure_without_the_password(settings, smtp_tls, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "wrong-password-123456")
    cfg = settings.with_overrides(smtp_host=smtp_tls.host, smtp_port=smtp_tls.port, smtp_user=SMTP_USER)
    with pytest.raises(RuntimeFailure) as info:
        send_email(cfg, "me@example.com", subject="s", text=TEXT, html=HTML, tls_context=smtp_tls.client_tls)
    assert "rejected the login" in str(info.value)
    assert "wrong-password" not in str(info.value)
    assert smtp_tls.sink.messages == []


def test_untrusted_certificate_fails_instead_of_sending(settings, smtp_tls, monkeypatch):
    """The default context verifies the server: a self-signed certificate is not silently accepted."""
    monkeypatch.setenv(PASSWORD_ENV, SMTP_PASSWORD)
    cfg = settings.with_overrides(smtp_host=smtp_tls.host, smtp_port=smtp_tls.port, smtp_user=SMTP_USER)
    with pytest.raises(RuntimeFailure, match="failed"):
        send_email(cfg, "me@example.com", subject="s", text=TEXT, html=HTML)
    assert smtp_tls.sink.logins == [] and smtp_tls.sink.messages == []


def test_local_relay_without_tls_or_login(settings, smtp_plain):
    cfg = settings.with_overrides(smtp_host=smtp_plain.host, smtp_port=smtp_plain.port,
                                  smtp_from="digest@papercast.example")
    delivery = send_email(cfg, "me@example.com", subject="s", text=TEXT, html=HTML)
    assert not delivery.encrypted
    [message] = smtp_plain.sink.messages
    assert message["From"] == "digest@papercast.example"
    assert parts(message)["text/plain"].startswith("# Your papers")


def test_configuration_mistakes_are_user_errors(settings, monkeypatch):
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    with pytest.raises(UserError, match="PAPERCAST_SMTP_HOST"):
        send_email(settings, "me@example.com", subject="s", text=TEXT, html=HTML)
    cfg = settings.with_overrides(smtp_host="127.0.0.1", smtp_user=SMTP_USER)
    with pytest.raises(UserError, match=PASSWORD_ENV):
        send_email(cfg, "me@example.com", subject="s", text=TEXT, html=HTML)
    with pytest.raises(UserError, match="not an email address"):
        send_email(cfg, "not an address", subject="s", text=TEXT, html=HTML)


def test_unreachable_server_is_a_runtime_failure(settings):
    from helpers import free_port

    cfg = settings.with_overrides(smtp_host="127.0.0.1", smtp_port=free_port())
    with pytest.raises(RuntimeFailure, match="cannot reach the SMTP server"):
        send_email(cfg, "me@example.com", subject="s", text=TEXT, html=HTML, timeout=5)
    assert issubclass(smtplib.SMTPException, OSError)  # why OSError is caught after SMTPException
