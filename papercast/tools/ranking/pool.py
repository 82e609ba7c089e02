"""What ranking derives from a set of candidate papers, whatever the profile: computed once per
process and reused by every re-rank of the same window.

The TUI re-ranks the same window after every like, and a 6-month window holds tens of thousands
of papers, so the profile-independent work is done here once: unit and centred vectors, document
texts, the BM25 index, phrase matches, author and category lookups, and each paper's nearest
neighbours in the window (filled in only for the papers that reach the top of some ranking).
A cached window (``tools.window``) owns its pool, so both expire together.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

from papercast.errors import RuntimeFailure
from papercast.models import Paper
from papercast.tools.ranking.lexical import BM25, normalize_phrase, tokens

# Neighbours kept per paper: the k the ranker uses plus spares for the read papers it drops.
NEIGHBOURS_KEPT = 18


def unit(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=-1, keepdims=True)
    return m / np.clip(norms, 1e-9, None)


def name_key(name: str) -> str:
    """An author name reduced to lower-case ASCII words, for matching."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return " ".join(re.findall(r"[a-z]+", text))


def author_match(wanted: Sequence[str], author: Sequence[str]) -> bool:
    """Whether a paper's author is the wanted one, both as ``name_key`` words.

    Same surname, and: the same first name (middle names and initials aside: "Ryan Rossi" /
    "Ryan A. Rossi"), or the same first initial when either side gives only the initial
    ("Y. LeCun" / "Yann LeCun"), or only a surname given ("LeCun").
    One rule for followed authors, ``au:`` searches and ``profile create --from-author``.
    """
    if not wanted or not author or wanted[-1] != author[-1]:
        return False
    if len(wanted) == 1 or wanted[0] == author[0]:
        return True
    return wanted[0][:1] == author[0][:1] and (len(wanted[0]) == 1 or len(author[0]) == 1)


class LibraryChanged(RuntimeFailure):
    """A paper of a loaded window is no longer stored: another process removed it (a user's first
    import drops the bundled sample) between reading the window's columns and parsing its papers.
    Ranking reloads the window once (``window.once_more_if_changed``); this message is what a
    second change in a row shows."""

    def __init__(self, missing: Sequence[str]) -> None:
        shown = ", ".join(list(missing)[:3]) + (" ..." if len(missing) > 3 else "")
        super().__init__(f"the library changed while it was read ({shown} removed by another papercast "
                         "process); run the command again")


class LazyPapers(Sequence[Paper]):
    """Papers built on first access from a loader (the ranking cache's stored JSON): a window of
    20k papers is ranked from its vectors and term counts, and only the few papers shown (or a
    profile's followed authors and categories) need the papers themselves."""

    def __init__(self, ids: Sequence[str], load: Callable[[Sequence[str]], dict[str, Paper]]) -> None:
        self.ids = list(ids)
        self._load = load
        self._got: dict[int, Paper] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def fill(self, rows: Iterable[int]) -> None:
        """Load these rows' papers (one read for all of them)."""
        missing = [i for i in rows if i not in self._got]
        if missing:
            found = self._load([self.ids[i] for i in missing])
            gone = [self.ids[i] for i in missing if self.ids[i] not in found]
            if gone:
                raise LibraryChanged(gone)
            for i in missing:
                self._got[i] = found[self.ids[i]]

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            rows = list(range(len(self.ids)))[i]
            self.fill(rows)
            return [self._got[r] for r in rows]
        i = range(len(self.ids))[i]
        self.fill([i])
        return self._got[i]

    def __iter__(self) -> Iterator[Paper]:
        self.fill(range(len(self.ids)))
        return (self._got[i] for i in range(len(self.ids)))


