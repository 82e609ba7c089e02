"""Small facts worth remembering across processes, in the home's SQLite file.

Every CLI command is a fresh process; without these, each ``papercast recommend`` would load the
embedding model only to embed the same interests again, and probe the paper store for its newest date.
* ``text_vectors``: the vector of a profile text (interests, a keyword) per embedding model;
* ``store_facts``: facts about the paper store under a key naming what invalidates them (location and
  paper count), kept for a day at most;
* ``sentence_roles``: an abstract's sentence roles per role model, valid while the abstract is unchanged.
A memo is a cache: when the home is read-only, busy or broken, callers compute as before.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from papercast.store.db import DatabaseError, connect

FACT_TTL_SECONDS = 24 * 3600.0
MAX_TEXT_VECTORS = 2000  # profile texts are few; the oldest beyond this are dropped

# What a broken, busy or read-only home raises: a memo then answers "unknown" and writes nothing.
_UNUSABLE = (sqlite3.Error, OSError, DatabaseError)


def _conn(db_path: Path) -> sqlite3.Connection:
    """This thread's connection (``db.connect`` migrates the file on first use)."""
    return connect(db_path)


def text_vectors(db_path: Path, model: str, texts: list[str]) -> dict[str, np.ndarray]:
    """The remembered vectors of those ``texts`` that have one for ``model``."""
    if not texts:
        return {}
    try:
        conn = _conn(db_path)
        marks = ",".join("?" * len(texts))
        rows = conn.execute(f"SELECT text, vector FROM text_vectors WHERE model = ? AND text IN ({marks})",
                            [model, *texts]).fetchall()
    except _UNUSABLE:
        return {}
    return {row["text"]: np.frombuffer(row["vector"], dtype=np.float32).copy() for row in rows}


def remember_text_vectors(db_path: Path, model: str, vectors: dict[str, np.ndarray]) -> None:
    if not vectors:
        return
    try:
        conn = _conn(db_path)
        with conn:
            conn.executemany("INSERT OR REPLACE INTO text_vectors (model, text, vector) VALUES (?, ?, ?)",
                             [(model, text, np.asarray(vec, dtype=np.float32).tobytes())
                              for text, vec in vectors.items()])
            conn.execute("DELETE FROM text_vectors WHERE rowid NOT IN "
                         "(SELECT rowid FROM text_vectors ORDER BY rowid DESC LIMIT ?)", (MAX_TEXT_VECTORS,))
    except _UNUSABLE:
        pass


def store_fact(db_path: Path, key: str) -> str | None:
    """A remembered fact (None when unknown or older than a day)."""
    try:
        row = _conn(db_path).execute("SELECT value, at FROM store_facts WHERE key = ?", (key,)).fetchone()
    except _UNUSABLE:
        return None
    if row is None or time.time() - row["at"] > FACT_TTL_SECONDS:
        return None
    return str(row["value"])


def remember_store_fact(db_path: Path, key: str, value: str) -> None:
    try:
        conn = _conn(db_path)
        with conn:
            conn.execute("INSERT OR REPLACE INTO store_facts (key, value, at) VALUES (?, ?, ?)",
                         (key, value, time.time()))
            conn.execute("DELETE FROM store_facts WHERE at < ?", (time.time() - FACT_TTL_SECONDS,))
    except _UNUSABLE:
        pass


def _abstract_hash(abstract: str) -> str:
    return hashlib.sha256(abstract.encode("utf-8")).hexdigest()[:16]


def remembered_sentence_roles(db_path: Path, model: str, abstracts: dict[str, str]) -> dict[str, list[dict]]:
    """The remembered roles (rows of text, role, confidence) of papers whose abstract is unchanged."""
    if not abstracts:
        return {}
    try:
        conn = _conn(db_path)
        marks = ",".join("?" * len(abstracts))
        rows = conn.execute(f"SELECT paper_id, abstract_hash, data FROM sentence_roles WHERE model = ? "
                            f"AND paper_id IN ({marks})", [model, *abstracts]).fetchall()
    except _UNUSABLE:
        return {}
    return {row["paper_id"]: json.loads(row["data"]) for row in rows
            if row["abstract_hash"] == _abstract_hash(abstracts[row["paper_id"]])}


def remember_sentence_roles(db_path: Path, model: str,
                            roles: Sequence[tuple[str, str, list[dict]]]) -> None:
    """Keep (paper id, abstract, roles) rows: the abstract's hash says when they are stale."""
    if not roles:
        return
    try:
        conn = _conn(db_path)
        with conn:
            conn.executemany("INSERT OR REPLACE INTO sentence_roles VALUES (?, ?, ?, ?)",
                             [(pid, model, _abstract_hash(abstract), json.dumps(rows))
                              for pid, abstract, rows in roles])
    except _UNUSABLE:
        pass
