"""The data shapes every part of papercast agrees on.

Pydantic models sit at the boundaries: papers from any source, profiles, feedback,
recommendations and summaries. `Paper` keeps unknown API fields (``extra="allow"``)
so nothing a source tells us is thrown away.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from papercast.errors import UserError, redact
from papercast.sanitize import clean_record

# New-style ids: 2401.01234 (4+4 since 2007-04, 4+5 since 2015). Old-style: astro-ph/0601001,
# math.GT/0309136.
_NEW_ID = re.compile(r"(\d{4}\.\d{4,5})(v\d+)?")
_OLD_ID = re.compile(r"([a-z][a-z\-]+(?:\.[A-Z]{2})?/\d{7})(v\d+)?", re.IGNORECASE)


class InvalidPaperId(UserError):
    """Raised when a string does not contain a recognisable arXiv id."""


def normalize_arxiv_id(raw: str) -> str:
    """Return the canonical arXiv id without version.

    Accepts ``2401.01234v2``, ``arXiv:2401.01234``, abs/pdf/HF URLs, ``oai:arXiv.org:...``
    and old-style ids like ``astro-ph/0601001v1``.
    """
    text = str(raw).strip()
    if not text:
        raise InvalidPaperId("empty paper id")
    # Strip URL and prefix noise but keep the tail that carries the id.
    tail = re.sub(r"^(?:https?://[^/]+/(?:abs|pdf|papers|html)/|oai:arxiv\.org:|arxiv:)", "", text,
                  flags=re.IGNORECASE)
    tail = re.sub(r"\.pdf$", "", tail, flags=re.IGNORECASE).strip("/ ")
    m = _NEW_ID.fullmatch(tail)
    if m:
        return m.group(1)
    m = _OLD_ID.fullmatch(tail)
    if m:
        archive, number = m.group(1).split("/")
        # ``math.GT/0309136`` is ``math/0309136``: the subject class is not part of the id.
        return f"{archive.split('.')[0].lower()}/{number}"
    raise InvalidPaperId(f"not an arXiv id: {raw!r}")


def parse_date(text: str | date | None, what: str = "date") -> date | None:
    """A ``YYYY-MM-DD`` date (also ``today`` / ``yesterday``), or a UserError naming the bad value."""
    if text is None or isinstance(text, date):
        return text
    value = text.strip().lower()
    if value == "today":
        return date.today()
    if value == "yesterday":
        return date.fromordinal(date.today().toordinal() - 1)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError(f"invalid {what} {text!r}: use YYYY-MM-DD") from None


class Paper(BaseModel):
    """A paper as papercast knows it. ``id`` is the arXiv id without version."""

    model_config = ConfigDict(extra="allow")

    id: str
    title: str
    abstract: str = ""
    authors: list[str] = Field(default_factory=list)
    published: date | None = None
    categories: list[str] = Field(default_factory=list)
    upvotes: int | None = None
    sources: list[str] = Field(default_factory=list)  # "hf", "arxiv", "import", ...
    # Hugging Face Daily Papers fields (None when unknown).
    hf_date: date | None = None  # the Daily Papers list the paper was on
    num_comments: int | None = None
    ai_summary: str | None = None
    ai_keywords: list[str] = Field(default_factory=list)
    github_repo: str | None = None
    github_stars: int | None = None
    project_page: str | None = None
    organization: str | None = None
    comment: str | None = None  # arXiv comment (pages, venue)
    # What ``clean_record`` cut to size when this paper came in ("title: 52,428,800 → 1,000 characters").
    _cuts: list[str] = PrivateAttr(default_factory=list)

    @model_validator(mode="wrap")
    @classmethod
    def _sanitize(cls, data: Any, handler: Any) -> Any:
        """Paper text is untrusted: control characters out and every field capped before anything
        stores or shows it (papercast/sanitize.py); the cuts are kept for ``cut_note``."""
        cuts: list[str] = []
        if isinstance(data, dict):
            data, cuts = clean_record(data, cls.model_fields.keys())
        paper = handler(data)
        if cuts:
            paper._cuts = cuts
        return paper

    def cut_note(self) -> str | None:
        """One line saying what was cut from this paper when it came in (None: nothing)."""
        return f"{self.id}: cut to size: {'; '.join(self._cuts)}" if self._cuts else None

    @field_validator("id")
    @classmethod
    def _normalize_id(cls, value: str) -> str:
        return normalize_arxiv_id(value)

    @field_validator("title", "abstract")
    @classmethod
    def _collapse_ws(cls, value: str) -> str:
        return " ".join(str(value).split())

    @field_validator("published", "hf_date", mode="before")
    @classmethod
    def _parse_date(cls, value: Any) -> Any:
        if isinstance(value, str) and len(value) > 10:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
        return value

    def to_json(self) -> dict[str, Any]:
        """The JSON shape of a paper on the command line (``papers show --json``)."""
        data = json.loads(self.model_dump_json(exclude_none=True))
        data.update({"url": self.url, "pdf_url": self.pdf_url})
        return data

    @property
    def url(self) -> str:
        return f"https://arxiv.org/abs/{self.id}"

    @property
    def pdf_url(self) -> str:
        return f"https://arxiv.org/pdf/{self.id}"

    @property
    def hf_url(self) -> str:
        return f"https://huggingface.co/papers/{self.id}"

    @property
    def embedding_text(self) -> str:
        """What the embedding model reads: title and abstract."""
        return f"{self.title}. {self.abstract}".strip()

    @property
    def first_author(self) -> str:
        return self.authors[0] if self.authors else ""

    def merged_with(self, other: Paper) -> Paper:
        """One record from two sources: fields of ``other`` fill and refresh ours.

        arXiv metadata (abstract, categories) and HF fields (upvotes, ai_*) come together;
        a non-empty value never gets replaced by an empty one.
        """
        mine = self.model_dump()
        theirs = other.model_dump()
        for key, value in theirs.items():
            if key == "sources":
                mine["sources"] = sorted(set(mine.get("sources") or []) | set(value or []))
            elif value not in (None, "", [], {}):
                if key == "upvotes" and mine.get("upvotes") is not None:
                    mine[key] = max(mine[key], value)
                else:
                    mine[key] = value
        merged = Paper.model_validate(mine)
        merged._cuts = list(dict.fromkeys([*self._cuts, *other._cuts]))  # still to be reported
        return merged


FeedbackKind = Literal["like", "dislike", "save", "dismiss"]
# Liking a paper takes back a dislike of it and vice versa; the other kinds are independent.
OPPOSITE_FEEDBACK: dict[str, FeedbackKind] = {"like": "dislike", "dislike": "like"}


class Feedback(BaseModel):
    paper_id: str
    kind: FeedbackKind
    at: datetime


class Profile(BaseModel):
    """A named interest profile. Feedback lives with it (liked/disliked/saved/dismissed)."""

    name: str
    interests: str = ""
    keywords: list[str] = Field(default_factory=list)
    excluded_keywords: list[str] = Field(default_factory=list)
    authors: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    feedback: list[Feedback] = Field(default_factory=list)
    created: datetime | None = None
    updated: datetime | None = None

    def ids(self, kind: FeedbackKind) -> list[str]:
        return [f.paper_id for f in self.feedback if f.kind == kind]

    @property
    def liked(self) -> list[str]:
        return self.ids("like")

    @property
    def disliked(self) -> list[str]:
        return self.ids("dislike")

    @property
    def saved(self) -> list[str]:
        return self.ids("save")

    @property
    def dismissed(self) -> list[str]:
        return self.ids("dismiss")

    def to_json(self, *, active: bool) -> dict[str, Any]:
        """The JSON shape of a profile (``profile show --json``): its fields and feedback by kind."""
        data = json.loads(self.model_dump_json())
        data["active"] = active
        for kind in ("liked", "disliked", "saved", "dismissed"):
            data[kind] = getattr(self, kind)
        return data


class Recommendation(BaseModel):
    paper: Paper
    score: float
    reasons: list[str] = Field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The `recommend --json` item shape of the CLI contract."""
        return {
            "id": self.paper.id,
            "title": self.paper.title,
            "score": round(self.score, 4),
            "reasons": self.reasons,
            "published": self.paper.published.isoformat() if self.paper.published else None,
            "url": self.paper.url,
            "authors": self.paper.authors,
            "upvotes": self.paper.upvotes,
        }


