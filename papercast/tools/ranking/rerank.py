"""LLM re-ranking of the top of a reading list, with a one-line reason per paper.

Only the ranker's top K (``top_k``, the ``rerank_top_k`` setting) go to the model, in small batches, so the
cost stays a small multiple of the list shown rather than of the whole day. The model gives each paper a
relevance score 1–10 and a reason; the score is blended with the ranker's (both scaled to [0, 1] over the
top K) and mapped back into the ranker's score range, so re-ranked papers stay above the ones the model
never saw. Papers' text is untrusted: it goes in escaped ``<paper>`` blocks and the system prompt says
instructions inside are data. A batch the model fails on keeps the ranker's order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from papercast.errors import one_line
from papercast.models import Profile, Recommendation
from papercast.tools.llm.client import LLMClient
from papercast.tools.llm.failures import BudgetExceeded, LLMUnavailable
from papercast.tools.llm.parsing import json_rows
from papercast.tools.llm.prompts import UNTRUSTED_RULE, escape_data, paper_block
from papercast.tools.llm.schemas import rerank_schema
from papercast.tools.llm.sync import run_sync

log = logging.getLogger(__name__)

PROMPT_VERSION = "rerank-v1"
BATCH = 15  # papers per request: fewer repeats of the instructions, still an easy list to score
ABSTRACT_CHARS = 600
LLM_WEIGHT = 0.5  # share of the blended score that comes from the model
REASON_PREFIX = "LLM"

SYSTEM_PROMPT = f"""You judge how relevant research papers are to one reader, whose interests are given
between <reader> tags. {UNTRUSTED_RULE}
Score every paper from 1 (irrelevant to the reader) to 10 (exactly what they follow) on topic fit alone,
and give a one-line reason of at most 20 words that names the connection (or its absence).
Reply with one JSON object and nothing else:
{{"scores": [{{"id": "<paper id>", "score": <integer 1-10>, "reason": "<one line>"}}, ...]}}"""


def profile_block(profile: Profile) -> str:
    """The reader's interests as delimited data (the user wrote them, but they still never become rules)."""
    lines = ["<reader>"]
    if profile.interests:
        lines.append(f"interests: {escape_data(profile.interests)}")
    if profile.keywords:
        lines.append(f"keywords: {escape_data(', '.join(profile.keywords))}")
    if profile.excluded_keywords:
        lines.append(f"not interested in: {escape_data(', '.join(profile.excluded_keywords))}")
    if profile.authors:
        lines.append(f"follows authors: {escape_data(', '.join(profile.authors))}")
    if profile.categories:
        lines.append(f"categories: {escape_data(', '.join(profile.categories))}")
    lines.append("</reader>")
    return "\n".join(lines)


def rerank_messages(profile: Profile, items: Sequence[Recommendation]) -> list[dict[str, str]]:
    # Title and the opening of the abstract carry the topic; authors and categories only matter to
    # a profile that follows some, so they are sent only then.
    papers = "\n".join(paper_block(r.paper, abstract_chars=ABSTRACT_CHARS, authors=bool(profile.authors),
                                   categories=bool(profile.categories)) for r in items)
    ids = ", ".join(r.paper.id for r in items)
    return [{"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": f"{profile_block(profile)}\n\nScore these {len(items)} papers "
                                        f"(ids: {ids}).\n<papers>\n{papers}\n</papers>"}]


def parse_scores(text: str, finish_reason: str | None, wanted: Sequence[str]) -> dict[str, tuple[int, str]]:
    """id -> (score 1..10, reason) for the wanted ids the answer scores; ValueError when unusable."""
    rows = json_rows(text, finish_reason, keys=("scores", "papers"), value_key="score")
    allowed = set(wanted)
    out: dict[str, tuple[int, str]] = {}
    for row in rows:
        if not isinstance(row, dict):
            continue
        pid = str(row.get("id", "")).strip()
        if pid not in allowed or pid in out:
            continue
        try:
            score = round(float(row.get("score")))
        except (TypeError, ValueError, OverflowError):  # None, "high", NaN, Infinity
            continue
        out[pid] = (min(10, max(1, score)), one_line(str(row.get("reason") or ""), 200))
    if not out:
        raise ValueError("no scores for the papers asked about")
    return out


