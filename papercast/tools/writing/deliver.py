"""Digest delivery by email: one multipart/alternative message (plain text + HTML) over SMTP.

Server settings come from ``PAPERCAST_SMTP_HOST/PORT/USER/FROM`` (``Settings.smtp_*``). The password
is read from ``PAPERCAST_SMTP_PASSWORD`` at send time, handed to ``smtplib`` and nothing else: it is
not part of the settings, never logged, never in an error message. STARTTLS is used whenever the
server offers it; logging in over a connection that is not encrypted is refused unless the server
is on this machine (a local relay).
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from papercast.config import Settings
from papercast.errors import RuntimeFailure, UserError

log = logging.getLogger(__name__)

PASSWORD_ENV = "PAPERCAST_SMTP_PASSWORD"
_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$|^[^@\s<>,;]+@localhost$")
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


@dataclass
class Delivery:
    """What was sent: to whom, the Message-ID, and whether the connection was encrypted."""

    to: str
    message_id: str
    encrypted: bool


def check_address(address: str) -> str:
    address = address.strip()
    if not _ADDRESS.match(address):
        raise UserError(f"not an email address: {address!r}")
    return address


def build_message(*, sender: str, to: str, subject: str, text: str, html: str) -> EmailMessage:
    """A multipart/alternative message: clients that cannot show HTML show the text part."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1] or None)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def send_email(settings: Settings, to: str, *, subject: str, text: str, html: str,
               tls_context: ssl.SSLContext | None = None, timeout: float = 30.0) -> Delivery:
    """Send one message. ``tls_context`` defaults to the system trust store (tests pass their own CA).

    UserError for missing settings or a bad address; RuntimeFailure when the server fails.
    """
    to = check_address(to)
    if not settings.smtp_host:
        raise UserError("set PAPERCAST_SMTP_HOST (and _PORT, _USER, _PASSWORD) to send email")
    password = os.environ.get(PASSWORD_ENV) or None
    if settings.smtp_user and not password:
        raise UserError(f"PAPERCAST_SMTP_USER is set but {PASSWORD_ENV} is not")
    sender = check_address(settings.smtp_from or settings.smtp_user or f"papercast@{_local_domain()}")
    message = build_message(sender=sender, to=to, subject=subject, text=text, html=html)
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout) as smtp:
            smtp.ehlo()
            encrypted = False
            if smtp.has_extn("starttls"):
                smtp.starttls(context=tls_context or ssl.create_default_context())
                smtp.ehlo()
                encrypted = True
            if settings.smtp_user:
                if not encrypted and settings.smtp_host not in _LOCAL_HOSTS:
                    raise UserError(f"the SMTP server {where} offers no STARTTLS; refusing to send the "
                                    "password unencrypted")
                smtp.login(settings.smtp_user, password or "")
            smtp.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise RuntimeFailure(f"the SMTP server {where} rejected the login for {settings.smtp_user} "
                             f"({exc.smtp_code})") from None
    except smtplib.SMTPRecipientsRefused:
        raise RuntimeFailure(f"the SMTP server {where} refused the recipient {to}") from None
    except (smtplib.SMTPException, ssl.SSLError) as exc:
        raise RuntimeFailure(f"sending email via {where} failed: {_describe(exc)}") from None
    except OSError as exc:
        raise RuntimeFailure(f"cannot reach the SMTP server {where}: {_describe(exc)}") from None
    log.info("digest emailed to %s via %s (%s)", to, where, "STARTTLS" if encrypted else "plain")
    return Delivery(to=to, message_id=str(message["Message-ID"]), encrypted=encrypted)


def _describe(exc: BaseException) -> str:
    """A one-line reason that can never contain the password (smtplib never echoes it back)."""
    if isinstance(exc, smtplib.SMTPResponseException):
        detail = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(
            exc.smtp_error)
        return f"{exc.smtp_code} {' '.join(detail.split())}"[:200]
    return (" ".join(str(exc).split()) or type(exc).__name__)[:200]


def _local_domain() -> str:
    name = socket.getfqdn() or "localhost"
    return name if "." in name else "localhost"
