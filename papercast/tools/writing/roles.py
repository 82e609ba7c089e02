"""Sentence roles of an abstract (background, objective, method, result, other), read like a researcher.

Each sentence is read from the bundled MiniLM's token states (a convolution over them, max-pooled, and a
learned attention pooling), its mean-pooled vector, its hashed words (cue phrases such as "we propose"),
and its place in the abstract; a bidirectional GRU then reads the sentences in order, since a role depends
on its neighbours (abstracts run background -> objective -> method -> result). A few such models, trained
from different seeds (each averaged over the epochs around its best), vote by averaging their
log-probabilities. Trained on CSAbstruct by ``scripts/train_sentence_roles.py``; the weights ship in
``papercast/data/sentence_roles.npz`` (int8 and float16; provenance and licence in
``sentence_roles.LICENSE``). Inference is numpy alone. Any input gets roles, never an error.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from papercast.models import Paper, SentenceRole
from papercast.store.embeddings.bundled import DIMENSIONS, pool
from papercast.store.memo import remember_sentence_roles, remembered_sentence_roles
from papercast.tools.writing.summary_text import split_sentences

if TYPE_CHECKING:
    from papercast.store.papers import PaperStore

ROLES = ("background", "objective", "method", "result", "other")
WEIGHTS = Path(__file__).resolve().parents[2] / "data" / "sentence_roles.npz"
ROLE_BATCH = 64  # papers whose token states are held at once (~0.4 MB a paper)
MEMBER_ARRAYS = ("bag", "conv_w", "conv_b", "att_w", "att_b", "inp_w", "inp_b",
                 "f_ih", "f_hh", "f_bih", "f_bhh", "b_ih", "b_hh", "b_bih", "b_bhh", "out_w", "out_b")
_WORD = re.compile(r"[a-z]+|\d+|%")


@dataclass(frozen=True)
class Member:
    """One trained model of the vote. Shapes: ``bag`` buckets x L; ``conv_w`` 384 x 3C (the left, centre
    and right token's weights side by side); ``att_w`` 384; ``inp_w`` (6 + 384 + L + C + 384) x P; the
    GRU's ``*_ih`` P x 3H and ``*_hh`` H x 3H (gates r, z, n, as PyTorch orders them), forward ``f_`` and
    backward ``b_``; ``out_w`` (2H + P) x 5."""

    bag: np.ndarray
    conv_w: np.ndarray
    conv_b: np.ndarray
    att_w: np.ndarray
    att_b: np.ndarray
    inp_w: np.ndarray
    inp_b: np.ndarray
    f_ih: np.ndarray
    f_hh: np.ndarray
    f_bih: np.ndarray
    f_bhh: np.ndarray
    b_ih: np.ndarray
    b_hh: np.ndarray
    b_bih: np.ndarray
    b_bhh: np.ndarray
    out_w: np.ndarray
    out_b: np.ndarray


@dataclass(frozen=True)
class RoleModel:
    """The shipped vote: its version (cached roles name it), the word buckets and the members."""

    version: str
    buckets: int
    members: tuple[Member, ...]


def position_features(n: int) -> np.ndarray:
    """Where each of ``n`` sentences sits: relative place, first, last, second, second to last, length."""
    idx = np.arange(n, dtype=np.float32)
    rel = idx / max(n - 1, 1)
    length = np.full(n, np.log1p(n) / 3.0, dtype=np.float32)
    return np.stack([rel, idx == 0, idx == n - 1, idx == 1, idx == n - 2, length], axis=1).astype(np.float32)


def word_buckets(sentence: str, buckets: int) -> list[int]:
    """The hashed words, word pairs and first two words of a sentence (each bucket once): the cue
    phrases of a role ("we propose", "results show", "%") that a sentence vector blurs into its topic."""
    words = _WORD.findall(sentence.lower())
    pairs = [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]
    tokens = words + pairs + [f"^{w}" for w in words[:2]]
    return sorted({zlib.crc32(token.encode("utf-8")) % buckets for token in tokens}) or [0]


@dataclass(frozen=True)
class Sentences:
    """The inputs of the sentences of a few abstracts at once: their token states stacked (and where each
    sentence's tokens start), mean-pooled vectors, word buckets (flat, with each sentence's first) and
    positions, and each abstract's sentences as rows of an index (for the GRU, which reads them in
    parallel)."""

    states: np.ndarray  # all tokens x 384
    starts: np.ndarray  # first token of each sentence
    counts: np.ndarray  # tokens of each sentence (>= 1)
    vectors: np.ndarray  # sentences x 384
    words: np.ndarray  # every sentence's word buckets, one after the other
    word_starts: np.ndarray  # where each sentence's buckets start in ``words``
    positions: np.ndarray  # sentences x 6
    order: np.ndarray  # abstracts x longest: sentence indices in abstract order (padded with 0)
    backward: np.ndarray  # the same, each abstract's sentences last to first
    valid: np.ndarray  # abstracts x longest: where ``order`` and ``backward`` hold a sentence

    @classmethod
    def of(cls, abstracts: Sequence[tuple[Sequence[np.ndarray], Sequence[str]]], buckets: int) -> Sentences:
        states = [np.nan_to_num(np.asarray(t, dtype=np.float32)).reshape(-1, DIMENSIONS)
                  for tokens, _ in abstracts for t in tokens]
        states = [t if len(t) else np.zeros((1, DIMENSIONS), dtype=np.float32) for t in states]
        counts = np.array([len(t) for t in states])
        words = [word_buckets(text, buckets) for _, texts in abstracts for text in texts]
        sizes = np.array([len(tokens) for tokens, _ in abstracts])
        first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        step = np.arange(sizes.max())[None, :]
        valid = step < sizes[:, None]
        stacked, starts = np.concatenate(states), np.concatenate([[0], np.cumsum(counts)[:-1]])
        return cls(states=stacked, starts=starts, counts=counts,
                   vectors=pool(np.add.reduceat(stacked, starts, axis=0)[:, None, :]),  # normalized: = mean
                   words=np.array([b for w in words for b in w]),
                   word_starts=np.concatenate([[0], np.cumsum([len(w) for w in words])[:-1]]),
                   positions=np.concatenate([position_features(int(n)) for n in sizes]),
                   order=np.where(valid, first[:, None] + step, 0),
                   backward=np.where(valid, first[:, None] + sizes[:, None] - 1 - step, 0), valid=valid)


def sentence_inputs(member: Member, batch: Sentences) -> np.ndarray:
    """Each sentence's row into the GRU's layer: position, vector, words, convolution, attention."""
    states, starts, counts = batch.states, batch.starts, batch.counts
    # The convolution (kernel 3, zero padding) over each sentence's tokens, max-pooled per sentence: one
    # product gives each token's share of its left, centre and right output, then the shares shift.
    left, centre, right = np.split(states @ member.conv_w, 3, axis=1)
    first = np.zeros(len(states), dtype=bool)
    first[starts] = True
    conv = centre + member.conv_b
    conv[1:] += np.where(first[1:, None], 0.0, left[:-1])  # a sentence's first token has no left neighbour
    conv[:-1] += np.where(first[1:, None], 0.0, right[1:])  # and its last no right one
    conv = np.maximum.reduceat(np.maximum(conv, 0.0), starts, axis=0)
    # The attention pooling: a softmax over each sentence's tokens.
    score = states @ member.att_w + member.att_b[0]
    weight = np.exp(score - np.repeat(np.maximum.reduceat(score, starts), counts))
    weight = weight / np.repeat(np.add.reduceat(weight, starts), counts)
    attended = np.add.reduceat(states * weight[:, None], starts, axis=0)
    sizes = np.diff(np.append(batch.word_starts, len(batch.words)))
    words = np.add.reduceat(member.bag[batch.words], batch.word_starts, axis=0) / sizes[:, None]
    return np.concatenate([batch.positions, batch.vectors, words, conv, attended], axis=1)


def _gru(x: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b_ih: np.ndarray, b_hh: np.ndarray) -> np.ndarray:
    """A GRU (PyTorch's equations) over ``x`` (abstracts x steps x inputs), all abstracts in parallel;
    returns every step's state. Padding comes after an abstract's last step, so it never reaches a real
    step's state."""
    hidden = w_hh.shape[0]
    gates_x = x @ w_ih + b_ih
    h = np.zeros((x.shape[0], hidden), dtype=np.float32)
    out = np.zeros((x.shape[0], x.shape[1], hidden), dtype=np.float32)
    for step in range(x.shape[1]):
        gx, gh = gates_x[:, step], h @ w_hh + b_hh
        r = 1.0 / (1.0 + np.exp(-(gx[:, :hidden] + gh[:, :hidden])))
        z = 1.0 / (1.0 + np.exp(-(gx[:, hidden:2 * hidden] + gh[:, hidden:2 * hidden])))
        n = np.tanh(gx[:, 2 * hidden:] + r * gh[:, 2 * hidden:])
        h = (1.0 - z) * n + z * h
        out[:, step] = h
    return out


def member_log_probs(member: Member, batch: Sentences) -> np.ndarray:
    """One member's log-probabilities of each role for every sentence of the batch."""
    h = np.maximum(sentence_inputs(member, batch) @ member.inp_w + member.inp_b, 0.0)
    forward = np.zeros((len(h), member.f_hh.shape[0]), dtype=np.float32)
    backward = np.zeros_like(forward)
    forward[batch.order[batch.valid]] = _gru(h[batch.order], member.f_ih, member.f_hh, member.f_bih,
                                             member.f_bhh)[batch.valid]
    backward[batch.backward[batch.valid]] = _gru(h[batch.backward], member.b_ih, member.b_hh, member.b_bih,
                                                 member.b_bhh)[batch.valid]
    logits = np.concatenate([forward, backward, h], axis=1) @ member.out_w + member.out_b
    logits = logits - logits.max(axis=1, keepdims=True)
    return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))


