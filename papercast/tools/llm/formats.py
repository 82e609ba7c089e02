"""JSON formats a server refused, and the simpler one to ask with instead, remembered per process.

A server may refuse a ``response_format`` with HTTP 400 (vLLM, LM Studio, older llama.cpp,
proxies): litellm's model map says which format a model supports, not what the server in front
of it accepts. The request is then asked again with plain JSON mode, then without
``response_format``, and the simpler format is kept for that model and server, so later requests
do not pay the refusal again. The caller's parser still validates the answer.
"""

from __future__ import annotations

import threading

from papercast.errors import one_line
from papercast.tools.llm.loader import load_litellm

# (model, server) -> the simplest json_format papercast fell back to after a refusal.
_DOWNGRADES: dict[tuple[str, str], str] = {}
_LOCK = threading.Lock()
# From the richest to none; a refusal moves a request down this list
# (json_object+schema skips to json_object).
_ORDER = ("json_schema", "json_object+schema", "json_object", "off")
# Words of a 400's message that say the request's response_format was the problem.
_FORMAT_WORDS = ("response_format", "response format", "json_schema", "schema")


class FormatRefused(Exception):
    """The server refused the request's ``response_format`` with HTTP 400; ``reason`` is its message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def format_refusal(exc: BaseException) -> str | None:
    """The server's reason when ``exc`` is an HTTP 400 refusing the request's ``response_format``
    (None for any other error, which is handled as any failure)."""
    litellm = load_litellm()
    if getattr(exc, "status_code", None) != 400 or isinstance(exc, litellm.ContextWindowExceededError):
        return None
    message = str(getattr(exc, "message", None) or exc)
    # litellm prefixes its class and the provider ("litellm.BadRequestError: OpenAIException - ...").
    reason = one_line(message.split(" - ", 1)[1] if " - " in message else message, 200)
    return reason if any(word in reason.lower() for word in _FORMAT_WORDS) else None


def simpler_format(json_format: str) -> str:
    """The format to ask with after the server refused ``json_format``."""
    return "off" if json_format == "json_object" else "json_object"


def lower_format(a: str, b: str) -> str:
    """The simpler of two json_formats."""
    rank = {name: i for i, name in enumerate(_ORDER)}
    return a if rank.get(a, 0) >= rank.get(b, 0) else b


def usable_format(key: tuple[str, str], own: str) -> str:
    """``own`` (the policy's format), or the simpler one a refusal left for ``key`` (model, server)."""
    with _LOCK:
        refused = _DOWNGRADES.get(key)
    return own if refused is None else lower_format(own, refused)


def remember_refusal(key: tuple[str, str], json_format: str) -> str:
    """Note that the server of ``key`` refused ``json_format``; the format to ask with from now on."""
    simpler = simpler_format(json_format)
    with _LOCK:
        known = _DOWNGRADES.get(key)
        simpler = simpler if known is None else lower_format(simpler, known)
        _DOWNGRADES[key] = simpler
    return simpler


def forget_format_downgrades() -> None:
    """Forget every refused format (a test's servers share model names and, over time, ports)."""
    with _LOCK:
        _DOWNGRADES.clear()
