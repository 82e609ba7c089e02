"""Never resend: every delivery is recorded, and a paper delivered to a profile is not delivered again.

The real SQLite store (the deliveries migration), the real daily graph on the bundled sample with no
sources (nothing reaches the network), the CLI's ``recommend --include-seen`` and ``history``, and the
TUI's mark on delivered papers (Textual Pilot).
"""

from __future__ import annotations

import json
import os
from datetime import date

import pytest

from papercast.cli import main
from papercast.store.db import latest_version

from helpers import delivery_store

DAY = date(2026, 8, 20)


@pytest.fixture
def quiet_service(make_service, settings, monkeypatch):
    """The sample home with no sources: a daily run only ranks, summarizes and delivers what is stored
    (the service here, and the CLI through the environment)."""
    monkeypatch.setenv("PAPERCAST_SOURCES", "")
    return make_service(settings, sources=())


def test_a_delivery_is_recorded_and_its_papers_become_seen(service):
    profile = service.active_profile().name
    assert delivery_store(service).seen(profile) == set()
    record = service.record_delivery(profile, "email", "me@example.org", DAY, ["2608.19758", "2608.14277"])
    assert record.papers == ["2608.19758", "2608.14277"] and record.channel == "email"
    assert delivery_store(service).seen(profile) == {"2608.19758", "2608.14277"}
    assert service.seen_ids(["2608.19758", "2608.19880"]) == {"2608.19758"}
    # A second delivery of one of them adds a history line, and the seen set stays a set.
    service.record_delivery(profile, "feed", "feed.xml", DAY, ["2608.14277"])
    history = service.delivery_history(profile)
    assert [r.channel for r in history] == ["feed", "email"]  # newest first
    assert history[1].to_json()["papers"] == ["2608.19758", "2608.14277"]
    assert history[1].to_json()["day"] == "2026-08-20"


def test_seen_is_not_feedback_and_follows_the_profile(service):
    """Being sent a paper says nothing about liking it: the profile's feedback is untouched. The seen
    papers follow a rename and go with a deleted profile."""
    profile = service.active_profile().name
    service.record_delivery(profile, "stdout", "", DAY, ["2608.19758"])
    assert service.active_profile().feedback == []
    service.profile_create("other", interests="robots")
    service.profile_rename(profile, "renamed")
    assert delivery_store(service).seen("renamed") == {"2608.19758"}
    assert delivery_store(service).seen(profile) == set()
    assert delivery_store(service).seen("other") == set()  # per profile
    service.profile_use("other")
    service.profile_delete("renamed")
    assert delivery_store(service).seen("renamed") == set() and service.delivery_history() == []


def test_the_deliveries_tables_are_a_migration(service):
    from papercast.store.db import connect

    conn = connect(service.settings.db_path)
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"deliveries", "seen_papers"} <= names
    assert conn.execute("PRAGMA user_version").fetchone()[0] == latest_version("papercast")


def test_recommend_leaves_out_delivered_papers_unless_asked(service):
    before = service.recommend(n=5, use_llm=False)
    top = [r.paper.id for r in before.items]
    service.record_delivery(service.active_profile().name, "email", "me@example.org", DAY, top[:2])
    after = service.recommend(n=5, use_llm=False, include_seen=False)
    assert not set(top[:2]) & {r.paper.id for r in after.items}
    assert len(after.items) == 5 and set(top[2:5]) <= {r.paper.id for r in after.items}
    again = service.recommend(n=5, use_llm=False, include_seen=True)
    assert [r.paper.id for r in again.items] == top


def test_daily_never_delivers_a_paper_twice(quiet_service, tmp_path):
    first = quiet_service.daily(out=tmp_path / "one.md", n=4, use_llm=False)
    second = quiet_service.daily(out=tmp_path / "two.md", n=4, use_llm=False)
    assert first.ok and second.ok and first.errors == [] and second.errors == []
    assert len(first.recommended) == len(second.recommended) == 4
    assert not set(first.recommended) & set(second.recommended)
    assert first.recommended[0] in (tmp_path / "one.md").read_text()
    assert first.recommended[0] not in (tmp_path / "two.md").read_text()
    history = quiet_service.delivery_history()
    assert [(r.channel, r.papers) for r in history] == [("file", second.recommended),
                                                        ("file", first.recommended)]
    # --include-seen delivers the best papers again, whatever was sent before.
    third = quiet_service.daily(out=tmp_path / "three.md", n=4, use_llm=False, include_seen=True)
    assert third.recommended == first.recommended