class TeachCandidate(BaseModel):
    """A paper the ranker is least sure about (``papercast teach``): rating it teaches it most."""

    paper: Paper
    p_like: float  # the ranker's calibrated probability that the profile likes it
    reasons: list[str] = Field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.paper.id, "title": self.paper.title, "p_like": round(self.p_like, 3),
                "reasons": self.reasons, "published": self.paper.published.isoformat() if self.paper.published else None,
                "url": self.paper.url, "authors": self.paper.authors}


class RankingMetrics(BaseModel):
    """How a ranker ordered and classified some rated papers (``papercast eval``)."""

    ndcg: float | None = None
    mrr: float | None = None
    balanced_accuracy: float | None = None
    auc: float | None = None  # how often a like ranks above a dislike or an unrated paper of the window
    liked_right: int = 0  # likes it predicted liked
    disliked_right: int = 0  # dislikes it predicted not liked


class EvaluationPeriod(BaseModel):
    """One day, week or the whole history of ratings, graded with learning and without."""

    label: str  # "2026-11-30", "2026-W48" or "overall"
    likes: int
    dislikes: int
    days: int  # rating days graded in it
    learning: RankingMetrics
    no_learning: RankingMetrics


class Evaluation(BaseModel):
    """The recommender graded on a profile's own ratings, split by time (``papercast eval``)."""

    profile: str
    ratings: int
    needed: str | None = None  # what is missing before anything can be graded
    first_day: date | None = None
    days: list[EvaluationPeriod] = Field(default_factory=list)
    weeks: list[EvaluationPeriod] = Field(default_factory=list)
    overall: EvaluationPeriod | None = None

    def to_json(self) -> dict[str, Any]:
        return json.loads(self.model_dump_json())


