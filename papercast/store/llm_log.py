"""The LLM layer's tables in the home SQLite file: summaries, the response cache and usage per run.

* ``summaries``: one row per (paper, model, prompt version), so a summary is written once;
* ``llm_cache``: every successful answer, keyed by a hash of (model, prompt version, purpose, messages),
  so the same request is never paid twice, across processes;
* ``llm_calls``: one row per request sent (tokens, cost or NULL), by run id, for ``papercast usage``.

``papercast.store.db`` creates and migrates the tables; this module holds the queries. No API key ever
reaches them.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from papercast.errors import redact
from papercast.models import RunUsage, Summary
from papercast.store.db import connect

log = logging.getLogger(__name__)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class CachedAnswer:
    response: str
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None


class LLMLog:
    """Summaries, cached answers and usage rows in ``papercast.db``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (``db.connect`` migrates the file on first use)."""
        return connect(self.path)

    def _read_only(self) -> bool:
        """A read-only home: summaries, cached answers and usage rows are not kept (they are caches
        and accounting), so reading such a home still summarizes and makes digests."""
        if not getattr(self.conn, "read_only", False):
            return False
        log.debug("%s is read-only: not keeping this summary, answer or usage row", self.path)
        return True

    # -- summaries -----------------------------------------------------------------------------
    def get_summary(self, paper_id: str, model: str, prompt_version: str) -> Summary | None:
        row = self.conn.execute(
            "SELECT data FROM summaries WHERE paper_id=? AND model=? AND prompt_version=?",
            (paper_id, model, prompt_version)).fetchone()
        return Summary.model_validate_json(row["data"]) if row else None

    def put_summary(self, summary: Summary) -> None:
        if self._read_only():
            return
        with self.conn as conn:
            conn.execute("INSERT OR REPLACE INTO summaries VALUES (?, ?, ?, ?, ?)",
                         (summary.paper_id, summary.model, summary.prompt_version, summary.model_dump_json(),
                          _now()))

    def summaries_for(self, paper_id: str) -> list[Summary]:
        """Every stored summary of a paper, newest first."""
        rows = self.conn.execute("SELECT data FROM summaries WHERE paper_id=? ORDER BY created DESC",
                                 (paper_id,)).fetchall()
        return [Summary.model_validate_json(r["data"]) for r in rows]

    # -- response cache ------------------------------------------------------------------------
    def get_cached(self, key: str) -> CachedAnswer | None:
        row = self.conn.execute("SELECT response, finish_reason, prompt_tokens, completion_tokens, cost_usd "
                                "FROM llm_cache WHERE key=?", (key,)).fetchone()
        if row is None:
            return None
        return CachedAnswer(row["response"], row["finish_reason"], row["prompt_tokens"],
                            row["completion_tokens"], row["cost_usd"])

    def put_cached(self, key: str, *, model: str, prompt_version: str, purpose: str,
                   answer: CachedAnswer) -> None:
        if self._read_only():
            return
        with self.conn as conn:
            conn.execute("INSERT OR REPLACE INTO llm_cache VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (key, model, prompt_version, purpose, answer.response, answer.finish_reason,
                          answer.prompt_tokens, answer.completion_tokens, answer.cost_usd, _now()))

    def cache_size(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM llm_cache").fetchone()[0])

    # -- usage ---------------------------------------------------------------------------------
    def record_call(self, run_id: str, *, command: str, model: str, purpose: str, prompt_tokens: int,
                    completion_tokens: int, cost_usd: float | None, cached: bool = False) -> None:
        now = _now()
        model = redact(model)  # a model string never puts a URL credential or key on disk (or in ``usage``)
        if self._read_only():
            return
        with self.conn as conn:
            conn.execute("INSERT OR IGNORE INTO llm_runs VALUES (?, ?, ?, ?)", (run_id, now, command, model))
            conn.execute("INSERT INTO llm_calls (run_id, at, model, purpose, prompt_tokens, "
                         "completion_tokens, cost_usd, cached) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (run_id, now, model, purpose, prompt_tokens, completion_tokens, cost_usd,
                          int(cached)))

    _USAGE_SQL = (
        "SELECT r.run_id, r.started, r.command, r.model, "
        "SUM(1 - c.cached) AS calls, SUM(c.cached) AS cached_calls, "
        "SUM(CASE WHEN c.cached THEN 0 ELSE c.prompt_tokens END) AS pt, "
        "SUM(CASE WHEN c.cached THEN 0 ELSE c.completion_tokens END) AS ct, "
        "SUM(CASE WHEN c.cached THEN 0 ELSE c.cost_usd END) AS cost, "
        "SUM(CASE WHEN c.cached = 0 AND c.cost_usd IS NULL THEN 1 ELSE 0 END) AS unpriced "
        "FROM llm_runs r JOIN llm_calls c ON c.run_id = r.run_id {where} "
        "GROUP BY r.run_id ORDER BY r.started DESC, r.rowid DESC LIMIT ?")

    def runs(self, limit: int = 20) -> list[RunUsage]:
        """Usage per run, newest first (cache hits are counted apart and cost nothing)."""
        rows = self.conn.execute(self._USAGE_SQL.format(where=""), (limit,)).fetchall()
        return [self._usage(r) for r in rows]

    def run(self, run_id: str) -> RunUsage | None:
        row = self.conn.execute(self._USAGE_SQL.format(where="WHERE r.run_id = ?"), (run_id, 1)).fetchone()
        return self._usage(row) if row else None

    @staticmethod
    def _usage(r: sqlite3.Row) -> RunUsage:
        return RunUsage(r["run_id"], r["started"], r["command"], r["model"], r["calls"] or 0,
                        r["cached_calls"] or 0, r["pt"] or 0, r["ct"] or 0, r["cost"], r["unpriced"] or 0)
