"""Model access through litellm: one client per run, with caching, retries, accounting and a budget.

Why it looks the way it does:

* litellm takes ~8 s to import, so it is imported on the first real call only, with
  ``LITELLM_LOCAL_MODEL_COST_MAP=True`` set first (no network on import) and its debug output silenced.
* Every answer is cached in the home SQLite file under a hash of (model, api_base, prompt version,
  purpose, messages, parameters); a repeated request costs nothing and sends nothing. The api_base is
  part of the key because two servers may serve different models under one name (never the API key:
  it is a secret, and it does not change what a model answers).
* How requests are sent is the model's ``LLMPolicy`` (``policy.py``): a hosted API gets a few
  requests in flight with a total timeout; a local server one request at a time (per server, across
  the process's event loops), streamed with an idle timeout, and a timed-out request is not retried.
  Rate limits, 5xx and connection errors are retried with exponential backoff (honouring
  ``Retry-After``); when the model stays unreachable (or silent) the run says so in one line
  (``LLMUnavailable``) and later calls fail fast, so callers keep what they already have and fall
  back to offline results. Every failed attempt is logged with its real cause.
* JSON requests carry the caller's schema the way the policy says (JSON schema, JSON mode with the
  schema as a grammar, or JSON mode); ``max_tokens`` is fitted to the context window; an answer cut
  off at ``max_tokens`` is asked once more with the caller's shorter request, then given up.
* A server that refuses that ``response_format`` (HTTP 400 naming it: vLLM, LM Studio, older llama.cpp,
  proxies) is asked again at once with plain JSON mode, then without ``response_format``, and the
  simpler format is kept for that model and server for the rest of the process, so later requests do
  not pay the refused one again. The answer is still validated by the caller's parser; litellm's
  model map says which format a model supports, not what the server in front of it accepts.
* Every request sent is recorded with its tokens and cost (None = the model has no known price) under
  the run id; ``max_usd_per_run`` stops further paid calls with a notice (``BudgetExceeded``).
* API keys stay in the providers' environment variables. Nothing here stores or logs them, and
  every error text passes through ``redact`` before a user can see it.
* The same client serves an embedding model (``LLMClient.for_embeddings``, ``aembed``): same import,
  api_base, timeout, retries, one-line failures and usage rows; embedding answers are not cached
  (each paper is embedded once and its vector lives in the store).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import hashlib
import json
import logging
import os
import random
import sys
import threading
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache, cached_property
from types import ModuleType
from typing import Any, TypeVar

from papercast.config import Settings
from papercast.errors import RuntimeFailure, one_line, redact
from papercast.models import Usage
from papercast.store.llm_log import CachedAnswer, LLMLog
from papercast.tools.llm.policy import LLMPolicy, resolve_policy

T = TypeVar("T")
Message = dict[str, Any]
log = logging.getLogger(__name__)


class LLMUnavailable(RuntimeFailure):
    """The model could not be reached or refused the request (after retries). One line."""


class BudgetExceeded(RuntimeFailure):
    """This run spent ``max_usd_per_run``; no further paid calls are made."""


# -- litellm, imported once and quietly -----------------------------------------------------------------
@cache
def load_litellm() -> ModuleType:
    """Import litellm (slow) with a local cost map and without its debug chatter."""
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    os.environ.setdefault("LITELLM_LOG", "ERROR")
    # pydantic schema warnings about litellm's own types (also raised lazily, later) mean nothing to a user.
    warnings.filterwarnings("ignore", message=r".*`ReadOnly` qualifier", category=UserWarning)
    # A malformed answer makes the openai SDK warn while it serializes it; we report the answer ourselves.
    warnings.filterwarnings("ignore", message=r"Pydantic serializer warnings", category=UserWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import litellm

    litellm.suppress_debug_info = True
    litellm.drop_params = True  # providers without JSON mode get the request without it
    litellm.turn_off_message_logging = True
    litellm.telemetry = False
    # Our own accounting reads usage from each response; litellm's per-chunk stream logging only
    # costs CPU (~13 ms per streamed call, measured in bench/chat_overhead.py).
    litellm.disable_streaming_logging = True
    # We retry ourselves (``_with_retries``). litellm's OpenAI embedding path reads max_retries=0 as
    # unset and lets the SDK retry twice more per attempt (litellm 1.110: ``max_retries or DEFAULT``).
    litellm.DEFAULT_MAX_RETRIES = 0
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm", "openai", "httpx"):
        logging.getLogger(name).setLevel(logging.ERROR)
    return litellm


# -- accounting -----------------------------------------------------------------------------------------
@dataclass
class Answer:
    """One model answer, fresh or from the cache."""

    text: str
    finish_reason: str | None = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    cached: bool = False
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # OpenAI shape, arguments as strings
    model: str = ""

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"


@dataclass
class StreamEvent:
    """A piece of a streamed answer: a text delta, or (last) the whole ``answer`` with usage."""

    text: str = ""
    answer: Answer | None = None


def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{os.getpid()}-{random.randrange(16**4):04x}"


def command_label(argv: Sequence[str] | None = None) -> str:
    """The papercast subcommand of this process ("digest", "recommend", ...), for the usage table."""
    args = list(sys.argv[1:] if argv is None else argv)
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in ("--home", "--model"):
            skip = True
        elif not arg.startswith("-"):
            return arg
    return "tui" if os.path.basename(sys.argv[0] or "") == "papercast" else "api"


def cache_key(model: str, prompt_version: str, purpose: str, payload: Any, api_base: str | None = None) -> str:
    """The response-cache key of a request.

    ``api_base`` is in it because two servers can answer differently under one model name; it is
    left out when unset so keys of requests to a provider's default endpoint stay what they were.
    """
    key: dict[str, Any] = {"model": model, "v": prompt_version, "purpose": purpose, "payload": payload}
    if api_base:
        key["api_base"] = api_base.strip().rstrip("/")
    blob = json.dumps(key, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# -- one request budget per server, shared by the whole process -----------------------------------------
_SLOTS: dict[tuple[str, int], threading.BoundedSemaphore] = {}
_SLOTS_LOCK = threading.Lock()


def _server_slots(key: str, size: int) -> threading.BoundedSemaphore:
    """The process-wide semaphore of one server: the TUI runs model calls from several event loops
    (workers in threads), and a one-slot local server must still see one request at a time, or the
    queued request's idle timer runs while it waits behind the other."""
    with _SLOTS_LOCK:
        slot = _SLOTS.get((key, size))
        if slot is None:
            slot = _SLOTS[(key, size)] = threading.BoundedSemaphore(size)
        return slot


