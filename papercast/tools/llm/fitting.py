"""Prompts and answers fitted to the model's context window.

A prompt is measured with litellm's token counter (about 4 characters a token when it cannot
count) and the policy's margin for a server whose tokenizer is not the one litellm counts with.
A prompt that does not fit is rebuilt smaller by the caller's builder (a shorter abstract, fewer
papers in a batch); ``max_tokens`` is cut to what the window leaves after the prompt.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from papercast.tools.llm.loader import load_litellm
from papercast.tools.llm.policy import LLMPolicy

Message = dict[str, Any]
MIN_ANSWER_TOKENS = 32  # below this, an answer is not worth asking for


def count_tokens(model: str, **kwargs: Any) -> int:
    """Tokens of ``messages=`` or ``text=`` as litellm counts them for ``model`` (~4 characters each
    when it cannot)."""
    try:
        return int(load_litellm().token_counter(model=model, **kwargs))
    except Exception:
        text = kwargs.get("text") or json.dumps(kwargs.get("messages") or "", default=str)
        return max(1, len(text) // 4)


def prompt_budget(policy: LLMPolicy, max_tokens: int) -> int:
    """Tokens a prompt may have so that an answer of ``max_tokens`` still fits the context window.

    The policy's margin covers the difference between litellm's count and the server's own
    tokenizer (a local model's is rarely the one litellm counts with)."""
    answer = min(max_tokens, policy.max_output or max_tokens)
    return max(0, int((policy.context_window - answer - 16) / policy.token_margin))


def answer_room(policy: LLMPolicy, prompt_tokens: int, wanted: int) -> int:
    """``wanted`` cut to the model's output limit and to what the window leaves after the prompt
    (possibly below ``MIN_ANSWER_TOKENS``: the caller decides)."""
    room = policy.context_window - int(prompt_tokens * policy.token_margin) - 16
    return min(wanted, policy.max_output or wanted, room)


def largest_prompt(build: Callable[[float], Sequence[Message]], fits: Callable[[Sequence[Message]], bool],
                   floor: float) -> list[Message]:
    """``build(scale)`` for the largest scale (1, 2/3, 4/9, ... down to ``floor``) whose prompt
    ``fits``; the smallest one tried when none does."""
    scale = 1.0
    messages = list(build(scale))
    while scale * 2 / 3 >= floor and not fits(messages):
        scale *= 2 / 3
        messages = list(build(scale))
    return messages


def largest_batch(size: int, fits: Callable[[int], bool]) -> int:
    """The largest batch up to ``size`` (cut by a third at a time) for which ``fits(n)``; at least 1."""
    n = max(1, size)
    while n > 1 and not fits(n):
        n = max(1, n * 2 // 3)
    return n