def test_a_failed_delivery_is_not_recorded(quiet_service, tmp_path):
    """Nothing arrived, so nothing is seen: the next run offers the same papers again."""
    from papercast.errors import UserError

    with pytest.raises(UserError, match="no such directory"):  # bad input: refused before anything runs
        quiet_service.daily(out=tmp_path / "missing-dir" / "x.md", n=3, use_llm=False)
    target = tmp_path / "digest.md"
    blocker = tmp_path / f".digest.md.{os.getpid()}.tmp"
    blocker.mkdir()  # the write through this temporary name fails, as root too
    failed = quiet_service.daily(out=target, n=3, use_llm=False)
    assert failed.ok and failed.failed == [f"file {target}"] and failed.delivered == []
    assert any("cannot write" in e for e in failed.errors)
    assert quiet_service.delivery_history() == []
    blocker.rmdir()
    retry = quiet_service.daily(out=target, n=3, use_llm=False)
    assert retry.recommended == failed.recommended and retry.delivered == [f"file {target}"]


def test_cli_recommend_and_history(quiet_service, capsys):
    home = str(quiet_service.settings.home)
    assert main(["--home", home, "recommend", "-n", "3", "--json"]) == 0
    top = [item["id"] for item in json.loads(capsys.readouterr().out)]
    assert main(["--home", home, "daily", "-n", "2", "--out", str(quiet_service.settings.home / "d.md")]) == 0
    capsys.readouterr()
    assert main(["--home", home, "recommend", "-n", "3", "--json"]) == 0
    shown = [item["id"] for item in json.loads(capsys.readouterr().out)]
    assert not set(top[:2]) & set(shown)
    assert main(["--home", home, "recommend", "-n", "3", "--json", "--include-seen"]) == 0
    assert [item["id"] for item in json.loads(capsys.readouterr().out)] == top

    assert main(["--home", home, "history", "--json"]) == 0
    [record] = json.loads(capsys.readouterr().out)
    assert record["channel"] == "file" and record["papers"] == top[:2] and record["target"].endswith("d.md")
    assert main(["--home", home, "history"]) == 0
    assert "file" in capsys.readouterr().out
    assert main(["--home", home, "history", "--forget", top[0]]) == 0
    assert "1 of 1 paper(s) may be delivered" in capsys.readouterr().out
    assert delivery_store(quiet_service).seen(quiet_service.active_profile().name) == {top[1]}


def test_nothing_new_is_not_a_failure(quiet_service, tmp_path, capsys):
    """A window whose every paper was delivered: exit 0 and a note, not an error (cron stays quiet)."""
    home = str(quiet_service.settings.home)
    reading = quiet_service.recommend(n=1000, use_llm=False)
    everything = [r.paper.id for r in reading.items]
    quiet_service.record_delivery(quiet_service.active_profile().name, "email", "x@y.org", DAY, everything)
    assert main(["--home", home, "daily", "--out", str(tmp_path / "d.md")]) == 0
    captured = capsys.readouterr()
    assert "nothing to deliver for profile default" in captured.err and "error" not in captured.err
    assert "were delivered to default already (--include-seen shows them)" in captured.err
    assert not (tmp_path / "d.md").exists()


async def test_the_tui_marks_delivered_papers_and_exports_the_saved_ones(service):
    from papercast.tui.screens.lists import DELIVERED

    from tui_helpers import make_tui, wait_for, wait_loaded

    async with make_tui(service).run_test(size=(120, 40)) as pilot:
        screen = await wait_loaded(pilot)
        first, second = (row.paper.id for row in screen.papers.rows[:2])
        assert not any(row.extra == DELIVERED for row in screen.papers.rows)
    service.record_delivery(service.active_profile().name, "email", "me@example.org", DAY, [first])
    service.feedback([second], "save")
    async with make_tui(service).run_test(size=(120, 40)) as pilot:
        screen = await wait_loaded(pilot)
        marked = {row.paper.id for row in screen.papers.rows if row.extra == DELIVERED}
        assert marked == {first}  # shown (the TUI hides nothing), and marked
        await pilot.press("E")
        path = service.settings.home / "exports" / f"saved-{service.active_profile().name}.bib"
        await wait_for(pilot, path.exists, what="the export file")
    text = path.read_text()
    assert f"eprint={{{second}}}" in text and text.count("@misc{") == 1
