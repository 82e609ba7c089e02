"""A real SMTP server on 127.0.0.1 for the email tests (aiosmtpd), with STARTTLS and AUTH.

The TLS certificate is a throw-away self-signed one made with the ``openssl`` command for
127.0.0.1; the client trusts it through an explicit ``SSLContext`` (never by disabling checks).
"""

from __future__ import annotations

import email
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

SMTP_USER = "reader@example.org"
SMTP_PASSWORD = "smtp-pass-9c1e-must-never-leak"


@dataclass
class Sink:
    """The SMTP handler: keeps every accepted message and every login attempt."""

    messages: list[Message] = field(default_factory=list)
    envelopes: list[Any] = field(default_factory=list)
    logins: list[tuple[str, str, bool]] = field(default_factory=list)  # (user, password, over TLS)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"

    def authenticator(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        transport = getattr(server, "transport", None)  # implicit TLS leaves session.ssl unset
        over_tls = session.ssl is not None or (transport is not None
                                               and transport.get_extra_info("ssl_object") is not None)
        self.logins.append((user, password, over_tls))
        return AuthResult(success=(user, password) == (SMTP_USER, SMTP_PASSWORD), handled=False)


@dataclass
class SMTPServer:
    host: str
    port: int
    sink: Sink
    client_tls: ssl.SSLContext | None


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


def _start(sink: Sink, tls: tuple[Path, Path] | None, *, auth: bool, implicit: bool = False) -> Any:
    from aiosmtpd.controller import Controller

    from helpers import free_port

    kwargs: dict[str, Any] = {}
    if tls is not None:
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_ctx.load_cert_chain(str(tls[0]), str(tls[1]))
        if implicit:  # SMTPS, as on port 465: TLS from the first byte, no STARTTLS
            kwargs.update(ssl_context=server_ctx)
        else:
            kwargs.update(tls_context=server_ctx, require_starttls=True)
    if auth:
        # aiosmtpd counts only STARTTLS as TLS for auth_require_tls; an implicit-TLS connection is TLS anyway.
        kwargs.update(authenticator=sink.authenticator, auth_required=True,
                      auth_require_tls=tls is not None and not implicit)
    controller = Controller(sink, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    return controller


@pytest.fixture
def smtp_tls(tls_files: tuple[Path, Path]) -> Iterator[SMTPServer]:
    """STARTTLS required, AUTH required (over TLS only)."""
    sink = Sink()
    controller = _start(sink, tls_files, auth=True)
    try:
        yield SMTPServer("127.0.0.1", controller.port, sink,
                         ssl.create_default_context(cafile=str(tls_files[0])))
    finally:
        controller.stop()


@pytest.fixture
def smtp_implicit_tls(tls_files: tuple[Path, Path]) -> Iterator[SMTPServer]:
    """Implicit TLS (SMTPS, what port 465 speaks), AUTH required."""
    sink = Sink()
    controller = _start(sink, tls_files, auth=True, implicit=True)
    try:
        yield SMTPServer("127.0.0.1", controller.port, sink,
                         ssl.create_default_context(cafile=str(tls_files[0])))
    finally:
        controller.stop()


@pytest.fixture
def smtp_plain() -> Iterator[SMTPServer]:
    """A local relay: no TLS, no AUTH."""
    sink = Sink()
    controller = _start(sink, None, auth=False)
    try:
        yield SMTPServer("127.0.0.1", controller.port, sink, None)
    finally:
        controller.stop()


def parts(message: Message) -> dict[str, str]:
    """content type -> decoded text of each leaf part."""
    out = {}
    for part in message.walk():
        if not part.is_multipart():
            payload = part.get_payload(decode=True) or b""
            out[part.get_content_type()] = payload.decode(part.get_content_charset() or "utf-8")
    return out
