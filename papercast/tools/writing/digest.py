"""The digest: a window's reading list with TL;DRs, why each paper was picked and an overview.

One builder (``build_digest``) serves ``papercast digest`` (through the service) and the daily
graph's digest node. It receives what was already made: the reading list (with its LLM re-ranking),
the summaries (stored ones, batch TL;DRs, offline fallbacks) and the model client when one is used,
so a second digest of the same day is served from stored summaries and the response cache. The
overview is written by the model when one is set, otherwise computed (counts, top themes from the
summaries' keywords); it always says which. Every digest states its mode and this run's LLM usage.
Renderers are in ``render``.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from papercast.errors import one_line
from papercast.models import Paper, Profile, ReadingList, Recommendation, Summary, Usage
from papercast.tools.llm.client import LLMClient
from papercast.tools.llm.failures import BudgetExceeded, LLMUnavailable
from papercast.tools.llm.prompts import UNTRUSTED_RULE, escape_data
from papercast.tools.llm.sync import run_sync
from papercast.tools.ranking.rerank import profile_block
from papercast.tools.writing.citations import cited_ids, strip_ids
from papercast.tools.writing.summary_prompts import language_of, language_rule, versioned

log = logging.getLogger(__name__)

OVERVIEW_VERSION = "overview-v1"
OVERVIEW_WORDS = 90
EMPTY_STORE_NOTE = "no papers in the store yet: run `papercast fetch` or `papercast import FILE`"

OVERVIEW_PROMPT = f"""You write the opening paragraph of a researcher's daily paper digest: 2 to 4 sentences,
at most 80 words, plain text without lists or headings. Say what the day's picks are about and what
stands out for this reader (interests between <reader> tags). {UNTRUSTED_RULE}"""


@dataclass
class DigestItem:
    recommendation: Recommendation
    summary: Summary
    result: str = ""  # the abstract's result sentence, when the digest shows them (``digest --results``)

    @property
    def paper(self) -> Paper:
        return self.recommendation.paper


@dataclass
class Digest:
    profile: str
    items: list[DigestItem]
    since: date | None
    until: date | None
    overview: str
    overview_by: str  # the model's name, or "computed"
    mode: str  # "offline" or the model name
    usage: Usage
    generated: datetime
    window_count: int = 0  # papers published in the window
    note: str | None = None  # the window is not the one asked for
    notices: list[str] = field(default_factory=list)  # LLM trouble: unreachable, budget, fallbacks

    @property
    def window_label(self) -> str:
        return window_label(self.since, self.until)

    @property
    def title(self) -> str:
        return f"papercast digest — {self.until or self.generated.date()}"


def window_label(since: date | None, until: date | None) -> str:
    if since and until and since != until:
        return f"{since} .. {until}"
    return str(until or since or "all dates")


def themes(summaries: list[Summary], limit: int = 5) -> list[tuple[str, int]]:
    """The most frequent keywords across the picks (each counted once per paper)."""
    counts: Counter[str] = Counter()
    for summary in summaries:
        counts.update({k.lower() for k in summary.keywords if k})
    top = [(k, c) for k, c in counts.most_common(limit * 2) if c > 1][:limit]
    return top or counts.most_common(min(limit, 3))


def computed_overview(profile: str, items: list[DigestItem], window_label: str, window_count: int) -> str:
    if not items:
        return f"No papers to show for {window_label}."
    parts = [f"{len(items)} picks for profile \u201c{profile}\u201d from {window_count or len(items)} papers "
             f"published {window_label}."]
    top = themes([i.summary for i in items])
    if top:
        parts.append("Top themes: " + ", ".join(f"{k} ({c})" if c > 1 else k for k, c in top) + ".")
    voted = max(items, key=lambda i: i.paper.upvotes or -1)
    if voted.paper.upvotes:
        parts.append(f"Most upvoted on Hugging Face: {voted.paper.title} (\u25b2{voted.paper.upvotes}).")
    return " ".join(parts)


def overview_messages(profile: Profile, items: list[DigestItem],
                      language: str | None = None) -> list[dict[str, str]]:
    papers = "\n".join(f'<paper id="{escape_data(i.paper.id)}">\ntitle: {escape_data(i.paper.title)}\n'
                       f"tldr: {escape_data(i.summary.tldr)}\n</paper>" for i in items)
    return [{"role": "system", "content": OVERVIEW_PROMPT + language_rule(language)},
            {"role": "user", "content": f"{profile_block(profile)}\n\nToday's picks, best first:\n{papers}"}]


def clean_overview(text: str) -> str:
    flat = one_line(re.sub(r"^#+\s*|^overview:\s*", "", text.strip(), flags=re.IGNORECASE), 2000)
    words = flat.split()
    return flat if len(words) <= OVERVIEW_WORDS else " ".join(words[:OVERVIEW_WORDS]) + "…"


async def llm_overview(client: LLMClient, profile: Profile, items: list[DigestItem]) -> str | None:
    """The model's overview, or None (with a notice) when it cannot write one."""
    try:
        answer = await client.complete(overview_messages(profile, items, language_of(client)),
                                       purpose="overview",
                                       prompt_version=versioned(OVERVIEW_VERSION, language_of(client)),
                                       max_tokens=220, temperature=0.2)
    except (LLMUnavailable, BudgetExceeded) as exc:
        log.warning("digest overview: %s: %s; using the computed overview", type(exc).__name__, exc)
        return None
    text = clean_overview(answer.text)
    # The overview may cite only this digest's papers: an id the model made up (or took from a
    # paper's text) is removed, and the notice says so.
    picks = {i.paper.id for i in items}
    foreign = [pid for pid in cited_ids(text) if pid not in picks]
    if foreign:
        text = strip_ids(text, set(foreign))
        log.warning("digest overview: removed ids that are not among the picks: %s", ", ".join(foreign))
        client.notice("the model's overview cited papers that are not in this digest "
                      f"({', '.join(foreign)}); "
                      "they were removed")
    if len(text.split()) < 5:
        log.warning("digest overview: the model's overview was empty or unusable (%r); "
                    "using the computed overview", text[:80])
        client.notice("the model's overview was empty or unusable; used the computed overview")
        return None
    return text


