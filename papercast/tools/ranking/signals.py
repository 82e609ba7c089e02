"""The ranking signals of one profile over one window, before weighting (``score.compute_signals``
fills them in): kept apart so the benchmark can try weights without recomputing them, and so the
reasons (``reasons``) quote the same numbers the score used."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from papercast.models import Paper
from papercast.tools.ranking.pool import Pool


class Candidates(Sequence[Paper]):
    """The papers a profile may see, as a view of the pool's (nothing is read until a paper is used)."""

    def __init__(self, pool: Pool, keep: np.ndarray) -> None:
        self.pool, self.keep = pool, keep

    def __len__(self) -> int:
        return len(self.keep)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return self.pool.papers_at(self.keep[i].tolist())
        return self.pool.papers[int(self.keep[i])]


@dataclass
class Signals:
    """Per-paper signals for one profile over one candidate set, before weighting.

    Kept apart from the weighting so the benchmark can try weights without recomputing them,
    and so the reasons can quote the same numbers the score used. Arrays are over the window's
    papers the profile does not exclude (``keep``: their indices in the pool), the ones it has
    rated included (``read``): those are scored with the rest and never listed.
    """

    pool: Pool
    keep: np.ndarray
    papers: Sequence[Paper]
    values: dict[str, np.ndarray]  # raw signal values (standardized when combined)
    flags: dict[str, np.ndarray]  # 0/1 signals (authors, categories): not standardized
    n_liked: int = 0
    queries: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    raw_sims: np.ndarray | None = None  # (queries, papers) plain cosine
    liked_plain: np.ndarray | None = None  # the liked papers' unit vectors, not centred (for ``like_raw``)
    dislike_raw: np.ndarray | None = None  # (disliked, papers) centred cosine
    pos_ids: list[str] = field(default_factory=list)
    neg_ids: list[str] = field(default_factory=list)
    passed_raw: np.ndarray | None = None  # (passed over, papers) centred cosine
    passed_ids: list[str] = field(default_factory=list)  # dismissed beside likes (``ratings.passed_over``)
    liked_titles: dict[str, str] = field(default_factory=dict)
    kw_hits: dict[int, list[str]] = field(default_factory=dict)  # paper -> the profile keywords it has
    q_terms: list[str] = field(default_factory=list)
    by_author: dict[int, str] = field(default_factory=dict)  # paper -> the followed author
    in_cat: dict[int, str] = field(default_factory=dict)  # paper -> the profile's category
    age_days: np.ndarray | None = None
    span_days: int = 7
    matched: dict[int, list[str]] = field(default_factory=dict)  # listed paper -> interest terms it uses
    read: np.ndarray = field(default_factory=lambda: np.zeros(0,
                                                              dtype=bool))  # rated: in the maths, not listed
    disliked: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    rated: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # liked, saved or disliked

    def __post_init__(self) -> None:
        # pool index -> candidate index (-1: a paper the profile may not see)
        self.visible = np.full(len(self.pool), -1, dtype=np.int64)
        self.visible[self.keep] = np.arange(len(self.keep))
        self.everything = len(self.keep) == len(self.pool)

    def mine(self, values: np.ndarray) -> np.ndarray:
        """A per-pool-paper array restricted to the candidates (no copy when all are candidates)."""
        return values if self.everything else values[..., self.keep]

    def against(self, vectors: np.ndarray) -> np.ndarray:
        """Centred cosine of each of ``vectors`` (already centred, unit) with every paper: (m, papers)."""
        return self.mine(vectors @ self.pool.cen.T)

    def cen(self, rows: np.ndarray | list[int]) -> np.ndarray:
        """The centred unit vectors of these papers."""
        return self.pool.cen[self.keep[rows]]

    def like_raw(self, rows: np.ndarray | list[int] | None = None) -> np.ndarray | None:
        """Plain cosine of each liked paper with these candidates (all without ``rows``): (liked, rows).
        Only the reasons read it, for the few papers listed, so it is not part of the window's product."""
        if self.liked_plain is None:
            return None
        rows = np.arange(len(self.keep)) if rows is None else np.asarray(rows)
        return self.liked_plain @ self.pool.emb[self.keep[rows]].T
