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

from pydantic import BaseModel, ConfigDict, Field, field_validator

from papercast.errors import UserError

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
        return Paper.model_validate(mine)


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

    @property
    def is_offline(self) -> bool:
        return self.model == "offline"

    def to_json(self, label: str | None = None) -> dict[str, Any]:
        """The JSON shape of a summary (``summarize --json``), with how it is labelled when given."""
        data = json.loads(self.model_dump_json())
        return data | {"label": label} if label is not None else data


@dataclass
class ReadingList:
    """A ranked list and the window it came from (``note`` says when another window was used)."""

    items: list[Recommendation]
    since: date | None
    until: date | None
    note: str | None = None
    llm_notes: list[str] = field(default_factory=list)  # the model's re-ranking troubles, one line each


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


@dataclass
class ChatAnswer:
    """The result of one chat turn.

    ``papers`` are the ``(id, title)`` of the papers the answer cites (ids that appear in the text and
    that a tool of this turn returned). ``offline`` marks a retrieval answer written without a model.
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

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text, "thread_id": self.thread_id, "offline": self.offline,
            "papers": [{"id": i, "title": t} for i, t in self.papers],
            "tools": [{"name": t.name, "args": t.args, "ok": t.ok} for t in self.tools],
            "stopped": self.stopped,
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