def _said_once(lines: Sequence[str]) -> list[str]:
    """Each notice once, and none that another one already says in full."""
    unique = list(dict.fromkeys(line for line in lines if line))
    return [n for n in unique if not any(n != other and n in other for other in unique)]


async def abuild_digest(profile: Profile, reading: ReadingList, summaries: Sequence[Summary], *,
                        client: LLMClient | None, window_count: int, notes: Sequence[str] = (),
                        notices: Sequence[str] = (), language: str | None = None) -> Digest:
    """The digest of ``reading`` (its papers with ``summaries``, in the same order).

    ``language`` is the one the user asked for: offline summaries stay in the paper's language, and
    a notice says so rather than let them pass for translations.

    ``client`` is the model that may write the overview (None: offline, a computed overview);
    ``notes`` say how the window or the sources differ from what was asked; ``notices`` are this
    run's troubles beyond the model's own (a failed source, a failed step).
    """
    by_id = {s.paper_id: s for s in summaries}
    items = [DigestItem(r, by_id[r.paper.id]) for r in reading.items if r.paper.id in by_id]
    overview: str | None = None
    by = "computed"
    if client is not None and items:
        overview = await llm_overview(client, profile, items)
        by = client.model
    if overview is None:
        overview = computed_overview(profile.name, items, window_label(reading.since, reading.until),
                                     window_count)
        by = "computed"
    note = "; ".join(n for n in [*notes, reading.note] if n) or None
    if not items and note is None:
        note = EMPTY_STORE_NOTE
    model_notices = list(client.notices) if client is not None else []
    offline = sum(1 for item in items if item.summary.is_offline)
    if language and offline:
        model_notices.append(f"{offline} of {len(items)} summaries are offline extracts in the paper's own "
                             f"language, not in {language} (that needs a model: set PAPERCAST_MODEL)")
    return Digest(profile=profile.name, items=items, since=reading.since, until=reading.until,
                  overview=overview,
                  overview_by=by, mode=client.model if client is not None else "offline",
                  usage=client.usage if client is not None else Usage(), generated=datetime.now(UTC),
                  window_count=window_count, note=note,
                  notices=_said_once([*reading.llm_notes, *model_notices, *notices]))


def build_digest(profile: Profile, reading: ReadingList, summaries: Sequence[Summary], *,
                 client: LLMClient | None, window_count: int, notes: Sequence[str] = (),
                 notices: Sequence[str] = (), language: str | None = None) -> Digest:
    """Sync entry of ``abuild_digest`` (also safe inside a running event loop)."""
    return run_sync(abuild_digest(profile, reading, summaries, client=client, window_count=window_count,
                                  notes=notes, notices=notices, language=language))
