"""One long-lived asyncio loop in a background thread for the agent's async streams.

The agent's ``achat_stream`` is async, but its first call imports langgraph and litellm (seconds
of CPU) and it may hold loop-bound resources (an async SQLite checkpointer). Running it on the
UI loop would freeze keys; a fresh ``asyncio.run`` per turn would strand those resources. So chat
turns run on this one loop, started on first use.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def _ensure(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="papercast-chat-loop", daemon=True)
                thread.start()
                self._loop = loop
            return self._loop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the background loop and wait for it (call from a worker thread)."""
        return asyncio.run_coroutine_threadsafe(coro, self._ensure()).result()

    def stop(self) -> None:
        with self._lock:
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._loop = None
