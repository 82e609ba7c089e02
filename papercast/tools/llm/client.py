"""The model of a run, called through litellm: cached, paced, retried, accounted and budgeted.

How requests are sent is the model's ``LLMPolicy``: a hosted API gets a few requests in flight
with a total timeout; a local server one at a time, streamed with an idle timeout, and a timed-out
request is not retried. Rate limits, 5xx and connection errors are retried with backoff (honouring
``Retry-After``); a model that stays unreachable fails in one line (``LLMUnavailable``) and later
calls fail fast, so callers fall back to offline results. ``max_usd_per_run`` stops paid calls
(``BudgetExceeded``). API keys stay in the providers' environment variables; every error text
passes through ``redact``. The same client serves an embedding model (``for_embeddings``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from functools import cached_property
from typing import Any, TypeVar

from papercast.config import Settings
from papercast.errors import RuntimeFailure, one_line, redact
from papercast.models import Usage
from papercast.store.llm_log import CachedAnswer, LLMLog
from papercast.tools.llm import fitting
from papercast.tools.llm.accounting import command_label, new_run_id, price
from papercast.tools.llm.answers import Answer, StreamEvent, cache_key, read_answer
from papercast.tools.llm.failures import (
    BudgetExceeded,
    IdleTimeout,
    LLMUnavailable,
    ShortAnswer,
    classify,
    describe_cause,
    is_timeout,
)
from papercast.tools.llm.fitting import MIN_ANSWER_TOKENS, Message, count_tokens
from papercast.tools.llm.formats import FormatRefused, format_refusal, remember_refusal, usable_format
from papercast.tools.llm.loader import load_litellm
from papercast.tools.llm.policy import LLMPolicy, resolve_policy
from papercast.tools.llm.slots import server_slot
from papercast.tools.llm.streaming import idle_guarded

T = TypeVar("T")
log = logging.getLogger(__name__)

MAX_RETRY_AFTER = 30.0
# A local server without max_tokens generates until its context window is full (the lane saw a chat
# turn spend 80 s on tokens nobody read); unless the model's max_output says otherwise, answers stop here.
LOCAL_ANSWER_TOKENS = 1024
SHORTER_NOTE = ("Your previous answer was too long and was cut off. Answer again, much more briefly: every "
                "field short, the whole JSON object complete.")
EMBEDDING_HINT = ("; unset PAPERCAST_EMBEDDING (or `embedding` in config.toml) to use the bundled offline "
                  "embedding model")


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
        """Tokens of ``messages`` as litellm counts them for this model (~4 characters each if it cannot)."""
        return count_tokens(self.model, messages=list(messages))

    def prompt_budget(self, max_tokens: int) -> int:
        """Tokens a prompt may have so that an answer of ``max_tokens`` still fits the context window."""
        return fitting.prompt_budget(self.policy, max_tokens)

    def fits(self, messages: Sequence[Message], max_tokens: int) -> bool:
        """Whether ``messages`` and an answer of ``max_tokens`` fit the context window."""
        return self.count_tokens(messages) <= self.prompt_budget(max_tokens)

    def fit_prompt(self, build: Callable[[float], Sequence[Message]], max_tokens: int, *,
                   floor: float = 0.1) -> list[Message]:
        """``build(scale)`` for the largest scale (1, 2/3, 4/9, ... down to ``floor``) whose prompt fits
        the context window with an answer of ``max_tokens``; the smallest one tried when none does.
        ``build`` cuts what scales (an abstract, a passage) to that share of its full length."""
        return fitting.largest_prompt(build, lambda messages: self.fits(messages, max_tokens), floor)

    def fit_batch(self, size: int, build: Callable[[int], Sequence[Message]],
                  max_tokens: Callable[[int], int]) -> int:
        """The largest batch up to ``size`` whose prompt ``build(n)`` and answer of ``max_tokens(n)``
        fit the context window (at least 1: one item's prompt is fitted by its builder)."""
        return fitting.largest_batch(size, lambda n: self.fits(build(n), max_tokens(n)))

    def fit_max_tokens(self, messages: Sequence[Message], wanted: int) -> int:
        """``wanted`` cut to the model's output limit and to what the window leaves after the prompt."""
        fitted = fitting.answer_room(self.policy, self.count_tokens(messages), wanted)
        if fitted < wanted:
            log.debug("LLM max_tokens %d -> %d for %s (context window %d)", wanted, fitted, self.model,
                      self.policy.context_window)
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
                again = await self.complete(retry, purpose=f"{purpose}-shorter",
                                            prompt_version=prompt_version, json_mode=True, schema=schema,
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
                       json_mode: bool = False, schema: dict[str, Any] | None = None,
                       max_tokens: int | None = None, temperature: float = 0.0,
                       tools: Sequence[dict[str, Any]] | None = None, cache: bool = True,
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
                async with server_slot(self.policy.server_key, self.policy.concurrency):
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
            log.info("LLM %s answer of %s stopped at max_tokens=%s (finish_reason=length)", purpose,
                     self.model, request.get("max_tokens"))
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
        async with server_slot(self.policy.server_key, self.policy.concurrency):
            response = await self._with_retries(lambda: self._call_embedding(list(texts)), purpose)
        usage = getattr(response, "usage", None)
        prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
        if not prompt:
            prompt = count_tokens(self.model, text="\n".join(texts))
        answer = Answer(text="", prompt_tokens=prompt, completion_tokens=0, model=self.model,
                        cost_usd=self._cost(response, prompt, 0))
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
        async with server_slot(self.policy.server_key, self.policy.concurrency):
            self._precheck()
            stream = await self._with_retries(lambda: self._open_stream(request), purpose)
            chunks: list[Any] = []
            try:
                async for chunk in idle_guarded(stream, self.policy.idle_timeout):
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
        chunks = [chunk async for chunk in idle_guarded(stream, self.policy.idle_timeout)]
        if not chunks:
            raise RuntimeFailure("the stream ended without a chunk")
        return litellm.stream_chunk_builder(chunks, messages=request["messages"])

    def json_format(self) -> str:
        """The JSON format to ask with: the policy's, or the simpler one a refusal left for this model
        and server earlier in the process."""
        return usable_format(self._format_key(), self.policy.json_format)

    def _format_key(self) -> tuple[str, str]:
        return (self.model, self.policy.server_key)

    async def _send(self, request: dict[str, Any], *, downgradable: bool = False) -> Any:
        """One request as the policy sends it (streamed and assembled, or plain). A 400 refusing the
        request's ``response_format`` becomes ``FormatRefused`` when the caller can ask more simply."""
        try:
            return await (self._collect(request) if self.policy.stream else self._call(request))
        except Exception as exc:
            reason = format_refusal(exc) if downgradable and "response_format" in request else None
            if reason is None:
                raise
            raise FormatRefused(reason) from exc

    def _refused(self, json_format: str, reason: str, purpose: str) -> str:
        """Remember that the server refused ``json_format`` and return the format to ask with now."""
        simpler = remember_refusal(self._format_key(), json_format)
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
        # ``idle_guarded`` enforces itself with a clearer message; a plain one by the total timeout.
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
                retryable, reason, retry_after = classify(exc, self.policy, self.model)
                status = getattr(exc, "status_code", None)
                what = (f"LLM {purpose or 'call'} to {self._where()} failed on attempt {attempt + 1} of "
                        f"{self.retries + 1}: {reason}")
                if isinstance(status, int) and f"HTTP {status}" not in reason:
                    what += f" (HTTP {status})"
                timed_out = is_timeout(exc)
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

    def _failure(self, exc: BaseException, reason: str | None = None, attempts: int = 1) -> LLMUnavailable:
        if reason is None:
            reason = classify(exc, self.policy, self.model)[1]
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        return self._report(reason, tries)

    def _report(self, reason: str, tries: str = "") -> LLMUnavailable:
        where = f" at {self.api_base}" if self.api_base else ""
        message = redact(f"cannot {self._action} {self.model}{where}{tries}: {reason}{self._hint}")
        self.notice(message)
        return LLMUnavailable(one_line(message, limit=400))

    def _answer(self, response: Any, messages: list[Message]) -> Answer:
        answer = read_answer(response, self.model, messages)
        answer.cost_usd = self._cost(response, answer.prompt_tokens, answer.completion_tokens)
        return answer

    def _cost(self, response: Any, prompt: int, completion: int) -> float | None:
        """The price of ``response``; the first unpriced one of a run is said once (log and notice)."""
        cost = price(self.model, response, prompt, completion)
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
