"""One shared HTTP policy for every paper source.

Sources are public, unauthenticated and rate limited (arXiv asks for >= 3 s between requests on one
connection; Hugging Face answers 429 with ``Retry-After``/``RateLimit`` headers). Putting retries,
backoff, the per-host pacing and the give-up rule in one place keeps each source a plain parser and
makes every failure surface the same way: a one-line :class:`SourceError` naming the source.

Nothing here logs headers or query strings, so a key placed in either can never leak into logs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import logging
import random
import re
import socket
import ssl
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from papercast.errors import RuntimeFailure, one_line
from papercast.tools.sources.breaker import HostBreaker

log = logging.getLogger(__name__)

USER_AGENT = "papercast/0.1 (+https://github.com/papercast; research-paper agent)"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)

Sleep = Callable[[float], Awaitable[Any]]
Clock = Callable[[], float]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_TRANSIENT_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class SourceError(RuntimeFailure):
    """A source could not deliver. ``str()`` is one line that names the source.

    A :class:`RuntimeFailure`, so the CLI reports it as one line and exits 1.
    """

    def __init__(self, source: str, message: str) -> None:
        self.source = source
        self.message = one_line(message, None)
        super().__init__(f"{source}: {self.message}")


class TooLarge(SourceError):
    """A body over the caller's ``max_bytes``. Never retried: the same URL would send the same body.

    ``size`` is the size the server declared (``Content-Length``, the bytes on the wire) when it
    declared one; None when reading stopped at the limit, so the true size is unknown.
    """

    def __init__(self, source: str, where: str, limit: int, size: int | None = None) -> None:
        self.limit = limit
        self.size = size
        over = f"is {megabytes(size)} (over the {megabytes(limit)} limit)" if size is not None \
            else f"is over the {megabytes(limit)} limit"
        super().__init__(source, f"the response from {where} {over}")


class Unreachable(SourceError):
    """The host could not be reached at all (DNS, refused, network unreachable, TLS): not retried.

    ``skipped`` when no request was sent: the run's breaker had found ``host`` unreachable before.
    """

    def __init__(self, source: str, host: str, why: str, *, skipped: bool = False) -> None:
        self.host = host
        self.why = why
        self.skipped = skipped
        super().__init__(source, f"{host} unreachable earlier in this run ({why}); not tried again"
                         if skipped else why)


def megabytes(size: int) -> str:
    """``size`` in whole MB, the unit every size limit is stated in."""
    return f"{size / 2**20:.0f} MB"


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. Tests pass ``base_delay=0`` and a recording ``sleep`` so nothing waits."""

    retries: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_total_seconds: float = 90.0
    sleep: Sleep = field(default=asyncio.sleep)
    clock: Clock = field(default=time.monotonic)
    # The run's unreachable hosts (the service's own); None: every request tries its host afresh.
    breaker: HostBreaker | None = field(default=None, compare=False)


def with_breaker(policy: RetryPolicy | None, breaker: HostBreaker | None) -> RetryPolicy:
    """``policy`` (default: the default one) using ``breaker``, unless it already has one."""
    policy = policy or DEFAULT_POLICY
    if breaker is None or policy.breaker is not None:
        return policy
    return dataclasses.replace(policy, breaker=breaker)


DEFAULT_POLICY = RetryPolicy()


