"""Offline that knows it is offline: a host found unreachable (DNS, refused, no route, TLS) is tried once
per run (the TUI: once per session, until the user retries), said in one line; timeouts and 429/5xx keep
their retries. "No network" is an httpx.MockTransport raising the ConnectError httpx raises when DNS
fails (the same exception, errno text included), so nothing here touches a network.
"""

from __future__ import annotations

import errno
import socket
import ssl
from datetime import date

import httpx
import pytest

from papercast.cli import main
from papercast.service import Papercast
from papercast.service.core import ServiceCore
from papercast.tools.sources.breaker import HostBreaker
from papercast.tools.sources.http import SourceError, Unreachable, request, with_breaker

from helpers import PAPER, FakeClock, Recorder, copy_sample, fast_policy, paper_store

TODAY = date(2026, 8, 21)


def no_dns(request: httpx.Request) -> httpx.Response:
    """What httpx raises without network: a ConnectError caused by socket.gaierror."""
    try:
        raise socket.gaierror(-3, "Temporary failure in name resolution")
    except socket.gaierror as exc:
        raise httpx.ConnectError(str(exc), request=request) from exc


def refused(request: httpx.Request) -> httpx.Response:
    try:
        raise ConnectionRefusedError(111, "Connection refused")
    except ConnectionRefusedError as exc:
        raise httpx.ConnectError(f"[Errno 111] {exc.strerror}", request=request) from exc


def captive_portal(request: httpx.Request) -> httpx.Response:
    try:
        raise ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    except ssl.SSLError as exc:
        raise httpx.ConnectError(str(exc), request=request) from exc


def no_route(request: httpx.Request) -> httpx.Response:
    try:
        raise OSError(errno.ENETUNREACH, "Network is unreachable")
    except OSError as exc:
        raise httpx.ConnectError(f"[Errno {exc.errno}] {exc.strerror}", request=request) from exc


# -- the policy -------
@pytest.mark.parametrize("handler", [no_dns, refused, captive_portal, no_route],
                         ids=["dns", "refused", "tls", "no-route"])
async def test_an_unreachable_host_is_tried_once_then_skipped_at_once(handler) -> None:
    clock = FakeClock()
    breaker = HostBreaker()
    policy = with_breaker(fast_policy(clock, base_delay=1.0), breaker)
    rec = Recorder(handler)
    async with rec.client() as client:
        with pytest.raises(Unreachable) as first:
            await request(client, "GET", "https://arxiv.org/html/2608.19758", source="arxiv", policy=policy)
        assert not first.value.skipped and "arxiv.org" in str(first.value)
        for pid in ("2608.14277", "2608.00001"):
            with pytest.raises(Unreachable, match="arxiv.org unreachable earlier in this run") as later:
                await request(client, "GET", f"https://arxiv.org/pdf/{pid}", source="arxiv", policy=policy)
            assert later.value.skipped
    assert len(rec.requests) == 1 and clock.sleeps == []  # one try, no backoff to sit through
    assert breaker.open_hosts == ["arxiv.org"]
    assert breaker.close() == ["arxiv.org"] and breaker.why("arxiv.org") is None  # a retry closes it


async def test_other_hosts_are_still_tried_and_timeouts_keep_their_retries() -> None:
    breaker = HostBreaker()
    policy = with_breaker(fast_policy(retries=2), breaker)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "arxiv.org":
            return no_dns(request)
        if request.url.host == "slow.example.org":
            raise httpx.ConnectTimeout("timed out", request=request)
        if request.url.host == "cut.example.org":  # a transfer broken after connecting: retried
            raise httpx.ReadError("[SSL: UNEXPECTED_EOF_WHILE_READING] EOF", request=request)
        return httpx.Response(503, headers={"Retry-After": "0"})

    rec = Recorder(handler)
    async with rec.client() as client:
        with pytest.raises(Unreachable):
            await request(client, "GET", "https://arxiv.org/a", policy=policy)
        with pytest.raises(SourceError, match="HTTP 503 .*gave up after 3 attempts"):
            await request(client, "GET", "https://huggingface.co/api/x", policy=policy)
        with pytest.raises(SourceError, match="ConnectTimeout.*gave up after 3 attempts"):
            await request(client, "GET", "https://slow.example.org/x", policy=policy)
        with pytest.raises(SourceError, match="ConnectTimeout"):  # a timeout is no verdict on the host
            await request(client, "GET", "https://slow.example.org/x", policy=policy)
        with pytest.raises(SourceError, match="ReadError.*gave up after 3 attempts"):
            await request(client, "GET", "https://cut.example.org/x", policy=policy)
    hosts = [r.url.host for r in rec.requests]
    assert hosts.count("arxiv.org") == 1 and hosts.count("huggingface.co") == 3
    assert hosts.count("slow.example.org") == 6
    assert breaker.open_hosts == ["arxiv.org"]


