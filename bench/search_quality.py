"""Search quality: dense-only, BM25-only and hybrid search on queries built from the corpus.

Queries are built from the corpus alone, before any result is seen (fixed seed):

* known-item: a paper's most distinctive title words (the 3 with the highest idf over the corpus'
  titles and abstracts, by a plain tokenizer independent of papercast's), in shuffled order; the one
  relevant paper is that paper. (The corpus has no HF ``ai_keywords``; title words stand in.)
* topical: an arXiv category's name ("Computation and Language"), for each category with at least
  50 papers; the relevant papers are those carrying the category.
* phrase (issue 24): a term of two or more words from a paper's title ("tree search", "LLM agents"),
  as HF's ``ai_keywords`` would name it (the corpus has none), plus one generic word ("for LLMs",
  "methods"); the relevant papers hold the phrase in their title or abstract (plural forms count).
  A term is kept when it recurs (2 to 300 papers) and is a collocation: at least 30% of the papers
  holding all its words hold it as a phrase. Metric: P@5 over min(5, relevant).
* acronym (issue 24, the pairs learned at import): an acronym the corpus defines ("direct preference
  optimization (DPO)": its letters the initials of the words before the bracket), three or more times,
  one way at least 80% of the time; the query is the acronym alone, or its expansion alone. Relevant:
  the papers holding either (3 to 100 of them, some holding only one side). Metric: nDCG@10. Again
  among the newest 90 days' papers only (a window, as ``--since`` gives: the papers defining the
  acronym may be older), with the pairs learned at import and with those the top candidates define.

The candidate set is every benchmark paper (the quality home of ``bench/recommend_quality.py``:
categories emptied, so no engine sees the labels), ranked through papercast's real code: the
window's ranking pool, ``lexical.BM25`` and ``search.rank_candidates`` (with the pool's
neighbours, and its titles and abstracts for proximity, as ``search`` passes them). Metrics:
nDCG@10 and recall@20 (known-item: whether the paper is in the top 20; topical: relevant papers in
the top 20 over min(20, relevant), as a category holds hundreds). The topical queries are few (one
per category), so each method is also reported on their two halves (even and odd positions): a
change should help on both.

Run: .venv/bin/python bench/search_quality.py  (needs bench/.cache/corpus_embeddings.npz)
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from recommend_quality import build_service, load_corpus  # noqa: E402
from service_parts import paper_store  # noqa: E402

RESULTS = ROOT / "bench" / "results"
SEED = 15
KNOWN_ITEMS = 400
MIN_CATEGORY = 50
CATEGORY_NAMES = {
    "cs.AI": "Artificial Intelligence", "cs.CV": "Computer Vision and Pattern Recognition",
    "cs.CL": "Computation and Language", "cs.LG": "Machine Learning", "cs.RO": "Robotics",
    "stat.ML": "Machine Learning (Statistics)", "math.RT": "Representation Theory",
    "cs.HC": "Human-Computer Interaction", "cs.CR": "Cryptography and Security",
                  "cs.SE": "Software Engineering",
    "cs.MA": "Multiagent Systems", "cs.GR": "Graphics", "cs.IR": "Information Retrieval",
    "cs.CE": "Computational Engineering, Finance, and Science", "eess.IV": "Image and Video Processing",
    "cs.SD": "Sound", "astro-ph.GA": "Astrophysics of Galaxies", "eess.AS": "Audio and Speech Processing",
    "cs.CY": "Computers and Society", "q-bio.QM": "Quantitative Methods (biology)", "cs.MM": "Multimedia",
    "q-bio.NC": "Neurons and Cognition", "astro-ph.CO": "Cosmology and Nongalactic Astrophysics",
    "eess.SY": "Systems and Control", "cs.NE": "Neural and Evolutionary Computing",
                  "cs.IT": "Information Theory",
    "cs.GT": "Computer Science and Game Theory", "math.QA": "Quantum Algebra", "cs.DB": "Databases",
    "cs.NI": "Networking and Internet Architecture", "eess.SP": "Signal Processing",
                  "cs.SY": "Systems and Control",
    "math.AG": "Algebraic Geometry", "physics.comp-ph": "Computational Physics",
                  "physics.med-ph": "Medical Physics",
    "math-ph": "Mathematical Physics", "cs.LO": "Logic in Computer Science", "math.CO": "Combinatorics",
    "math.OC": "Optimization and Control", "hep-th": "High Energy Physics - Theory",
                  "cs.ET": "Emerging Technologies",
    "math.RA": "Rings and Algebras", "hep-ph": "High Energy Physics - Phenomenology",
                  "physics.optics": "Optics",
    "cs.DC": "Distributed, Parallel, and Cluster Computing",
}
_WORD = re.compile(r"[a-z][a-z0-9]{3,}")
_PLAIN_STOP_TEXT = ("with from that this their using based towards toward into over under via for and the "
                    "model models learning large language data network networks")
_PLAIN_STOP = frozenset(_PLAIN_STOP_TEXT.split())
PHRASES = 320
_TITLE_TOKEN = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")
_PLAIN_WORD = re.compile(r"[a-z0-9]+")
_PHRASE_STOP_TEXT = """
a an and are as at be by for from in into is it its of on or the their this that to via with we our using
based toward towards over under than these those which while can new novel paper propose proposed show
shows study results method methods approach approaches framework task tasks between through across within
without beyond when where how what why does do not more most both each other such also only then here
there has have been being vs versus one two three first second you your need all version part
"""
_PHRASE_STOP = frozenset(_PHRASE_STOP_TEXT.split())
_ONLY_GENERIC_TEXT = "model models large language learning data network networks"
_ONLY_GENERIC = frozenset(_ONLY_GENERIC_TEXT.split())
GENERIC_WORDS = ("for LLMs", "methods", "models", "approaches", "benchmark", "survey", "framework",
                 "evaluation", "training", "in practice")


def ndcg_at(ranked: list[int], relevant: set[int], k: int = 10) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, j in enumerate(ranked[:k]) if j in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return dcg / ideal if ideal else 0.0


def recall_at(ranked: list[int], relevant: set[int], k: int = 20) -> float:
    return sum(j in relevant for j in ranked[:k]) / min(k, len(relevant))


def precision_at(ranked: list[int], relevant: set[int], k: int = 5) -> float:
    """Share of the top k that is relevant, over min(k, relevant): 1.0 when every relevant paper
    of a phrase held by fewer than k papers is in the top k."""
    return sum(j in relevant for j in ranked[:k]) / min(k, len(relevant))


def _plain(text: str) -> str:
    return " ".join(_PLAIN_WORD.findall(text.lower()))


def _title_terms(title: str) -> list[list[str]]:
    """Runs of 2 to 3 title tokens (2 to 4 words, hyphen parts counted) with no stop word, no number,
    no adverb and not only generic words; a title's first word in -ing ("Enhancing") is a verb."""
    toks = _TITLE_TOKEN.findall(title)
    out = []
    for i in range(len(toks)):
        for j in range(i + 2, min(i + 3, len(toks)) + 1):
            parts = [p for t in toks[i:j] for p in t.lower().split("-")]
            if (len(parts) > 4 or any(p in _PHRASE_STOP or len(p) < 2 or p.isdigit() or p.endswith("ly")
                                      for p in parts)
                    or all(p in _ONLY_GENERIC for p in parts) or (i == 0 and parts[0].endswith("ing"))):
                continue
            out.append(toks[i:j])
    return out


