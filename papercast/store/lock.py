"""One inter-process lock per home, for the few steps two papercast processes must not interleave.

Two first starts on a fresh home both run embedded Chroma's schema setup, and two first loads of the
sample mix with a user's import: so opening the store and loading or removing the sample happen under
``fcntl.flock`` on ``<home>/.papercast.lock``, for short steps only. ``flock`` locks belong to an open
file, so the lock is re-entrant per process (a depth count); the kernel drops it when the process dies.
A home the user cannot write still locks an existing file (read-only); when the file cannot even be
created, nobody can write through this home, and the block runs unlocked. A long step (a whole daily
run: choose, deliver, record) takes a lock file of its own (``step_lock``), so the short ones stay free.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from papercast.errors import RuntimeFailure
from papercast.outfile import may_write

log = logging.getLogger(__name__)

LOCK_NAME = ".papercast.lock"
DAILY_LOCK_NAME = ".papercast-daily.lock"  # one daily run at a time: no paper delivered twice
DAILY_WAIT_SECONDS = 3 * 3600.0  # a daily run with a slow model and full texts takes long; cron waits
WAIT_SECONDS = 600.0  # the longest step under the lock is a sample load through a remote embedding model
_POLL_SECONDS = 0.05


class LockTimeout(RuntimeFailure):
    """Another papercast process held the home's lock for longer than ``WAIT_SECONDS``."""


@dataclass
class _Held:
    fd: int | None  # None: the lock file could not be opened (a read-only home without one)
    depth: int


_held: dict[str, _Held] = {}
_guard = threading.RLock()  # one holder per process at a time; re-entrant for the same thread


def lock_path(home: Path) -> Path:
    return Path(home) / LOCK_NAME


@contextlib.contextmanager
def home_lock(home: Path, *, what: str = "the paper store", wait: float = WAIT_SECONDS) -> Iterator[None]:
    """Hold the home's lock for the block (re-entrant within a process; other threads wait).

    ``what`` names the step for the message when another process keeps the lock too long.
    """
    key = str(Path(home).resolve())
    with _guard:
        held = _held.get(key)
        if held is None:
            fd = _open(lock_path(home))
            if fd is not None:
                try:
                    _acquire(fd, key, what, wait)
                except BaseException:
                    os.close(fd)
                    raise
            held = _held[key] = _Held(fd, 0)
        held.depth += 1
        try:
            yield
        finally:
            held.depth -= 1
            if held.depth == 0:
                del _held[key]
                if held.fd is not None:
                    fcntl.flock(held.fd, fcntl.LOCK_UN)
                    os.close(held.fd)


def _open(path: Path) -> int | None:
    """The lock file's descriptor: created when possible, else opened read-only, else None."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
    if may_write(path) if path.exists() else path.parent.is_dir() and may_write(path.parent):
        try:
            return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EROFS, errno.EPERM, errno.ENOENT):
                raise
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        log.info("no lock file at %s (read-only home): going on without the lock", path)
        return None


def acquire_step_lock(home: Path, name: str, *, what: str, wait: float,
                      on_wait: Callable[[], None] | None = None) -> int | None:
    """Take the lock file ``name`` of ``home`` for a long step; the descriptor for ``release_step_lock``.

    Not ``home_lock``'s bookkeeping: a descriptor of its own (two holders in one process exclude each
    other too), taken and let go from any thread (an async run waits in a worker thread). ``on_wait``
    is called once when another holder makes this one wait. None: a read-only home, nothing to lock.
    """
    fd = _open(Path(home) / name)
    if fd is not None:
        try:
            _acquire(fd, str(Path(home).resolve()), what, wait, on_wait)
        except BaseException:
            os.close(fd)
            raise
    return fd


def release_step_lock(fd: int | None) -> None:
    """Let go of ``acquire_step_lock``'s lock (closing the descriptor drops it)."""
    if fd is not None:
        os.close(fd)


def _acquire(fd: int, key: str, what: str, wait: float, on_wait: Callable[[], None] | None = None) -> None:
    """``LOCK_EX``, polling so that a stuck holder ends in a one-line error instead of a hang."""
    deadline = time.monotonic() + wait
    said = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        if not said:
            log.info("waiting for another papercast process to finish with %s (%s)", what, key)
            said = True
            if on_wait is not None:
                on_wait()
        if time.monotonic() > deadline:
            raise LockTimeout(f"another papercast process has held {what} in {key} for over {wait:.0f} s; "
                              "try again when it has finished")
        time.sleep(_POLL_SECONDS)
