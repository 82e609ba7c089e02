"""Learning: the reading list a profile's ratings shape, what to rate next, how well it ranks, and
the window's trending papers (``tools/ranking``)."""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING

from papercast.models import ReadingList, Recommendation
from papercast.service.core import ServiceCore, ranking_tools
from papercast.service.profiles import hiding
from papercast.store.db import DatabaseError

if TYPE_CHECKING:
    from papercast.models import Evaluation, TeachCandidate

log = logging.getLogger(__name__)


class LearningMixin(ServiceCore):
    """Ranking for a profile (uses ``active_profile`` and ``llm_client`` of the other mixins)."""

    def recommend(self, *, profile: str | None = None, n: int = 20, since: date | None = None,
                  until: date | None = None, use_llm: bool = True, fallback: bool = False,
                  include_seen: bool = True) -> ReadingList:
        """The reading list. Dates the caller gives are kept, even when the window is empty (a note
        says so); ``fallback`` (relative presets such as the TUI's "today") moves an empty window
        to the latest one with papers. ``include_seen=False`` leaves out the papers already delivered
        to the profile (``daily``, and ``recommend``/``digest`` on the command line)."""
        target = self.active_profile(profile)
        client = self.llm_client(use_llm)
        seen = set() if include_seen else self._deliveries.seen(target.name)
        # The model re-ranks the ranker's top K, so rank at least K and cut to n afterwards.
        depth = max(n, self.settings.rerank_top_k) if client else n
        reading = ranking_tools().recommend(self._store, hiding(target, seen), since=since, until=until,
                                            n=depth, fallback=fallback)
        if seen and not reading.items:
            reading.note = "; ".join(filter(None, [reading.note, f"{len(seen)} papers were delivered to "
                                                   f"{target.name} already (--include-seen shows them)"]))
        if client and reading.items:
            reading.items, reading.llm_notes = ranking_tools().rerank(client, target, reading.items,
                                                                      self.settings.rerank_top_k)
        reading.items = reading.items[:n]
        self._remember_shown(target.name, reading)
        return reading

    def _remember_shown(self, profile: str, reading: ReadingList) -> None:
        """Remember the list's papers and window, so a rating given later by id (the CLI, the agent, MCP)
        keeps the window of the list that showed the paper (``store/shown.py``). A home papercast cannot
        write still lists: it cannot rate either, so nothing is lost."""
        if not reading.items or reading.since is None or reading.until is None:
            return
        try:
            self._shown.record(profile, (reading.since, reading.until), [r.paper.id for r in reading.items])
        except DatabaseError as err:
            log.debug("the list shown to %s was not remembered: %s", profile, err)

    def teach(self, *, profile: str | None = None, n: int = 5, since: date | None = None,
              until: date | None = None) -> tuple[list[TeachCandidate], str | None]:
        """The papers the ranker is least sure about for a profile (rate them to teach it most), and a
        note when the window is not the one asked for. Nothing is rated here: the caller records answers."""
        return ranking_tools().teach(self._store, self.active_profile(profile), since=since, until=until, n=n)

    def evaluate(self, profile: str | None = None) -> Evaluation:
        """The recommender graded on the profile's own ratings, split by time (``evaluation.evaluate``);
        with too few ratings, ``needed`` says what is missing."""
        return ranking_tools().evaluate(self._store, self.active_profile(profile))

    def trending(self, *, since: date | None = None, until: date | None = None,
                 limit: int | None = None) -> ReadingList:
        """The window's papers by Hugging Face upvotes, like the Daily Papers page (newest first on ties).

        An empty window with an end date falls back to the latest window of the same length that has
        papers (``resolve_window``'s fallback), said in ``note``. Papers without upvotes are listed only
        when none in the window has any.
        """
        papers, _ = self._store.window(since, until)  # every paper of the window
        note = None
        if not papers and until is not None:
            first, last, moved = ranking_tools().resolve_window(self._store, since, until, fallback=True)
            if last != until:  # moved to the latest window with papers (an empty store has none)
                since, until, note = first, last, moved
                papers, _ = self._store.window(since, until)
        voted = [p for p in papers if p.upvotes is not None and p.upvotes >= 0]
        ranked = sorted(voted or papers, key=lambda p: (-(p.upvotes or 0),
                                                        -(p.published.toordinal() if p.published else 0),
                                                        p.id))
        items = [Recommendation(paper=p, score=float(p.upvotes or 0)) for p in ranked[:limit]]
        return ReadingList(items=items, since=since, until=until, note=note)
