"""Papers read in full, kept in the home so a paper is fetched and parsed once.

One row per paper in ``papercast.db``'s ``documents`` table: the parsed ``Document`` as zlib-compressed
JSON, with its source, content hash and passage count in plain columns so "is it stored?" never
decompresses anything. A row is one transaction: a crash leaves the old document or the new one. Whether
its passages are indexed is ``store/passages.py``'s business, since that can be interrupted on its own.
"""

from __future__ import annotations

import sqlite3
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from papercast.models import Document
from papercast.store.db import connect


@dataclass(frozen=True)
class StoredDocument:
    """What is known of a stored document without reading it."""

    paper_id: str
    source: str
    content_hash: str
    passages: int
    size: int  # compressed bytes


class DocumentStore:
    """Parsed documents by paper id."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def conn(self) -> sqlite3.Connection:
        return connect(self.path)

    def get(self, paper_id: str) -> Document | None:
        row = self.conn.execute("SELECT data FROM documents WHERE paper_id=?", (paper_id,)).fetchone()
        if row is None:
            return None
        return Document.model_validate_json(zlib.decompress(row["data"]))

    def info(self, paper_id: str) -> StoredDocument | None:
        row = self.conn.execute("SELECT paper_id, source, content_hash, passages, length(data) AS size "
                                "FROM documents WHERE paper_id=?", (paper_id,)).fetchone()
        return None if row is None else StoredDocument(row["paper_id"], row["source"], row["content_hash"],
                                                       row["passages"], row["size"])

    def infos(self, ids: list[str]) -> dict[str, StoredDocument]:
        """``info`` of many papers in one query (the stored ones only)."""
        out: dict[str, StoredDocument] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute("SELECT paper_id, source, content_hash, passages, length(data) AS size "
                                     f"FROM documents WHERE paper_id IN ({marks})", chunk).fetchall()
            out.update({r["paper_id"]: StoredDocument(r["paper_id"], r["source"], r["content_hash"],
                                                      r["passages"], r["size"]) for r in rows})
        return out

    def put(self, document: Document) -> None:
        data = zlib.compress(document.model_dump_json(exclude_defaults=False).encode("utf-8"), 6)
        with self.conn as conn:
            conn.execute("INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?, ?)",
                         (document.paper_id, document.source, document.content_hash, len(document.passages),
                          data, datetime.now(UTC).isoformat(timespec="seconds")))

    def delete(self, paper_id: str) -> None:
        with self.conn as conn:
            conn.execute("DELETE FROM documents WHERE paper_id=?", (paper_id,))

    def count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0])
