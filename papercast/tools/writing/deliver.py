"""Where a digest goes: e-mail, webhooks (Slack, Discord, generic JSON), an Atom feed file, a file, stdout.

The top complaint about daily paper mailers is "the run succeeded but nothing arrived". So every
channel is tried on its own, each failure becomes one line that names the channel and what the other
side said (the SMTP server's reply code and text, the webhook's HTTP status and body), and the caller
turns any failure into a non-zero exit even when other channels delivered.

E-mail: one multipart/alternative message (plain text + HTML) to one or several recipients. Server
settings come from ``PAPERCAST_SMTP_HOST/PORT/USER/FROM/SECURITY`` (``Settings.smtp_*``). The password
is read from ``PAPERCAST_SMTP_PASSWORD`` at send time, handed to ``smtplib`` and nothing else: it is not
part of the settings, never logged, never in an error message. ``smtp_security`` "auto" uses implicit
TLS on port 465 and STARTTLS whenever the server offers it elsewhere; logging in over a connection
that is not encrypted is refused unless the server is on this machine (a local relay).

Webhooks: a webhook URL is a secret (whoever has it can post to the channel), so it comes from the
command line or ``PAPERCAST_WEBHOOKS`` only, and everything that is shown, logged or stored names it
by scheme and host (``Channel.label``). Paper text is untrusted: Slack's control sequences
(``<!channel>``) are escaped and Discord is told to ping nobody.
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
import socket
import ssl
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from papercast.config import Settings
from papercast.errors import RuntimeFailure, UserError, one_line, redact
from papercast.models import DeliveryChannel

if TYPE_CHECKING:
    import httpx

    from papercast.tools.writing.digest import Digest

log = logging.getLogger(__name__)

PASSWORD_ENV = "PAPERCAST_SMTP_PASSWORD"
_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$|^[^@\s<>,;]+@localhost$")
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
IMPLICIT_TLS_PORT = 465
WebhookStyle = Literal["slack", "discord", "json"]
WEBHOOK_STYLES: tuple[str, ...] = ("slack", "discord", "json")


# -- e-mail ----------------------------------------------------------------------------------------------
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


def build_message(*, sender: str, to: str | Sequence[str], subject: str, text: str, html: str) -> EmailMessage:
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
    sender = check_address(settings.smtp_from or settings.smtp_user or f"papercast@{_local_domain()}")
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
                                    "starttls); use port 465 with smtp_security = \"tls\", or a server that does")
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
    return redact(" ".join(str(exc).split()) or type(exc).__name__)[:200]


def _local_domain() -> str:
    name = socket.getfqdn() or "localhost"
    return name if "." in name else "localhost"


# -- webhooks ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Webhook:
    url: str  # a secret: never shown, logged or stored (``label`` is)
    style: WebhookStyle

    @property
    def label(self) -> str:
        return webhook_label(self.url, self.style)


def webhook_label(url: str, style: str = "") -> str:
    """What may be shown of a webhook: its style, scheme and host (the path is the secret)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{style + ' ' if style else ''}{parts.scheme}://{host}{port}/…"


def parse_webhook(spec: str) -> Webhook:
    """``URL`` or ``STYLE:URL`` (style slack, discord or json). Without a style it is told by the host:
    hooks.slack.com is Slack, discord.com/api/webhooks is Discord, anything else gets the generic JSON."""
    text = spec.strip()
    style: str | None = None
    m = re.match(r"^(slack|discord|json):(?=https?://)", text, re.IGNORECASE)
    if m:
        style, text = m.group(1).lower(), text[m.end():]
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"not a webhook URL: {webhook_label(text) if parts.hostname else 'give an http(s) URL'} "
                        "(use URL or slack:URL, discord:URL, json:URL)")
    if style is None:
        host = parts.hostname.lower()
        if host.endswith("slack.com"):
            style = "slack"
        elif host.endswith(("discord.com", "discordapp.com")) and "/api/webhooks/" in parts.path:
            style = "discord"
        else:
            style = "json"
    return Webhook(url=text, style=style)  # type: ignore[arg-type]


def _slack_escape(text: str) -> str:
    """Slack mrkdwn control characters: ``<!channel>``, ``<url|label>`` need ``<``, ``>``, ``&``."""
    return " ".join(str(text).split()).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_DISCORD_SPECIAL = re.compile(r"([\\*_~`|>\[\]()#@<:-])")


