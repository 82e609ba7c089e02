"""Helpers the test modules share: fixture paths, a counting embedder, the sample home, the source
tests' replaying transport and fake clock, and the papers the agent tests talk about.

Everything the suite reads is in this repository (``tests/fixtures``, the bundled sample), so a
clone of the repository alone runs it. That the whole benchmark corpus parses is checked by
``bench/ingest.py`` (the corpus is a benchmark input, never a test one).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

import httpx

from papercast.tools.sources.http import RetryPolicy

if TYPE_CHECKING:
    from papercast.service import Papercast
    from papercast.store.deliveries import DeliveryStore
    from papercast.store.documents import DocumentStore
    from papercast.store.llm_log import LLMLog
    from papercast.store.papers import PaperStore
    from papercast.store.passages import PassageStore
    from papercast.store.profiles import ProfileStore

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
CORPUS_SLICE = FIXTURES / "corpus_slice.jsonl.gz"  # 40 real papers of the shared corpus (rows 9000-9039)

# LLM tests: litellm's real HTTP path against the scripted loopback server, with quick retries.
FAST_LLM: dict[str, Any] = {"llm_backoff": 0.01, "llm_max_backoff": 0.05, "llm_retries": 1}

def wait_until_serving(url: str, proc: subprocess.Popen[Any], timeout: float, pause: float = 0.2) -> bool:
    """Poll ``url`` until it answers 200 (True), or until ``proc`` exits or ``timeout`` seconds pass
    (False: the caller stops the server and says why, with its log)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(pause)


PAPER = "2608.19758"  # "FlashPrefill V2: Block-Sparse Prefill Attention ..." in the bundled sample
OTHER = "2608.14277"


def embedding_client(settings: Any) -> Callable[[], Any]:
    """The factory of the embedding model's client that the service hands its store (for stores and
    embedders a test opens without a service)."""
    def make() -> Any:
        from papercast.store.llm_log import LLMLog
        from papercast.tools.llm.client import LLMClient

        return LLMClient.for_embeddings(settings, LLMLog(settings.db_path))

    return make


# -- the service's raw parts ---------------------------------------------------------------------------
# The service keeps its stores private; tests set them up and inspect them directly (papers stored with
# chosen vectors, feedback on given days, what a delivery recorded, the ranker's tools called on the
# store) through these accessors, the one place that reaches past the service's public methods.
def paper_store(service: Papercast) -> PaperStore:
    return service._store


def profile_store(service: Papercast) -> ProfileStore:
    return service._profiles


def delivery_store(service: Papercast) -> DeliveryStore:
    return service._deliveries


def passage_store(service: Papercast) -> PassageStore:
    return service._passages


def document_store(service: Papercast) -> DocumentStore:
    return service._documents


def llm_log(service: Papercast) -> LLMLog:
    return service._llm_log


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    return json.loads(fixture_bytes(name))


class CountingEmbed:
    """The real bundled embedder, counting the texts it is asked to embed (``PaperStore(embed=...)``)."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def __call__(self, texts):
        from papercast.store.embeddings import get_embedder

        self.texts.extend(texts)
        return get_embedder().embed(list(texts))

    def embed_tokens(self, texts):
        """The token states the sentence-role model reads, counted with the rest."""
        from papercast.store.embeddings import get_embedder

        self.texts.extend(texts)
        return get_embedder().embed_tokens(list(texts))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def copy_sample(template: Path, settings: Any) -> Any:
    """The service for ``settings`` on a copy of the sample home (loaded the usual way on a server)."""
    from papercast.service import Papercast

    if settings.chroma_url is None and not settings.home.exists():
        shutil.copytree(template, settings.home)
    service = Papercast(settings)
    service.ensure_sample()  # a no-op on a copy
    return service


@dataclass
class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps."""

    now: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def fast_policy(clock: FakeClock | None = None, *, retries: int = 3, max_total_seconds: float = 60.0,
                base_delay: float = 0.0) -> RetryPolicy:
    clock = clock or FakeClock()
    return RetryPolicy(retries=retries, base_delay=base_delay, max_delay=30.0,
                       max_total_seconds=max_total_seconds, sleep=clock.sleep, clock=clock)


Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class Recorder:
    """Wraps a handler and keeps every request it saw."""

    handler: Handler
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))

    def params(self, key: str) -> list[str | None]:
        return [r.url.params.get(key) for r in self.requests]


def sequence(*responses: httpx.Response | Exception) -> Handler:
    """Answer with each response in turn (raising exceptions), repeating the last one forever."""
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        return item

    return handler


def json_response(data: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(data).encode(),
                          headers={"content-type": "application/json"})


def xml_response(content: bytes | str, status: int = 200) -> httpx.Response:
    body = content.encode() if isinstance(content, str) else content
    return httpx.Response(status, content=body, headers={"content-type": "application/atom+xml"})


def hf_items_with_ids(ids: list[str], template_file: str = "hf_daily_papers_2026-08-21.json") -> list[dict]:
    """Real HF items (cycled) whose ids are replaced, to build pages of any size."""
    template = fixture_json(template_file)
    items = []
    for index, paper_id in enumerate(ids):
        item = json.loads(json.dumps(template[index % len(template)]))
        item["paper"]["id"] = paper_id
        items.append(item)
    return items


def atom_entry(paper_id: str, title: str, *, abstract: str | None = "An abstract.",
               categories: tuple[str, ...] = ("cs.AI",), comment: str | None = None,
               authors: tuple[str, ...] = ("Ada Lovelace",), published: str = "2026-08-20T17:00:00Z") -> str:
    """One arXiv API ``<entry>`` in the current format (primary category, then category terms)."""
    parts = [f"<id>http://arxiv.org/abs/{paper_id}v1</id>", f"<title>{escape(title)}</title>",
             f"<published>{published}</published>", f"<updated>{published}</updated>"]
    if abstract is not None:
        parts.append(f"<summary>{escape(abstract)}</summary>")
    parts += [f"<author><name>{escape(a)}</name></author>" for a in authors]
    if comment:
        parts.append(f"<arxiv:comment>{escape(comment)}</arxiv:comment>")
    if categories:
        parts.append(f'<arxiv:primary_category term="{categories[0]}"/>')
    parts += [f'<category term="{c}" scheme="http://arxiv.org/schemas/atom"/>' for c in categories]
    return "<entry>" + "".join(parts) + "</entry>"


def atom_feed(entries: list[str], total: int | None = None) -> str:
    """An arXiv API feed around the given entries."""
    total = len(entries) if total is None else total
    return ("<?xml version='1.0' encoding='UTF-8'?>"
            '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom" '
            'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">'
            "<title>arXiv Query</title>"
            f"<opensearch:totalResults>{total}</opensearch:totalResults>"
            + "".join(entries) + "</feed>")
