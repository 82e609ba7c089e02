"""Papers in (the bundled sample, imports, fetches) and out (reads, search, similar papers)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import fields
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from papercast.errors import RuntimeFailure, UserError
from papercast.models import FetchReport, ImportReport, Paper, SearchHit, UpsertResult
from papercast.sanitize import summarize_cuts
from papercast.service.core import (
    SAMPLE_EMBEDDINGS,
    SAMPLE_PAPERS,
    Progress,
    ServiceCore,
    normalize_ids,
    ranking_tools,
)
from papercast.store.metadata import SAMPLE_SOURCE

IMPORT_BATCH = 256  # papers parsed, embedded and written per step of an import (store/ingest.py)
CUT_NOTES = 20  # notes kept of papers cut to size (and a count of the rest)


def batched(papers: Iterable[Paper], size: int) -> Iterator[list[Paper]]:
    """Lists of ``size`` papers, read from ``papers`` only as each list is asked for; when reading
    fails (a file over a cap), the papers read before it come first, then the error."""
    batch: list[Paper] = []
    try:
        for paper in papers:
            batch.append(paper)
            if len(batch) == size:
                yield batch
                batch = []
    except Exception:
        if batch:
            yield batch
        raise
    if batch:
        yield batch


def _add(total: UpsertResult | None, part: UpsertResult) -> None:
    assert total is not None
    for name in (f.name for f in fields(UpsertResult)):
        setattr(total, name, getattr(total, name) + getattr(part, name))


class PapersMixin(ServiceCore):
    """The library's papers: getting them in and reading them back."""

    # -- papers in -----------------------------------------------------------------------
    def ensure_sample(self, progress: Progress | None = None) -> int:
        """Load the bundled sample into an empty store; returns how many papers were loaded.

        Its shipped vectors are the bundled model's; with a litellm embedding model the sample is
        embedded through that model instead (a RuntimeFailure when it cannot be reached). The papers
        are marked as the sample (``store_papers`` removes them when the user's own arrive). The check
        and the write happen under the home's lock, so two first starts load it once, and a start that
        begins while an import is writing finds the store non-empty.
        """
        if self._store.count() > 0:
            return 0
        from papercast.tools.sources.files import parse_file  # lazy: httpx and the parsers (~150 ms)

        parsed = parse_file(SAMPLE_PAPERS)
        papers = [p.model_copy(update={"sources": [SAMPLE_SOURCE]}) for p in parsed.papers]
        if self._store.embedding_model is None:
            with np.load(SAMPLE_EMBEDDINGS) as shipped:
                vectors = shipped["vectors"].astype(np.float32)
                known = dict(zip(shipped["ids"].tolist(), vectors, strict=True))
        else:
            known = self._embed_sample(papers, progress)  # outside the lock: it may take minutes
        with self._store.exclusive():
            if self._store.count() > 0:
                return 0
            self._store.upsert(papers, embeddings=known, progress=progress)
        return len(papers)

    def store_papers(self, papers: Sequence[Paper],
                     progress: Progress | None = None) -> tuple[UpsertResult, str | None]:
        """Store the user's papers (an import, a fetch); the first ones replace the bundled sample.

        Returns the store's result and a notice when sample papers were removed (the ones among
        the stored papers, or liked/saved/... in a profile, stay as the user's own).
        """
        result = self._store.upsert(papers, progress=progress)
        return result, self._drop_sample({p.id for p in papers}) if papers else None

    def _drop_sample(self, keep: set[str]) -> str | None:
        """Remove the bundled sample but the papers in ``keep`` and those a profile acted on; a notice
        when some were removed."""
        try:
            acted_on = {f.paper_id for profile in self._profiles.list() for f in profile.feedback}
        except RuntimeFailure:  # a damaged profile file: keep only the new papers (the paper store is fine)
            acted_on = set()
        removed = self._store.drop_sample(keep | acted_on)
        return (f"removed the {removed} papers of the bundled sample now that your own papers are in"
                if removed else None)

    def _embed_sample(self, papers: Sequence[Paper], progress: Progress | None) -> dict[str, np.ndarray]:
        """The sample's vectors from a litellm embedding model (the shipped ones are the bundled model's).

        All of them before anything is written: a failure leaves the store empty, not holding part of
        the sample (which ``ensure_sample`` would then never complete).
        """
        total = len(papers)
        report = (lambda done: progress(done, total)) if progress else None
        vectors = self._store.embed_texts([p.embedding_text for p in papers], progress=report)
        return dict(zip([p.id for p in papers], vectors, strict=True))

    def import_files(self, paths: Sequence[str | Path], progress: Progress | None = None,
                     caps: Any = None, batch: int = IMPORT_BATCH) -> ImportReport:
        """Import corpus JSONL(.gz), HF daily_papers JSON or arXiv Atom files, streamed in batches.

        Malformed entries are reported (with line numbers) and skipped; the rest is stored batch by
        batch, so an interrupted import keeps what it stored and a re-run skips it. ``progress`` gets
        (papers handled, the total estimated from the bytes read); ``caps``: ``files.Caps``; ``batch``:
        papers per step.
        """
        from papercast.tools.sources.files import Caps, ImportFile  # lazy: httpx and the parsers (~150 ms)

        folders = [str(p) for p in paths if Path(p).is_dir()]
        if folders:
            raise UserError(f"{', '.join(folders)}: a directory; give the files in it "
                            f"(e.g. {folders[0]}/*.jsonl)")
        missing = [str(p) for p in paths if not Path(p).is_file()]
        if missing:
            raise UserError(f"no such file: {', '.join(missing)}")
        report = ImportReport(result=UpsertResult())
        sizes = [max(Path(p).stat().st_size, 1) for p in paths]
        cuts: list[str] = []
        cut_total = handled = 0
        sample: set[str] = set()
        for index, path in enumerate(paths):
            with ImportFile(Path(path), caps or Caps()) as source:
                report.files.append(str(path))
                before = sum(sizes[:index])

                def tick(done: int, source: Any = source, before: int = before, base: int = handled) -> None:
                    read = (before + source.position) / sum(sizes)
                    estimate = round(report.parsed / read) if read > 0 else report.parsed
                    if progress is not None:
                        progress(base + done, max(estimate, base + done))

                def papers(source: Any = source) -> Iterator[Paper]:
                    nonlocal cut_total
                    for paper in source.papers():
                        report.parsed += 1
                        if note := paper.cut_note():
                            cut_total += 1
                            cuts.extend([note] if len(cuts) < CUT_NOTES else [])
                        yield paper

                try:
                    result = self._store.upsert_stream(batched(papers(), batch), tick, sample)
                finally:
                    report.errors.extend(source.errors)
                _add(report.result, result)
                handled += result.added + result.updated + result.reembedded + result.unchanged
        report.notes.extend(summarize_cuts(cuts, CUT_NOTES, cut_total))
        if report.parsed:
            removed = self._drop_sample(sample)
            report.notes.extend([removed] if removed else [])
        return report

    def fetch(self, source: str = "all", *, day: date | None = None, since: date | None = None,
              until: date | None = None, categories: Sequence[str] = (), query: str | None = None,
              progress: Progress | None = None, client: Any = None,
              include_cross: bool | None = None) -> FetchReport:
        """Fetch from the sources and store what came back (even when a source failed).

        ``include_cross`` (default: the ``include_cross`` setting) also takes arXiv's cross-lists."""
        return asyncio.run(self.afetch(source, day=day, since=since, until=until, categories=categories,
                                       query=query, progress=progress, client=client,
                                       include_cross=include_cross))

    async def afetch(self, source: str = "all", *, day: date | None = None, since: date | None = None,
                     until: date | None = None, categories: Sequence[str] = (), query: str | None = None,
                     progress: Progress | None = None, client: Any = None,
                     include_cross: bool | None = None) -> FetchReport:
        from papercast.tools.sources.fetch import fetch_papers  # lazy: httpx and the sources (~150 ms)

        if source not in ("hf", "arxiv", "all"):
            raise UserError(f"unknown source {source!r}: use hf, arxiv or all")
        if since and until and since > until:
            raise UserError(f"--since {since} is after --until {until}")
        cross = self.settings.include_cross if include_cross is None else include_cross
        result = await fetch_papers(source, date=day, since=since, until=until,
                                    categories=tuple(categories) or self.settings.arxiv_categories,
                                    query=query, client=client, include_cross=cross,
                                    arxiv_min_interval=self.settings.arxiv_min_interval,
                                    breaker=self._breaker)
        report = FetchReport(papers=result.papers, errors=list(result.errors), notes=list(result.notes))
        if result.papers:
            # What this fetch adds (rather than refreshes): a chat fetch is undone by removing them.
            report.new_ids = await asyncio.to_thread(self._store.missing, [p.id for p in result.papers])
            report.result, removed = await asyncio.to_thread(self.store_papers, result.papers, progress)
            report.notes.extend([removed] if removed else [])
        return report

    # -- papers out ----------------------------------------------------------------------
    def get_paper(self, paper_id: str) -> Paper:
        pid = normalize_ids([paper_id])[0]
        paper = self._store.get(pid)
        if paper is None:
            raise UserError(f"unknown paper id: {paper_id}")
        return paper

    def get_papers(self, ids: Sequence[str]) -> list[Paper]:
        """Papers for ids; a UserError names every id the store does not hold.

        One store read: the papers found say which are missing (every like in the TUI comes here).
        """
        wanted = normalize_ids(ids)
        papers = self._store.get_many(wanted)
        found = {p.id for p in papers}
        missing = [i for i in wanted if i not in found]
        if missing:
            raise UserError(f"unknown paper id{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
        return papers

    def papers_found(self, ids: Sequence[str]) -> list[Paper]:
        """The papers the library holds among ``ids`` (canonical ids), in one store read; the rest are
        left out (a chat citation of an unknown id is flagged, not an error)."""
        return self._store.get_many(list(ids))

    def embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of these papers (unit length), by id."""
        return self._store.embeddings(list(ids))

    def window_count(self, since: date | None, until: date | None) -> int:
        """How many papers the window holds (the digest says "N of M")."""
        return self._store.window_count(since, until)

    def list_papers(self, n: int = 20, *, since: date | None = None, until: date | None = None,
                    category: str | None = None) -> list[Paper]:
        return self._store.latest(n, since=since, until=until, category=category)

    def search(self, query: str, n: int = 10, *, since: date | None = None, until: date | None = None,
               categories: Sequence[str] = (), authors: Sequence[str] = ()) -> list[SearchHit]:
        """The one hybrid search (BM25 + embeddings, quoted phrases kept) for the CLI, the TUI and
        the agent: the best ``n`` papers, each with its score and reasons (tools/ranking/search.py)."""
        return ranking_tools().search(self._store, query, n, since=since, until=until, categories=categories,
                                      authors=authors)

    def similar(self, paper_id: str, n: int = 5) -> list[tuple[Paper, float]]:
        return self._store.similar(self.get_paper(paper_id).id, n)

    def count(self) -> int:
        return self._store.count()

    def delete_papers(self, ids: Sequence[str]) -> int:
        """Remove papers from the library (how a confirmed chat fetch is undone); returns how many were
        there. Their feedback stays with the profiles, so fetching them again restores everything.
        """
        wanted = normalize_ids(ids)
        present = [pid for pid in wanted if pid not in set(self._store.missing(wanted))]
        if present:
            self._store.delete(present)
        return len(present)
