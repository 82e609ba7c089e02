"""Papers read in full (fetched, parsed, their passages indexed) and their summaries."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from papercast.errors import RuntimeFailure, UserError
from papercast.models import Document, Paper, Passage, SentenceRole, Summary, result_sentence
from papercast.service.core import Progress, ServiceCore, normalize_ids, ranking_tools, writing_tools
from papercast.tools.llm.sync import run_sync
from papercast.tools.sources.breaker import HostBreaker
from papercast.tools.sources.fulltext.sections import filter_section
from papercast.tools.writing.roles import abstract_roles
from papercast.tools.writing.summary_text import read_alone

log = logging.getLogger(__name__)


class ReadingMixin(ServiceCore):
    """Full text and summaries (uses ``get_papers`` and ``llm_client`` of the other mixins)."""

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
        return run_sync(self.aread_paper(paper_id, section=section, fetch=fetch, progress=progress, add=add))

    async def aread_paper(self, paper_id: str, *, section: str | None = None, fetch: bool = True,
                          progress: Progress | None = None, client: Any = None, policy: Any = None,
                          add: bool = False) -> Document:
        """``read_paper`` for async callers; ``client`` is an httpx.AsyncClient to share (its pacing of
        arxiv.org then spans every paper read through it), ``policy`` a RetryPolicy."""
        pid = normalize_ids([paper_id])[0]
        document = await self._reader.read(pid, fetch=fetch, progress=progress, client=client,
                                           policy=policy, add=add)
        if section and document.unreachable:
            raise RuntimeFailure(f"cannot read the sections of {pid}: {document.note}")
        return filter_section(document, section) if section else document

    async def aread_papers(self, ids: Sequence[str], *, fetch: bool = True, client: Any = None,
                           policy: Any = None) -> dict[str, Document]:
        """Several papers read through one HTTP client; a paper that cannot be read is left out."""
        return await self._reader.read_many(normalize_ids(ids), fetch=fetch, client=client, policy=policy)

    def host_breaker(self) -> HostBreaker:
        """The hosts found unreachable in this run: the daily run's fetches and reads share it."""
        return self._breaker

    def network_notices(self) -> list[str]:
        """One line per unreachable host that made papers skip their full text, each said once
        ("arxiv.org unreachable: full text skipped for the other 708 papers"); logged as well."""
        lines = self._breaker.notices()
        for line in lines:
            log.warning("%s", line)
        return lines

    def reconnect(self) -> list[str]:
        """Forget the hosts found unreachable (the TUI's retry: the network may be back); the next read
        tries them again. Returns the hosts that were skipped."""
        return self._breaker.close()

    def read_file(self, path: str | Path, paper_id: str | None = None,
                  progress: Progress | None = None) -> Document:
        """A saved arXiv HTML page or PDF read with no network, stored and indexed like a fetched one.
        The paper is added to the library (title and abstract from the document) when missing; without
        ``paper_id`` the file must name its arXiv id (canonical link or arXiv stamp)."""
        pid = normalize_ids([paper_id])[0] if paper_id else None
        return self._reader.read_file(Path(path), pid, progress)

    def search_passages(self, query: str, *, ids: Sequence[str] | None = None, n: int = 8
                        ) -> list[tuple[Passage, float]]:
        """The stored passages that best answer ``query`` (of the papers ``ids`` when given), best first
        with their score; [] when no paper is read. Nothing is fetched (``tools/ranking/passages``)."""
        if not query.strip():
            raise UserError("empty search query")
        wanted = normalize_ids(ids) if ids is not None else None
        return ranking_tools().search_passages(query, papers=self._store, documents=self._documents,
                                               passages=self._passages, ids=wanted, n=n)

    def has_fulltext(self, paper_id: str) -> bool:
        """Whether the paper's full text (not only its abstract) is stored."""
        info = self._documents.info(normalize_ids([paper_id])[0])
        return info is not None and info.source != "abstract"

    def passage_count(self) -> int:
        """How many passages of papers read in full are indexed (0: no paper is read in full yet)."""
        return self._passages.count()

    def abstract_roles(self, paper_id: str) -> list[SentenceRole]:
        """The paper's abstract sentence by sentence, each with its role (background, objective, method,
        result, other) and the model's confidence: computed on first use, then remembered."""
        paper = self.get_paper(paper_id)
        return self.sentence_roles([paper])[paper.id]

    def sentence_roles(self, papers: Sequence[Paper]) -> dict[str, list[SentenceRole]]:
        """``abstract_roles`` of several papers, the new ones embedded in one batch (a reading list)."""
        return abstract_roles(papers, store=self._store, db_path=self.settings.db_path)

    def result_sentences(self, papers: Sequence[Paper]) -> dict[str, str]:
        """Each paper's surest result sentence, read alone ("Finally, we show ..." -> "We show ..."; ""
        when none is one): what the reading list shows under a title and a digest beside a pick."""
        roles = self.sentence_roles(papers)
        return {p.id: read_alone(result_sentence(roles.get(p.id, []))) for p in papers}

    def summarize(self, ids: Sequence[str], *, use_llm: bool = True, read: bool = True) -> list[Summary]:
        """Structured summaries (stored ones reused); offline extractive ones without a model.

        Each paper is read first (``read_paper``: fetched on first use when ``read`` and full-text reading
        are on, else what is stored), so the summary comes from its full text; a paper whose full text
        cannot be had is summarized from its abstract, and the summary says which (``Summary.source``).
        """
        papers = self.get_papers(ids)
        documents = run_sync(self.aread_papers([p.id for p in papers], fetch=read))
        return writing_tools().summarize_papers(papers, store=self._store, log=self._llm_log,
                                                client=self.llm_client(use_llm), documents=documents)

    def digest_summaries(self, papers: Sequence[Paper], *, use_llm: bool = True) -> list[Summary]:
        """What a digest shows per paper: a stored full summary, else a stored or new batch TL;DR.
        Papers read in full (``daily`` reads its top picks) get their full-text summaries."""
        documents = self._reader.stored([p.id for p in papers])
        return writing_tools().digest_summaries(papers, store=self._store, log=self._llm_log,
                                                client=self.llm_client(use_llm), documents=documents)
