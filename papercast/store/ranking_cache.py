"""What ranking and search need of each paper, kept beside Chroma so a new process need not read it.

``ranking-cache.db`` holds per paper of a collection its vector, its terms' ids and counts and length
(``lexical.BM25``), date, upvotes, JSON and the acronyms it defines (``rank_definitions``, counted per
pair in ``rank_acronyms``): a window is one indexed SQLite read, no chromadb import, no tokenizing.
Around every write ``PaperStore`` calls ``begin(ids)`` (pending, owned by this process) and
``refresh(ids, read)`` (what Chroma now holds), and the collection's generation file is recorded: ``fresh()``
when it matches and nothing is pending. Ids left pending by a dead process or a generation it did not
record make the next reader ``rebuild`` once; a Chroma server or a read-only home ranks from Chroma.
Term ids are this file's own (``rank_terms``); a new ``TOKENIZER`` rebuilds the cache.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from papercast.models import Paper
from papercast.store import db
from papercast.store.definitions import Definition, paper_definitions
from papercast.store.metadata import date_key
from papercast.store.terms import term_counts

log = logging.getLogger(__name__)

FILE_NAME = "ranking-cache.db"
TOKENIZER = "snowball-american-1"  # bump when lexical.tokens changes what a text's terms are
READ_BATCH = 900  # ids per SQL IN (SQLite allows 32766 parameters; smaller keeps statements cheap)
# Terms whose ids a process keeps (~120 B each). A library's vocabulary grows with it (hundreds of
# thousands of terms by 300k papers): past this the memo starts again, read back from rank_terms.
TERM_MEMO = 100_000

# (ids, metadatas, embeddings) read from Chroma, in batches.
Reader = Callable[[Sequence[str] | None], Iterator[tuple[list[str], list[dict[str, Any]], np.ndarray]]]


@dataclass
class WindowColumns:
    """A window's papers as ranking needs them: one row each, in ``ids`` order."""

    ids: list[str]
    day_numbers: np.ndarray  # date ordinals, 0 when unknown
    upvotes: np.ndarray
    matrix: np.ndarray  # (papers, dims) float32
    terms: np.ndarray  # distinct term ids, document i at offsets[i]:offsets[i + 1]
    counts: np.ndarray
    offsets: np.ndarray
    lengths: np.ndarray


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(owner: str) -> bool:
    """Whether the process that left pending ids may still be writing (another host: assume so)."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True


def _day(key: int) -> int:
    return date(key // 10000, key // 100 % 100, key % 100).toordinal() if key else 0


class RankingCache:
    """One collection's per-paper ranking data in ``ranking-cache.db`` (see the module docstring)."""

    def __init__(self, home: Path, store_key: str, generation: Callable[[], str | None],
                 bump: Callable[[], None]) -> None:
        """``generation`` reads the store's generation value; ``bump`` writes a new one (for a store
        that has none yet)."""
        self.path = Path(home) / FILE_NAME
        self.store = store_key
        self._generation = generation
        self._bump = bump
        self._terms: dict[str, int] = {}  # this process's view of rank_terms
        self._acronyms_ready = False  # this collection's definitions are known to be complete

    @property
    def conn(self) -> sqlite3.Connection:
        try:
            return db.connect(self.path, schema="ranking")
        except db.DatabaseError as exc:
            if isinstance(exc, db.NewerDatabase) or "damaged" not in str(exc):
                raise
            # Only a cache: set the damaged file aside and start again (it is rebuilt from the store).
            log.warning("ranking cache: %s; starting it again", exc)
            for extra in ("-wal", "-shm"):
                self.path.with_name(self.path.name + extra).unlink(missing_ok=True)
            self.path.replace(self.path.with_name(self.path.name + ".damaged"))
            return db.connect(self.path, schema="ranking")

    # -- state -------------------------------------------------------------------------------------
    def _state(self) -> tuple[str | None, str | None]:
        row = self.conn.execute("SELECT generation, tokenizer FROM rank_state WHERE store = ?",
                                (self.store,)).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def pending(self) -> dict[str, list[str]]:
        """owner -> the ids it has begun writing and not refreshed."""
        out: dict[str, list[str]] = {}
        for pid, owner in self.conn.execute("SELECT id, owner FROM rank_pending WHERE store = ?",
                                            (self.store,)):
            out.setdefault(owner, []).append(pid)
        return out

    def fresh(self) -> bool:
        """Whether the cache holds exactly what the store holds (no Chroma read needed)."""
        recorded, tokenizer = self._state()
        if tokenizer != TOKENIZER or recorded is None:
            return False
        if recorded != self._generation():
            return False
        return not self.conn.execute("SELECT 1 FROM rank_pending WHERE store = ? LIMIT 1",
                                     (self.store,)).fetchone()

    def sync(self, read: Reader) -> bool:
        """Make the cache fresh if it can be (reading Chroma through ``read``); False while another
        live process is writing (then rank from Chroma this time)."""
        if self.fresh():
            return True
        if any(_alive(owner) for owner in self.pending()):
            return False
        self.rebuild(read)
        return self.fresh()

    def _record(self, generation: str | None) -> None:
        with self.conn:
            self.conn.execute("INSERT INTO rank_state (store, generation, tokenizer) VALUES (?, ?, ?) "
                              "ON CONFLICT(store) DO UPDATE SET generation = excluded.generation, "
                              "tokenizer = excluded.tokenizer", (self.store, generation, TOKENIZER))

    # -- writing -----------------------------------------------------------------------------------
    def begin(self, ids: Sequence[str], store_empty: Callable[[], bool]) -> bool:
        """Say that these ids are about to be written (a reader then does not trust the cache);
        returns whether the cache is complete now (``refresh`` may then call it complete again).
        ``store_empty`` is asked only of a store the cache has never seen."""
        complete = self.fresh()
        if not complete:
            recorded, tokenizer = self._state()
            complete = tokenizer is None and not self._count_rows() and store_empty()
        owner = _owner()
        with self.conn:
            self.conn.executemany("INSERT OR IGNORE INTO rank_pending (store, id, owner) VALUES (?, ?, ?)",
                                  [(self.store, pid, owner) for pid in dict.fromkeys(ids)])
        return complete

    def refresh(self, ids: Sequence[str], read: Reader, *, complete: bool = False,
                owner: str | None = None) -> None:
        """Store what Chroma now holds for ``ids`` (read back), drop what it does not, clear them from
        pending and, when the cache was ``complete`` before this write and no other write is in
        flight, record the store's generation (the cache is complete again)."""
        owner = owner or _owner()
        generation = self._generation()  # before the read-back: a later write makes it differ
        wanted = list(dict.fromkeys(ids))
        seen: set[str] = set()
        for got_ids, metas, vectors in read(wanted):
            self._put(got_ids, metas, vectors)
            seen.update(got_ids)
        gone = [pid for pid in wanted if pid not in seen]
        with self.conn:
            for start in range(0, len(gone), READ_BATCH):
                part = gone[start:start + READ_BATCH]
                for table in ("rank_papers", "rank_definitions"):
                    self.conn.execute(f"DELETE FROM {table} WHERE store = ? AND id IN "
                                      f"({','.join('?' * len(part))})", (self.store, *part))
            for start in range(0, len(wanted), READ_BATCH):
                part = wanted[start:start + READ_BATCH]
                self.conn.execute(f"DELETE FROM rank_pending WHERE store = ? AND owner = ? AND id IN "
                                  f"({','.join('?' * len(part))})", (self.store, owner, *part))
            others = self.conn.execute("SELECT 1 FROM rank_pending WHERE store = ? LIMIT 1",
                                       (self.store,)).fetchone()
        if complete and not others:
            self._record(generation)

    def rebuild(self, read: Reader) -> None:
        """Read the whole collection into the cache (once: a home written before the cache existed,
        or by something that did not keep it)."""
        if self._generation() is None:
            self._bump()  # a store written before generations existed: give it one to check against
        generation = self._generation()
        log.info("ranking cache: building it from the paper store (once)")
        with self.conn:
            for table in ("rank_acronyms", "rank_definitions", "rank_papers", "rank_pending"):
                self.conn.execute(f"DELETE FROM {table} WHERE store = ?", (self.store,))
            _, tokenizer = self._state()
            if tokenizer not in (None, TOKENIZER):  # term ids and stems of another tokenizer mean nothing now
                for table in ("rank_acronyms", "rank_definitions", "rank_papers", "rank_state", "rank_terms"):
                    self.conn.execute(f"DELETE FROM {table}")
                self._terms.clear()
        for got_ids, metas, vectors in read(None):
            self._put(got_ids, metas, vectors)
        with self.conn:
            self.conn.execute("DELETE FROM rank_acronyms_todo WHERE store = ?", (self.store,))
        self._record(generation)

    def _put(self, ids: list[str], metas: list[dict[str, Any]], vectors: np.ndarray) -> None:
        rows = []
        counted = []
        defined: list[tuple[str, Definition]] = []
        for pid, meta in zip(ids, metas, strict=True):
            paper_json = meta["paper"]
            paper = Paper.model_validate_json(paper_json)
            counted.append(term_counts(paper.embedding_text))
            rows.append((pid, int(meta.get("published") or 0), max(int(paper.upvotes or 0), 0), paper_json))
            defined += [(pid, d) for d in paper_definitions(paper.title, paper.abstract)]
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")  # the write lock first: two writers must not number new terms alike
        try:
            ids_of = self._ids_for({t for terms, _, _ in counted for t in terms})
            conn.executemany(
                "INSERT OR REPLACE INTO rank_papers (store, id, published, upvotes, length, vector, terms, "
                "counts, paper) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(self.store, pid, published, upvotes, length,
                  np.asarray(vec, dtype=np.float32).tobytes(),
                  np.array([ids_of[t] for t in terms], dtype=np.int32).tobytes(),
                  np.minimum(np.array(counts, dtype=np.int64), 65535).astype(np.uint16).tobytes(), paper_json)
                 for (pid, published, upvotes, paper_json), (terms, counts, length), vec
                 in zip(rows, counted, vectors, strict=True)])
            self._define(ids, defined)
            conn.commit()
        except BaseException:
            conn.rollback()
            self._terms.clear()  # ids numbered in the rolled-back transaction are not real
            raise

    def _define(self, ids: Sequence[str], defined: Iterable[tuple[str, Definition]]) -> None:
        """Replace these papers' definitions (inside the caller's transaction; the triggers count)."""
        for start in range(0, len(ids), READ_BATCH):
            part = list(ids[start:start + READ_BATCH])
            self.conn.execute("DELETE FROM rank_definitions WHERE store = ? AND id IN "
                              f"({','.join('?' * len(part))})", (self.store, *part))
        self.conn.executemany("INSERT INTO rank_definitions (store, id, key, terms, short, written) "
                              "VALUES (?, ?, ?, ?, ?, ?)", [(self.store, pid, *d) for pid, d in defined])

    def _ids_for(self, terms: Iterable[str]) -> dict[str, int]:
        """Ids of these terms, new ones numbered after the largest (inside the caller's transaction)."""
        self._bound_memo()
        wanted = [t for t in terms if t not in self._terms]
        self._terms.update(self._lookup(wanted))
        new = [t for t in wanted if t not in self._terms]
        if new:
            top = self.conn.execute("SELECT COALESCE(MAX(id), -1) FROM rank_terms").fetchone()[0]
            fresh = {t: top + 1 + i for i, t in enumerate(new)}
            self.conn.executemany("INSERT INTO rank_terms (term, id) VALUES (?, ?)", list(fresh.items()))
            self._terms.update(fresh)
        return self._terms

    def _bound_memo(self) -> None:
        if len(self._terms) > TERM_MEMO:
            self._terms.clear()

    def _lookup(self, terms: Sequence[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        terms = list(terms)
        for start in range(0, len(terms), READ_BATCH):
            part = terms[start:start + READ_BATCH]
            out.update(self.conn.execute("SELECT term, id FROM rank_terms WHERE term IN "
                                         f"({','.join('?' * len(part))})",
                                         part).fetchall())
        return out

    # -- reading -----------------------------------------------------------------------------------
    def term_ids(self, terms: Sequence[str]) -> dict[str, int]:
        """The ids of the terms some stored paper has (others left out)."""
        self._bound_memo()
        missing = [t for t in terms if t not in self._terms]
        if missing:
            self._terms.update(self._lookup(missing))
        return {t: self._terms[t] for t in terms if t in self._terms}

    def _count_rows(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM rank_papers WHERE store = ?",
                                     (self.store,)).fetchone()[0])

    def count(self, since: date | None = None, until: date | None = None) -> int:
        """How many papers are published in [since, until] (all of them without dates)."""
        if since is None and until is None:
            return self._count_rows()
        where, args = self._where(since, until)
        return int(self.conn.execute(f"SELECT COUNT(*) FROM rank_papers WHERE store = ?{where}",
                                     (self.store, *args)).fetchone()[0])

    def dimensions(self) -> int | None:
        """The size of the stored vectors (None while there are none)."""
        row = self.conn.execute("SELECT length(vector) FROM rank_papers WHERE store = ? LIMIT 1",
                                (self.store,)).fetchone()
        return int(row[0]) // 4 if row else None

    @staticmethod
    def _where(since: date | None, until: date | None) -> tuple[str, list[int]]:
        clauses, args = [], []
        if since:
            clauses.append("published >= ?")
            args.append(date_key(since))
        if until:
            clauses.append("published <= ?")
            args.append(date_key(until))
        return "".join(f" AND {c}" for c in clauses), args

    def has_papers(self, since: date | None = None, until: date | None = None) -> bool:
        where, args = self._where(since, until)
        return self.conn.execute(f"SELECT 1 FROM rank_papers WHERE store = ?{where} LIMIT 1",
                                 (self.store, *args)).fetchone() is not None

    def newest_date(self, before: date | None = None, *, count: int | None = None) -> date | None:
        """The newest publication date (on or before ``before``); ``count`` is accepted for the
        paper store's signature and unused."""
        where, args = self._where(None, before)
        key = self.conn.execute("SELECT MAX(published) FROM rank_papers WHERE store = ? AND published > "
                                f"0{where}", (self.store, *args)).fetchone()[0]
        return date(key // 10000, key // 100 % 100, key % 100) if key else None

    def window(self, since: date | None, until: date | None, dims: int) -> WindowColumns:
        """The papers published in [since, until], as columns."""
        where, args = self._where(since, until)
        got = self.conn.execute(f"SELECT id, published, upvotes, length, vector, terms, counts FROM "
                                f"rank_papers WHERE store = ?{where}", (self.store, *args)).fetchall()
        return self._columns(got, dims)

    def columns(self, ids: Sequence[str], dims: int) -> WindowColumns:
        """These papers (unknown ids left out), as a window's columns: a sample of the library ranked
        as a window is (``papercast eval``)."""
        got: list[Any] = []
        wanted = list(dict.fromkeys(ids))
        for start in range(0, len(wanted), READ_BATCH):
            part = wanted[start:start + READ_BATCH]
            got += self.conn.execute(f"SELECT id, published, upvotes, length, vector, terms, counts FROM "
                                     f"rank_papers WHERE store = ? AND id IN ({','.join('?' * len(part))})",
                                     (self.store, *part)).fetchall()
        return self._columns(got, dims)

    def ids(self, since: date | None = None, until: date | None = None) -> list[str]:
        """The ids of the papers published in [since, until] (every paper's without dates)."""
        where, args = self._where(since, until)
        return [r[0] for r in self.conn.execute(f"SELECT id FROM rank_papers WHERE store = ?{where}",
                                                (self.store, *args))]

    @staticmethod
    def _columns(got: list[Any], dims: int) -> WindowColumns:
        n = len(got)
        if not n:
            empty = np.zeros(0, np.int64)
            return WindowColumns([], empty, np.zeros(0, np.float32), np.zeros((0, dims), np.float32), empty,
                                 empty, np.zeros(1, np.int64), empty)
        ids = [r[0] for r in got]
        matrix = np.frombuffer(b"".join(r[4] for r in got), dtype=np.float32).reshape(n, -1)
        term_sizes = np.fromiter((len(r[5]) // 4 for r in got), dtype=np.int64, count=n)
        return WindowColumns(
            ids=ids,
            day_numbers=np.array([_day(r[1]) for r in got], dtype=np.int64),
            upvotes=np.array([r[2] for r in got], dtype=np.float32),
            matrix=matrix,
            terms=np.frombuffer(b"".join(r[5] for r in got), dtype=np.int32),
            counts=np.frombuffer(b"".join(r[6] for r in got), dtype=np.uint16),
            offsets=np.concatenate([[0], np.cumsum(term_sizes)]),
            lengths=np.array([r[3] for r in got], dtype=np.int64),
        )

    def _by_id(self, column: str, ids: Sequence[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        wanted = list(dict.fromkeys(ids))
        for start in range(0, len(wanted), READ_BATCH):
            part = wanted[start:start + READ_BATCH]
            out.update(self.conn.execute(f"SELECT id, {column} FROM rank_papers WHERE store = ? AND id IN "
                                         f"({','.join('?' * len(part))})", (self.store, *part)).fetchall())
        return out

    def holding(self, ids: Sequence[str]) -> set[str]:
        """Which of these ids the store holds."""
        return set(self._by_id("1", ids))

    def paper_json(self, ids: Sequence[str]) -> dict[str, str]:
        """The stored JSON of these papers (unknown ids left out)."""
        return self._by_id("paper", ids)

    def author_lists(self) -> Iterator[tuple[str, list[str]]]:
        """Every paper's id and authors, streamed: the whole library is read without holding it or
        building its papers. SQLite's json_extract is no faster than json.loads here, and not every
        SQLite has it."""
        rows = self.conn.execute("SELECT id, paper FROM rank_papers WHERE store = ?", (self.store,))
        while batch := rows.fetchmany(READ_BATCH):  # not row by row: each fetch is wrapped (db._Cursor)
            for pid, paper_json in batch:
                yield pid, json.loads(paper_json).get("authors") or []

    # -- acronyms ----------------------------------------------------------------------------------
    def acronyms_ready(self) -> None:
        """Read the stored papers' definitions once when this file was migrated from before they were
        kept (``rank_acronyms_todo``); papers written since were defined already and are read again."""
        if self._acronyms_ready:
            return
        conn = self.conn
        if conn.execute("SELECT 1 FROM rank_acronyms_todo WHERE store = ?", (self.store,)).fetchone():
            conn.execute("BEGIN IMMEDIATE")
            try:
                if conn.execute("SELECT 1 FROM rank_acronyms_todo WHERE store = ?", (self.store,)).fetchone():
                    log.info("ranking cache: reading the acronyms the stored papers define (once)")
                    conn.execute("DELETE FROM rank_acronyms WHERE store = ?", (self.store,))
                    conn.execute("DELETE FROM rank_definitions WHERE store = ?", (self.store,))
                    rows = conn.execute("SELECT id, paper FROM rank_papers WHERE store = ?", (self.store,))
                    while batch := rows.fetchmany(READ_BATCH):
                        papers = [(pid, json.loads(text)) for pid, text in batch]
                        self._define([], [(pid, d) for pid, p in papers for d in
                                          paper_definitions(p.get("title") or "", p.get("abstract") or "")])
                    conn.execute("DELETE FROM rank_acronyms_todo WHERE store = ?", (self.store,))
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
        self._acronyms_ready = True

    def acronym_meanings(self, keys: Collection[str]) -> dict[str, list[tuple[Definition, int]]]:
        """What the library's papers say each acronym (``definitions.acronym_key``) stands for, with
        how many papers say so, most first."""
        self.acronyms_ready()
        out: dict[str, list[tuple[Definition, int]]] = {}
        wanted = list(dict.fromkeys(keys))
        for start in range(0, len(wanted), READ_BATCH):
            part = wanted[start:start + READ_BATCH]
            for key, terms, short, written, papers in self.conn.execute(
                    "SELECT key, terms, short, written, papers FROM rank_acronyms WHERE store = ? AND key IN "
                    f"({','.join('?' * len(part))}) ORDER BY papers DESC, terms", (self.store, *part)):
                out.setdefault(key, []).append((Definition(key, terms, short, written), papers))
        return out

    def acronyms_for(self, expansions: Collection[str]) -> set[str]:
        """The acronyms some paper defines as one of these expansions (``definitions.expansion_terms``)."""
        self.acronyms_ready()
        wanted = list(dict.fromkeys(expansions))
        out: set[str] = set()
        for start in range(0, len(wanted), READ_BATCH):
            part = wanted[start:start + READ_BATCH]
            out.update(r[0] for r in self.conn.execute(
                f"SELECT key FROM rank_acronyms WHERE store = ? AND terms IN ({','.join('?' * len(part))})",
                (self.store, *part)))
        return out

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        return {pid: np.frombuffer(blob, dtype=np.float32)
                for pid, blob in self._by_id("vector", ids).items()}
