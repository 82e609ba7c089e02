"""Embedding models of the paper store: the bundled offline one (``bundled``) or a litellm one (``remote``).

Vectors of two models are never comparable, so each model has its own Chroma collection
(``collection_name``): the bundled model keeps "papers", so existing stores keep working.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from papercast.errors import RuntimeFailure
from papercast.store.embeddings.bundled import DIMENSIONS, MODEL_NAME, get_embedder
from papercast.store.embeddings.remote import RemoteEmbedder

if TYPE_CHECKING:
    from papercast.config import Settings
    from papercast.store.embeddings.remote import EmbeddingClient

__all__ = ["COLLECTION", "DIMENSIONS", "MODEL_NAME", "TextEmbedder", "collection_name", "get_embedder",
           "make_embedder"]

COLLECTION = "papers"  # the bundled model's collection: the name every existing store has


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


def make_embedder(settings: Settings,
                  remote_client: Callable[[], EmbeddingClient] | None = None) -> TextEmbedder:
    """The embedding model of ``settings``: the process-wide bundled one, or a remote one that gets
    its model client from ``remote_client``."""
    if not settings.embedding:
        return get_embedder()
    if remote_client is None:
        raise RuntimeFailure(f"embedding model {settings.embedding} needs a model client: open the store "
                             "through the papercast service")
    return RemoteEmbedder(settings, remote_client)
