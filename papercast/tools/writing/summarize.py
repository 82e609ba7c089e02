"""Structured paper summaries: written by the model when one is set, extractive offline otherwise.

* LLM summaries ask for one JSON object, validated and normalised (``summary_draft``); invalid or cut-off
  JSON gets one repair request. If that fails, or the model is unreachable or the budget spent, the
  paper gets the offline summary, labelled as a fallback: model output never crashes a run.
* Offline summaries are extractive: each field from the abstract sentences of its role (``roles``: the
  tldr from the objective, the method from method sentences, the results from result sentences, the
  contributions from those three roles' other sentences), the rest by centrality, plus Hugging Face's
  ``ai_summary`` / ``ai_keywords`` when the paper has them.
* Every summary is stored per (paper, model, prompt version), so it is written once.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np
from pydantic import ValidationError

from papercast.models import Document, Paper, Summary
from papercast.store.embeddings.bundled import pool
from papercast.tools.llm.client import LLMClient
from papercast.tools.llm.failures import BudgetExceeded, LLMUnavailable
from papercast.tools.llm.parsing import json_rows
from papercast.tools.llm.prompts import UNTRUSTED_RULE, paper_block
from papercast.tools.llm.schemas import SUMMARY_SCHEMA, tldr_schema
from papercast.tools.llm.sync import run_sync
from papercast.tools.ranking.lexical import STOPWORDS
from papercast.tools.writing.fulltext_summary import (
    OFFLINE_FULLTEXT_VERSION,
    fulltext_version,
    llm_fulltext_summary,
    llm_version,
    made_from,
    offline_fulltext_summary,
)
from papercast.tools.writing.roles import ROLE_BATCH, remember_roles, roles_of
from papercast.tools.writing.summary_draft import MAX_KEYWORDS, SummaryDraft, parse_summary
from papercast.tools.writing.summary_prompts import (
    PROMPT_VERSION,
    REPAIR_PROMPT,
    language_of,
    language_rule,
    versioned,
)
from papercast.tools.writing.summary_text import (
    CONTRIB,
    LIMITS,
    METHOD,
    RESULTS,
    TLDR_WORDS,
    first_sentence,
    read_alone,
    split_sentences,
    words_cap,
)

if TYPE_CHECKING:
    from papercast.store.llm_log import LLMLog
    from papercast.store.papers import PaperStore

logger = logging.getLogger(__name__)  # not ``log``: that is the LLMLog parameter of the functions here

OFFLINE_MODEL = "offline"
# v2: fields picked by sentence role; v3: the two-stage role model; v4: the role model reading token states;
# v5: contributions only from objective, method and result sentences; v6: a tldr read alone (no leading
# "First, ..."); v7: the role model's members averaged over the epochs around their best
OFFLINE_VERSION = "extractive-v7"
FALLBACK = "fallback: "  # prompt_version prefix of an offline summary standing in for a failed LLM one

SYSTEM_PROMPT = f"""You write structured summaries of research papers for a busy researcher.
{UNTRUSTED_RULE}
Use only what the paper text says. Reply with one JSON object and nothing else, with these keys:
  "tldr": one sentence of at most 30 words saying what the paper does and finds,
  "contributions": a list of at most 4 short strings,
  "method": one or two sentences,
  "results": one or two sentences with the key numbers when given,
  "limitations": one sentence, or "not stated" when the text does not say,
  "keywords": a list of 3 to 8 short lowercase phrases."""

TLDR_VERSION = "tldr-v1"
TLDR_BATCH = 10
TLDR_ABSTRACT_CHARS = 1500  # a TL;DR needs the main claim, which abstracts make early
TLDR_PROMPT = f"""You write TL;DRs of research papers for a busy researcher's daily digest.
{UNTRUSTED_RULE}
For every paper write a "tldr": one sentence of at most 30 words saying what it does and finds, using only
its text, and 3 to 5 lowercase "keywords". Reply with one JSON object and nothing else:
{{"papers": [{{"id": "<paper id>", "tldr": "...", "keywords": ["...", ...]}}, ...]}}"""


def summary_label(summary: Summary) -> str:
    """How a summary is labelled wherever it is shown; one made from the full text says so (one of the
    abstract, the default, says it through ``fulltext_summary.made_from`` where the summary is shown)."""
    label = _who_wrote(summary)
    if summary.source != "abstract":
        label = f"{label} of {made_from(summary)}"
    return label


def _who_wrote(summary: Summary) -> str:
    if summary.is_offline:
        if summary.prompt_version.startswith(FALLBACK):
            return f"offline summary ({summary.prompt_version[len(FALLBACK):]})"
        return "offline summary"
    if summary.prompt_version.startswith(TLDR_VERSION):
        return f"TL;DR by {summary.model}"
    return f"summary by {summary.model}"


# -- offline, extractive ---------------------------------------------------------------------------------
_CONNECTIVE = re.compile(r"^(first|second|third|fourth|finally|moreover|furthermore|additionally|also|"
                         r"however|besides|then|next|lastly|in addition|in particular|specifically|notably|"
                         r"to this end|this|these|it|they|such)\b", re.IGNORECASE)
# Words too general to be a paper's keyword, on top of the stop words every part of papercast shares.
_GENERIC = frozenset(["across", "among", "between", "data", "done", "first", "further", "here", "high",
                      "including", "large", "low", "model", "models", "nor", "one", "shall", "should",
                      "small", "task", "tasks", "therefore", "three", "thus", "two", "us", "whom"])
_NOT_KEYWORDS = STOPWORDS | _GENERIC


def _keywords(paper: Paper, limit: int = 6) -> list[str]:
    if paper.ai_keywords:
        return [k.lower() for k in paper.ai_keywords][:MAX_KEYWORDS]
    counts: Counter[str] = Counter()
    for weight, text in ((3, paper.title), (1, paper.abstract)):
        for word in re.findall(r"[A-Za-z][A-Za-z0-9\-]{2,}", text):
            low = word.lower()
            if low not in _NOT_KEYWORDS and len(low) > 3:
                counts[low] += weight
    return [w for w, _ in counts.most_common(limit)]


def _best(sentences: list[str], order: list[int], pattern: re.Pattern[str], used: set[int]) -> str:
    for i in order:
        if i not in used and pattern.search(sentences[i]):
            used.add(i)
            return sentences[i]
    return ""


def _with_role(roles: Sequence[tuple[str, float]], role: str, used: set[int], most: int) -> list[int]:
    """Up to ``most`` unused sentences of ``role``, the surest ones, in the abstract's order."""
    found = [i for i, (r, _) in enumerate(roles) if r == role and i not in used]
    picked = sorted(sorted(found, key=lambda i: -roles[i][1])[:most])
    used.update(picked)
    return picked


