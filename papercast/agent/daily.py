"""The daily pipeline: fetch -> store -> rank -> summarize -> digest, then delivery (``run_daily``).

Each node does one thing and never stops the pipeline for an outside failure: a source that fails
(HTTP 500, no network), a store write that fails, a model that is unreachable — each becomes a
one-line entry in ``errors`` and the next node works with what there is. Without network the digest
is built from the papers already stored, and says so. Only bad input (an unknown profile) raises.

The LLM layer already falls back to offline results when the model fails (extractive summaries,
the unre-ranked list, a computed overview); the digest node reports that as an error of this run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from papercast.agent.events import DailyReport
from papercast.agent.port import Library
from papercast.agent.state import DailyState
from papercast.errors import RuntimeFailure, UserError, one_line
from papercast.models import ReadingList
from papercast.store.lock import DAILY_LOCK_NAME, DAILY_WAIT_SECONDS, acquire_step_lock, release_step_lock
from papercast.tools.delivery.channels import plan_channels
from papercast.tools.sources.fetch import fetch_papers
from papercast.tools.sources.http import Unreachable, with_breaker
from papercast.tools.writing.digest import abuild_digest
from papercast.tools.writing.render import mode_text, render_html, render_markdown
from papercast.tools.writing.summarize import FALLBACK

if TYPE_CHECKING:
    import httpx

    from papercast.tools.sources.http import RetryPolicy

log = logging.getLogger(__name__)

# How a connection failure reads once the sources layer has made it one line (retries exhausted).
_OFFLINE_HINTS = ("no network", "ConnectError", "ConnectTimeout", "name resolution",
                  "Name or service not known", "Network is unreachable", "nodename nor servname")


@dataclass
class DailyRun:
    """What one run of the daily graph works with: the graph's run context."""

    library: Library
    profile: str
    n: int = 10
    sources: tuple[str, ...] = ("hf", "arxiv")
    use_llm: bool = True
    client: httpx.AsyncClient | None = None  # for the sources (tests pass a MockTransport one)
    policy: RetryPolicy | None = None  # tests pass one that does not sleep
    today: date | None = None
    say: Callable[[str], None] = field(default=lambda _line: None)  # progress lines for -v
    include_seen: bool = False  # also papers already delivered to the profile (never, by default)


def _failed(step: str, exc: BaseException, then: str = "") -> None:
    """One WARNING line per failed step of the run, with the real cause (class and message)."""
    text = one_line(exc, None)
    log.warning("daily %s failed: %s%s%s", step, type(exc).__name__, f": {text}" if text else "",
                f"; {then}" if then else "")
    log.debug("daily %s failed", step, exc_info=exc)


def looks_offline(exc: BaseException) -> bool:
    """A failure to reach the host at all (DNS, refused, unreachable), not an answer like HTTP 500."""
    import httpx

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, Unreachable | httpx.ConnectError | httpx.ConnectTimeout):
            return True
        seen = seen.__cause__ or seen.__context__
    text = str(exc)
    return any(hint in text for hint in _OFFLINE_HINTS)


async def fetch(state: DailyState, runtime: Runtime[DailyRun]) -> dict[str, Any]:
    """Every configured source at once; one failing source is an error line, the others count."""
    run = runtime.context
    library = run.library

    async def one(source: str) -> tuple[str, Any, BaseException | None]:
        kwargs: dict[str, Any] = {"client": run.client, "today": run.today}
        if run.policy is not None:
            kwargs["policy"] = run.policy
        if source == "arxiv":
            kwargs["categories"] = library.settings.arxiv_categories
            kwargs["include_cross"] = library.settings.include_cross
            kwargs["arxiv_min_interval"] = library.settings.arxiv_min_interval
        try:
            return source, await fetch_papers(source, **kwargs), None
        except Exception as exc:  # SourceError, a bad source name, a bug in one source
            return source, None, exc

    outcomes = await asyncio.gather(*(one(s) for s in run.sources))
    papers, fetched, errors, notes, failures = [], {}, [], [], []
    for source, result, exc in outcomes:
        if exc is not None:
            text = one_line(exc, None) or type(exc).__name__
            error = text if text.startswith(f"{source}:") else f"{source}: {text}"
            errors.append(error)
            failures.append(exc)
            fetched[source] = 0
            _failed(f"fetch from {source}", exc, "the other sources go on")
            run.say(f"fetch {error}")
            continue
        papers.extend(result.papers)
        fetched[source] = len(result.papers)
        errors.extend(result.errors)
        notes.extend(result.notes)
        run.say(f"fetch {source}: {len(result.papers)} papers")
    offline = bool(run.sources) and len(failures) == len(run.sources) and all(map(looks_offline, failures))
    if offline:
        log.warning("daily fetch: no network (every source unreachable); "
                    "the digest uses the papers already stored")
        notes.append("no network: the digest is built from the papers already stored")
    return {"papers": papers, "fetched": fetched, "offline_network": offline, "errors": errors,
            "notes": notes}