def build_phrase_queries(rows: list[dict], position: dict[str, int]) -> list[tuple[str, str, set[int]]]:
    """Phrase queries (see the module's docstring), from the corpus only, with a fixed seed."""
    rng = np.random.default_rng(SEED + 1)
    texts = [f"\n{_plain(r['title'])}\n{_plain(r['abstract'])}\n" for r in rows]
    postings: dict[str, set[int]] = {}
    for k, text in enumerate(texts):
        for w in set(text.split()):
            postings.setdefault(w, set()).add(k)
    queries: list[tuple[str, str, set[int]]] = []
    seen: set[str] = set()
    for i in rng.permutation(len(rows)).tolist():
        candidates = _title_terms(rows[i]["title"])
        rng.shuffle(candidates)
        for toks in candidates:
            norm = _plain(" ".join(toks))
            if norm in seen:
                continue
            words = norm.split()
            holding = set.intersection(*(postings.get(w, set()) for w in words))
            pattern = re.compile(rf"(?<![a-z0-9]){re.escape(norm)}(?:s|es)?(?![a-z0-9])")
            relevant = {k for k in holding if pattern.search(texts[k])}
            if not 2 <= len(relevant) <= 300 or len(relevant) < 0.3 * len(holding):
                continue
            seen.add(norm)
            # As typed: lower case but for acronyms and names in capitals (LLM, Qwen3-ASR).
            phrase = " ".join("-".join(p if sum(c.isupper() for c in p) >= 2 else p.lower()
                                       for p in t.split("-")) for t in toks)
            generic = GENERIC_WORDS[int(rng.integers(len(GENERIC_WORDS)))]
            queries.append(("phrase", f"{phrase} {generic}", {position[rows[k]["id"]] for k in relevant}))
            break
        if len(queries) >= PHRASES:
            break
    return queries


