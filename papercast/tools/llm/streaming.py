"""Streamed answers guarded by an idle timeout, and closed so the server stops generating.

A local server decodes slowly but steadily: a total timeout would cut off a model that is still
working, so a streamed request must only send a chunk at least every ``idle`` seconds. The stream
is closed on the way out, whatever ends it, so a local server sees the client go.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from papercast.tools.llm.failures import IdleTimeout


async def idle_guarded(stream: Any, idle: float) -> AsyncIterator[Any]:
    """The chunks of ``stream``, each within ``idle`` seconds (else ``IdleTimeout``); the stream is
    closed on the way out."""
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
        await close_stream(stream)


async def close_stream(stream: Any) -> None:
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
