"""Sentence roles of an abstract (background, objective, method, result, other), read like a researcher.

A softmax layer over each sentence's MiniLM vector, its neighbours' vectors, the abstract's mean vector,
its position and its hashed words (cue phrases); a small second stage re-reads those role probabilities in
their abstract (neighbours, before, after); then a Viterbi pass over learned role-to-role transitions
(abstracts run background → objective → method → result). Trained on CSAbstruct by
``scripts/train_sentence_roles.py``; the weights ship as float16 in ``papercast/data/sentence_roles.npz``
(provenance and licence in ``sentence_roles.LICENSE``). Any input gets roles, never an error.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from papercast.models import Paper, SentenceRole
from papercast.store.embeddings import get_embedder
from papercast.store.memo import remember_sentence_roles, remembered_sentence_roles
from papercast.tools.writing.summary_text import split_sentences

if TYPE_CHECKING:
    from papercast.store.papers import PaperStore

ROLES = ("background", "objective", "method", "result", "other")
WEIGHTS = Path(__file__).resolve().parents[2] / "data" / "sentence_roles.npz"
POSITION_FEATURES = 6
STACK = ("mean", "scale", "w1", "b1", "w2", "b2")  # the second stage's arrays, stored as s_<name>
_WORD = re.compile(r"[a-z]+|\d+|%")


@dataclass(frozen=True)
class RoleModel:
    """The fitted weights: a hidden layer (absent when ``hidden`` is None), the softmax and transitions."""

    version: str
    mean: np.ndarray
    scale: np.ndarray
    hidden: tuple[np.ndarray, np.ndarray] | None
    out: tuple[np.ndarray, np.ndarray]
    start: np.ndarray
    transitions: np.ndarray
    end: np.ndarray
    buckets: int = 0  # hashed word and word-pair features of the sentence itself (0: none)
    stack: tuple[np.ndarray, ...] | None = None  # second stage: mean, scale, w1, b1, w2, b2 (None: none)


def position_features(n: int) -> np.ndarray:
    """Where each of ``n`` sentences sits: relative place, first, last, second, second to last, length."""
    idx = np.arange(n, dtype=np.float32)
    rel = idx / max(n - 1, 1)
    length = np.full(n, np.log1p(n) / 3.0, dtype=np.float32)
    return np.stack([rel, idx == 0, idx == n - 1, idx == 1, idx == n - 2, length], axis=1).astype(np.float32)


def features(vectors: np.ndarray) -> np.ndarray:
    """One row per sentence: its vector, the previous and next ones (zeros past the ends), the abstract's
    mean and its position. The neighbours carry what a sentence means in its abstract."""
    n, dims = vectors.shape
    zero = np.zeros((1, dims), dtype=np.float32)
    prev = np.concatenate([zero, vectors[:-1]]) if n else vectors
    nxt = np.concatenate([vectors[1:], zero]) if n else vectors
    mean = np.repeat(vectors.mean(axis=0, keepdims=True), n, axis=0) if n else vectors
    return np.concatenate([vectors, prev, nxt, mean, position_features(n)], axis=1).astype(np.float32)


def lexical(sentences: Sequence[str], buckets: int) -> np.ndarray:
    """Hashed words, word pairs and first words of each sentence (L2-normalized): the cue phrases of a
    role ("we propose", "results show", "%") that a sentence vector blurs into its topic."""
    out = np.zeros((len(sentences), buckets), dtype=np.float32)
    for i, sentence in enumerate(sentences if buckets else ()):
        words = _WORD.findall(sentence.lower())
        pairs = [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]
        tokens = words + pairs + [f"^{w}" for w in words[:2]]
        for token in tokens:
            out[i, zlib.crc32(token.encode("utf-8")) % buckets] = 1.0
        out[i] /= max(float(np.linalg.norm(out[i])), 1e-9)
    return out


def context_features(probs: np.ndarray) -> np.ndarray:
    """The second stage's input per sentence: its first-stage log-probabilities, the probabilities of the
    sentences one and two before and after, of the whole abstract, of all before and all after, its
    position, and its log-probabilities times its place. A cheap stand-in for a sequence model."""
    n, k = probs.shape
    zero = np.zeros((2, k), dtype=np.float32)
    padded = np.concatenate([zero, probs, zero])
    log = np.log(np.clip(probs, 1e-6, 1.0))
    total = np.cumsum(probs, axis=0)
    idx = np.arange(n)
    before = (total - probs) / np.maximum(idx, 1)[:, None]
    after = (total[-1] - total) / np.maximum(n - 1 - idx, 1)[:, None]
    pos = position_features(n)
    return np.concatenate([log, padded[1:n + 1], padded[3:n + 3], padded[:n], padded[4:n + 4],
                           np.repeat(probs.mean(axis=0, keepdims=True), n, axis=0), before, after, pos,
                           log * pos[:, :1]], axis=1).astype(np.float32)


def emissions(model: RoleModel, vectors: np.ndarray, sentences: Sequence[str] | None = None) -> np.ndarray:
    """Log-probabilities of each role per sentence: the first stage reads the sentence and its neighbours'
    vectors, the second (when shipped) the first stage's roles of the whole abstract."""
    x = features(vectors)
    weights, bias = model.hidden if model.hidden is not None else model.out
    dims = x.shape[1]
    z = ((x - model.mean[:dims]) * model.scale[:dims]) @ weights[:dims] + bias
    if model.buckets:  # the word features are sparse: add the rows of their buckets (a dense product is slow)
        words = lexical(sentences or [""] * len(vectors), model.buckets)
        rows, cols = np.nonzero(words)
        scale, mean = model.scale[dims:], model.mean[dims:]
        z = z - (mean * scale) @ weights[dims:]
        np.add.at(z, rows, (words[rows, cols] * scale[cols])[:, None] * weights[dims:][cols])
    if model.hidden is not None:
        z = np.maximum(z, 0.0) @ model.out[0] + model.out[1]
    logits = z
    if model.stack is not None:
        mean, scale, w1, b1, w2, b2 = model.stack
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        x = (context_features(probs / probs.sum(axis=1, keepdims=True)) - mean) * scale
        logits = np.maximum(x @ w1 + b1, 0.0) @ w2 + b2
    logits = logits - logits.max(axis=1, keepdims=True)
    return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))


