"""What the paper store read by id lately, kept a short while: a window's papers and vectors are
read again at every re-rank, and Chroma reads by id cost more than the ranking itself."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

RECENT_TTL = 120.0  # seconds a paper or vector read by id is reused (the window cache's TTL)
RECENT_SIZE = 8192  # papers (metadata ~2 KB, a vector 1.5 KB); windows up to half of it warm the caches


class RecentById:
    """Values by (store, paper id), reused for ``ttl`` seconds; thread-safe and bounded.

    Only what the store holds is remembered (an unknown id is asked again), so a new paper is
    never missed; a changed one is dropped by ``forget`` when this process wrote it. A read that
    started before a write is not remembered (``version``), so it cannot bring back the old value.
    """

    def __init__(self, ttl: float = RECENT_TTL, size: int = RECENT_SIZE) -> None:
        self.ttl = ttl
        self.size = size
        self._items: OrderedDict[tuple[str, str], tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._version = 0  # bumped by every forget

    def version(self) -> int:
        """Take before reading the store; ``put`` the result with it."""
        return self._version

    def get(self, store: str, ids: Iterable[str]) -> dict[str, Any]:
        """The fresh values among ``ids``."""
        now = time.monotonic()
        out: dict[str, Any] = {}
        with self._lock:
            for pid in ids:
                hit = self._items.get((store, pid))
                if hit is not None and now - hit[0] < self.ttl:
                    out[pid] = hit[1]
        return out

    def put(self, store: str, values: Mapping[str, Any], version: int) -> None:
        """Remember values read from the store, unless a write happened since ``version`` was taken."""
        now = time.monotonic()
        with self._lock:
            if version != self._version:
                return
            for pid, value in values.items():
                self._items[(store, pid)] = (now, value)
                self._items.move_to_end((store, pid))
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def forget(self, store: str, ids: Iterable[str]) -> None:
        with self._lock:
            self._version += 1
            for pid in ids:
                self._items.pop((store, pid), None)
