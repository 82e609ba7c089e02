"""The model's side: what LLM calls cost (a session, a run) and what ``papercast model check``
found the configured model can do."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from papercast.errors import redact


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

    def add(self, *, cached: bool, prompt_tokens: int, completion_tokens: int,
            cost_usd: float | None) -> None:
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
        return (f"{self.calls} LLM call{'s' if self.calls != 1 else ''}{cached}: {self.prompt_tokens:,} "
                f"prompt + {self.completion_tokens:,} completion tokens, cost {self.cost_label}")

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