_BRACKETED = re.compile(r"\(([A-Z]{3,6})s?\)")
ACRONYM_PAIRS = 100
RECENT_DAYS = 90


def build_acronym_queries(rows: list[dict], position: dict[str, int]) -> list[tuple[str, str, set[int]]]:
    """Acronym queries (see the module's docstring), from the corpus only, with a fixed seed."""
    said: dict[str, Counter[str]] = {}
    texts = [f"{r['title']}. {r['abstract']}" for r in rows]
    for text in texts:
        for m in _BRACKETED.finditer(text):
            acronym = m.group(1)
            words = _plain(text[max(0, m.start() - 120):m.start()].replace("-", " ")).split()[-len(acronym):]
            if len(words) == len(acronym) and "".join(w[0] for w in words) == acronym.lower():
                said.setdefault(acronym, Counter())[" ".join(words)] += 1
    plain = [f" {_plain(t)} " for t in texts]
    queries: list[tuple[str, str, set[int]]] = []
    rng = np.random.default_rng(SEED + 2)
    for acronym in rng.permutation(sorted(said)).tolist():
        (expansion, top), total = said[acronym].most_common(1)[0], sum(said[acronym].values())
        if top < 3 or top < 0.8 * total:
            continue
        short = re.compile(rf"(?<![A-Za-z0-9]){acronym}s?(?![A-Za-z0-9])")
        named = {k for k, t in enumerate(texts) if short.search(t)}
        spelled = {k for k, t in enumerate(plain) if re.search(rf" {expansion}(?:s|es)? ", t)}
        relevant = named | spelled
        if not 3 <= len(relevant) <= 100 or not (named - spelled) or not (spelled - named):
            continue
        ids = {position[rows[k]["id"]] for k in relevant}
        queries += [("acronym", acronym, ids), ("acronym", expansion, ids)]
        if len(queries) >= 2 * ACRONYM_PAIRS:
            break
    return queries


def build_queries(rows: list[dict], position: dict[str, int]) -> list[tuple[str, str, set[int]]]:
    """(kind, query, relevant pool indices), from the corpus only."""
    rng = np.random.default_rng(SEED)
    docs = [set(_WORD.findall(f"{r['title']} {r['abstract']}".lower())) for r in rows]
    df = Counter(w for d in docs for w in d)
    n = len(rows)
    queries: list[tuple[str, str, set[int]]] = []
    for i in rng.choice(n, size=KNOWN_ITEMS, replace=False).tolist():
        words = [w for w in dict.fromkeys(_WORD.findall(rows[i]["title"].lower())) if w not in _PLAIN_STOP]
        if len(words) < 3:
            continue
        best = sorted(words, key=lambda w: (df[w], w))[:3]  # rarest = most distinctive
        rng.shuffle(best)
        queries.append(("known-item", " ".join(best), {position[rows[i]["id"]]}))
    counts = Counter(c for r in rows for c in r["categories"])
    for cat, name in CATEGORY_NAMES.items():
        if counts[cat] >= MIN_CATEGORY:
            relevant = {position[r["id"]] for r in rows if cat in r["categories"]}
            queries.append(("topical", name, relevant))
    return queries + build_phrase_queries(rows, position) + build_acronym_queries(rows, position)


