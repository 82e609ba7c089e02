"""arXiv: Atom parsing (API, legacy, RSS), query building, paging, the daily listing, and
``fetch_papers`` across sources (concurrency, failures, merging)."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from papercast.models import normalize_arxiv_id
from papercast.tools.sources import arxiv
from papercast.tools.sources.fetch import fetch_papers
from papercast.tools.sources.http import SourceError

from helpers import (
    FIXTURES,
    FakeClock,
    Recorder,
    atom_entry,
    atom_feed,
    fast_policy,
    fixture_bytes,
    fixture_json,
    json_response,
    xml_response,
)

XML_FILES = sorted(p.name for p in FIXTURES.glob("arxiv_*.xml"))
EXPECTED_COUNTS = {
    "arxiv_idlist_2104.12255v1.xml": 1,
    "arxiv_idlist_oldstyle_astro-ph_0601001.xml": 1,
    "arxiv_query_legacy_cs.RO.xml": 2,
    "arxiv_query_testing.xml": 10,
    "arxiv_rss_cs.AI.xml": 7,
}


# ----------------------------------------------------------------------------- parsing

@pytest.mark.parametrize("name", XML_FILES)
def test_every_atom_fixture_parses_completely(name: str) -> None:
    feed = arxiv.parse_atom(fixture_bytes(name))
    assert feed.errors == []
    assert len(feed.papers) == EXPECTED_COUNTS[name]
    for paper in feed.papers:
        assert paper.sources == ["arxiv"]
        assert paper.title and paper.abstract and paper.authors and paper.categories
        assert paper.published is not None
        assert "\n" not in paper.abstract and "  " not in paper.abstract


def test_query_response_maps_fields_with_primary_category_first() -> None:
    feed = arxiv.parse_atom(fixture_bytes("arxiv_query_testing.xml"))
    first = feed.papers[0]
    assert first.id == "2202.12139"
    assert first.title.startswith("Testing Deep Learning Models: A First Comparative Study")
    assert first.authors == ["Mohit Kumar Ahuja", "Arnaud Gotlieb", "Helge Spieker"]
    assert first.published == date(2022, 2, 24)
    assert first.categories == ["cs.SE", "cs.LG"]
    assert first.comment == "Artificial Intelligence in Software Testing 2022 workshop @ ICST 2022"
    assert first.arxiv["doi"] == "10.1109/ICSTW55395.2022.00035" and first.arxiv["version"] == 1
    assert feed.total_results == 214881


def test_legacy_hard_wrapped_response() -> None:
    feed = arxiv.parse_atom(fixture_bytes("arxiv_query_legacy_cs.RO.xml"))
    first = feed.papers[0]
    assert first.title == ("RDD: Retrieval-Based Demonstration Decomposer for Planner Alignment in "
                           "Long-Horizon Tasks")
    assert first.abstract.startswith("To tackle long-horizon tasks, recent hierarchical "
                                     "vision-language-action (VLAs)")
    assert first.categories == ["cs.RO", "cs.AI", "cs.CV", "cs.LG", "cs.SY", "eess.SY"]  # deduped
    assert first.comment == ("39th Conference on Neural Information Processing Systems (NeurIPS 2025); "
                             "Project Website: rdd-neurips.github.io")
    assert feed.total_results == 5619


def test_old_style_id_and_affiliated_authors() -> None:
    paper = arxiv.parse_atom(fixture_bytes("arxiv_idlist_oldstyle_astro-ph_0601001.xml")).papers[0]
    assert paper.id == "astro-ph/0601001"
    assert paper.url == "https://arxiv.org/abs/astro-ph/0601001"
    assert paper.authors == ["Andrew Gould", "Susan Dorsher", "B. Scott Gaudi", "Andrzej Udalski"]
    assert paper.categories == ["astro-ph"]
    assert paper.arxiv["journal_ref"] == "ActaAstron.56:1-50,2006"


@pytest.mark.parametrize(("raw", "expected"), [
    ("http://arxiv.org/abs/2104.12255v1", "2104.12255"),
    ("http://arxiv.org/abs/astro-ph/0601001v1", "astro-ph/0601001"),
    ("oai:arXiv.org:2508.13426v1", "2508.13426"),
    ("math.GT/0309136", "math/0309136"),
    ("hep-th/9901001v3", "hep-th/9901001"),
])
def test_id_normalisation(raw: str, expected: str) -> None:
    assert normalize_arxiv_id(raw) == expected


def test_rss_listing_strips_the_announce_prefix_and_splits_creators() -> None:
    feed = arxiv.parse_atom(fixture_bytes("arxiv_rss_cs.AI.xml"))
    first = feed.papers[0]
    assert first.id == "2508.13426"
    assert first.abstract.startswith("As large language models (LLMs) increasingly mediate")
    assert first.authors == ["Chunhua Liu", "Kabir Manandhar Shrestha", "Sukai Huang"]
    assert first.categories == ["cs.CL", "cs.AI"]
    assert first.published == date(2025, 8, 20)
    assert feed.announce_types == {**{p.id: "cross" for p in feed.papers[:5]},
                                   "2508.14001": "new", "2508.14002": "new"}


def test_invalid_xml_is_a_one_line_source_error() -> None:
    truncated = fixture_bytes("arxiv_query_testing.xml")[:3000]
    with pytest.raises(SourceError) as info:
        arxiv.parse_atom(truncated)
    assert str(info.value).startswith("arxiv: invalid XML in response") and "\n" not in str(info.value)
    with pytest.raises(SourceError, match="not an Atom feed"):
        arxiv.parse_atom(b"<html><body>Service unavailable</body></html>")


def test_entity_expansion_is_refused() -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            b'<feed xmlns="http://www.w3.org/2005/Atom"><title>&b;</title></feed>')
    with pytest.raises(SourceError, match="refused unsafe XML"):
        arxiv.parse_atom(bomb)


def test_api_error_feed_is_a_source_error() -> None:
    error_feed = atom_feed(["<entry><id>http://arxiv.org/api/errors#incorrect_id_format_for_1234.1234x</id>"
                            "<title>Error</title><summary>incorrect id format for "
                            "1234.1234x</summary></entry>"])
    with pytest.raises(SourceError, match="^arxiv: API error: incorrect id format for 1234.1234x$"):
        arxiv.parse_atom(error_feed)


def test_entry_missing_abstract_is_kept_and_entry_missing_id_is_reported() -> None:
    feed = arxiv.parse_atom(atom_feed([
        atom_entry("2608.00001", "No abstract here", abstract=None),
        "<entry><title>No id</title><summary>text</summary></entry>",
        atom_entry("2608.00002", "Fine", comment="12 pages"),
    ]))
    assert [p.id for p in feed.papers] == ["2608.00001", "2608.00002"]
    assert feed.papers[0].abstract == "" and feed.papers[0].title == "No abstract here"
    assert feed.errors == ["entry 1: missing id"]


# ----------------------------------------------------------------------------- queries and paging

def test_search_query_builder() -> None:
    assert arxiv.build_search_query(categories=["cs.AI", "cs.LG"], query="long context",
                                    since=date(2026, 8, 20), until=date(2026, 8, 21)) == (
        "(cat:cs.AI OR cat:cs.LG) AND all:long AND all:context AND "
        "submittedDate:[202608200000 TO 202608212359]")
    assert arxiv.build_search_query(categories=["cs.RO"]) == "cat:cs.RO"
    assert arxiv.build_search_query(query='ti:"graph neural" AND au:Bengio') == (
        '(ti:"graph neural" AND au:Bengio)')
    assert arxiv.ti("graph  neural") == 'ti:"graph neural"' and arxiv.au("Hinton") == "au:Hinton"
    assert arxiv.abs_("diffusion") == "abs:diffusion"
    with pytest.raises(ValueError):
        arxiv.build_search_query()


async def test_search_pages_until_total_results() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        start = int(request.url.params["start"])
        count = 100 if start == 0 else 50
        entries = [atom_entry(f"2608.{20000 + start + i}", f"Paper {start + i}") for i in range(count)]
        return xml_response(atom_feed(entries, total=150))

    rec = Recorder(handler)
    async with rec.client() as client:
        result = await arxiv.search(client, "cat:cs.AI", max_results=1000, min_interval=0,
                                    policy=fast_policy())
    assert len(result.papers) == 150
    assert rec.params("start") == ["0", "100"]
    assert rec.params("sortBy") == ["submittedDate"] * 2 and rec.params("sortOrder") == ["descending"] * 2
    assert rec.requests[0].url.host == "export.arxiv.org"


async def test_search_replays_the_real_query_fixture() -> None:
    rec = Recorder(lambda request: xml_response(fixture_bytes("arxiv_query_testing.xml")))
    async with rec.client() as client:
        result = await arxiv.search(client, "all:testing", max_results=10, min_interval=0,
                                    policy=fast_policy())
    assert len(result.papers) == 10 and len(rec.requests) == 1


async def test_id_list_lookups_go_in_batches() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        ids = request.url.params["id_list"].split(",")
        return xml_response(atom_feed([atom_entry(i, f"Paper {i}") for i in ids]))

    rec = Recorder(handler)
    ids = [f"2608.{30000 + i}v2" for i in range(250)]
    async with rec.client() as client:
        result = await arxiv.fetch_by_ids(client, ids, min_interval=0, policy=fast_policy())
    assert [len(p.split(",")) for p in rec.params("id_list")] == [100, 100, 50]
    assert len(result.papers) == 250 and result.papers[0].id == "2608.30000"


async def test_old_style_id_list_lookup() -> None:
    rec = Recorder(lambda request: xml_response(fixture_bytes("arxiv_idlist_oldstyle_astro-ph_0601001.xml")))
    async with rec.client() as client:
        result = await arxiv.fetch_by_ids(client, ["astro-ph/0601001v1"], min_interval=0,
                                          policy=fast_policy())
    assert rec.params("id_list") == ["astro-ph/0601001"]
    assert result.papers[0].id == "astro-ph/0601001"


# ----------------------------------------------------------------------------- daily listing

def listing_handler(*, api_fails: bool = False, path: str = "/atom/cs.AI") -> Recorder:
    """RSS from the fixture; the API answers id_list lookups with fuller records (or always 500s)."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "rss.arxiv.org":
            assert request.url.path == path
            return xml_response(fixture_bytes("arxiv_rss_cs.AI.xml"))
        if api_fails:
            return httpx.Response(500)
        ids = request.url.params["id_list"].split(",")
        return xml_response(atom_feed([atom_entry(i, f"API title {i}", categories=("cs.AI", "cs.LG"),
                                                  comment="8 pages", published="2025-08-18T10:00:00Z")
                                       for i in ids]))

    return Recorder(handler)


