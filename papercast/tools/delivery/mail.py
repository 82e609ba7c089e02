"""E-mail delivery: one multipart/alternative message (plain text + HTML) to one or several recipients.

Server settings come from ``PAPERCAST_SMTP_HOST/PORT/USER/FROM/SECURITY`` (``Settings.smtp_*``). The
password is read from ``PAPERCAST_SMTP_PASSWORD`` at send time and handed to ``smtplib`` only: never in
the settings, a log line or an error message. ``smtp_security`` "auto" uses implicit TLS on port 465 and
STARTTLS whenever the server offers it elsewhere; a login over an unencrypted connection is refused
unless the server is on this machine (a local relay). Failures are one line with the server's reply.
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from papercast.config import Settings
from papercast.errors import RuntimeFailure, UserError, one_line, redact

log = logging.getLogger(__name__)

PASSWORD_ENV = "PAPERCAST_SMTP_PASSWORD"
_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$|^[^@\s<>,;]+@localhost$")
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
IMPLICIT_TLS_PORT = 465


@dataclass
class Delivery:
    """What was sent: to whom, the Message-ID, whether the connection was encrypted, and which
    recipients the server refused (with its reply) while accepting the others."""

    to: str  # the accepted recipients, ", "-separated
    message_id: str
    encrypted: bool
    refused: dict[str, str] = field(default_factory=dict)


def check_address(address: str) -> str:
    address = address.strip()
    if not _ADDRESS.match(address):
        raise UserError(f"not an email address: {address!r}")
    return address


def check_addresses(addresses: str | Sequence[str]) -> list[str]:
    """Every address checked (``"a@x, b@y"`` or a list; each may hold several, comma-separated)."""
    items = [addresses] if isinstance(addresses, str) else list(addresses)
    out = [check_address(a) for item in items for a in str(item).split(",") if a.strip()]
    if not out:
        raise UserError("no email address given")
    return list(dict.fromkeys(out))


def build_message(*, sender: str, to: str | Sequence[str], subject: str, text: str,
                  html: str) -> EmailMessage:
    """A multipart/alternative message: clients that cannot show HTML show the text part."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to if isinstance(to, str) else ", ".join(to)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1] or None)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def uses_implicit_tls(settings: Settings) -> bool:
    return settings.smtp_security == "tls" or (settings.smtp_security == "auto"
                                               and settings.smtp_port == IMPLICIT_TLS_PORT)


def check_email_settings(settings: Settings) -> None:
    """The mistakes that make sending impossible, as UserErrors before anything is fetched or built."""
    if not settings.smtp_host:
        raise UserError("set PAPERCAST_SMTP_HOST (and _PORT, _USER, _PASSWORD) to send email")
    if settings.smtp_user and not os.environ.get(PASSWORD_ENV):
        raise UserError(f"PAPERCAST_SMTP_USER is set but {PASSWORD_ENV} is not")
    sender_of(settings)


def sender_of(settings: Settings) -> str:
    """The From address: ``smtp_from``, else the SMTP user when it is an address (a login such as
    ``apikey`` is not: then ``PAPERCAST_SMTP_FROM`` must be set, and the error names it)."""
    if settings.smtp_from:
        try:
            return check_address(settings.smtp_from)
        except UserError:
            raise UserError(f"PAPERCAST_SMTP_FROM is not an email address: {settings.smtp_from!r}") from None
    if settings.smtp_user:
        try:
            return check_address(settings.smtp_user)
        except UserError:
            raise UserError(f"PAPERCAST_SMTP_USER {settings.smtp_user!r} is not an email address, so it "
                            "cannot be the sender: set PAPERCAST_SMTP_FROM to the From address") from None
    return check_address(f"papercast@{_local_domain()}")


