"""Output and storage hygiene: what a hostile paper or a careless setting can make papercast show or keep.

* Terminal control sequences in paper data are removed when papers come in, and anything that
  still reaches the command line's output is escaped (a title holding ``ESC ]0;PWNED BEL ESC [2J``
  once retitled the terminal and cleared it from ``papers list``).
* Every field is capped at ingestion and the cut is reported (a 50 MB title once grew the store
  from 8 to 467 MB).
* URL credentials and key-like query parameters never reach the output, the usage table or the log.
* A database error names the file and what to do, from any query; the TUI names the file too.
"""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import httpx
import pytest

from papercast.cli import main
from papercast.commands._output import EscapingStream, escaped_output
from papercast.config import load_settings
from papercast.errors import UserError
from papercast.models import Paper
from papercast.sanitize import EXTRA_FIELD_LIMIT, LIST_LIMITS, TEXT_LIMITS, clean_text, escape_controls
from papercast.store import db
from papercast.store.papers import PaperStore

from helpers import fixture_json, free_port

EVIL_TITLE = "Evil \x1b]0;PWNED\x07\x1b[2J\x1b[31mtitle\x9b0m \u202eolleh"
CONTROLS = ("\x1b", "\x07", "\x9b", "\u202e")


def run(home: Path, *args: str) -> int:
    return main(["--home", str(home), *args])


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def record(pid: str, **fields) -> dict:
    return {"id": pid, "title": f"Paper {pid}", "abstract": "About retrieval.", "authors": ["A. Author"],
            "published": "2024-01-01", "categories": ["cs.IR"], **fields}


