"""Writing papers at the embedding model's speed: plan, embed in a thread, write behind it.

The model is ingest's bottleneck (~40-60 ms a paper on two cores). ``upsert_stream`` takes papers in
batches: while the model embeds batch k+1 on its own thread (onnxruntime and the tokenizer release
the GIL), the caller's thread writes batch k to Chroma, brings the ranking cache up to date and
parses (sanitizes) the batch after, so the model never waits for them. At most two batches are in
flight besides the one being parsed; a crash or Ctrl-C loses at most those, and a re-run finds
the rest stored (unchanged papers are not embedded again). Chroma and SQLite stay on the caller's
thread: the embedding thread only runs the model, and gives its free memory back after each batch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from papercast.heap import release_free_memory
from papercast.models import Paper, UpsertResult
from papercast.store.metadata import from_metadata, to_metadata

Embed = Callable[[Sequence[str], Callable[[int], None] | None], np.ndarray]


class PaperStore(Protocol):
    """What of ``store.papers.PaperStore`` a write uses (named here: that module imports this one)."""

    @property
    def collection(self) -> Any: ...
    def refuse_if_read_only(self, papers: Sequence[Paper] = ()) -> None: ...
    def existing_metadata(self, ids: list[str]) -> dict[str, dict[str, Any]]: ...
    def forgetting(self, ids: Sequence[str]) -> AbstractContextManager[None]: ...
    def batches(self, items: Sequence[Any]) -> Iterable[Sequence[Any]]: ...
    def raw_embed(self) -> Embed: ...
    def write_embedded(self, papers: list[Paper], known: Mapping[str, np.ndarray],
                       progress: Callable[[int, int], None] | None) -> None: ...


@dataclass
class Planned:
    """One write, decided before any of it is done: which papers need the model, which only new
    metadata, which nothing."""

    ids: list[str]
    to_embed: list[Paper] = field(default_factory=list)
    meta_only: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    result: UpsertResult = field(default_factory=UpsertResult)
    sample: set[str] = field(default_factory=set)  # ids the store held as the bundled sample's


def plan(store: PaperStore, papers: Iterable[Paper]) -> Planned:
    """Merge repeated ids, read what the store holds for them, and sort them: new or changed text
    (embed), changed metadata (update), the same (skip)."""
    incoming: dict[str, Paper] = {}
    for paper in papers:
        incoming[paper.id] = incoming[paper.id].merged_with(paper) if paper.id in incoming else paper
    planned = Planned(ids=list(incoming))
    if not incoming:
        return planned
    store.refuse_if_read_only(list(incoming.values()))
    existing = store.existing_metadata(planned.ids)
    result = planned.result
    for pid, paper in incoming.items():
        old = existing.get(pid)
        if old is None:
            planned.to_embed.append(paper)
            result.added += 1
            continue
        if old.get("sample"):
            planned.sample.add(pid)
        merged = from_metadata(old).merged_with(paper)
        meta = to_metadata(merged)
        if all(old.get(key) == value for key, value in meta.items()):  # a store may hold more keys
            result.unchanged += 1
        elif meta["content_hash"] == old.get("content_hash"):
            planned.meta_only.append((pid, meta))
            result.updated += 1
        else:
            planned.to_embed.append(merged)
            result.reembedded += 1
    return planned


class _Cancelled(Exception):
    """Raised inside the model's progress callback: the job stops between two of its small batches."""


class _EmbedJob:
    """The model on one batch, on its own thread, started only once the previous job is done: one
    batch at a time, so the model's memory stays that of one batch. ``cancel`` stops it within one
    of the model's small batches (a Ctrl-C must not leave onnxruntime running at exit: it aborts)."""

    def __init__(self, embed: Embed, texts: list[str], after: _EmbedJob | None,
                 progress: Callable[[int], None] | None, live: list[_EmbedJob]) -> None:
        """``live``: the caller's jobs, which this one joins before its thread starts (a Ctrl-C may
        come while it starts)."""
        self._embed, self._texts, self._after, self._progress = embed, texts, after, progress
        self._done = threading.Event()
        self._begun = threading.Event()
        self._cancelled = threading.Event()
        live.append(self)
        self._value: np.ndarray | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="papercast-embed", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self._begun.set()
        try:
            if self._after is not None:
                self._after._done.wait()
            self._after = None  # the previous batch's vectors are not kept alive by this one
            if not self._cancelled.is_set():
                self._value = self._embed(self._texts, self._report)
            release_free_memory()
        except BaseException as exc:  # handed to the caller's thread by result()
            self._error = exc
        finally:
            self._done.set()

    def _report(self, done: int) -> None:
        if self._cancelled.is_set():
            raise _Cancelled
        if self._progress is not None:
            self._progress(done)

    def cancel(self) -> None:
        """Stop the model soon (wait for it with ``stopped``)."""
        self._cancelled.set()

    def stopped(self) -> None:
        if self._begun.wait(timeout=5):  # not begun by then: it will find itself cancelled
            self._thread.join()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def result(self) -> np.ndarray:
        self._done.wait()
        if self._error is not None:
            raise self._error
        assert self._value is not None
        return self._value


