"""The home's SQLite files: every connection papercast opens to them, and their versioned schemas.

Two files live in the home: ``papercast.db`` (profiles, feedback, summaries, LLM usage and response
cache, memos) and ``threads.db`` (langgraph's checkpoints and papercast's thread list). Every
connection to either is opened here, with the same settings: WAL (readers never wait for the
writer), ``synchronous=NORMAL``, foreign keys on and a 30 s busy timeout, so a second process
waits its turn instead of failing. Connections are cached per thread and path (SQLite connections
must not cross threads); every write is one transaction (``with conn:``), so a crash leaves either
the old or the new state.

Each file has an ordered list of migrations (``MIGRATIONS["papercast"]``, ``MIGRATIONS["threads"]``)
and records how many it has applied in ``PRAGMA user_version``. The first open of a file in a
process applies the missing ones in one ``BEGIN IMMEDIATE`` transaction (two processes migrating
at once take turns; the second finds nothing to do). A file written by a newer papercast, or one
that is not a SQLite database, is refused with a one-line ``DatabaseError`` naming the file.
Migration 1 of each file is the schema papercast had before versions existed, with
``IF NOT EXISTS``, so a home written then (user_version 0, tables present) migrates cleanly. The
store modules hold only queries; a schema change is a new migration appended to a list here.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from papercast.errors import RuntimeFailure, one_line

if TYPE_CHECKING:
    import aiosqlite

BUSY_TIMEOUT_SECONDS = 30.0
# Run on every connection, sync or async. journal_mode=WAL is persistent in the file; the rest are
# per connection.
PRAGMAS: tuple[str, ...] = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}",
)


class DatabaseError(RuntimeFailure):
    """A home SQLite file could not be opened or migrated: damaged, unreadable or busy."""


class NewerDatabase(DatabaseError):
    """A home SQLite file was written by a newer papercast (its schema version is unknown here)."""


@dataclass(frozen=True)
class Migration:
    """One schema step: what it does (for readers of this file) and its SQL statements, run in order
    inside the migrating transaction (so no ``executescript``, which commits first)."""

    note: str
    statements: tuple[str, ...]


MIGRATIONS: dict[str, tuple[Migration, ...]] = {
    "papercast": (
        Migration("the schema before versions existed: profiles, LLM log, memos", (
            """CREATE TABLE IF NOT EXISTS profiles (
                name TEXT PRIMARY KEY COLLATE NOCASE,
                interests TEXT NOT NULL DEFAULT '',
                keywords TEXT NOT NULL DEFAULT '[]',
                excluded_keywords TEXT NOT NULL DEFAULT '[]',
                authors TEXT NOT NULL DEFAULT '[]',
                categories TEXT NOT NULL DEFAULT '[]',
                created TEXT NOT NULL,
                updated TEXT NOT NULL
            )""",
            """CREATE TABLE IF NOT EXISTS profile_feedback (
                profile TEXT NOT NULL REFERENCES profiles(name) ON UPDATE CASCADE ON DELETE CASCADE,
                paper_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                at TEXT NOT NULL,
                PRIMARY KEY (profile, paper_id, kind)
            )""",
            """CREATE TABLE IF NOT EXISTS profile_state (
                key TEXT PRIMARY KEY,
                value TEXT
            )""",
            """CREATE TABLE IF NOT EXISTS summaries (
                paper_id TEXT NOT NULL,
                model TEXT NOT NULL,
                prompt_version TEXT NOT NULL,
                data TEXT NOT NULL,
                created TEXT NOT NULL,
                PRIMARY KEY (paper_id, model, prompt_version)
            )""",
            """CREATE TABLE IF NOT EXISTS llm_cache (
                key TEXT PRIMARY KEY,
                model TEXT NOT NULL,
                prompt_version TEXT NOT NULL,
                purpose TEXT NOT NULL,
                response TEXT NOT NULL,
                finish_reason TEXT,
                prompt_tokens INTEGER NOT NULL DEFAULT 0,
                completion_tokens INTEGER NOT NULL DEFAULT 0,
                cost_usd REAL,
                created TEXT NOT NULL
            )""",
            """CREATE TABLE IF NOT EXISTS llm_runs (
                run_id TEXT PRIMARY KEY,
                started TEXT NOT NULL,
                command TEXT NOT NULL DEFAULT '',
                model TEXT NOT NULL DEFAULT ''
            )""",
            """CREATE TABLE IF NOT EXISTS llm_calls (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                run_id TEXT NOT NULL,
                at TEXT NOT NULL,
                model TEXT NOT NULL,
                purpose TEXT NOT NULL,
                prompt_tokens INTEGER NOT NULL DEFAULT 0,
                completion_tokens INTEGER NOT NULL DEFAULT 0,
                cost_usd REAL,
                cached INTEGER NOT NULL DEFAULT 0
            )""",
            "CREATE INDEX IF NOT EXISTS llm_calls_run ON llm_calls(run_id)",
            """CREATE TABLE IF NOT EXISTS text_vectors (
                model TEXT NOT NULL,
                text TEXT NOT NULL,
                vector BLOB NOT NULL,
                PRIMARY KEY (model, text)
            )""",
            """CREATE TABLE IF NOT EXISTS store_facts (
                key TEXT PRIMARY KEY,
                value TEXT NOT NULL,
                at REAL NOT NULL
            )""",
        )),
    ),
    # langgraph's checkpointer creates and migrates its own tables (checkpoints, writes) in this file.
    "threads": (
        Migration("the thread list before versions existed", (
            """CREATE TABLE IF NOT EXISTS papercast_threads (
                id TEXT PRIMARY KEY,
                title TEXT NOT NULL,
                created TEXT NOT NULL,
                updated TEXT NOT NULL,
                turns INTEGER NOT NULL DEFAULT 0
            )""",
        )),
    ),
}

_local = threading.local()
_migrated: set[tuple[str, str]] = set()  # (path, schema) checked by this process
_migrate_lock = threading.Lock()


def latest_version(schema: str) -> int:
    """The user_version a file of this schema has once every migration this code knows is applied."""
    return len(MIGRATIONS[schema])


def user_version(conn: sqlite3.Connection) -> int:
    """How many migrations the file has had (0 for a file written before versions existed)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def connect(path: Path, *, schema: str = "papercast") -> sqlite3.Connection:
    """This thread's connection to ``path``, migrated to ``schema``'s latest version on the first
    open in this process; a ``DatabaseError`` (one line, naming the file) when it cannot be used."""
    if schema not in MIGRATIONS:
        raise ValueError(f"unknown database schema {schema!r}")
    cache: dict[str, sqlite3.Connection] = getattr(_local, "conns", None) or {}
    _local.conns = cache
    key = str(path)
    conn = cache.get(key)
    if conn is None:
        conn = _open(Path(path), schema)
        cache[key] = conn
    return conn


