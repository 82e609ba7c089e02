"""One hybrid search for the CLI, the TUI and the agent: BM25 and embeddings, fused.

MiniLM blurs exact terms and BM25 misses what is said in other words, so both count. A query
(``parse_query``) is filters (``cat:``, ``au:``), "quoted phrases" (ranked first) and words (BM25,
rare words and acronyms weighted up: ``term_weights``). ``fuse`` blends the halves, ``feedback_dense``
adds pseudo-relevance feedback, ``smooth_by_neighbours`` moves the top toward their neighbours' scores;
then the top are re-scored by how closely they hold the words typed (``proximity``) and an acronym meets
its expansion (``acronyms``: the pairs learned at import). ``HybridIndex`` serves any texts (passages);
``search`` is the paper search.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Literal

import numpy as np

from papercast.errors import RuntimeFailure, UserError, one_line
from papercast.models import Paper, SearchHit
from papercast.tools.ranking.acronyms import Alias, Lexicon, TextLexicon, aliases, checked_lift
from papercast.tools.ranking.lexical import BM25, normalize_phrase, phrase_in, surface_forms, tokens
from papercast.tools.ranking.pool import Pool, unit
from papercast.tools.ranking.proximity import Closeness, QueryWords, closeness, field_terms, query_words
from papercast.tools.ranking.window import cached_window, load_window, once_more_if_changed

if TYPE_CHECKING:
    from papercast.store.papers import PaperStore

log = logging.getLogger(__name__)

Method = Literal["rrf", "blend"]
DEFAULT_METHOD: Method = "blend"
RRF_K = 60.0
BLEND_ALPHA = 0.3  # the lexical share of the calibrated blend
PRF_TOP = 10  # pseudo-relevance feedback: the first pass's top candidates ...
PRF_BETA = 0.3  # ... and their share of the dense score
SMOOTH_TOP = 100  # neighbour smoothing: the top candidates of the first pass ...
SMOOTH_WEIGHT = 0.5  # ... move this far toward their nearest papers' mean score ...
SMOOTH_BREADTH = 50  # ... times n / (n + 50), n the papers holding every query word (``query_breadth``);
SMOOTH_MIN = 0.05  # below this strength (n < 6: the query names a paper, not an area) nothing is smoothed
AREA_BAR = 20  # a lifted paper is "in the area" when its neighbours score like the 20th best candidate
FULL_SCAN_LIMIT = 5_000  # a bigger store not yet read by this process is searched among ...
NEAREST = 2_000  # ... the papers nearest the query by meaning (``_nearest_pool``)
MEANING_COSINE = 0.35  # plain MiniLM cosine above which a hit is said to be "close in meaning"
RERANK_TOP = 50  # proximity (``proximity.closeness``) re-scores the first pass's top candidates ...
RERANK_LEXICAL = 30  # ... and the best BM25 matches, adding this much for the query's words side by side
PROXIMITY_WEIGHT = 0.5  # ... in order (1: every pair of neighbouring query words adjacent in the title)
TITLE_WEIGHT = 0.05  # ... and this much for the query's words in the title (a field boost)
ALIAS_SHARE = 0.7  # a paper holding an acronym's expansion (or the reverse) gets this share of its weight
RARE_BOOST = 0.5  # a query word's weight: 1 + RARE_BOOST * how far its idf is above the query's mean ...
ACRONYM_BOOST = 0.5  # ... + this for a word written with two capitals or more (DPO, LoRA, LLMs)
_CAPITALS = re.compile(r"[A-Za-z0-9+-]*[A-Z][A-Za-z0-9+-]*[A-Z][A-Za-z0-9+-]*")
_QUOTED = re.compile(r"[\"“”]([^\"“”]+)[\"“”]")
# cat:cs.CL, category:"cs.CL", au:LeCun, author:"Yann LeCun" (a filter starts a word)
QUERY_FILTER = re.compile(r'(?<!\S)(cat|category|au|author):(?:"([^"]*)"|“([^”]*)”|([^\s"“”]+))', re.I)
_CATEGORY = re.compile(r"^[a-z][a-z-]*(\.[a-z][a-z-]*)?$", re.I)


@dataclass(frozen=True)
class ParsedQuery:
    """A search query as the engines read it."""

    text: str  # quotes and filters removed: what is embedded
    phrases: tuple[str, ...]  # quoted phrases, as the user wrote them
    terms: tuple[str, ...]  # stemmed BM25 terms of every word, quoted or not
    categories: tuple[str, ...] = ()  # cat:cs.CL filters (a paper in any of them)
    authors: tuple[str, ...] = ()  # au:LeCun / author:"Yann LeCun" filters (a paper by any of them)

    @property
    def empty(self) -> bool:
        """No text besides the filters (``search_request`` refuses that without filters)."""
        return not self.text.strip()


def parse_query(query: str) -> ParsedQuery:
    """Filters (``cat:``/``category:`` and ``au:``/``author:``, arXiv's own prefixes, a value quoted
    when it has spaces), quoted phrases (straight or curly quotes) and the rest's terms; an
    unpaired quote is ignored."""
    categories: list[str] = []
    authors: list[str] = []

    def take(m: re.Match[str]) -> str:
        quoted = m.group(2) if m.group(2) is not None else m.group(3)
        # "cat:cs.CV?" ends a question
        value = quoted.strip() if quoted is not None else m.group(4).rstrip(",;:.?!)")
        if m.group(1).lower() in ("cat", "category"):
            categories.extend(c.strip() for c in value.split(",") if c.strip())  # cat:cs.CL,cs.LG: either
        elif value:
            authors.append(value)
        return " "

    rest = QUERY_FILTER.sub(take, query)
    phrases = tuple(p.strip() for p in _QUOTED.findall(rest) if normalize_phrase(p))
    text = " ".join(re.sub(r"[\"“”]", " ", rest).split())
    return ParsedQuery(text=text, phrases=phrases, terms=tuple(dict.fromkeys(tokens(text))),
                       categories=tuple(dict.fromkeys(categories)), authors=tuple(dict.fromkeys(authors)))


@dataclass(frozen=True)
class SearchRequest:
    """A parsed query with every filter it is searched under: those written in it and those given
    apart (the CLI's ``--category``/``--author``, the agent's arguments)."""

    query: ParsedQuery
    categories: tuple[str, ...]
    authors: tuple[str, ...]

    @property
    def filtered(self) -> bool:
        return bool(self.categories or self.authors)

    @property
    def scope(self) -> str:
        """The filters in words ("in cs.CL or cs.LG by LeCun"), for messages; "" without filters."""
        parts = [f"in {' or '.join(self.categories)}"] if self.categories else []
        return " ".join(parts + ([f"by {' or '.join(self.authors)}"] if self.authors else []))

    @property
    def listing(self) -> bool:
        """Filters and no word to rank by ("cat:cs.CL", "what is new in cat:cs.CL"): the filters'
        papers are listed newest first, unscored."""
        return self.filtered and not self.query.terms


def search_request(query: str, categories: Sequence[str] = (), authors: Sequence[str] = ()) -> SearchRequest:
    """The query read and checked: a one-line ``UserError`` for a query with neither words nor
    filters, or a category that is not written like an arXiv category (cs.CL, astro-ph.GA)."""
    parsed = parse_query(query)
    given = [c for entry in categories for c in entry.split(",")]  # --category cs.CL,cs.LG as in the query
    cats = tuple(dict.fromkeys(c.strip() for c in [*given, *parsed.categories] if c.strip()))
    names = tuple(dict.fromkeys(" ".join(a.split()) for a in [*authors, *parsed.authors] if a.strip()))
    for cat in cats:
        if not _CATEGORY.match(cat):
            raise UserError(f"not an arXiv category: {cat!r} (they look like cs.CL or astro-ph.GA)")
    if parsed.empty and not (cats or names):
        raise UserError("empty search query")
    return SearchRequest(parsed, cats, names)


def _ranks(scores: np.ndarray, present: np.ndarray | None = None) -> np.ndarray:
    """1-based rank of each score (ties share the order of appearance); inf where not ``present``."""
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(len(scores), dtype=np.float64)
    ranks[order] = np.arange(1, len(scores) + 1)
    if present is not None:
        ranks[~present] = np.inf
    return ranks


def fuse(dense: np.ndarray, lexical: np.ndarray, *, method: Method = DEFAULT_METHOD, k: float = RRF_K,
         alpha: float = BLEND_ALPHA, lexical_scale: float | None = None) -> np.ndarray:
    """Fused scores of candidates from their dense (cosine) and lexical (BM25) scores, higher better.

    ``blend`` (calibrated): alpha * lexical / lexical_scale + (1 - alpha) * cosine. ``lexical_scale``
    is what a full match scores (``BM25.idf_sum`` of the query: a document holding every term once),
    so a query of rare words that a paper holds all of weighs a lot, and a query of common words
    little; without it, the best lexical score of the candidates. ``rrf``: 1/(k + dense rank) +
    1/(k + lexical rank), where a candidate no query term matched (lexical 0) gets no lexical share,
    scaled so that first in both is 1."""
    dense = np.asarray(dense, dtype=np.float64)
    lexical = np.asarray(lexical, dtype=np.float64)
    if dense.shape != lexical.shape:
        raise ValueError(f"dense and lexical scores differ in shape: {dense.shape} vs {lexical.shape}")
    if not dense.size:
        return dense
    if method == "rrf":
        return (k + 1) / 2 * (1.0 / (k + _ranks(dense)) + 1.0 / (k + _ranks(lexical, lexical > 0)))
    if method == "blend":
        scale = lexical_scale if lexical_scale else float(lexical.max())
        return alpha * (lexical / scale if scale > 0 else 0.0) + (1 - alpha) * dense
    raise ValueError(f"unknown fusion method {method!r}")


def feedback_dense(vectors: np.ndarray, query_vector: np.ndarray, first: np.ndarray, top: int = PRF_TOP,
                   beta: float = PRF_BETA) -> np.ndarray:
    """Pseudo-relevance feedback for the dense half: the cosine with the query, mixed with the
    cosine with the mean of the first pass's ``top`` candidates (their area, not only the query's
    words): it helps topical queries at no cost to known-item ones (``bench/search_quality.py``)."""
    base = vectors @ query_vector
    if len(vectors) <= 2 * top or beta <= 0:
        return base
    centre = unit(vectors[np.argsort(-first, kind="stable")[:top]].mean(axis=0))
    return (1 - beta) * base + beta * (vectors @ centre)


def query_breadth(holding_all: int) -> float:
    """How much a query names an area rather than a few papers, in [0, 1): n / (n + SMOOTH_BREADTH),
    n the candidates holding every query word. A title's rare words are held by one or a few papers,
    an area's name ("Robotics", "Information Retrieval") by dozens to hundreds."""
    return holding_all / (holding_all + SMOOTH_BREADTH) if holding_all > 0 else 0.0


