"""Settings, from (lowest first) defaults, ``~/.config/papercast/config.toml`` (``$XDG_CONFIG_HOME``;
``$PAPERCAST_HOME/config.toml`` is still read, with a note), ``PAPERCAST_*`` environment variables and
CLI flags.

``pydantic-settings`` reads the environment (``PAPERCAST_`` prefix) and our TOML source; every value
is typed and checked, and a bad one is a ``ConfigError`` naming the setting and where it came from.
The config file may hold only known settings and never a secret: API keys stay in the providers'
environment variables (``OPENAI_API_KEY``, ...), so nothing here can leak one to disk.
"""

from __future__ import annotations

import os
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from papercast.errors import UserError

APP_NAME = "papercast"
ENV_PREFIX = "PAPERCAST_"
CONFIG_FILE = "config.toml"


class ConfigError(UserError):
    """A setting or the config file is unusable. The message is one line for the user."""


def default_home() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False))


def resolve_home(home: str | Path | None = None) -> Path:
    """The home directory: ``home`` (``--home``), else ``$PAPERCAST_HOME``, else the XDG data directory.

    An empty ``--home`` or a path that is a file is bad input (a ConfigError), not a reason to fall
    back to the default home silently or to fail later with a raw errno.
    """
    if home is not None and not str(home).strip():
        raise ConfigError("--home is empty: give a directory (or leave it out for the default home)")
    path = Path(home or os.environ.get("PAPERCAST_HOME") or default_home()).expanduser()
    if path.exists() and not path.is_dir():
        where = "--home" if home else "PAPERCAST_HOME" if os.environ.get("PAPERCAST_HOME") else "the home"
        raise ConfigError(f"{where} {path} is a file, not a directory")
    return path


def config_dir() -> Path:
    """Where config.toml lives: ``$XDG_CONFIG_HOME/papercast`` (``~/.config/papercast``) on every
    platform, so the path in the docs is the path on the machine."""
    base = os.environ.get("XDG_CONFIG_HOME", "").strip()
    return Path(base).expanduser() / APP_NAME if base else Path("~/.config").expanduser() / APP_NAME


def config_path(home: Path) -> tuple[Path, str | None]:
    """The config file to read and a note for the user about where it is (None when all is as it should be).

    ``$PAPERCAST_CONFIG`` names one explicitly; otherwise the XDG one. A config.toml in the home,
    where earlier versions kept it, is still read when there is no XDG one, with a note saying where
    it belongs now; when both exist the home's is ignored, and the note says so.
    """
    explicit = os.environ.get("PAPERCAST_CONFIG", "").strip()
    if explicit:
        return Path(explicit).expanduser(), None
    xdg = config_dir() / CONFIG_FILE
    legacy = home / CONFIG_FILE
    if legacy.is_file() and xdg.is_file():
        return xdg, f"{legacy} is ignored: the settings are read from {xdg}"
    if legacy.is_file():
        return legacy, (f"settings read from {legacy}; config.toml now belongs in {config_dir()}/ "
                        "(move it there)")
    return xdg, None


# Names that mean the bundled model, so a config file's ``embedding`` can be overridden back to it.
BUNDLED_EMBEDDING_NAMES = frozenset({"bundled", "all-minilm-l6-v2", "all-minilm-l6-v2-onnx-int8"})
# Keys a config file must never hold: a secret belongs in the environment, not on disk.
_SECRET_WORDS = ("password", "passwd", "secret", "token", "api_key", "apikey", "credential", "webhook")

CommaList = Annotated[tuple[str, ...], NoDecode]  # "cs.CL,cs.LG" in the environment, a list in TOML


class ModelOptions(BaseModel):
    """How papercast talks to one model: a ``[models."<litellm model>"]`` table in config.toml.

    Every key is optional; an unset one comes from the global ``llm_*`` setting, else from the
    policy papercast picks for the kind of server (``papercast.tools.llm.policy``: a local server
    gets one request at a time, streamed with an idle timeout, timeouts not retried). ``papercast
    model check`` prints the values in use. Key names avoid the words the secret check refuses.
    """

    local: bool | None = None  # a local server (policy above); None = from the model and api_base
    concurrency: int | None = Field(None, ge=1, le=64)  # requests in flight at once
    stream: bool | None = None  # stream every request (the idle timeout applies); None = when local
    timeout: float | None = Field(None, gt=0)  # seconds for a whole non-streamed request
    idle_timeout: float | None = Field(None, gt=0)  # seconds without a streamed chunk (first one included)
    retries: int | None = Field(None, ge=0, le=10)
    retry_timeouts: bool | None = None  # None = not for a local server (it is still working on the request)
    # tokens in + out; None = litellm's model map, else a default
    context_window: int | None = Field(None, ge=256)
    max_output: int | None = Field(None, ge=16)  # tokens one answer may have at most
    # "json_schema": response_format json_schema; "json_object": JSON mode; "json_object+schema": JSON mode
    # with the schema attached (llama.cpp turns it into a grammar); "off": ask in the prompt only.
    json_format: Literal["json_schema", "json_object", "json_object+schema", "off"] | None = None

    model_config = ConfigDict(extra="forbid", frozen=True)