def _by_roles(sentences: list[str], roles: Sequence[tuple[str, float]],
              used: set[int]) -> tuple[int | None, str, str]:
    """The tldr's sentence (the surest objective, else the surest method sentence: the first method
    sentence holds a labelled method or objective sentence less often on CSAbstruct's test, 79% against
    86%), the method (its method sentences) and the results (its result sentences; the last sentence when
    none is one)."""
    tldr = (_with_role(roles, "objective", used, 1) or _with_role(roles, "method", used, 1) or [None])[0]
    method = " ".join(sentences[i] for i in _with_role(roles, "method", used, 2))
    found = _with_role(roles, "result", used, 2)
    if not found and len(sentences) - 1 not in used and len(sentences) > 1:
        found = [len(sentences) - 1]
        used.add(found[0])
    return tldr, method, " ".join(sentences[i] for i in found)


def _contributions(sentences: list[str], order: list[int], used: set[int],
                   roles: Sequence[tuple[str, float]] | None) -> list[str]:
    """Up to three sentences that say what the paper does or finds, in the abstract's order. With roles, only
    the objective, method and result sentences the other fields left (an abstract's background is nobody's
    contribution; none left, none listed), those worded as one ("we propose", "we show") first. Without,
    those worded as one first, then the most central."""
    if roles is not None:
        fits = [i for i in order if i not in used and roles[i][0] in ("objective", "method", "result")]
        picked = [i for i in fits if CONTRIB.search(sentences[i])][:3]
        picked += [i for i in fits if i not in picked][:3 - len(picked)]
    else:
        picked = [i for i in order if i not in used and CONTRIB.search(sentences[i])][:3]
        if len(picked) < 2:
            picked += [i for i in order if i not in used and i not in picked][:3 - len(picked)]
    return [sentences[i] for i in sorted(picked)]


