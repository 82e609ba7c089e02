"""Named interest profiles and their feedback, in the home's SQLite file.

A researcher follows several topics, so profiles are named and one is active. Feedback
(like/dislike/save/dismiss, with timestamps) belongs to a profile: what is noise for one topic
is signal for another. Every change is one transaction (``with conn:``) on a WAL database, so a
crash or a second process never sees half a change. The tables (``profiles``, ``profile_feedback``,
``profile_state``) are created and migrated by ``papercast.store.db``; this module holds the queries.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path

from papercast.errors import UserError
from papercast.models import OPPOSITE_FEEDBACK, Feedback, FeedbackKind, Profile
from papercast.store.db import HomeTables, connect, stamp

KINDS: tuple[str, ...] = ("like", "dislike", "save", "dismiss")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")  # what the help says: ASCII, no spaces

_LIST_FIELDS = ("keywords", "excluded_keywords", "authors", "categories")


class UnknownProfile(UserError):
    """No profile of that name."""


class ProfileExists(UserError):
    """A profile of that name exists already (names are case-insensitive)."""


def _clean_list(values: Iterable[str]) -> list[str]:
    """Stripped, non-empty, deduplicated case-insensitively, first spelling and order kept."""
    out: dict[str, str] = {}
    for value in values:
        text = " ".join(str(value).split())
        if text and text.lower() not in out:
            out[text.lower()] = text
    return list(out.values())


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise UserError(f"unknown feedback kind {kind!r}: use {', '.join(KINDS)}")


def _window_of(since: str | None, until: str | None) -> tuple[date, date] | None:
    """A stored rating's list window (None when it was not given in a list, or the row is damaged)."""
    try:
        return (date.fromisoformat(since), date.fromisoformat(until)) if since and until else None
    except ValueError:
        return None


def shown_name(name: str) -> str:
    """``name`` quoted for a message, cut when long: a 10,000-character name is not echoed whole."""
    return repr(name) if len(name) <= 40 else f"{name[:37]!r}… ({len(name)} characters)"


def check_name(name: str) -> str:
    """A usable profile name, or a UserError saying what a name may contain."""
    text = str(name).strip()
    if not _NAME.fullmatch(text):
        raise UserError(f"invalid profile name {shown_name(text)}: use ASCII letters, digits, '.', '-', '_' "
                        "(at most 64)")
    return text


