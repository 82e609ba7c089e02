"""The one façade: the CLI, the TUI and the agent's tools call only this.

``Papercast`` holds the settings and opens the heavy parts (Chroma, the embedding model,
litellm, the SQLite file) lazily on first use, so constructing it is free. Errors a user can
cause are raised as ``UserError`` (bad input, exit 2); failures of the outside world (network,
LLM) as ``RuntimeFailure`` (exit 1). Both carry a one-line message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from papercast.config import Settings, load_settings
from papercast.errors import RuntimeFailure, UserError  # noqa: F401  (re-exported for callers)
from papercast.models import (
    FeedbackKind,
    InvalidPaperId,
    Paper,
    Profile,
    ReadingList,
    Recommendation,
    Summary,
    normalize_arxiv_id,
    parse_date,  # noqa: F401  (re-exported: the CLI and the TUI parse dates through the service)
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from papercast.agent.state import ChatEvent, DailyReport
    from papercast.models import ChatAnswer, RunUsage, ThreadInfo, Usage
    from papercast.store.llm_log import LLMLog
    from papercast.store.papers import PaperStore, UpsertResult
    from papercast.store.profiles import ProfileStore
    from papercast.tools.llm.client import LLMClient
    from papercast.tools.writing.digest import Digest

DATA_DIR = Path(__file__).resolve().parent / "data"
SAMPLE_PAPERS = DATA_DIR / "sample.jsonl.gz"
SAMPLE_EMBEDDINGS = DATA_DIR / "sample_embeddings.npz"
STARTER_PROFILE = "default"
_ALL = 1_000_000  # "every paper of the window" for store reads that take a limit
STARTER_INTERESTS = ("efficient fine-tuning of LLMs, long-context modelling and long-output generation")

Progress = Callable[[int, int], None]


def normalize_ids(ids: Iterable[str]) -> list[str]:
    """Canonical ids, or a UserError naming every id that is not an arXiv id."""
    out, bad = [], []
    for raw in ids:
        try:
            out.append(normalize_arxiv_id(raw))
        except InvalidPaperId:
            bad.append(raw)
    if bad:
        raise UserError(f"not an arXiv id: {', '.join(bad)}")
    return list(dict.fromkeys(out))


@dataclass
class ImportReport:
    files: list[str] = field(default_factory=list)
    parsed: int = 0
    errors: list[str] = field(default_factory=list)
    result: UpsertResult | None = None


@dataclass
class FetchReport:
    papers: list[Paper] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    result: UpsertResult | None = None


class Papercast:
    """The papercast service for one home directory."""

    def __init__(self, settings: Settings | None = None, *, embed: Callable[[Sequence[str]], np.ndarray] | None = None):
        self.settings = settings or load_settings()
        self._embed = embed
        self.starter_created = False  # this service made the starter profile (first start): say how to edit it

    # -- parts, opened on first use ------------------------------------------------------
    @cached_property
    def store(self) -> PaperStore:
        from papercast.store.papers import PaperStore

        return PaperStore(self.settings, embed=self._embed, remote_client=self._embedding_client)

    def _embedding_client(self) -> Any:
        """The model client of a litellm embedding model (the store asks for it on first use)."""
        from papercast.tools.llm.client import LLMClient

        return LLMClient.for_embeddings(self.settings, self.llm_log)

    @cached_property
    def profiles(self) -> ProfileStore:
        from papercast.store.profiles import ProfileStore

        return ProfileStore(self.settings.db_path)

    @property
    def mode(self) -> str:
        return self.settings.mode_label

    # -- papers in -----------------------------------------------------------------------
    def ensure_sample(self, progress: Progress | None = None) -> int:
        """Load the bundled sample into an empty store; returns how many papers were loaded.

        Its shipped vectors are the bundled model's; with a litellm embedding model the sample is
        embedded through that model instead (a RuntimeFailure when it cannot be reached).
        """
        if self.store.count() > 0:
            return 0
        from papercast.tools.sources.files import parse_file

        parsed = parse_file(SAMPLE_PAPERS)
        if self.store.embedding_model is None:
            with np.load(SAMPLE_EMBEDDINGS) as shipped:
                known = dict(zip(shipped["ids"].tolist(), shipped["vectors"].astype(np.float32), strict=True))
        else:
            known = self._embed_sample(parsed.papers, progress)
        self.store.upsert(parsed.papers, embeddings=known, progress=progress)
        return len(parsed.papers)

    def _embed_sample(self, papers: Sequence[Paper], progress: Progress | None) -> dict[str, np.ndarray]:
        """The sample's vectors from a litellm embedding model (the shipped ones are the bundled model's).

        All of them before anything is written: a failure leaves the store empty, not holding part of
        the sample (which ``ensure_sample`` would then never complete).
        """
        total = len(papers)
        report = (lambda done: progress(done, total)) if progress else None
        vectors = self.store.embed_texts([p.embedding_text for p in papers], progress=report)
        return dict(zip([p.id for p in papers], vectors, strict=True))

    def import_files(self, paths: Sequence[str | Path], progress: Progress | None = None) -> ImportReport:
        """Import corpus JSONL(.gz), HF daily_papers JSON or arXiv Atom files.

        Malformed entries are reported (with line numbers) and skipped; the rest is stored.
        """
        from papercast.tools.sources.files import parse_file

        missing = [str(p) for p in paths if not Path(p).is_file()]
        if missing:
            raise UserError(f"no such file: {', '.join(missing)}")
        report = ImportReport()
        papers: list[Paper] = []
        for path in paths:
            parsed = parse_file(Path(path))
            report.files.append(str(path))
            report.errors.extend(parsed.errors)
            papers.extend(parsed.papers)
        report.parsed = len(papers)
        report.result = self.store.upsert(papers, progress=progress)
        return report

    def fetch(self, source: str = "all", *, day: date | None = None, since: date | None = None,
              until: date | None = None, categories: Sequence[str] = (), query: str | None = None,
              progress: Progress | None = None, client: Any = None) -> FetchReport:
        """Fetch from the sources and store what came back (even when a source failed)."""
        return asyncio.run(self.afetch(source, day=day, since=since, until=until, categories=categories,
                                       query=query, progress=progress, client=client))

    async def afetch(self, source: str = "all", *, day: date | None = None, since: date | None = None,
                     until: date | None = None, categories: Sequence[str] = (), query: str | None = None,
                     progress: Progress | None = None, client: Any = None) -> FetchReport:
        from papercast.tools.sources.fetch import fetch_papers

        if source not in ("hf", "arxiv", "all"):
            raise UserError(f"unknown source {source!r}: use hf, arxiv or all")
        if since and until and since > until:
            raise UserError(f"--since {since} is after --until {until}")
        result = await fetch_papers(source, date=day, since=since, until=until,
                                    categories=tuple(categories) or self.settings.arxiv_categories,
                                    query=query, client=client,
                                    arxiv_min_interval=self.settings.arxiv_min_interval)
        report = FetchReport(papers=result.papers, errors=list(result.errors), notes=list(result.notes))
        if result.papers:
            report.result = await asyncio.to_thread(self.store.upsert, result.papers, progress=progress)
        return report

    # -- papers out ----------------------------------------------------------------------
    def get_paper(self, paper_id: str) -> Paper:
        pid = normalize_ids([paper_id])[0]
        paper = self.store.get(pid)
        if paper is None:
            raise UserError(f"unknown paper id: {paper_id}")
        return paper

    def get_papers(self, ids: Sequence[str]) -> list[Paper]:
        """Papers for ids; a UserError names every id the store does not hold.

        One store read: the papers found say which are missing (every like in the TUI comes here).
        """
        wanted = normalize_ids(ids)
        papers = self.store.get_many(wanted)
        found = {p.id for p in papers}
        missing = [i for i in wanted if i not in found]
        if missing:
            raise UserError(f"unknown paper id{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
        return papers

    def list_papers(self, n: int = 20, *, since: date | None = None, until: date | None = None,
                    category: str | None = None) -> list[Paper]:
        return self.store.latest(n, since=since, until=until, category=category)

    def search(self, query: str, n: int = 10, *, since: date | None = None,
               until: date | None = None) -> list[tuple[Paper, float]]:
        if not query.strip():
            raise UserError("empty search query")
        return self.store.search(query, n, since=since, until=until)

    def similar(self, paper_id: str, n: int = 5) -> list[tuple[Paper, float]]:
        return self.store.similar(self.get_paper(paper_id).id, n)

    def count(self) -> int:
        return self.store.count()

    # -- profiles and feedback -------------------------------------------------------------------
    def active_profile(self, name: str | None = None) -> Profile:
        """The named profile, or the active one; creates the starter profile on first use."""
        if name:
            return self.profiles.get(name)  # UnknownProfile is a UserError
        profile, created = self.profiles.ensure_default(STARTER_PROFILE, STARTER_INTERESTS)
        self.starter_created = self.starter_created or created
        return profile

    def feedback(self, ids: Sequence[str], kind: FeedbackKind, *, profile: str | None = None,
                 undo: bool = False) -> Profile:
        """Record (or undo) like/dislike/save/dismiss for papers; unknown ids change nothing."""
        papers = self.get_papers(ids)
        target = self.active_profile(profile)
        pids = [p.id for p in papers]
        if undo:
            return self.profiles.remove_feedback(target.name, pids, kind)
        return self.profiles.add_feedback(target.name, pids, kind)

    def profile_list(self) -> list[Profile]:
        """All profiles (the starter one is created on first use, so never an empty list)."""
        self.active_profile()
        return self.profiles.list()

    def active_profile_name(self) -> str:
        return self.active_profile().name

    def profile_show(self, name: str | None = None) -> Profile:
        return self.active_profile(name)

    def profile_create(self, name: str, *, interests: str = "", keywords: Sequence[str] = (),
                       excluded_keywords: Sequence[str] = (), authors: Sequence[str] = (),
                       categories: Sequence[str] = (), use: bool = False) -> Profile:
        """A new profile (ProfileExists if the name is taken); ``use`` makes it the active one."""
        created = self.profiles.create(name, interests=interests, keywords=keywords,
                                       excluded_keywords=excluded_keywords, authors=authors,
                                       categories=categories)
        return self.profiles.use(created.name) if use else created

    def profile_update(self, name: str | None = None, **changes: Any) -> Profile:
        """Change a profile's fields (see ``ProfileStore.update`` for the field names)."""
        return self.profiles.update(self.active_profile(name).name, **changes)

    def profile_rename(self, old: str, new: str) -> Profile:
        return self.profiles.rename(old, new)

    def profile_delete(self, name: str) -> None:
        self.profiles.delete(name)

    def profile_use(self, name: str) -> Profile:
        return self.profiles.use(name)

    def import_likes(self, path: str | Path, profile: str | None = None) -> list[str]:
        """Like every paper named in a file of arXiv ids or a BibTeX export.

        Nothing is fetched: ids the store does not hold are left out and reported on the returned
        list's ``missing`` attribute (entries without an arXiv id on ``skipped``). Returns the
        liked ids.
        """
        from papercast.tools.sources.bibtex import ImportedLikes, parse_likes

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
        missing = set(self.store.missing(parsed.ids))
        present = [i for i in parsed.ids if i not in missing]
        if present:
            self.profiles.add_feedback(target.name, present, "like")
        return ImportedLikes(present, missing=[i for i in parsed.ids if i in missing], skipped=parsed.skipped,
                             profile=target.name)

    # -- ranking ---------------------------------------------------------------------------------
    def recommend(self, *, profile: str | None = None, n: int = 20, since: date | None = None,
                  until: date | None = None, use_llm: bool = True) -> ReadingList:
        from papercast.tools.ranking.score import recommend

        target = self.active_profile(profile)
        client = self.llm_client(use_llm)
        # The model re-ranks the ranker's top K, so rank at least K and cut to n afterwards.
        depth = max(n, self.settings.rerank_top_k) if client else n
        reading = recommend(self.store, target, since=since, until=until, n=depth)
        if client and reading.items:
            from papercast.tools.ranking.rerank import rerank

            reading.items, reading.llm_notes = rerank(client, target, reading.items, self.settings.rerank_top_k)
        reading.items = reading.items[:n]
        return reading

    def trending(self, *, since: date | None = None, until: date | None = None,
                 limit: int | None = None) -> ReadingList:
        """The window's papers by Hugging Face upvotes, like the Daily Papers page (newest first on ties).

        An empty window with an end date falls back to the latest window of the same length that has
        papers, said in ``note``. Papers without upvotes are listed only when none in the window has any.
        """
        papers = self.store.latest(_ALL, since=since, until=until)
        note = None
        if not papers and until is not None:
            newest = self.store.newest_date()
            if newest is not None:
                span = (until - since) if since else None
                first = newest - span if span is not None else None
                papers = self.store.latest(_ALL, since=first, until=newest)
                shown = str(newest) if first == newest else f"{first or '…'} – {newest}"
                note = f"no papers for {since or '…'} – {until}; showing the latest in the store ({shown})"
                since, until = first, newest
        voted = [p for p in papers if p.upvotes is not None and p.upvotes >= 0]
        ranked = sorted(voted or papers, key=lambda p: (-(p.upvotes or 0),
                                                        -(p.published.toordinal() if p.published else 0), p.id))
        items = [Recommendation(paper=p, score=float(p.upvotes or 0)) for p in ranked[:limit]]
        return ReadingList(items=items, since=since, until=until, note=note)

    # -- summaries, re-ranking, digest, usage ----------------------------------------------------
    @cached_property
    def llm_log(self) -> LLMLog:
        """Summaries, the LLM response cache and usage per run (tables in the home SQLite file)."""
        from papercast.store.llm_log import LLMLog

        return LLMLog(self.settings.db_path)

    @cached_property
    def llm(self) -> LLMClient:
        """The model client of this run (one run id per service); LLMUnavailable in offline mode."""
        from papercast.tools.llm.client import LLMClient

        return LLMClient(self.settings, self.llm_log)

    def llm_client(self, use_llm: bool = True) -> LLMClient | None:
        """This run's model client, or None when offline (no model set, or ``use_llm`` False)."""
        return self.llm if use_llm and not self.settings.offline else None

    def llm_usage(self) -> Usage:
        """Tokens and cost of this run so far (zero in offline mode)."""
        from papercast.models import Usage

        if self.settings.offline or "llm" not in self.__dict__:
            return Usage()
        return self.llm.usage

    def llm_notices(self) -> list[str]:
        """One-line notices of this run's LLM work (unreachable model, budget reached, fallbacks)."""
        return list(self.llm.notices) if "llm" in self.__dict__ else []

    def summarize(self, ids: Sequence[str], *, use_llm: bool = True) -> list[Summary]:
        """Structured summaries (stored ones reused); offline extractive ones without a model."""
        from papercast.tools.writing.summarize import summarize_papers

        return summarize_papers(self.get_papers(ids), store=self.store, log=self.llm_log,
                                client=self.llm_client(use_llm))

    def digest_summaries(self, papers: Sequence[Paper], *, use_llm: bool = True) -> list[Summary]:
        """What a digest shows per paper: a stored full summary, else a stored or new batch TL;DR."""
        from papercast.tools.writing.summarize import digest_summaries

        return digest_summaries(papers, store=self.store, log=self.llm_log, client=self.llm_client(use_llm))

    def digest(self, profile: str | None = None, n: int = 10, since: date | None = None,
               until: date | None = None, *, use_llm: bool = True) -> Digest:
        """The reading list of the window with TL;DRs, an overview and this run's LLM usage."""
        from papercast.tools.writing.digest import build_digest

        if n < 1:
            raise UserError(f"-n must be at least 1, got {n}")
        target = self.active_profile(profile)
        reading = self.recommend(profile=target.name, n=n, since=since, until=until, use_llm=use_llm)
        summaries = self.digest_summaries([r.paper for r in reading.items], use_llm=use_llm)
        count = self.store.window_count(reading.since, reading.until)
        return build_digest(target, reading, summaries, client=self.llm_client(use_llm), window_count=count)

    def usage_runs(self, limit: int = 20) -> list[RunUsage]:
        """LLM tokens and cost per run, newest first."""
        return self.llm_log.runs(limit)

    # -- agent: chat and the daily graph ---------------------------------------------------------
    def chat(self, message: str, thread_id: str | None = None, *, profile: str | None = None) -> ChatAnswer:
        """One chat turn, answered in full (a new thread when ``thread_id`` is None).

        Synchronous: for the CLI and scripts. Inside an event loop (the TUI) use ``achat_stream``.
        """
        return asyncio.run(self.achat(message, thread_id, profile=profile))

    async def achat(self, message: str, thread_id: str | None = None, *,
                    profile: str | None = None) -> ChatAnswer:
        answer = None
        async for event in self.achat_stream(message, thread_id, profile=profile):
            if event.kind == "final":
                answer = event.answer
        assert answer is not None  # stream_turn always ends with the final event
        return answer

    def achat_stream(self, message: str, thread_id: str | None = None, *,
                     profile: str | None = None) -> AsyncIterator[ChatEvent]:
        """A chat turn as events: ``token``, ``tool_start``, ``tool_end`` and, last, ``final``.

        See ``papercast.agent.state`` for the event fields. The thread persists in
        ``settings.checkpoint_path``; ``final.answer.thread_id`` names it for the next turn.
        """
        from papercast.agent.chat import stream_turn

        return stream_turn(self, message, thread_id, profile=profile)

    def list_threads(self) -> list[ThreadInfo]:
        """Stored conversations, most recently used first."""
        from papercast.store.threads import list_threads

        return list_threads(self.settings.checkpoint_path)

    async def athread_messages(self, thread_id: str) -> list[dict[str, Any]]:
        """A stored thread's messages for display: ``{"role", "text", ...}`` in order."""
        from papercast.agent.chat import thread_messages

        return await thread_messages(self, thread_id)

    def daily(self, profile: str | None = None, out: str | Path | None = None, email: str | None = None,
              **options: Any) -> DailyReport:
        """The daily graph: fetch -> store -> rank -> summarize -> digest, then write and/or email it.

        ``options`` go to ``papercast.agent.daily.run_daily`` (n, sources, client, policy, today, say).
        """
        return asyncio.run(self.adaily(profile, out, email, **options))

    async def adaily(self, profile: str | None = None, out: str | Path | None = None, email: str | None = None,
                     **options: Any) -> DailyReport:
        from papercast.agent.daily import run_daily

        return await run_daily(self, profile=profile, out=out, email=email, **options)