class SettingValues(BaseModel):
    """Every setting but the home, typed: what config.toml and the environment may set."""

    model: str | None = None  # any litellm model string; None = offline mode
    api_base: str | None = None
    chroma_url: str | None = None  # http://host:port switches to a Chroma server
    embedding: str | None = None  # a litellm embedding model instead of the bundled one (None = bundled)
    embedding_api_base: str | None = None  # where that model is served; None = api_base
    embedding_batch: int = Field(64, ge=1, le=2048)  # texts per embedding request
    max_usd_per_run: float | None = Field(None, ge=0)
    llm_timeout: float = Field(60.0, gt=0)
    llm_concurrency: int | None = Field(None, ge=1, le=64)  # None = 1 for a local server, else 4
    llm_retries: int = Field(3, ge=0, le=10)  # retries of a failed LLM request (rate limits, 5xx, ...)
    llm_backoff: float = Field(0.5, ge=0)  # first retry's delay in seconds, doubled each time
    llm_max_backoff: float = Field(20.0, ge=0)
    # the local-server policy; None = when api_base is private or the provider local
    llm_local: bool | None = None
    # streamed requests: seconds without a chunk before giving up
    llm_idle_timeout: float = Field(120.0, gt=0)
    models: dict[str, ModelOptions] = Field(default_factory=dict)  # per-model settings, keyed by model string
    rerank_top_k: int = Field(30, ge=0, le=500)
    # model <-> tools rounds in one chat turn before it must answer
    chat_max_steps: int = Field(8, ge=1, le=50)
    chat_context_window: int | None = Field(None, ge=256)  # tokens; None = the model's own window (litellm)
    # Tool calling in chat: "auto" asks litellm's model map (unknown models get tools); "off" for models
    # that cannot call tools: they answer from the library results every turn retrieves.
    chat_tools: Literal["auto", "on", "off"] = "auto"
    sources: CommaList = ("hf", "arxiv")
    arxiv_categories: CommaList = ("cs.CL", "cs.LG", "cs.AI", "cs.CV")
    arxiv_min_interval: float = Field(3.0, ge=0)  # arXiv's API etiquette: at least 3 s between requests
    # read papers' arXiv HTML/PDF on demand; false = abstracts and stored full text only
    fulltext: bool = True
    fulltext_max_mb: float = Field(25.0, gt=0, le=500)  # a bigger HTML page or PDF is not read
    fulltext_max_pages: int = Field(200, ge=1, le=5000)  # PDF pages read; the rest is left out, with a note
    fulltext_timeout: float = Field(120.0, gt=0)  # seconds to fetch one paper (retries included)
    fulltext_summary_tokens: int = Field(6000, ge=500, le=200_000)  # full text a model summary may read
    daily_read: int = Field(5, ge=0, le=50)  # `daily` reads the full text of its top N picks
    smtp_host: str | None = None
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_from: str | None = None
    # "auto": implicit TLS on port 465, else STARTTLS whenever the server offers it; "none" only for a
    # local relay
    smtp_security: Literal["auto", "starttls", "tls", "none"] = "auto"
    email_to: CommaList = ()  # `daily` mails the digest here when no channel is given on the command line
    # secrets (the URL lets anyone post): PAPERCAST_WEBHOOKS only, never config.toml
    webhooks: CommaList = Field((), repr=False)
    feed: str | None = None  # the Atom feed file `daily` keeps up to date (no --feed needed)
    feed_entries: int = Field(100, ge=1, le=5000)  # entries a feed file keeps, newest first
    include_cross: bool = False  # arXiv listings: also papers cross-listed into the categories
    language: str | None = None  # LLM summaries and digests in this language (e.g. "German"); None = English

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("model", "api_base", "chroma_url", "embedding", "embedding_api_base", "smtp_host",
                     "smtp_user", "smtp_from", "feed", "language", "max_usd_per_run", "chat_context_window",
                     "llm_concurrency", "llm_local", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        """``PAPERCAST_MODEL=`` unsets a value the config file gave (offline mode for one run)."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("embedding", mode="after")
    @classmethod
    def _bundled_is_none(cls, value: str | None) -> str | None:
        """One spelling of "the bundled model" (None), however it was given: the store keys its
        collection on this name."""
        name = (value or "").strip()
        return None if not name or name.lower() in BUNDLED_EMBEDDING_NAMES else name

    @field_validator("sources", "arxiv_categories", "email_to", "webhooks", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):
            return tuple(str(item).strip() for item in value if str(item).strip())
        return value


class Settings(SettingValues):
    """The settings of one run: the home directory plus every ``SettingValues`` field."""

    home: Path
    config_file: Path | None = None  # the config.toml these settings were read with (it may not exist)
    config_note: str | None = None  # where the config file is, when the user should hear it

    @property
    def offline(self) -> bool:
        return not self.model

    def mode_text(self, *, hint: bool = True) -> str:
        """Plainly which mode is active: the LLM (or offline mode, with how to leave it when ``hint``),
        plus the embedding model when it is not the bundled offline one."""
        if self.model:
            llm = f"LLM: {self.model}"
        else:
            llm = "offline mode (no LLM; set PAPERCAST_MODEL to use one)" if hint else "offline mode (no LLM)"
        return f"{llm} · embeddings: {self.embedding}" if self.embedding else llm

    @property
    def mode_label(self) -> str:
        return self.mode_text()

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

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with these values (None leaves a value as it is), checked like every other source."""
        changes = {k: v for k, v in overrides.items() if v is not None}
        return _validated(Settings, {**self.model_dump(), **changes}, "override")


# -- the sources -------------------------------------------------------------------------------------
_FILE_VALUES: ContextVar[dict[str, Any] | None] = ContextVar("papercast_file_values", default=None)


class _FileSource(PydanticBaseSettingsSource):
    """The values ``load_settings`` read from config.toml (checked there: known keys, no secrets)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return (_FILE_VALUES.get() or {}).get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_FILE_VALUES.get() or {})


class _Loader(SettingValues, BaseSettings):
    """``SettingValues`` read from flags (init), the environment and the config file, in that order."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True,
                                      case_sensitive=False)

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings],
                                   init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, _FileSource(settings_cls)


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings in a config.toml: a ConfigError for bad TOML, unknown keys or a secret."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    secrets = sorted(k for k in data if any(word in k.lower() for word in _SECRET_WORDS))
    models = data.get("models")
    if isinstance(models, dict):  # the per-model tables are checked too: a key there is on disk as well
        secrets += sorted(f"models.{name}.{k}" for name, table in models.items() if isinstance(table, dict)
                          for k in table if any(word in k.lower() for word in _SECRET_WORDS))
    if secrets:
        raise ConfigError(f"config file {path} holds {', '.join(secrets)}: keep secrets in environment "
                          "variables")
    known = set(SettingValues.model_fields)
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"config file {path} has unknown settings: {', '.join(unknown)} "
                          f"(known: {', '.join(sorted(known))})")
    return data