async def score_batch(client: LLMClient, profile: Profile,
                      items: Sequence[Recommendation]) -> dict[str, tuple[int, str]]:
    """Scores for one batch; one repair request when the first answer is unusable."""
    wanted = [r.paper.id for r in items]
    return await client.complete_json(
        rerank_messages(profile, items), lambda text, finish: parse_scores(text, finish, wanted),
        purpose="rerank", prompt_version=PROMPT_VERSION, max_tokens=60 + 45 * len(items),
        repair_max_tokens=80 + 60 * len(items),
        repair_prompt="That answer was not usable: {problem}. Reply with only the JSON object, one short "
                      "entry per paper id.", schema=rerank_schema(wanted))


def blend(items: Sequence[Recommendation], scores: dict[str, tuple[int, str]],
          weight: float = LLM_WEIGHT) -> list[Recommendation]:
    """Re-sorted copies of ``items`` with blended scores in the ranker's range and the model's reasons."""
    if not items:
        return []
    lo = min(r.score for r in items)
    hi = max(r.score for r in items)
    span = hi - lo
    out = []
    for r in items:
        norm = (r.score - lo) / span if span > 0 else 0.5
        if r.paper.id in scores:
            value, reason = scores[r.paper.id]
            mixed = (1 - weight) * norm + weight * (value - 1) / 9
            note = f"{REASON_PREFIX} {value}/10: {reason}" if reason else f"{REASON_PREFIX} {value}/10"
            reasons = [*r.reasons, note]
        else:
            mixed, reasons = norm, list(r.reasons)
        score = lo + mixed * (span if span > 0 else 1e-6)  # never below the papers the model did not see
        out.append(r.model_copy(update={"score": float(score), "reasons": reasons}))
    out.sort(key=lambda r: -r.score)
    return out


async def arerank(client: LLMClient, profile: Profile, items: list[Recommendation],
                  top_k: int) -> tuple[list[Recommendation], list[str]]:
    """The list with its top K re-ranked by the model, and notices (empty when all went well)."""
    k = max(0, int(top_k))
    if not items or k == 0:
        return items, []
    top, rest = items[:k], items[k:]
    # A small context window (a local model) takes fewer papers per request.
    size = client.fit_batch(min(BATCH, len(top)), lambda n: rerank_messages(profile, top[:n]),
                            lambda n: 60 + 45 * n)
    batches = [top[i:i + size] for i in range(0, len(top), size)]
    scores: dict[str, tuple[int, str]] = {}
    skipped: dict[str, int] = {}  # reason -> papers left in the ranker's order

    async def run(batch: list[Recommendation]) -> None:
        try:
            scored = await score_batch(client, profile, batch)
            scores.update(scored)
            # A small model may score some papers twice and others not at all: those keep the ranker's
            # score, and the user hears so like any other skip.
            missing = sum(r.paper.id not in scored for r in batch)
            if missing:
                reason = "the model's answer left them out"
                log.info("re-ranking: the model's answer left out %d of %d papers (%s, ...)", missing,
                         len(batch), batch[0].paper.id)
                skipped[reason] = skipped.get(reason, 0) + missing
        except (LLMUnavailable, BudgetExceeded) as exc:
            log.warning("re-ranking skipped for a batch of %d papers (%s, ...): %s: %s; "
                        "kept the ranker's order", len(batch), batch[0].paper.id, type(exc).__name__, exc)
            skipped[str(exc)] = skipped.get(str(exc), 0) + len(batch)
        except ValueError as exc:
            reason = f"the model's answer was unusable ({exc})"
            log.warning("re-ranking skipped for a batch of %d papers (%s, ...): %s; kept the ranker's order",
                        len(batch), batch[0].paper.id, reason)
            skipped[reason] = skipped.get(reason, 0) + len(batch)

    await asyncio.gather(*(run(b) for b in batches))
    reranked = blend(top, scores) if scores else list(top)
    notes = [one_line(f"LLM re-ranking skipped for {count} of {len(top)} papers: {reason}")
             for reason, count in skipped.items()]
    return reranked + rest, notes


def rerank(client: LLMClient, profile: Profile, items: list[Recommendation],
           top_k: int) -> tuple[list[Recommendation], list[str]]:
    """Sync entry used by the service's ``recommend``."""
    return run_sync(arerank(client, profile, items, top_k))
