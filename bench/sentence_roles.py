"""Sentence roles: the shipped model on CSAbstruct's test split, the offline summary's fields, and speed.

* Quality: accuracy, macro-F1, per-class precision/recall/F1 and the confusion matrix on the test split
  (226 abstracts, 1,349 sentences; never seen in training; dev picked the settings).
* The offline summary on the test abstracts: how often ``results`` holds a sentence labelled result and
  ``method`` one labelled method or objective (CSAbstruct's "idea"), and what the ``contributions`` are
  labelled, for the role-based fields (v2) and the hand rules of v1 (``roles=None``) side by side. A
  stand-in for the issue's held-out set.
* Speed: roles for one 10-sentence abstract (its token states included, and the model alone), and for
  N abstracts (default 1,000, taken from train+dev+test) against embedding their sentences, interleaved
  runs, medians.

Run: .venv/bin/python bench/sentence_roles.py CSABSTRUCT_DIR [--cache FILE] [--abstracts N] [--repeats R]
[--split dev]
(the folder with CSAbstruct's train/dev/test.jsonl; --cache: the token states file the training script
made).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

from train_sentence_roles import token_states  # noqa: E402

from papercast.models import Paper  # noqa: E402
from papercast.store.embeddings import get_embedder  # noqa: E402
from papercast.store.embeddings.bundled import pool  # noqa: E402
from papercast.tools.writing.roles import ROLES, WEIGHTS, load_model, predict, predict_many  # noqa: E402
from papercast.tools.writing.summarize import extractive_summary  # noqa: E402
from papercast.tools.writing.summary_text import read_alone  # noqa: E402


def quality(rows: list[dict], states: list[list[np.ndarray]]) -> None:
    y = np.array([ROLES.index(label) for row in rows for label in row["labels"]])
    predicted = predict_many([(s, row["sentences"]) for row, s in zip(rows, states, strict=True)])
    pred = np.array([ROLES.index(role) for abstract in predicted for role, _ in abstract])
    k = len(ROLES)
    confusion = np.zeros((k, k), dtype=int)
    for a, b in zip(y, pred, strict=True):
        confusion[a, b] += 1
    f1s = []
    print(f"{'role':<11} {'precision':>9} {'recall':>7} {'F1':>6} {'support':>8}")
    for i, role in enumerate(ROLES):
        tp = confusion[i, i]
        precision = tp / max(confusion[:, i].sum(), 1)
        recall = tp / max(confusion[i].sum(), 1)
        f1 = 2 * precision * recall / max(precision + recall, 1e-9)
        f1s.append(f1)
        print(f"{role:<11} {precision:9.3f} {recall:7.3f} {f1:6.3f} {confusion[i].sum():8d}")
    print(f"accuracy {float((y == pred).mean()):.3f}  macro-F1 {float(np.mean(f1s)):.3f}  "
          f"({len(rows)} abstracts, {len(y)} sentences)")
    print("confusion (rows: labelled, columns: predicted)")
    print(" " * 11 + "".join(f"{r[:6]:>8}" for r in ROLES))
    for i, role in enumerate(ROLES):
        print(f"{role:<11}" + "".join(f"{n:8d}" for n in confusion[i]))


def summaries(rows: list[dict], states: list[list[np.ndarray]]) -> None:
    """How often each summary field holds a sentence of its role, with roles (v2) and without (v1)."""
    for name, use_roles in (("v1 hand rules", False), ("v2 by role", True)):
        hits = {"results": [0, 0], "method": [0, 0], "tldr": [0, 0]}
        items, background = [0, 0], 0
        wanted = {"results": {"result"}, "method": {"method", "objective"}, "tldr": {"objective", "method"}}
        for i, (row, s) in enumerate(zip(rows, states, strict=True)):
            paper = Paper(id=f"2601.{i:05d}", title="t", abstract=" ".join(row["sentences"]))
            roles = predict(s, row["sentences"]) if use_roles else None
            vectors = np.stack([pool(t.astype(np.float32)) for t in s])
            summary = extractive_summary(paper, vectors, None, list(row["sentences"]), roles)
            for field, labels in wanted.items():
                marked = [s for s, label in zip(row["sentences"], row["labels"], strict=True)
                          if label in labels]
                if not marked:
                    continue
                hits[field][1] += 1
                text = getattr(summary, field).rstrip("…")
                hits[field][0] += any(s in text or (text and read_alone(s).startswith(text)) for s in marked)
            label_of = dict(zip(row["sentences"], row["labels"], strict=True))
            said = [label_of.get(c) for c in summary.contributions]
            items[0] += sum(label in ("objective", "method", "result") for label in said)
            items[1] += len(said)
            background += any(label in ("background", "other") for label in said)
        print(f"{name:<14}" + "  ".join(f"{f} holds its role {h}/{n} = {h / max(n, 1):.0%}"
                                        for f, (h, n) in hits.items()))
        share = items[0] / max(items[1], 1)
        print(f"{'':<14}contributions: {items[0]}/{items[1]} = {share:.0%} of the items objective, method or "
              f"result, {items[1] / len(rows):.2f} a paper; {background} of {len(rows)} papers with a "
              "background or other sentence among them")


def speed(rows: list[dict], states: list[list[np.ndarray]], repeats: int) -> None:
    """Embedding alone against what roles cost in use: the token states (the same model pass as
    embedding, which the offline summary pools into its vectors) and the role model."""
    embedder = get_embedder()
    model = load_model()
    ten = next(row["sentences"] for row in rows if len(row["sentences"]) >= 10)[:10]
    ten_states = embedder.embed_tokens(ten)
    embed_one, model_one, both_one = [], [], []
    for _ in range(max(repeats, 5)):
        began = time.perf_counter()
        embedder.embed(ten)
        embed_one.append(time.perf_counter() - began)
        began = time.perf_counter()
        predict(embedder.embed_tokens(ten), ten, model)
        both_one.append(time.perf_counter() - began)
        began = time.perf_counter()
        predict(ten_states, ten, model)
        model_one.append(time.perf_counter() - began)
    print(f"one 10-sentence abstract: roles {statistics.median(both_one) * 1000:.1f} ms with its token "
          f"states (embedding alone {statistics.median(embed_one) * 1000:.1f} ms), the role model alone "
          f"{statistics.median(model_one) * 1000:.2f} ms (medians of {len(both_one)})")
    texts = [row["sentences"] for row in rows]
    flat = [s for t in texts for s in t]
    embed_times, roles_times = [], []
    for _ in range(repeats):  # interleaved: embedding alone, then token states + roles
        began = time.perf_counter()
        embedder.embed(flat)
        embed_times.append(time.perf_counter() - began)
        began = time.perf_counter()
        out = embedder.embed_tokens(flat)
        abstracts, start = [], 0
        for t in texts:
            abstracts.append((out[start:start + len(t)], t))
            start += len(t)
        predict_many(abstracts, model)
        roles_times.append(time.perf_counter() - began)
    e, r = statistics.median(embed_times), statistics.median(roles_times)
    print(f"{len(texts)} abstracts ({len(flat)} sentences): embedding {e:.1f} s, token states + roles "
          f"{r:.1f} s = {r / e:.2f}x (medians of {repeats})")
    began = time.perf_counter()
    predict_many([(s, t) for t, s in zip(texts, states, strict=True)], model)
    print(f"the role model alone over {len(texts)} abstracts: {time.perf_counter() - began:.2f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--cache", type=Path)
    parser.add_argument("--abstracts", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--split", choices=["test", "dev"], default="test",
                        help="where quality and summaries are measured (dev: the split choices are made on)")
    args = parser.parse_args(argv)
    data = token_states(args.folder, args.cache)
    print(f"model {load_model().version}: {WEIGHTS.name} {WEIGHTS.stat().st_size / 1e6:.2f} MB")
    rows, states = data[args.split]
    quality(rows, states)
    summaries(rows, states)
    if not args.no_speed:
        pool = [(r, v) for split in ("train", "dev", "test") for r, v in zip(*data[split], strict=True)]
        picked = pool[:args.abstracts]
        speed([r for r, _ in picked], [v for _, v in picked], args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
