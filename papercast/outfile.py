"""Writing a file the user named (``--out``, ``--feed``) the way shell redirection would.

A digest written by cron must never be seen half-written, so a regular file is replaced by a rename
of a temporary file next to it. But a rename replaces whatever the name is: a symlink would become a
file, and ``/dev/null`` (as root) a regular file. So the name is followed to its target first, a
device, FIFO or socket is written into as it is, and the home's own databases are refused.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from papercast.errors import RuntimeFailure, UserError

# The home's own files: a digest written over one of them destroys the user's data.
_HOME_FOLDERS = ("chroma", "logs")
_HOME_SUFFIXES = (".db", ".db-wal", ".db-shm", ".db-journal", ".sqlite3", ".lock", ".damaged")


def may_write(path: Path) -> bool:
    """Whether papercast may write the existing ``path``: ``os.access``, and for root (whom file modes
    do not stop) the write bits too, so a home made read-only (``chmod -R a-w``) is opened read-only by
    everyone, root included, and never changed behind the user's back."""
    if not os.access(path, os.W_OK):
        return False
    if os.geteuid() != 0:
        return True
    try:
        return bool(os.stat(path).st_mode & 0o222)
    except OSError:
        return False


def target_of(path: str | Path) -> Path:
    """The absolute path written to: ``path`` with ``~`` expanded and symlinks followed (a dangling one
    to where it points, as ``>`` would create it)."""
    return Path(os.path.realpath(Path(path).expanduser()))


def _owned_by_home(target: Path, home: Path) -> bool:
    try:
        inside = target.relative_to(Path(os.path.realpath(home)))
    except ValueError:
        return False
    parts = inside.parts
    return bool(parts) and (parts[0] in _HOME_FOLDERS or parts[0].endswith(_HOME_SUFFIXES))


def check_out(path: str | Path, option: str = "--out", home: Path | None = None) -> Path:
    """The absolute path ``path`` names (as typed, ``~`` expanded; what history records), once checked
    writable in principle: not a directory, in a folder that exists, not one of ``home``'s own files."""
    out = Path(os.path.abspath(Path(path).expanduser()))
    target = target_of(out)
    if target.is_dir():
        raise UserError(f"{option} {out} is a directory: give a file name")
    if not target.parent.is_dir():
        raise UserError(f"no such directory for {option}: {target.parent}")
    if home is not None and _owned_by_home(target, home):
        raise UserError(f"{option} {out} is one of papercast's own files in {home}: give another file name")
    return out


def write_text(path: str | Path, text: str, option: str = "--out", home: Path | None = None) -> Path:
    """Write ``text`` to ``path`` like ``> path``: a regular file (or a new one) atomically by a rename
    of a temporary file, anything else (a device, a FIFO) in place. Returns the path as ``check_out``."""
    out = check_out(path, option, home)
    target = target_of(out)
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise _failure(out, exc) from None
    data = text.encode("utf-8")
    if mode is not None and not stat.S_ISREG(mode):
        try:
            with open(target, "wb") as stream:  # a device or FIFO: written into, never replaced
                stream.write(data)
        except OSError as exc:
            raise _failure(out, exc) from None
        return out
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as stream:
            stream.write(data)
        if mode is not None:
            os.chmod(tmp, stat.S_IMODE(mode))  # the replaced file's permissions, as ``>`` keeps them
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise _failure(out, exc) from None
    return out


def _failure(out: Path, exc: OSError) -> RuntimeFailure:
    """One line naming the file asked for (never the temporary one)."""
    return RuntimeFailure(f"cannot write {out}: {exc.strerror or exc}")