# -- JSON formats a server refused, remembered for the whole process -----------------------------------------
# (model, server) -> the simplest json_format papercast fell back to after a refusal.
_FORMAT_DOWNGRADES: dict[tuple[str, str], str] = {}
_DOWNGRADES_LOCK = threading.Lock()
# From the richest to none; a refusal moves one request down this list (json_object+schema skips to json_object).
_FORMAT_ORDER = ("json_schema", "json_object+schema", "json_object", "off")
# Words of a 400's message that say the request's response_format was the problem.
_FORMAT_WORDS = ("response_format", "response format", "json_schema", "schema")


def _simpler_format(json_format: str) -> str:
    """The format to ask with after the server refused ``json_format``."""
    return "off" if json_format == "json_object" else "json_object"


def _lower_format(a: str, b: str) -> str:
    """The simpler of two json_formats."""
    rank = {name: i for i, name in enumerate(_FORMAT_ORDER)}
    return a if rank.get(a, 0) >= rank.get(b, 0) else b


def forget_format_downgrades() -> None:
    """Forget every refused format (a test's servers share model names and, over time, ports)."""
    with _DOWNGRADES_LOCK:
        _FORMAT_DOWNGRADES.clear()


class FormatRefused(Exception):
    """The server refused the request's ``response_format`` with HTTP 400; ``reason`` is its message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class IdleTimeout(TimeoutError):
    """A streamed request sent no chunk for the policy's idle timeout."""


class ShortAnswer(ValueError):
    """An answer cut off at ``max_tokens`` (``finish_reason=length``), also after a shorter request."""


# -- the client -------------------------------------------------------------------------------------------
MAX_RETRY_AFTER = 30.0
MIN_ANSWER_TOKENS = 32  # below this, an answer is not worth asking for
# A local server without max_tokens generates until its context window is full (the lane saw a chat
# turn spend 80 s on tokens nobody read); unless the model's max_output says otherwise, answers stop here.
LOCAL_ANSWER_TOKENS = 1024
SHORTER_NOTE = ("Your previous answer was too long and was cut off. Answer again, much more briefly: every "
                "field short, the whole JSON object complete.")
EMBEDDING_HINT = ("; unset PAPERCAST_EMBEDDING (or `embedding` in config.toml) to use the bundled offline "
                  "embedding model")
_RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 529}


