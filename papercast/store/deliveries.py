"""Every delivery of a digest, and the papers each profile has been sent ("seen").

Users of paper feeds expect a paper to reach them once: ``papercast daily`` leaves out every paper
already delivered to the profile, on any channel. Each successful delivery is recorded (profile,
channel, where, day, paper ids) and its papers become *seen*: a state apart from the ratings (being sent
a paper says nothing about liking it), which only hides the paper from the next deliveries
(``--include-seen`` shows them). Both tables follow a profile's renames and go when it is deleted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from papercast.models import DeliveryChannel, DeliveryRecord
from papercast.store.db import HomeTables, stamp


class DeliveryStore(HomeTables):
    """Deliveries and seen papers in the home's SQLite file (``settings.db_path``)."""

    def record(self, profile: str, channel: DeliveryChannel, target: str, day: date,
               paper_ids: Sequence[str]) -> DeliveryRecord:
        """Record one delivery and mark its papers seen, in one transaction (both or neither)."""
        at = stamp()
        ids = list(dict.fromkeys(paper_ids))
        with self._conn as conn:
            cursor = conn.execute(
                "INSERT INTO deliveries (profile, channel, target, day, at, papers) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (profile, channel, target, day.isoformat(), at, json.dumps(ids)))
            conn.executemany("INSERT OR IGNORE INTO seen_papers (profile, paper_id, first_at) VALUES (?, ?, "
                             "?)", [(profile, pid, at) for pid in ids])
        return DeliveryRecord(id=int(cursor.lastrowid or 0), profile=profile, channel=channel, target=target,
                              day=day, at=datetime.fromisoformat(at), papers=ids)

    def seen(self, profile: str) -> set[str]:
        """Every paper delivered to ``profile`` so far."""
        rows = self._conn.execute("SELECT paper_id FROM seen_papers WHERE profile = ?", (profile,))
        return {r["paper_id"] for r in rows}

    def seen_among(self, profile: str, paper_ids: Iterable[str]) -> set[str]:
        """Which of ``paper_ids`` were delivered to ``profile`` (for marking a list on screen)."""
        wanted = list(dict.fromkeys(paper_ids))
        found: set[str] = set()
        for start in range(0, len(wanted), 500):  # well under SQLite's limit on bound parameters
            chunk = wanted[start:start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(
                f"SELECT paper_id FROM seen_papers WHERE profile = ? AND paper_id IN ({marks})",
                (profile, *chunk))
            found.update(r["paper_id"] for r in rows)
        return found

    def forget(self, profile: str, paper_ids: Iterable[str] | None = None) -> int:
        """Make papers unseen again (all of the profile's when ``paper_ids`` is None); the delivery
        history stays as it was. Returns how many were forgotten."""
        with self._conn as conn:
            if paper_ids is None:
                return conn.execute("DELETE FROM seen_papers WHERE profile = ?", (profile,)).rowcount
            return sum(conn.execute("DELETE FROM seen_papers WHERE profile = ? AND paper_id = ?",
                                    (profile, pid)).rowcount for pid in dict.fromkeys(paper_ids))

    def history(self, profile: str | None = None, limit: int = 20) -> list[DeliveryRecord]:
        """Deliveries, newest first (of one profile, or of all)."""
        where, params = ("WHERE profile = ?", [profile]) if profile is not None else ("", [])
        rows = self._conn.execute(f"SELECT * FROM deliveries {where} ORDER BY at DESC, id DESC LIMIT ?",
                                  (*params, limit)).fetchall()
        return [DeliveryRecord(id=r["id"], profile=r["profile"], channel=r["channel"], target=r["target"],
                               day=date.fromisoformat(r["day"]), at=datetime.fromisoformat(r["at"]),
                               papers=json.loads(r["papers"])) for r in rows]

    def last(self, profile: str) -> DeliveryRecord | None:
        """The newest delivery to ``profile`` (what ``export --digest`` exports)."""
        found = self.history(profile, limit=1)
        return found[0] if found else None
