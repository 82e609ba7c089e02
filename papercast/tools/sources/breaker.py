"""The hosts found unreachable in one run (the TUI: one session), so nothing waits on them twice.

Without network every request waits on DNS (seconds) before it fails; a summary of 700 papers read
in full would wait 700 times for the same answer. Once a host is known unreachable (DNS, refused,
network unreachable, TLS), the HTTP policy (``http.request``) fails later requests to it at once,
and the run says so in one line. Timeouts and 429/5xx are no verdict on the host: they keep their
retries. Pure Python, no httpx: the service holds one from start-up at no cost.
"""

from __future__ import annotations

import threading


class HostBreaker:
    """Open hosts and why; how many papers each skipped; closed again by a retry the user asks for."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the TUI reads in worker threads
        self._open: dict[str, str] = {}  # host -> why it is unreachable (one line)
        self._skipped: dict[str, int] = {}  # host -> papers not read because it was open
        self._said: set[str] = set()

    def why(self, host: str) -> str | None:
        """Why ``host`` is skipped in this run, or None when it may be tried."""
        with self._lock:
            return self._open.get(host)

    def trip(self, host: str, why: str) -> None:
        """``host`` could not be reached: later requests to it fail at once."""
        with self._lock:
            self._open.setdefault(host, why)

    def skipped(self, host: str, count: int = 1) -> None:
        """Count papers whose full text was skipped because ``host`` was open."""
        with self._lock:
            self._skipped[host] = self._skipped.get(host, 0) + count

    def close(self) -> list[str]:
        """Forget every verdict (the user retries: the network may be back). Returns the hosts closed."""
        with self._lock:
            hosts = list(self._open)
            self._open.clear()
            self._skipped.clear()
            self._said.clear()
            return hosts

    @property
    def open_hosts(self) -> list[str]:
        with self._lock:
            return list(self._open)

    def notices(self) -> list[str]:
        """One line per open host that skipped papers, each said once per verdict."""
        with self._lock:
            lines = []
            for host, count in self._skipped.items():
                if count and host not in self._said:
                    self._said.add(host)
                    papers = "paper" if count == 1 else "papers"
                    lines.append(f"{host} unreachable: full text skipped for the other {count} {papers}")
            return lines