def _validated(kind: type[BaseModel], values: dict[str, Any], where: str) -> Any:
    try:
        return kind.model_validate(values)
    except ValidationError as exc:
        raise _config_error(exc, where) from None


def _config_error(exc: ValidationError, where: str) -> ConfigError:
    """One line: the first bad setting, its value and what is wrong with it."""
    first = exc.errors()[0]
    name = str(first["loc"][0]) if first.get("loc") else "?"
    value = first.get("input")
    shown = f" {value!r}" if isinstance(value, str | int | float) and not isinstance(value, bool) else ""
    if name == "models":  # name the table and key (models.<model>.<key>); an unknown key's value is not shown
        name = ".".join(str(part) for part in first["loc"])
        shown = "" if first.get("type") == "extra_forbidden" else shown
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    source = f"{ENV_PREFIX}{name.split('.')[0].upper()} or {where}" if where != "override" else "an override"
    return ConfigError(f"setting {name!r} has an invalid value{shown} ({source}): {first['msg']}{more}")


def load_settings(home: str | Path | None = None, **overrides: Any) -> Settings:
    """Build the settings: defaults < config.toml < environment < ``overrides`` (CLI flags)."""
    home_path = resolve_home(home)
    config, note = config_path(home_path)
    token = _FILE_VALUES.set(read_config_file(config))
    try:
        values = _Loader(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise _config_error(exc, str(config)) from None
    finally:
        _FILE_VALUES.reset(token)
    return _validated(Settings, {**values.model_dump(), "home": home_path, "config_file": config,
                                 "config_note": note}, str(config))