async def store(state: DailyState, runtime: Runtime[DailyRun]) -> dict[str, Any]:
    """Store everything fetched (papers seen by two sources become one record)."""
    run = runtime.context
    papers = state.get("papers") or []
    if not papers:
        return {"stored": {}}
    try:
        result, removed = await asyncio.to_thread(run.library.store_papers, papers)  # replaces the sample
    except Exception as exc:
        _failed("store", exc, f"{len(papers)} fetched papers not stored")
        return {"stored": {}, "errors": [f"store: {one_line(exc, None)}"]}
    stored = {"added": result.added, "updated": result.updated + result.reembedded,
              "unchanged": result.unchanged}
    run.say(f"store: {stored['added']} new, {stored['updated']} updated, {stored['unchanged']} unchanged")
    # the papers are in the store now; keep the state small
    return {"stored": stored, "papers": [], "notes": [removed] if removed else []}


async def rank(state: DailyState, runtime: Runtime[DailyRun]) -> dict[str, Any]:
    """The profile's reading list of the latest window (re-ranked by the model when one is set)."""
    run = runtime.context
    library = run.library
    llm_on = run.use_llm and not library.settings.offline
    try:
        reading = await asyncio.to_thread(library.recommend, profile=run.profile, n=run.n, use_llm=llm_on,
                                          include_seen=run.include_seen)
    except RuntimeFailure as exc:
        if not llm_on:
            _failed("rank", exc, "no reading list")
            return {"reading": None, "errors": [f"rank: {exc}"]}
        _failed("rank", exc, "ranking again without the model")
        try:  # the chat model failed: rank without it (a failing embedding model fails this too)
            reading = await asyncio.to_thread(library.recommend, profile=run.profile, n=run.n, use_llm=False,
                                              include_seen=run.include_seen)
        except RuntimeFailure as again:
            _failed("rank (offline)", again, "no reading list")
            return {"reading": None, "errors": [f"rank: {again}"]}
        return _ranked(reading, run, errors=[f"rank: the model failed ({exc}); used the offline ranking"])
    return _ranked(reading, run)


def _ranked(reading: ReadingList, run: DailyRun, errors: list[str] | None = None) -> dict[str, Any]:
    run.say(f"rank: {len(reading.items)} papers from {reading.since} to {reading.until}")
    return {"reading": reading, "errors": errors or [], "notes": list(reading.llm_notes)}


async def read_top(papers: Sequence[Any], state: DailyState, run: DailyRun) -> list[str]:
    """Read the full text of the top ``daily_read`` picks (never the whole window: embedding is the
    cost), through the run's HTTP client so arXiv's pacing spans them; the summaries then come from
    their sections. Skipped without network or with full-text reading off. Returns what the run did
    without ("arxiv.org unreachable: full text skipped for the other 4 papers"): not a failure, the
    summaries come from the abstracts and say so."""
    library = run.library
    top = [p.id for p in papers[:library.settings.daily_read]]
    if not top or not library.settings.fulltext or state.get("offline_network"):
        return []
    try:
        documents = await library.aread_papers(top, client=run.client, policy=run.policy)
    except RuntimeFailure as exc:  # the store failed: the summaries use the abstracts
        _failed("read", exc, "summaries from the abstracts")
        return []
    read = sum(1 for d in documents.values() if d.is_fulltext)
    run.say(f"read: {read} of the top {len(top)} papers in full")
    skipped = library.network_notices()
    for line in skipped:
        run.say(f"read: {line}")
    return [f"read: {line}" for line in skipped]


