"""The two kinds of failure a user sees, each as one line, and what makes a message fit to show.

Every error papercast raises on purpose subclasses one of the two bases: the CLI maps ``UserError``
to exit 2 and ``RuntimeFailure`` to exit 1 and prints the message as it is; anything else is a bug
in papercast, reported as "internal error" with where the log is. A message shown, logged or stored
never carries a secret: ``redact`` removes API keys (key-like environment variables' values, ``sk-``
keys), URL credentials, Slack/Discord webhook paths and key-like query parameters. ``one_line``,
``first_line`` and ``validation_line`` (a pydantic error) keep a message to one line.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


class UserError(ValueError):
    """Bad input from the user: unknown id, invalid date, missing file, unknown profile. Exit 2."""


class RuntimeFailure(RuntimeError):
    """The outside world failed: network, LLM, a store server, the disk. Exit 1."""


def one_line(text: object, limit: int | None = 240) -> str:
    """``text`` (an exception: its message) with its whitespace collapsed, cut to ``limit`` characters
    with an ellipsis (``None``: never cut)."""
    flat = " ".join(str(text).split())
    return flat if limit is None or len(flat) <= limit else flat[: limit - 1] + "…"


def first_line(text: str, limit: int, mark: str = "…") -> str:
    """The first line of ``text``, cut to ``limit`` characters ending in ``mark``: a preview of a
    longer output (a tool's, in a chat)."""
    first = text.split("\n", 1)[0]
    return first if len(first) <= limit else first[: limit - len(mark)] + mark


def validation_line(exc: ValidationError, where: str = "record", most: int = 1) -> str:
    """The first ``most`` errors of a pydantic ``ValidationError`` as ``field: message``, joined by
    "; " (``where`` names the whole value): pydantic's own text spans many lines."""
    parts = []
    for error in exc.errors()[:most]:
        loc = ".".join(str(part) for part in error.get("loc", ())) or where
        parts.append(f"{loc}: {str(error.get('msg', 'invalid')).removeprefix('Value error, ')}")
    return "; ".join(parts)


_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH|WEBHOOK)", re.IGNORECASE)
# OpenAI-style ("sk-...", "sk-proj-...") and Hugging Face ("hf_...") keys, wherever they appear.
_PROVIDER_KEY = re.compile(r"\b(sk-|hf_)[A-Za-z0-9_\-]{12,}")
# scheme://user:password@host or scheme://token@host: everything before the @ is a credential.
_URL_USERINFO = re.compile(r"(?P<scheme>\b[a-z][a-z0-9+.\-]*://)(?P<userinfo>[^/@\s:]*(?::[^/@\s]*)?)@",
                           re.IGNORECASE)
# Slack and Discord webhook URLs carry their secret in the path: keep the host, drop the rest.
_WEBHOOK_PATH = re.compile(r"(?P<base>https?://(?:hooks\.slack\.com|(?:[\w-]+\.)?discord(?:app)?\.com/api/webhooks))"
                           r"/[^\s'\"<>]+", re.IGNORECASE)
_KEY_PARAM = re.compile(
    r"(?P<name>[?&;](?:[\w.\-]*(?:key|token|secret|password|passwd|signature|sig|auth|credential)[\w.\-]*))="
    r"(?P<value>[^&#\s'\"]*)", re.IGNORECASE)


def redact(text: object) -> str:
    """``text`` without secrets: key-like environment variable values, API keys, URL credentials
    and key-like query parameters (``?key=``, ``&access_token=``...) become ``***``."""
    out = str(text)
    for name, value in os.environ.items():
        if not value or len(value) < 8 or not _SECRET_NAME.search(name):
            continue
        for secret in (value, *value.split(",")):  # a list of secrets (PAPERCAST_WEBHOOKS): each one too
            secret = secret.strip()
            if len(secret) >= 8 and secret in out:
                out = out.replace(secret, "***")
    out = _PROVIDER_KEY.sub(lambda m: f"{m.group(1)}***", out)
    out = _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}***@", out)
    out = _WEBHOOK_PATH.sub(lambda m: f"{m.group('base')}/***", out)
    return _KEY_PARAM.sub(lambda m: f"{m.group('name')}=***", out)
