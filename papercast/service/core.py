"""The service's settings and raw parts, shared by every concern of ``Papercast``.

The parts (the paper store, the profiles, the LLM client, ...) open on first use, so building the
service is free and the TUI paints before SQLite, Chroma or litellm load. They are private: the
CLI and the TUI go through the public methods of the concern mixins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from papercast.config import Settings, load_settings
from papercast.errors import UserError
from papercast.models import InvalidPaperId, normalize_arxiv_id
from papercast.store.deliveries import DeliveryStore
from papercast.store.documents import DocumentStore
from papercast.store.llm_log import LLMLog
from papercast.store.profiles import ProfileStore
from papercast.store.shown import ShownLists
from papercast.tools.sources.breaker import HostBreaker

if TYPE_CHECKING:
    from papercast.store.papers import PaperStore
    from papercast.store.passages import PassageStore
    from papercast.tools.llm.client import LLMClient
    from papercast.tools.sources.reader import Reader

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
SAMPLE_PAPERS = DATA_DIR / "sample.jsonl.gz"
SAMPLE_EMBEDDINGS = DATA_DIR / "sample_embeddings.npz"
STARTER_PROFILE = "default"
STARTER_INTERESTS = "efficient fine-tuning of LLMs, long-context modelling and long-output generation"

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



def ranking_tools() -> ModuleType:
    """``tools/ranking`` with its entry points (recommend, teach, evaluate, search, ...), imported on
    first use: ``papercast --help`` and the TUI's first paint never pay for it."""
    from papercast.tools.ranking import api as ranking  # lazy: numpy-heavy ranking (~100 ms)

    return ranking


def writing_tools() -> ModuleType:
    """``tools/writing`` with its entry points (summaries, the digest), imported on first use."""
    from papercast.tools.writing import api as writing  # lazy: summaries pull ranking (~100 ms)

    return writing


class ServiceCore:
    """Settings and the raw parts of one home, each opened on first use."""

    # The HTTP client factory and retry policy for full text: None = papercast's own (tests hand in a
    # client on an httpx.MockTransport and a policy that does not sleep).
    fulltext_client: Callable[[], Any] | None = None
    fulltext_policy: Any = None

    def __init__(self, settings: Settings | None = None, *,
                 embed: Callable[[Sequence[str]], np.ndarray] | None = None):
        self.settings = settings or load_settings()
        self._embed = embed
        self.starter_created = False  # this service made the starter profile: say how to edit it

    @classmethod
    def at_home(cls, home: str | Path | None = None, **overrides: Any) -> Self:
        """The service for ``home`` (None: ``$PAPERCAST_HOME`` or the default), with ``overrides`` (the
        command line's flags) above every other source of settings."""
        return cls(load_settings(home=home, **overrides))

    @property
    def mode(self) -> str:
        return self.settings.mode_label

    @cached_property
    def _store(self) -> PaperStore:
        from papercast.store.papers import PaperStore  # lazy: with the LLM client, ~80 ms on first paint

        return PaperStore(self.settings, embed=self._embed, remote_client=self._embedding_client)

    def _embedding_client(self) -> Any:
        """The model client of a litellm embedding model (the store asks for it on first use)."""
        return self._llm_client_class().for_embeddings(self.settings, self._llm_log)

    @cached_property
    def _profiles(self) -> ProfileStore:
        return ProfileStore(self.settings.db_path)

    @cached_property
    def _llm_log(self) -> LLMLog:
        """Summaries, the LLM response cache and usage per run (tables in the home SQLite file)."""
        return LLMLog(self.settings.db_path)

    @staticmethod
    def _llm_client_class() -> type[LLMClient]:
        from papercast.tools.llm.client import LLMClient  # lazy: off the TUI first paint, as ``_store``

        return LLMClient

    @cached_property
    def _llm(self) -> LLMClient:
        """The model client of this run (one run id per service); LLMUnavailable in offline mode."""
        return self._llm_client_class()(self.settings, self._llm_log)

    @cached_property
    def _documents(self) -> DocumentStore:
        """Papers read in full, parsed (a table in the home SQLite file)."""
        return DocumentStore(self.settings.db_path)

    @cached_property
    def _passages(self) -> PassageStore:
        """The passages of read papers in Chroma (beside the papers, embedded with the same model)."""
        from papercast.store.passages import PassageStore  # lazy: Chroma access, as ``_store``

        return PassageStore(self._store)

    @cached_property
    def _deliveries(self) -> DeliveryStore:
        """What was delivered where, and the papers each profile has seen (never resent)."""
        self._profiles  # noqa: B018  (the profiles' tables come first: deliveries refer to them)
        return DeliveryStore(self.settings.db_path)

    @cached_property
    def _shown(self) -> ShownLists:
        """The lists each profile was shown lately (a rating given by id keeps its list's window)."""
        self._profiles  # noqa: B018  (the profiles' tables come first: shown lists refer to them)
        return ShownLists(self.settings.db_path)

    @cached_property
    def _breaker(self) -> HostBreaker:
        """The hosts found unreachable by this service: one run of the CLI, one session of the TUI."""
        return HostBreaker()

    @property
    def _reader(self) -> Reader:
        """Reads papers in full for this library (``tools/sources/reader``), with this run's limits."""
        from papercast.tools.sources.reader import Reader, ReadLimits  # lazy: httpx and the parsers (~150 ms)

        s = self.settings
        limits = ReadLimits(enabled=s.fulltext, min_interval=s.arxiv_min_interval,
                            max_bytes=int(s.fulltext_max_mb * 1024 * 1024), max_pages=s.fulltext_max_pages,
                            timeout=s.fulltext_timeout)
        return Reader(self._store, self._documents, self._passages, limits, client=self.fulltext_client,
                      policy=self.fulltext_policy, breaker=self._breaker)
