"""The channels of one run (e-mail, webhooks, a feed, a file, stdout), checked before anything is fetched.

Each flag overrides its own setting; a channel that holds a secret (a webhook URL) is shown by its label.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from papercast.config import Settings
from papercast.models import DeliveryChannel
from papercast.outfile import check_out
from papercast.tools.delivery.mail import check_addresses, check_email_settings
from papercast.tools.delivery.webhooks import parse_webhook, webhook_label


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
    if out:  # absolute, so the history a cron run leaves says where the file is
        channels.append(Channel("file", str(check_out(out, "--out", settings.home)), file_style(out)))
    if feed:
        option = "--feed" if feed_given else "the feed setting"
        channels.append(Channel("feed", str(check_out(feed, option, settings.home))))
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
