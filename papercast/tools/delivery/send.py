"""Sending a digest to every channel of a run, each on its own.

The top complaint about daily paper mailers is "the run succeeded but nothing arrived". So every
channel is tried on its own, each failure becomes one line that names the channel and what the other
side said (the SMTP server's reply, the webhook's HTTP status and body), and the caller turns any
failure into a non-zero exit even when other channels delivered.
"""

from __future__ import annotations

import logging
import ssl
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from papercast.config import Settings
from papercast.errors import RuntimeFailure, UserError, one_line, redact
from papercast.outfile import target_of, write_text
from papercast.tools.delivery.channels import Channel, Outcome
from papercast.tools.delivery.mail import send_email
from papercast.tools.delivery.payloads import webhook_payload
from papercast.tools.delivery.webhooks import Webhook, post_webhook
from papercast.tools.writing.render import render_html, render_json, render_markdown, update_feed

if TYPE_CHECKING:
    import httpx

    from papercast.tools.writing.digest import Digest

log = logging.getLogger(__name__)


def deliver(digest: Digest, channels: Sequence[Channel], settings: Settings, *, text: str | None = None,
            tls_context: ssl.SSLContext | None = None, http: httpx.Client | None = None,
            stdout: Any = None) -> list[Outcome]:
    """Send ``digest`` to every channel; one channel's failure never stops the others.

    ``text`` is the Markdown rendering when the caller has it already. Never raises for a failing
    channel: each outcome carries its one-line error.
    """

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
                write_text(channel.target, render(digest), "--out", settings.home)
            elif channel.kind == "feed":
                path = target_of(channel.target)
                existing = path.read_text(encoding="utf-8") if path.is_file() else None
                feed_text, added = update_feed(digest, existing, limit=settings.feed_entries)
                write_text(channel.target, feed_text, "--feed", settings.home)
                detail = f"{added} new entries"
            elif channel.kind == "email":
                subject = f"papercast digest {digest.until or digest.generated.date()}: " \
                          f"{len(digest.items)} papers for {digest.profile}"
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
            outcomes.append(Outcome(channel, ok=False,
                                    error=f"{channel.kind}: cannot write {channel.label}: {what}"))
        if not outcomes[-1].ok:
            log.warning("delivery to %s failed: %s", channel.name, outcomes[-1].error)
    return outcomes