async def test_listing_keeps_new_entries_and_enriches_them_from_the_api() -> None:
    rec = listing_handler()
    async with rec.client() as client:
        result = await fetch_papers("arxiv", categories=["cs.AI"], client=client, arxiv_min_interval=0,
                                    policy=fast_policy())
    assert [p.id for p in result.papers] == ["2508.14001", "2508.14002"]
    assert rec.params("id_list")[1] == "2508.14001,2508.14002"
    first = result.papers[0]
    assert first.title == "API title 2508.14001" and first.comment == "8 pages"
    assert first.published == date(2025, 8, 18)
    assert first.arxiv["announce_type"] == "new"
    assert result.errors == [] and result.notes == []


async def test_listing_with_cross_lists() -> None:
    rec = listing_handler()
    async with rec.client() as client:
        result = await fetch_papers("arxiv", categories=["cs.AI"], include_cross=True, client=client,
                                    arxiv_min_interval=0, policy=fast_policy())
    assert len(result.papers) == 7


async def test_listing_falls_back_to_rss_metadata_when_id_list_fails() -> None:
    rec = listing_handler(api_fails=True)
    async with rec.client() as client:
        result = await fetch_papers("arxiv", categories=["cs.AI"], client=client, arxiv_min_interval=0,
                                    policy=fast_policy(retries=1))
    assert [p.title for p in result.papers] == ["Neural Architecture Search for Efficient Transformers",
                                                "Reward Shaping in Multi-Agent Reinforcement Learning"]
    assert result.papers[0].authors == ["Alice Smith", "Bob Jones"]
    assert "id_list lookup failed" in result.notes[0] and "listing's own metadata" in result.notes[0]


