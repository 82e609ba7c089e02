"""Settings, from (lowest first) defaults, ``$PAPERCAST_HOME/config.toml``, ``PAPERCAST_*``
environment variables and CLI flags.

API keys are never part of the settings: providers read them from their usual environment
variables, so nothing here can leak one to disk.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

APP_NAME = "papercast"


class ConfigError(ValueError):
    """A setting or the config file is unusable. The message is one line for the user."""


def default_home() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False))


# Names that mean the bundled model, so a config file's ``embedding`` can be overridden back to it.
BUNDLED_EMBEDDING_NAMES = frozenset({"bundled", "all-minilm-l6-v2", "all-minilm-l6-v2-onnx-int8"})


def _embedding_name(raw: str | None) -> str | None:
    """A litellm embedding model name, or None for the bundled offline model."""
    name = (raw or "").strip()
    return None if not name or name.lower() in BUNDLED_EMBEDDING_NAMES else name


@dataclass(frozen=True)
class Settings:
    home: Path
    model: str | None = None  # any litellm model string; None = offline mode
    api_base: str | None = None
    chroma_url: str | None = None  # http://host:port switches to a Chroma server
    embedding: str | None = None  # a litellm embedding model instead of the bundled one (None = bundled)
    embedding_api_base: str | None = None  # where that model is served; None = api_base
    max_usd_per_run: float | None = None
    llm_timeout: float = 60.0
    llm_concurrency: int = 4
    rerank_top_k: int = 30
    chat_max_steps: int = 8  # model <-> tools rounds in one chat turn before it must answer
    chat_context_window: int | None = None  # tokens; None = the model's own window (litellm)
    sources: tuple[str, ...] = ("hf", "arxiv")
    arxiv_categories: tuple[str, ...] = ("cs.CL", "cs.LG", "cs.AI", "cs.CV")
    arxiv_min_interval: float = 3.0  # arXiv's API etiquette: at least 3 s between requests
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_from: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # One spelling of "the bundled model" (None), however it was given: the store keys its
        # collection on this name.
        object.__setattr__(self, "embedding", _embedding_name(self.embedding))

    @property
    def offline(self) -> bool:
        return not self.model

    @property
    def mode_label(self) -> str:
        """The LLM mode, plus the embedding model when it is not the bundled offline one."""
        llm = f"LLM: {self.model}" if self.model else "offline mode (no LLM; set PAPERCAST_MODEL to use one)"
        return f"{llm} · embeddings: {self.embedding}" if self.embedding else llm

    @property
    def chroma_path(self) -> Path:
        return self.home / "chroma"

    @property
    def db_path(self) -> Path:
        """The SQLite file for profiles, summaries, LLM usage and the response cache."""
        return self.home / "papercast.db"

    @property
    def checkpoint_path(self) -> Path:
        return self.home / "threads.db"

    @property
    def config_file(self) -> Path:
        return self.home / "config.toml"

    def with_overrides(self, **overrides: Any) -> Settings:
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


_ENV = {
    "model": "PAPERCAST_MODEL",
    "api_base": "PAPERCAST_API_BASE",
    "chroma_url": "PAPERCAST_CHROMA_URL",
    "embedding": "PAPERCAST_EMBEDDING",
    "embedding_api_base": "PAPERCAST_EMBEDDING_API_BASE",
    "max_usd_per_run": "PAPERCAST_MAX_USD_PER_RUN",
    "llm_timeout": "PAPERCAST_LLM_TIMEOUT",
    "llm_concurrency": "PAPERCAST_LLM_CONCURRENCY",
    "rerank_top_k": "PAPERCAST_RERANK_TOP_K",
    "chat_max_steps": "PAPERCAST_CHAT_MAX_STEPS",
    "chat_context_window": "PAPERCAST_CHAT_CONTEXT_WINDOW",
    "sources": "PAPERCAST_SOURCES",
    "arxiv_categories": "PAPERCAST_ARXIV_CATEGORIES",
    "arxiv_min_interval": "PAPERCAST_ARXIV_MIN_INTERVAL",
    "smtp_host": "PAPERCAST_SMTP_HOST",
    "smtp_port": "PAPERCAST_SMTP_PORT",
    "smtp_user": "PAPERCAST_SMTP_USER",
    "smtp_from": "PAPERCAST_SMTP_FROM",
}
_SECRET_KEYS = {"smtp_password", "api_key", "password"}


def _coerce(name: str, raw: Any) -> Any:
    kinds = {f.name: f.type for f in fields(Settings)}
    kind = str(kinds[name])
    try:
        if "float" in kind:
            return float(raw)
        if "int" in kind:
            return int(raw)
        if "tuple" in kind:
            items = raw.split(",") if isinstance(raw, str) else list(raw)
            return tuple(i.strip() for i in items if str(i).strip())
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name!r} has an invalid value: {raw!r}") from exc
    if raw == "":
        return None
    return str(raw)


def _read_config_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    secrets = _SECRET_KEYS & set(data)
    if secrets:
        raise ConfigError(f"config file {path} holds {sorted(secrets)}: keep secrets in environment variables")
    known = {f.name for f in fields(Settings)} - {"home", "extra"}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"config file {path} has unknown settings: {', '.join(sorted(unknown))}")
    return data


def load_settings(home: str | Path | None = None, **overrides: Any) -> Settings:
    """Build the settings: defaults < config.toml < environment < ``overrides`` (CLI flags)."""
    home_path = Path(home or os.environ.get("PAPERCAST_HOME") or default_home()).expanduser()
    values: dict[str, Any] = {}
    for key, raw in _read_config_file(home_path / "config.toml").items():
        values[key] = _coerce(key, raw)
    for key, env in _ENV.items():
        if env in os.environ:
            values[key] = _coerce(key, os.environ[env])
    for key, raw in overrides.items():
        if raw is not None:
            values[key] = raw
    return Settings(home=home_path, **values)
