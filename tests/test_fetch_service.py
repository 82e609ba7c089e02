"""`Papercast.fetch`: real API responses through httpx.MockTransport into the real store.

Failing servers answer ``Retry-After: 0`` (a real header value) so retries cost no waiting.
"""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from papercast.service import Papercast

from sources_helpers import fixture_bytes


def router(hf: httpx.Response | None = None, arxiv: httpx.Response | None = None):
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.host)
        if request.url.host == "huggingface.co" and hf is not None:
            return hf
        if request.url.host.endswith("arxiv.org") and arxiv is not None:
            return arxiv
        return httpx.Response(500, headers={"Retry-After": "0"}, text="down for maintenance")

    return handler, seen


@pytest.fixture
def fast_app(settings) -> Papercast:
    return Papercast(dataclasses.replace(settings, arxiv_min_interval=0.0))


def test_fetch_hf_day_stores_papers_with_hf_fields(fast_app: Papercast) -> None:
    handler, _ = router(hf=httpx.Response(200, content=fixture_bytes("hf_daily_papers_2026-08-20.json")))
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    report = fast_app.fetch("hf", day=fast_app_date("2026-08-20"), client=client)
    assert not report.errors
    assert report.result is not None and report.result.added == len(report.papers) > 0
    stored = fast_app.get_paper(report.papers[0].id)
    assert stored.upvotes is not None and "hf" in stored.sources
    assert fast_app.count() == len(report.papers)


def test_one_failing_source_keeps_the_other_and_names_the_failure(fast_app: Papercast) -> None:
    handler, seen = router(hf=httpx.Response(200, content=fixture_bytes("hf_daily_papers_2026-08-21.json")))
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    report = fast_app.fetch("all", day=fast_app_date("2026-08-21"), client=client)
    assert len(report.errors) == 1 and report.errors[0].startswith("arxiv")
    assert "\n" not in report.errors[0]
    assert report.papers and fast_app.count() == len(report.papers)
    assert any(host.endswith("arxiv.org") for host in seen)


def test_arxiv_listing_then_metadata(fast_app: Papercast) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "rss.arxiv.org":
            return httpx.Response(200, content=fixture_bytes("arxiv_rss_cs.AI.xml"))
        return httpx.Response(500, headers={"Retry-After": "0"})  # id_list lookups fail: RSS metadata used

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    report = fast_app.fetch("arxiv", categories=["cs.AI"], client=client)
    assert report.papers, report
    assert any("listing" in note and "id_list" in note for note in report.notes)
    paper = fast_app.get_paper(report.papers[0].id)
    assert paper.abstract and not paper.abstract.startswith("arXiv:")


def fast_app_date(text: str):
    from papercast.service import parse_date

    return parse_date(text)
