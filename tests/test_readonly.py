"""A home papercast cannot write (a read-only mount, another user's files): reading still works.

Each command runs as a real ``papercast`` process that sees the home read-only: as root (where
file modes do not stop writes) on a read-only bind mount in a private mount namespace
(``unshare -m``), otherwise with the write bits removed. Reading commands must succeed; a change
must fail in one line that says the home is read-only; nothing in the home may change.
What cannot work, by design: chat (its threads are written as it runs) and the TUI's changes.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import papercast

PACKAGE_ROOT = Path(papercast.__file__).resolve().parents[1]
MOUNT = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'


def _can_unshare() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount --bind / /mnt 2>/dev/null || exit 3; exit 0"],
                           capture_output=True)
    return probe.returncode == 0


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "PAPERCAST_HOME": str(home), "PYTHONPATH": str(PACKAGE_ROOT)}


def _papercast(home: Path, *args: str, read_only: bool) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "papercast", "--home", str(home), *args]
    if read_only and os.geteuid() == 0:
        command = ["unshare", "-m", "sh", "-c", MOUNT, str(home), *command]
    return subprocess.run(command, env=_env(home), capture_output=True, text=True, timeout=300,
                          cwd=home.parent)


def _chmod_tree(home: Path, writable: bool) -> None:
    for path in [home, *home.rglob("*")]:
        mode = path.stat().st_mode
        mode = mode | stat.S_IWUSR if writable else mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
        path.chmod(mode)


def _snapshot(home: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(home)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in home.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def read_only_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A home with the sample, a profile with a like and a summary, then made read-only."""
    if os.geteuid() == 0 and not _can_unshare():
        pytest.skip("running as root without mount namespaces: no way to make a home read-only here")
    home = tmp_path_factory.mktemp("readonly") / "home"
    for args in (("papers", "list", "-n", "1"), ("profile", "like", "2608.19880"),
                 ("summarize", "2608.19880")):
        done = _papercast(home, *args, read_only=False)
        assert done.returncode == 0, done.stderr
    if os.geteuid() != 0:
        _chmod_tree(home, writable=False)
    before = _snapshot(home)
    yield home
    if os.geteuid() != 0:
        _chmod_tree(home, writable=True)
    assert _snapshot(home) == before, "a read-only home was changed"


@pytest.mark.parametrize("args", [
    ("papers", "list", "-n", "3"),
    ("papers", "search", "long context", "-n", "3"),
    ("papers", "show", "2608.19880"),
    ("profile", "list"),
    ("profile", "show"),
    ("recommend", "-n", "3"),
    ("summarize", "2608.19758"),
    ("digest", "-n", "2"),
    ("usage",),
], ids=lambda a: " ".join(a))
def test_reading_works_without_write_access(read_only_home: Path, args: tuple[str, ...]) -> None:
    done = _papercast(read_only_home, *args, read_only=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    assert "readonly database" not in done.stderr and "error" not in done.stderr


@pytest.mark.parametrize(("args", "needle"), [
    (("profile", "like", "2608.19758"), "papercast.db at"),
    (("profile", "create", "other"), "papercast.db at"),
    (("import", str(Path(__file__).parent / "fixtures" / "hf_daily_papers_2026-08-20.json")),
     "paper store at"),
], ids=lambda a: a[0] if isinstance(a, tuple) else "")
def test_a_change_fails_in_one_line_that_says_the_home_is_read_only(read_only_home: Path,
                                                                    args: tuple[str, ...],
                                                                    needle: str) -> None:
    done = _papercast(read_only_home, *args, read_only=True)
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert needle in line and "read-only" in line and "internal error" not in line