def extractive_summary(paper: Paper, sentence_vectors: np.ndarray | None, paper_vector: np.ndarray | None,
                       sentences: list[str] | None = None,
                       roles: Sequence[tuple[str, float]] | None = None) -> Summary:
    """The offline summary: fields from the sentences of their ``roles`` when given (one per sentence),
    the rest from the abstract's sentences ranked by centrality."""
    sentences = sentences if sentences is not None else split_sentences(paper.abstract)
    order = list(range(len(sentences)))
    if sentences and sentence_vectors is not None and len(sentence_vectors) == len(sentences):
        centre = sentence_vectors.mean(axis=0)
        if paper_vector is not None:
            centre = centre / max(float(np.linalg.norm(centre)), 1e-9) + paper_vector / max(
                float(np.linalg.norm(paper_vector)), 1e-9)
        centre = centre / max(float(np.linalg.norm(centre)), 1e-9)
        scores = sentence_vectors @ centre
        # Central sentences first, but prefer ones that say what the paper does over list items
        # ("Third, ...") and connectives that need the previous sentence to make sense.
        bonus = [0.08 * bool(CONTRIB.search(s)) - 0.12 * bool(_CONNECTIVE.match(s)) for s in sentences]
        order = sorted(order, key=lambda i: -(float(scores[i]) + bonus[i]))
    used: set[int] = set()
    first, method, results = None, "", ""
    roles = roles if roles is not None and len(roles) == len(sentences) else None
    if roles is not None:
        first, method, results = _by_roles(sentences, roles, used)
    if paper.ai_summary:
        used.discard(-1 if first is None else first)  # HF's own summary is the better tldr
        tldr = words_cap(first_sentence(paper.ai_summary), TLDR_WORDS)
    elif first is not None or order:
        first = order[0] if first is None else first
        used.add(first)
        tldr = words_cap(read_alone(sentences[first]), TLDR_WORDS)
    else:
        tldr = words_cap(paper.title, TLDR_WORDS)
    method = method or _best(sentences, order, METHOD, used)
    results = results or _best(sentences, order, RESULTS, used)
    limitations = _best(sentences, order, LIMITS, used)
    contributions = _contributions(sentences, order, used, roles)
    return Summary(paper_id=paper.id, tldr=tldr, contributions=contributions, method=method, results=results,
                   limitations=limitations, keywords=_keywords(paper), model=OFFLINE_MODEL,
                   prompt_version=OFFLINE_VERSION, created=datetime.now(UTC))


def offline_summaries(papers: Sequence[Paper], *, store: PaperStore, log: LLMLog,
                      documents: Mapping[str, Document] | None = None) -> dict[str, Summary]:
    """Extractive summaries (stored ones reused): from the sections of a paper's full text when
    ``documents`` holds it (``fulltext_summary``), else from the abstract."""
    out = _abstract_offline_summaries(papers, store=store, log=log)
    for paper in papers:
        document = (documents or {}).get(paper.id)
        if document is None or not document.is_fulltext:
            continue
        version = fulltext_version(OFFLINE_FULLTEXT_VERSION, document)
        known = log.get_summary(paper.id, OFFLINE_MODEL, version)
        if known is None:
            known = offline_fulltext_summary(paper, document, out[paper.id])
            log.put_summary(known)
        out[paper.id] = known
    return out


def _abstract_offline_summaries(papers: Sequence[Paper], *, store: PaperStore,
                                log: LLMLog) -> dict[str, Summary]:
    """Extractive summaries of the abstracts (stored ones reused); the new ones' sentences embedded in
    batches of ``ROLE_BATCH`` papers (token states take ~0.4 MB a paper)."""
    out: dict[str, Summary] = {}
    todo: list[Paper] = []
    for paper in papers:
        known = log.get_summary(paper.id, OFFLINE_MODEL, OFFLINE_VERSION)
        if known is not None:
            out[paper.id] = known
        else:
            todo.append(paper)
    for start in range(0, len(todo), ROLE_BATCH):
        out.update(_summarize_batch(todo[start:start + ROLE_BATCH], store=store, log=log))
    return out