def _open(path: Path, schema: str) -> sqlite3.Connection:
    """A new configured connection, checked readable and migrated (once per process and file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_SECONDS)
    except sqlite3.Error as exc:
        raise _failure(path, exc) from None
    try:
        conn.row_factory = sqlite3.Row
        _configure(conn)
        # Parse the schema now: a damaged file fails here, in one place, not in some later query.
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        _migrate_once(conn, path, schema)
    except sqlite3.Error as exc:
        conn.close()
        raise _failure(path, exc) from None
    except BaseException:
        conn.close()
        raise
    return conn


def _configure(conn: sqlite3.Connection) -> None:
    """Apply ``PRAGMAS``, retrying while another process holds the file.

    Switching a new file to WAL needs an exclusive lock, and SQLite answers SQLITE_BUSY at once
    rather than call the busy handler (seen when several processes open a fresh home together),
    so the wait the busy timeout gives every other statement is done here by hand.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            for pragma in PRAGMAS:
                conn.execute(pragma)
            return
        except sqlite3.OperationalError as exc:
            if not _busy(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _busy(exc: sqlite3.Error) -> bool:
    """Another connection holds the lock (worth waiting for, unlike a damaged or unreadable file)."""
    return str(getattr(exc, "sqlite_errorname", "")).startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))


def _migrate_once(conn: sqlite3.Connection, path: Path, schema: str) -> None:
    """Migrate unless this process already did: later opens cost nothing."""
    key = (str(path), schema)
    with _migrate_lock:
        if key in _migrated:
            return
        migrate(conn, schema, path=path)
        _migrated.add(key)


def migrate(conn: sqlite3.Connection, schema: str, *, path: Path | None = None) -> int:
    """Bring the file to ``schema``'s latest version; returns how many migrations ran (0: up to date).

    The version is read again under ``BEGIN IMMEDIATE`` (the write lock), so when two processes
    migrate at once the second sees the first one's work and applies nothing. A file newer than
    this code is refused, never written to.
    """
    steps = MIGRATIONS[schema]
    label = path or _file_of(conn)
    if _check_version(conn, label, schema) == len(steps):
        return 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = _check_version(conn, label, schema)
        for step in steps[current:]:
            for statement in step.statements:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {len(steps)}")
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return len(steps) - current


def _file_of(conn: sqlite3.Connection) -> Path:
    """The file behind a connection (for messages when the caller did not say)."""
    return Path(conn.execute("PRAGMA database_list").fetchone()[2] or ":memory:")


def _check_version(conn: sqlite3.Connection, path: Path, schema: str) -> int:
    """The file's version, or ``NewerDatabase`` when it is beyond what this code knows."""
    version = user_version(conn)
    latest = latest_version(schema)
    if version > latest:
        raise NewerDatabase(f"{path.name} at {path} was written by a newer papercast (schema version "
                            f"{version}, this one knows up to {latest}): upgrade papercast to use this home")
    return version


def _failure(path: Path, exc: sqlite3.Error) -> DatabaseError:
    """The one-line error a user sees for a file SQLite refused, with what to do about it."""
    reason = one_line(exc)
    if getattr(exc, "sqlite_errorname", "") in ("SQLITE_NOTADB", "SQLITE_CORRUPT"):
        return DatabaseError(f"{path.name} at {path} is damaged ({reason}): move it away to start afresh")
    if _busy(exc):
        return DatabaseError(f"{path.name} at {path} is busy ({reason}): another papercast is using it; "
                             "try again")
    return DatabaseError(f"{path.name} at {path} could not be opened ({reason})")


@asynccontextmanager
async def connect_async(path: Path, *, schema: str) -> AsyncIterator[aiosqlite.Connection]:
    """An ``aiosqlite`` connection (for langgraph's checkpointer) with the same settings, open for
    the duration of the block; the file is checked and migrated first, off the event loop."""
    import aiosqlite

    await asyncio.to_thread(connect, path, schema=schema)
    async with aiosqlite.connect(str(path), timeout=BUSY_TIMEOUT_SECONDS) as conn:
        await conn.executescript(";".join(PRAGMAS))
        yield conn


def close_all() -> None:
    """Close this thread's connections and forget which files were migrated, so the next open
    checks its file again (tests that replace a file, and process exit)."""
    for conn in (getattr(_local, "conns", None) or {}).values():
        conn.close()
    _local.conns = {}
    with _migrate_lock:
        _migrated.clear()