class SearchHit(BaseModel):
    """A search result: the paper, its fused score (higher is better, comparable within one search
    only) and why it matched ("matches: kv cache", "close in meaning to the query")."""

    paper: Paper
    score: float
    reasons: list[str] = Field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The `papers search --json` item shape: the paper's JSON plus its score and reasons."""
        return self.paper.to_json() | {"score": round(self.score, 4), "reasons": self.reasons}


class Summary(BaseModel):
    """A structured summary. ``model`` names who wrote it ("offline" for the extractive one)."""

    paper_id: str
    tldr: str
    contributions: list[str] = Field(default_factory=list)
    method: str = ""
    results: str = ""
    limitations: str = ""
    keywords: list[str] = Field(default_factory=list)
    model: str = "offline"
    prompt_version: str = ""
    created: datetime | None = None
    # What it was made from ("abstract", "html", "pdf", "file") and, per field, the sections it drew on.
    source: str = "abstract"
    sections: dict[str, list[str]] = Field(default_factory=dict)

    @property
    def is_offline(self) -> bool:
        return self.model == "offline"

    def to_json(self, label: str | None = None) -> dict[str, Any]:
        """The JSON shape of a summary (``summarize --json``), with how it is labelled when given."""
        data = json.loads(self.model_dump_json())
        return data | {"label": label} if label is not None else data


# -- full text -----------------------------------------------------------------------------------------
DocumentSource = Literal["html", "pdf", "file", "abstract"]
PassageKind = Literal["paragraph", "caption", "abstract"]


class Section(BaseModel):
    """A heading of a paper: ``number`` as the paper prints it ("3.2", "IV-A", "A", or ""), ``path``
    from the nearest numbered section down ("3.2 Training > Data"), ``level`` 1 for a section."""

    number: str = ""
    title: str
    path: str
    level: int = 1

    @property
    def label(self) -> str:
        return f"{self.number} {self.title}".strip()


