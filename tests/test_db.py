"""The home's SQLite files: versioned migrations, old homes, newer and damaged files, concurrent opens.

``tests/fixtures/home-v0`` is a home written before schema versions existed (see its README); the
current code must open it, migrate it and lose nothing. None of these tests opens Chroma: profiles,
usage and the thread list live in SQLite only.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from papercast.cli import main
from papercast.config import load_settings
from papercast.errors import RuntimeFailure
from papercast.service import Papercast
from papercast.store import db, memo, threads
from papercast.store.db import DatabaseError, NewerDatabase, close_all, latest_version, migrate
from papercast.store.profiles import ProfileStore

from helpers import FIXTURES, llm_log

HOME_V0 = FIXTURES / "home-v0"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _fresh_connections():
    """Each test opens its files as a new process would (and leaves no connection open)."""
    close_all()
    yield
    close_all()


def v0_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    for name in ("papercast.db", "threads.db"):
        shutil.copyfile(HOME_V0 / name, home / name)
    return home


def version_of(path: Path) -> int:
    """user_version read through a connection of the test's own (not papercast's)."""
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def schema_of(path: Path) -> set[tuple[str, str]]:
    conn = sqlite3.connect(path)
    try:
        return set(conn.execute("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"))
    finally:
        conn.close()


def test_the_fixture_is_a_home_from_before_versions():
    assert version_of(HOME_V0 / "papercast.db") == 0 and version_of(HOME_V0 / "threads.db") == 0


def test_a_home_from_before_versions_opens_migrated_with_everything_in_it(tmp_path):
    home = v0_home(tmp_path)
    service = Papercast(load_settings(home=home))

    assert service.active_profile_name() == "nlp"
    profiles = {p.name: p for p in service.profile_list()}
    assert set(profiles) == {"nlp", "default"}
    nlp = profiles["nlp"]
    assert nlp.interests == "retrieval-augmented generation, long context"
    assert nlp.keywords == ["RAG"] and nlp.authors == ["Percy Liang"] and nlp.categories == ["cs.CL"]
    assert nlp.liked == ["2608.19880", "2608.20335"] and nlp.disliked == ["2608.19799"]
    assert nlp.saved == ["2608.20336"] and nlp.dismissed == ["2608.20202"]
    assert {f.window for f in nlp.feedback} == {None}, "ratings from before windows were kept have none"

    [summary] = llm_log(service).summaries_for("2608.19880")
    assert summary.model == "offline" and summary.prompt_version == "extractive-v1"
    assert llm_log(service).cache_size() == 1
    [run] = service.usage_runs()
    assert (run.run_id, run.command, run.calls, run.prompt_tokens, run.completion_tokens) == \
        ("20261129T000000Z-1-abcd", "summarize", 1, 100, 20)
    assert run.cost_usd == pytest.approx(0.0001)
    assert list(memo.text_vectors(service.settings.db_path, "all-MiniLM-L6-v2-onnx-int8", ["long context"])) \
        == ["long context"]
    # (read directly: ``memo.store_fact`` forgets facts a day old, and this one was written on 2026-11-29)
    fact = db.connect(service.settings.db_path).execute(
        "SELECT value FROM store_facts WHERE key = 'newest|x'")
    assert fact.fetchone()["value"] == "2026-08-21"

    [thread] = service.list_threads()
    assert (thread.id, thread.title, thread.turns) == ("v0thread", "papers about long context", 1)

    assert version_of(home / "papercast.db") == latest_version("papercast")
    assert version_of(home / "threads.db") == latest_version("threads")
    assert "_store" not in service.__dict__  # Chroma was never opened


def test_a_migrated_v0_home_has_the_tables_of_a_fresh_one(tmp_path):
    home = v0_home(tmp_path)
    ProfileStore(home / "papercast.db")
    fresh = tmp_path / "fresh.db"
    ProfileStore(fresh)
    assert schema_of(home / "papercast.db") == schema_of(fresh)


def test_a_v0_thread_is_still_readable_by_langgraph(tmp_path):
    path = v0_home(tmp_path) / "threads.db"

    async def read() -> object:
        async with threads.checkpointer(path) as saver:
            return await saver.aget_tuple({"configurable": {"thread_id": "v0thread"}})

    assert asyncio.run(read()) is not None
    assert version_of(path) == latest_version("threads")


def test_a_fresh_home_gets_the_latest_versions(tmp_path):
    service = Papercast(load_settings(home=tmp_path / "home"))
    assert [p.name for p in service.profile_list()] == ["default"]
    assert service.list_threads() == []
    assert not service.settings.checkpoint_path.exists()  # listing threads creates no file

    threads.record_turn(service.settings.checkpoint_path, "t1", "hello there")
    assert [t.id for t in service.list_threads()] == ["t1"]
    assert version_of(service.settings.db_path) == latest_version("papercast")
    assert version_of(service.settings.checkpoint_path) == latest_version("threads")


def test_every_connection_has_the_same_settings(tmp_path):
    conn = db.connect(tmp_path / "papercast.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000


def test_migrating_twice_is_a_no_op(tmp_path):
    path = v0_home(tmp_path) / "papercast.db"
    conn = sqlite3.connect(path)
    try:
        assert migrate(conn, "papercast") == latest_version("papercast")
        before = conn.execute("SELECT name, interests, updated FROM profiles ORDER BY name").fetchall()
        assert migrate(conn, "papercast") == 0
        assert conn.execute(
            "SELECT name, interests, updated FROM profiles ORDER BY name").fetchall() == before
        assert int(conn.execute("PRAGMA user_version").fetchone()[0]) == latest_version("papercast")
    finally:
        conn.close()
    # A new process (close_all forgets what was migrated) opens it without migrating again.
    close_all()
    assert ProfileStore(path).active_name() == "nlp"
    assert version_of(path) == latest_version("papercast")


def _one_line_naming(exc: BaseException, path: Path) -> str:
    text = str(exc)
    assert "\n" not in text and str(path) in text
    return text


def test_a_file_from_a_newer_papercast_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "home" / "papercast.db"
    ProfileStore(path)
    newer = latest_version("papercast") + 1
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {newer}")
    raw.close()
    close_all()

    with pytest.raises(NewerDatabase) as caught:
        ProfileStore(path)
    assert isinstance(caught.value, RuntimeFailure)
    assert "newer papercast" in _one_line_naming(caught.value, path)
    assert version_of(path) == newer
    # The memo is only a cache: it answers "unknown" rather than fail.
    assert memo.text_vectors(path, "m", ["x"]) == {}


def test_a_threads_file_from_a_newer_papercast_is_refused(tmp_path):
    path = tmp_path / "threads.db"
    threads.record_turn(path, "t1", "hello")
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {latest_version('threads') + 5}")
    raw.close()
    close_all()
    with pytest.raises(NewerDatabase) as caught:
        threads.list_threads(path)
    assert "newer papercast" in _one_line_naming(caught.value, path)


def test_the_cli_says_so_in_one_line_with_exit_1(tmp_path, capsys):
    home = tmp_path / "home"
    ProfileStore(home / "papercast.db")
    raw = sqlite3.connect(home / "papercast.db")
    raw.execute(f"PRAGMA user_version = {latest_version('papercast') + 1}")
    raw.close()
    close_all()
    assert main(["--home", str(home), "profile", "list"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(home / "papercast.db") in err and "newer papercast" in err


@pytest.mark.parametrize("damage", ["random", "truncated"])
def test_a_damaged_file_is_a_one_line_failure_naming_it(tmp_path, damage):
    home = tmp_path / "home"
    home.mkdir()
    path = home / "papercast.db"
    if damage == "random":
        path.write_bytes(np.random.default_rng(7).bytes(4096))
    else:
        whole = (HOME_V0 / "papercast.db").read_bytes()
        path.write_bytes(whole[: len(whole) // 2])
    service = Papercast(load_settings(home=home))

    with pytest.raises(DatabaseError) as caught:
        service.profile_list()
    assert isinstance(caught.value, RuntimeFailure) and not isinstance(caught.value, sqlite3.Error)
    assert "damaged" in _one_line_naming(caught.value, path)
    with pytest.raises(DatabaseError):
        service.usage_runs()
    assert memo.store_fact(path, "k") is None  # only a cache


def test_a_damaged_threads_file_is_a_one_line_failure(tmp_path):
    path = tmp_path / "threads.db"
    path.write_bytes(b"not a database at all " * 200)
    with pytest.raises(DatabaseError) as caught:
        threads.list_threads(path)
    assert "damaged" in _one_line_naming(caught.value, path)


def test_threads_opening_a_fresh_home_at_once_all_succeed(tmp_path):
    path = tmp_path / "home" / "papercast.db"
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            start.wait()
            ProfileStore(path).ensure_default("default", "x")
        except BaseException as exc:  # noqa: BLE001  (reported by the assertion below)
            errors.append(exc)
        finally:
            close_all()

    workers = [threading.Thread(target=open_it) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    assert ProfileStore(path).names() == ["default"]
    assert version_of(path) == latest_version("papercast")


_OPENER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from papercast.config import load_settings
    from papercast.service import Papercast
    from papercast.store import threads

    home, me = Path(sys.argv[1]), sys.argv[2]
    service = Papercast(load_settings(home=home))
    (home.parent / f"ready-{me}").touch()
    while not (home.parent / "go").exists():
        time.sleep(0.001)
    service.profile_list()
    threads.record_turn(service.settings.checkpoint_path, f"t-{me}", "hello")
    print(len(service.list_threads()))
""")


def test_processes_opening_a_fresh_home_at_once_all_succeed(tmp_path):
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERCAST_")}
    procs = [subprocess.Popen([sys.executable, "-c", _OPENER, str(home), str(i)], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(3)]
    try:
        deadline = time.monotonic() + 60
        while not all((tmp_path / f"ready-{i}").exists() for i in range(3)):
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs), \
                "an opener did not start"
            time.sleep(0.01)
        (tmp_path / "go").touch()
        results = [p.communicate(timeout=60) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0, 0, 0], [err for _, err in results]
    close_all()
    assert ProfileStore(home / "papercast.db").names() == ["default"]
    assert len(threads.list_threads(home / "threads.db")) == 3
    assert version_of(home / "papercast.db") == latest_version("papercast")
    assert version_of(home / "threads.db") == latest_version("threads")