def _discord_escape(text: str) -> str:
    return _DISCORD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def slack_payload(digest: Digest, limit: int = 20) -> dict[str, Any]:
    """Block Kit: a header, the overview, one section per paper (Slack allows 50 blocks, 3000 chars each)."""
    from papercast.tools.writing.render import mode_text

    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": one_line(digest.title, 150)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _slack_escape(
            f"profile {digest.profile} · {len(digest.items)} papers from {digest.window_label} · "
            f"mode: {mode_text(digest)}")}]},
        {"type": "section", "text": {"type": "mrkdwn", "text": _slack_escape(one_line(digest.overview, 2900))}},
    ]
    for rank, item in enumerate(digest.items[:limit], 1):
        paper = item.paper
        text = (f"*{rank}. <{paper.url}|{_slack_escape(one_line(paper.title, 300))}>*\n"
                f"{_slack_escape(one_line(item.summary.tldr, 1500))}")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    if digest.notices:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": _slack_escape(one_line("; ".join(digest.notices), 2900))}]})
    fallback = f"{digest.title}: {len(digest.items)} papers for {digest.profile}"
    return {"text": _slack_escape(fallback), "blocks": blocks}


def discord_payload(digest: Digest, limit: int = 10) -> dict[str, Any]:
    """A message with one embed per paper (Discord allows 10 embeds, 6000 characters in all) that
    mentions nobody, whatever a title says."""
    from papercast.tools.writing.render import mode_text

    content = one_line(f"**{_discord_escape(digest.title)}** · profile {_discord_escape(digest.profile)} · "
                       f"mode: {_discord_escape(mode_text(digest))}\n{_discord_escape(digest.overview)}", 1900)
    embeds, budget = [], 5500
    for rank, item in enumerate(digest.items[:limit], 1):
        title = one_line(f"{rank}. {item.paper.title}", 250)
        description = one_line(item.summary.tldr, 400)
        if len(title) + len(description) > budget:
            break
        budget -= len(title) + len(description)
        embeds.append({"title": title, "url": item.paper.url, "description": description})
    return {"content": content, "embeds": embeds, "allowed_mentions": {"parse": []}}


def webhook_payload(digest: Digest, style: WebhookStyle) -> dict[str, Any]:
    if style == "slack":
        return slack_payload(digest)
    if style == "discord":
        return discord_payload(digest)
    from papercast.tools.writing.render import to_json

    return {"event": "papercast.digest", "digest": to_json(digest)}


def post_webhook(hook: Webhook, payload: dict[str, Any], *, client: httpx.Client | None = None,
                 attempts: int = 3, timeout: float = 30.0, sleep: Callable[[float], None] = time.sleep) -> int:
    """POST the payload as JSON; returns the HTTP status. Retries connection errors, 429 and 5xx (honouring
    a short Retry-After); a RuntimeFailure names the webhook by its label and quotes the answer."""
    import httpx

    from papercast.tools.sources.http import USER_AGENT

    own = client is None
    http = client or httpx.Client(timeout=timeout, headers={"User-Agent": USER_AGENT})
    try:
        for attempt in range(1, attempts + 1):
            try:
                response = http.post(hook.url, json=payload)
            except httpx.HTTPError as exc:
                reason = one_line(str(exc).replace(hook.url, hook.label), 160) or type(exc).__name__
                if attempt < attempts:
                    sleep(0.5 * attempt)
                    continue
                raise RuntimeFailure(f"webhook {hook.label} failed: {redact(reason)}") from None
            if response.status_code < 300:
                log.info("digest posted to %s (HTTP %d)", hook.label, response.status_code)
                return response.status_code
            if (response.status_code == 429 or response.status_code >= 500) and attempt < attempts:
                wait = response.headers.get("Retry-After", "")
                sleep(min(float(wait), 10.0) if wait.replace(".", "", 1).isdigit() else 0.5 * attempt)
                continue
            body = one_line(response.text.replace(hook.url, hook.label), 160)
            raise RuntimeFailure(f"webhook {hook.label} failed: HTTP {response.status_code}"
                                 f"{' ' + redact(body) if body else ''}")
        raise AssertionError("unreachable")  # the loop returns or raises
    finally:
        if own:
            http.close()


# -- every channel -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Channel:
    """One place a digest goes. ``target`` may be a secret (a webhook URL); show ``label`` instead."""

    kind: DeliveryChannel
    target: str = ""  # addresses (", "-separated), a path, a webhook URL
    style: str = ""  # file: md | html | json; webhook: slack | discord | json

    @property
    def label(self) -> str:
        if self.kind == "webhook":
            return webhook_label(self.target, self.style)
        return self.target or self.kind

    @property
    def name(self) -> str:
        """``email to a@x``, ``webhook slack https://hooks.slack.com/…``: how errors and notes name it."""
        if self.kind == "email":
            return f"email to {self.target}"
        if self.kind == "stdout":
            return "stdout"
        return f"{self.kind} {self.label}"


@dataclass
class Outcome:
    """What one channel did: ``ok`` when it delivered, ``error`` its one-line failure. An e-mail that
    reached some recipients and was refused for others has both: delivered (recorded), and an error
    (the run exits 1). ``detail``: the recipients reached, or the feed's new entries."""

    channel: Channel
    ok: bool
    error: str | None = None
    detail: str = ""