def make_client(*, timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
                transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` with our User-Agent, timeouts and redirects followed.

    A handful of keep-alive connections is plenty: arXiv pacing serialises its own requests.
    """
    return httpx.AsyncClient(
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
        timeout=timeout,
        follow_redirects=True,
        transport=transport,
        limits=httpx.Limits(max_connections=8, max_keepalive_connections=4),
    )


# ----------------------------------------------------------------------------- per-host pacing

class _HostGate:
    """Serialises requests to one host and keeps ``min_interval`` seconds between them."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.last: float | None = None


# Keyed by client so gates never outlive (or cross event loops with) the client they pace.
_GATES: weakref.WeakKeyDictionary[httpx.AsyncClient, dict[str, _HostGate]] = weakref.WeakKeyDictionary()


def _gate(client: httpx.AsyncClient, host: str) -> _HostGate:
    per_client = _GATES.setdefault(client, {})
    return per_client.setdefault(host, _HostGate())


# ----------------------------------------------------------------------------- wait hints

def retry_after_seconds(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """Seconds the server asked us to wait, from ``Retry-After`` or the ``RateLimit`` headers.

    ``Retry-After`` is either delta-seconds or an HTTP date. ``RateLimit-Reset`` is delta-seconds
    (an epoch value is accepted too); the structured ``RateLimit: ...;t=N`` / ``reset=N`` forms also.
    """
    value = headers.get("retry-after")
    if value:
        value = value.strip()
        if re.fullmatch(r"\d+(\.\d+)?", value):
            return float(value)
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
    for name in ("ratelimit-reset", "x-ratelimit-reset"):
        reset = headers.get(name)
        if reset and re.fullmatch(r"\d+(\.\d+)?", reset.strip()):
            seconds = float(reset)
            if seconds > 1e9:  # an epoch timestamp, not a delta
                seconds = seconds - (now or datetime.now(UTC)).timestamp()
            return max(0.0, seconds)
    combined = headers.get("ratelimit")
    if combined:
        m = re.search(r"(?:\bt|reset)\s*=\s*(\d+(?:\.\d+)?)", combined)
        if m:
            return float(m.group(1))
    return None


def _backoff(policy: RetryPolicy, attempt: int) -> float:
    """Exponential backoff with jitter (half fixed, half random) so clients spread out."""
    delay = min(policy.max_delay, policy.base_delay * (2 ** attempt))
    return delay * (0.5 + random.random() / 2)


def _where(url: str) -> str:
    """Host and path only: query strings may carry keys and never go into messages or logs."""
    parsed = httpx.URL(url)
    return f"{parsed.host}{parsed.path}"


# ----------------------------------------------------------------------------- request

async def request(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    params: Mapping[str, Any] | None = None,
    source: str = "http",
    retries: int | None = None,
    max_total_seconds: float | None = None,
    min_interval: float = 0.0,
    policy: RetryPolicy = DEFAULT_POLICY,
    max_bytes: int | None = None,
) -> httpx.Response:
    """Send one request under the shared policy and return a 2xx/3xx response, its body read.

    Retries connect errors, timeouts, 429 and 5xx with backoff, honouring server wait hints; other
    4xx fail at once. Gives up with :class:`SourceError` (naming ``source``) when attempts or the
    total time budget run out. ``min_interval`` > 0 serialises requests to the host and spaces them.
    ``max_bytes`` caps the body while it arrives (see :func:`_send`): a bigger one raises
    :class:`TooLarge` at once, without retrying and without ever holding more than the cap. A host
    that cannot be reached raises :class:`Unreachable` at once, and so does every later request to
    it through ``policy.breaker``.
    """
    retries = policy.retries if retries is None else retries
    budget = policy.max_total_seconds if max_total_seconds is None else max_total_seconds
    started = policy.clock()
    where = _where(url)
    host = httpx.URL(url).host
    attempt = 0
    while True:
        _check_breaker(policy, host, source)
        problem, wait_hint, response = await _attempt(client, method, url, params, source, min_interval,
                                                      policy, max_bytes)
        if problem is None and response is not None:
            return response
        if response is not None and response.status_code not in RETRY_STATUSES:
            raise _give_up(source, f"{problem} from {where}{_error_detail(response)}")
        if attempt >= retries:
            raise _give_up(source, f"{problem} from {where}; gave up after {attempt + 1} attempts")
        delay = wait_hint if wait_hint is not None else _backoff(policy, attempt)
        elapsed = policy.clock() - started
        if elapsed + delay > budget:
            hint = f"; server asked to wait {delay:.0f} s" if wait_hint is not None else ""
            raise _give_up(source, f"{problem} from {where}; gave up after {elapsed:.0f} s{hint}")
        asked = " (as the server asked)" if wait_hint is not None else ""
        log.info("%s: %s %s failed on attempt %d of %d: %s; retrying in %.1f s%s", source, method, where,
                 attempt + 1, retries + 1, problem, delay, asked)
        await policy.sleep(delay)
        attempt += 1


def _check_breaker(policy: RetryPolicy, host: str, source: str) -> None:
    """Fail at once when the run already found ``host`` unreachable (nothing is sent, nobody waits)."""
    why = policy.breaker.why(host) if policy.breaker is not None else None
    if why is not None:
        log.debug("%s: %s skipped: unreachable earlier in this run (%s)", source, host, why)
        raise Unreachable(source, host, why, skipped=True)


def _give_up(source: str, message: str) -> SourceError:
    """The one-line failure of a request, logged once at WARNING where it is decided."""
    error = SourceError(source, message)
    log.warning("%s", error)
    return error


async def _attempt(client: httpx.AsyncClient, method: str, url: str, params: Mapping[str, Any] | None,
                   source: str, min_interval: float, policy: RetryPolicy, max_bytes: int | None
                   ) -> tuple[str | None, float | None, httpx.Response | None]:
    """One try: (problem or None, server wait hint, response). Transport errors become a problem;
    :class:`TooLarge` is no httpx error, so it passes straight out of the retry loop."""
    try:
        if min_interval > 0:
            response = await _paced_send(client, method, url, params, min_interval, policy, source, max_bytes)
        else:
            response = await _send(client, method, url, params, source, max_bytes)
    except _TRANSIENT_ERRORS as exc:
        host = httpx.URL(url).host
        why = unreachable_reason(exc, host)
        if why is not None:  # offline: retrying only makes the user wait, and so would the next request
            if policy.breaker is not None:
                policy.breaker.trip(host, why)
            error = Unreachable(source, host, why)
            log.warning("%s", error)
            raise error from exc
        return _describe(exc), None, None
    except httpx.HTTPError as exc:  # invalid URL, too many redirects, ...: not worth retrying
        raise _give_up(source, f"{_describe(exc)} for {_where(url)}") from exc
    if response.status_code < 400:
        return None, None, response
    hint = retry_after_seconds(response.headers) if response.status_code in RETRY_STATUSES else None
    return f"HTTP {response.status_code}", hint, response


_REFUSED = (errno.ECONNREFUSED,)
_NO_ROUTE = (errno.ENETUNREACH, errno.EHOSTUNREACH)


def unreachable_reason(exc: BaseException, host: str) -> str | None:
    """Why ``host`` cannot be reached at all, when the error says so (seen through the exception
    chain): DNS, connection refused, no route, a TLS handshake failure (a captive portal's
    certificate). Only a failure to connect: None for a timeout, a reset, a broken transfer."""
    if not isinstance(exc, httpx.ConnectError):
        return None
    seen: BaseException | None = exc
    while seen is not None:
        text = str(seen)
        if isinstance(seen, socket.gaierror) or "Name or service not known" in text \
                or "Temporary failure in name resolution" in text or "nodename nor servname" in text:
            return f"cannot resolve {host} (no network?)"
        if isinstance(seen, ConnectionRefusedError) or getattr(seen, "errno", None) in _REFUSED \
                or "Connection refused" in text:
            return f"{host} refused the connection"
        if getattr(seen, "errno", None) in _NO_ROUTE or "Network is unreachable" in text \
                or "No route to host" in text:
            return f"no route to {host} (network unreachable)"
        if isinstance(seen, ssl.SSLError) or "CERTIFICATE_VERIFY_FAILED" in text:
            return f"TLS with {host} failed ({one_line(seen, 80)}; a captive portal?)"
        seen = seen.__cause__ or seen.__context__
    return None


async def _paced_send(client: httpx.AsyncClient, method: str, url: str, params: Mapping[str, Any] | None,
                      min_interval: float, policy: RetryPolicy, source: str, max_bytes: int | None
                      ) -> httpx.Response:
    """Send while holding the host gate, after waiting out the host's minimum interval.

    The body is read (or refused as too large) inside the gate, so the next request to the host waits
    for the whole transfer, and the interval counts from its end either way.
    """
    host = httpx.URL(url).host
    gate = _gate(client, host)
    async with gate.lock:
        _check_breaker(policy, host, source)  # it may have opened while this request waited its turn
        if gate.last is not None:
            wait = gate.last + min_interval - policy.clock()
            if wait > 0:
                await policy.sleep(wait)
        try:
            return await _send(client, method, url, params, source, max_bytes)
        finally:
            gate.last = policy.clock()


async def _send(client: httpx.AsyncClient, method: str, url: str, params: Mapping[str, Any] | None,
                source: str, max_bytes: int | None) -> httpx.Response:
    """Send and read the whole body, but never more than ``max_bytes`` of it when that is set.

    Capped, the response is streamed: a ``Content-Length`` over the cap is refused before any of the
    body is read, and otherwise reading stops (and the connection is closed) at the first chunk past
    the cap, so a huge or endless body never sits in memory. The streamed count is of decoded bytes,
    so a small gzip body that inflates past the cap is stopped too.
    """
    if max_bytes is None:
        return await client.request(method, url, params=params)
    response = await client.send(client.build_request(method, url, params=params), stream=True)
    try:
        declared = response.headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > max_bytes:
            raise _too_large(source, url, max_bytes, int(declared))
        chunks: list[bytes] = []
        received = 0
        async for chunk in response.aiter_bytes():
            received += len(chunk)
            if received > max_bytes:
                raise _too_large(source, url, max_bytes)
            chunks.append(chunk)
        # What aread() stores: the caller gets a read response whose .content works as usual.
        response._content = b"".join(chunks)
    finally:
        await response.aclose()
    return response


def _too_large(source: str, url: str, limit: int, size: int | None = None) -> TooLarge:
    """The refusal of an oversized body, logged once at WARNING like every other give-up."""
    error = TooLarge(source, _where(url), limit, size)
    log.warning("%s", error)
    return error


def _error_detail(response: httpx.Response) -> str:
    """The server's own short reason from a JSON ``{"error": ...}`` body, e.g. HF's "Invalid date"."""
    if "json" not in response.headers.get("content-type", ""):
        return ""
    try:
        reason = response.json().get("error")
    except (ValueError, AttributeError):
        return ""
    if not isinstance(reason, str) or not reason.strip():
        return ""
    reason = " ".join(reason.split())
    return f" ({reason[:117] + '...' if len(reason) > 120 else reason})"


def _describe(exc: Exception) -> str:
    """A short, header-free description of a transport error."""
    kind = type(exc).__name__
    text = one_line(exc, None)
    return f"{kind}: {text}" if text else kind
