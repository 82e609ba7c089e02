"""`Papercast.fetch`: real API responses through httpx.MockTransport into the real store.

Failing servers answer ``Retry-After: 0`` (a real header value) so retries cost no waiting.
"""

from __future__ import annotations

from datetime import date

import httpx

from papercast.service import Papercast

from helpers import fixture_bytes


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


def test_fetch_hf_day_stores_papers_with_hf_fields(empty_service: Papercast) -> None:
    handler, _ = router(hf=httpx.Response(200, content=fixture_bytes("hf_daily_papers_2026-08-20.json")))
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    report = empty_service.fetch("hf", day=date(2026, 8, 20), client=client)
    assert not report.errors
    assert report.result is not None and report.result.added == len(report.papers) > 0
    stored = empty_service.get_paper(report.papers[0].id)
    assert stored.upvotes is not None and "hf" in stored.sources
    assert empty_service.count() == len(report.papers)


def test_one_failing_source_keeps_the_other_and_names_the_failure(empty_service: Papercast) -> None:
    handler, seen = router(hf=httpx.Response(200, content=fixture_bytes("hf_daily_papers_2026-08-21.json")))
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    report = empty_service.fetch("all", day=date(2026, 8, 21), client=client)
    assert len(report.errors) == 1 and report.errors[0].startswith("arxiv")
    assert "\n" not in report.errors[0]
    assert report.papers and empty_service.count() == len(report.papers)
    assert any(host.endswith("arxiv.org") for host in seen)


def test_arxiv_listing_then_metadata(empty_service: Papercast) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "rss.arxiv.org":
            return httpx.Response(200, content=fixture_bytes("arxiv_rss_cs.AI.xml"))
        return httpx.Response(500, headers={"Retry-After": "0"})  # id_list lookups fail: RSS metadata used

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    report = empty_service.fetch("arxiv", categories=["cs.AI"], client=client)
    assert report.papers, report
    assert any("listing" in note and "id_list" in note for note in report.notes)
    paper = empty_service.get_paper(report.papers[0].id)
    assert paper.abstract and not paper.abstract.startswith("arXiv:")