def send_email(settings: Settings, to: str | Sequence[str], *, subject: str, text: str, html: str,
               tls_context: ssl.SSLContext | None = None, timeout: float = 30.0) -> Delivery:
    """Send one message to every recipient. ``tls_context`` defaults to the system trust store (tests
    pass their own CA).

    UserError for missing settings or a bad address; RuntimeFailure, one line with the server's reply,
    when the server fails or refuses every recipient. Recipients refused while others were accepted
    are in ``Delivery.refused``.
    """
    recipients = check_addresses(to)
    check_email_settings(settings)
    assert settings.smtp_host is not None
    password = os.environ.get(PASSWORD_ENV) or None
    sender = sender_of(settings)
    message = build_message(sender=sender, to=recipients, subject=subject, text=text, html=html)
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    context = tls_context or ssl.create_default_context()
    implicit = uses_implicit_tls(settings)
    encrypted = implicit
    try:
        smtp: smtplib.SMTP = (smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=timeout,
                                               context=context) if implicit
                              else smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout))
        with smtp:
            smtp.ehlo()
            if not implicit and settings.smtp_security != "none":
                if smtp.has_extn("starttls"):
                    smtp.starttls(context=context)
                    smtp.ehlo()
                    encrypted = True
                elif settings.smtp_security == "starttls":
                    raise UserError(f"the SMTP server {where} offers no STARTTLS (PAPERCAST_SMTP_SECURITY="
                                    "starttls); use port 465 with smtp_security = \"tls\", or a server that "
                                    "does")
            if settings.smtp_user:
                if not encrypted and settings.smtp_host not in _LOCAL_HOSTS:
                    raise UserError(f"the SMTP server {where} offers no STARTTLS; refusing to send the "
                                    "password unencrypted")
                smtp.login(settings.smtp_user, password or "")
            refused_raw = smtp.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise RuntimeFailure(f"the SMTP server {where} rejected the login for {settings.smtp_user} "
                             f"({_reply(exc)})") from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise RuntimeFailure(f"the SMTP server {where} refused {_refusals(exc.recipients)}") from None
    except smtplib.SMTPSenderRefused as exc:
        raise RuntimeFailure(f"the SMTP server {where} refused the sender {sender} ({_reply(exc)})") from None
    except (smtplib.SMTPException, ssl.SSLError) as exc:
        raise RuntimeFailure(f"sending email via {where} failed: {_describe(exc)}") from None
    except OSError as exc:
        raise RuntimeFailure(f"cannot reach the SMTP server {where}: {_describe(exc)}") from None
    refused = {addr: _reply_text(code, msg) for addr, (code, msg) in (refused_raw or {}).items()}
    accepted = [r for r in recipients if r not in refused]
    log.info("digest emailed to %s via %s (%s)%s", ", ".join(accepted), where,
             "implicit TLS" if implicit else "STARTTLS" if encrypted else "plain",
             f"; refused: {', '.join(refused)}" if refused else "")
    return Delivery(to=", ".join(accepted), message_id=str(message["Message-ID"]), encrypted=encrypted,
                    refused=refused)


def _reply_text(code: int, message: bytes | str) -> str:
    detail = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return redact(f"{code} {' '.join(detail.split())}")[:200]


def _reply(exc: smtplib.SMTPResponseException) -> str:
    return _reply_text(exc.smtp_code, exc.smtp_error)


def _refusals(recipients: dict[str, tuple[int, bytes]]) -> str:
    """``the recipient a@x (550 5.1.1 no such user)``, or every refused recipient with its reply."""
    parts = [f"{addr} ({_reply_text(code, msg)})" for addr, (code, msg) in recipients.items()]
    return ("the recipient " if len(parts) == 1 else "every recipient: ") + "; ".join(parts)


def _describe(exc: BaseException) -> str:
    """A one-line reason that can never contain the password (smtplib never echoes it back)."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply(exc)
    return redact(one_line(exc, None) or type(exc).__name__)[:200]


def _local_domain() -> str:
    name = socket.getfqdn() or "localhost"
    return name if "." in name else "localhost"