# -- summarize, the CLI and the service -------
@pytest.fixture
def offline_service(settings, sample_home_template):
    service = copy_sample(sample_home_template, settings.with_overrides(fulltext=True))
    rec = Recorder(no_dns)
    service.fulltext_client = rec.client
    service.fulltext_policy = fast_policy()
    service.requests = rec.requests  # type: ignore[attr-defined]
    return service


def sample_ids(service: Papercast, n: int) -> list[str]:
    return sorted(paper_store(service).collection.get(include=[])["ids"])[:n]


def test_summarize_offline_asks_arxiv_once_and_says_so_once(offline_service):
    ids = sample_ids(offline_service, 6)
    summaries = offline_service.summarize(ids)
    assert len(offline_service.requests) == 1, [str(r.url) for r in offline_service.requests]
    assert [s.source for s in summaries] == ["abstract"] * 6  # made from the abstract, and it says so
    assert offline_service.network_notices() == [
        "arxiv.org unreachable: full text skipped for the other 5 papers"]
    assert offline_service.network_notices() == []  # said once
    offline_service.reconnect()
    offline_service.summarize(ids[:1])
    assert len(offline_service.requests) == 2  # tried again after a retry closed the breaker


def test_read_paper_as_chat_and_the_tui_call_it_waits_once_per_session(offline_service):
    first, second = sample_ids(offline_service, 2)
    one = offline_service.read_paper(first)
    two = offline_service.read_paper(second)
    assert one.unreachable and two.unreachable and not two.is_fulltext
    assert "cannot resolve arxiv.org" in one.note and "arxiv.org unreachable" in two.note
    assert len(offline_service.requests) == 1


def test_cli_summarize_offline_prints_the_line_once(service, monkeypatch, capsys):
    rec = Recorder(no_dns)
    monkeypatch.setattr(ServiceCore, "fulltext_client", staticmethod(rec.client))
    monkeypatch.setenv("PAPERCAST_FULLTEXT", "true")
    monkeypatch.setenv("PAPERCAST_ARXIV_MIN_INTERVAL", "0")
    ids = sample_ids(service, 4)
    assert main(["--home", str(service.settings.home), "summarize", *ids]) == 0
    out, err = capsys.readouterr()
    assert err.count("arxiv.org unreachable: full text skipped for the other 3 papers") == 1, err
    assert out.count("made from the abstract") == 4
    assert len(rec.requests) == 1


# -- daily -------
def test_daily_without_network_resolves_each_host_at_most_once(settings, sample_home_template):
    service = copy_sample(sample_home_template, settings.with_overrides(
        fulltext=True, arxiv_categories=("cs.CL", "cs.LG", "cs.AI")))
    rec = Recorder(no_dns)
    service.fulltext_client = rec.client
    report = service.daily(client=rec.client(), policy=fast_policy(), today=TODAY, n=3)
    assert report.offline_network and len(report.recommended) == 3
    hosts = [r.url.host for r in rec.requests]
    assert sorted(set(hosts)) == sorted(hosts), hosts  # one wait per unreachable host, at most


def test_fetch_as_chat_calls_it_waits_once_per_run(empty_service):
    rec = Recorder(no_dns)
    for _ in range(2):  # every source failing is one line (SourceError, exit 1)
        with pytest.raises(SourceError, match="unreachable|resolve"):
            empty_service.fetch("all", client=rec.client())
    hosts = [r.url.host for r in rec.requests]
    assert "huggingface.co" in hosts and sorted(set(hosts)) == sorted(hosts), hosts


