"""How papercast talks to a model: a policy for hosted APIs and one fitted to local servers.

A hosted API serves many requests at once and answers within seconds: a few requests in flight, a
total timeout, retries. A local server (Ollama, llama.cpp, vLLM) has one slot and decodes slowly,
so requests queued behind it all time out: it gets one request at a time, streamed with an idle
timeout, and a timed-out request is not retried. Every value can be set per model in config.toml
(``ModelOptions``), which wins over the global ``llm_*`` settings, which win over the defaults.
The policy also says how to ask for JSON and how big the context window is (Ollama is sent it as
``num_ctx``, or it silently drops the front of a longer prompt).
"""

from __future__ import annotations

import copy
import ipaddress
import logging
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from papercast.config import ModelOptions, Settings
from papercast.tools.llm.loader import load_litellm

log = logging.getLogger(__name__)

# litellm providers that run models on the user's machine or LAN.
LOCAL_PROVIDERS = frozenset({"ollama", "ollama_chat", "hosted_vllm", "vllm", "lm_studio", "llamafile",
                             "oobabooga", "xinference"})
# Providers that speak the OpenAI API as it is, where a local server reads ``response_format.schema``.
OPENAI_COMPATIBLE = frozenset({"openai", "hosted_vllm", "lm_studio", "llamafile", "openai_like",
                               "custom_openai"})
# Providers whose requests litellm sends to Ollama's own API, which takes ``options.num_ctx``.
OLLAMA_PROVIDERS = frozenset({"ollama", "ollama_chat"})
HOSTED_CONCURRENCY = 4
LOCAL_CONCURRENCY = 1
# An unknown model's window: llama.cpp's server and older Ollama default to 2048 tokens; hosted
# models not in litellm's map are new ones, which have at least 8k.
LOCAL_DEFAULT_WINDOW = 2048
HOSTED_DEFAULT_WINDOW = 8192
# litellm counts tokens with tiktoken unless it knows the model's tokenizer; a local model's own counted
# 1.22-1.28x as many for papercast's prompts (SmolLM2, bench/local_model.py), so prompts are fitted
# with this margin unless litellm's model map knows a hosted model (then its count is the real one).
UNKNOWN_TOKENIZER_MARGIN = 1.35
KNOWN_TOKENIZER_MARGIN = 1.05
# Keywords that strict JSON-schema modes of hosted APIs refuse; length bounds matter for grammars only.
_STRICT_UNSUPPORTED = ("maxLength", "minLength", "maxItems", "minItems")