def log_probs(model: RoleModel, abstracts: Sequence[tuple[Sequence[np.ndarray], Sequence[str]]]
              ) -> list[np.ndarray]:
    """The vote's log-probabilities (sentences x 5) of each abstract, given its sentences' token states
    and texts; ``ROLE_BATCH`` abstracts at a time (small arrays are faster than one big one)."""
    out: list[np.ndarray] = []
    for first in range(0, len(abstracts), ROLE_BATCH):
        chunk = abstracts[first:first + ROLE_BATCH]
        batch = Sentences.of(chunk, model.buckets)
        total = sum(member_log_probs(member, batch) for member in model.members) / len(model.members)
        out += np.split(total, np.cumsum([len(tokens) for tokens, _ in chunk])[:-1])
    return out


def _weights(data: Mapping[str, np.ndarray], key: str) -> np.ndarray:
    """One array as float32: int8 ones times their per-column scale (``<key>.scale``)."""
    array = data[key].astype(np.float32)
    if f"{key}.scale" in data:
        array *= data[f"{key}.scale"].astype(np.float32)
    return array


@cache
def load_model(path: Path = WEIGHTS) -> RoleModel:
    """The shipped weights, read once per process (int8 and float16 on disk, float32 in use)."""
    with np.load(path) as stored:
        data = {key: stored[key] for key in stored.files}
    members = tuple(Member(**{name: _weights(data, f"{i}.{name}") for name in MEMBER_ARRAYS})
                    for i in range(int(data["members"][0])))
    return RoleModel(version=str(data["version"]), buckets=int(data["buckets"][0]), members=members)


