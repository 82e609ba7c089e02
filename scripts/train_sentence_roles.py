"""Train the sentence-role model that ships in papercast/data/sentence_roles.npz, from CSAbstruct.

CSAbstruct (allenai/sequential_sentence_classification, data/CSAbstruct/, Apache-2.0) labels every
sentence of 2,189 computer-science abstracts background, objective, method, result or other. The data
never ships: this script reads it from a folder holding train.jsonl, dev.jsonl and test.jsonl, embeds the
sentences with the bundled MiniLM (cached in --cache, since that is the slow part), fits the softmax
layer of ``papercast.tools.writing.roles`` on train (dev picks the settings) and writes the weights
as float16. Run: .venv/bin/python scripts/train_sentence_roles.py CSABSTRUCT_DIR [--cache F]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from papercast.tools.writing.roles import (
    ROLES,
    STACK,
    RoleModel,
    context_features,
    features,
    lexical,
    predict,
)

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "papercast" / "data" / "sentence_roles.npz"
SPLITS = ("train", "dev", "test")


def read_split(folder: Path, split: str) -> list[dict]:
    """The abstracts of one split: {"sentences": [...], "labels": [...]} per line."""
    with (folder / f"{split}.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def embedded(folder: Path, cache: Path | None) -> dict[str, tuple[list[dict], list[np.ndarray]]]:
    """Every split's abstracts and their sentence vectors (one array per abstract), cached on disk."""
    data = {split: read_split(folder, split) for split in SPLITS}
    if cache is not None and cache.is_file():
        stored = np.load(cache)
        flat = {split: stored[split].astype(np.float32) for split in SPLITS}
    else:
        from papercast.store.embeddings import get_embedder

        embedder = get_embedder()
        flat = {}
        for split in SPLITS:
            texts = [s for row in data[split] for s in row["sentences"]]
            began = time.perf_counter()
            flat[split] = embedder.embed(texts)
            print(f"embedded {split}: {len(texts)} sentences in {time.perf_counter() - began:.1f} s",
                  file=sys.stderr)
        if cache is not None:
            np.savez_compressed(cache, **{k: v.astype(np.float16) for k, v in flat.items()})
    out = {}
    for split in SPLITS:
        vectors, start = [], 0
        for row in data[split]:
            vectors.append(flat[split][start:start + len(row["sentences"])])
            start += len(row["sentences"])
        out[split] = (data[split], vectors)
    return out


def xy(split: tuple[list[dict], list[np.ndarray]],
       buckets: int = 0) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Features, label ids and abstract lengths of one split."""
    rows, vectors = split
    x = np.concatenate([np.concatenate([features(v), lexical(row["sentences"], buckets)], axis=1)
                        for row, v in zip(rows, vectors, strict=True)])
    y = np.array([ROLES.index(label) for row in rows for label in row["labels"]])
    return x, y, [len(row["labels"]) for row in rows]


def sequence_priors(rows: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Log start, transition and end probabilities (add-one smoothed), and the roles' log prior."""
    k = len(ROLES)
    start, trans, end, prior = np.ones(k), np.ones((k, k)), np.ones(k), np.ones(k)
    for row in rows:
        ids = [ROLES.index(label) for label in row["labels"]]
        start[ids[0]] += 1
        end[ids[-1]] += 1
        for a, b in zip(ids, ids[1:], strict=False):
            trans[a, b] += 1
        for i in ids:
            prior[i] += 1
    return (np.log(start / start.sum()), np.log(trans / trans.sum(axis=1, keepdims=True)),
            np.log(end / end.sum()), np.log(prior / prior.sum()))


