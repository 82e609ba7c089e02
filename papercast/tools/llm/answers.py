"""A model's answer as papercast keeps it, read from litellm's response, and its cache key.

Every answer is cached under a hash of (model, api_base, prompt version, purpose, request), so a
repeated request costs nothing and sends nothing. The api_base is part of the key because two
servers may serve different models under one name; the API key never is (it is a secret, and it
does not change what a model answers).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from papercast.tools.llm.fitting import Message, count_tokens


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


def cache_key(model: str, prompt_version: str, purpose: str, payload: Any,
              api_base: str | None = None) -> str:
    """The response-cache key of a request.

    ``api_base`` is in it because two servers can answer differently under one model name; it is
    left out when unset so keys of requests to a provider's default endpoint stay what they were.
    """
    key: dict[str, Any] = {"model": model, "v": prompt_version, "purpose": purpose, "payload": payload}
    if api_base:
        key["api_base"] = api_base.strip().rstrip("/")
    blob = json.dumps(key, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def read_answer(response: Any, model: str, messages: list[Message]) -> Answer:
    """The text, tool calls and tokens of litellm's ``response`` (tokens counted when it has no usage);
    the cost is the caller's to add."""
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
        prompt = count_tokens(model, messages=messages)
    if not completion and text:
        completion = count_tokens(model, text=text)
    return Answer(text=text, finish_reason=getattr(choice, "finish_reason", None), prompt_tokens=prompt,
                  completion_tokens=completion, tool_calls=tool_calls, model=model)
