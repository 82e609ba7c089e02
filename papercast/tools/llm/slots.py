"""How many requests a server gets at once, counted across the whole process.

The TUI runs model calls from several event loops (workers in threads), and a one-slot local
server must still see one request at a time, or the queued request's idle timer runs while it
waits behind the other. So each server has one process-wide semaphore of its policy's size, waited
for without blocking the event loop and without counting towards any timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator

_SLOTS: dict[tuple[str, int], threading.BoundedSemaphore] = {}
_LOCK = threading.Lock()


def _server_slots(key: str, size: int) -> threading.BoundedSemaphore:
    """The process-wide semaphore of the server ``key`` with ``size`` slots."""
    with _LOCK:
        slot = _SLOTS.get((key, size))
        if slot is None:
            slot = _SLOTS[(key, size)] = threading.BoundedSemaphore(size)
        return slot


@contextlib.asynccontextmanager
async def server_slot(key: str, size: int) -> AsyncIterator[None]:
    """One of the server's ``size`` request slots, polled for with a growing pause (2 to 50 ms)."""
    slots = _server_slots(key, max(1, size))
    pause = 0.002
    while not slots.acquire(blocking=False):
        await asyncio.sleep(pause)
        pause = min(0.05, pause * 2)
    try:
        yield
    finally:
        slots.release()