def neighbour_means(fused: np.ndarray, rows: np.ndarray,
                    neighbours: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """The similarity-weighted mean score of each row's nearest papers (``neighbours(rows)``: their
    indices and similarities, as ``Pool.neighbours`` gives them); a row without a close neighbour
    keeps its own score."""
    rows = np.asarray(rows, dtype=np.int64)
    nn, sim = neighbours(rows)
    sim = np.where(np.isfinite(sim), np.clip(sim, 0.0, None), 0.0)  # a loose neighbour says less
    total = sim.sum(axis=1)
    return np.where(total > 0, (fused[nn] * sim).sum(axis=1) / np.where(total > 0, total, 1.0), fused[rows])


def smooth_by_neighbours(fused: np.ndarray, rows: np.ndarray,
                         neighbours: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
                         weight: float, near: np.ndarray | None = None) -> np.ndarray:
    """Cluster hypothesis (score regularization): each of ``rows`` (the first pass's top) moves
    ``weight`` of the way toward the mean score of its nearest papers (``neighbour_means``, or
    ``near`` when already computed), so a paper in an area that matches the query rises and one
    that only shares a word falls. The other candidates keep their order, below the re-scored rows
    (bounded work: one neighbour list per row)."""
    rows = np.asarray(rows, dtype=np.int64)
    if weight <= 0 or len(rows) < 2:
        return fused
    if near is None:
        near = neighbour_means(fused, rows, neighbours)
    out = fused.copy()
    out[rows] = (1 - weight) * fused[rows] + weight * near
    rest = np.ones(len(fused), dtype=bool)
    rest[rows] = False
    if rest.any():
        out[rest] -= max(0.0, float(fused[rest].max() - out[rows].min()) + 1e-6)
    return out


def term_weights(index: BM25, query: ParsedQuery) -> tuple[dict[str, float], dict[str, float]]:
    """Each query term's weight (rare words and acronyms carry the query: a paper naming "DPO" once
    should beat one saying "preference" and "optimization" often) and its idf, for the terms some
    candidate holds."""
    idf = index.idfs(query.terms)
    if not idf:
        return {}, {}
    mean = sum(idf.values()) / len(idf)
    capitals = {t for word in _CAPITALS.findall(query.text) for t in tokens(word)}
    return ({t: 1.0 + RARE_BOOST * max(0.0, v / mean - 1.0) + (ACRONYM_BOOST if t in capitals else 0.0)
             for t, v in idf.items()}, idf)


def _order_key(fused: np.ndarray, query: ParsedQuery, phrase_mask: np.ndarray | None,
               allowed: np.ndarray | None) -> np.ndarray:
    """What the candidates are sorted by: the fused score, papers holding every quoted phrase
    first, the filtered-out at -inf."""
    key = fused.copy()
    if phrase_mask is not None and query.phrases:
        key = key + np.where(phrase_mask, float(np.ptp(fused)) + 1.0, 0.0)
    if allowed is not None:
        key = np.where(allowed, key, -np.inf)
    return key


@dataclass
class Match:
    """One candidate found by a hybrid search."""

    index: int  # into the candidate set
    score: float  # fused (higher better; comparable within one search only)
    cosine: float  # plain cosine of the candidate with the query
    terms: list[str] = field(default_factory=list)  # the query's words it holds (as the user wrote them)
    phrases: list[str] = field(default_factory=list)  # the quoted phrases it holds
    runs: list[str] = field(default_factory=list)  # runs of the query's words it holds side by side
    aliases: list[str] = field(default_factory=list)  # "DPO as 'direct preference optimization'"
    in_area: bool = False  # it rose with its nearest papers, which match the query like the best matches
    reasons: list[str] = field(default_factory=list)


def rank_candidates(index: BM25, vectors: np.ndarray, query: ParsedQuery, query_vector: np.ndarray | None,
                    n: int, *, phrase_mask: np.ndarray | None = None, allowed: np.ndarray | None = None,
                    method: Method = DEFAULT_METHOD, prf: bool = True,
                    neighbours: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
                    fields: Callable[[list[int]], Sequence[tuple[str, str]]] | None = None,
                    lexicon: Lexicon | None = None) -> list[Match]:
    """The best ``n`` candidates for a parsed query: ``vectors`` are the candidates' unit vectors
    (rows of ``index``'s documents), ``phrase_mask`` marks those holding every quoted phrase (they rank
    first), ``allowed`` filters. With ``neighbours`` (``Pool.neighbours``: each candidate's nearest
    candidates), the first pass's top ``SMOOTH_TOP`` are smoothed by their neighbours' scores, as
    strongly as the query names an area (``query_breadth``). With ``fields`` (candidates' titles and
    abstracts), the top are re-scored by how closely they hold the query's words (``_by_proximity``)
    and an acronym meets its expansion as ``lexicon`` knows the pairs (else as the top define them).
    Shared by ``search`` and ``HybridIndex``."""
    count = index.n_docs
    if not count or n < 1:
        return []
    weights, idf = term_weights(index, query)
    lexical = index.score(query.terms, weights).astype(np.float64)
    scale = sum(weights[t] * v for t, v in idf.items())
    if query_vector is not None and len(vectors):
        qv = unit(np.asarray(query_vector, dtype=np.float32))
        cosine = (vectors @ qv).astype(np.float64)
    else:
        qv, cosine = None, np.zeros(count)
    fused = fuse(cosine, lexical, method=method, lexical_scale=scale)
    if prf and qv is not None:
        fused = fuse(feedback_dense(vectors, qv, fused).astype(np.float64), lexical, method=method,
                     lexical_scale=scale)
    order_key = _order_key(fused, query, phrase_mask, allowed)
    lifted = np.zeros(count, dtype=bool)
    if neighbours is not None and query.terms:
        weight = SMOOTH_WEIGHT * query_breadth(int(index.having_all(query.terms).sum()))
        if weight >= SMOOTH_MIN:
            rows = np.argsort(-order_key, kind="stable")[:SMOOTH_TOP]
            rows = rows[np.isfinite(order_key[rows])]
            near = neighbour_means(fused, rows, neighbours)
            smoothed = smooth_by_neighbours(fused, rows, neighbours, weight, near=near)
            # "In the area" when it rose and its neighbours score like the best matches of all the
            # candidates (filters aside): under a filter nothing matches, the neighbours of the
            # papers left may still beat them, but they are not the query's area.
            bar = float(np.sort(fused)[-min(AREA_BAR, count)])
            lifted[rows] = (smoothed[rows] > fused[rows]) & (near >= bar)
            fused = smoothed
            order_key = _order_key(fused, query, phrase_mask, allowed)
    qwords = query_words(query.text)
    close: dict[int, Closeness] = {}
    said: list[Alias] = []
    if fields is not None and qwords.terms:
        rows = _rerank_rows(order_key, lexical)
        texts = list(fields(rows))
        # A pair of rare words counts more than a pair of common ones; a word no candidate holds, nothing.
        pair_weights = {t: weights.get(t, 0.0) * idf.get(t, 0.0) for t in qwords.terms}
        close = _by_proximity(fused, rows, texts, qwords, pair_weights)
        if method == "blend" and scale > 0:
            known = lexicon if lexicon is not None else TextLexicon(f"{t}. {a}" for t, a in texts)
            said = aliases(index, query.text, qwords.terms, weights, idf, known)
            # What the paper lacks, words and phrase, as if it held it once.
            lifts = [ALIAS_SHARE * (BLEND_ALPHA * a.credit / scale + PROXIMITY_WEIGHT * closeness(
                qwords.terms, pair_weights, (), field_terms(a.said)).score) for a in said]
            if said:
                said, gain = checked_lift(said, lifts, lambda gain: np.argsort(-_order_key(
                    fused + gain, query, phrase_mask, allowed), kind="stable")[:n], fields)
                fused += gain
        order_key = _order_key(fused, query, phrase_mask, allowed)
    top = np.argsort(-order_key, kind="stable")[:n]
    top = top[np.isfinite(order_key[top])]
    found = index.matched_terms_many(top.tolist(), query.terms)
    forms = surface_forms(query.text)
    dense_rank = _ranks(cosine)
    out: list[Match] = []
    for i, terms in zip(top.tolist(), found, strict=True):
        words = [forms.get(t, t) for t in terms]
        parts = {p for t in words if "-" in t for p in t.split("-")}  # "long-context" makes "long" redundant
        words = [t for t in words if t not in parts]
        phrases = list(query.phrases) if phrase_mask is not None and phrase_mask[i] else []
        runs = [qwords.surface(a, b) for a, b in close[i].phrases] if i in close else []
        runs = [r for r in runs if " " in r]  # "low-rank" alone is one word as typed, not a phrase
        named = [f"{a.said} as '{a.meant}'" for a in said if a.mask[i]]
        meant = {t for a in said if a.mask[i] for t in tokens(a.meant)}  # named already, as the alias
        words = [t for t in words if not set(tokens(t)) <= meant]
        match = Match(index=i, score=float(fused[i]), cosine=float(cosine[i]), terms=words, phrases=phrases,
                      runs=runs, aliases=named, in_area=bool(lifted[i]))
        match.reasons = _reasons(match, int(dense_rank[i]))
        out.append(match)
    return out


def _rerank_rows(order_key: np.ndarray, lexical: np.ndarray) -> list[int]:
    """The first pass's top and the best BM25 matches: the candidates proximity re-scores."""
    head = np.argsort(-order_key, kind="stable")[:RERANK_TOP]
    head = head[np.isfinite(order_key[head])]
    best = np.argsort(-lexical, kind="stable")[:RERANK_LEXICAL]
    return list(dict.fromkeys([*head.tolist(), *best[lexical[best] > 0].tolist()]))


def _by_proximity(fused: np.ndarray, rows: list[int], texts: Sequence[tuple[str, str]], words: QueryWords,
                  pair_weights: dict[str, float]) -> dict[int, Closeness]:
    """Raise ``rows`` (titles and abstracts: ``texts``) by how closely they hold the query's words
    (``fused`` changed in place); each one's ``Closeness``."""
    out: dict[int, Closeness] = {}
    for i, (title, abstract) in zip(rows, texts, strict=True):
        out[i] = close = closeness(words.terms, pair_weights, field_terms(title), field_terms(abstract))
        fused[i] += PROXIMITY_WEIGHT * close.score + TITLE_WEIGHT * close.title
    return out


def _reasons(match: Match, dense_rank: int) -> list[str]:
    out: list[str] = []
    quoted = [f'"{normalize_phrase(p)}"' for p in match.phrases]
    runs = [r for r in match.runs if f'"{normalize_phrase(r)}"' not in quoted]
    said = {t for p in [*match.phrases, *runs] for t in tokens(p)}
    loose = [t for t in match.terms if not any(t in normalize_phrase(p).split() for p in match.phrases)
             and not set(tokens(t)) <= said]
    named = quoted + [f"the phrase '{r}'" for r in runs] + match.aliases
    if named or loose:  # one reason: "matches: the phrase 'kv cache', compression"
        out.append("matches: " + ", ".join(named + loose[:5]))
    if match.cosine >= MEANING_COSINE or (dense_rank <= 10 and match.cosine > 0):
        out.append(f"close in meaning to the query (cosine {match.cosine:.2f})")
    if match.in_area and not (named or loose):  # found by its neighbours, not by the words
        out.append("in the same area as the best matches")
    if not out:
        out.append("a loose match: nothing closer was found")
    return out


class HybridIndex:
    """A small hybrid index over any texts and their embedding vectors (e.g. full-text passages).

    Built once (BM25 postings, unit vectors); each ``search`` costs one matrix-vector product and
    one pass over the query terms' postings."""

    def __init__(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        if len(texts) != len(vectors):
            raise ValueError(f"{len(texts)} texts but {len(vectors)} vectors")
        self.texts = list(texts)
        self.index = BM25.build(self.texts)
        self.vectors = (unit(np.asarray(vectors, dtype=np.float32)) if len(vectors)
                        else np.zeros((0, 0), np.float32))
        self._normalized: list[str] | None = None

    def __len__(self) -> int:
        return len(self.texts)

    def search(self, query: str, query_vector: np.ndarray | None, n: int = 10, *,
               allowed: np.ndarray | None = None, method: Method = DEFAULT_METHOD) -> list[Match]:
        parsed = parse_query(query)
        mask = None
        if parsed.phrases:
            if self._normalized is None:
                self._normalized = [normalize_phrase(t) for t in self.texts]
            mask = np.array([all(phrase_in(p, t) for p in parsed.phrases) for t in self._normalized],
                            dtype=bool)
        return rank_candidates(self.index, self.vectors, parsed, query_vector, n, phrase_mask=mask,
                               allowed=allowed, method=method, fields=self._fields)

    def _fields(self, rows: list[int]) -> list[tuple[str, str]]:
        return [("", self.texts[i]) for i in rows]  # a passage has no title


def pool_phrase_mask(pool: Pool, phrases: Sequence[str]) -> np.ndarray | None:
    """Papers of the pool holding every phrase (None without phrases)."""
    if not phrases:
        return None
    mask = np.ones(len(pool), dtype=bool)
    for phrase in phrases:
        mask &= pool.with_phrase(phrase)
    return mask


def pool_fields(pool: Pool) -> Callable[[list[int]], list[tuple[str, str]]]:
    """The titles and abstracts of the pool's rows (loaded together when its papers are lazy)."""
    return lambda rows: [(p.title, p.abstract) for p in pool.papers_at(rows)]


def search(store: PaperStore, query: str, n: int = 10, *, since: date | None = None,
           until: date | None = None,
           categories: Sequence[str] = (), authors: Sequence[str] = (),
           method: Method = DEFAULT_METHOD) -> list[SearchHit]:
    """The ``n`` papers that best match ``query`` (published in [since, until], in one of the
    categories, by one of the authors when given, here or in the query as ``cat:``/``au:``), best
    first, each with its reasons. Filters without a word to rank by list their papers, newest first."""
    if n < 1:
        raise UserError(f"-n must be at least 1, got {n}")
    request = search_request(query, categories, authors)
    if since and until and since > until:
        raise UserError(f"--since {since} is after --until {until}")
    return once_more_if_changed(store, lambda: _search(store, request, n, since, until, method))


def _search(store: PaperStore, request: SearchRequest, n: int, since: date | None, until: date | None,
            method: Method) -> list[SearchHit]:
    parsed = request.query
    count = store.count()
    vector = store.embed_texts([parsed.text])[0] if count and not request.listing else None
    window = cached_window(store, since, until, count)
    if (window is None and count > FULL_SCAN_LIMIT and vector is not None
            and store.fresh_ranking_cache() is None):
        pool, paper_of = _nearest_pool(store, vector, since, until)
    else:
        window = window or load_window(store, since, until, count)
        pool, paper_of = window.pool, window.paper
    if not len(pool):
        return []
    allowed = None
    by_cat: dict[int, str] = {}
    by_author: dict[int, str] = {}
    if request.categories:
        by_cat = pool.in_categories(request.categories)
        allowed = _mask(len(pool), by_cat)
    if request.authors:
        by_author = pool.by_authors(request.authors)
        mask = _mask(len(pool), by_author)
        allowed = mask if allowed is None else allowed & mask
    if allowed is not None and not allowed.any():
        return []
    if request.listing:
        rows = np.flatnonzero(allowed if allowed is not None else np.ones(len(pool), dtype=bool))
        rows = rows[np.lexsort((rows, -pool.day_numbers[rows]))][:n]
        matches = [Match(index=int(i), score=0.0, cosine=0.0) for i in rows]
    else:
        matches = rank_candidates(pool.index, pool.emb, parsed, vector, n,
                                  phrase_mask=pool_phrase_mask(pool, parsed.phrases), allowed=allowed,
                                  method=method, neighbours=pool.neighbours, fields=pool_fields(pool),
                                  lexicon=learned_pairs(store))
    hits = []
    for m in matches:
        reasons = list(m.reasons)
        if m.index in by_cat:
            reasons.append(f"in category: {by_cat[m.index]}")
        if m.index in by_author:
            reasons.append(f"by {by_author[m.index]}")
        hits.append(SearchHit(paper=paper_of(pool.ids[m.index]), score=m.score, reasons=reasons))
    return hits


def learned_pairs(store: PaperStore) -> Lexicon | None:
    """The acronyms the library's papers define, as the ranking cache learned them at import (read
    once from the stored papers in a home from before); None when the cache cannot be used, and then
    the candidates' own definitions serve."""
    cache = store.fresh_ranking_cache()
    if cache is None:
        return None
    try:
        cache.acronyms_ready()
    except RuntimeFailure as exc:  # a busy or damaged cache file: it is only a cache
        log.warning("ranking cache: %s", one_line(exc))
        return None
    return cache


def _nearest_pool(store: PaperStore, vector: np.ndarray, since: date | None,
                  until: date | None) -> tuple[Pool, Callable[[str], Paper]]:
    """A big store not yet read by this process: the candidates are the ``NEAREST`` papers by
    meaning (Chroma's index), re-ranked by the hybrid score: reading and tokenizing a whole big
    store would cost a CLI search far more, and the nearest ones hold the papers that use the query's
    words in practice (BM25's idf is then over them). The TUI's and the agent's whole-store window, once
    loaded, is searched in full instead."""
    found = store.query_vector(vector, NEAREST, since=since, until=until)
    papers = {p.id: p for p, _ in found}
    vectors = store.embeddings(list(papers))
    kept = [p for p in papers.values() if p.id in vectors]
    matrix = np.stack([vectors[p.id] for p in kept]) if kept else np.zeros((0, len(vector)), np.float32)
    return Pool(kept, matrix), papers.__getitem__


def _mask(size: int, hits: dict[int, str]) -> np.ndarray:
    mask = np.zeros(size, dtype=bool)
    mask[list(hits)] = True
    return mask
