"""The lists each profile was shown lately (store/shown.py): a rating given by id, outside the TUI's list,
keeps the window of the list that showed its paper, so ``eval`` replays that day on the list."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from papercast.store.profiles import ProfileStore
from papercast.store.shown import SHOWN_DAYS, ShownLists

WEEK = (date(2026, 8, 3), date(2026, 8, 9))
NEXT_WEEK = (date(2026, 8, 10), date(2026, 8, 16))


@pytest.fixture
def stores(tmp_path):
    profiles = ProfileStore(tmp_path / "papercast.db")
    profiles.create("p")
    profiles.create("other")
    return profiles, ShownLists(tmp_path / "papercast.db")


def test_each_paper_keeps_the_window_of_the_last_list_that_showed_it(stores):
    _, shown = stores
    shown.record("p", WEEK, ["2401.00001", "2401.00002"])
    shown.record("p", NEXT_WEEK, ["2401.00002", "2401.00003", "2401.00003"])
    assert shown.windows_of("p", ["2401.00001", "2401.00002", "2401.00003", "2401.00004"]) == {
        "2401.00001": WEEK, "2401.00002": NEXT_WEEK, "2401.00003": NEXT_WEEK}
    assert shown.windows_of("other", ["2401.00001"]) == {}  # lists are per profile


def test_a_list_older_than_the_memory_is_forgotten(stores):
    profiles, shown = stores
    now = datetime.now(UTC)
    shown.record("p", WEEK, ["2401.00001"], at=now - timedelta(days=SHOWN_DAYS, hours=1))
    shown.record("p", WEEK, ["2401.00002"], at=now - timedelta(days=SHOWN_DAYS - 1))
    assert shown.windows_of("p", ["2401.00001", "2401.00002"], now=now) == {"2401.00002": WEEK}
    rows = profiles._conn.execute("SELECT paper_id FROM shown_papers").fetchall()
    assert [r["paper_id"] for r in rows] == ["2401.00002"]  # recording a list pruned the old one


def test_shown_lists_follow_a_rename_and_go_with_the_profile(stores):
    profiles, shown = stores
    shown.record("p", WEEK, ["2401.00001"])
    profiles.rename("p", "renamed")
    assert shown.windows_of("renamed", ["2401.00001"]) == {"2401.00001": WEEK}
    profiles.delete("renamed")
    assert profiles._conn.execute("SELECT COUNT(*) FROM shown_papers").fetchone()[0] == 0


def test_a_per_paper_window_is_kept_where_no_list_window_is_given(stores):
    profiles, _ = stores
    p = profiles.add_feedback("p", ["2401.00001", "2401.00002"], "like", windows={"2401.00001": WEEK})
    assert {f.paper_id: f.window for f in p.feedback} == {"2401.00001": WEEK, "2401.00002": None}
    p = profiles.add_feedback("p", ["2401.00003"], "dislike", window=NEXT_WEEK, windows={"2401.00003": WEEK})
    assert {f.paper_id: f.window for f in p.feedback}["2401.00003"] == NEXT_WEEK  # the list's own wins
