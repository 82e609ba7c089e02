"""The home's SQLite files: every connection papercast opens to them, and their versioned schemas.

``papercast.db`` (profiles, feedback, summaries, LLM usage and cache, memos) and ``threads.db``
(langgraph's checkpoints, the thread list) are opened only here: WAL, ``synchronous=NORMAL``, foreign
keys, a busy timeout so a second process waits its turn; one connection per thread and path; every
write one transaction. Each file's ``MIGRATIONS`` are applied in one ``BEGIN IMMEDIATE`` on first open
and counted in ``PRAGMA user_version``; a newer or non-SQLite file is refused. Trouble with a file from
any query (damaged, read-only, full, locked too long) is one ``DatabaseError`` naming the file and what
to do; a file papercast cannot write is opened read-only (``mode=ro``, or ``immutable=1``).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from papercast.errors import RuntimeFailure, one_line
from papercast.outfile import may_write

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
    """A home SQLite file could not be used: damaged, unreadable, read-only, full or busy. The
    message names the file and what to do; ``path`` is the file (the TUI names it, not a task)."""

    def __init__(self, message: str, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


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
        Migration("deliveries (what was sent, where and when) and seen papers (never resent)", (
            """CREATE TABLE deliveries (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                profile TEXT NOT NULL REFERENCES profiles(name) ON UPDATE CASCADE ON DELETE CASCADE,
                channel TEXT NOT NULL,
                target TEXT NOT NULL DEFAULT '',
                day TEXT NOT NULL,
                at TEXT NOT NULL,
                papers TEXT NOT NULL
            )""",
            "CREATE INDEX deliveries_profile ON deliveries(profile, at)",
            """CREATE TABLE seen_papers (
                profile TEXT NOT NULL REFERENCES profiles(name) ON UPDATE CASCADE ON DELETE CASCADE,
                paper_id TEXT NOT NULL,
                first_at TEXT NOT NULL,
                PRIMARY KEY (profile, paper_id)
            )""",
        )),
        Migration("papers read in full: the parsed document, zlib-compressed JSON (store/documents.py)", (
            """CREATE TABLE documents (
                paper_id TEXT PRIMARY KEY,
                source TEXT NOT NULL,
                content_hash TEXT NOT NULL,
                passages INTEGER NOT NULL,
                data BLOB NOT NULL,
                created TEXT NOT NULL
            )""",
        )),
        Migration("sentence roles of abstracts, per paper and role model, computed when first shown", (
            """CREATE TABLE sentence_roles (
                paper_id TEXT NOT NULL,
                model TEXT NOT NULL,
                abstract_hash TEXT NOT NULL,
                data TEXT NOT NULL,
                PRIMARY KEY (paper_id, model)
            )""",
        )),
        Migration("the window of the list each rating was given in (eval replays a day on its own list)", (
            "ALTER TABLE profile_feedback ADD COLUMN window_since TEXT",
            "ALTER TABLE profile_feedback ADD COLUMN window_until TEXT",
        )),
        Migration("the lists shown to each profile lately: a rating given by id keeps its list's window "
                  "(store/shown.py)", (
            """CREATE TABLE shown_papers (
                profile TEXT NOT NULL REFERENCES profiles(name) ON UPDATE CASCADE ON DELETE CASCADE,
                paper_id TEXT NOT NULL,
                since TEXT NOT NULL,
                until TEXT NOT NULL,
                at TEXT NOT NULL,
                PRIMARY KEY (profile, paper_id)
            )""",
            "CREATE INDEX shown_papers_at ON shown_papers(at)",
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
    # ranking-cache.db: what ranking and search need of each paper (store/ranking_cache.py). A cache:
    # deleting the file loses nothing (it is rebuilt from the paper store).
    "ranking": (
        Migration("per-paper vectors, term counts and dates; the terms' ids; writes in flight", (
            """CREATE TABLE IF NOT EXISTS rank_state (
                store TEXT PRIMARY KEY,
                generation TEXT,
                tokenizer TEXT NOT NULL
            )""",
            """CREATE TABLE IF NOT EXISTS rank_papers (
                store TEXT NOT NULL,
                id TEXT NOT NULL,
                published INTEGER NOT NULL,
                upvotes INTEGER NOT NULL,
                length INTEGER NOT NULL,
                vector BLOB NOT NULL,
                terms BLOB NOT NULL,
                counts BLOB NOT NULL,
                paper TEXT NOT NULL,
                PRIMARY KEY (store, id)
            )""",
            "CREATE INDEX IF NOT EXISTS rank_papers_published ON rank_papers(store, published)",
            """CREATE TABLE IF NOT EXISTS rank_terms (
                term TEXT PRIMARY KEY,
                id INTEGER NOT NULL UNIQUE
            )""",
            """CREATE TABLE IF NOT EXISTS rank_pending (
                store TEXT NOT NULL,
                id TEXT NOT NULL,
                owner TEXT NOT NULL,
                PRIMARY KEY (store, id, owner)
            )""",
        )),
        # A paper's definitions are written with its row (store/definitions.py); the triggers keep the
        # count of papers per pair, so a deleted or changed paper takes its pairs with it. A file
        # migrated here lists its collections in rank_acronyms_todo: their papers are read once.
        Migration("acronyms the papers define, per paper, and per pair the number of papers", (
            """CREATE TABLE rank_definitions (
                store TEXT NOT NULL,
                id TEXT NOT NULL,
                key TEXT NOT NULL,
                terms TEXT NOT NULL,
                short TEXT NOT NULL,
                written TEXT NOT NULL,
                PRIMARY KEY (store, id, key, terms)
            )""",
            """CREATE TABLE rank_acronyms (
                store TEXT NOT NULL,
                key TEXT NOT NULL,
                terms TEXT NOT NULL,
                short TEXT NOT NULL,
                written TEXT NOT NULL,
                papers INTEGER NOT NULL,
                PRIMARY KEY (store, key, terms)
            )""",
            "CREATE INDEX rank_acronyms_terms ON rank_acronyms(store, terms)",
            """CREATE TRIGGER rank_definitions_added AFTER INSERT ON rank_definitions BEGIN
                INSERT INTO rank_acronyms (store, key, terms, short, written, papers)
                VALUES (NEW.store, NEW.key, NEW.terms, NEW.short, NEW.written, 1)
                ON CONFLICT (store, key, terms) DO UPDATE SET papers = papers + 1;
            END""",
            """CREATE TRIGGER rank_definitions_removed AFTER DELETE ON rank_definitions BEGIN
                UPDATE rank_acronyms SET papers = papers - 1
                WHERE store = OLD.store AND key = OLD.key AND terms = OLD.terms;
                DELETE FROM rank_acronyms
                WHERE store = OLD.store AND key = OLD.key AND terms = OLD.terms AND papers <= 0;
            END""",
            "CREATE TABLE rank_acronyms_todo (store TEXT PRIMARY KEY)",
            "INSERT INTO rank_acronyms_todo (store) SELECT DISTINCT store FROM rank_papers",
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


def stamp(moment: datetime | None = None) -> str:
    """A moment (now by default) as the home's tables store it: UTC, to the microsecond. Queries compare
    these as text (``at < ?``), so every table writes them alike."""
    return (moment or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds")


class HomeTables:
    """The queries on some tables of a home SQLite file: each thread gets its own connection (the TUI works
    in worker threads), opened, and migrated on first use, by ``connect``."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path)

    @property
    def _conn(self) -> sqlite3.Connection:
        return connect(self.db_path)