async def summarize(state: DailyState, runtime: Runtime[DailyRun]) -> dict[str, Any]:
    """A TL;DR per pick, as the digest shows them (stored summaries first; the LLM layer batches the
    rest and falls back to extractive ones when the model fails). The top picks are read in full first."""
    run = runtime.context
    library = run.library
    reading = state.get("reading")
    papers = [r.paper for r in reading.items] if reading else []
    if not papers:
        return {"summaries": {}}
    unread = await read_top(papers, state, run)
    llm_on = run.use_llm and not library.settings.offline
    try:
        summaries = await asyncio.to_thread(library.digest_summaries, papers, use_llm=llm_on)
    except RuntimeFailure as exc:
        _failed("summarize", exc, "using extractive summaries")
        summaries = await asyncio.to_thread(library.digest_summaries, papers, use_llm=False)
        run.say(f"summarize: the model failed ({exc}); extractive summaries")
        return {"summaries": {s.paper_id: s for s in summaries}, "skipped": unread,
                "errors": [f"summarize: the model failed ({exc}); used extractive summaries"]}
    run.say(f"summarize: {len(summaries)} summaries")
    return {"summaries": {s.paper_id: s for s in summaries}, "skipped": unread}


async def digest(state: DailyState, runtime: Runtime[DailyRun]) -> dict[str, Any]:
    """Markdown, HTML and JSON of the digest (the one digest builder), with this run's errors in its
    notices."""
    run = runtime.context
    library = run.library
    reading = state.get("reading") or ReadingList(items=[], since=None, until=None)
    summaries = list((state.get("summaries") or {}).values())
    count = await asyncio.to_thread(library.window_count, reading.since, reading.until)
    errors: list[str] = []
    unreachable = library.llm_unreachable()
    if unreachable:
        log.warning("daily digest: the model was unreachable in this run (%s); "
                    "parts of the digest are offline results", unreachable)
        errors.append(f"llm: {unreachable}; used offline results")
    profile = await asyncio.to_thread(library.active_profile, run.profile)
    client = library.llm_client(run.use_llm)
    offline = ["no network: built from the papers already stored"] if state.get("offline_network") else []
    result = await abuild_digest(profile, reading, summaries, client=client, window_count=count,
                                 notes=offline, notices=[*(state.get("errors") or []),
                                                         *(state.get("skipped") or []), *errors],
                                 language=library.settings.language)
    return {"digest_md": render_markdown(result), "digest_html": render_html(result),
            "digest": result, "errors": errors}


# -- the graph ------------------------------------------------------------------------------------------
builder = StateGraph(DailyState, context_schema=DailyRun)
for node in (fetch, store, rank, summarize, digest):
    builder.add_node(node.__name__, node)
builder.add_edge(START, "fetch")
builder.add_edge("fetch", "store")
builder.add_edge("store", "rank")
builder.add_edge("rank", "summarize")
builder.add_edge("summarize", "digest")
builder.add_edge("digest", END)

graph = builder.compile(name="papercast daily")


