"""What went wrong with a model request, in one line, and whether trying again can help.

litellm re-wraps every error (a refused connection becomes a 500 "Connection error."), so the
classification looks down the chain of causes for the real one. The reasons are short and free of
secrets; the client adds the model and server and passes the text through ``redact``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from papercast.errors import RuntimeFailure, one_line
from papercast.tools.llm.loader import load_litellm
from papercast.tools.llm.policy import LLMPolicy

# HTTP statuses worth another attempt: timeouts, conflicts, rate limits, server errors.
RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 529}


class LLMUnavailable(RuntimeFailure):
    """The model could not be reached or refused the request (after retries). One line."""


class BudgetExceeded(RuntimeFailure):
    """This run spent ``max_usd_per_run``; no further paid calls are made."""


class IdleTimeout(TimeoutError):
    """A streamed request sent no chunk for the policy's idle timeout."""


class ShortAnswer(ValueError):
    """An answer cut off at ``max_tokens`` (``finish_reason=length``), also after a shorter request."""


def classify(exc: BaseException, policy: LLMPolicy, model: str) -> tuple[bool, str, float | None]:
    """(retry?, a short reason, Retry-After seconds) of a failed request to ``model``."""
    litellm = load_litellm()
    status = getattr(exc, "status_code", None)
    after = retry_after(exc)
    if caused_by(exc, IdleTimeout):
        return (policy.retry_timeouts, f"no answer for {policy.idle_timeout:g}s "
                "(idle timeout of a streamed request)", None)
    if isinstance(exc, litellm.Timeout | asyncio.TimeoutError | TimeoutError):
        limit = policy.idle_timeout if policy.stream else policy.timeout
        return policy.retry_timeouts, f"no answer within {limit:g}s", after
    if isinstance(exc, litellm.RateLimitError):
        return True, "rate limited (HTTP 429)", after
    if isinstance(exc, litellm.AuthenticationError):
        return False, "the provider rejected the API key (check the provider's *_API_KEY variable)", None
    if isinstance(exc, litellm.NotFoundError):
        return False, f"model {model} not found at the provider", None
    if isinstance(exc, litellm.ContextWindowExceededError):
        return False, "the prompt is longer than the model's context window", None
    if isinstance(exc, litellm.BadRequestError):
        return False, f"the provider refused the request: {one_line(str(exc), 160)}", None
    if caused_by(exc, json.JSONDecodeError):  # litellm calls a 200 with a garbage body a "500"
        return False, "the server's answer is not valid JSON", None
    if is_connection_error(exc) or (isinstance(exc, litellm.APIConnectionError)
                                    and not isinstance(status, int)):
        return True, "connection failed", after
    if isinstance(status, int):
        return status in RETRYABLE_STATUS, f"HTTP {status}", after
    if isinstance(exc, litellm.InternalServerError | litellm.ServiceUnavailableError | litellm.APIError):
        return True, "server error", after
    return False, f"{type(exc).__name__}: {one_line(str(exc), 160)}", None


def describe_cause(exc: BaseException, depth: int = 5) -> str:
    """The exception and what caused it, outermost first, each as ``Class: message``.

    litellm re-wraps errors ("InternalServerError: Connection error."); the class and message of
    the error underneath (``ConnectError: [Errno 111] Connection refused``, ``ReadTimeout``) say
    what actually went wrong. Messages are cut to one short line each.
    """
    parts: list[str] = []
    seen: BaseException | None = exc
    visited: set[int] = set()
    while seen is not None and id(seen) not in visited and len(parts) < depth:
        visited.add(id(seen))
        text = one_line(str(seen), 200)
        parts.append(f"{type(seen).__name__}: {text}" if text else type(seen).__name__)
        seen = seen.__cause__ or seen.__context__
    return " <- ".join(parts)


def is_timeout(exc: BaseException) -> bool:
    """A timeout, ours (idle) or the HTTP client's, however litellm wrapped it."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, TimeoutError) or "Timeout" in type(seen).__name__:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def is_connection_error(exc: BaseException) -> bool:
    """litellm reports a refused connection as a 500 "Connection error."; look at the causes instead."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            break
        name = type(seen).__name__
        if isinstance(seen, ConnectionError) or name in ("ConnectError", "ClientConnectorError",
                                                         "ClientConnectionError", "ServerDisconnectedError"):
            return True
        seen = seen.__cause__ or seen.__context__
    return "connection error" in str(exc).lower()


def caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``kind`` is in the chain of causes: litellm re-wraps errors, so the real one is deeper."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def retry_after(exc: BaseException) -> float | None:
    """The seconds the server's ``Retry-After`` header asks for (None without one)."""
    headers: Any = getattr(exc, "litellm_response_headers", None)
    if headers is None:
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None)
    if not headers:
        return None
    try:
        value = headers.get("retry-after") or headers.get("Retry-After")
        return float(value) if value is not None else None
    except (TypeError, ValueError, AttributeError):
        return None