def main() -> int:
    from papercast.tools.ranking.pool import unit
    from papercast.tools.ranking.search import parse_query, pool_fields, rank_candidates
    try:
        from papercast.tools.ranking.search import learned_pairs
    except ImportError:  # a baseline tree from before the pairs were learned (its search takes no lexicon)
        learned_pairs = None
    from papercast.tools.ranking.window import load_window

    started = time.perf_counter()
    rows, vectors = load_corpus()
    service = build_service(rows, vectors)
    window = load_window(paper_store(service), None, None)
    pool = window.pool
    position = pool.position
    rows = [r for r in rows if r["id"] in position]
    queries = build_queries(rows, position)
    print(f"{len(pool)} papers, {sum(q[0] == 'known-item' for q in queries)} known-item, "
          f"{sum(q[0] == 'topical' for q in queries)} topical, {sum(q[0] == 'phrase' for q in queries)} "
          f"phrase and {sum(q[0] == 'acronym' for q in queries)} acronym queries", file=sys.stderr)
    q_vectors = unit(paper_store(service).embed_texts([q for _, q, _ in queries]))
    t_index = time.perf_counter()
    _ = pool.index
    index_s = time.perf_counter() - t_index
    t_pairs = time.perf_counter()
    pairs = learned_pairs(paper_store(service)) if learned_pairs else None  # a home from before: read once
    pairs_s = time.perf_counter() - t_pairs

    def hybrid(smooth: bool = True, close: bool = False, learned: bool = True, **options):
        """papercast's own search path (``rank_candidates``) with these options (``search`` passes the
        pool's neighbours for the neighbour smoothing, its titles and abstracts for proximity and the
        acronyms learned at import; without ``learned``, those the top candidates define)."""
        near = pool.neighbours if smooth else None
        fields = pool_fields(pool) if close else None
        if learned_pairs:
            options["lexicon"] = pairs if learned else None
        return lambda parsed, qv, d, c, lex: [m.index
                                              for m in rank_candidates(pool.index, pool.emb, parsed, qv, 20,
                                                                       neighbours=near, fields=fields,
                                                                       **options)]

    def order(fn):
        return lambda parsed, qv, d, c, lex: np.argsort(-fn(d, c, lex), kind="stable")[:20].tolist()

    methods = {
        "dense only (plain cosine)": order(lambda d, c, lex: d),
        "dense only (centred cosine)": order(lambda d, c, lex: c),
        "BM25 only": order(lambda d, c, lex: lex + 1e-9 * d),  # ties (no term matched) broken by meaning
        "hybrid RRF (k=60)": hybrid(False, method="rrf", prf=False),
        "hybrid RRF + PRF": hybrid(False, method="rrf"),
        "hybrid calibrated blend": hybrid(False, method="blend", prf=False),
        "hybrid blend + PRF": hybrid(False),
        "hybrid blend + PRF + nbrs": hybrid(),
        "... + proximity, pairs of the top": hybrid(close=True, learned=False),
        "... + proximity (default)": hybrid(close=True),
    }
    scores: dict[str, dict[str, list[tuple[float, float]]]] = {
        m: {"known-item": [], "topical": [], "phrase": [], "acronym": []} for m in methods}
    for (kind, text, relevant), qv in zip(queries, q_vectors, strict=True):
        parsed = parse_query(text)
        dense = pool.emb @ qv
        centred = pool.cen @ unit(qv - pool.mean)
        lexical = pool.index.score(parsed.terms).astype(np.float64)
        for name, fn in methods.items():
            ranked = fn(parsed, qv, dense, centred, lexical)
            second = precision_at(ranked, relevant) if kind == "phrase" else recall_at(ranked, relevant)
            scores[name][kind].append((ndcg_at(ranked, relevant), second))

    table = []
    header = (f"{'method':<36} {'known-item nDCG@10':>18} {'R@20':>6} | {'topical nDCG@10':>15} {'R@20':>6} "
              f"| {'topical even':>13} | {'topical odd':>13} | {'phrase P@5':>10} {'nDCG@10':>7} "
              f"{'even':>5} {'odd':>5} | {'acronym nDCG@10':>15} {'short':>5} {'long':>5}")
    print(f"\nSearch quality over {len(pool)} papers (topical even/odd: the two halves of the topical "
          "queries, nDCG@10 and R@20; acronym short/long: the queries typing the acronym / its expansion)"
          f"\n\n{header}\n{'-' * len(header)}")
    for name in methods:
        row = {"method": name}
        for kind in ("known-item", "topical"):
            arr = np.array(scores[name][kind])
            row[f"{kind} nDCG@10"], row[f"{kind} R@20"] = float(arr[:, 0].mean()), float(arr[:, 1].mean())
        topical = np.array(scores[name]["topical"])
        for half, part in (("even", topical[0::2]), ("odd", topical[1::2])):
            row[f"topical {half} nDCG@10"], row[f"topical {half} R@20"] = (float(part[:, 0].mean()),
                                                                           float(part[:, 1].mean()))
        phrase = np.array(scores[name]["phrase"])
        row["phrase P@5"], row["phrase nDCG@10"] = float(phrase[:, 1].mean()), float(phrase[:, 0].mean())
        row["phrase even P@5"], row["phrase odd P@5"] = (float(phrase[0::2, 1].mean()),
                                                         float(phrase[1::2, 1].mean()))
        acronym = np.array(scores[name]["acronym"])
        row["acronym nDCG@10"] = float(acronym[:, 0].mean())
        row["acronym short nDCG@10"], row["acronym long nDCG@10"] = (float(acronym[0::2, 0].mean()),
                                                                     float(acronym[1::2, 0].mean()))
        table.append(row)
        print(f"{name:<36} {row['known-item nDCG@10']:>18.3f} {row['known-item R@20']:>6.3f} | "
              f"{row['topical nDCG@10']:>15.3f} {row['topical R@20']:>6.3f} | "
              f"{row['topical even nDCG@10']:>6.3f} {row['topical even R@20']:>6.3f} | "
              f"{row['topical odd nDCG@10']:>6.3f} {row['topical odd R@20']:>6.3f} | "
              f"{row['phrase P@5']:>10.3f} {row['phrase nDCG@10']:>7.3f} {row['phrase even P@5']:>5.3f} "
              f"{row['phrase odd P@5']:>5.3f} | {row['acronym nDCG@10']:>15.3f} "
              f"{row['acronym short nDCG@10']:>5.3f} {row['acronym long nDCG@10']:>5.3f}")
    # A window of the newest papers, as ``papers search --since`` reads it: its own pool (older papers,
    # some defining the acronyms, are not candidates at all).
    since = date.fromordinal(int(pool.day_numbers.max()) - RECENT_DAYS)
    recent = load_window(paper_store(service), since, None).pool
    windowed = [(text, {recent.position[pool.ids[i]] for i in rel if pool.ids[i] in recent.position}, qv)
                for (kind, text, rel), qv in zip(queries, q_vectors, strict=True) if kind == "acronym"]
    print(f"\nAcronym queries among the {len(recent)} papers since {since} (nDCG@10, "
          f"{sum(bool(rel) for _, rel, _ in windowed[0::2])} acronyms with a relevant paper there): "
          "all / short / long")
    for name, learned in (("pairs of the top", False), ("pairs learned at import (default)", True)):
        options = {"lexicon": pairs if learned else None} if learned_pairs else {}
        got = [ndcg_at([m.index for m in rank_candidates(recent.index, recent.emb, parse_query(text), qv, 20,
                                                         neighbours=recent.neighbours,
                                                         fields=pool_fields(recent), **options)], rel)
               if rel else np.nan for text, rel, qv in windowed]
        arr = np.array(got)
        print(f"  {name:<36} {np.nanmean(arr):.3f} / {np.nanmean(arr[0::2]):.3f} / "
              f"{np.nanmean(arr[1::2]):.3f}")
    print(f"\nBM25 index of {len(pool)} papers built in {index_s:.2f}s; acronyms learned at import ready in "
          f"{pairs_s:.2f}s ({'read once now' if pairs_s > 0.5 else 'already'})")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "search_quality.json"
    out.write_text(json.dumps({"papers": len(pool), "queries": len(queries), "table": table,
                               "seconds": time.perf_counter() - started}, indent=2))
    print(f"written {out} ({time.perf_counter() - started:.0f}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