class Passage(BaseModel):
    """A paragraph-sized piece of a paper's text (never crossing a section), the unit that is
    embedded, searched and cited. ``section`` is the section path; ``section_number`` the number of the
    nearest numbered section ("" for unnumbered ones and the abstract)."""

    paper_id: str
    section: str
    section_number: str = ""
    kind: PassageKind = "paragraph"
    position: int
    text: str

    @property
    def cite(self) -> str:
        """``[2608.19758 §3.2]``: the section number, else a short section title; ``[id]`` for the abstract."""
        if self.kind == "abstract":
            return f"[{self.paper_id}]"
        if self.section_number:
            return f"[{self.paper_id} §{self.section_number}]"
        title = self.section.split(" > ")[-1].strip()
        short = title if len(title) <= 32 else title[:31].rstrip() + "…"
        return f"[{self.paper_id} §{short}]" if short else f"[{self.paper_id}]"

    def to_json(self) -> dict[str, Any]:
        return {**self.model_dump(), "cite": self.cite}


class Document(BaseModel):
    """A paper read in full: its outline, its passages in reading order (the abstract first), its
    references. ``source`` says what it was read from; ``note`` why it is only the abstract, or what was
    left out (e.g. pages beyond the cap)."""

    paper_id: str
    title: str
    source: DocumentSource
    sections: list[Section] = Field(default_factory=list)
    passages: list[Passage] = Field(default_factory=list)
    references: list[str] = Field(default_factory=list)
    content_hash: str = ""
    note: str | None = None
    # arXiv could not be reached this time (the abstract stands in): said by ``read``, never stored.
    unreachable: bool = Field(False, exclude=True)

    @property
    def is_fulltext(self) -> bool:
        return self.source != "abstract"

    @property
    def abstract(self) -> str:
        return " ".join(p.text for p in self.passages if p.kind == "abstract")

    def to_json(self) -> dict[str, Any]:
        """The shape of ``papercast read --json``."""
        return {"id": self.paper_id, "title": self.title, "source": self.source, "note": self.note,
                "content_hash": self.content_hash,
                "sections": [s.model_dump() for s in self.sections],
                "passages": [p.to_json() for p in self.passages], "references": self.references}


@dataclass
class ReadingList:
    """A ranked list and the window it came from (``note`` says when another window was used)."""

    items: list[Recommendation]
    since: date | None
    until: date | None
    note: str | None = None
    llm_notes: list[str] = field(default_factory=list)  # the model's re-ranking troubles, one line each



# -- what storing, importing and fetching did ----------------------------------------------------------
@dataclass
class UpsertResult:
    """What one store write did to each paper."""

    added: int = 0
    updated: int = 0  # metadata refreshed, embedding kept
    reembedded: int = 0  # title/abstract changed
    unchanged: int = 0

    @property
    def embedded(self) -> int:
        return self.added + self.reembedded

    def to_json(self) -> dict[str, int]:
        return {"added": self.added, "updated": self.updated + self.reembedded, "unchanged": self.unchanged}


def _upsert_json(result: UpsertResult | None) -> dict[str, int]:
    return result.to_json() if result is not None else UpsertResult().to_json()


@dataclass
class ImportReport:
    files: list[str] = field(default_factory=list)
    parsed: int = 0
    errors: list[str] = field(default_factory=list)
    result: UpsertResult | None = None
    notes: list[str] = field(default_factory=list)  # fields cut to size, the sample removed

    def to_json(self, stored: int | None = None) -> dict[str, Any]:
        """``import --json``: what was read, what the store made of it, every skipped entry."""
        return {"files": self.files, "parsed": self.parsed, **_upsert_json(self.result),
                "errors": self.errors, "notes": self.notes, "stored": stored}


@dataclass
class FetchReport:
    papers: list[Paper] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    result: UpsertResult | None = None
    new_ids: list[str] = field(default_factory=list)  # papers the store did not hold before

    def to_json(self, stored: int | None = None) -> dict[str, Any]:
        """``fetch --json``: the papers fetched (ids), what the store made of them, errors and notes."""
        return {"fetched": len(self.papers), "ids": [p.id for p in self.papers], **_upsert_json(self.result),
                "errors": self.errors, "notes": self.notes, "stored": stored}


