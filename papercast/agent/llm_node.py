"""The chat graph's model helpers: one streamed litellm call with OpenAI-format tool schemas.

No LangChain chat model: every call must go through the LLM layer (``tools.llm.LLMClient``: model
choice, api_base, retries, usage and cost, budget), and OpenAI-format messages and tool schemas are
the shortest path to it. Tool calls whose arguments are not valid JSON are kept as
``invalid_tool_calls`` so the tool node can tell the model. The thread on disk is never trimmed; only
the copy sent to the model is, to its context window, whole old turns first. Models without tool
calling (``choose_tools``) get no schemas, and the thread's tool calls and results as plain text
(``plain_history``), which every chat API accepts.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from papercast.agent.prompts import STEP_LIMIT_NOTE, library_results
from papercast.config import Settings
from papercast.errors import RuntimeFailure
from papercast.tools.llm.client import LLMClient
from papercast.tools.llm.loader import load_litellm
from papercast.tools.llm.policy import model_info, provider_of, supports

log = logging.getLogger(__name__)

DEFAULT_CONTEXT_WINDOW = 8192
ANSWER_RESERVE = 1024  # tokens kept free for the answer


@dataclass
class ModelConfig:
    """How the chat calls its model, decided once per service (``model_config``)."""

    client: LLMClient  # the LLM layer's client of this run
    window: int  # the model's context window, in tokens
    counter: TokenCounter  # its tokenizer, with what it has counted so far
    max_steps: int = 8
    tools: bool = True  # offer the tools (False: a model without tool calling answers from retrieval)

    @property
    def model(self) -> str:
        return str(self.client.model)


def model_config(settings: Settings, client: LLMClient) -> ModelConfig:
    """The chat's model settings: whether to offer tools, the context window, the step limit."""
    tools, why = choose_tools(settings.chat_tools, client.model, settings.api_base)
    if not tools:
        log.info("chat without tools for %s: %s", client.model, why)
    return ModelConfig(client=client,
                       window=context_window(client.model, settings.chat_context_window, client),
                       counter=TokenCounter(client.model), max_steps=settings.chat_max_steps, tools=tools)


# -- message conversion ------------------------------------------------------------------------------
def to_openai(message: Any) -> dict[str, Any]:
    """A LangChain message as an OpenAI chat message (tool calls with their raw argument strings)."""
    kind = message.type
    if kind == "system":
        return {"role": "system", "content": message.content}
    if kind == "human":
        return {"role": "user", "content": message.content}
    if kind == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    out: dict[str, Any] = {"role": "assistant", "content": message.content or None}
    calls = [{"id": c["id"], "type": "function",
              "function": {"name": c.get("name") or "",
                           "arguments": json.dumps(c["args"]) if c["valid"] else (c.get("args") or "")}}
             for c in ordered_calls(message)]
    if calls:
        out["tool_calls"] = calls
    return out


def openai_history(messages: list[Any]) -> list[dict[str, Any]]:
    """A thread as OpenAI messages, repaired so a provider accepts it.

    A turn interrupted between a tool call and its result (Ctrl-C, a crash) would leave an assistant
    ``tool_calls`` entry without a matching tool message, which providers reject with HTTP 400: such a
    call gets an error result, and a tool result without its call is dropped.
    """
    out: list[dict[str, Any]] = []
    pending: list[str] = []

    def close_pending() -> None:
        for call_id in pending:
            out.append({"role": "tool", "tool_call_id": call_id, "content": "error: not run (interrupted)"})
        pending.clear()

    for message in messages:
        converted = to_openai(message)
        if converted["role"] == "tool":
            if converted["tool_call_id"] not in pending:
                continue
            pending.remove(converted["tool_call_id"])
        else:
            close_pending()
        out.append(converted)
        if converted["role"] == "assistant":
            pending = [c["id"] for c in converted.get("tool_calls", [])]
    if pending and out and out[-1]["role"] != "assistant":
        close_pending()
    return out


