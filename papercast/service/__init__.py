"""The one façade: the CLI, the TUI and the agent's tools call only this.

``Papercast`` holds the settings and opens the heavy parts (Chroma, the embedding model,
litellm, the SQLite file) lazily on first use, so constructing it is free. Errors a user can
cause are raised as ``UserError`` (bad input, exit 2); failures of the outside world (network,
LLM) as ``RuntimeFailure`` (exit 1). Both carry a one-line message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from papercast.config import Settings, load_settings
from papercast.errors import RuntimeFailure, UserError  # noqa: F401  (re-exported for callers)
from papercast.models import (
    Document,
    FeedbackKind,
    FetchReport,
    ImportReport,
    InvalidPaperId,
    Paper,
    Passage,
    Profile,
    ReadingList,
    Recommendation,
    SearchHit,
    Summary,
    UpsertResult,
    normalize_arxiv_id,
    parse_date,  # noqa: F401  (re-exported: the CLI and the TUI parse dates through the service)
)
from papercast.sanitize import summarize_cuts

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from papercast.agent.events import ChatEvent, DailyReport
    from papercast.agent.llm_node import ModelConfig
    from papercast.models import (
        ChatAnswer,
        DeliveryChannel,
        DeliveryRecord,
        Evaluation,
        ModelCheck,
        RunUsage,
        TeachCandidate,
        ThreadInfo,
        Usage,
    )
    from papercast.store.deliveries import DeliveryStore
    from papercast.store.documents import DocumentStore
    from papercast.store.llm_log import LLMLog
    from papercast.store.papers import PaperStore
    from papercast.store.passages import PassageStore
    from papercast.store.profiles import ProfileStore
    from papercast.tools.delivery.channels import Channel, Outcome
    from papercast.tools.llm.client import LLMClient
    from papercast.tools.sources.reader import Reader
    from papercast.tools.writing.digest import Digest
    from papercast.tools.writing.export import ExportFormat

log = logging.getLogger(__name__)
DATA_DIR = Path(__file__).resolve().parent / "data"
SAMPLE_PAPERS = DATA_DIR / "sample.jsonl.gz"
SAMPLE_EMBEDDINGS = DATA_DIR / "sample_embeddings.npz"
STARTER_PROFILE = "default"
_ALL = 1_000_000  # "every paper of the window" for store reads that take a limit
STARTER_INTERESTS = ("efficient fine-tuning of LLMs, long-context modelling and long-output generation")

Progress = Callable[[int, int], None]
ExportSource = Literal["liked", "saved", "list", "digest"]


def _hiding(profile: Profile, seen: set[str]) -> Profile:
    """The profile as the ranker should see it when delivered papers are left out.

    The ranker never shows dismissed papers and uses dismissals for nothing else, so a copy with the
    seen papers added as dismissals hides them without touching the stored profile (seen stays its
    own state: it never becomes feedback) and without a second exclusion path in the ranker.
    """
    if not seen:
        return profile
    from datetime import UTC, datetime

    from papercast.models import Feedback

    now = datetime.now(UTC)
    hidden = [Feedback(paper_id=pid, kind="dismiss", at=now) for pid in sorted(seen - set(profile.dismissed))]
    return profile.model_copy(update={"feedback": [*profile.feedback, *hidden]})


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

        The papers are marked as the sample (``store_papers`` removes them when the user's own
        arrive). The check and the write happen under the home's lock, so two first starts load
        it once, and a start that begins while an import is writing finds the store non-empty.
        """
        if self.store.count() > 0:
            return 0
        from papercast.store.metadata import SAMPLE_SOURCE
        from papercast.tools.sources.files import parse_file

        parsed = parse_file(SAMPLE_PAPERS)
        papers = [p.model_copy(update={"sources": [SAMPLE_SOURCE]}) for p in parsed.papers]
        if self.store.embedding_model is None:
            with np.load(SAMPLE_EMBEDDINGS) as shipped:
                known = dict(zip(shipped["ids"].tolist(), shipped["vectors"].astype(np.float32), strict=True))
        else:
            known = self._embed_sample(papers, progress)  # outside the lock: it may take minutes
        with self.store.exclusive():
            if self.store.count() > 0:
                return 0
            self.store.upsert(papers, embeddings=known, progress=progress)
        return len(papers)

    def store_papers(self, papers: Sequence[Paper], progress: Progress | None = None) -> tuple[UpsertResult, str | None]:
        """Store the user's papers (an import, a fetch); the first ones replace the bundled sample.

        Returns the store's result and a notice when sample papers were removed (the ones among
        the stored papers, or liked/saved/... in a profile, stay as the user's own).
        """
        result = self.store.upsert(papers, progress=progress)
        if not papers:
            return result, None
        try:
            acted_on = {f.paper_id for profile in self.profiles.list() for f in profile.feedback}
        except RuntimeFailure:  # a damaged profile file: keep only the new papers (the paper store is fine)
            acted_on = set()
        removed = self.store.drop_sample({p.id for p in papers} | acted_on)
        note = (f"removed the {removed} papers of the bundled sample now that your own papers are in"
                if removed else None)
        return result, note

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

        folders = [str(p) for p in paths if Path(p).is_dir()]
        if folders:
            raise UserError(f"{', '.join(folders)}: a directory; give the files in it (e.g. {folders[0]}/*.jsonl)")
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
        report.notes.extend(summarize_cuts([n for p in papers if (n := p.cut_note())]))
        report.result, removed = self.store_papers(papers, progress=progress)
        report.notes.extend([removed] if removed else [])
        return report

    def fetch(self, source: str = "all", *, day: date | None = None, since: date | None = None,
              until: date | None = None, categories: Sequence[str] = (), query: str | None = None,
              progress: Progress | None = None, client: Any = None,
              include_cross: bool | None = None) -> FetchReport:
        """Fetch from the sources and store what came back (even when a source failed).

        ``include_cross`` (default: the ``include_cross`` setting) also takes arXiv's cross-lists."""
        return asyncio.run(self.afetch(source, day=day, since=since, until=until, categories=categories,
                                       query=query, progress=progress, client=client, include_cross=include_cross))

    async def afetch(self, source: str = "all", *, day: date | None = None, since: date | None = None,
                     until: date | None = None, categories: Sequence[str] = (), query: str | None = None,
                     progress: Progress | None = None, client: Any = None,
                     include_cross: bool | None = None) -> FetchReport:
        from papercast.tools.sources.fetch import fetch_papers

        if source not in ("hf", "arxiv", "all"):
            raise UserError(f"unknown source {source!r}: use hf, arxiv or all")
        if since and until and since > until:
            raise UserError(f"--since {since} is after --until {until}")
        result = await fetch_papers(source, date=day, since=since, until=until,
                                    categories=tuple(categories) or self.settings.arxiv_categories,
                                    query=query, client=client,
                                    include_cross=self.settings.include_cross if include_cross is None else include_cross,
                                    arxiv_min_interval=self.settings.arxiv_min_interval)
        report = FetchReport(papers=result.papers, errors=list(result.errors), notes=list(result.notes))
        if result.papers:
            # What this fetch adds (rather than refreshes): a chat fetch is undone by removing them.
            report.new_ids = await asyncio.to_thread(self.store.missing, [p.id for p in result.papers])
            report.result, removed = await asyncio.to_thread(self.store_papers, result.papers, progress)
            report.notes.extend([removed] if removed else [])
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

    def papers_found(self, ids: Sequence[str]) -> list[Paper]:
        """The papers the library holds among ``ids`` (canonical ids), in one store read; the rest are
        left out (a chat citation of an unknown id is flagged, not an error)."""
        return self.store.get_many(list(ids))

    def embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of these papers (unit length), by id."""
        return self.store.embeddings(list(ids))

    def window_count(self, since: date | None, until: date | None) -> int:
        """How many papers the window holds (the digest says "N of M")."""
        return self.store.window_count(since, until)

    def list_papers(self, n: int = 20, *, since: date | None = None, until: date | None = None,
                    category: str | None = None) -> list[Paper]:
        return self.store.latest(n, since=since, until=until, category=category)

    def search(self, query: str, n: int = 10, *, since: date | None = None, until: date | None = None,
               categories: Sequence[str] = (), authors: Sequence[str] = ()) -> list[SearchHit]:
        """The one hybrid search (BM25 + embeddings, quoted phrases kept) for the CLI, the TUI and
        the agent: the best ``n`` papers, each with its score and reasons (tools/ranking/search.py)."""
        from papercast.tools.ranking.search import search

        return search(self.store, query, n, since=since, until=until, categories=categories, authors=authors)

    def similar(self, paper_id: str, n: int = 5) -> list[tuple[Paper, float]]:
        return self.store.similar(self.get_paper(paper_id).id, n)

    def count(self) -> int:
        return self.store.count()

    def delete_papers(self, ids: Sequence[str]) -> int:
        """Remove papers from the library (how a confirmed chat fetch is undone); returns how many were there.

        Their feedback stays with the profiles, so fetching them again restores everything.
        """
        wanted = normalize_ids(ids)
        present = [pid for pid in wanted if pid not in set(self.store.missing(wanted))]
        if present:
            self.store.delete(present)
        return len(present)

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
        created = self.profiles.create(name, interests=interests, keywords=keywords,
                                       excluded_keywords=excluded_keywords, authors=authors,
                                       categories=categories)
        liked = list(dict.fromkeys(p.id for papers in found.values() for p in papers))
        if liked:
            created = self.profiles.add_feedback(created.name, liked, "like")
        return self.profiles.use(created.name) if use else created

    def papers_by_author(self, names: Sequence[str]) -> dict[str, list[Paper]]:
        """Every paper in the library (all dates) by each author, newest first, to seed a profile's likes.

        Names match as the ranker matches followed authors ("Y. LeCun" finds "Yann LeCun"), but a
        surname alone is a UserError (too loose to like papers by), as is an empty library or a
        name with no paper (naming the closest authors the library has). The library is read as
        streamed author lists, not as papers: only the papers found are built.
        """
        from papercast.tools.ranking.authors import find_papers
        from papercast.tools.ranking.window import papers_by_id

        found = find_papers(self.store.author_lists, names)
        every = list(dict.fromkeys(pid for ids in found.values() for pid in ids))
        by_id = {p.id: p for p in papers_by_id(self.store, every)}  # one read, from the ranking cache when fresh
        return {name: sorted((by_id[i] for i in ids if i in by_id), key=lambda p: (p.published or date.min, p.id),
                             reverse=True) for name, ids in found.items()}

    def profile_update(self, name: str | None = None, **changes: Any) -> Profile:
        """Change a profile's fields (see ``ProfileStore.update`` for the field names).

        ``profile set default ...`` works on a fresh home too (a scheduled job's first run): the
        starter profile is created first, as any other command would."""
        if name is None or name.strip().lower() == STARTER_PROFILE:
            self.active_profile()
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
                  until: date | None = None, use_llm: bool = True, fallback: bool = False,
                  include_seen: bool = True) -> ReadingList:
        """The reading list. Dates the caller gives are kept, even when the window is empty (a note
        says so); ``fallback`` (relative presets such as the TUI's "today") moves an empty window
        to the latest one with papers. ``include_seen=False`` leaves out the papers already delivered
        to the profile (``daily``, and ``recommend``/``digest`` on the command line)."""
        from papercast.tools.ranking.score import recommend

        target = self.active_profile(profile)
        client = self.llm_client(use_llm)
        seen = set() if include_seen else self.deliveries.seen(target.name)
        # The model re-ranks the ranker's top K, so rank at least K and cut to n afterwards.
        depth = max(n, self.settings.rerank_top_k) if client else n
        reading = recommend(self.store, _hiding(target, seen), since=since, until=until, n=depth,
                            fallback=fallback)
        if seen and not reading.items:
            reading.note = "; ".join(filter(None, [reading.note, f"{len(seen)} papers were delivered to "
                                                   f"{target.name} already (--include-seen shows them)"]))
        if client and reading.items:
            from papercast.tools.ranking.rerank import rerank

            reading.items, reading.llm_notes = rerank(client, target, reading.items, self.settings.rerank_top_k)
        reading.items = reading.items[:n]
        return reading

    def teach(self, *, profile: str | None = None, n: int = 5, since: date | None = None,
              until: date | None = None) -> tuple[list[TeachCandidate], str | None]:
        """The papers the ranker is least sure about for a profile (rate them to teach it most), and a note
        when the window is not the one asked for. Nothing is rated here: the caller records answers."""
        from papercast.tools.ranking.teach import teach

        return teach(self.store, self.active_profile(profile), since=since, until=until, n=n)

    def evaluate(self, profile: str | None = None) -> Evaluation:
        """The recommender graded on the profile's own ratings, split by time (``evaluation.evaluate``);
        with too few ratings, ``needed`` says what is missing."""
        from papercast.tools.ranking.evaluation import evaluate

        return evaluate(self.store, self.active_profile(profile))

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

    @cached_property
    def chat_model(self) -> ModelConfig | None:
        """How the chat calls its model (None offline): tools or not, context window, step limit."""
        if self.settings.offline:
            return None
        from papercast.agent.llm_node import model_config

        return model_config(self.settings, self.llm)

    def llm_unreachable(self) -> str | None:
        """Why this run's model could not be reached, if it was tried and could not be."""
        return self.llm.unreachable if "llm" in self.__dict__ else None

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

    def check_model(self) -> ModelCheck:
        """Probe the configured model (and a litellm embedding model when one is set): what works, how
        fast, and the settings papercast uses with it. A UserError in offline mode: nothing to check."""
        from papercast.tools.llm.check import check_model
        from papercast.tools.llm.sync import run_sync

        if self.settings.offline:
            raise UserError("no model set (offline mode): set PAPERCAST_MODEL or pass --model to check one")
        embed = self._embedding_client() if self.settings.embedding else None
        return run_sync(check_model(self.llm, embed))

    def summarize(self, ids: Sequence[str], *, use_llm: bool = True, read: bool = True) -> list[Summary]:
        """Structured summaries (stored ones reused); offline extractive ones without a model.

        Each paper is read first (``read_paper``: fetched on first use when ``read`` and full-text reading
        are on, else what is stored), so the summary comes from its full text; a paper whose full text
        cannot be had is summarized from its abstract, and the summary says which (``Summary.source``).
        """
        from papercast.tools.llm.sync import run_sync
        from papercast.tools.writing.summarize import summarize_papers

        papers = self.get_papers(ids)
        documents = run_sync(self.aread_papers([p.id for p in papers], fetch=read))
        return summarize_papers(papers, store=self.store, log=self.llm_log, client=self.llm_client(use_llm),
                                documents=documents)

    def digest_summaries(self, papers: Sequence[Paper], *, use_llm: bool = True) -> list[Summary]:
        """What a digest shows per paper: a stored full summary, else a stored or new batch TL;DR.
        Papers read in full (``daily`` reads its top picks) get their full-text summaries."""
        from papercast.tools.writing.summarize import digest_summaries

        documents = self.reader.stored([p.id for p in papers])
        return digest_summaries(papers, store=self.store, log=self.llm_log, client=self.llm_client(use_llm),
                                documents=documents)

    # -- full text -------------------------------------------------------------------------------
    # The HTTP client factory and retry policy for full text: None = papercast's own (tests hand in a
    # client on an httpx.MockTransport and a policy that does not sleep).
    fulltext_client: Callable[[], Any] | None = None
    fulltext_policy: Any = None

    @cached_property
    def documents(self) -> DocumentStore:
        """Papers read in full, parsed (a table in the home SQLite file)."""
        from papercast.store.documents import DocumentStore

        return DocumentStore(self.settings.db_path)

    @cached_property
    def passages(self) -> PassageStore:
        """The passages of read papers in Chroma (beside the papers, embedded with the same model)."""
        from papercast.store.passages import PassageStore

        return PassageStore(self.store)

    @property
    def reader(self) -> Reader:
        """Reads papers in full for this library (``tools/sources/reader``), with this run's limits."""
        from papercast.tools.sources.reader import Reader, ReadLimits

        s = self.settings
        limits = ReadLimits(enabled=s.fulltext, min_interval=s.arxiv_min_interval,
                            max_bytes=int(s.fulltext_max_mb * 1024 * 1024), max_pages=s.fulltext_max_pages,
                            timeout=s.fulltext_timeout)
        return Reader(self.store, self.documents, self.passages, limits, client=self.fulltext_client,
                      policy=self.fulltext_policy)

    def read_paper(self, paper_id: str, *, section: str | None = None, fetch: bool = True,
                   progress: Progress | None = None, add: bool = False) -> Document:
        """The paper read in full: fetched (arXiv HTML, else the PDF), parsed, stored and its passages
        indexed on first use; later reads fetch and embed nothing (an interrupted indexing is completed).

        ``section`` keeps the passages of that section number or title (a UserError naming the sections
        when it names none). Without the full text (``fetch`` False, full-text reading off, or arXiv has
        none) it is the abstract-only document, whose ``note`` says why (``unreachable`` when arXiv could
        not be reached: a section is then a RuntimeFailure). A paper not in the library is a UserError,
        unless ``add`` (the user's own ``papercast read ID``): then it is added from what arXiv gives.
        Never ``add`` for the agent: it does not change the library on its own. ``progress`` gets
        (passages embedded, to embed).
        """
        from papercast.tools.llm.sync import run_sync

        return run_sync(self.aread_paper(paper_id, section=section, fetch=fetch, progress=progress, add=add))

    async def aread_paper(self, paper_id: str, *, section: str | None = None, fetch: bool = True,
                          progress: Progress | None = None, client: Any = None, policy: Any = None,
                          add: bool = False) -> Document:
        """``read_paper`` for async callers; ``client`` is an httpx.AsyncClient to share (its pacing of
        arxiv.org then spans every paper read through it), ``policy`` a RetryPolicy."""
        from papercast.tools.sources.fulltext.sections import filter_section

        pid = normalize_ids([paper_id])[0]
        document = await self.reader.read(pid, fetch=fetch, progress=progress, client=client, policy=policy,
                                          add=add)
        if section and document.unreachable:
            raise RuntimeFailure(f"cannot read the sections of {pid}: {document.note}")
        return filter_section(document, section) if section else document

    async def aread_papers(self, ids: Sequence[str], *, fetch: bool = True, client: Any = None,
                           policy: Any = None) -> dict[str, Document]:
        """Several papers read through one HTTP client; a paper that cannot be read is left out."""
        return await self.reader.read_many(normalize_ids(ids), fetch=fetch, client=client, policy=policy)

    def read_file(self, path: str | Path, paper_id: str | None = None,
                  progress: Progress | None = None) -> Document:
        """A saved arXiv HTML page or PDF read with no network, stored and indexed like a fetched one.
        The paper is added to the library (title and abstract from the document) when missing; without
        ``paper_id`` the file must name its arXiv id (canonical link or arXiv stamp)."""
        return self.reader.read_file(Path(path), normalize_ids([paper_id])[0] if paper_id else None, progress)

    def search_passages(self, query: str, *, ids: Sequence[str] | None = None, n: int = 8
                        ) -> list[tuple[Passage, float]]:
        """The stored passages that best answer ``query`` (of the papers ``ids`` when given), best first
        with their score; [] when no paper is read. Nothing is fetched (``tools/ranking/passages``)."""
        from papercast.tools.ranking.passages import search_passages

        if not query.strip():
            raise UserError("empty search query")
        return search_passages(query, papers=self.store, documents=self.documents, passages=self.passages,
                               ids=normalize_ids(ids) if ids is not None else None, n=n)

    def has_fulltext(self, paper_id: str) -> bool:
        """Whether the paper's full text (not only its abstract) is stored."""
        info = self.documents.info(normalize_ids([paper_id])[0])
        return info is not None and info.source != "abstract"

    def digest(self, profile: str | None = None, n: int = 10, since: date | None = None,
               until: date | None = None, *, use_llm: bool = True, include_seen: bool = True) -> Digest:
        """The reading list of the window with TL;DRs, an overview and this run's LLM usage
        (without the papers already delivered to the profile when ``include_seen`` is False)."""
        from papercast.tools.writing.digest import build_digest

        if n < 1:
            raise UserError(f"-n must be at least 1, got {n}")
        target = self.active_profile(profile)
        reading = self.recommend(profile=target.name, n=n, since=since, until=until, use_llm=use_llm,
                                 include_seen=include_seen)
        summaries = self.digest_summaries([r.paper for r in reading.items], use_llm=use_llm)
        count = self.store.window_count(reading.since, reading.until)
        return build_digest(target, reading, summaries, client=self.llm_client(use_llm), window_count=count,
                            language=self.settings.language)

    # -- deliveries and exports ------------------------------------------------------------------
    @cached_property
    def deliveries(self) -> DeliveryStore:
        """What was delivered where, and the papers each profile has seen (never resent)."""
        from papercast.store.deliveries import DeliveryStore

        self.profiles  # noqa: B018  (the profiles' tables come first: deliveries refer to them)
        return DeliveryStore(self.settings.db_path)

    def record_delivery(self, profile: str, channel: DeliveryChannel, target: str, day: date,
                        paper_ids: Sequence[str]) -> DeliveryRecord:
        """One delivery that reached its channel; its papers are not delivered to ``profile`` again."""
        return self.deliveries.record(self.active_profile(profile).name, channel, target, day, paper_ids)

    def deliver_digest(self, digest: Digest, channels: Sequence[Channel], *, text: str | None = None,
                       tls_context: Any = None, http: Any = None) -> list[Outcome]:
        """Send a digest to every channel (one failing never stops the others) and record each delivery
        that arrived, so its papers are never delivered to the profile again. Never raises for a failing
        channel: each outcome carries its one-line error."""
        from papercast.tools.delivery.send import deliver

        outcomes = deliver(digest, channels, self.settings, text=text, tls_context=tls_context, http=http)
        day = digest.until or digest.generated.date()
        ids = [item.paper.id for item in digest.items]
        for outcome in outcomes:
            if not (outcome.ok and ids):
                continue
            try:
                self.record_delivery(digest.profile, outcome.channel.kind, outcome.channel.label, day, ids)
            except (RuntimeFailure, OSError) as exc:  # it went out; not remembering it must still be said
                outcome.error = "; ".join(filter(None, [outcome.error, (
                    f"history: delivered to {outcome.channel.name} but not recorded ({exc}); "
                    "the next run may send these papers again")]))
        return outcomes

    def delivery_history(self, profile: str | None = None, limit: int = 20) -> list[DeliveryRecord]:
        """Deliveries, newest first: of one profile, or of every profile when ``profile`` is None."""
        name = self.active_profile(profile).name if profile else None
        return self.deliveries.history(name, limit)

    def seen_ids(self, paper_ids: Iterable[str], profile: str | None = None) -> set[str]:
        """Which of these papers were delivered to the profile already (the TUI marks them)."""
        return self.deliveries.seen_among(self.active_profile(profile).name, paper_ids)

    def forget_seen(self, paper_ids: Sequence[str] | None = None, profile: str | None = None) -> int:
        """Let papers be delivered again (every seen paper of the profile when ``paper_ids`` is None)."""
        ids = normalize_ids(paper_ids) if paper_ids is not None else None
        return self.deliveries.forget(self.active_profile(profile).name, ids)

    def export_papers(self, which: ExportSource, fmt: ExportFormat, *, profile: str | None = None,
                      n: int = 20) -> tuple[str, list[Paper]]:
        """(the export text, the papers in it) of a profile's liked or saved papers, its reading list
        (``list``: what ``recommend`` shows) or its last delivered digest."""
        from papercast.tools.writing.export import FORMATS, export

        if fmt not in FORMATS:
            raise UserError(f"unknown export format {fmt!r}: use {', '.join(FORMATS)}")
        target = self.active_profile(profile)
        if which in ("liked", "saved"):
            ids = target.liked if which == "liked" else target.saved
            papers = self.store.get_many(ids)
            order = {pid: i for i, pid in enumerate(ids)}
            papers.sort(key=lambda p: order.get(p.id, len(order)))
        elif which == "list":
            papers = [r.paper for r in self.recommend(profile=target.name, n=n, use_llm=False,
                                                      include_seen=False).items]
        elif which == "digest":
            last = self.deliveries.last(target.name)
            if last is None:
                raise UserError(f"nothing was delivered to profile {target.name} yet; "
                                "--list exports the current reading list")
            found = {p.id: p for p in self.store.get_many(last.papers)}
            papers = [found[i] for i in last.papers if i in found]
        else:
            raise UserError(f"unknown export source {which!r}: use liked, saved, list or digest")
        return export(papers, fmt), papers

    def usage_runs(self, limit: int = 20) -> list[RunUsage]:
        """LLM tokens and cost per run, newest first."""
        return self.llm_log.runs(limit)

    # -- agent: chat and the daily graph ---------------------------------------------------------
    def chat(self, message: str, thread_id: str | None = None, *, profile: str | None = None,
             approve: bool = False) -> ChatAnswer:
        """One chat turn, answered in full (a new thread when ``thread_id`` is None).

        Changes the agent proposes are applied only with ``approve`` (the CLI's ``--yes``); either
        way the turn goes on to its answer, which states what was and was not applied.
        Synchronous: for the CLI and scripts. Inside an event loop (the TUI) use ``achat_stream``.
        """
        return asyncio.run(self.achat(message, thread_id, profile=profile, approve=approve))

    async def achat(self, message: str, thread_id: str | None = None, *,
                    profile: str | None = None, approve: bool = False) -> ChatAnswer:
        answer: ChatAnswer | None = None
        async for event in self.achat_stream(message, thread_id, profile=profile):
            if event.kind == "final":
                answer = event.answer
        assert answer is not None  # stream_turn always ends with the final event
        while answer.pending:  # each model step may propose more; each is answered the same way
            thread = answer.thread_id
            async for event in self.aresume_stream(thread, approve, profile=profile):
                if event.kind == "final" and event.answer is not None:
                    answer = event.answer
        return answer

    def achat_stream(self, message: str, thread_id: str | None = None, *,
                     profile: str | None = None) -> AsyncIterator[ChatEvent]:
        """A chat turn as events: ``token``, ``tool_start``, ``proposal``, ``tool_end`` and, last, ``final``.

        See ``papercast.agent.events`` for the event fields. The thread persists in
        ``settings.checkpoint_path``; ``final.answer.thread_id`` names it for the next turn. When
        ``final.answer.pending`` is not empty the turn waits for the user: ``aresume_stream``.
        """
        from papercast.agent.chat import stream_turn

        return stream_turn(self, message, thread_id, profile=profile)

    def aresume_stream(self, thread_id: str, approve: bool | Mapping[str, bool], *,
                       profile: str | None = None) -> AsyncIterator[ChatEvent]:
        """Answer a turn's proposed changes and continue it: the same events as ``achat_stream``.

        ``approve``: True applies them all, False none, ``{proposal id: bool}`` each as said.
        """
        from papercast.agent.chat import resume_turn

        return resume_turn(self, thread_id, approve, profile=profile)

    def list_threads(self) -> list[ThreadInfo]:
        """Stored conversations, most recently used first."""
        from papercast.store.threads import list_threads

        return list_threads(self.settings.checkpoint_path)

    async def athread_messages(self, thread_id: str) -> list[dict[str, Any]]:
        """A stored thread's messages for display: ``{"role", "text", ...}`` in order."""
        from papercast.agent.chat import thread_messages

        return await thread_messages(self, thread_id)

    def daily(self, profile: str | None = None, out: str | Path | None = None,
              email: str | Sequence[str] | None = None, **options: Any) -> DailyReport:
        """The daily graph: fetch -> store -> rank -> summarize -> digest, then deliver it to every channel
        (file, Atom feed, e-mail, webhooks, stdout) and record each delivery; papers already delivered to
        the profile are left out.

        ``options`` go to ``papercast.agent.daily.run_daily`` (n, webhooks, feed, stdout, include_seen,
        sources, client, policy, today, say, tls_context, http).
        """
        return asyncio.run(self.adaily(profile, out, email, **options))

    async def adaily(self, profile: str | None = None, out: str | Path | None = None,
                     email: str | Sequence[str] | None = None, **options: Any) -> DailyReport:
        from papercast.agent.daily import run_daily

        return await run_daily(self, profile=profile, out=out, email=email, **options)