class LLMClient:
    """The model of ``settings`` for one run: cached, retried, accounted and budgeted calls."""

    def __init__(self, settings: Settings, store: LLMLog | None = None, *, run_id: str | None = None,
                 command: str | None = None) -> None:
        if not settings.model:
            raise LLMUnavailable("no model set (offline mode): set PAPERCAST_MODEL or pass --model")
        self.settings = settings
        self.model: str = settings.model
        self.api_base: str | None = settings.api_base
        self._action = "get an answer from the model"
        self._hint = ""  # appended to every failure: what the user can do about it
        self.store = store or LLMLog(settings.db_path)
        self.run_id = run_id or new_run_id()
        self.command = command if command is not None else command_label()
        self.usage = Usage()
        self.notices: list[str] = []
        self.backoff = settings.llm_backoff
        self.max_backoff = settings.llm_max_backoff
        self.unreachable: str | None = None  # set once the model stayed unreachable: later calls fail fast
        self._lock = threading.Lock()
        self._unpriced_noted = False

    @classmethod
    def for_embeddings(cls, settings: Settings, store: LLMLog | None = None, *,
                       command: str | None = None) -> LLMClient:
        """A client of the embedding model ``settings.embedding`` (at ``embedding_api_base``, else
        ``api_base``): the chat model's policies, its own run id, failures that say how to go back
        to the bundled offline model."""
        if not settings.embedding:
            raise LLMUnavailable("no embedding model set: the bundled offline model needs no client")
        client = cls(settings.with_overrides(model=settings.embedding), store, command=command)
        client.api_base = settings.embedding_api_base or settings.api_base
        client._action = "embed texts with the embedding model"
        client._hint = EMBEDDING_HINT
        return client

    # -- public ------------------------------------------------------------------------------------
    @cached_property
    def policy(self) -> LLMPolicy:
        """How this model is called (resolved on first use: it imports litellm for the model map)."""
        policy = resolve_policy(self.settings, self.model, self.api_base)
        log.debug("LLM policy for %s: %s", self._where(), ", ".join(f"{k}={v}" for k, v, _ in policy.rows()))
        return policy

    @property
    def retries(self) -> int:
        return self.policy.retries

    def count_tokens(self, messages: Sequence[Message]) -> int:
        """Tokens of ``messages`` as litellm counts them for this model (~4 characters each when it cannot)."""
        return _count_tokens(load_litellm(), self.model, messages=list(messages))

    def prompt_budget(self, max_tokens: int) -> int:
        """Tokens a prompt may have so that an answer of ``max_tokens`` still fits the context window.

        The policy's margin covers the difference between litellm's count and the server's own
        tokenizer (a local model's is rarely the one litellm counts with)."""
        policy = self.policy
        answer = min(max_tokens, policy.max_output or max_tokens)
        return max(0, int((policy.context_window - answer - 16) / policy.token_margin))

    def fits(self, messages: Sequence[Message], max_tokens: int) -> bool:
        """Whether ``messages`` and an answer of ``max_tokens`` fit the context window."""
        return self.count_tokens(messages) <= self.prompt_budget(max_tokens)

    def fit_prompt(self, build: Callable[[float], Sequence[Message]], max_tokens: int, *,
                   floor: float = 0.1) -> list[Message]:
        """``build(scale)`` for the largest scale (1, 2/3, 4/9, ... down to ``floor``) whose prompt fits
        the context window with an answer of ``max_tokens``; the smallest one tried when none does.
        ``build`` cuts what scales (an abstract, a passage) to that share of its full length."""
        scale = 1.0
        messages = list(build(scale))
        while scale * 2 / 3 >= floor and not self.fits(messages, max_tokens):
            scale *= 2 / 3
            messages = list(build(scale))
        return messages

    def fit_batch(self, size: int, build: Callable[[int], Sequence[Message]],
                  max_tokens: Callable[[int], int]) -> int:
        """The largest batch up to ``size`` whose prompt ``build(n)`` and answer of ``max_tokens(n)``
        fit the context window (at least 1: one item's prompt is fitted by its builder)."""
        n = max(1, size)
        while n > 1 and not self.fits(build(n), max_tokens(n)):
            n = max(1, n * 2 // 3)
        return n

    def fit_max_tokens(self, messages: Sequence[Message], wanted: int) -> int:
        """``wanted`` cut to the model's output limit and to what the context window leaves after the prompt."""
        policy = self.policy
        room = policy.context_window - int(self.count_tokens(messages) * policy.token_margin) - 16
        fitted = min(wanted, policy.max_output or wanted, room)
        if fitted < wanted:
            log.debug("LLM max_tokens %d -> %d for %s (context window %d)", wanted, fitted, self.model,
                      policy.context_window)
        return max(MIN_ANSWER_TOKENS, fitted)

    def notice(self, text: str) -> None:
        """Remember a one-line notice for the user (each text once)."""
        text = one_line(redact(text))
        with self._lock:
            if text not in self.notices:
                self.notices.append(text)

    def check_budget(self) -> None:
        """Raise ``BudgetExceeded`` when this run has spent its budget."""
        limit = self.settings.max_usd_per_run
        if limit is not None and self.usage.cost_usd >= limit:
            message = (f"LLM budget of ${limit:g} per run reached (spent ${self.usage.cost_usd:.6f}); "
                       "stopped LLM work, the rest uses offline results")
            if message not in self.notices:  # said once per run, though every later call stops here
                log.info("%s", message)
            self.notice(message)
            raise BudgetExceeded(message)

    async def complete_json(self, messages: Sequence[Message], parse: Callable[[str, str | None], T], *,
                            purpose: str, prompt_version: str, max_tokens: int, repair_max_tokens: int,
                            repair_prompt: str, schema: dict[str, Any] | None = None,
                            shorter: Callable[[], Sequence[Message]] | None = None) -> T:
        """Ask for JSON (shaped by ``schema`` where the policy can) and ``parse(text, finish_reason)`` it.

        An answer cut off at ``max_tokens`` is asked once more with a shorter request: ``shorter()``
        (the caller's smaller prompt; by default the same one with a note asking for brevity) and
        the larger of the two token limits. Any other unusable answer gets one repair request that
        shows the model its own answer and ``repair_prompt`` (with ``{problem}`` filled in). A second
        unusable answer raises the parser's ``ValueError`` (``ShortAnswer`` when cut off again), so
        the caller falls back; model errors propagate.
        """
        answer = await self.complete(messages, purpose=purpose, prompt_version=prompt_version, json_mode=True,
                                     schema=schema, max_tokens=max_tokens)
        try:
            return parse(answer.text, answer.finish_reason)
        except ValueError as problem:
            if answer.truncated:
                log.info("LLM %s answer of %s was cut off at %d tokens (finish_reason=length); asking once "
                         "more with a shorter request", purpose, self.model, answer.completion_tokens)
                retry = list(shorter()) if shorter is not None else [
                    *messages, {"role": "user", "content": SHORTER_NOTE}]
                again = await self.complete(retry, purpose=f"{purpose}-shorter", prompt_version=prompt_version,
                                            json_mode=True, schema=schema,
                                            max_tokens=max(max_tokens, repair_max_tokens))
                if again.truncated:
                    raise ShortAnswer(f"the answer was cut off twice (at {answer.completion_tokens} and "
                                      f"{again.completion_tokens} tokens, finish_reason=length)") from None
                return parse(again.text, again.finish_reason)
            log.info("LLM %s answer of %s unusable (%s); asking once more", purpose, self.model, problem)
            repair = [*messages, {"role": "assistant", "content": answer.text[:3000]},
                      {"role": "user", "content": repair_prompt.format(problem=problem)}]
            answer = await self.complete(repair, purpose=f"{purpose}-repair", prompt_version=prompt_version,
                                         json_mode=True, schema=schema, max_tokens=repair_max_tokens)
            return parse(answer.text, answer.finish_reason)

    async def complete(self, messages: Sequence[Message], *, purpose: str, prompt_version: str,
                       json_mode: bool = False, schema: dict[str, Any] | None = None, max_tokens: int | None = None,
                       temperature: float = 0.0, tools: Sequence[dict[str, Any]] | None = None, cache: bool = True,
                       **params: Any) -> Answer:
        """One chat completion. Cached answers are returned without a request (and cost nothing).

        ``json_mode`` asks for JSON in the policy's way (with ``schema`` where it can); ``max_tokens``
        is fitted to the context window. A local server's request is streamed (idle timeout) and
        assembled here, so callers see the same ``Answer`` either way.
        """
        policy = self.policy
        base: dict[str, Any] = {"messages": list(messages), "temperature": temperature, **params}
        if max_tokens is None and policy.local:  # a local server generates until its window is full
            max_tokens = policy.max_output or LOCAL_ANSWER_TOKENS
        if max_tokens is not None:
            base["max_tokens"] = self.fit_max_tokens(base["messages"], max_tokens)
        if tools:
            base["tools"] = list(tools)
            if policy.local:  # llama.cpp's function-calling formats offer tools only with an explicit choice
                base.setdefault("tool_choice", "auto")
        json_format = self.json_format() if json_mode else None
        while True:  # once per JSON format the server refuses (at most two), else once
            request = dict(base)
            if json_format is not None:
                response_format = policy.response_format(schema, purpose.replace("-", "_"), json_format)
                if response_format is not None:
                    request["response_format"] = response_format
            key = cache_key(self.model, prompt_version, purpose, request, self.api_base) if cache else None
            if key is not None:
                hit = self.store.get_cached(key)
                if hit is not None:
                    log.debug("LLM %s answer of %s from the cache (%s...)", purpose, self.model, key[:12])
                    answer = Answer(hit.response, hit.finish_reason, hit.prompt_tokens, hit.completion_tokens,
                                    hit.cost_usd, cached=True, model=self.model)
                    self._account(answer, purpose)
                    return answer
            try:
                async with self._slot():
                    self._precheck()
                    response = await self._with_retries(
                        functools.partial(self._send, request, downgradable=json_format is not None), purpose)
            except FormatRefused as refused:
                assert json_format is not None  # only a JSON request is downgradable
                json_format = self._refused(json_format, refused.reason, purpose)
                continue
            break
        answer = self._answer(response, request["messages"])
        self._account(answer, purpose)
        if answer.truncated:
            log.info("LLM %s answer of %s stopped at max_tokens=%s (finish_reason=length)", purpose, self.model,
                     request.get("max_tokens"))
        if key is not None and not answer.tool_calls:
            self.store.put_cached(key, model=self.model, prompt_version=prompt_version, purpose=purpose,
                                  answer=CachedAnswer(answer.text, answer.finish_reason, answer.prompt_tokens,
                                                      answer.completion_tokens, answer.cost_usd))
        return answer

    async def aembed(self, texts: Sequence[str], *, purpose: str = "embed") -> Any:
        """One embedding request for ``texts`` (the caller batches); litellm's raw response.

        Retried and accounted like a completion. Not budget-gated: a paper cannot fall back to an
        offline vector in a collection of this model's vectors, and embedding costs are tiny.
        """
        if self.unreachable:
            raise LLMUnavailable(self.unreachable)
        async with self._slot():
            response = await self._with_retries(lambda: self._call_embedding(list(texts)), purpose)
        usage = getattr(response, "usage", None)
        prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
        if not prompt:
            prompt = _count_tokens(load_litellm(), self.model, text="\n".join(texts))
        answer = Answer(text="", prompt_tokens=prompt, completion_tokens=0, model=self.model,
                        cost_usd=self._cost(load_litellm(), response, prompt, 0))
        self._account(answer, purpose)
        return response

    def unusable(self, problem: str) -> LLMUnavailable:
        """The one-line failure for an answer that arrived but cannot be used (``problem`` says why)."""
        failure = self._report(f"the answer is unusable: {problem}")
        log.warning("%s", failure)
        return failure

    async def stream(self, messages: Sequence[Message], *, purpose: str = "chat",
                     tools: Sequence[dict[str, Any]] | None = None, temperature: float = 0.2,
                     **params: Any) -> AsyncIterator[StreamEvent]:
        """Stream an answer: text deltas as they come, then one event with the whole ``Answer``.

        Not cached (a chat turn is not repeated). Retries apply until the response starts; then a
        chunk must come within the policy's idle timeout (text already shown cannot be taken back,
        so a stream that breaks off or falls silent is not retried).
        """
        litellm = load_litellm()
        policy = self.policy
        request: dict[str, Any] = {"messages": list(messages), "temperature": temperature, "stream": True,
                                   "stream_options": {"include_usage": True}, **params}
        if request.get("max_tokens") is None and policy.local:  # else it generates until its window is full
            request["max_tokens"] = policy.max_output or LOCAL_ANSWER_TOKENS
        if request.get("max_tokens") is not None:
            request["max_tokens"] = self.fit_max_tokens(request["messages"], int(request["max_tokens"]))
        if tools:
            request["tools"] = list(tools)
            if policy.local:
                request.setdefault("tool_choice", "auto")
        async with self._slot():
            self._precheck()
            stream = await self._with_retries(lambda: self._open_stream(request), purpose)
            chunks: list[Any] = []
            try:
                async for chunk in self._idle_guarded(stream):
                    chunks.append(chunk)
                    for choice in getattr(chunk, "choices", None) or []:
                        delta = getattr(choice, "delta", None)
                        text = getattr(delta, "content", None) if delta is not None else None
                        if text:
                            yield StreamEvent(text=text)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failure = self._failure(exc)
                log.warning("LLM %s stream from %s broke off after %d chunks: %s; cause: %s", purpose,
                            self._where(), len(chunks), failure, describe_cause(exc))
                raise failure from None
        response = litellm.stream_chunk_builder(chunks, messages=request["messages"])
        answer = self._answer(response, request["messages"])
        self._account(answer, purpose)
        yield StreamEvent(answer=answer)

    # -- internals ---------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        """One of the server's ``concurrency`` request slots, waited for without blocking the loop
        (and without counting towards any timeout: the wait is ours, not the server's)."""
        slots = _server_slots(self.policy.server_key, max(1, self.policy.concurrency))
        pause = 0.002
        while not slots.acquire(blocking=False):
            await asyncio.sleep(pause)
            pause = min(0.05, pause * 2)
        try:
            yield
        finally:
            slots.release()

    async def _idle_guarded(self, stream: Any) -> AsyncIterator[Any]:
        """The chunks of ``stream``, each within the idle timeout; the stream is closed on the way out
        (so a local server sees the client go and stops generating)."""
        idle = self.policy.idle_timeout
        iterator = stream.__aiter__()
        try:
            while True:
                try:
                    chunk = await asyncio.wait_for(iterator.__anext__(), idle)
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    raise IdleTimeout(f"no chunk for {idle:g}s") from None
                yield chunk
        finally:
            await _close_stream(stream)

    async def _open_stream(self, request: dict[str, Any]) -> Any:
        """A streamed request's response, whose start (some servers send headers with the first
        token) must also come within the idle timeout."""
        idle = self.policy.idle_timeout
        try:
            return await asyncio.wait_for(self._call(request), idle)
        except TimeoutError:
            raise IdleTimeout(f"no response for {idle:g}s") from None

    async def _collect(self, request: dict[str, Any]) -> Any:
        """A streamed request assembled into one response (what ``complete`` does for a local server)."""
        litellm = load_litellm()
        body = {**request, "stream": True, "stream_options": {"include_usage": True}}
        stream = await self._open_stream(body)
        chunks = [chunk async for chunk in self._idle_guarded(stream)]
        if not chunks:
            raise RuntimeFailure("the stream ended without a chunk")
        return litellm.stream_chunk_builder(chunks, messages=request["messages"])

    def json_format(self) -> str:
        """The JSON format to ask with: the policy's, or the simpler one a refusal left for this model
        and server earlier in the process."""
        with _DOWNGRADES_LOCK:
            refused = _FORMAT_DOWNGRADES.get(self._format_key())
        own = self.policy.json_format
        return own if refused is None else _lower_format(own, refused)

    def _format_key(self) -> tuple[str, str]:
        return (self.model, self.policy.server_key)

    async def _send(self, request: dict[str, Any], *, downgradable: bool = False) -> Any:
        """One request as the policy sends it (streamed and assembled, or plain). A 400 refusing the
        request's ``response_format`` becomes ``FormatRefused`` when the caller can ask more simply."""
        try:
            return await (self._collect(request) if self.policy.stream else self._call(request))
        except Exception as exc:
            reason = _format_refusal(exc) if downgradable and "response_format" in request else None
            if reason is None:
                raise
            raise FormatRefused(reason) from exc

    def _refused(self, json_format: str, reason: str, purpose: str) -> str:
        """Remember that the server refused ``json_format`` and return the format to ask with now."""
        simpler = _simpler_format(json_format)
        key = self._format_key()
        with _DOWNGRADES_LOCK:
            known = _FORMAT_DOWNGRADES.get(key)
            simpler = simpler if known is None else _lower_format(simpler, known)
            _FORMAT_DOWNGRADES[key] = simpler
        log.info("LLM %s request to %s: the server refused response_format %s (%s); asking again %s, "
                 "and so for every later request to this model in this process", purpose or "call",
                 redact(self._where()), json_format, redact(reason),
                 "without response_format" if simpler == "off" else f"with {simpler}")
        return simpler

    def _precheck(self) -> None:
        if self.unreachable:
            log.debug("LLM %s is unreachable in this run: failing fast", self.model)
            raise LLMUnavailable(self.unreachable)
        self.check_budget()

    async def _call(self, request: dict[str, Any]) -> Any:
        litellm = load_litellm()
        # A streamed request's socket reads are bounded by a little more than the idle timeout, which
        # ``_idle_guarded`` enforces itself with a clearer message; a plain one by the total timeout.
        timeout = self.policy.idle_timeout + 5 if request.get("stream") else self.policy.timeout
        kwargs: dict[str, Any] = {"model": self.model, "timeout": timeout, "max_retries": 0,
                                  "num_retries": 0, **self.policy.provider_params(), **request}
        if self.api_base:
            kwargs["api_base"] = self.api_base
        return await litellm.acompletion(**kwargs)

    async def _call_embedding(self, texts: list[str]) -> Any:
        litellm = load_litellm()
        kwargs: dict[str, Any] = {"model": self.model, "input": texts, "timeout": self.policy.timeout,
                                  "max_retries": 0, "num_retries": 0}
        if self.api_base:
            kwargs["api_base"] = self.api_base
        return await litellm.aembedding(**kwargs)

    async def _with_retries(self, call: Any, purpose: str = "") -> Any:
        """``call()`` with retries; every failed attempt is logged with its real cause (the
        exception chain, not only our one-line reason), since that is what the user needs to fix it."""
        attempt = 0
        while True:
            try:
                return await call()
            except (asyncio.CancelledError, FormatRefused):  # a refused format is the caller's to handle
                raise
            except Exception as exc:
                retryable, reason, retry_after = self._classify(exc)
                status = getattr(exc, "status_code", None)
                what = (f"LLM {purpose or 'call'} to {self._where()} failed on attempt {attempt + 1} of "
                        f"{self.retries + 1}: {reason}")
                if isinstance(status, int) and f"HTTP {status}" not in reason:
                    what += f" (HTTP {status})"
                timed_out = _is_timeout(exc)
                if not retryable or attempt >= self.retries:
                    failure = self._failure(exc, reason, attempts=attempt + 1)
                    if retryable or timed_out:  # unreachable or silent: do not make every later call wait too
                        self.unreachable = str(failure)
                    why = "" if retryable else (
                        " (a timed-out request is not retried on a local server: it is still working on it)"
                        if timed_out else " (not retryable)")
                    log.warning("%s; giving up%s; cause: %s", what, why, describe_cause(exc),
                                exc_info=log.isEnabledFor(logging.DEBUG))
                    raise failure from None
                delay = min(self.max_backoff, self.backoff * (2 ** attempt)) * random.uniform(0.8, 1.2)
                if retry_after is not None:  # the server knows best, within reason
                    delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
                log.info("%s; cause: %s; retrying in %.2f s", what, describe_cause(exc), delay)
                attempt += 1
                await asyncio.sleep(delay)

    def _where(self) -> str:
        """The model and its server, for log lines (``redact`` removes credentials in the URL)."""
        return f"{self.model} at {self.api_base}" if self.api_base else self.model

    def _classify(self, exc: BaseException) -> tuple[bool, str, float | None]:
        """(retry?, a short reason, Retry-After seconds)."""
        litellm = load_litellm()
        status = getattr(exc, "status_code", None)
        retry_after = _retry_after(exc)
        if _caused_by(exc, IdleTimeout):
            return (self.policy.retry_timeouts, f"no answer for {self.policy.idle_timeout:g}s "
                    "(idle timeout of a streamed request)", None)
        if isinstance(exc, litellm.Timeout | asyncio.TimeoutError | TimeoutError):
            limit = self.policy.idle_timeout if self.policy.stream else self.policy.timeout
            return self.policy.retry_timeouts, f"no answer within {limit:g}s", retry_after
        if isinstance(exc, litellm.RateLimitError):
            return True, "rate limited (HTTP 429)", retry_after
        if isinstance(exc, litellm.AuthenticationError):
            return False, "the provider rejected the API key (check the provider's *_API_KEY variable)", None
        if isinstance(exc, litellm.NotFoundError):
            return False, f"model {self.model} not found at the provider", None
        if isinstance(exc, litellm.ContextWindowExceededError):
            return False, "the prompt is longer than the model's context window", None
        if isinstance(exc, litellm.BadRequestError):
            return False, f"the provider refused the request: {one_line(str(exc), 160)}", None
        if _caused_by(exc, json.JSONDecodeError):  # litellm calls a 200 with a garbage body a "500"
            return False, "the server's answer is not valid JSON", None
        if _is_connection_error(exc) or (isinstance(exc, litellm.APIConnectionError)
                                         and not isinstance(status, int)):
            return True, "connection failed", retry_after
        if isinstance(status, int):
            return status in _RETRYABLE_STATUS, f"HTTP {status}", retry_after
        if isinstance(exc, litellm.InternalServerError | litellm.ServiceUnavailableError | litellm.APIError):
            return True, "server error", retry_after
        return False, f"{type(exc).__name__}: {one_line(str(exc), 160)}", None

    def _failure(self, exc: BaseException, reason: str | None = None, attempts: int = 1) -> LLMUnavailable:
        if reason is None:
            reason = self._classify(exc)[1]
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        return self._report(reason, tries)

    def _report(self, reason: str, tries: str = "") -> LLMUnavailable:
        where = f" at {self.api_base}" if self.api_base else ""
        message = redact(f"cannot {self._action} {self.model}{where}{tries}: {reason}{self._hint}")
        self.notice(message)
        return LLMUnavailable(one_line(message, limit=400))

    def _answer(self, response: Any, messages: list[Message]) -> Answer:
        litellm = load_litellm()
        choice = response.choices[0] if getattr(response, "choices", None) else None
        message = getattr(choice, "message", None)
        text = (getattr(message, "content", None) or "") if message is not None else ""
        tool_calls = []
        for call in (getattr(message, "tool_calls", None) or []) if message is not None else []:
            fn = call.function
            tool_calls.append({"id": call.id, "type": "function",
                               "function": {"name": fn.name, "arguments": fn.arguments or "{}"}})
        usage = getattr(response, "usage", None)
        prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion = int(getattr(usage, "completion_tokens", 0) or 0)
        if not prompt:
            prompt = _count_tokens(litellm, self.model, messages=messages)
        if not completion and text:
            completion = _count_tokens(litellm, self.model, text=text)
        cost = self._cost(litellm, response, prompt, completion)
        return Answer(text=text, finish_reason=getattr(choice, "finish_reason", None), prompt_tokens=prompt,
                      completion_tokens=completion, cost_usd=cost, tool_calls=tool_calls, model=self.model)

    def _cost(self, litellm: ModuleType, response: Any, prompt: int, completion: int) -> float | None:
        try:
            cost = float(litellm.completion_cost(completion_response=response, model=self.model))
        except Exception:
            try:
                p, c = litellm.cost_per_token(model=self.model, prompt_tokens=prompt, completion_tokens=completion)
                cost = float(p) + float(c)
            except Exception:
                cost = None
        if cost is None and not self._unpriced_noted:
            self._unpriced_noted = True
            budget = self.settings.max_usd_per_run
            message = (f"model {self.model} has no known price: tokens are counted, cost is unknown"
                       + (f" and the ${budget:g} budget cannot be enforced" if budget is not None else ""))
            log.info("%s", message)
            self.notice(message)
        return cost

    def _account(self, answer: Answer, purpose: str) -> None:
        with self._lock:
            self.usage.add(cached=answer.cached, prompt_tokens=answer.prompt_tokens,
                           completion_tokens=answer.completion_tokens, cost_usd=answer.cost_usd)
        self.store.record_call(self.run_id, command=self.command, model=self.model, purpose=purpose,
                               prompt_tokens=answer.prompt_tokens, completion_tokens=answer.completion_tokens,
                               cost_usd=answer.cost_usd, cached=answer.cached)


def describe_cause(exc: BaseException, depth: int = 5) -> str:
    """The exception and what caused it, outermost first, each as ``Class: message``.

    litellm re-wraps errors ("InternalServerError: Connection error."); the class and message of
    the error underneath (``ConnectError: [Errno 111] Connection refused``, ``ReadTimeout``) say
    what actually went wrong. Messages are cut to one short line each.
    """
    parts: list[str] = []
    seen: BaseException | None = exc
    visited: set[int] = set()
    while seen is not None and id(seen) not in visited and len(parts) < depth:
        visited.add(id(seen))
        text = one_line(str(seen), 200)
        parts.append(f"{type(seen).__name__}: {text}" if text else type(seen).__name__)
        seen = seen.__cause__ or seen.__context__
    return " <- ".join(parts)


def _format_refusal(exc: BaseException) -> str | None:
    """The server's reason when ``exc`` is an HTTP 400 refusing the request's ``response_format``
    (None for any other error, which is handled as before)."""
    litellm = load_litellm()
    if getattr(exc, "status_code", None) != 400 or isinstance(exc, litellm.ContextWindowExceededError):
        return None
    message = str(getattr(exc, "message", None) or exc)
    # litellm prefixes its class and the provider ("litellm.BadRequestError: OpenAIException - ...").
    reason = one_line(message.split(" - ", 1)[1] if " - " in message else message, 200)
    return reason if any(word in reason.lower() for word in _FORMAT_WORDS) else None


def _is_timeout(exc: BaseException) -> bool:
    """A timeout, ours (idle) or the HTTP client's, however litellm wrapped it."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, TimeoutError) or "Timeout" in type(seen).__name__:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


async def _close_stream(stream: Any) -> None:
    """Close a litellm stream and its HTTP response, whichever of the wrappers offers a close."""
    for target in (stream, getattr(stream, "completion_stream", None), getattr(stream, "response", None)):
        for name in ("aclose", "close"):
            closer = getattr(target, name, None) if target is not None else None
            if closer is None:
                continue
            with contextlib.suppress(Exception):
                result = closer()
                if asyncio.iscoroutine(result):
                    await result
                return


def _is_connection_error(exc: BaseException) -> bool:
    """litellm reports a refused connection as a 500 "Connection error."; look at the causes instead."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            break
        name = type(seen).__name__
        if isinstance(seen, ConnectionError) or name in ("ConnectError", "ClientConnectorError",
                                                         "ClientConnectionError", "ServerDisconnectedError"):
            return True
        seen = seen.__cause__ or seen.__context__
    return "connection error" in str(exc).lower()


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``kind`` is in the chain of causes: litellm re-wraps errors, so the real one is deeper."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _retry_after(exc: BaseException) -> float | None:
    headers: Any = getattr(exc, "litellm_response_headers", None)
    if headers is None:
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None)
    if not headers:
        return None
    try:
        value = headers.get("retry-after") or headers.get("Retry-After")
        return float(value) if value is not None else None
    except (TypeError, ValueError, AttributeError):
        return None


def _count_tokens(litellm: ModuleType, model: str, **kwargs: Any) -> int:
    try:
        return int(litellm.token_counter(model=model, **kwargs))
    except Exception:
        text = kwargs.get("text") or json.dumps(kwargs.get("messages") or "", default=str)
        return max(1, len(text) // 4)


# -- helpers for callers -------------------------------------------------------------------------------
def run_sync(coro: Coroutine[Any, Any, T] | Awaitable[T]) -> T:
    """Run a coroutine from sync code, also when the caller already runs an event loop (the TUI)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)  # type: ignore[arg-type]
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()  # type: ignore[arg-type]