def viterbi(scores: np.ndarray, start: np.ndarray, transitions: np.ndarray, end: np.ndarray) -> list[int]:
    """The most likely role sequence given per-sentence log scores and log transition weights."""
    n = len(scores)
    best = start + scores[0]
    back = np.zeros((n, scores.shape[1]), dtype=np.int64)
    for i in range(1, n):
        step = best[:, None] + transitions
        back[i] = step.argmax(axis=0)
        best = step.max(axis=0) + scores[i]
    path = [int((best + end).argmax())]
    for i in range(n - 1, 0, -1):
        path.append(int(back[i, path[-1]]))
    return path[::-1]


def marginals(scores: np.ndarray, start: np.ndarray, transitions: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Each sentence's probability of each role over all sequences (forward-backward, in log space)."""
    n, k = scores.shape
    fwd = np.zeros((n, k))
    bwd = np.zeros((n, k))
    fwd[0] = start + scores[0]
    for i in range(1, n):
        fwd[i] = np.logaddexp.reduce(fwd[i - 1][:, None] + transitions, axis=0) + scores[i]
    bwd[-1] = end
    for i in range(n - 2, -1, -1):
        bwd[i] = np.logaddexp.reduce(transitions + (scores[i + 1] + bwd[i + 1])[None, :], axis=1)
    joint = fwd + bwd
    joint -= joint.max(axis=1, keepdims=True)
    probs = np.exp(joint)
    return probs / probs.sum(axis=1, keepdims=True)


@cache
def load_model(path: Path = WEIGHTS) -> RoleModel:
    """The shipped weights, read once per process (float16 on disk, float32 in use)."""
    with np.load(path) as data:
        arrays = {key: data[key].astype(np.float32) for key in data.files if key != "version"}
        version = str(data["version"])
    hidden = (arrays["w1"], arrays["b1"]) if "w1" in arrays else None
    buckets = int(arrays["buckets"][0]) if "buckets" in arrays else 0
    stack = tuple(arrays[f"s_{key}"] for key in STACK) if "s_w1" in arrays else None
    return RoleModel(version=version, mean=arrays["mean"], scale=arrays["scale"], hidden=hidden,
                     out=(arrays["w2"], arrays["b2"]), start=arrays["start"],
                     transitions=arrays["transitions"], end=arrays["end"], buckets=buckets, stack=stack)


def predict(vectors: np.ndarray, sentences: Sequence[str] | None = None,
            model: RoleModel | None = None) -> list[tuple[str, float]]:
    """The role of each sentence (given its vector and text, in abstract order) and how sure the model is."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or not len(vectors):
        return []
    model = model or load_model()
    if vectors.shape[1] * 4 + POSITION_FEATURES + model.buckets != len(model.mean):
        return [("other", 0.0)] * len(vectors)  # another embedding model's vectors: the roles are unknown
    scores = emissions(model, np.nan_to_num(vectors), sentences)
    path = viterbi(scores, model.start, model.transitions, model.end)
    probs = marginals(scores, model.start, model.transitions, model.end)
    return [(ROLES[k], round(float(probs[i, k]), 3)) for i, k in enumerate(path)]


def sentence_roles(sentences: Sequence[str], vectors: np.ndarray) -> list[SentenceRole]:
    """``SentenceRole`` rows for an abstract's sentences and their vectors."""
    return [SentenceRole(text=text, role=role, confidence=conf)
            for text, (role, conf) in zip(sentences, predict(vectors, sentences), strict=True)]


def model_version() -> str:
    """The shipped model's version: cached roles name it, so new weights redo them (new weights also bump
    the offline summary's ``OFFLINE_VERSION``, whose fields come from the roles)."""
    return load_model().version


def role_vectors(store: PaperStore, sentences: Sequence[str]) -> np.ndarray:
    """The bundled MiniLM's vectors of ``sentences`` (the model was trained on them): through the store
    when it embeds with that model, else straight from the bundled embedder."""
    if not sentences:
        return np.zeros((0, 384), dtype=np.float32)
    if store.embedding_model is None:
        return store.embed_texts(sentences)
    return get_embedder().embed(sentences)


def remember_roles(db_path: Path, papers: Sequence[Paper], roles: dict[str, list[SentenceRole]]) -> None:
    """Keep roles computed elsewhere (the offline summary computes them on its way)."""
    remember_sentence_roles(db_path, model_version(), [
        (p.id, p.abstract, [r.model_dump() for r in roles[p.id]]) for p in papers if p.id in roles])


def abstract_roles(papers: Sequence[Paper], *, store: PaperStore,
                   db_path: Path) -> dict[str, list[SentenceRole]]:
    """Each paper's abstract sentences with their roles: remembered ones reused, the others computed in
    one embedding batch and remembered (roles are made when first shown or summarized, never at ingest)."""
    version = model_version()
    known = remembered_sentence_roles(db_path, version, {p.id: p.abstract for p in papers})
    out = {pid: [SentenceRole.model_validate(r) for r in rows] for pid, rows in known.items()}
    todo = [p for p in papers if p.id not in out]
    split = {p.id: split_sentences(p.abstract) for p in todo}
    vectors = role_vectors(store, [s for p in todo for s in split[p.id]])
    start = 0
    for paper in todo:
        count = len(split[paper.id])
        out[paper.id] = sentence_roles(split[paper.id], vectors[start:start + count])
        start += count
    remember_roles(db_path, todo, out)
    return out