def train(x: np.ndarray, y: np.ndarray, hidden: int, epochs: int, decay: float,
          seed: int = 0) -> tuple[tuple[np.ndarray, np.ndarray] | None, tuple[np.ndarray, np.ndarray]]:
    """A softmax layer (with a ReLU hidden layer when ``hidden``) fitted by Adam on mini-batches, with
    dropout on the inputs and L2 weight decay; numpy only."""
    rng = np.random.default_rng(seed)
    k, d = len(ROLES), x.shape[1]
    params = []
    if hidden:
        params += [rng.normal(0, np.sqrt(2 / d), (d, hidden)).astype(np.float32),
                   np.zeros(hidden, np.float32)]
        params += [rng.normal(0, np.sqrt(1 / hidden), (hidden, k)).astype(np.float32),
                   np.zeros(k, np.float32)]
    else:
        params += [np.zeros((d, k), np.float32), np.zeros(k, np.float32)]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    step, lr, batch = 0, 1e-3, 64
    onehot = np.eye(k, dtype=np.float32)[y]
    for _epoch in range(epochs):
        order = rng.permutation(len(x))
        for s in range(0, len(x), batch):
            idx = order[s:s + batch]
            xb = x[idx] * (rng.random((len(idx), d)) > 0.2) / 0.8
            if hidden:
                h_pre = xb @ params[0] + params[1]
                h = np.maximum(h_pre, 0)
                logits = h @ params[2] + params[3]
            else:
                logits = xb @ params[0] + params[1]
            logits -= logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(axis=1, keepdims=True)
            g = (p - onehot[idx]) / len(idx)
            if hidden:
                grads = [None, None, h.T @ g, g.sum(axis=0)]
                gh = (g @ params[2].T) * (h_pre > 0)
                grads[0], grads[1] = xb.T @ gh, gh.sum(axis=0)
            else:
                grads = [xb.T @ g, g.sum(axis=0)]
            step += 1
            for i, (param, grad) in enumerate(zip(params, grads, strict=True)):
                if param.ndim == 2:
                    grad = grad + decay * param
                m[i] = 0.9 * m[i] + 0.1 * grad
                v[i] = 0.999 * v[i] + 0.001 * grad * grad
                param -= lr * (m[i] / (1 - 0.9 ** step)) / (np.sqrt(v[i] / (1 - 0.999 ** step)) + 1e-8)
    if hidden:
        return (params[0], params[1]), (params[2], params[3])
    return None, (params[0], params[1])


def decode(model: RoleModel, split: tuple[list[dict], list[np.ndarray]]) -> np.ndarray:
    """Predicted label ids of every sentence of every abstract."""
    return np.array([ROLES.index(role) for row, v in zip(*split, strict=True)
                     for role, _ in predict(v, row["sentences"], model)])


def scores(y: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    """Accuracy and macro-F1."""
    f1s = []
    for k in range(len(ROLES)):
        tp = float(((pred == k) & (y == k)).sum())
        denom = float((pred == k).sum() + (y == k).sum())
        f1s.append(2 * tp / denom if denom else 0.0)
    return float((pred == y).mean()), float(np.mean(f1s))


def fit(x: np.ndarray, y: np.ndarray, hidden: int, epochs: int, decay: float
        ) -> tuple[tuple[np.ndarray, np.ndarray] | None, tuple[np.ndarray, np.ndarray]]:
    """Logistic regression (scikit-learn's lbfgs, the bench extra: C = 1 / decay) or the numpy MLP."""
    if hidden:
        return train(x, y, hidden, epochs, decay)
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=1.0 / decay, max_iter=500).fit(csr_matrix(x), y)  # sparse: 10x faster
    return None, (clf.coef_.T.astype(np.float32), clf.intercept_.astype(np.float32))


def stacked(model: RoleModel, data: dict, xs: np.ndarray, y: np.ndarray, lengths: list[int], *,
            hidden: int, epochs: int, decay: float, units: int, folds: int = 5) -> RoleModel:
    """The second stage: a small MLP on each sentence's context of first-stage role probabilities. It
    learns from out-of-fold probabilities on train (folds by abstract), as it will see unseen abstracts."""
    from sklearn.neural_network import MLPClassifier

    abstract = np.repeat(np.arange(len(lengths)), lengths)
    fold = np.random.default_rng(0).integers(0, folds, len(lengths))[abstract]
    probs = np.zeros((len(y), len(ROLES)), dtype=np.float32)
    for f in range(folds):
        layer1, (w2, b2) = fit(xs[fold != f], y[fold != f], hidden, epochs, decay)
        h = xs[fold == f] if layer1 is None else np.maximum(xs[fold == f] @ layer1[0] + layer1[1], 0)
        logits = h @ w2 + b2
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs[fold == f] = p / p.sum(axis=1, keepdims=True)
        print(f"stack: fold {f + 1} of {folds}", file=sys.stderr)
    ends = np.cumsum(lengths)
    x2 = np.concatenate([context_features(probs[e - n:e]) for e, n in zip(ends, lengths, strict=True)])
    mean, scale = x2.mean(axis=0), 1.0 / (x2.std(axis=0) + 1e-3)
    mlp = MLPClassifier(hidden_layer_sizes=(units,), alpha=0.1, max_iter=300, early_stopping=True,
                        random_state=0).fit((x2 - mean) * scale, y)
    arrays = (mean, scale, mlp.coefs_[0], mlp.intercepts_[0], mlp.coefs_[1], mlp.intercepts_[1])
    return replace(model, stack=tuple(a.astype(np.float32) for a in arrays))