def ordered_calls(message: Any) -> list[dict[str, Any]]:
    """An AI message's tool calls, valid and invalid (``"valid"`` says which), in the model's order.

    LangChain keeps the two kinds in separate lists; ``additional_kwargs["call_order"]`` remembers
    the order so results pair up with the calls exactly as the model made them.
    """
    calls = [{**c, "valid": True} for c in message.tool_calls]
    calls += [{**c, "valid": False} for c in message.invalid_tool_calls]
    order = (message.additional_kwargs or {}).get("call_order")
    if order:
        rank = {cid: i for i, cid in enumerate(order)}
        calls.sort(key=lambda c: rank.get(c["id"], len(rank)))
    return calls


def with_retrieval(sent: list[dict[str, Any]], retrieved: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The sent copy with this turn's library results after the current user message."""
    text = (retrieved or {}).get("text") or ""
    last_user = max((i for i, m in enumerate(sent) if m["role"] == "user"), default=None)
    if not text or last_user is None:
        return sent
    out = list(sent)
    out[last_user] = {**sent[last_user],
                      "content": f"{sent[last_user]['content']}\n\n{library_results(text)}"}
    return out


def choose_tools(setting: str, model: str, api_base: str | None = None) -> tuple[bool, str]:
    """Whether the chat offers tools to ``model``, and why.

    ``setting`` is ``chat_tools``: "on"/"off" decide; "auto" asks litellm's model map, and a model the
    map does not know (most local servers) gets the tools: many serve them, and one that ignores them
    still answers from the library results every turn retrieves.
    """
    if setting in ("on", "off"):
        return setting == "on", f"chat_tools = {setting}"
    if not model_info(model):
        return True, "the model is not in litellm's model map: tools offered"
    if supports("function_calling", model, provider_of(model, api_base)):
        return True, "litellm: the model supports function calling"
    return False, "litellm: the model does not support function calling"


def plain_history(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI messages without tool calls or tool results, for a model called without tools.

    A call becomes a line in the assistant's text and its result a user-role message holding the
    delimited output (still data: the system prompt says so), so no API rejects the history.
    """
    out: list[dict[str, Any]] = []
    for message in messages:
        if message["role"] == "tool":
            out.append({"role": "user", "content": f"(tool result)\n{message['content']}"})
        elif message["role"] == "assistant" and message.get("tool_calls"):
            calls = "; ".join(f"{c['function']['name']}({c['function']['arguments']})"
                              for c in message["tool_calls"])
            text = (message.get("content") or "").strip()
            out.append({"role": "assistant",
                        "content": (text + "\n" if text else "") + f"(looked up: {calls})"})
        else:
            out.append(message)
    return out


def context_window(model: str, configured: int | None, client: LLMClient | None = None) -> int:
    """The configured window, else the LLM policy's, else litellm's model map, else a default."""
    if configured:
        return configured
    policy = client.policy if client is not None else None
    if policy is not None and policy.context_window:
        return int(policy.context_window)
    try:
        info = load_litellm().get_model_info(model)
        return int(info.get("max_input_tokens") or info.get("max_tokens") or DEFAULT_CONTEXT_WINDOW)
    except Exception:  # a model litellm's map does not know (local servers, new names)
        return DEFAULT_CONTEXT_WINDOW


class TokenCounter:
    """Tokens of messages as the model's tokenizer counts them, each distinct message counted once.

    A thread's old messages never change, so re-counting the whole history at every step is waste
    (tiktoken is slow on a long thread). The sum of per-message counts is within a few tokens
    of counting the list at once; the answer reserve covers the difference.
    """

    def __init__(self, model: str, max_entries: int = 4096) -> None:
        self.model = model
        self.max_entries = max_entries
        self._cache: dict[str, int] = {}

    def _count(self, **kwargs: Any) -> int:
        try:
            return int(load_litellm().token_counter(model=self.model, **kwargs))
        except Exception:  # never let counting break a turn: ~4 characters per token
            return len(json.dumps(kwargs, default=str)) // 4

    def message(self, message: dict[str, Any]) -> int:
        key = json.dumps(message, sort_keys=True, ensure_ascii=False)
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) >= self.max_entries:
                self._cache.clear()
            found = self._cache[key] = self._count(messages=[message])
        return found

    def tools(self, tools: list[dict[str, Any]]) -> int:
        return self.message({"role": "tools", "content": json.dumps(tools, sort_keys=True)}) if tools else 0


def _surely_fits(messages: list[dict[str, Any]], tools: list[dict[str, Any]], budget: int) -> bool:
    """True when even one token per byte fits: most turns skip the tokenizer altogether."""
    size = len(json.dumps(messages, ensure_ascii=False).encode()) + len(json.dumps(tools).encode())
    return size + 8 * len(messages) <= budget


def turn_starts(messages: list[dict[str, Any]]) -> list[int]:
    """Indexes of user messages: the only places a thread can be cut without orphaning tool results."""
    return [i for i, m in enumerate(messages) if m["role"] == "user"]


def trim(system: dict[str, Any], history: list[dict[str, Any]], tools: list[dict[str, Any]], window: int,
         counter: TokenCounter) -> list[dict[str, Any]]:
    """System prompt + the most recent whole turns that fit ``window`` (minus the answer reserve).

    The current turn is always kept (it is what the user is asking about now).
    """
    budget = max(window - min(ANSWER_RESERVE, window // 4), 256)
    starts = turn_starts(history)
    if len(starts) <= 1 or _surely_fits([system, *history], tools, budget):
        return [system, *history]
    used = counter.message(system) + counter.tools(tools)
    cut = len(history)
    for start in reversed(starts):  # newest turn first; stop at the first one that does not fit
        size = sum(counter.message(m) for m in history[start:cut])
        if used + size > budget and cut != len(history):
            break
        used += size
        cut = start
    if cut:
        log.debug("trimmed %d of %d messages to fit %d tokens", cut, len(history), budget)
    return [system, *history[cut:]]


# -- the call ------------------------------------------------------------------------------------------
@dataclass
class ModelReply:
    content: str
    tool_calls: list[dict[str, Any]]  # {"name", "args", "id"}
    invalid_tool_calls: list[dict[str, Any]]  # {"name", "args" (raw string), "id", "error"}
    call_order: list[str] = field(default_factory=list)  # ids of all calls, as the model made them
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


def parse_tool_calls(raw_calls: list[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    valid, invalid = [], []
    for i, call in enumerate(raw_calls or []):
        fn = call.function if hasattr(call, "function") else call["function"]
        name = getattr(fn, "name", None) if not isinstance(fn, dict) else fn.get("name")
        arguments = getattr(fn, "arguments", None) if not isinstance(fn, dict) else fn.get("arguments")
        call_id = (call.id if hasattr(call, "id") else call.get("id")) or f"call_{i}"
        try:
            args = json.loads(arguments or "{}")
            if not isinstance(args, dict):
                raise ValueError("arguments must be a JSON object")
        except ValueError as exc:
            invalid.append({"name": name or "", "args": arguments or "", "id": call_id, "error": str(exc),
                            "type": "invalid_tool_call", "index": i})
            continue
        valid.append({"name": name or "", "args": args, "id": call_id, "type": "tool_call", "index": i})
    return valid, invalid


async def complete(client: LLMClient, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None,
                   on_token: Callable[[str], None]) -> ModelReply:
    """Stream one completion through the LLM layer (``LLMClient.stream``: retries, usage, cost).

    Tokens go to ``on_token`` as they arrive; the full reply (with tool calls) is returned.
    """
    answer = None
    async for event in client.stream(messages, purpose="chat", tools=tools or None):
        if event.text:
            on_token(event.text)
        if event.answer is not None:
            answer = event.answer
    if answer is None:
        raise RuntimeFailure(f"the model {client.model} returned an empty response")
    valid, invalid = parse_tool_calls(answer.tool_calls)
    order = [c["id"] for c in sorted(valid + invalid, key=lambda c: c["index"])]
    for c in valid + invalid:
        del c["index"]
    return ModelReply(content=answer.text or "", tool_calls=valid, invalid_tool_calls=invalid,
                      call_order=order, prompt_tokens=answer.prompt_tokens,
                      completion_tokens=answer.completion_tokens, cost_usd=answer.cost_usd or 0.0)


def step_limit_message(steps: int) -> str:
    return STEP_LIMIT_NOTE.format(steps=steps)