def _commit(store: PaperStore, planned: Planned, job: _EmbedJob | None) -> None:
    """Write one planned batch once its vectors are ready (the ranking cache follows the write)."""
    vectors = job.result() if job is not None else np.zeros((0, 0), dtype=np.float32)
    known = dict(zip([p.id for p in planned.to_embed], vectors, strict=True))
    with store.forgetting(planned.ids):
        for batch in store.batches(planned.meta_only):
            store.collection.update(ids=[i for i, _ in batch], metadatas=[m for _, m in batch])
        store.write_embedded(planned.to_embed, known, None)


def upsert_stream(store: PaperStore, batches: Iterable[Sequence[Paper]],
                  progress: Callable[[int], None] | None = None,
                  sample_seen: set[str] | None = None) -> UpsertResult:
    """``PaperStore.upsert`` over a stream of batches, pipelined (see the module's docstring).

    ``progress`` gets the papers handled so far (stored, skipped as unchanged, or embedded);
    ``sample_seen`` collects the ids that were the bundled sample's. A paper whose id is in the batch
    still being embedded waits for the next batch, so it merges with what that batch wrote.
    """
    total = UpsertResult()
    embed: Embed | None = None  # the model, loaded with the first batch to embed (on this thread)
    flight: tuple[Planned, _EmbedJob | None] | None = None
    carried: list[Paper] = []
    live: list[_EmbedJob] = []  # every job started: each is stopped before an error leaves
    handled = most = 0

    def shown(done: int) -> None:  # never backwards: the next batch's count may come before the model's
        nonlocal most
        if progress is not None and done > most:
            most = done
            progress(done)

    def account(planned: Planned) -> None:
        for name in ("added", "updated", "reembedded", "unchanged"):
            setattr(total, name, getattr(total, name) + getattr(planned.result, name))
        if sample_seen is not None:
            sample_seen.update(planned.sample)

    def start(papers: list[Paper], after: _EmbedJob | None) -> tuple[Planned, _EmbedJob | None]:
        nonlocal handled, embed
        planned = plan(store, papers)
        account(planned)
        handled += len(planned.ids) - len(planned.to_embed)
        report = (lambda n, base=handled: shown(base + n)) if progress else None
        if report is not None and not planned.to_embed:
            report(0)
        job = None
        if planned.to_embed:
            embed = embed or store.raw_embed()
            live[:] = [j for j in live if not j.done]
            job = _EmbedJob(embed, [p.embedding_text for p in planned.to_embed], after, report, live)
        handled += len(planned.to_embed)
        return planned, job

    stream = iter(batches)
    try:
        while True:
            try:
                batch = next(stream, None)
            except Exception:  # the input failed (a file over a cap): what was read before it is kept
                if flight is not None:
                    _commit(store, *flight)
                raise
            if batch is None:
                break
            papers, carried = carried + list(batch), []
            if flight is not None:
                busy = set(flight[0].ids)
                carried = [p for p in papers if p.id in busy]
                papers = [p for p in papers if p.id not in busy]
            following = start(papers, flight[1] if flight is not None else None) if papers else None
            if flight is not None:
                _commit(store, *flight)
            flight = following
        if flight is not None:
            _commit(store, *flight)
    except BaseException:  # Ctrl-C: stop the model before leaving (what was written stays)
        for job in live:
            job.cancel()
        for job in live:
            job.stopped()
        raise
    while carried:  # repeats of the last batch's ids: merged now that it is written
        papers, carried = carried, []
        _commit(store, *start(papers, None))
    return total
