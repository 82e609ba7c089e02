"""Chat threads on disk: langgraph's checkpoints and the thread list, in ``threads.db`` in the home.

langgraph's ``AsyncSqliteSaver`` keeps each thread's messages (so another process continues a
thread); a small ``papercast_threads`` table next to it keeps what a thread list needs (title,
times, turns) without reading every checkpoint.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from papercast.models import ThreadInfo

_THREADS_SQL = """CREATE TABLE IF NOT EXISTS papercast_threads (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL,
    turns INTEGER NOT NULL DEFAULT 0)"""


@asynccontextmanager
async def checkpointer(path: Path) -> AsyncIterator[Any]:
    """langgraph's SQLite checkpointer on ``path``, open for the duration of one turn."""
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    path.parent.mkdir(parents=True, exist_ok=True)
    async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
        yield saver


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(_THREADS_SQL)
    return conn


def record_turn(path: Path, thread_id: str, message: str) -> None:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    title = " ".join(message.split())
    title = title if len(title) <= 80 else title[:79] + "…"
    with closing(_connect(path)) as conn, conn:
        conn.execute("INSERT INTO papercast_threads (id, title, created, updated, turns) VALUES (?, ?, ?, ?, 1) "
                     "ON CONFLICT(id) DO UPDATE SET updated = excluded.updated, turns = turns + 1",
                     (thread_id, title, now, now))


def list_threads(path: Path) -> list[ThreadInfo]:
    if not path.exists():
        return []
    with closing(_connect(path)) as conn:
        rows = conn.execute("SELECT id, title, created, updated, turns FROM papercast_threads "
                            "ORDER BY updated DESC, id").fetchall()
    return [ThreadInfo(id=r[0], title=r[1], created=datetime.fromisoformat(r[2]),
                       updated=datetime.fromisoformat(r[3]), turns=int(r[4])) for r in rows]