def _summarize_batch(todo: Sequence[Paper], *, store: PaperStore, log: LLMLog) -> dict[str, Summary]:
    """Extractive summaries of ``todo``, all their sentences run through the model in one pass, which
    gives the role model its token states and (pooled) the summary its sentence vectors."""
    split = {p.id: split_sentences(p.abstract) for p in todo}
    flat = [s for p in todo for s in split[p.id]]
    tokens = store.embed_tokens(flat)  # the role model reads the bundled MiniLM's token states
    if not flat:
        vectors = np.zeros((0, 384), dtype=np.float32)
    elif store.embeds_with_bundled_model:  # the same pass gives the store's sentence vectors
        vectors = np.stack([pool(t) for t in tokens])
    else:
        vectors = store.embed_texts(flat)
    try:
        stored = store.embeddings([p.id for p in todo])
    except Exception:  # a paper not in the store (e.g. built by hand) still gets a summary
        stored = {}
    roles = roles_of(split, tokens)
    out: dict[str, Summary] = {}
    start = 0
    for paper in todo:
        count = len(split[paper.id])
        predicted = [(r.role, r.confidence) for r in roles[paper.id]]
        summary = extractive_summary(paper, vectors[start:start + count], stored.get(paper.id),
                                     split[paper.id], predicted)
        start += count
        log.put_summary(summary)
        out[paper.id] = summary
    remember_roles(log.path, todo, roles)  # the paper view then shows them with no embedding
    return out


# -- with the model --------------------------------------------------------------------------------------
SUMMARY_ABSTRACT_CHARS = 4000
SHORTER_SUMMARY = "Keep every field short: under 120 words in the whole JSON object."


def summary_messages(paper: Paper, language: str | None = None, *,
                     abstract_chars: int = SUMMARY_ABSTRACT_CHARS,
                     note: str = "") -> list[dict[str, str]]:
    """The summary request; ``abstract_chars`` shrinks it to a small context window, ``note`` asks for
    more."""
    return [{"role": "system", "content": SYSTEM_PROMPT + language_rule(language)},
            {"role": "user", "content": "Summarize this paper.\n\n" + paper_block(
                paper, abstract_chars=abstract_chars, authors=False, categories=False)
             + (f"\n\n{note}" if note else "")}]