class Connection(sqlite3.Connection):
    """A connection whose later failures name its file too: a query that finds the file damaged,
    read-only, full or locked for too long raises the same one-line ``DatabaseError`` as opening it
    would (``_failure``); other errors (a constraint, a bug in a query) stay sqlite3's own.

    ``execute`` runs on a ``_Cursor``, so rows fetched later (where SQLite finds most damage) are
    covered as well. ``read_only``: opened without write access (see ``_open``).
    """

    path: Path
    read_only: bool = False
    _named: bool = False  # off while opening: ``_configure`` waits out SQLITE_BUSY itself

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        return self.cursor(_Cursor).execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        return self.cursor(_Cursor).executemany(sql, parameters)

    def executescript(self, script: str, /) -> sqlite3.Cursor:
        with self._naming():
            return super().executescript(script)

    def commit(self) -> None:
        with self._naming():
            super().commit()

    def __exit__(self, *exc_info: Any) -> Any:
        with self._naming():
            return super().__exit__(*exc_info)

    @contextmanager
    def _naming(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            if not self._named or not _file_trouble(exc):
                raise
            raise _failure(self.path, exc, read_only=self.read_only) from exc


class _Cursor(sqlite3.Cursor):
    """The cursor of a ``Connection``: its failures name the file like the connection's."""

    def _naming(self) -> Any:
        return self.connection._naming()  # type: ignore[attr-defined]

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        with self._naming():
            return super().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        with self._naming():
            return super().executemany(sql, parameters)

    def fetchone(self) -> Any:
        with self._naming():
            return super().fetchone()

    def fetchmany(self, size: int | None = None) -> list[Any]:
        with self._naming():
            return super().fetchmany(self.arraysize if size is None else size)

    def fetchall(self) -> list[Any]:
        with self._naming():
            return super().fetchall()

    def __next__(self) -> Any:
        with self._naming():
            return super().__next__()


def writable(path: Path) -> bool:
    """Whether papercast may write ``path`` (WAL needs its directory too, for the -wal/-shm files)."""
    folder = path.parent
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    return may_write(folder) and (not path.exists() or may_write(path))


def _open(path: Path, schema: str) -> sqlite3.Connection:
    """A new configured connection, checked readable and migrated (once per process and file).

    A file papercast cannot write (a read-only home) is opened read-only, so every command that
    only reads works; a write then fails with a one-line error saying the home is read-only.
    """
    read_only = not writable(path)
    try:
        if read_only:
            conn = _connect_read_only(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_SECONDS, factory=Connection)
    except sqlite3.Error as exc:
        raise _failure(path, exc, read_only=read_only) from None
    assert isinstance(conn, Connection)
    conn.path, conn.read_only = path, read_only
    try:
        conn.row_factory = sqlite3.Row
        _configure(conn, read_only=read_only)
        # Parse the schema now: a damaged file fails here, in one place, not in some later query.
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        _migrate_once(conn, path, schema)
    except sqlite3.Error as exc:
        conn.close()
        raise _failure(path, exc, read_only=read_only) from None
    except BaseException:
        conn.close()
        raise
    conn._named = True
    return conn


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """``path`` opened without write access. SQLite's ``mode=ro`` reads a WAL file only while its
    -shm file exists (another process has it open); otherwise ``immutable=1`` reads the file as it
    is (what a writer left in a -wal file is not seen then: nobody can checkpoint it here)."""
    if not path.exists():
        raise DatabaseError(f"{path.name} does not exist at {path}, and the home is read-only so it cannot "
                            "be created: run papercast once with write access to the home, or use another "
                            "--home", path)
    base = f"file:{quote(str(path.resolve()))}"
    if not path.with_name(path.name + "-shm").exists():  # as a user without write access finds it (root
        return sqlite3.connect(f"{base}?immutable=1", uri=True,  # would create the -wal and -shm files)
                               timeout=BUSY_TIMEOUT_SECONDS, factory=Connection)
    try:
        conn = sqlite3.connect(f"{base}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_SECONDS, factory=Connection)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError as exc:
        if getattr(exc, "sqlite_errorname", "") not in ("SQLITE_CANTOPEN", "SQLITE_READONLY"):
            raise
    return sqlite3.connect(f"{base}?immutable=1", uri=True, timeout=BUSY_TIMEOUT_SECONDS, factory=Connection)


def _configure(conn: sqlite3.Connection, *, read_only: bool = False) -> None:
    """Apply ``PRAGMAS``, retrying while another process holds the file.

    Switching a new file to WAL needs an exclusive lock, and SQLite answers SQLITE_BUSY at once
    rather than call the busy handler (seen when several processes open a fresh home together),
    so the wait the busy timeout gives every other statement is done here by hand. A read-only
    connection leaves the journal mode as the file has it (setting it would be a write).
    """
    pragmas = [p for p in PRAGMAS if not (read_only and "journal_mode" in p)]
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            for pragma in pragmas:
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
    version = _check_version(conn, label, schema)
    if version == len(steps):
        return 0
    if getattr(conn, "read_only", False):
        raise DatabaseError(f"{label.name} at {label} needs upgrading to this papercast (schema version "
                            f"{version} to {len(steps)}), but the home is read-only: run papercast once with "
                            "write access", label)
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


# SQLite's answers that are about the file, not the query: a later query turns them into ``_failure``.
_FILE_ERRORS = ("SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_CANTOPEN",
                "SQLITE_FULL", "SQLITE_PERM", "SQLITE_AUTH", "SQLITE_BUSY", "SQLITE_LOCKED")


def _file_trouble(exc: sqlite3.Error) -> bool:
    return str(getattr(exc, "sqlite_errorname", "")).startswith(_FILE_ERRORS)


def _failure(path: Path, exc: sqlite3.Error, *, read_only: bool = False) -> DatabaseError:
    """The one-line error a user sees for a file SQLite refused, with what to do about it."""
    reason = one_line(exc)
    name = str(getattr(exc, "sqlite_errorname", ""))
    if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")):
        return DatabaseError(f"{path.name} at {path} is damaged ({reason}): move it away to start afresh "
                             "(papercast makes a new one) or put back a backup", path)
    if _busy(exc):
        return DatabaseError(f"{path.name} at {path} is busy ({reason}): another papercast is using it; "
                             "try again", path)
    if read_only or name.startswith(("SQLITE_READONLY", "SQLITE_PERM")):
        return DatabaseError(f"{path.name} at {path} is read-only ({reason}): papercast can read this home "
                             "but not change it; use a home you can write (--home) or fix its permissions",
                             path)
    if name.startswith("SQLITE_FULL"):
        return DatabaseError(f"{path.name} at {path}: the disk is full ({reason}); free some space", path)
    return DatabaseError(f"{path.name} at {path} could not be used ({reason})", path)


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