# -- a whole run ----------------------------------------------------------------------------------------
async def run_daily(library: Library, *, profile: str | None = None, out: str | Path | None = None,
                    email: str | Sequence[str] | None = None, webhooks: Sequence[str] = (),
                    feed: str | Path | None = None, stdout: bool = False, include_seen: bool = False,
                    n: int = 10, sources: Sequence[str] | None = None, use_llm: bool = True,
                    client: Any = None, policy: Any = None, today: date | None = None,
                    say: Callable[[str], None] | None = None, tls_context: Any = None,
                    http: Any = None) -> DailyReport:
    """Run the daily graph, then deliver the digest to every channel and record each delivery.

    Channels: ``out`` (Markdown, or HTML/JSON by the file's suffix), ``feed`` (an Atom file kept up to
    date), ``email`` (one or several addresses), ``webhooks`` (``URL`` or ``slack:URL``...), each one
    replacing its setting (``email_to``, ``PAPERCAST_WEBHOOKS``, ``feed``); with no channel at all
    ``stdout`` prints it. Papers already delivered to the profile are left out (``include_seen``
    keeps them); each channel that delivered records its papers, so the next run never resends them.
    Bad input (unknown profile or address, email without SMTP settings, a bad webhook URL) raises
    ``UserError`` before anything is fetched; a failing source, model or channel is in ``errors``.
    """
    if n < 1:
        raise UserError(f"-n must be at least 1, got {n}")
    target = await asyncio.to_thread(library.active_profile, profile)
    emails = [email] if isinstance(email, str) else list(email or ())
    channels = plan_channels(library.settings, out=out, emails=emails, webhooks=webhooks, feed=feed,
                             stdout_when_nowhere=stdout)
    say = say or (lambda _line: None)
    # Choose -> deliver -> record under one lock per home: a second run at once (cron overlapping a
    # manual run) waits, then ranks without what the first delivered. Never a paper twice.
    held = await asyncio.to_thread(
        acquire_step_lock, library.settings.home, DAILY_LOCK_NAME, what="a daily run",
        wait=DAILY_WAIT_SECONDS, on_wait=lambda: say("waiting for another daily run on this home to finish"))
    try:
        return await _run_locked(library, target.name, channels, n=n, sources=sources, use_llm=use_llm,
                                 client=client, policy=policy, today=today, say=say,
                                 include_seen=include_seen, tls_context=tls_context, http=http)
    finally:
        release_step_lock(held)


async def _run_locked(library: Library, profile: str, channels: list[Any], *, n: int,
                      sources: Sequence[str] | None, use_llm: bool, client: Any, policy: Any,
                      today: date | None, say: Callable[[str], None], include_seen: bool, tls_context: Any,
                      http: Any) -> DailyReport:
    """``run_daily``'s graph, delivery and records, once the run holds the home's daily lock."""
    # One breaker for the run's fetches and reads: a host found unreachable is waited on once.
    run = DailyRun(library=library, profile=profile, n=n,
                   sources=tuple(sources or library.settings.sources), use_llm=use_llm, client=client,
                   policy=with_breaker(policy, library.host_breaker()), today=today, say=say,
                   include_seen=include_seen)
    state = await graph.ainvoke({"profile": profile, "n": n, "sources": list(run.sources),
                                 "errors": [], "skipped": [], "notes": []}, context=run)
    reading = state.get("reading")
    digest = state.get("digest")
    report = DailyReport(profile=profile, fetched=dict(state.get("fetched") or {}),
                         stored=dict(state.get("stored") or {}),
                         recommended=[r.paper.id for r in reading.items] if reading else [],
                         summarized=len(state.get("summaries") or {}), markdown=state.get("digest_md", ""),
                         html=state.get("digest_html", ""),
                         offline_network=bool(state.get("offline_network")),
                         errors=list(dict.fromkeys(state.get("errors") or [])),
                         skipped=list(dict.fromkeys(state.get("skipped") or [])),
                         notes=list(dict.fromkeys(state.get("notes") or [])))
    if digest is not None:
        report.mode = mode_text(digest)
        report.fallbacks = sum(1 for i in digest.items if i.summary.prompt_version.startswith(FALLBACK))
        if report.fallbacks and not any(e.startswith(("llm:", "summarize:")) for e in report.errors):
            report.errors.append(f"summarize: {report.fallbacks} of {len(digest.items)} summaries fell back "
                                 "to offline ones (the model failed; see the digest's notices)")
    if not report.ok or digest is None:
        if reading is not None and reading.note:
            report.notes.insert(0, reading.note)  # why the list is empty (every paper read, or sent, ...)
        log.warning("daily: no papers to recommend for %s; no digest written or sent (%d errors)",
                    profile, len(report.errors))
        return report
    outcomes = await asyncio.to_thread(library.deliver_digest, digest, channels, text=report.markdown,
                                       tls_context=tls_context, http=http)
    for outcome in outcomes:
        channel = outcome.channel
        if outcome.error:
            report.errors.append(outcome.error)
        if not outcome.ok:
            report.failed.append(channel.name)
            continue
        report.delivered.append(channel.name)
        if channel.kind == "file":
            report.out = channel.target
        elif channel.kind == "email":
            report.emailed = outcome.detail or channel.target
    return report
