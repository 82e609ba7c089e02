"""Chat threads on disk: langgraph's checkpoints and the thread list, in ``threads.db`` in the home.

langgraph's ``AsyncSqliteSaver`` keeps each thread's messages (so another process continues a
thread); a small ``papercast_threads`` table next to it keeps what a thread list needs (title,
times, turns) without reading every checkpoint. Both connections come from ``papercast.store.db``
(same WAL and busy-timeout settings; the file is migrated to the ``threads`` schema on first open).
langgraph creates and migrates its own tables (``checkpoints``, ``writes``); papercast's table is
migration 1 of the ``threads`` schema in ``db.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from papercast.models import ThreadInfo
from papercast.store import db

SCHEMA = "threads"


@asynccontextmanager
async def checkpointer(path: Path) -> AsyncIterator[Any]:
    """langgraph's SQLite checkpointer on ``path``, open for the duration of one turn."""
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    async with db.connect_async(path, schema=SCHEMA) as conn:
        yield AsyncSqliteSaver(conn)


def record_turn(path: Path, thread_id: str, message: str) -> None:
    """Count a turn of a thread; its first message becomes its title."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    title = " ".join(message.split())
    title = title if len(title) <= 80 else title[:79] + "…"
    with db.connect(path, schema=SCHEMA) as conn:
        conn.execute("INSERT INTO papercast_threads (id, title, created, updated, turns) VALUES (?, ?, ?, ?, "
                     "1) ON CONFLICT(id) DO UPDATE SET updated = excluded.updated, turns = turns + 1",
                     (thread_id, title, now, now))


def list_threads(path: Path) -> list[ThreadInfo]:
    """Stored threads, most recently used first (none, and no file created, before the first chat)."""
    if not path.exists():
        return []
    rows = db.connect(path, schema=SCHEMA).execute(
        "SELECT id, title, created, updated, turns FROM papercast_threads "
        "ORDER BY updated DESC, id").fetchall()
    return [ThreadInfo(id=r["id"], title=r["title"], created=datetime.fromisoformat(r["created"]),
                       updated=datetime.fromisoformat(r["updated"]), turns=int(r["turns"])) for r in rows]
