"""Hugging Face Daily Papers: both response schemas, paging, empty days, malformed responses."""

from __future__ import annotations

import json
from datetime import date

import httpx
import pytest

from papercast.tools.sources import hf
from papercast.tools.sources.fetch import fetch_papers
from papercast.tools.sources.http import SourceError

from helpers import (
    FIXTURES,
    Recorder,
    fast_policy,
    fixture_bytes,
    fixture_json,
    hf_items_with_ids,
    json_response,
    sequence,
)

HF_FILES = sorted(p.name for p in FIXTURES.glob("hf_daily_papers_*.json"))


def by_date(days: dict[str, list | bytes]) -> Recorder:
    """An HF API stand-in serving one list per ``date`` (``[]`` for any other day)."""

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.host == "huggingface.co" and request.url.path == "/api/daily_papers"
        body = days.get(request.url.params.get("date", ""), [])
        if isinstance(body, bytes):
            return httpx.Response(200, content=body)
        return json_response(body)

    return Recorder(handler)


@pytest.mark.parametrize("name", HF_FILES)
def test_every_daily_papers_fixture_parses_completely(name: str) -> None:
    data = fixture_json(name)
    papers, errors = hf.parse_daily_papers(data)
    assert errors == []
    assert len(papers) == len(data) > 0
    for paper, item in zip(papers, data, strict=True):
        assert paper.id == item["paper"]["id"]
        assert paper.sources == ["hf"]
        assert paper.title and paper.abstract and paper.authors
        assert paper.upvotes == item["paper"]["upvotes"]
        assert paper.hf_date is not None and paper.published is not None
        assert "avatar" not in json.dumps(paper.model_dump(mode="json"))  # extras stay compact


def test_2026_schema_maps_every_field() -> None:
    papers, _ = hf.parse_daily_papers(fixture_json("hf_daily_papers_2026-08-21.json"))
    first = papers[0]
    assert first.id == "2608.19880"
    assert first.title == "EnvHarness: Awakening Static Worlds for Agent Learning"
    assert first.authors[:2] == ["Chengsong Huang", "Zifeng Wang"] and len(first.authors) == 17
    assert first.published == date(2026, 8, 20) and first.hf_date == date(2026, 8, 21)
    assert (first.upvotes, first.num_comments) == (163, 1)
    assert first.ai_summary.startswith("EnvHarness and EnvRigger")
    assert "EnvRigger" in first.ai_keywords
    assert first.github_repo == "https://github.com/google-research/envharness"
    assert first.github_stars == 8 and first.project_page == "https://envharness.com/"
    assert first.organization == "Google"
    assert first.hf == {
        "discussionId": "6a87afc589e517cbfd75dbe0", "githubRepoAddedBy": "user",
        "ai_summary_model": "thinkingmachines/Inkling-Small", "isAuthorParticipating": False,
        "submittedBy": "taesiri", "organizationId": "google",
    }


def test_2024_schema_without_ai_fields_or_submission_date() -> None:
    papers, _ = hf.parse_daily_papers(fixture_json("hf_daily_papers_2024-05-27_oldschema.json"))
    first = papers[0]
    assert first.id == "2405.15738"
    # The old title is hard-wrapped ("Multimodal\n  Models"); whitespace is collapsed.
    assert first.title == "ConvLLaVA: Hierarchical Backbones as Visual Encoder for Large Multimodal Models"
    assert first.hf_date == date(2024, 5, 27)  # from the item's listing timestamp
    assert first.ai_summary is None and first.ai_keywords == [] and first.github_repo is None
    assert first.num_comments == 3


async def test_single_paper_endpoint() -> None:
    rec = Recorder(lambda request: httpx.Response(200, content=fixture_bytes("hf_paper_2509.04664.json")))
    async with rec.client() as client:
        paper = await hf.fetch_paper(client, "2509.04664", policy=fast_policy())
    assert rec.requests[0].url.path == "/api/papers/2509.04664"
    assert paper.title == "Why Language Models Hallucinate"
    assert paper.hf_date == date(2025, 9, 8) and paper.upvotes == 26
    assert "\n" not in paper.abstract and paper.abstract.startswith("Like students facing hard exam")


async def test_paging_continues_after_a_full_page_and_stops_at_a_short_one() -> None:
    full = hf_items_with_ids([f"2608.{10000 + i}" for i in range(100)])
    short = fixture_json("hf_daily_papers_2026-08-21.json")
    rec = Recorder(lambda request: json_response(full if request.url.params["p"] == "0" else short))
    async with rec.client() as client:
        result = await hf.fetch_listing(client, day=date(2026, 8, 21), policy=fast_policy())
    assert rec.params("p") == ["0", "1"]
    assert rec.params("limit") == ["100", "100"] and rec.params("date") == ["2026-08-21"] * 2
    assert len(result.papers) == 117 and result.errors == []


async def test_paging_stops_when_the_api_ignores_the_page_parameter() -> None:
    full = hf_items_with_ids([f"2608.{10000 + i}" for i in range(100)])
    rec = Recorder(sequence(json_response(full)))
    async with rec.client() as client:
        result = await hf.fetch_listing(client, day=date(2026, 8, 21), policy=fast_policy())
    assert len(rec.requests) == 2 and len(result.papers) == 100