def predict_many(abstracts: Sequence[tuple[Sequence[np.ndarray], Sequence[str]]],
                 model: RoleModel | None = None) -> list[list[tuple[str, float]]]:
    """The role of each sentence of each abstract (given its token states and texts, in abstract order)
    and how sure the vote is."""
    model = model or load_model()
    readable = [bool(len(tokens)) and all(np.ndim(t) == 2 and np.shape(t)[1] == DIMENSIONS for t in tokens)
                for tokens, _ in abstracts]
    scores = iter(log_probs(model, [a for a, ok in zip(abstracts, readable, strict=True) if ok]))
    out: list[list[tuple[str, float]]] = []
    for (tokens, _), ok in zip(abstracts, readable, strict=True):
        if not ok:  # no sentences, or another model's states: the roles are unknown
            out.append([("other", 0.0)] * len(tokens))
            continue
        probs = np.exp(next(scores))
        probs = probs / probs.sum(axis=1, keepdims=True)
        best = probs.argmax(axis=1)
        out.append([(ROLES[k], round(float(p[k]), 3)) for p, k in zip(probs, best, strict=True)])
    return out


def predict(tokens: Sequence[np.ndarray], sentences: Sequence[str] | None = None,
            model: RoleModel | None = None) -> list[tuple[str, float]]:
    """The role of each sentence of one abstract (given its token states and texts) and how sure the
    vote is."""
    return predict_many([(tokens, sentences if sentences is not None else [""] * len(tokens))], model)[0]


def model_version() -> str:
    """The shipped model's version: cached roles name it, so new weights redo them (new weights also bump
    the offline summary's ``OFFLINE_VERSION``, whose fields come from the roles)."""
    return load_model().version


def remember_roles(db_path: Path, papers: Sequence[Paper], roles: dict[str, list[SentenceRole]]) -> None:
    """Keep roles computed elsewhere (the offline summary computes them on its way)."""
    remember_sentence_roles(db_path, model_version(), [
        (p.id, p.abstract, [r.model_dump() for r in roles[p.id]]) for p in papers if p.id in roles])


def roles_of(split: dict[str, list[str]], tokens: Sequence[np.ndarray]) -> dict[str, list[SentenceRole]]:
    """The roles of each paper's sentences (``split``: id -> sentences, in order), given every sentence's
    token states in the same order: one batch for all."""
    abstracts, start = [], 0
    for sentences in split.values():
        abstracts.append((tokens[start:start + len(sentences)], sentences))
        start += len(sentences)
    return {pid: [SentenceRole(text=text, role=role, confidence=conf)
                  for text, (role, conf) in zip(sentences, predicted, strict=True)]
            for (pid, sentences), predicted in zip(split.items(), predict_many(abstracts), strict=True)}


def abstract_roles(papers: Sequence[Paper], *, store: PaperStore,
                   db_path: Path) -> dict[str, list[SentenceRole]]:
    """Each paper's abstract sentences with their roles: remembered ones reused, the others computed in
    batches of ``ROLE_BATCH`` papers and remembered (roles are made when first shown or summarized, never
    at ingest)."""
    version = model_version()
    known = remembered_sentence_roles(db_path, version, {p.id: p.abstract for p in papers})
    out = {pid: [SentenceRole.model_validate(r) for r in rows] for pid, rows in known.items()}
    todo = [p for p in papers if p.id not in out]
    for start in range(0, len(todo), ROLE_BATCH):
        batch = todo[start:start + ROLE_BATCH]
        split = {p.id: split_sentences(p.abstract) for p in batch}
        roles = roles_of(split, store.embed_tokens([s for p in batch for s in split[p.id]]))
        remember_roles(db_path, batch, roles)
        out.update(roles)
    return out