# -- LLM accounting ------------------------------------------------------------------------------------
@dataclass
class Usage:
    """Tokens and cost of a run (or the whole session). Cache hits cost nothing and are counted apart."""

    calls: int = 0
    cached_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0  # the priced part
    unpriced_calls: int = 0  # calls to a model without a known price

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def cost_known(self) -> bool:
        return self.unpriced_calls == 0

    @property
    def cost_label(self) -> str:
        """``$0.0012``, ``unknown`` or ``$0.0012 + unknown``, for status bars and digests."""
        if self.calls and self.unpriced_calls == self.calls:
            return "unknown"
        text = f"${self.cost_usd:.4f}"
        return text + " + unknown" if self.unpriced_calls else text

    def add(self, *, cached: bool, prompt_tokens: int, completion_tokens: int, cost_usd: float | None) -> None:
        """Count one answer (a cached one costs nothing and is counted apart)."""
        if cached:
            self.cached_calls += 1
            return
        self.calls += 1
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += completion_tokens
        if cost_usd is None:
            self.unpriced_calls += 1
        else:
            self.cost_usd += cost_usd

    def summary_line(self) -> str:
        if not self.calls and not self.cached_calls:
            return "no LLM calls"
        cached = f", {self.cached_calls} from cache" if self.cached_calls else ""
        return (f"{self.calls} LLM call{'s' if self.calls != 1 else ''}{cached}: {self.prompt_tokens:,} prompt + "
                f"{self.completion_tokens:,} completion tokens, cost {self.cost_label}")

    def to_json(self) -> dict[str, Any]:
        return {"calls": self.calls, "cached_calls": self.cached_calls, "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens, "total_tokens": self.total_tokens,
                "cost_usd": round(self.cost_usd, 6) if self.calls > self.unpriced_calls else None,
                "cost_known": self.cost_known}


@dataclass
class RunUsage:
    """What one run (one command / process) spent. ``cost_usd`` is None when no call had a price."""

    run_id: str
    started: str
    command: str
    model: str
    calls: int = 0
    cached_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    unpriced_calls: int = 0  # calls whose model has no known price

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "started": self.started, "command": self.command, "model": self.model,
                "calls": self.calls, "cached_calls": self.cached_calls, "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens, "total_tokens": self.total_tokens,
                "cost_usd": None if self.cost_usd is None else round(self.cost_usd, 6),
                "cost_known": self.unpriced_calls == 0}


# -- chat ----------------------------------------------------------------------------------------------
@dataclass
class ToolRecord:
    """One tool call of a turn: what ran, with which arguments, and whether it worked."""

    name: str
    args: dict[str, Any]
    ok: bool
    preview: str = ""  # first line of the output (or the error)


ProposalStatus = Literal["pending", "applied", "declined", "failed"]


@dataclass
class Proposal:
    """A change to the user's data that the chat agent asked for and the user must confirm.

    The agent never changes a profile, feedback or the library on its own: a state-changing tool
    call stops the turn with one of these (``pending``) until the user says yes (``applied``, with the
    ``change`` id that ``undo`` takes back) or no (``declined``). ``before``/``after`` name the exact
    change so a dialog or a terminal line can show it.
    """

    id: str  # the tool call's id (unique within the turn)
    tool: str
    args: dict[str, Any]
    summary: str  # one line: "like [2608.20281] Title"
    before: str
    after: str
    status: ProposalStatus = "pending"
    change: str | None = None  # once applied: its id in the thread ("c2"), for undo
    detail: str = ""  # what applying it did, or why it failed

    def diff_lines(self) -> list[str]:
        """``field: before -> after``, one line per changed field (``before``/``after`` hold one
        ``field: value`` line per field, in the same order)."""
        out = []
        for old, new in zip(self.before.split("\n"), self.after.split("\n"), strict=False):
            label, _, was = old.partition(": ")
            label_new, _, now = new.partition(": ")
            out.append(f"{label}: {was} -> {now}" if was and label == label_new else f"{old} -> {new}")
        return out

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "tool": self.tool, "args": self.args, "summary": self.summary,
                "before": self.before, "after": self.after, "status": self.status, "change": self.change,
                "detail": self.detail}


