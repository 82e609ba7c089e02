"""Contextual sentence vectors for the role model, on CSAbstruct's dev split (issue 23; tried, not shipped).

Today each sentence is embedded alone. Here the bundled MiniLM reads the whole abstract (windows of whole
sentences within its 512 positions) and its token states are mean-pooled over each sentence's tokens.
* Screen: the first stage only (logistic regression + Viterbi, no words, no second stage) on the sentence
  vectors alone (today), the contextual ones, and both, at three L2 strengths; dev accuracy / macro-F1.
* ``--full``: the shipped recipe (words, second stage) with the contextual vector added to each sentence's
  features, against the same recipe without it, and a paired bootstrap over dev abstracts.
* Speed: one contextual pass against embedding the sentences alone, interleaved runs, medians.

Run: .venv/bin/python bench/sentence_roles_context.py CSABSTRUCT_DIR --cache FILE [--full] [--no-speed]
(--cache: the vectors file of scripts/train_sentence_roles.py; the contextual ones go next to it).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import train_sentence_roles as training  # noqa: E402

import papercast.tools.writing.roles as roles  # noqa: E402
from papercast.store.embeddings import get_embedder  # noqa: E402
from papercast.store.embeddings.bundled import Embedder  # noqa: E402

SPLITS = ("train", "dev")
CLS, SEP, UNK, POSITIONS, SENTENCE_CAP = 101, 102, 100, 510, 256


def contextual(embedder: Embedder, abstracts: list[list[str]], batch: int = 8) -> list[np.ndarray]:
    """Each sentence's mean token state with its abstract around it (L2-normalized), one array per abstract.
    An abstract over 510 tokens is read in runs of whole sentences that fit."""
    runs = []  # (abstract, sentence indices, token ids, each sentence's token span)
    for a, sentences in enumerate(abstracts):
        encoded = embedder._tokenizer.encode_batch([s or " " for s in sentences], add_special_tokens=False)
        ids = [e.ids[:SENTENCE_CAP] or [UNK] for e in encoded]
        window: list[int] = []
        for i in range(len(ids) + 1):
            if window and (i == len(ids) or sum(len(ids[j]) for j in window) + len(ids[i]) > POSITIONS):
                tokens, spans = [CLS], []
                for j in window:
                    spans.append((len(tokens), len(tokens) + len(ids[j])))
                    tokens += ids[j]
                runs.append((a, window, [*tokens, SEP], spans))
                window = []
            if i < len(ids):
                window.append(i)
    out = [np.zeros((len(s), 384), np.float32) for s in abstracts]
    order = sorted(runs, key=lambda run: len(run[2]))
    for start in range(0, len(order), batch):
        chunk = order[start:start + batch]
        ids = np.zeros((len(chunk), max(len(run[2]) for run in chunk)), np.int64)
        for row, run in enumerate(chunk):
            ids[row, :len(run[2])] = run[2]
        mask = (ids > 0).astype(np.int64)
        with embedder._lock:
            states = embedder._session.run(None, {"input_ids": ids, "attention_mask": mask,
                                                  "token_type_ids": np.zeros_like(ids)})[0]
        for row, (a, window, _, spans) in enumerate(chunk):
            for i, (s, e) in zip(window, spans, strict=True):
                v = states[row, s:e].mean(axis=0)
                out[a][i] = v / max(float(np.linalg.norm(v)), 1e-12)
    return out


def with_context(data: dict, cache: Path) -> dict[str, list[np.ndarray]]:
    """The contextual vectors of every split, cached next to the sentence vectors."""
    if cache.is_file():
        stored = np.load(cache)
        flat = {split: stored[split].astype(np.float32) for split in training.SPLITS}
    else:
        flat = {split: np.concatenate(contextual(get_embedder(), [r["sentences"] for r in data[split][0]]))
                for split in training.SPLITS}
        np.savez_compressed(cache, **{k: v.astype(np.float16) for k, v in flat.items()})
    ends = {split: np.cumsum([len(v) for v in data[split][1]]) for split in training.SPLITS}
    return {split: np.split(flat[split], ends[split][:-1]) for split in training.SPLITS}


plain_features = roles.features


def plus_context(vectors: np.ndarray) -> np.ndarray:
    """The shipped features of the first 384 columns (the sentence alone) plus the contextual vector."""
    return np.concatenate([plain_features(vectors[:, :384]), vectors[:, 384:]], axis=1)


def screen(data: dict, ctx: dict) -> None:
    """The first stage alone on each set of vectors: dev accuracy / macro-F1 for Viterbi weights 0, .5, 1."""
    from sklearn.linear_model import LogisticRegression

    start, trans, end, prior = training.sequence_priors(data["train"][0])
    lengths = [len(r["labels"]) for r in data["dev"][0]]
    y = {s: np.array([roles.ROLES.index(label) for r in data[s][0] for label in r["labels"]]) for s in SPLITS}
    kinds = {"alone (today)": lambda a, c: plain_features(a), "contextual": lambda a, c: plain_features(c),
             "alone + contextual": lambda a, c: plus_context(np.concatenate([a, c], axis=1))}
    for name, make in kinds.items():
        x = {s: np.concatenate([make(a, c) for a, c in zip(data[s][1], ctx[s], strict=True)]) for s in SPLITS}
        mean, sd = x["train"].mean(axis=0), x["train"].std(axis=0) + 1e-3
        for c in (0.001, 0.003, 0.01):
            clf = LogisticRegression(C=c, max_iter=500).fit((x["train"] - mean) / sd, y["train"])
            log = clf.predict_log_proba((x["dev"] - mean) / sd)
            cells = []
            for w in (0.0, 0.5, 1.0):
                ends = np.cumsum(lengths)
                pred = [k for e, n in zip(ends, lengths, strict=True)
                        for k in roles.viterbi(log[e - n:e] - w * prior, w * start, w * trans, w * end)]
                acc, f1 = training.scores(y["dev"], np.array(pred))
                cells.append(f"{acc:.3f} / {f1:.3f}")
            print(f"{name:<19} C={c:<6g} Viterbi 0, .5, 1: " + "   ".join(cells), flush=True)


def full(data: dict, ctx: dict, out: Path) -> None:
    """The shipped recipe with and without the contextual vectors (dev picks the Viterbi weight), then a
    paired bootstrap of the difference over dev abstracts."""
    dev_only = {"train": data["train"], "dev": data["dev"], "test": data["dev"]}  # test stays unseen
    without, with_ctx = out.with_name(out.stem + "-without.npz"), out.with_name(out.stem + "-with.npz")
    training.fit_and_save(dev_only, without, hidden=0, epochs=30, buckets=16384, decays=[333.0],
                          lexical_scale=3.0, units=32)
    base = training.decode(roles.load_model(without), data["dev"])
    both = {s: (data[s][0], [np.concatenate([a, c], axis=1) for a, c in zip(data[s][1], ctx[s], strict=True)])
            for s in SPLITS}
    roles.features = training.features = plus_context  # what roles.py would compute if it shipped
    roles.POSITION_FEATURES -= 3 * 384  # predict()'s check of the input's width
    training.fit_and_save({**both, "test": both["dev"]}, with_ctx, hidden=0, epochs=30, buckets=16384,
                          decays=[333.0, 1000.0], lexical_scale=3.0, units=32)
    cand = training.decode(roles.load_model(with_ctx), both["dev"])
    y = np.array([roles.ROLES.index(label) for r in data["dev"][0] for label in r["labels"]])
    lengths = [len(r["labels"]) for r in data["dev"][0]]
    spans = [np.arange(e - n, e) for e, n in zip(np.cumsum(lengths), lengths, strict=True)]
    rng, diffs = np.random.default_rng(0), []
    for _ in range(2000):
        pick = np.concatenate([spans[i] for i in rng.integers(0, len(spans), len(spans))])
        a = training.scores(y[pick], cand[pick])
        b = training.scores(y[pick], base[pick])
        diffs.append((a[0] - b[0], a[1] - b[1]))
    d = np.array(diffs)
    for k, name in enumerate(("accuracy", "macro-F1")):
        print(f"with context - without, dev {name}: {d[:, k].mean():+.3f} "
              f"(95% interval {np.percentile(d[:, k], 2.5):+.3f} to {np.percentile(d[:, k], 97.5):+.3f})")


def speed(data: dict, count: int = 200, repeats: int = 3) -> None:
    """Embedding the sentences alone against one contextual pass, interleaved, medians."""
    embedder = get_embedder()
    abstracts = [r["sentences"] for r in data["train"][0][:count]]
    ten = next(a for a in abstracts if len(a) >= 10)[:10]
    flat = [s for a in abstracts for s in a]
    times: dict[str, list[float]] = {"one alone": [], "one ctx": [], "all alone": [], "all ctx": []}
    for i in range(15):
        for key, call in (("one alone", lambda: embedder.embed(ten)), ("one ctx", lambda: contextual(
                embedder, [ten])), ("all alone", lambda: embedder.embed(flat)),
                ("all ctx", lambda: contextual(embedder, abstracts))):
            if key.startswith("all") and i >= repeats:
                continue
            began = time.perf_counter()
            call()
            times[key].append(time.perf_counter() - began)
    m = {key: statistics.median(v) for key, v in times.items()}
    print(f"one 10-sentence abstract: its sentences alone {m['one alone'] * 1000:.0f} ms, "
          f"one contextual pass {m['one ctx'] * 1000:.0f} ms (medians of 15)")
    print(f"{len(abstracts)} abstracts ({len(flat)} sentences): alone {m['all alone']:.1f} s, contextual "
          f"{m['all ctx']:.1f} s = {m['all ctx'] / m['all alone']:.2f}x (medians of {repeats})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--full", action="store_true", help="also the shipped recipe (~10 min)")
    parser.add_argument("--no-speed", action="store_true")
    args = parser.parse_args(argv)
    data = training.embedded(args.folder, args.cache)
    ctx = with_context(data, args.cache.with_name(args.cache.stem + "-contextual.npz"))
    screen(data, ctx)
    if args.full:
        full(data, ctx, args.cache.with_name(args.cache.stem + "-candidate.npz"))
    if not args.no_speed:
        speed(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