def test_daily_reads_skip_arxiv_once_it_is_found_unreachable(settings, sample_home_template, fixtures_dir):
    """HF answers but arXiv cannot be reached: the fetch finds it out, and the reads of the top papers
    skip it at once, said in one line of the digest."""
    service = copy_sample(sample_home_template, settings.with_overrides(fulltext=True))
    page = (fixtures_dir / "hf_daily_papers_2026-08-21.json").read_bytes()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "huggingface.co":
            return httpx.Response(200, content=page)
        return no_dns(request)

    rec = Recorder(handler)
    report = service.daily(client=rec.client(), policy=fast_policy(), today=TODAY, n=5)
    assert not report.offline_network and report.ok
    assert [r.url.host for r in rec.requests].count("arxiv.org") == 1
    assert any("arxiv.org unreachable: full text skipped for the other" in e for e in report.skipped), \
        report.skipped
    assert not any("full text skipped" in e for e in report.errors)  # done without, not a failure


# -- the TUI -------
async def test_tui_f_offline_offers_a_retry_that_closes_the_breaker(offline_service):
    from papercast.tui.screens.paper import PaperScreen

    from tui_helpers import make_tui, wait_for, wait_loaded

    network = {"up": False}

    def handler(request: httpx.Request) -> httpx.Response:  # back up: arXiv answers (no rendering)
        return httpx.Response(404) if network["up"] else no_dns(request)

    rec = Recorder(handler)
    offline_service.fulltext_client = rec.client
    offline_service.host_breaker().trip("arxiv.org", "cannot resolve arxiv.org (no network?)")  # an earlier f
    tui = make_tui(offline_service)
    async with tui.run_test(size=(100, 40)) as pilot:
        await wait_loaded(pilot)
        tui.open_paper(PAPER)
        paper = await wait_for(pilot, lambda: isinstance(tui.screen, PaperScreen) and tui.screen)
        await pilot.press("f")
        await wait_for(pilot, lambda: paper.document is not None, what="the abstract-only document")
        status = str(paper.query_one("#fulltext-status").render())
        assert "arxiv.org unreachable" in status and "Press f to try again" in status, status
        assert rec.requests == []  # the session's breaker: nothing sent, nobody waits
        network["up"] = True
        await pilot.press("f")  # the retry closes the breaker: arXiv is asked again
        await wait_for(pilot, lambda: len(rec.requests) == 2 and not paper.reading, what="the retry")
        assert [r.url.path for r in rec.requests] == [f"/html/{PAPER}", f"/pdf/{PAPER}"]
        status = str(paper.query_one("#fulltext-status").render())
        assert "no HTML on arXiv" in status and "try again" not in status, status


# -- a model that cannot be reached ------------------------------------------------------------------
def test_summarize_with_an_unreachable_model_exits_1_naming_it(service, monkeypatch, capsys, litellm_loaded):
    """Offline extracts stand in for the model's summaries, and the exit code says the model failed."""
    from helpers import free_port
    from llm_server import DUMMY_API_KEY, TEST_MODEL

    monkeypatch.setenv("OPENAI_API_KEY", DUMMY_API_KEY)
    monkeypatch.setenv("PAPERCAST_MODEL", TEST_MODEL)
    monkeypatch.setenv("PAPERCAST_API_BASE", f"http://127.0.0.1:{free_port()}/v1")  # nothing listens
    monkeypatch.setenv("PAPERCAST_LLM_RETRIES", "0")
    ids = sample_ids(service, 2)
    assert main(["--home", str(service.settings.home), "summarize", *ids]) == 1
    out, err = capsys.readouterr()
    assert out.count("TL;DR:") == 2  # the summaries are still printed
    [line] = [ln for ln in err.splitlines() if "error:" in ln]
    assert f"the configured model {TEST_MODEL} failed (" in line and "2 of 2 summaries are offline" in line
    assert "no LLM configured" not in err