async def test_explicit_weekend_date_is_empty_with_a_note_offering_the_last_day() -> None:
    rec = by_date({"2026-08-21": fixture_json("hf_daily_papers_2026-08-21.json")})
    async with rec.client() as client:
        result = await fetch_papers("hf", date="2026-08-23", client=client, policy=fast_policy())
    assert result.papers == [] and result.errors == []
    assert len(result.notes) == 1
    assert "no papers for 2026-08-23" in result.notes[0] and "2026-08-21" in result.notes[0]
    assert rec.params("date") == ["2026-08-23", "2026-08-22", "2026-08-21"]


async def test_no_date_falls_back_to_the_last_non_empty_day() -> None:
    rec = by_date({"2026-08-21": fixture_json("hf_daily_papers_2026-08-21.json")})
    async with rec.client() as client:
        result = await fetch_papers("hf", today="2026-08-23", client=client, policy=fast_policy())
    assert len(result.papers) == 17
    assert {p.hf_date for p in result.papers} == {date(2026, 8, 21)}
    assert "showing the last non-empty day, 2026-08-21" in result.notes[0]


async def test_nothing_in_the_lookback_window_says_so() -> None:
    rec = by_date({})
    async with rec.client() as client:
        result = await hf.fetch_day(client, date(2026, 8, 23), fallback=True, policy=fast_policy())
    assert result.papers == [] and "or the 7 days before it" in result.notes[0]
    assert len(rec.requests) == 8


async def test_range_merges_days_and_dedupes() -> None:
    day20 = fixture_json("hf_daily_papers_2026-08-20.json")
    day21 = fixture_json("hf_daily_papers_2026-08-21.json")
    day21_plus_repeat = [*day21, day20[0]]
    rec = by_date({"2026-08-20": day20, "2026-08-21": day21_plus_repeat})
    async with rec.client() as client:
        result = await fetch_papers("hf", since="2026-08-20", until="2026-08-21", client=client,
                                    policy=fast_policy())
    assert len(result.papers) == 15 + 17
    assert rec.params("date") == ["2026-08-20", "2026-08-21"]


def test_split_range_uses_months_and_iso_weeks() -> None:
    assert hf.split_range(date(2026, 8, 1), date(2026, 8, 31)) == [("month", "2026-08")]
    # Sat 15, Sun 16, then Mon 17 .. Sun 23 as one ISO week, then Mon 24 alone.
    assert hf.split_range(date(2026, 8, 15), date(2026, 8, 24)) == [
        ("day", date(2026, 8, 15)), ("day", date(2026, 8, 16)), ("week", "2026-W34"),
        ("day", date(2026, 8, 24))]


async def test_week_request_uses_the_week_parameter() -> None:
    rec = Recorder(lambda request: json_response(fixture_json("hf_daily_papers_2026-08-20.json")))
    async with rec.client() as client:
        result = await fetch_papers("hf", since="2026-08-17", until="2026-08-23", client=client,
                                    policy=fast_policy())
    assert rec.params("week") == ["2026-W34"] and len(result.papers) == 15
    assert {p.hf_date for p in result.papers} == {date(2026, 8, 20)}  # from submittedOnDailyAt


def test_malformed_items_are_skipped_and_reported_by_index() -> None:
    good = fixture_json("hf_daily_papers_2026-08-21.json")[:2]
    no_id = json.loads(json.dumps(good[0]))
    del no_id["paper"]["id"]
    bad_id = json.loads(json.dumps(good[1]))
    bad_id["paper"]["id"] = "not-an-id"
    no_title = {"paper": {"id": "2608.00001", "summary": "x"}}
    papers, errors = hf.parse_daily_papers([good[0], no_id, "junk", bad_id, no_title, good[1]])
    assert [p.id for p in papers] == [good[0]["paper"]["id"], good[1]["paper"]["id"]]
    assert errors == [
        "item 1: missing paper id",
        "item 2: expected an object, got str",
        "item 3: id: not an arXiv id: 'not-an-id'",
        "item 4: paper 2608.00001: missing title",
    ]


async def test_truncated_json_is_a_one_line_source_error() -> None:
    body = fixture_bytes("hf_daily_papers_2026-08-21.json")[:5000]
    rec = by_date({"2026-08-21": body})
    async with rec.client() as client:
        with pytest.raises(SourceError) as info:
            await fetch_papers("hf", date="2026-08-21", client=client, policy=fast_policy())
    assert str(info.value).startswith("hf: invalid JSON in response") and "\n" not in str(info.value)


def test_a_response_that_is_not_a_list_is_a_source_error() -> None:
    with pytest.raises(SourceError, match="expected a JSON list, got str"):
        hf.parse_daily_papers("rate limited")
    with pytest.raises(SourceError, match="expected a JSON list, got dict"):
        hf.parse_daily_papers({"error": "Invalid date"})


async def test_query_filters_hf_papers_locally() -> None:
    rec = by_date({"2026-08-21": fixture_json("hf_daily_papers_2026-08-21.json")})
    async with rec.client() as client:
        result = await fetch_papers("hf", date="2026-08-21", query="EnvHarness", client=client,
                                    policy=fast_policy())
    assert [p.id for p in result.papers] == ["2608.19880"]
    assert any("matching 'EnvHarness'" in n for n in result.notes)