async def test_empty_listing_says_so() -> None:
    rec = Recorder(lambda request: xml_response(atom_feed([])))
    async with rec.client() as client:
        result = await fetch_papers("arxiv", categories=["cs.AI"], client=client, arxiv_min_interval=0,
                                    policy=fast_policy())
    assert result.papers == [] and "no new papers today" in result.notes[0]


async def test_date_range_goes_into_the_query() -> None:
    rec = Recorder(lambda request: xml_response(fixture_bytes("arxiv_query_legacy_cs.RO.xml")))
    async with rec.client() as client:
        result = await fetch_papers("arxiv", since="2025-10-16", until="2025-10-17", categories=["cs.RO"],
                                    client=client, arxiv_min_interval=0, policy=fast_policy())
    assert rec.params("search_query") == ["cat:cs.RO AND submittedDate:[202510160000 TO 202510172359]"]
    assert len(result.papers) == 2


# ----------------------------------------------------------------------------- all sources

def hf_item_for(paper_id: str) -> dict:
    item = fixture_json("hf_daily_papers_2026-08-21.json")[0]
    item["paper"]["id"] = paper_id
    return item


def two_source_handler(*, arxiv_status: int = 200, hf_status: int = 200) -> Recorder:
    """HF lists one paper that arXiv also returns (2202.12139); arXiv replays the real query fixture."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "huggingface.co":
            if hf_status != 200:
                return httpx.Response(hf_status)
            return json_response([hf_item_for("2202.12139"), hf_item_for("2608.19880")])
        if arxiv_status != 200:
            return httpx.Response(arxiv_status)
        return xml_response(fixture_bytes("arxiv_query_testing.xml"))

    return Recorder(handler)


async def test_all_sources_merge_the_same_paper_into_one_record() -> None:
    rec = two_source_handler()
    async with rec.client() as client:
        result = await fetch_papers("all", date="2026-08-21", categories=["cs.SE"], client=client,
                                    arxiv_min_interval=0, policy=fast_policy())
    ids = [p.id for p in result.papers]
    assert len(ids) == len(set(ids)) == 11  # 2 from HF + 10 from arXiv, one shared
    merged = next(p for p in result.papers if p.id == "2202.12139")
    assert merged.sources == ["arxiv", "hf"]
    assert merged.upvotes == 163 and merged.ai_summary  # from HF
    assert merged.categories == ["cs.SE", "cs.LG"] and merged.comment  # from arXiv
    assert merged.title.startswith("Testing Deep Learning Models")  # arXiv metadata wins
    assert result.errors == []


async def test_a_failing_source_is_reported_and_the_other_kept() -> None:
    rec = two_source_handler(arxiv_status=500)
    async with rec.client() as client:
        result = await fetch_papers("all", date="2026-08-21", categories=["cs.SE"], client=client,
                                    arxiv_min_interval=0, policy=fast_policy(retries=2))
    assert [p.id for p in result.papers] == ["2202.12139", "2608.19880"]
    assert len(result.errors) == 1
    assert result.errors[0].startswith("arxiv: HTTP 500 from export.arxiv.org/api/query; gave up after 3")


async def test_a_timing_out_source_is_reported_and_the_other_kept() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "huggingface.co":
            raise httpx.ReadTimeout("timed out")
        return xml_response(fixture_bytes("arxiv_query_testing.xml"))

    rec = Recorder(handler)
    async with rec.client() as client:
        result = await fetch_papers("all", date="2026-08-21", categories=["cs.SE"], client=client,
                                    arxiv_min_interval=0, policy=fast_policy(retries=1))
    assert len(result.papers) == 10
    assert result.errors == ["hf: ReadTimeout: timed out from huggingface.co/api/daily_papers; "
                             "gave up after 2 attempts"]


async def test_when_every_source_fails_it_raises() -> None:
    rec = two_source_handler(arxiv_status=503, hf_status=502)
    async with rec.client() as client:
        with pytest.raises(SourceError, match=r"^all: hf: HTTP 502 .*; arxiv: HTTP 503 "):
            await fetch_papers("all", date="2026-08-21", client=client, arxiv_min_interval=0,
                               policy=fast_policy(retries=0))


async def test_single_failing_source_raises_its_error() -> None:
    rec = two_source_handler(hf_status=500)
    async with rec.client() as client:
        with pytest.raises(SourceError, match="^hf: HTTP 500"):
            await fetch_papers("hf", date="2026-08-21", client=client, policy=fast_policy(retries=0))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"source": "scholar"}, "unknown source 'scholar'; choose hf, arxiv or all"),
    ({"source": "hf", "date": "2026-08-21", "since": "2026-08-01"}, "either a date or a since/until range"),
    ({"source": "hf", "until": "2026-08-01"}, "until needs since"),
    ({"source": "hf", "since": "2026-08-21", "until": "2026-08-01"}, "is after until"),
    ({"source": "arxiv", "date": "21/08/2026"}, "invalid date '21/08/2026'"),
])
async def test_bad_requests_raise_value_error(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        await fetch_papers(**kwargs)


async def test_arxiv_pages_are_spaced_by_the_etiquette_interval() -> None:
    clock = FakeClock()

    def handler(request: httpx.Request) -> httpx.Response:
        start = int(request.url.params["start"])
        count = 100 if start == 0 else 5
        entries = [atom_entry(f"2608.{40000 + start + i}", f"Paper {start + i}") for i in range(count)]
        return xml_response(atom_feed(entries, total=105))

    rec = Recorder(handler)
    async with rec.client() as client:
        result = await fetch_papers("arxiv", date="2026-08-20", categories=["cs.AI"], client=client,
                                    arxiv_min_interval=3.0, policy=fast_policy(clock))
    assert len(result.papers) == 105
    assert clock.sleeps == [3.0]  # one wait, between the two requests


async def test_query_without_dates_searches_newest_first_with_default_categories_note() -> None:
    rec = Recorder(lambda request: xml_response(fixture_bytes("arxiv_query_testing.xml")))
    async with rec.client() as client:
        result = await fetch_papers("arxiv", query="testing", client=client, arxiv_min_interval=0,
                                    policy=fast_policy())
    assert rec.params("search_query") == ["all:testing"] and rec.params("max_results") == ["100"]
    assert len(result.papers) == 10 and result.notes == []
    rec = listing_handler(path="/atom/cs.AI+cs.CL+cs.LG")
    async with rec.client() as client:
        result = await fetch_papers("arxiv", client=client, arxiv_min_interval=0, policy=fast_policy())
    assert "using cs.AI, cs.CL, cs.LG" in result.notes[0]
