"""The home's small SQLite file: profiles, feedback, summaries, LLM usage and response cache.

stdlib ``sqlite3`` in WAL mode; every write is one transaction (``with conn:``), so a crash leaves
either the old or the new state. Each module owns its tables and creates them with
``ensure_schema`` on first use.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

_local = threading.local()


def connect(path: Path) -> sqlite3.Connection:
    """A connection for this thread (SQLite connections must not cross threads)."""
    cache: dict[str, sqlite3.Connection] = getattr(_local, "conns", None) or {}
    _local.conns = cache
    key = str(path)
    conn = cache.get(key)
    if conn is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(key, timeout=30)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        cache[key] = conn
    return conn


def ensure_schema(conn: sqlite3.Connection, ddl: str) -> None:
    """Create tables/indexes with ``CREATE ... IF NOT EXISTS`` statements, atomically."""
    with conn:
        conn.executescript(ddl)


def close_all() -> None:
    """Close this thread's connections (tests and process exit)."""
    for conn in (getattr(_local, "conns", None) or {}).values():
        conn.close()
    _local.conns = {}
