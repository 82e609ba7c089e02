"""The C heap's two knobs papercast turns, glibc only (elsewhere both do nothing).

Why: glibc gives threads malloc arenas of their own (up to 8 per core), and what one arena frees
the others do not reuse. An import runs the model on its own thread while onnxruntime's and
Chroma's threads work: 12 arenas, mostly free. One arena lowers the import's peak by 30-40 MB at
300 papers and ~20 MB at 100k, with no measurable cost in speed (docs/benchmarks.md, issue 26).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache

M_ARENA_MAX = -8  # mallopt's parameter number in glibc's malloc.h


@cache
def _glibc() -> object | None:
    """glibc loaded through ctypes, or None on another C library (musl, macOS, Windows)."""
    try:
        if not (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc"):
            return None
        import ctypes

        return ctypes.CDLL("libc.so.6")
    except (ValueError, OSError, AttributeError):
        return None


def _threads() -> int | None:
    """This process's threads, native ones included (Linux's /proc); None where it cannot tell."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return None


def limit_arenas(arenas: int = 1) -> bool:
    """Cap glibc's malloc arenas for the rest of the process; True when the cap was set.

    Only before the process's first thread: glibc fixes the number of arenas when a second thread first
    allocates, so a call once threads run (numpy's, onnxruntime's, a test runner's) would be
    half-applied; it then does nothing. ``MALLOC_ARENA_MAX`` in the environment wins.
    """
    if "MALLOC_ARENA_MAX" in os.environ or _threads() != 1:
        return False
    libc = _glibc()
    if libc is None:
        return False
    mallopt: Callable[[int, int], int] = libc.mallopt  # type: ignore[attr-defined]
    return bool(mallopt(M_ARENA_MAX, arenas))


def release_free_memory() -> None:
    """Give the C heap's free pages back to the system (glibc's ``malloc_trim``), after each embedded
    batch: ~25 MB less at an import's peak when each thread has its arena, as where the cap could not
    be set (``MALLOC_ARENA_MAX`` set otherwise, a process whose threads started first)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)  # type: ignore[attr-defined]