# -- control characters --------------------------------------------------------------------------------
def test_escape_sequences_in_paper_data_never_reach_the_terminal(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    source = write_jsonl(tmp_path / "evil.jsonl", [record(
        "2401.00001", title=EVIL_TITLE, authors=["Mallory \x1b[8mhidden", "\x07"],
        abstract="line one\nline two \x1bP+q544e\x1b\\ end", comment="pages: 9\nvenue: X\x1b[2J",
        categories=["cs.CL\x1b[0m"], venue_note="free \x1b]8;;http://evil\x07text")])
    assert run(home, "import", str(source)) == 0
    capsys.readouterr()

    for args in (("papers", "list"), ("papers", "show", "2401.00001"),
                 ("papers", "show", "2401.00001", "--json"), ("papers", "list", "--json")):
        assert run(home, *args) == 0
        out = capsys.readouterr().out
        assert not any(c in out for c in CONTROLS), (args, out)
    stored = PaperStore(load_settings(home=home)).get("2401.00001")
    assert stored is not None
    assert stored.title == "Evil title olleh"  # whole sequences go, not only their first byte
    assert stored.authors == ["Mallory hidden"]  # an author that was only a control character is dropped
    assert stored.abstract == "line one line two end" and stored.categories == ["cs.CL"]
    assert stored.comment == "pages: 9\nvenue: X"  # free-form fields keep their line breaks
    assert stored.model_extra == {"venue_note": "free text"}


def test_text_cleaning_keeps_ordinary_text_as_it_is() -> None:
    text = "Ünïcödé, 中文, emoji 🙂, math ∑ and tabs\tand a soft­hyphen"
    assert clean_text(text) == text.replace("\t", " ")
    assert clean_text("a\r\nb", multiline=True) == "a\nb"
    assert escape_controls("ok\n") == "ok\n"
    assert escape_controls("a\x1b[2Jb\x9b") == "a\\u001b[2Jb\\u009b"


def test_what_still_reaches_the_output_is_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Text that is not a paper (a profile the user typed, a model's answer) and papers stored
    before the cleaning: the command line escapes control characters as a second line of defence."""
    home = tmp_path / "home"
    interests = "graphs \x1b]0;PWNED\x07\x1b[2J and \x9b31m trees"
    assert run(home, "profile", "create", "mine", "--interests", interests) == 0
    capsys.readouterr()
    assert run(home, "profile", "show", "mine") == 0
    out = capsys.readouterr().out
    assert not any(c in out for c in CONTROLS)
    assert "\\u001b]0;PWNED\\u0007" in out  # visible, inert
    assert run(home, "profile", "show", "mine", "--json") == 0
    shown = json.loads(capsys.readouterr().out)  # still valid JSON: the same characters come back
    assert shown["interests"] == interests


def test_the_escaping_stream_passes_everything_else_through() -> None:
    sink = io.StringIO()
    stream = EscapingStream(sink)
    assert stream.write("a\x1b[2Jb\n") == len("a\x1b[2Jb\n")
    stream.writelines(["c\x07\n", "d\te\n"])
    assert sink.getvalue() == "a\\u001b[2Jb\nc\\u0007\nd\te\n"
    assert stream.getvalue() == sink.getvalue()  # other attributes are the stream's own
    with escaped_output():
        import sys

        assert isinstance(sys.stdout, EscapingStream) and isinstance(sys.stderr, EscapingStream)
    assert not isinstance(sys.stdout, EscapingStream)


# -- field sizes ---------------------------------------------------------------------------------------
def test_every_field_is_capped_at_ingestion_and_the_cut_is_reported(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    huge = record("2401.00002", title="T" * 5_000_000, abstract="word " * 10_000,
                  authors=[f"Author {i}" for i in range(LIST_LIMITS["authors"][0] + 10)] + ["X" * 1000],
                  ai_summary="s" * 100_000, ai_keywords=["k"] * 500,
                  blob={"nested": ["y" * 100_000]}, note="n" * 50_000,
                  **{f"extra_{i}": i for i in range(60)})
    source = write_jsonl(tmp_path / "huge.jsonl", [huge, record("2401.00003")])
    assert run(home, "import", str(source)) == 0
    captured = capsys.readouterr()
    assert "imported 2 papers" in captured.out
    cut = [line for line in captured.err.splitlines() if "cut to size" in line]
    assert len(cut) == 1 and cut[0].startswith("papercast: 2401.00002: cut to size: title: 5,000,000 → 1,000")
    for what in ("abstract: 50,000 → 10,000", "authors: 5,011 → 5,000 entries", "ai_summary",
                 "ai_keywords: 500 → 100", "unknown field 'blob' dropped", "note: 50,000 → 5,000"):
        assert what in cut[0], what

    store = PaperStore(load_settings(home=home))
    paper = store.get("2401.00002")
    assert paper is not None
    assert len(paper.title) <= TEXT_LIMITS["title"] and len(paper.abstract) <= TEXT_LIMITS["abstract"]
    assert len(paper.authors) == LIST_LIMITS["authors"][0]
    assert len(paper.ai_summary or "") <= TEXT_LIMITS["ai_summary"] and len(paper.ai_keywords) == 100
    assert "blob" not in (paper.model_extra or {}) and len((paper.model_extra or {})["note"]) == 5_000
    assert len(paper.model_extra or {}) <= 50
    meta = store.collection.get(ids=["2401.00002"], include=["metadatas", "documents"])
    assert len(meta["metadatas"][0]["paper"]) < 200_000 and not meta["documents"][0]  # the JSON only


def test_an_unknown_field_within_its_limits_is_kept_whole() -> None:
    value = {"a": ["b" * 100] * 10}
    paper = Paper(id="2401.00004", title="t", something=value)
    assert paper.model_extra == {"something": value} and paper.cut_note() is None
    assert len(json.dumps(value)) < EXTRA_FIELD_LIMIT


def test_fetched_papers_are_capped_and_the_fetch_says_so(empty_service) -> None:
    items = fixture_json("hf_daily_papers_2026-08-20.json")
    items[0]["paper"]["title"] = "Big \x1b[2J" + "T" * 20_000
    items[0]["paper"]["summary"] = "A" * 50_000
    body = json.dumps(items).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body) if "huggingface" in request.url.host else httpx.Response(503)

    report = empty_service.fetch("hf", client=httpx.AsyncClient(transport=httpx.MockTransport(handler)))
    [note] = [n for n in report.notes if "cut to size" in n]
    assert "title: 20,004 → 1,000 characters" in note and "abstract: 50,000 → 10,000" in note
    stored = empty_service.get_paper(note.split(":")[0])
    assert "\x1b" not in stored.title and len(stored.title) <= 1_000


# -- secrets -------------------------------------------------------------------------------------------
SECRET_BASE = "http://alice:s3cretpw@127.0.0.1:{port}/v1?api_key=KEYVALUE123&x=1"


def _no_secret(text: str) -> bool:
    return "s3cretpw" not in text and "KEYVALUE123" not in text and "alice:" not in text


def test_model_check_never_prints_url_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PAPERCAST_MODEL", "openai/test-model")
    monkeypatch.setenv("PAPERCAST_API_BASE", SECRET_BASE.format(port=free_port()))
    monkeypatch.setenv("PAPERCAST_LLM_RETRIES", "0")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key-000")
    home = tmp_path / "home"
    assert run(home, "model", "check") == 1
    captured = capsys.readouterr()
    assert "model: openai/test-model at http://***@127.0.0.1" in captured.out
    assert _no_secret(captured.out) and _no_secret(captured.err)
    assert run(home, "model", "check", "--json") == 1
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["api_base"].startswith("http://***@127.0.0.1") and "api_key=***" in report["api_base"]
    assert _no_secret(captured.out) and _no_secret(captured.err)
    log = (home / "logs" / "papercast.log").read_text()
    assert _no_secret(log)


def test_errors_naming_a_setting_never_print_its_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Bad input (exit 2) is printed through the same redaction as runtime failures."""
    monkeypatch.setenv("PAPERCAST_SMTP_PORT", "http://alice:s3cretpw@mail.example.org/?token=KEYVALUE123")
    assert run(tmp_path / "home", "papers", "list") == 2
    err = capsys.readouterr().err
    assert "smtp_port" in err and _no_secret(err) and len(err.strip().splitlines()) == 1


def test_the_usage_table_never_shows_a_credential(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from papercast.store.llm_log import LLMLog

    home = tmp_path / "home"
    settings = load_settings(home=home)
    LLMLog(settings.db_path).record_call("run-1", command="chat", model=SECRET_BASE.format(port=1),
                                         purpose="t", prompt_tokens=1, completion_tokens=1, cost_usd=None)
    for args in (("usage",), ("usage", "--json")):
        assert run(home, *args) == 0
        out = capsys.readouterr().out
        assert "run" in out or "chat" in out
        assert _no_secret(out)
    with sqlite3.connect(settings.db_path) as conn:  # nor does the file
        assert _no_secret(" ".join(r[0] for r in conn.execute("SELECT model FROM llm_runs")))


# -- database errors -----------------------------------------------------------------------------------
def damage(path: Path, how: str = "garbled") -> None:
    """Overwrite the start of every page but the first, or cut the file to a third: either way the
    schema page stays readable, so the file opens and the damage shows only when a query reads a table."""
    db.close_all()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(path.read_bytes())
    if how == "truncated":
        data = data[: max(page * 2, len(data) // 3)]
    else:
        for start in range(page, len(data), page):
            data[start:start + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["garbled", "truncated"])
def test_a_damaged_file_found_by_a_later_query_is_named_in_one_line(
        tmp_path: Path, how: str, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    assert run(home, "profile", "create", "mine", "--interests", "graphs") == 0
    damage(home / "papercast.db", how)
    capsys.readouterr()
    try:
        for args in (("profile", "list"), ("profile", "show", "mine")):
            assert run(home, *args) == 1
            err = capsys.readouterr().err.strip()
            assert len(err.splitlines()) == 1 and "internal error" not in err
            assert f"papercast.db at {home / 'papercast.db'} is damaged" in err and "move it away" in err
    finally:
        db.close_all()


def test_a_constraint_is_still_the_stores_own_business(tmp_path: Path) -> None:
    """Only trouble with the file becomes a DatabaseError; a duplicate profile stays a UserError."""
    from papercast.store.profiles import ProfileStore

    profiles = ProfileStore(load_settings(home=tmp_path / "home").db_path)
    profiles.create("mine")
    with pytest.raises(UserError, match="exists") as raised:
        profiles.create("mine")
    assert not isinstance(raised.value, db.DatabaseError)


async def test_the_tui_names_the_damaged_file_not_the_paper_store(service) -> None:
    from tui_helpers import make_tui, notifications, wait_for

    service.active_profile()  # papercast.db exists with a profile, then gets damaged
    damage(service.settings.db_path)
    try:
        tui = make_tui(service)
        async with tui.run_test(size=(100, 32)) as pilot:
            await wait_for(pilot, lambda: any(n.severity == "error" for n in notifications(tui)),
                           what="the start-up error")
            [error] = [n for n in notifications(tui) if n.severity == "error"]
            assert error.title == "papercast.db cannot be used"
            assert "paper store" not in error.title.lower()
            assert "papercast.db" in error.message and "damaged" in error.message
            # Any error the TUI shows goes through the same redaction as the command line's.
            tui.report_error("Fetching failed", f"cannot reach {SECRET_BASE.format(port=1)} \x1b[2J")
            await pilot.pause()
            shown = notifications(tui)[-1].message
            assert _no_secret(shown) and "\x1b" not in shown and "http://***@127.0.0.1" in shown
    finally:
        db.close_all()
