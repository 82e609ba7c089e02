"""E-mail delivery against real SMTP servers on 127.0.0.1 (aiosmtpd): implicit TLS (port 465's SMTPS)
as well as STARTTLS, several recipients, and failures named in one line with the server's own reply.
"""

from __future__ import annotations

from typing import Any

import pytest

from papercast.errors import RuntimeFailure, UserError
from papercast.tools.delivery.mail import PASSWORD_ENV, check_addresses, send_email

import smtp_helpers
from smtp_helpers import SMTP_PASSWORD, SMTP_USER, Sink, parts

tls_files, smtp_tls, smtp_plain = smtp_helpers.tls_files, smtp_helpers.smtp_tls, smtp_helpers.smtp_plain
smtp_implicit_tls = smtp_helpers.smtp_implicit_tls

# The implicit-TLS server requires AUTH without aiosmtpd's STARTTLS check (the connection is TLS anyway).
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

TEXT = "# Your papers\n\n1. [2608.19758] FlashPrefill V2\n"
HTML = "<h1>Your papers</h1>"


class RefusingSink(Sink):
    """Accepts mail, but refuses one mailbox the way a real server does (550 with a reason)."""

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def refusing_server():
    sink = RefusingSink()
    controller = smtp_helpers._start(sink, None, auth=False)
    try:
        yield controller, sink
    finally:
        controller.stop()


def test_implicit_tls_on_port_465_style_servers(settings, smtp_implicit_tls, monkeypatch):
    """smtp_security "tls" (what "auto" picks on port 465): TLS from the first byte, then the login."""
    monkeypatch.setenv(PASSWORD_ENV, SMTP_PASSWORD)
    cfg = settings.with_overrides(smtp_host=smtp_implicit_tls.host, smtp_port=smtp_implicit_tls.port,
                                  smtp_user=SMTP_USER, smtp_security="tls")
    delivery = send_email(cfg, ["a@example.org", "b@example.org"], subject="digest", text=TEXT, html=HTML,
                          tls_context=smtp_implicit_tls.client_tls)
    assert delivery.encrypted and delivery.refused == {}
    assert smtp_implicit_tls.sink.logins == [(SMTP_USER, SMTP_PASSWORD, True)]
    [envelope] = smtp_implicit_tls.sink.envelopes
    assert envelope.rcpt_tos == ["a@example.org", "b@example.org"]  # one message, both recipients
    [message] = smtp_implicit_tls.sink.messages
    assert message["To"] == "a@example.org, b@example.org"
    assert set(parts(message)) == {"text/plain", "text/html"}


def test_auto_picks_implicit_tls_on_465_and_starttls_elsewhere(settings):
    from papercast.tools.delivery.mail import uses_implicit_tls

    assert uses_implicit_tls(settings.with_overrides(smtp_port=465))
    assert not uses_implicit_tls(settings.with_overrides(smtp_port=587))
    assert uses_implicit_tls(settings.with_overrides(smtp_port=2465, smtp_security="tls"))
    assert not uses_implicit_tls(settings.with_overrides(smtp_port=465, smtp_security="starttls"))


def test_starttls_server_spoken_to_as_implicit_tls_fails_in_one_line(settings, smtp_tls, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, SMTP_PASSWORD)
    cfg = settings.with_overrides(smtp_host=smtp_tls.host, smtp_port=smtp_tls.port, smtp_user=SMTP_USER,
                                  smtp_security="tls")
    with pytest.raises(RuntimeFailure) as info:
        send_email(cfg, "a@example.org", subject="s", text=TEXT, html=HTML, tls_context=smtp_tls.client_tls,
                   timeout=5)
    assert f"127.0.0.1:{smtp_tls.port}" in str(info.value) and "\n" not in str(info.value)
    assert smtp_tls.sink.messages == []


def test_required_starttls_that_is_not_offered_is_refused(settings, smtp_plain):
    cfg = settings.with_overrides(smtp_host=smtp_plain.host, smtp_port=smtp_plain.port,
                                  smtp_security="starttls")
    with pytest.raises(UserError, match="offers no STARTTLS"):
        send_email(cfg, "a@example.org", subject="s", text=TEXT, html=HTML)
    assert smtp_plain.sink.messages == []


def test_a_refused_recipient_is_named_with_the_servers_reply(settings, refusing_server):
    controller, sink = refusing_server
    cfg = settings.with_overrides(smtp_host="127.0.0.1", smtp_port=controller.port)
    delivery = send_email(cfg, ["me@example.org", "nobody@example.org"], subject="s", text=TEXT, html=HTML)
    assert delivery.to == "me@example.org"  # the others still get it ...
    assert delivery.refused == {"nobody@example.org": "550 5.1.1 <nobody@example.org>: Recipient address "
                                                      "rejected: User unknown"}
    assert [e.rcpt_tos for e in sink.envelopes] == [["me@example.org"]]
    # ... and when every recipient is refused, the failure quotes the server.
    with pytest.raises(RuntimeFailure) as info:
        send_email(cfg, "nobody@example.org", subject="s", text=TEXT, html=HTML)
    message = str(info.value)
    assert "refused the recipient nobody@example.org (550 5.1.1" in message and "User unknown" in message
    assert "\n" not in message


def test_a_wrong_password_failure_quotes_the_reply_not_the_password(settings, smtp_tls, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "not-the-password-4711")
    cfg = settings.with_overrides(smtp_host=smtp_tls.host, smtp_port=smtp_tls.port, smtp_user=SMTP_USER)
    with pytest.raises(RuntimeFailure) as info:
        send_email(cfg, "a@example.org", subject="s", text=TEXT, html=HTML, tls_context=smtp_tls.client_tls)
    assert "rejected the login" in str(info.value) and "535" in str(info.value)
    assert "not-the-password" not in str(info.value)


def test_several_addresses_are_checked_and_deduplicated():
    assert check_addresses(["a@x.org, b@y.org", "a@x.org"]) == ["a@x.org", "b@y.org"]
    with pytest.raises(UserError, match="not an email address"):
        check_addresses(["a@x.org", "not an address"])
    with pytest.raises(UserError, match="no email address"):
        check_addresses([" , "])