class ProfileStore(HomeTables):
    """Profiles and feedback in one SQLite file (``settings.db_path``)."""

    def __init__(self, db_path: Path) -> None:
        super().__init__(db_path)
        # open (and on first use migrate) now: a damaged file fails here, not mid-command
        connect(self.db_path)

    # -- reading ----------------------------------------------------------------------------
    def _row(self, name: str) -> sqlite3.Row | None:
        return self._conn.execute("SELECT * FROM profiles WHERE name = ?", (name,)).fetchone()

    def _load(self, row: sqlite3.Row) -> Profile:
        fb = self._conn.execute(
            "SELECT paper_id, kind, at, window_since, window_until FROM profile_feedback WHERE profile = ?"
            " ORDER BY at, rowid", (row["name"],)).fetchall()
        return Profile(
            name=row["name"], interests=row["interests"],
            **{f: json.loads(row[f]) for f in _LIST_FIELDS},
            feedback=[Feedback(paper_id=r["paper_id"], kind=r["kind"], at=datetime.fromisoformat(r["at"]),
                               window=_window_of(r["window_since"], r["window_until"]))
                      for r in fb],
            created=datetime.fromisoformat(row["created"]), updated=datetime.fromisoformat(row["updated"]),
        )

    def list(self) -> list[Profile]:
        rows = self._conn.execute("SELECT * FROM profiles ORDER BY name COLLATE NOCASE").fetchall()
        return [self._load(r) for r in rows]

    def names(self) -> list[str]:
        return [r["name"]
                for r in self._conn.execute("SELECT name FROM profiles ORDER BY name COLLATE NOCASE")]

    def active_name(self) -> str | None:
        row = self._conn.execute(
            "SELECT p.name FROM profile_state s JOIN profiles p ON p.name = s.value WHERE s.key = 'active'"
        ).fetchone()
        return row["name"] if row else None

    def get(self, name: str) -> Profile:
        row = self._row(" ".join(str(name).split()))
        if row is None:
            known = ", ".join(self.names()) or "none yet"
            raise UnknownProfile(f"unknown profile {shown_name(name)} (profiles: {known})")
        return self._load(row)

    def exists(self, name: str) -> bool:
        return self._row(" ".join(str(name).split())) is not None

    # -- creating and changing ---------------------------------------------------------------
    def ensure_default(self, name: str, interests: str) -> tuple[Profile, bool]:
        """The active profile; on first use, creates and activates a starter profile.

        When profiles exist but none is active (the active one was deleted), the oldest becomes
        active, so callers always get a profile. Returns (profile, created).
        """
        with self._conn as conn:
            conn.execute("BEGIN IMMEDIATE")  # two first starts at once create one profile
            active = conn.execute(
                "SELECT p.name FROM profile_state s JOIN profiles p ON p.name = s.value WHERE s.key = "
                "'active'"
            ).fetchone()
            created = False
            if active is not None:
                chosen = active["name"]
            else:
                oldest = conn.execute("SELECT name FROM profiles ORDER BY created, name LIMIT 1").fetchone()
                if oldest is not None:
                    chosen = oldest["name"]
                else:
                    chosen, created = check_name(name), True
                    now = stamp()
                    conn.execute("INSERT INTO profiles (name, interests, created, updated) VALUES (?, ?, ?, "
                                 "?)", (chosen, interests, now, now))
                self._set_active(conn, chosen)
        return self.get(chosen), created

    def create(self, name: str, *, interests: str = "", keywords: Sequence[str] = (),
               excluded_keywords: Sequence[str] = (), authors: Sequence[str] = (),
               categories: Sequence[str] = ()) -> Profile:
        """A new profile; the first profile ever created becomes the active one."""
        name = check_name(name)
        now = stamp()
        try:
            with self._conn as conn:
                conn.execute(
                    "INSERT INTO profiles (name, interests, keywords, excluded_keywords, authors, categories,"
                    " created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (name, " ".join(interests.split()), json.dumps(_clean_list(keywords)),
                     json.dumps(_clean_list(excluded_keywords)), json.dumps(_clean_list(authors)),
                     json.dumps(_clean_list(categories)), now, now))
                if self._active_in(conn) is None:
                    self._set_active(conn, name)
        except sqlite3.IntegrityError:
            raise ProfileExists(f"profile {self.get(name).name!r} exists already") from None
        return self.get(name)

    def update(self, name: str, *, interests: str | None = None, keywords: Sequence[str] | None = None,
               excluded_keywords: Sequence[str] | None = None, authors: Sequence[str] | None = None,
               categories: Sequence[str] | None = None, add_keywords: Sequence[str] = (),
               remove_keywords: Sequence[str] = (), add_authors: Sequence[str] = (),
               remove_authors: Sequence[str] = (), add_excluded: Sequence[str] = (),
               remove_excluded: Sequence[str] = (), add_categories: Sequence[str] = (),
               remove_categories: Sequence[str] = ()) -> Profile:
        """Change fields: a value replaces a field, ``add_*``/``remove_*`` edit a list in place."""
        current = self.get(name)
        fields: dict[str, list[str]] = {f: list(getattr(current, f)) for f in _LIST_FIELDS}
        plan = {
            "keywords": (keywords, add_keywords, remove_keywords),
            "excluded_keywords": (excluded_keywords, add_excluded, remove_excluded),
            "authors": (authors, add_authors, remove_authors),
            "categories": (categories, add_categories, remove_categories),
        }
        for field, (replace, add, remove) in plan.items():
            values = list(replace) if replace is not None else fields[field]
            values = _clean_list([*values, *add])
            drop = {" ".join(r.split()).lower() for r in remove}
            fields[field] = [v for v in values if v.lower() not in drop]
        text = current.interests if interests is None else " ".join(interests.split())
        with self._conn as conn:
            conn.execute(
                "UPDATE profiles SET interests = ?, keywords = ?, excluded_keywords = ?, authors = ?,"
                " categories = ?, updated = ? WHERE name = ?",
                (text, *(json.dumps(fields[f]) for f in _LIST_FIELDS), stamp(), current.name))
        return self.get(current.name)

    def rename(self, old: str, new: str) -> Profile:
        current = self.get(old)
        new = check_name(new)
        if self.exists(new) and new.lower() != current.name.lower():
            raise ProfileExists(f"profile {self.get(new).name!r} exists already")
        with self._conn as conn:
            was_active = self._active_in(conn) == current.name
            # ON UPDATE CASCADE carries the feedback rows along.
            conn.execute("UPDATE profiles SET name = ?, updated = ? WHERE name = ?",
                         (new, stamp(), current.name))
            if was_active:
                self._set_active(conn, new)
        return self.get(new)

    def delete(self, name: str) -> None:
        """Delete a profile and its feedback. Deleting the active one leaves none active until the
        next ``ensure_default`` picks the oldest remaining one."""
        current = self.get(name)
        with self._conn as conn:
            conn.execute("DELETE FROM profile_feedback WHERE profile = ?", (current.name,))
            conn.execute("DELETE FROM profiles WHERE name = ?", (current.name,))
            if self._active_in(conn) is None:
                conn.execute("DELETE FROM profile_state WHERE key = 'active'")

    def use(self, name: str) -> Profile:
        current = self.get(name)
        with self._conn as conn:
            self._set_active(conn, current.name)
        return current

    # -- feedback ---------------------------------------------------------------------------
    def add_feedback(self, name: str, ids: Sequence[str], kind: FeedbackKind, *,
                     at: datetime | None = None, window: tuple[date, date] | None = None,
                     windows: Mapping[str, tuple[date, date]] | None = None) -> Profile:
        """Record feedback (ids are canonical arXiv ids; the caller checked they exist).

        A repeat keeps the first timestamp (and window). Liking removes a dislike of the same paper and
        vice versa, in the same transaction. ``at``: when it was given, if not now (ratings replayed from
        elsewhere, and the benchmark's simulated days: ``eval`` splits ratings by the day they were given).
        ``window``: the dates of the list it was given in, so ``eval`` can replay the day on that list;
        ``windows``: a window per paper, for the papers ``window`` (when given) does not cover.
        """
        _check_kind(kind)
        current = self.get(name)
        now = stamp()
        given = stamp(at) if at is not None else now
        with self._conn as conn:
            for pid in dict.fromkeys(ids):
                shown = window if window is not None else (windows or {}).get(pid)
                since, until = (shown[0].isoformat(), shown[1].isoformat()) if shown else (None, None)
                if kind in OPPOSITE_FEEDBACK:
                    conn.execute("DELETE FROM profile_feedback WHERE profile = ? AND paper_id = ? AND kind = "
                                 "?", (current.name, pid, OPPOSITE_FEEDBACK[kind]))
                conn.execute("INSERT OR IGNORE INTO profile_feedback (profile, paper_id, kind, at,"
                             " window_since, window_until) VALUES (?, ?, ?, ?, ?, ?)",
                             (current.name, pid, kind, given, since, until))
            conn.execute("UPDATE profiles SET updated = ? WHERE name = ?", (now, current.name))
        return self.get(current.name)

    def remove_feedback(self, name: str, ids: Sequence[str], kind: FeedbackKind | None = None) -> Profile:
        """Take feedback back: of one kind, or every kind when ``kind`` is None."""
        if kind is not None:
            _check_kind(kind)
        current = self.get(name)
        with self._conn as conn:
            for pid in dict.fromkeys(ids):
                if kind is None:
                    conn.execute("DELETE FROM profile_feedback WHERE profile = ? AND paper_id = ?",
                                 (current.name, pid))
                else:
                    conn.execute("DELETE FROM profile_feedback WHERE profile = ? AND paper_id = ? AND kind = "
                                 "?", (current.name, pid, kind))
            conn.execute("UPDATE profiles SET updated = ? WHERE name = ?", (stamp(), current.name))
        return self.get(current.name)

    # -- helpers ----------------------------------------------------------------------------
    @staticmethod
    def _active_in(conn: sqlite3.Connection) -> str | None:
        row = conn.execute(
            "SELECT p.name FROM profile_state s JOIN profiles p ON p.name = s.value WHERE s.key = 'active'"
        ).fetchone()
        return row["name"] if row else None

    @staticmethod
    def _set_active(conn: sqlite3.Connection, name: str) -> None:
        conn.execute("INSERT INTO profile_state (key, value) VALUES ('active', ?)"
                     " ON CONFLICT(key) DO UPDATE SET value = excluded.value", (name,))
