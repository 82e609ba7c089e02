"""Webhook delivery: a POST of a JSON payload (``payloads``) to Slack, Discord or any URL.

A webhook URL is a secret (whoever has it can post to the channel), so it comes from the command line
or ``PAPERCAST_WEBHOOKS`` only, and everything that is shown, logged or stored names it by scheme and
host (``webhook_label``). Failures are one line naming the webhook by its label and quoting the answer.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from papercast.errors import RuntimeFailure, UserError, one_line, redact

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

WebhookStyle = Literal["slack", "discord", "json"]


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
        raise UserError("not a webhook URL: "
                        f"{webhook_label(text) if parts.hostname else 'give an http(s) URL'} "
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


def post_webhook(hook: Webhook, payload: dict[str, Any], *, client: httpx.Client | None = None,
                 attempts: int = 3, timeout: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep) -> int:
    """POST the payload as JSON; returns the HTTP status. Retries connection errors, 429 and 5xx (honouring
    a short Retry-After); a RuntimeFailure names the webhook by its label and quotes the answer."""
    import httpx  # lazy: only a posted webhook needs httpx

    from papercast.tools.sources.http import USER_AGENT  # lazy: it imports httpx

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