class Pool:
    """Candidate papers with their vectors, and what ranking needs of them, computed lazily."""

    def __init__(self, papers: Sequence[Paper], matrix: np.ndarray, *, ids: Sequence[str] | None = None,
                 day_numbers: np.ndarray | None = None, upvotes: np.ndarray | None = None,
                 index: BM25 | None = None) -> None:
        """From papers (their text is indexed on first use), or with the columns ranking needs given
        (``ids``, ``day_numbers``, ``upvotes``, ``index``: a window from the ranking cache, whose
        ``papers`` are then a ``LazyPapers``)."""
        self.papers = papers if isinstance(papers, LazyPapers) else list(papers)
        self.ids = list(ids) if ids is not None else [p.id for p in self.papers]
        self.position = {pid: i for i, pid in enumerate(self.ids)}
        self.emb = unit(np.asarray(matrix, dtype=np.float32))
        # MiniLM vectors share a large common direction; removing it makes cosine similarity
        # discriminate between topics.
        self.mean = (self.emb.mean(axis=0) if len(self.emb) > 1
                     else np.zeros(self.emb.shape[1], dtype=np.float32))
        offset = self.emb - self.mean
        self.cen_norm = np.linalg.norm(offset, axis=1)  # plain cosine from centred: q.e = |e-m| q.cen + q.m
        self.cen = offset / np.clip(self.cen_norm, 1e-9, None)[:, None]
        if upvotes is None:
            upvotes = np.array([max(p.upvotes or 0, 0) for p in self.papers], np.float32)
        self.upvotes = np.asarray(upvotes, dtype=np.float32)
        # Publication dates as ordinals (0: unknown), for ages without a Python loop per paper.
        if day_numbers is None:
            day_numbers = np.array([p.published.toordinal() if p.published else 0 for p in self.papers],
                                   np.int64)
        self.day_numbers = np.asarray(day_numbers, dtype=np.int64)
        self._lock = threading.Lock()
        self._index: BM25 | None = index
        self._texts: list[str] | None = None
        self._joined: tuple[str, np.ndarray] | None = None
        self._phrases: dict[str, np.ndarray] = {}
        self._surnames: dict[str, list[tuple[int, str]]] | None = None
        self._categories: dict[str, list[tuple[int, str]]] | None = None
        n = len(self.ids)
        self._nn = np.zeros((n, NEIGHBOURS_KEPT), dtype=np.int32)
        self._nn_sim = np.zeros((n, NEIGHBOURS_KEPT), dtype=np.float32)
        self._nn_done = np.zeros(n, dtype=bool)

    def __len__(self) -> int:
        return len(self.ids)

    def papers_at(self, rows: Sequence[int]) -> list[Paper]:
        """The papers of these rows (loaded together when the pool's papers are lazy)."""
        if isinstance(self.papers, LazyPapers):
            self.papers.fill(rows)
        return [self.papers[i] for i in rows]

    # -- lexical ---------------------------------------------------------------------------------
    @property
    def texts(self) -> list[str]:
        """Titles and abstracts (what is embedded and indexed)."""
        if self._texts is None:
            self._texts = [p.embedding_text for p in self.papers]
        return self._texts

    @property
    def index(self) -> BM25:
        """The BM25 index of the pool's titles and abstracts."""
        if self._index is None:
            index = BM25.build(self.texts)
            with self._lock:
                self._index = self._index or index
        return self._index

    def with_phrase(self, phrase: str) -> np.ndarray:
        """Which papers contain ``phrase`` as whole words (plural forms too), as a boolean mask.

        Only the papers holding every word of the phrase (the index says which) are searched
        for it, so a window whose texts were not read needs only theirs; a pool that has its texts
        makes one regex pass over all of them joined by new lines.
        """
        norm = normalize_phrase(phrase)
        mask = self._phrases.get(norm)
        if mask is not None:
            return mask
        mask = np.zeros(len(self.ids), dtype=bool)
        pattern = re.compile(rf"(?<![a-z0-9]){re.escape(norm)}(?:s|es)?(?![a-z0-9])")
        terms = tokens(norm)
        if norm and (self._texts is not None or not terms):
            joined, starts = self._joined_texts()
            offsets = [m.start() for m in pattern.finditer(joined)]
            if offsets:
                mask[np.searchsorted(starts, np.asarray(offsets), side="right") - 1] = True
        elif norm:
            rows = np.flatnonzero(self.index.having_all(terms)).tolist()
            for i, paper in zip(rows, self.papers_at(rows), strict=True):
                mask[i] = pattern.search(normalize_phrase(paper.embedding_text)) is not None
        with self._lock:
            self._phrases[norm] = mask
        return mask

    def _joined_texts(self) -> tuple[str, np.ndarray]:
        if self._joined is None:
            normalized = [normalize_phrase(t) for t in self.texts]
            lengths = np.fromiter((len(t) + 1 for t in normalized), dtype=np.int64, count=len(normalized))
            starts = (np.concatenate([[0], np.cumsum(lengths)[:-1]]) if len(normalized)
                      else np.zeros(0, np.int64))
            self._joined = ("\n".join(normalized), starts)
        return self._joined

    # -- authors and categories ------------------------------------------------------------------
    def by_authors(self, followed: Sequence[str]) -> dict[int, str]:
        """Papers with an author in ``followed``: paper index -> that author as the paper writes it.

        Matched by ``author_match``: same full name, or same surname and first initial when either
        side gives only the initial ("Y. LeCun" / "Yann LeCun"), or same surname when only a surname
        is given ("LeCun").
        """
        if self._surnames is None:
            surnames: dict[str, list[tuple[int, str]]] = {}
            for i, paper in enumerate(self.papers):
                for author in paper.authors:
                    parts = name_key(author).split()
                    if parts:
                        surnames.setdefault(parts[-1], []).append((i, author))
            self._surnames = surnames
        out: dict[int, str] = {}
        for wanted in followed:
            fparts = name_key(wanted).split()
            for i, author in self._surnames.get(fparts[-1], []) if fparts else ():
                if i not in out and author_match(fparts, name_key(author).split()):
                    out[i] = author
        return out

    def in_categories(self, wanted: Sequence[str]) -> dict[int, str]:
        """Papers in one of ``wanted`` categories: paper index -> the first such category."""
        if self._categories is None:
            cats: dict[str, list[tuple[int, str]]] = {}
            for i, paper in enumerate(self.papers):
                for cat in paper.categories:
                    cats.setdefault(cat.lower(), []).append((i, cat))
            self._categories = cats
        out: dict[int, str] = {}
        for cat in {c.lower() for c in wanted}:
            for i, name in self._categories.get(cat, []):
                # The paper's own first listed category among the wanted ones.
                if (i not in out
                        or self.papers[i].categories.index(name) < self.papers[i].categories.index(out[i])):
                    out[i] = name
        return out

    # -- structure -------------------------------------------------------------------------------
    def neighbours(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The nearest pool papers (centred cosine, best first, never the paper itself) of each
        paper in ``rows``, and their similarities: (len(rows), NEIGHBOURS_KEPT) each.

        Computed for the rows not seen before and kept: after a like, the top of the ranking
        is mostly the same papers, so a re-rank computes only a few new rows.
        """
        rows = np.asarray(rows, dtype=np.int64)
        k = min(NEIGHBOURS_KEPT, len(self.ids) - 1)
        missing = rows[~self._nn_done[rows]]
        if len(missing) and k > 0:
            missing = np.unique(missing)
            sims = self.cen[missing] @ self.cen.T
            sims[np.arange(len(missing)), missing] = -np.inf
            part = np.argpartition(sims, -k, axis=1)[:, -k:]
            part_sims = np.take_along_axis(sims, part, axis=1)
            order = np.argsort(-part_sims, axis=1)
            with self._lock:
                self._nn[missing, :k] = np.take_along_axis(part, order, axis=1)
                self._nn_sim[missing, :k] = np.take_along_axis(part_sims, order, axis=1)
                self._nn_sim[missing, k:] = -np.inf
                self._nn_done[missing] = True
        return self._nn[rows], self._nn_sim[rows]
