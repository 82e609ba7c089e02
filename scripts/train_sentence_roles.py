"""Train the sentence-role model that ships in papercast/data/sentence_roles.npz, from CSAbstruct.

CSAbstruct (allenai/sequential_sentence_classification, data/CSAbstruct/, Apache-2.0) labels every
sentence of 2,189 computer-science abstracts background, objective, method, result or other. The data
never ships: this script reads it from a folder holding train.jsonl, dev.jsonl and test.jsonl, runs the
bundled MiniLM over every sentence once (its token states are cached in --cache: that is the slow part),
trains ``--members`` models of ``papercast.tools.writing.roles`` from different seeds on train, keeps
each one's weights averaged over the epochs around the one that reads dev best (accuracy + macro-F1;
``--average`` epochs either side), and writes their weights (the large
matrices as int8 with a float16 scale per column, the rest as float16). papercast reads them with numpy
alone; training needs PyTorch, which papercast does not: ``pip install torch``.
Run: .venv/bin/python scripts/train_sentence_roles.py CSABSTRUCT_DIR [--cache F] [--out F]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from papercast.tools.writing.roles import DIMENSIONS, ROLES, position_features, word_buckets

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "papercast" / "data" / "sentence_roles.npz"
SPLITS = ("train", "dev", "test")
QUANTIZED = ("bag", "conv_w", "inp_w")  # most of the weights: int8 cost 0.001 of dev accuracy


def read_split(folder: Path, split: str) -> list[dict]:
    """The abstracts of one split: {"sentences": [...], "labels": [...]} per line."""
    with (folder / f"{split}.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def token_states(folder: Path, cache: Path | None) -> dict[str, tuple[list[dict], list[list[np.ndarray]]]]:
    """Every split's abstracts and the token states of each of their sentences, cached on disk."""
    data = {split: read_split(folder, split) for split in SPLITS}
    if cache is not None and cache.is_file():
        stored = np.load(cache)
        flat = {}
        for split in SPLITS:
            bounds = np.concatenate([[0], np.cumsum(stored[f"{split}_n"])])
            states = stored[f"{split}_h"]
            flat[split] = [states[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    else:
        from papercast.store.embeddings import get_embedder

        embedder = get_embedder()
        flat = {}
        for split in SPLITS:
            texts = [s for row in data[split] for s in row["sentences"]]
            began = time.perf_counter()
            flat[split] = [t.astype(np.float16) for t in embedder.embed_tokens(texts)]
            print(f"embedded {split}: {len(texts)} sentences in {time.perf_counter() - began:.1f} s",
                  file=sys.stderr)
        if cache is not None:
            np.savez(cache, **{f"{split}_h": np.concatenate(flat[split]) for split in SPLITS},
                     **{f"{split}_n": np.array([len(t) for t in flat[split]]) for split in SPLITS})
    out = {}
    for split in SPLITS:
        abstracts, start = [], 0
        for row in data[split]:
            abstracts.append(flat[split][start:start + len(row["sentences"])])
            start += len(row["sentences"])
        out[split] = (data[split], abstracts)
    return out


def scores(y: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    """Accuracy and macro-F1."""
    f1 = []
    for k in range(len(ROLES)):
        tp = int(((pred == k) & (y == k)).sum())
        f1.append(2 * tp / max(int((pred == k).sum() + (y == k).sum()), 1))
    return float((pred == y).mean()), float(np.mean(f1))


def network(buckets: int, words: int, channels: int, width: int, hidden: int, dropout: float) -> Any:
    """The PyTorch twin of one ``roles.Member`` (the same layers, in the order ``sentence_inputs`` and
    ``member_log_probs`` apply them)."""
    import torch
    from torch import nn

    class Member(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bag = nn.EmbeddingBag(buckets, words, mode="mean")
            self.conv = nn.Conv1d(DIMENSIONS, channels, 3, padding=1)
            self.att = nn.Linear(DIMENSIONS, 1)
            inputs = len(position_features(1)[0]) + DIMENSIONS + words + channels + DIMENSIONS
            self.inp = nn.Sequential(nn.Dropout(dropout), nn.Linear(inputs, width), nn.ReLU(),
                                     nn.Dropout(dropout))
            self.rnn = nn.GRU(width, hidden, bidirectional=True, batch_first=True)
            self.out = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * hidden + width, len(ROLES)))

        def sentences(self, states: list[Any]) -> Any:
            lengths = torch.tensor([len(s) for s in states])
            x = nn.utils.rnn.pad_sequence(states, batch_first=True)
            mask = torch.arange(x.shape[1])[None, :] < lengths[:, None]
            conv = torch.relu(self.conv(x.transpose(1, 2))).transpose(1, 2)
            conv = conv.masked_fill(~mask[..., None], -1e4).max(1).values
            weight = self.att(x).squeeze(-1).masked_fill(~mask, -1e4).softmax(1)
            vectors = x.sum(1) / lengths[:, None]
            vectors = vectors / vectors.norm(dim=1, keepdim=True).clamp_min(1e-12)
            return vectors, conv, (weight[..., None] * x).sum(1)

        def forward(self, batch: list[dict]) -> tuple[Any, Any]:
            vectors, conv, attended = self.sentences([s for a in batch for s in a["states"]])
            rows, start = [], 0
            for a in batch:
                n = len(a["states"])
                words = self.bag(a["words"], a["offsets"])
                rows.append(torch.cat([a["position"], vectors[start:start + n], words,
                                       conv[start:start + n], attended[start:start + n]], 1))
                start += n
            lengths = torch.tensor([len(r) for r in rows])
            h = self.inp(nn.utils.rnn.pad_sequence(rows, batch_first=True))
            packed = nn.utils.rnn.pack_padded_sequence(h, lengths, batch_first=True, enforce_sorted=False)
            o, _ = self.rnn(packed)
            o, _ = nn.utils.rnn.pad_packed_sequence(o, batch_first=True, total_length=h.shape[1])
            return self.out(torch.cat([o, h], 2)), lengths

    return Member()


def tensors(split: tuple[list[dict], list[list[np.ndarray]]], buckets: int) -> list[dict]:
    """One dict of tensors per abstract: its sentences' token states, word buckets, positions, labels."""
    import torch

    out = []
    for row, states in zip(*split, strict=True):
        ids = [word_buckets(s, buckets) for s in row["sentences"]]
        out.append({
            "states": [torch.tensor(s.astype(np.float32)) for s in states],
            "words": torch.tensor([b for i in ids for b in i]),
            "offsets": torch.tensor(np.concatenate([[0], np.cumsum([len(i) for i in ids])[:-1]])),
            "position": torch.tensor(position_features(len(states))),
            "labels": torch.tensor([ROLES.index(label) for label in row["labels"]]),
        })
    return out


def log_probs(model: Any, rows: list[dict]) -> np.ndarray:
    """Log-probabilities of every sentence of ``rows`` (in order), in eval mode."""
    import torch

    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(rows), 32):
            batch = rows[start:start + 32]
            logits, lengths = model(batch)
            out += [logits[i, :lengths[i]].log_softmax(1).numpy() for i in range(len(batch))]
    return np.concatenate(out)


def train_member(data: dict[str, list[dict]], seed: int, args: argparse.Namespace) -> dict[str, np.ndarray]:
    """One member trained from ``seed``: its weights averaged over the epochs ``args.average`` either side
    of the one that reads dev best (a flatter point of the same run; every member read better on held-out
    dev so, 8 of 8 in docs/benchmarks.md), or that epoch's alone when ``args.average`` is 0."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = network(args.buckets, args.words, args.channels, args.width, args.hidden, args.dropout)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    y_dev = np.concatenate([a["labels"].numpy() for a in data["dev"]])
    best: tuple[float, int] = (-1.0, -1)
    states: list[dict[str, Any]] = []
    for epoch in range(args.epochs):
        model.train()
        order = rng.permutation(len(data["train"]))
        for start in range(0, len(order), 16):
            batch = [data["train"][i] for i in order[start:start + 16]]
            logits, _ = model(batch)
            labels = nn.utils.rnn.pad_sequence([a["labels"] for a in batch], batch_first=True,
                                               padding_value=-100)
            loss = nn.functional.cross_entropy(logits.reshape(-1, len(ROLES)), labels.reshape(-1),
                                               ignore_index=-100)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        states.append({k: v.clone() for k, v in model.state_dict().items()})
        accuracy, macro_f1 = scores(y_dev, log_probs(model, data["dev"]).argmax(1))
        if accuracy + macro_f1 > best[0]:
            best = (accuracy + macro_f1, epoch)
    around = states[max(0, best[1] - args.average): best[1] + args.average + 1]
    model.load_state_dict({k: sum(s[k].float() for s in around) / len(around) for k in around[0]})
    accuracy, macro_f1 = scores(y_dev, log_probs(model, data["dev"]).argmax(1))
    print(f"member {seed}: dev {best[0]:.3f} (accuracy + macro-F1) at epoch {best[1]}; averaged over "
          f"{len(around)} epochs {accuracy + macro_f1:.3f}", file=sys.stderr)
    return {k: v.numpy() for k, v in model.state_dict().items()}


def member_arrays(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A PyTorch state as ``roles.Member``'s arrays (matrices transposed to rows x outputs)."""
    conv = state["conv.weight"]  # channels x 384 x 3 (left, centre, right)
    return {"bag": state["bag.weight"], "conv_w": conv.transpose(1, 2, 0).reshape(DIMENSIONS, -1),
            "conv_b": state["conv.bias"], "att_w": state["att.weight"][0], "att_b": state["att.bias"],
            "inp_w": state["inp.1.weight"].T, "inp_b": state["inp.1.bias"],
            "f_ih": state["rnn.weight_ih_l0"].T, "f_hh": state["rnn.weight_hh_l0"].T,
            "f_bih": state["rnn.bias_ih_l0"], "f_bhh": state["rnn.bias_hh_l0"],
            "b_ih": state["rnn.weight_ih_l0_reverse"].T, "b_hh": state["rnn.weight_hh_l0_reverse"].T,
            "b_bih": state["rnn.bias_ih_l0_reverse"], "b_bhh": state["rnn.bias_hh_l0_reverse"],
            "out_w": state["out.1.weight"].T, "out_b": state["out.1.bias"]}


def save(path: Path, version: str, buckets: int, members: list[dict[str, np.ndarray]]) -> None:
    """The weights file ``roles.load_model`` reads."""
    arrays: dict[str, np.ndarray] = {"version": np.array(version), "buckets": np.array([buckets]),
                                     "members": np.array([len(members)])}
    for i, member in enumerate(members):
        for name, value in member.items():
            value = np.ascontiguousarray(value, dtype=np.float32)
            if name in QUANTIZED:
                scale = np.maximum(np.abs(value).max(axis=0), 1e-8) / 127.0
                arrays[f"{i}.{name}"] = np.round(value / scale).astype(np.int8)
                arrays[f"{i}.{name}.scale"] = scale.astype(np.float16)
            else:
                arrays[f"{i}.{name}"] = value.astype(np.float16)
    np.savez_compressed(path, **arrays)


def report(path: Path, split: tuple[list[dict], list[list[np.ndarray]]], name: str) -> None:
    """The saved model's accuracy and macro-F1 on a split, read back through papercast's numpy code."""
    from papercast.tools.writing.roles import load_model, predict_many

    rows, states = split
    predicted = predict_many([(s, row["sentences"]) for row, s in zip(rows, states, strict=True)],
                             load_model(path))
    y = np.array([ROLES.index(label) for row in rows for label in row["labels"]])
    pred = np.array([ROLES.index(role) for abstract in predicted for role, _ in abstract])
    accuracy, macro_f1 = scores(y, pred)
    print(f"{name}: accuracy {accuracy:.3f}, macro-F1 {macro_f1:.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="CSAbstruct folder with train/dev/test .jsonl")
    parser.add_argument("--cache", type=Path, help="file for the token states (made on first run)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--embed-only", action="store_true", help="only embed (fill the cache)")
    parser.add_argument("--members", type=int, default=4, help="models in the vote (seeds 0..N-1)")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--buckets", type=int, default=4096, help="hashed word buckets")
    parser.add_argument("--words", type=int, default=32, help="size of a sentence's word vector")
    parser.add_argument("--channels", type=int, default=64, help="convolution channels over the tokens")
    parser.add_argument("--width", type=int, default=128, help="size of a sentence's row into the GRU")
    parser.add_argument("--hidden", type=int, default=64, help="GRU units per direction")
    parser.add_argument("--dropout", type=float, default=0.5)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--weight-decay", type=float, default=1e-2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--average", type=int, default=2,
                        help="average each member's weights over this many epochs either side of its best")
    args = parser.parse_args(argv)
    data = token_states(args.folder, args.cache)
    if args.embed_only:
        return 0
    import torch

    torch.set_num_threads(args.threads)
    rows = {split: tensors(data[split], args.buckets) for split in ("train", "dev")}
    began = time.perf_counter()
    members = [member_arrays(train_member(rows, seed, args)) for seed in range(args.members)]
    version = f"roles-gru{args.members}-tokens-b{args.buckets}"
    version += f"-avg{args.average}" if args.average else ""
    save(args.out, version, args.buckets, members)
    print(f"{version}: {args.out} {args.out.stat().st_size / 1e6:.2f} MB, trained in "
          f"{time.perf_counter() - began:.0f} s")
    report(args.out, data["dev"], "dev")
    report(args.out, data["test"], "test")
    return 0


if __name__ == "__main__":
    sys.exit(main())