def file_style(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    return {".html": "html", ".htm": "html", ".json": "json"}.get(suffix, "md")


def plan_channels(settings: Settings, *, out: str | Path | None = None, emails: Sequence[str] = (),
                  webhooks: Sequence[str] = (), feed: str | Path | None = None,
                  stdout_when_nowhere: bool = False, configured: bool = True) -> list[Channel]:
    """The channels of one run, checked (UserError) before anything is fetched or built.

    Each flag overrides its own setting, as every flag does: ``--email`` the configured ``email_to``,
    ``--webhook`` ``PAPERCAST_WEBHOOKS``, ``--feed`` ``feed``; ``out`` (no setting) is one more channel.
    With nowhere to go, ``stdout_when_nowhere`` prints the digest. ``configured=False``: only the channels
    given here (``digest --email``: a one-off, not the daily setup).
    """
    feed_given = bool(feed)
    if configured:
        emails = emails or settings.email_to
        webhooks = webhooks or settings.webhooks
        feed = feed or settings.feed
    channels: list[Channel] = []
    if out:
        _check_parent(Path(out).expanduser(), "--out")
        channels.append(Channel("file", str(out), file_style(out)))
    if feed:
        _check_parent(Path(feed).expanduser(), "--feed" if feed_given else "the feed setting")
        channels.append(Channel("feed", str(feed)))
    if emails:
        addresses = check_addresses(emails)
        check_email_settings(settings)
        channels.append(Channel("email", ", ".join(addresses)))
    for spec in webhooks:
        hook = parse_webhook(spec)
        channels.append(Channel("webhook", hook.url, hook.style))
    if not channels and stdout_when_nowhere:
        channels.append(Channel("stdout"))
    return channels


def _check_parent(path: Path, option: str) -> None:
    if path.is_dir():
        raise UserError(f"{option} {path} is a directory: give a file name")
    if not path.parent.is_dir():
        raise UserError(f"no such directory for {option}: {path.parent}")


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a reader (or a cron run killed midway) never sees half a file."""
    path = path.expanduser()
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def deliver(digest: Digest, channels: Sequence[Channel], settings: Settings, *, text: str | None = None,
            tls_context: ssl.SSLContext | None = None, http: httpx.Client | None = None,
            stdout: Any = None) -> list[Outcome]:
    """Send ``digest`` to every channel; one channel's failure never stops the others.

    ``text`` is the Markdown rendering when the caller has it already. Never raises for a failing
    channel: each outcome carries its one-line error.
    """
    from papercast.tools.writing.render import render_html, render_json, render_markdown, update_feed

    markdown = text if text is not None else render_markdown(digest)
    outcomes: list[Outcome] = []
    for channel in channels:
        try:
            detail = ""
            if channel.kind == "stdout":
                stream = stdout or sys.stdout
                stream.write(markdown)
                stream.flush()
            elif channel.kind == "file":
                render = {"html": render_html, "json": render_json}.get(channel.style, lambda _d: markdown)
                write_atomic(Path(channel.target), render(digest))
            elif channel.kind == "feed":
                path = Path(channel.target).expanduser()
                existing = path.read_text(encoding="utf-8") if path.is_file() else None
                feed_text, added = update_feed(digest, existing, limit=settings.feed_entries)
                write_atomic(path, feed_text)
                detail = f"{added} new entries"
            elif channel.kind == "email":
                subject = f"papercast digest {digest.until or digest.generated.date()}: {len(digest.items)} papers " \
                          f"for {digest.profile}"
                sent = send_email(settings, channel.target, subject=subject, text=markdown,
                                  html=render_html(digest), tls_context=tls_context)
                if sent.refused:
                    refused = "; ".join(f"{a} ({why})" for a, why in sent.refused.items())
                    outcomes.append(Outcome(channel, ok=True, detail=sent.to,
                                            error=f"email: the server refused {refused}; sent to {sent.to}"))
                    continue
                detail = sent.to
            elif channel.kind == "webhook":
                hook = Webhook(channel.target, channel.style)  # type: ignore[arg-type]
                post_webhook(hook, webhook_payload(digest, hook.style), client=http)
            outcomes.append(Outcome(channel, ok=True, detail=detail))
        except BrokenPipeError:
            raise  # stdout closed early: the CLI ends quietly
        except (RuntimeFailure, UserError) as exc:
            text = one_line(redact(exc), 300)
            error = text if text.startswith(channel.kind) else f"{channel.kind}: {text}"
            outcomes.append(Outcome(channel, ok=False, error=error))
        except OSError as exc:
            what = (exc.strerror or str(exc)).lower()
            outcomes.append(Outcome(channel, ok=False, error=f"{channel.kind}: cannot write {channel.label}: {what}"))
        if not outcomes[-1].ok:
            log.warning("delivery to %s failed: %s", channel.name, outcomes[-1].error)
    return outcomes
