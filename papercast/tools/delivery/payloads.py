"""What a digest looks like in a webhook: Slack Block Kit, a Discord message, or papercast's JSON.

Paper text is untrusted: Slack's control sequences (``<!channel>``) are escaped and Discord is told to
ping nobody.
"""

from __future__ import annotations

import re
from typing import Any

from papercast.errors import one_line
from papercast.tools.delivery.webhooks import WebhookStyle
from papercast.tools.writing.digest import Digest
from papercast.tools.writing.render import mode_text, to_json


def _slack_escape(text: str) -> str:
    """Slack mrkdwn control characters: ``<!channel>``, ``<url|label>`` need ``<``, ``>``, ``&``."""
    return " ".join(str(text).split()).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_DISCORD_SPECIAL = re.compile(r"([\\*_~`|>\[\]()#@<:-])")


def _discord_escape(text: str) -> str:
    return _DISCORD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def slack_payload(digest: Digest, limit: int = 20) -> dict[str, Any]:
    """Block Kit: a header, the overview, one section per paper (Slack allows 50 blocks, 3000 chars each)."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": one_line(digest.title, 150)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _slack_escape(
            f"profile {digest.profile} · {len(digest.items)} papers from {digest.window_label} · "
            f"mode: {mode_text(digest)}")}]},
        {"type": "section",
         "text": {"type": "mrkdwn", "text": _slack_escape(one_line(digest.overview, 2900))}},
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
    content = one_line(f"**{_discord_escape(digest.title)}** · profile {_discord_escape(digest.profile)} · "
                       f"mode: {_discord_escape(mode_text(digest))}\n{_discord_escape(digest.overview)}",
                       1900)
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
    return {"event": "papercast.digest", "digest": to_json(digest)}