@dataclass(frozen=True)
class LLMPolicy:
    """The resolved settings for one model; ``sources`` says where each value came from."""

    model: str
    api_base: str | None
    provider: str
    local: bool
    concurrency: int
    stream: bool
    timeout: float  # a whole non-streamed request
    idle_timeout: float  # streamed: seconds without a chunk (the first one included)
    retries: int
    retry_timeouts: bool
    context_window: int
    max_output: int | None
    json_format: str
    # The server's prompt tokens may be this many times litellm's count.
    token_margin: float = UNKNOWN_TOKENIZER_MARGIN
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def server_key(self) -> str:
        """What shares one request budget: the server (its api_base), else the provider."""
        return (self.api_base or "").strip().rstrip("/") or self.provider

    def response_format(self, schema: dict[str, Any] | None, name: str = "answer",
                        json_format: str | None = None) -> dict[str, Any] | None:
        """The ``response_format`` of a JSON request under this policy (None: ask in the prompt only).

        ``json_format`` overrides the policy's own: the client passes a simpler one after the server
        refused this one (see ``LLMClient.complete``)."""
        json_format = json_format or self.json_format
        if json_format == "off":
            return None
        if schema is None or json_format == "json_object":
            return {"type": "json_object"}
        if json_format == "json_object+schema":
            return {"type": "json_object", "schema": schema}
        return {"type": "json_schema",
                "json_schema": {"name": name, "schema": strict_schema(schema), "strict": True}}

    def provider_params(self) -> dict[str, Any]:
        """Parameters only this model's provider takes, for every completion request.

        Ollama: ``num_ctx`` = the context window prompts are fitted to. Without it Ollama runs the
        model with its default window and cuts a longer prompt from the front, without an error.
        Other providers get nothing: litellm would pass an unknown parameter on to an OpenAI-compatible
        server in the request body, which some refuse."""
        if self.provider in OLLAMA_PROVIDERS:
            return {"num_ctx": self.context_window}
        return {}

    def rows(self) -> list[tuple[str, str, str]]:
        """(setting, value, where it came from) for ``papercast model check``."""
        def show(name: str, value: Any) -> str:
            if isinstance(value, bool):
                return "yes" if value else "no"
            if isinstance(value, float):
                return f"x{value:g}" if name == "token_margin" else f"{value:g} s"
            return "—" if value is None else str(value)

        names = ["local", "concurrency", "stream", "timeout", "idle_timeout", "retries", "retry_timeouts",
                 "context_window", "max_output", "json_format", "token_margin"]
        return [(name, show(name, getattr(self, name)), self.sources.get(name, "")) for name in names]


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` without length bounds, for hosted strict JSON-schema modes (which refuse them)."""
    out = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in _STRICT_UNSUPPORTED:
                node.pop(key, None)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(out)
    return out


def private_host(api_base: str | None) -> str | None:
    """Why ``api_base`` is on the user's machine or LAN (None when it is not, or unset)."""
    if not api_base:
        return None
    try:
        host = (urlsplit(api_base if "//" in api_base else f"//{api_base}").hostname or "").lower()
    except ValueError:
        return None
    if not host:
        return None
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal", ".lan", ".home.arpa")):
        return f"api_base host {host} is on this machine or LAN"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if re.fullmatch(r"[a-z0-9][a-z0-9-]*", host):  # "ollama", "llm-box": a compose service or LAN name
            return f"api_base host {host} is a local (single-label) name"
        return None
    if address.is_loopback:
        return f"api_base host {host} is loopback"
    if address.is_private or address.is_link_local:
        return f"api_base host {host} is a private address"
    return None


def provider_of(model: str, api_base: str | None = None) -> str:
    """litellm's provider for ``model`` (its prefix when litellm does not know it)."""
    try:
        return str(load_litellm().get_llm_provider(model, api_base=api_base)[1])
    except Exception:
        return model.split("/", 1)[0] if "/" in model else "unknown"


def model_info(model: str) -> dict[str, Any]:
    """litellm's model-map entry for ``model`` ({} for a model it does not know)."""
    try:
        return dict(load_litellm().get_model_info(model) or {})
    except Exception:
        return {}


def supports(kind: str, model: str, provider: str | None = None) -> bool:
    """``litellm.supports_<kind>`` (response_schema, function_calling, ...); False when it cannot say."""
    try:
        check = getattr(load_litellm(), f"supports_{kind}")
        return bool(check(model=model, custom_llm_provider=provider) if provider else check(model=model))
    except Exception:
        return False


def model_options(settings: Settings, model: str) -> tuple[ModelOptions, str | None]:
    """The ``[models."<model>"]`` table for ``model`` (an empty one when there is none) and its name."""
    for name in (model, model.strip(), model.lower()):
        if name in settings.models:
            return settings.models[name], name
    return ModelOptions(), None


def resolve_policy(settings: Settings, model: str | None = None, api_base: str | None = None) -> LLMPolicy:
    """The policy for ``model`` at ``api_base`` (default: the settings' chat model and api_base).

    Precedence per value: the model's config.toml table, then the global ``llm_*`` setting, then the
    default for a local or a hosted server. Imports litellm (for the provider and its model map).
    """
    model = model or settings.model or ""
    if api_base is None:
        api_base = settings.api_base
    options, table = model_options(settings, model)
    here = f'[models."{table}"]' if table else ""
    sources: dict[str, str] = {}
    provider = provider_of(model, api_base)

    if options.local is not None:
        local, sources["local"] = options.local, here
    elif settings.llm_local is not None:
        local, sources["local"] = settings.llm_local, "llm_local"
    elif provider in LOCAL_PROVIDERS:
        local, sources["local"] = True, f"provider {provider} serves models locally"
    elif (why := private_host(api_base)) is not None:
        local, sources["local"] = True, why
    else:
        local, sources["local"] = False, "a hosted API (api_base unset or public)"
    kind = "local server" if local else "hosted API"

    def pick(name: str, own: Any, general: Any, general_name: str, default: Any) -> Any:
        if own is not None:
            sources[name] = here
            return own
        if general is not None:
            sources[name] = general_name
            return general
        sources[name] = f"default for a {kind}"
        return default

    concurrency = pick("concurrency", options.concurrency, settings.llm_concurrency, "llm_concurrency",
                       LOCAL_CONCURRENCY if local else HOSTED_CONCURRENCY)
    stream = pick("stream", options.stream, None, "", local)
    timeout = pick("timeout", options.timeout, settings.llm_timeout, "llm_timeout", 60.0)
    idle_timeout = pick("idle_timeout", options.idle_timeout, settings.llm_idle_timeout, "llm_idle_timeout",
                        120.0)
    retries = pick("retries", options.retries, settings.llm_retries, "llm_retries", 3)
    retry_timeouts = pick("retry_timeouts", options.retry_timeouts, None, "", not local)

    info = model_info(model) if model else {}
    if options.context_window is not None:
        window, sources["context_window"] = options.context_window, here
    elif info.get("max_input_tokens") or info.get("max_tokens"):
        window = int(info.get("max_input_tokens") or info.get("max_tokens"))
        sources["context_window"] = "litellm's model map"
    else:
        window = LOCAL_DEFAULT_WINDOW if local else HOSTED_DEFAULT_WINDOW
        sources["context_window"] = f"default for an unknown model on a {kind} (set context_window)"
    if options.max_output is not None:
        max_output, sources["max_output"] = options.max_output, here
    elif info.get("max_output_tokens"):
        max_output, sources["max_output"] = int(info["max_output_tokens"]), "litellm's model map"
    else:
        max_output, sources["max_output"] = None, "no limit but the context window"

    if options.json_format is not None:
        json_format, sources["json_format"] = options.json_format, here
    elif supports("response_schema", model, provider):
        json_format, sources["json_format"] = "json_schema", "litellm: the model supports response schemas"
    elif local and provider in OPENAI_COMPATIBLE:
        json_format = "json_object+schema"
        sources["json_format"] = ("a local OpenAI-compatible server "
                                  "(llama.cpp enforces the schema as a grammar)")
    else:
        json_format, sources["json_format"] = "json_object", "litellm: no response-schema support"

    if info and not local:
        margin, sources["token_margin"] = KNOWN_TOKENIZER_MARGIN, "litellm counts with the model's tokenizer"
    else:
        margin = UNKNOWN_TOKENIZER_MARGIN
        sources["token_margin"] = "prompts fitted with room for another tokenizer"

    return LLMPolicy(model=model, api_base=api_base, provider=provider, local=local,
                     concurrency=int(concurrency), stream=bool(stream), timeout=float(timeout),
                     idle_timeout=float(idle_timeout), retries=int(retries),
                     retry_timeouts=bool(retry_timeouts), context_window=int(window), max_output=max_output,
                     json_format=json_format, token_margin=margin, sources=sources)