def fit_and_save(data: dict, out: Path, *, hidden: int, epochs: int, buckets: int,
                 decays: list[float], lexical_scale: float, units: int = 0) -> int:
    """Fit on train, pick weight decay and the sequence weight on dev, report test, write the weights."""
    x, y, _ = xy(data["train"], buckets)
    dims = x.shape[1] - buckets
    mean = np.zeros(x.shape[1], dtype=np.float32)
    scale = np.full(x.shape[1], lexical_scale, dtype=np.float32)
    mean[:dims] = x[:, :dims].mean(axis=0)
    scale[:dims] = 1.0 / (x[:, :dims].std(axis=0) + 1e-3)
    xs = (x - mean) * scale
    start, trans, end, prior = sequence_priors(data["train"][0])
    dev_y = xy(data["dev"])[1]
    best = None
    for decay in decays:
        began = time.perf_counter()
        layer1, layer2 = fit(xs, y, hidden, epochs, decay)
        first = RoleModel("candidate", mean, scale, layer1, layer2, 0 * start, 0 * trans, 0 * end, buckets)
        if units:
            first = stacked(first, data, xs, y, xy(data["train"])[2], hidden=hidden, epochs=epochs,
                            decay=decay, units=units)
        for weight in (0.0, 0.5, 1.0):
            # The classifier's output already holds the roles' prior; the sequence adds the transitions.
            model = replace(first, start=weight * start, transitions=weight * trans, end=weight * end)
            if model.stack is None:
                model = replace(model, out=(layer2[0], layer2[1] - weight * prior))
            else:
                model = replace(model, stack=(*model.stack[:5], model.stack[5] - weight * prior))
            acc, f1 = scores(dev_y, decode(model, data["dev"]))
            print(f"decay {decay:g} seq {weight}: dev accuracy {acc:.3f} macro-F1 {f1:.3f} "
                  f"({time.perf_counter() - began:.0f} s)", file=sys.stderr)
            if best is None or f1 > best[0]:
                best = (f1, model, decay, weight)
    assert best is not None
    _, model, decay, weight = best
    acc, f1 = scores(xy(data["test"])[1], decode(model, data["test"]))
    print(f"picked decay {decay:g} seq {weight}: test accuracy {acc:.3f} macro-F1 {f1:.3f}", file=sys.stderr)
    kind = f"mlp{hidden}" if hidden else "logreg"
    version = (f"roles-{kind}{f'-lex{buckets}' if buckets else ''}{f'-stack{units}' if units else ''}"
               f"-{time.strftime('%Y%m%d')}")
    arrays = {"mean": model.mean, "scale": model.scale, "w2": model.out[0], "b2": model.out[1],
              "start": model.start, "transitions": model.transitions, "end": model.end}
    if model.hidden is not None:
        arrays |= {"w1": model.hidden[0], "b1": model.hidden[1]}
    if model.stack is not None:
        arrays |= {f"s_{key}": value for key, value in zip(STACK, model.stack, strict=True)}
    np.savez_compressed(out, version=np.array(version), buckets=np.array([buckets]),
                        **{key: value.astype(np.float16) for key, value in arrays.items()})
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB, {version})", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="CSAbstruct folder with train/dev/test .jsonl")
    parser.add_argument("--cache", type=Path, help="file for the sentence vectors (made on first run)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--embed-only", action="store_true", help="only embed (fill the cache)")
    parser.add_argument("--hidden", type=int, default=0, help="hidden units of the numpy MLP "
                        "(0, the default: logistic regression)")
    parser.add_argument("--epochs", type=int, default=30, help="MLP epochs")
    parser.add_argument("--lexical", type=int, default=16384, help="hashed word buckets (0: none)")
    parser.add_argument("--lexical-scale", type=float, default=3.0, help="weight of the word features")
    parser.add_argument("--stack", type=int, default=32, help="hidden units of the second stage "
                        "(0: none)")
    parser.add_argument("--decay", type=float, nargs="+", default=[333.0],
                        help="L2 strengths to try (logistic regression: 1/C)")
    args = parser.parse_args(argv)
    data = embedded(args.folder, args.cache)
    if args.embed_only:
        return 0
    return fit_and_save(data, args.out, hidden=args.hidden, epochs=args.epochs, buckets=args.lexical,
                        decays=args.decay, lexical_scale=args.lexical_scale, units=args.stack)


if __name__ == "__main__":
    sys.exit(main())
