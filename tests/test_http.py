"""The shared HTTP policy: retries, server wait hints, time budget, per-host pacing, one-line errors."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from papercast.tools.sources.http import USER_AGENT, SourceError, make_client, request, retry_after_seconds

from helpers import FakeClock, Recorder, fast_policy, sequence

URL = "https://example.org/api/items"


def ok(text: str = "ok") -> httpx.Response:
    return httpx.Response(200, text=text)


async def test_429_with_retry_after_then_success_waits_as_told() -> None:
    clock = FakeClock()
    rec = Recorder(sequence(httpx.Response(429, headers={"Retry-After": "7"}), ok()))
    async with rec.client() as client:
        response = await request(client, "GET", URL, source="hf", policy=fast_policy(clock))
    assert response.text == "ok"
    assert clock.sleeps == [7.0]
    assert len(rec.requests) == 2


async def test_500_then_success_retries_with_backoff() -> None:
    clock = FakeClock()
    rec = Recorder(sequence(httpx.Response(500), httpx.Response(503), ok()))
    async with rec.client() as client:
        response = await request(client, "GET", URL, policy=fast_policy(clock, base_delay=1.0))
    assert response.status_code == 200
    # Exponential with jitter: attempt 0 in [0.5, 1], attempt 1 in [1, 2].
    assert 0.5 <= clock.sleeps[0] <= 1.0 and 1.0 <= clock.sleeps[1] <= 2.0


async def test_always_500_gives_up_with_one_line_error_naming_the_source() -> None:
    rec = Recorder(sequence(httpx.Response(500)))
    async with rec.client() as client:
        with pytest.raises(SourceError) as info:
            await request(client, "GET", URL + "?secret=abc", source="arxiv", policy=fast_policy(retries=2))
    message = str(info.value)
    assert message.startswith("arxiv: HTTP 500")
    assert "3 attempts" in message and "\n" not in message
    assert "secret" not in message  # query strings never reach messages
    assert len(rec.requests) == 3


async def test_read_timeout_is_retried_then_succeeds() -> None:
    rec = Recorder(sequence(httpx.ReadTimeout("read timed out"), ok()))
    async with rec.client() as client:
        response = await request(client, "GET", URL, policy=fast_policy())
    assert response.text == "ok" and len(rec.requests) == 2


async def test_persistent_timeouts_and_connect_errors_become_source_error() -> None:
    rec = Recorder(sequence(httpx.ConnectError("connection refused"), httpx.ReadTimeout("slow")))
    async with rec.client() as client:
        with pytest.raises(SourceError, match=r"^hf: ReadTimeout: slow from example.org/api/items; gave up"):
            await request(client, "GET", URL, source="hf", policy=fast_policy(retries=2))
    assert len(rec.requests) == 3


async def test_no_network_fails_at_once_without_retries() -> None:
    """A DNS failure means no network: one line, no backoff for the user to sit through."""
    clock = FakeClock()

    def offline(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)

    rec = Recorder(offline)
    async with rec.client() as client:
        with pytest.raises(SourceError, match="hf: cannot resolve example.org \\(no network\\?\\)"):
            await request(client, "GET", URL, source="hf", policy=fast_policy(clock))
    assert len(rec.requests) == 1
    assert clock.sleeps == []


async def test_client_error_is_not_retried() -> None:
    rec = Recorder(sequence(httpx.Response(404)))
    async with rec.client() as client:
        with pytest.raises(SourceError, match="hf: HTTP 404 from example.org/api/items$"):
            await request(client, "GET", URL, source="hf", policy=fast_policy())
    assert len(rec.requests) == 1


async def test_client_error_carries_the_servers_short_reason() -> None:
    rec = Recorder(sequence(httpx.Response(400, json={"error": "Invalid date format"})))
    async with rec.client() as client:
        with pytest.raises(SourceError,
                           match=r"^hf: HTTP 400 from example.org/api/items \(Invalid date format\)$"):
            await request(client, "GET", URL, source="hf", policy=fast_policy())


async def test_server_wait_beyond_the_time_budget_gives_up_at_once() -> None:
    clock = FakeClock()
    rec = Recorder(sequence(httpx.Response(429, headers={"Retry-After": "600"})))
    async with rec.client() as client:
        with pytest.raises(SourceError, match="server asked to wait 600 s"):
            await request(client, "GET", URL, policy=fast_policy(clock, max_total_seconds=60))
    assert clock.sleeps == [] and len(rec.requests) == 1


async def test_total_time_budget_bounds_many_retries() -> None:
    clock = FakeClock()
    rec = Recorder(sequence(httpx.Response(503, headers={"RateLimit-Reset": "20"})))
    async with rec.client() as client:
        with pytest.raises(SourceError, match="gave up after 40 s"):
            await request(client, "GET", URL, retries=10, max_total_seconds=50, policy=fast_policy(clock))
    assert clock.sleeps == [20.0, 20.0]


async def test_min_interval_spaces_requests_to_one_host() -> None:
    clock = FakeClock()
    rec = Recorder(sequence(ok()))
    policy = fast_policy(clock)
    async with rec.client() as client:
        for _ in range(3):
            await request(client, "GET", URL, min_interval=3.0, policy=policy)
        await request(client, "GET", "https://other.example/x", min_interval=3.0, policy=policy)
    assert clock.sleeps == [3.0, 3.0]  # the first request and the other host never wait


async def test_client_factory_sends_user_agent_and_no_header_in_errors() -> None:
    rec = Recorder(sequence(ok()))
    client = make_client(transport=httpx.MockTransport(rec))
    async with client:
        await request(client, "GET", URL, policy=fast_policy())
    assert rec.requests[0].headers["user-agent"] == USER_AGENT
    assert client.timeout.connect == 10.0


def test_retry_after_parsing_variants() -> None:
    now = datetime(2026, 8, 21, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds(httpx.Headers({"Retry-After": "12"})) == 12.0
    assert retry_after_seconds(
        httpx.Headers({"Retry-After": "Fri, 21 Aug 2026 12:00:30 GMT"}), now=now) == 30.0
    assert retry_after_seconds(httpx.Headers({"RateLimit-Reset": "5"})) == 5.0
    epoch = str(int(now.timestamp()) + 9)
    assert retry_after_seconds(httpx.Headers({"X-RateLimit-Reset": epoch}), now=now) == 9.0
    assert retry_after_seconds(httpx.Headers({"RateLimit": '"api";r=0;t=44'})) == 44.0
    assert retry_after_seconds(httpx.Headers({"RateLimit": "limit=100, remaining=0, reset=8"})) == 8.0
    assert retry_after_seconds(httpx.Headers({"Retry-After": "soon"})) is None
    assert retry_after_seconds(httpx.Headers({})) is None


def test_source_error_is_one_line() -> None:
    error = SourceError("hf", "first line\n  second line")
    assert str(error) == "hf: first line second line"
    assert error.source == "hf"
