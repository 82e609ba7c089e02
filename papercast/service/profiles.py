"""Profiles and the feedback that teaches them: likes, dislikes, saves, dismissals, imported likes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from papercast.errors import UserError
from papercast.models import Feedback, FeedbackKind, Paper, Profile
from papercast.service.core import STARTER_INTERESTS, STARTER_PROFILE, ServiceCore, ranking_tools
from papercast.tools.sources.bibtex import ImportedLikes, parse_likes

HIDDEN_AT = datetime(1970, 1, 1, tzinfo=UTC)  # before any rating day (see ``hiding``)


def hiding(profile: Profile, seen: set[str]) -> Profile:
    """The profile as the ranker should see it when delivered papers are left out.

    The ranker never shows dismissed papers, so a copy with the seen papers added as dismissals hides
    them without touching the stored profile (seen stays its own state: it never becomes feedback) and
    without a second exclusion path in the ranker. They are dated ``HIDDEN_AT``, a day with no like:
    the ranker learns only from dismissals beside a day's likes, and a delivery is no answer.
    """
    if not seen:
        return profile
    hidden = [Feedback(paper_id=pid, kind="dismiss", at=HIDDEN_AT)
              for pid in sorted(seen - set(profile.dismissed))]
    return profile.model_copy(update={"feedback": [*profile.feedback, *hidden]})


class ProfilesMixin(ServiceCore):
    """The profiles of the home; the papers they name are checked against the library."""

    def active_profile(self, name: str | None = None) -> Profile:
        """The named profile, or the active one; creates the starter profile on first use."""
        if name:
            return self._profiles.get(name)  # UnknownProfile is a UserError
        profile, created = self._profiles.ensure_default(STARTER_PROFILE, STARTER_INTERESTS)
        self.starter_created = self.starter_created or created
        return profile

    def feedback(self, ids: Sequence[str], kind: FeedbackKind, *, profile: str | None = None,
                 undo: bool = False, window: tuple[date, date] | None = None) -> Profile:
        """Record (or undo) like/dislike/save/dismiss for papers; unknown ids change nothing. ``window``:
        the dates of the list the papers were rated in (the reading list's, teach's), kept with each rating
        so ``eval`` grades that day on the same papers. Without one, each paper keeps the window of the
        latest list that showed it to the profile (``store/shown.py``), if any did lately."""
        papers = self.get_papers(ids)
        target = self.active_profile(profile)
        pids = [p.id for p in papers]
        if undo:
            return self._profiles.remove_feedback(target.name, pids, kind)
        shown = self._shown.windows_of(target.name, pids) if window is None else {}
        return self._profiles.add_feedback(target.name, pids, kind, window=window, windows=shown)

    def profile_list(self) -> list[Profile]:
        """All profiles (the starter one is created on first use, so never an empty list)."""
        self.active_profile()
        return self._profiles.list()

    def active_profile_name(self) -> str:
        return self.active_profile().name

    def profile_show(self, name: str | None = None) -> Profile:
        return self.active_profile(name)

    def profile_create(self, name: str, *, interests: str = "", keywords: Sequence[str] = (),
                       excluded_keywords: Sequence[str] = (), authors: Sequence[str] = (),
                       categories: Sequence[str] = (), use: bool = False,
                       from_authors: Sequence[str] | Mapping[str, Sequence[Paper]] = ()) -> Profile:
        """A new profile (ProfileExists if the name is taken); ``use`` makes it the active one.

        ``from_authors`` gives a cold start: the profile likes every paper in the library by these
        authors (names, found with ``papers_by_author`` first, so a name with no paper creates nothing;
        or what ``papers_by_author`` returned, when the caller shows its counts). A paper by two of
        them is liked once.
        """
        found = from_authors if isinstance(from_authors, Mapping) else (
            self.papers_by_author(from_authors) if from_authors else {})
        created = self._profiles.create(name, interests=interests, keywords=keywords,
                                        excluded_keywords=excluded_keywords, authors=authors,
                                        categories=categories)
        liked = list(dict.fromkeys(p.id for papers in found.values() for p in papers))
        if liked:
            created = self._profiles.add_feedback(created.name, liked, "like")
        return self._profiles.use(created.name) if use else created

    def papers_by_author(self, names: Sequence[str]) -> dict[str, list[Paper]]:
        """Every paper in the library (all dates) by each author, newest first, to seed a profile's likes.

        Names match as the ranker matches followed authors ("Y. LeCun" finds "Yann LeCun"), but a
        surname alone is a UserError (too loose to like papers by), as is an empty library or a
        name with no paper (naming the closest authors the library has). The library is read as
        streamed author lists, not as papers: only the papers found are built.
        """
        ranking = ranking_tools()
        found = ranking.find_papers(self._store.author_lists, names)
        every = list(dict.fromkeys(pid for ids in found.values() for pid in ids))
        by_id = {p.id: p for p in ranking.papers_by_id(self._store, every)}  # one read: the ranking cache
        return {name: sorted((by_id[i] for i in ids if i in by_id),
                             key=lambda p: (p.published or date.min, p.id), reverse=True)
                for name, ids in found.items()}

    def profile_update(self, name: str | None = None, **changes: Any) -> Profile:
        """Change a profile's fields (see ``ProfileStore.update`` for the field names).

        ``profile set default ...`` works on a fresh home too (a scheduled job's first run): the
        starter profile is created first, as any other command would."""
        if name is None or name.strip().lower() == STARTER_PROFILE:
            self.active_profile()
        return self._profiles.update(self.active_profile(name).name, **changes)

    def profile_rename(self, old: str, new: str) -> Profile:
        return self._profiles.rename(old, new)

    def profile_delete(self, name: str) -> None:
        self._profiles.delete(name)

    def profile_use(self, name: str) -> Profile:
        return self._profiles.use(name)

    def import_likes(self, path: str | Path, profile: str | None = None) -> list[str]:
        """Like every paper named in a file of arXiv ids or a BibTeX export.

        Nothing is fetched: ids the store does not hold are left out and reported on the returned
        list's ``missing`` attribute (entries without an arXiv id on ``skipped``). Returns the
        liked ids.
        """
        file = Path(path)
        if not file.is_file():
            raise UserError(f"no such file: {path}")
        try:
            parsed = parse_likes(file.read_text(encoding="utf-8", errors="replace"))
        except OSError as exc:
            raise UserError(f"cannot read {path}: {exc}") from None
        if not parsed.ids:
            raise UserError(f"no arXiv ids found in {path}")
        target = self.active_profile(profile)
        missing = set(self._store.missing(parsed.ids))
        present = [i for i in parsed.ids if i not in missing]
        if present:
            self._profiles.add_feedback(target.name, present, "like")
        return ImportedLikes(present, missing=[i for i in parsed.ids if i in missing],
                             skipped=parsed.skipped, profile=target.name)
