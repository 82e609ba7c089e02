"""The reading lists each profile was shown lately: for each paper, the window of the last list it was on.

``eval`` replays a rating day on the list it was rated in, when the rating kept that list's dates. The
TUI's list passes them with each rating; a rating given elsewhere (``profile like ID`` after ``papercast
recommend``, a digest read in a mail client, the agent, another agent over MCP) could not. So every list
the service ranks is remembered here for ``SHOWN_DAYS``, and a rating given without a window takes the
window of the latest list that showed its paper. Rows follow a profile's renames and go with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from papercast.store.db import HomeTables, stamp

SHOWN_DAYS = 14  # a list older than this is not what a rating given today answers


class ShownLists(HomeTables):
    """The papers listed to each profile lately, with their list's window (``settings.db_path``)."""

    def record(self, profile: str, window: tuple[date, date], paper_ids: Sequence[str],
               *, at: datetime | None = None) -> None:
        """Remember that these papers were listed to ``profile`` in ``window`` (each paper's last list
        wins), and forget lists older than ``SHOWN_DAYS``, in one transaction. ``at``: when the list was
        shown, if not now (tests)."""
        now = datetime.now(UTC)
        when = stamp(at or now)
        since, until = window[0].isoformat(), window[1].isoformat()
        with self._conn as conn:
            conn.execute("DELETE FROM shown_papers WHERE at < ?", (stamp(now - timedelta(days=SHOWN_DAYS)),))
            conn.executemany(
                "INSERT INTO shown_papers (profile, paper_id, since, until, at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (profile, paper_id) DO UPDATE SET since = excluded.since, "
                "until = excluded.until, at = excluded.at",
                [(profile, pid, since, until, when) for pid in dict.fromkeys(paper_ids)])

    def windows_of(self, profile: str, paper_ids: Sequence[str],
                   *, now: datetime | None = None) -> dict[str, tuple[date, date]]:
        """The window of the latest list (within ``SHOWN_DAYS``) that showed each of ``paper_ids`` to
        ``profile``; papers no such list showed are left out."""
        wanted = list(dict.fromkeys(paper_ids))
        oldest = stamp((now or datetime.now(UTC)) - timedelta(days=SHOWN_DAYS))
        out: dict[str, tuple[date, date]] = {}
        for start in range(0, len(wanted), 500):  # well under SQLite's limit on bound parameters
            chunk = wanted[start:start + 500]
            rows = self._conn.execute(
                f"SELECT paper_id, since, until FROM shown_papers WHERE profile = ? AND at >= ? "
                f"AND paper_id IN ({','.join('?' * len(chunk))})", (profile, oldest, *chunk))
            for row in rows:
                try:
                    shown = (date.fromisoformat(row["since"]), date.fromisoformat(row["until"]))
                except ValueError:  # a damaged row: that rating simply keeps no window
                    continue
                out[row["paper_id"]] = shown
        return out
