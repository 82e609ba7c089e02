"""Reading papers in full: fetch (arXiv HTML, else the PDF), parse, keep the document, index its passages.

``fulltext`` fetches and parses; the store keeps documents (``store/documents``) and passages
(``store/passages``); this module puts them together so that every caller — ``papercast read``, the
summaries, the TUI's ``f``, the daily graph, the agent's ``read_paper`` tool — reads a paper the same
way: a stored document is used as it is (an indexing a crash interrupted is completed first), a
missing one is fetched once, and a paper arXiv has no full text for is remembered as abstract-only.
A network failure is not remembered: the next read tries again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from papercast.errors import RuntimeFailure, UserError
from papercast.models import Document, Paper, normalize_arxiv_id
from papercast.tools.sources.breaker import HostBreaker
from papercast.tools.sources.fulltext.document import abstract_document, build_document
from papercast.tools.sources.fulltext.download import fetch_fulltext
from papercast.tools.sources.fulltext.files import arxiv_id_in, read_saved_file
from papercast.tools.sources.http import RetryPolicy, make_client, with_breaker

if TYPE_CHECKING:  # type hints only: the stores are heavy to import (numpy, the Chroma layer)
    from papercast.store.documents import DocumentStore
    from papercast.store.papers import PaperStore
    from papercast.store.passages import PassageStore

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ReadLimits:
    """What one read may cost: whether full text is read at all, arXiv's pacing and the caps."""

    enabled: bool = True
    min_interval: float = 3.0  # arXiv's etiquette between requests
    max_bytes: int = 25 * 1024 * 1024
    max_pages: int = 200
    timeout: float = 120.0


class Reader:
    """Full text for the papers of one library (its paper, document and passage stores).

    ``client`` makes the httpx client a read uses when the caller hands none (tests make one on an
    ``httpx.MockTransport``); ``policy`` is the retry policy (tests use one that does not sleep);
    ``breaker`` the run's unreachable hosts (the service's: one per run, one per TUI session).
    """

    def __init__(self, papers: PaperStore, documents: DocumentStore, passages: PassageStore,
                 limits: ReadLimits, *, client: Callable[[], Any] | None = None,
                 policy: RetryPolicy | None = None, breaker: HostBreaker | None = None) -> None:
        self.papers = papers
        self.documents = documents
        self.passages = passages
        self.limits = limits
        self.client = client
        self.policy = policy
        self.breaker = breaker

    def http_client(self) -> Any:
        return self.client() if self.client is not None else make_client()

    async def read(self, pid: str, *, fetch: bool = True, progress: Progress | None = None,
                   client: Any = None, policy: RetryPolicy | None = None, add: bool = False) -> Document:
        """The stored document (its indexing completed), else a fetched one, else the abstract's.

        A paper not in the library is a UserError unless ``add`` (the user's own ``papercast read ID``).
        """
        stored = await asyncio.to_thread(self.documents.get, pid)
        if stored is not None:
            if await asyncio.to_thread(self.passages.indexed, stored) < len(stored.passages):
                await asyncio.to_thread(self.passages.index, stored, progress)
            return stored
        paper = await asyncio.to_thread(self.papers.get, pid)
        if paper is None and not add:
            raise UserError(f"unknown paper id: {pid} (not in the library; papercast read {pid} adds it)")
        if not fetch or not self.limits.enabled:
            if paper is None:
                raise UserError(f"unknown paper id: {pid}")
            why = ("full text not read yet" if self.limits.enabled
                   else "full-text reading is off (fulltext setting)")
            return abstract_document(paper, f"{why}: the abstract only")
        own = client is None
        http = client or self.http_client()
        try:
            fetched = await fetch_fulltext(pid, client=http, min_interval=self.limits.min_interval,
                                           policy=with_breaker(policy or self.policy, self.breaker),
                                           max_bytes=self.limits.max_bytes, max_pages=self.limits.max_pages,
                                           timeout=self.limits.timeout)
        finally:
            if own:
                await http.aclose()
        if fetched.skipped is not None and self.breaker is not None:
            self.breaker.skipped(fetched.skipped)
        if fetched.parsed is not None and fetched.kind is not None:
            note = "; ".join(fetched.notes) if fetched.notes else None
            document = build_document(pid, fetched.parsed, fetched.kind, note=note)
            await asyncio.to_thread(self.keep, document, progress)
            return document
        if paper is None:
            if fetched.final:
                raise UserError(f"unknown paper id: {pid} (not in the library, and arXiv has no HTML or PDF "
                                "of it)")
            raise RuntimeFailure(f"cannot read {pid}: {fetched.note}")
        document = abstract_document(paper, fetched.note)
        if fetched.final:  # arXiv has none: remember that; a network failure is tried again next time
            await asyncio.to_thread(self.keep, document, progress)
        else:
            document = document.model_copy(update={"unreachable": True})
        return document

    async def read_many(self, ids: Sequence[str], *, fetch: bool = True, client: Any = None,
                        policy: RetryPolicy | None = None) -> dict[str, Document]:
        """Several papers read one after another through one HTTP client (arXiv's pacing holds across
        them). A paper that cannot be read is left out, with a log line: callers use its abstract."""
        own = None
        if fetch and client is None and self.limits.enabled:
            own = client = self.http_client()
        out: dict[str, Document] = {}
        try:
            for pid in ids:
                try:
                    out[pid] = await self.read(pid, fetch=fetch, client=client, policy=policy)
                except (UserError, RuntimeFailure) as exc:
                    log.warning("full text of %s not read: %s", pid, exc)
        finally:
            if own is not None:
                await own.aclose()
        return out

    def read_file(self, path: Path, paper_id: str | None, progress: Progress | None = None) -> Document:
        """A saved arXiv HTML page or PDF read with no network, kept and indexed like a fetched one."""
        parsed, _kind, raw = read_saved_file(path, max_bytes=self.limits.max_bytes,
                                             max_pages=self.limits.max_pages)
        found = paper_id or arxiv_id_in(raw)
        if not found:
            raise UserError(f"{path} does not say which arXiv paper it is: give the id "
                            "(papercast read ID --from FILE)")
        document = build_document(normalize_arxiv_id(found), parsed, "file")
        self.keep(document, progress)
        return document

    def stored(self, ids: Sequence[str]) -> dict[str, Document]:
        """The stored full-text documents of these papers (abstract-only and unread papers left out)."""
        infos = self.documents.infos(list(ids))
        found = {pid: self.documents.get(pid) for pid, info in infos.items() if info.source != "abstract"}
        return {pid: doc for pid, doc in found.items() if doc is not None}

    def keep(self, document: Document, progress: Progress | None = None) -> None:
        """Keep the document, add its paper to the library when missing, index its passages."""
        if self.papers.get(document.paper_id) is None:
            abstract = document.abstract or (document.passages[0].text if document.passages else "")
            self.papers.upsert([Paper(id=document.paper_id, title=document.title or document.paper_id,
                                      abstract=abstract, sources=["fulltext"])])
        self.documents.put(document)
        self.passages.index(document, progress)