async def llm_summary(client: LLMClient, paper: Paper, document: Document | None = None
                      ) -> tuple[Summary | None, str | None]:
    """(summary, None), or (None, why the model's answers were unusable). Model errors propagate.
    With a full-text ``document`` the model reads its sections (``fulltext_summary``)."""
    if document is not None and document.is_fulltext:
        return await llm_fulltext_summary(client, paper, document)
    version = versioned(PROMPT_VERSION, language_of(client))
    # The abstract is cut to what the model's context window leaves; an answer cut off at max_tokens is
    # asked once more with half of that and a request for brevity (LLMClient.complete_json).
    language = language_of(client)
    messages = client.fit_prompt(lambda scale: summary_messages(
        paper, language, abstract_chars=int(SUMMARY_ABSTRACT_CHARS * scale)), 700)
    half = max(300, min(SUMMARY_ABSTRACT_CHARS, len(paper.abstract or "")) // 2)

    def shorter() -> list[dict[str, str]]:
        return client.fit_prompt(lambda scale: summary_messages(
            paper, language, abstract_chars=int(half * scale), note=SHORTER_SUMMARY), 900)

    try:
        draft = await client.complete_json(messages, parse_summary, purpose="summary", prompt_version=version,
                                           max_tokens=700, repair_max_tokens=900, repair_prompt=REPAIR_PROMPT,
                                           schema=SUMMARY_SCHEMA, shorter=shorter)
    except ValueError as again:
        return None, f"the model's answer was unusable twice: {again}"
    return Summary(paper_id=paper.id, **draft.model_dump(), model=client.model, prompt_version=version,
                   created=datetime.now(UTC)), None


async def asummarize_papers(papers: Sequence[Paper], *, store: PaperStore, log: LLMLog,
                            client: LLMClient | None = None,
                            documents: Mapping[str, Document] | None = None) -> list[Summary]:
    """Summaries in the order of ``papers``, by ``client``'s model or offline without one; from the
    full text of the papers ``documents`` holds read.

    Never raises for model trouble: a paper the model fails on gets the offline summary, labelled
    as a fallback, and the client keeps a notice saying why.
    """
    documents = documents or {}
    if client is None:
        found = offline_summaries(papers, store=store, log=log, documents=documents)
        return [found[p.id] for p in papers]
    result: dict[str, Summary] = {}
    failed: dict[str, str] = {}
    todo = []
    for paper in papers:
        known = log.get_summary(paper.id, client.model, llm_version(client, documents.get(paper.id)))
        if known is not None:
            result[paper.id] = known
        else:
            todo.append(paper)

    async def one(paper: Paper) -> None:
        try:
            summary, problem = await llm_summary(client, paper, documents.get(paper.id))
        except (LLMUnavailable, BudgetExceeded) as exc:
            failed[paper.id] = "model unavailable" if isinstance(exc,
                                                                 LLMUnavailable) else "LLM budget reached"
            logger.warning("summary of %s: %s (%s: %s); using the offline summary", paper.id,
                           failed[paper.id], type(exc).__name__, exc)
            return
        if summary is None:
            failed[paper.id] = "the model's answer was unusable"
            logger.warning("summary of %s: %s; using the offline summary", paper.id, problem)
            client.notice(f"summary of {paper.id}: {problem}; used the offline summary")
            return
        log.put_summary(summary)
        result[paper.id] = summary

    await asyncio.gather(*(one(p) for p in todo))
    if failed:
        fallback = offline_summaries([p for p in papers if p.id in failed], store=store, log=log,
                                     documents=documents)
        for pid, why in failed.items():
            result[pid] = fallback[pid].model_copy(update={"prompt_version": FALLBACK + why})
    return [result[p.id] for p in papers]


# -- TL;DRs for the digest -----------------------------------------------------------------------------
def tldr_messages(papers: Sequence[Paper], language: str | None = None) -> list[dict[str, str]]:
    blocks = "\n".join(paper_block(p, abstract_chars=TLDR_ABSTRACT_CHARS, authors=False,
                                   categories=False) for p in papers)
    return [{"role": "system", "content": TLDR_PROMPT + language_rule(language)},
            {"role": "user",
             "content": f"Write TL;DRs for these {len(papers)} papers.\n<papers>\n{blocks}\n</papers>"}]


def parse_tldrs(text: str, finish_reason: str | None, wanted: Sequence[str]) -> dict[str, SummaryDraft]:
    """id -> validated draft for the wanted ids the answer covers; ValueError when it covers none."""
    rows = json_rows(text, finish_reason, keys=("papers", "tldrs"), value_key="tldr")
    out: dict[str, SummaryDraft] = {}
    for row in rows:
        if isinstance(row, dict) and str(row.get("id", "")).strip() in set(wanted):
            try:
                out.setdefault(str(row["id"]).strip(), SummaryDraft.model_validate(
                    {"tldr": row.get("tldr"), "keywords": row.get("keywords")}))
            except ValidationError:
                continue
    if not out:
        raise ValueError("no usable TL;DR for the papers asked about")
    return out


async def tldr_batch(client: LLMClient, papers: Sequence[Paper]) -> dict[str, SummaryDraft]:
    """TL;DRs for a batch of papers in one request; one repair request when the answer is unusable."""
    wanted = [p.id for p in papers]
    return await client.complete_json(
        tldr_messages(papers, language_of(client)), lambda text, finish: parse_tldrs(text, finish, wanted),
        purpose="tldr", prompt_version=versioned(TLDR_VERSION, language_of(client)),
                                      max_tokens=80 + 70 * len(papers),
                                      repair_max_tokens=120 + 80 * len(papers),
        repair_prompt=REPAIR_PROMPT, schema=tldr_schema(wanted))


async def adigest_summaries(papers: Sequence[Paper], *, store: PaperStore, log: LLMLog,
                            client: LLMClient | None = None,
                            documents: Mapping[str, Document] | None = None) -> list[Summary]:
    """What a digest shows per paper: a stored full summary (of the full text when ``documents`` holds
    the paper read), else a stored or new batch TL;DR.

    A digest prints one sentence per paper, so asking for whole structured summaries would pay for
    contributions, method and results nobody reads there; ``papercast summarize`` (or the TUI) writes
    those on demand and the digest uses them once they exist.
    """
    documents = documents or {}
    if client is None:
        found = offline_summaries(papers, store=store, log=log, documents=documents)
        return [found[p.id] for p in papers]
    result: dict[str, Summary] = {}
    todo: list[Paper] = []
    for paper in papers:
        known = (log.get_summary(paper.id, client.model, llm_version(client, documents.get(paper.id)))
                 or log.get_summary(paper.id, client.model, versioned(PROMPT_VERSION, language_of(client)))
                 or log.get_summary(paper.id, client.model, versioned(TLDR_VERSION, language_of(client))))
        if known is not None:
            result[paper.id] = known
        else:
            todo.append(paper)
    failed: dict[str, str] = {}

    async def one(batch: Sequence[Paper]) -> None:
        try:
            drafts = await tldr_batch(client, batch)
        except (LLMUnavailable, BudgetExceeded) as exc:
            why = "model unavailable" if isinstance(exc, LLMUnavailable) else "LLM budget reached"
            logger.warning("TL;DRs of %s: %s (%s: %s); using offline summaries", _ids(batch), why,
                           type(exc).__name__, exc)
            failed.update({p.id: why for p in batch})
            return
        except ValueError as exc:
            logger.warning("TL;DRs of %s: the model's answer was unusable twice (%s); "
                           "using offline summaries", _ids(batch), exc)
            client.notice(f"TL;DRs of {len(batch)} papers: the model's answer was unusable ({exc}); "
                          "used offline summaries")
            failed.update({p.id: "the model's answer was unusable" for p in batch})
            return
        for paper in batch:
            draft = drafts.get(paper.id)
            if draft is None:
                failed[paper.id] = "the model skipped this paper"
                logger.warning("TL;DR of %s: the model's answer skipped it; using the offline summary",
                               paper.id)
                continue
            summary = Summary(paper_id=paper.id, **draft.model_dump(), model=client.model,
                              prompt_version=versioned(TLDR_VERSION, language_of(client)),
                              created=datetime.now(UTC))
            log.put_summary(summary)
            result[paper.id] = summary

    # A small context window (a local model) takes fewer papers per request.
    size = client.fit_batch(min(TLDR_BATCH, len(todo)),
                            lambda n: tldr_messages(todo[:n], language_of(client)),
                            lambda n: 80 + 70 * n) if todo else TLDR_BATCH
    await asyncio.gather(*(one(todo[i:i + size]) for i in range(0, len(todo), size)))
    if failed:
        fallback = offline_summaries([p for p in papers if p.id in failed], store=store, log=log)
        for pid, why in failed.items():
            result[pid] = fallback[pid].model_copy(update={"prompt_version": FALLBACK + why})
    return [result[p.id] for p in papers]


def _ids(papers: Sequence[Paper]) -> str:
    """The ids of a batch for a log line."""
    return ", ".join(p.id for p in papers)


def digest_summaries(papers: Sequence[Paper], *, store: PaperStore, log: LLMLog,
                     client: LLMClient | None = None,
                     documents: Mapping[str, Document] | None = None) -> list[Summary]:
    return run_sync(adigest_summaries(papers, store=store, log=log, client=client, documents=documents))


def summarize_papers(papers: Sequence[Paper], *, store: PaperStore, log: LLMLog,
                     client: LLMClient | None = None,
                     documents: Mapping[str, Document] | None = None) -> list[Summary]:
    """Sync entry for the service (also safe inside a running event loop)."""
    return run_sync(asummarize_papers(papers, store=store, log=log, client=client, documents=documents))
