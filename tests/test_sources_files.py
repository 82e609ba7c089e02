"""``papercast import`` files: kind detection, every fixture, the 16k corpus, and bad input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from papercast.tools.sources.files import parse_file
from papercast.tools.sources.http import SourceError

from helpers import FIXTURES, fixture_bytes, fixture_json

RECORD = {"id": "2608.19880", "title": "EnvHarness", "abstract": "Static worlds, awakened.",
          "authors": ["Chengsong Huang"], "published": "2026-08-20", "categories": ["cs.AI"], "upvotes": 163}


def write_jsonl(path: Path, rows: list[object | str]) -> Path:
    lines = [row if isinstance(row, str) else json.dumps(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*") if p.suffix in (".json", ".xml")))
def test_every_fixture_file_imports(name: str) -> None:
    result = parse_file(FIXTURES / name)
    assert result.errors == []
    assert result.kind == ("arxiv-atom" if name.endswith(".xml") else "hf-json")
    assert result.papers and all(p.title for p in result.papers)


def test_hf_daily_papers_file_keeps_hf_fields() -> None:
    result = parse_file(FIXTURES / "hf_daily_papers_2026-08-20.json")
    assert len(result.papers) == 15
    assert result.papers[0].upvotes == 92 and result.papers[0].sources == ["hf"]


def test_jsonl_bad_lines_are_reported_with_line_numbers_and_skipped(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "mine.jsonl", [
        RECORD,
        '{"id": "2608.00001", "title": "cut off',
        "",
        {**RECORD, "id": "nonsense"},
        {"id": "2608.00002"},
        [1, 2],
        {**RECORD, "id": "2608.00003", "venue": "NeurIPS", "title": "Third"},
    ])
    result = parse_file(path)
    assert [p.id for p in result.papers] == ["2608.19880", "2608.00003"]
    assert result.papers[1].venue == "NeurIPS"
    assert result.errors[0].startswith(f"{path}:2: invalid JSON (")
    assert result.errors[1:] == [
        f"{path}:4: id: not an arXiv id: 'nonsense'",
        f"{path}:5: title: Field required",
        f"{path}:6: expected a JSON object, got list",
    ]


def test_gzipped_jsonl_and_duplicate_ids_are_merged(tmp_path: Path) -> None:
    path = tmp_path / "dump.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(json.dumps({**RECORD, "upvotes": 10}) + "\n")
        handle.write(json.dumps({**RECORD, "id": "2608.19880v2", "upvotes": 163, "categories": []}) + "\n")
    result = parse_file(path)
    assert len(result.papers) == 1
    assert result.papers[0].upvotes == 163 and result.papers[0].categories == ["cs.AI"]


def test_truncated_gzip_keeps_what_was_read(tmp_path: Path) -> None:
    body = gzip.compress(("\n".join(json.dumps({**RECORD, "id": f"2608.{10000 + i}"}) for i in range(2000))
                          + "\n").encode())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(body[: len(body) // 2])
    result = parse_file(path)
    assert 0 < len(result.papers) < 2000
    assert len(result.errors) == 1 and "file ends early" in result.errors[0]


def test_hf_single_paper_object_and_hf_lines_in_jsonl(tmp_path: Path) -> None:
    single = parse_file(FIXTURES / "hf_paper_2509.04664.json")
    assert [p.id for p in single.papers] == ["2509.04664"]
    lines = write_jsonl(tmp_path / "hf.jsonl", fixture_json("hf_daily_papers_2026-08-21.json")[:3])
    assert len(parse_file(lines).papers) == 3


def test_json_list_of_corpus_records(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps([RECORD, {**RECORD, "id": "bad"}]))
    result = parse_file(path)
    assert result.kind == "papers-json" and len(result.papers) == 1
    assert result.errors == [f"{path}:item 1: id: not an arXiv id: 'bad'"]


def test_hf_json_with_a_broken_item(tmp_path: Path) -> None:
    items = fixture_json("hf_daily_papers_2026-08-21.json")
    items[4] = {"paper": {"title": "no id"}}
    path = tmp_path / "daily.json"
    path.write_text(json.dumps(items))
    result = parse_file(path)
    assert len(result.papers) == 16 and result.errors == [f"{path}:item 4: missing paper id"]


def test_atom_file_with_a_bad_entry(tmp_path: Path) -> None:
    text = fixture_bytes("arxiv_query_legacy_cs.RO.xml").replace(
        b"<id>http://arxiv.org/abs/2510.14827v1</id>", b"<id>http://arxiv.org/abs/garbage</id>")
    path = tmp_path / "feed.atom"
    path.write_bytes(text)
    result = parse_file(path)
    assert [p.id for p in result.papers] == ["2510.14968"]
    assert result.errors == [f"{path}:entry 1: id: not an arXiv id: 'http://arxiv.org/abs/garbage'"]


def test_kind_is_sniffed_when_the_name_says_nothing(tmp_path: Path) -> None:
    xml = tmp_path / "download"
    xml.write_bytes(fixture_bytes("arxiv_idlist_2104.12255v1.xml"))
    assert parse_file(xml).kind == "arxiv-atom"
    lines = write_jsonl(tmp_path / "records.txt", [RECORD])
    assert parse_file(lines).kind == "jsonl"


def test_missing_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such file"):
        parse_file(tmp_path / "nope.jsonl")
    with pytest.raises(SourceError, match="is a directory"):
        parse_file(tmp_path)
    broken_json = tmp_path / "cut.json"
    broken_json.write_bytes(fixture_bytes("hf_daily_papers_2026-08-21.json")[:4000])
    with pytest.raises(SourceError, match=r"^import: .*cut.json: invalid JSON \(line \d+"):
        parse_file(broken_json)
    broken_xml = tmp_path / "cut.xml"
    broken_xml.write_bytes(fixture_bytes("arxiv_query_testing.xml")[:2000])
    with pytest.raises(SourceError, match=r"cut.xml: invalid XML"):
        parse_file(broken_xml)
    odd = tmp_path / "notes.bin"
    odd.write_bytes(b"\x00\x01binary")
    with pytest.raises(SourceError, match="unknown file type"):
        parse_file(odd)
