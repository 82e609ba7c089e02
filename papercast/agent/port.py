"""What the agent uses of the service, and nothing more: the ``Library`` port.

The agent's tools and graphs are handed the service at run time; this ``Protocol`` is the contract
they are typed against, so the layering holds at run time as it does in the imports. The service
(``papercast.service.Papercast``) implements it; a test can check that with ``isinstance``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from papercast.config import Settings
from papercast.models import (
    Document,
    FeedbackKind,
    FetchReport,
    Paper,
    Passage,
    Profile,
    ReadingList,
    SearchHit,
    SentenceRole,
    Summary,
    UpsertResult,
)

if TYPE_CHECKING:
    import numpy as np

    from papercast.agent.llm_node import ModelConfig
    from papercast.tools.delivery.channels import Channel, Outcome
    from papercast.tools.llm.client import LLMClient
    from papercast.tools.sources.breaker import HostBreaker
    from papercast.tools.writing.digest import Digest


@runtime_checkable
class Library(Protocol):
    """The papers, profiles, model and deliveries of one home, as the agent may use them."""

    @property
    def settings(self) -> Settings: ...

    # -- papers -------------------------------------------------------------------------------
    def count(self) -> int: ...

    def get_paper(self, paper_id: str) -> Paper: ...

    def get_papers(self, ids: Sequence[str]) -> list[Paper]:
        """Every id must be in the library (a UserError names those that are not)."""
        ...

    def papers_found(self, ids: Sequence[str]) -> list[Paper]:
        """The papers the library holds among ``ids``; the others are left out."""
        ...

    def embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]: ...

    def window_count(self, since: date | None, until: date | None) -> int: ...

    def search(self, query: str, n: int = 10, *, since: date | None = None, until: date | None = None,
               categories: Sequence[str] = (), authors: Sequence[str] = ()) -> list[SearchHit]: ...

    def similar(self, paper_id: str, n: int = 5) -> list[tuple[Paper, float]]: ...

    def search_passages(self, query: str, *, ids: Sequence[str] | None = None, n: int = 8
                        ) -> list[tuple[Passage, float]]: ...

    def has_fulltext(self, paper_id: str) -> bool: ...

    def abstract_roles(self, paper_id: str) -> list[SentenceRole]: ...

    def read_paper(self, paper_id: str, *, section: str | None = None, fetch: bool = True) -> Document: ...

    async def aread_papers(self, ids: Sequence[str], *, fetch: bool = True, client: Any = None,
                           policy: Any = None) -> dict[str, Document]: ...

    def host_breaker(self) -> HostBreaker:
        """The hosts found unreachable in this run (a daily run's fetches and reads skip them)."""
        ...

    def network_notices(self) -> list[str]: ...

    async def afetch(self, source: str = "all", *, day: date | None = None,
                     query: str | None = None) -> FetchReport: ...

    def store_papers(self, papers: Sequence[Paper]) -> tuple[UpsertResult, str | None]: ...

    def delete_papers(self, ids: Sequence[str]) -> int: ...

    # -- profiles -------------------------------------------------------------------------------
    def active_profile(self, name: str | None = None) -> Profile: ...

    def feedback(self, ids: Sequence[str], kind: FeedbackKind, *, profile: str | None = None,
                 undo: bool = False, window: tuple[date, date] | None = None) -> Profile: ...

    def profile_update(self, name: str | None = None, **changes: Any) -> Profile: ...

    def recommend(self, *, profile: str | None = None, n: int = 20, use_llm: bool = True,
                  include_seen: bool = True) -> ReadingList: ...

    # -- the model ------------------------------------------------------------------------------
    @property
    def chat_model(self) -> ModelConfig | None:
        """How the chat calls its model (None: offline), decided once per service."""
        ...

    def llm_client(self, use_llm: bool = True) -> LLMClient | None: ...

    def llm_unreachable(self) -> str | None:
        """Why this run's model could not be reached, if it could not (None: no failure, or no model)."""
        ...

    def summarize(self, ids: Sequence[str], *, use_llm: bool = True) -> list[Summary]: ...

    def digest_summaries(self, papers: Sequence[Paper], *, use_llm: bool = True) -> list[Summary]: ...

    # -- deliveries -----------------------------------------------------------------------------
    def deliver_digest(self, digest: Digest, channels: Sequence[Channel], *, text: str | None = None,
                       tls_context: Any = None, http: Any = None) -> list[Outcome]: ...