@dataclass
class ChatAnswer:
    """The result of one chat turn.

    ``papers`` are the ``(id, title)`` of the library papers the answer cites; ``unverified`` the ids
    (and ``[id §section]`` citations) it cites that the library does not hold, which the answer's
    text flags. ``offline`` marks a retrieval answer written without a model. ``proposals`` are the
    turn's state changes; while one is ``pending`` the turn waits for the user (``pending``).
    ``library_fallback`` says the model cited nothing, so the library's matches were appended.
    """

    text: str
    thread_id: str
    offline: bool = False
    papers: list[tuple[str, str]] = field(default_factory=list)
    tools: list[ToolRecord] = field(default_factory=list)
    stopped: bool = False  # the step limit ended the turn
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    proposals: list[Proposal] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)
    library_fallback: bool = False
    model_error: str = ""  # why the model failed this turn (the answer is then the offline fallback)

    @property
    def pending(self) -> list[Proposal]:
        """The proposals waiting for the user's answer (the turn resumes once they are answered)."""
        return [p for p in self.proposals if p.status == "pending"]

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text, "thread_id": self.thread_id, "offline": self.offline,
            "papers": [{"id": i, "title": t} for i, t in self.papers],
            "tools": [{"name": t.name, "args": t.args, "ok": t.ok} for t in self.tools],
            "proposals": [p.to_json() for p in self.proposals],
            "unverified": self.unverified, "library_fallback": self.library_fallback,
            "model_error": self.model_error, "stopped": self.stopped,
            "usage": {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                      "cost_usd": self.cost_usd},
        }


@dataclass
class ThreadInfo:
    """A stored conversation: id, title (its first message, shortened) and when it was used."""

    id: str
    title: str
    created: datetime
    updated: datetime
    turns: int

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "created": self.created.isoformat(),
                "updated": self.updated.isoformat(), "turns": self.turns}


# -- deliveries ------------------------------------------------------------------------------------------
DeliveryChannel = Literal["email", "webhook", "feed", "file", "stdout"]


class DeliveryRecord(BaseModel):
    """One digest that reached one channel: the history behind "never resend" (``papercast history``).

    ``target`` is what may be shown and stored: addresses, a file path, a webhook's scheme and host
    only (its path is the secret that lets anyone post).
    """

    id: int
    profile: str
    channel: DeliveryChannel
    target: str = ""
    day: date
    at: datetime
    papers: list[str] = Field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "profile": self.profile, "channel": self.channel, "target": self.target,
                "day": self.day.isoformat(), "at": self.at.isoformat(timespec="seconds"), "papers": self.papers}


# -- model check ---------------------------------------------------------------------------------------
@dataclass
class Probe:
    """One capability probe of ``papercast model check``: did it work, how long it took, what came back."""

    name: str
    ok: bool | None  # None: not tried (the model did not answer the first probe, or nothing to probe)
    seconds: float = 0.0
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"probe": self.name, "ok": self.ok, "seconds": round(self.seconds, 3), "detail": self.detail}


@dataclass
class ModelCheck:
    """What the configured model supports and the settings papercast uses with it."""

    model: str
    api_base: str | None
    provider: str
    probes: list[Probe]
    settings: list[tuple[str, str, str]]  # (setting, value, where it came from)
    cost_known: bool
    litellm_claims: dict[str, bool] = field(default_factory=dict)  # what litellm's model map says
    embedding: str | None = None

    def __post_init__(self) -> None:
        """Printed and emitted as JSON as it is, so no URL credential or key-like parameter of
        ``api_base`` (or of any setting's value) may be in it."""
        self.api_base = redact(self.api_base) if self.api_base else self.api_base
        self.settings = [(name, redact(value), source) for name, value, source in self.settings]

    @property
    def answers(self) -> bool:
        """Whether the model answered at all (any chat probe worked)."""
        return any(p.ok for p in self.probes if p.name != "embedding")

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "api_base": self.api_base, "provider": self.provider,
                "answers": self.answers, "cost_known": self.cost_known, "litellm": self.litellm_claims,
                "embedding": self.embedding, "probes": [p.to_json() for p in self.probes],
                "settings": [{"setting": k, "value": v, "source": s} for k, v, s in self.settings]}
