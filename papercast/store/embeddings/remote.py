"""A litellm embedding model (``PAPERCAST_EMBEDDING``) in place of the bundled one.

The store does not talk to litellm itself: whoever opens the store hands it a factory of an
embedding client (the service gives ``LLMClient.for_embeddings``: api_base, timeout, retries,
one-line failures and usage rows), so the LLM policy lives in one place, above the store.
Every answer is checked here before the store sees it.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Callable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from papercast.errors import RuntimeFailure
from papercast.store.embeddings.bundled import DIMENSIONS

if TYPE_CHECKING:
    from papercast.config import Settings

REMOTE_MAX_CHARS = 8000  # ~2k tokens: fits every embedding model's context; abstracts are far shorter


class EmbeddingClient(Protocol):
    """What a remote embedder needs of a model client."""

    async def aembed(self, texts: list[str]) -> Any: ...

    def unusable(self, problem: str) -> RuntimeFailure: ...


class RemoteEmbedder:
    """Texts to L2-normalized vectors through a litellm embedding model (``settings.embedding``).

    Requests go through ``LLMClient.for_embeddings`` (api_base, timeout, retries, one-line failures,
    usage rows in ``papercast usage``), in batches of ``REMOTE_BATCH``, up to ``llm_concurrency`` at
    a time. Every answer is checked before a caller sees it: one finite, non-zero vector per text,
    all of one dimension, the same in every call of this process, so nothing malformed reaches the store.
    """

    def __init__(self, settings: Settings, client: Callable[[], EmbeddingClient],
                 batch_size: int | None = None) -> None:
        if not settings.embedding:
            raise ValueError("RemoteEmbedder needs settings.embedding")
        self.settings = settings
        self.name: str = settings.embedding
        self.dimensions: int | None = None  # known after the first answer
        self._batch_size = int(batch_size or settings.embedding_batch)
        self._make_client = client
        self._client: EmbeddingClient | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> EmbeddingClient:
        with self._lock:
            if self._client is None:
                self._client = self._make_client()
            return self._client

    def embed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Embed ``texts``: a float32 array (len(texts), d); ``progress`` gets the count done."""
        if not texts:
            return np.zeros((0, self.dimensions or DIMENSIONS), dtype=np.float32)
        return _run_sync(self.aembed(texts, progress))

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    async def aembed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        # providers refuse empty input
        prepared = [(t or "").strip()[:REMOTE_MAX_CHARS] or " " for t in texts]
        starts = range(0, len(prepared), self._batch_size)
        done = 0

        async def one(start: int) -> np.ndarray:
            nonlocal done
            batch = prepared[start:start + self._batch_size]
            vectors = self._checked(await self.client.aembed(batch), len(batch))
            done += len(batch)
            if progress:
                progress(done)
            return vectors

        # Every batch is let finish before a failure is raised: a batch left running would be cancelled
        # when the loop closes, and litellm, which makes its request coroutine in a worker thread, can
        # then leave it never awaited (a RuntimeWarning). After a connection failure the client fails
        # the remaining batches fast, so waiting for them costs nothing.
        parts = await asyncio.gather(*(one(start) for start in starts), return_exceptions=True)
        failed = next((part for part in parts if isinstance(part, BaseException)), None)
        if failed is not None:
            raise failed
        return np.concatenate([part for part in parts if isinstance(part, np.ndarray)]).astype(
            np.float32, copy=False)

    def _checked(self, response: Any, expected: int) -> np.ndarray:
        """The response's vectors in input order, normalized; an unusable answer is a one-line failure."""
        try:
            matrix = parse_embedding_response(response, expected)
        except ValueError as problem:
            raise self.client.unusable(str(problem)) from None
        with self._lock:
            if self.dimensions is None:
                self.dimensions = int(matrix.shape[1])
            known = self.dimensions
        if matrix.shape[1] != known:
            raise self.client.unusable(f"{matrix.shape[1]}-d vectors after {known}-d ones in this run "
                                       "(the model behind the name changed?)")
        return matrix


def parse_embedding_response(response: Any, expected: int) -> np.ndarray:
    """``expected`` unit vectors from an OpenAI-shaped embedding response, in input order.

    Raises ``ValueError`` (naming what is wrong) for anything else: no data, a wrong count, items
    out of order or missing, non-numeric or non-finite values, a zero vector, mixed dimensions.
    """
    data = getattr(response, "data", None)
    if not isinstance(data, list) or not data:
        raise ValueError("no vectors in the answer")
    if len(data) != expected:
        raise ValueError(f"{len(data)} vectors for {expected} texts")
    rows: dict[int, Any] = {}
    for position, item in enumerate(data):
        get = item.get if isinstance(item, dict) else lambda key, _i=item: getattr(_i, key, None)
        index = get("index")
        rows[index if isinstance(index, int) else position] = get("embedding")
    if sorted(rows) != list(range(expected)):
        raise ValueError("the vectors' indexes do not match the texts")
    vectors = [rows[i] for i in range(expected)]
    if not all(isinstance(v, list | tuple) and v and all(_is_number(x) for x in v) for v in vectors):
        raise ValueError("a vector is not a list of numbers")
    if len({len(v) for v in vectors}) != 1:
        raise ValueError("vectors of different dimensions in one answer")
    matrix = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    if not np.isfinite(matrix).all() or not (norms > 0).all():
        raise ValueError("a vector is zero, infinite or NaN")
    return (matrix / norms).astype(np.float32)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@cache
def chroma_remote_function_class() -> type:
    """The Chroma embedding-function class of a litellm model's collection.

    It records the model's name in the collection's configuration. papercast always hands Chroma
    the vectors (so the api_base and the retry policy stay in one place); being asked to embed
    means someone queried with texts, which this collection cannot answer without papercast.
    """
    from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
    from chromadb.utils.embedding_functions import register_embedding_function

    @register_embedding_function
    class PapercastLiteLLM(EmbeddingFunction[Documents]):
        def __init__(self, model: str) -> None:
            self.model = model

        def __call__(self, input: Documents) -> Embeddings:
            raise RuntimeError(f"collection of {self.model}: pass vectors (papercast embeds through litellm)")

        @staticmethod
        def name() -> str:
            return "papercast-litellm"

        def default_space(self) -> Any:
            return "cosine"

        def supported_spaces(self) -> list[Any]:
            return ["cosine"]

        @staticmethod
        def build_from_config(config: dict[str, Any]) -> PapercastLiteLLM:
            return PapercastLiteLLM(str(config.get("model", "")))

        def get_config(self) -> dict[str, Any]:
            return {"model": self.model}

    return PapercastLiteLLM


def _run_sync(coro: Any) -> Any:
    """Run a coroutine from sync code, also when the caller already runs an event loop (the TUI)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
