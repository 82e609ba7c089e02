"""A home whose files are not writable (``chmod -R a-w``, another user's 644 files): reads work, the home
is left as it was, and no copy of the store stays behind in the temporary folder (issue 26, findings 3, 4).

File modes decide, for root too (whom modes do not stop): so this runs the same code path as a user
without write access, as real ``papercast`` processes, whoever runs the suite.
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
from papercast.store.chroma_access import COPY_PREFIX, readable_copy, writable

PACKAGE_ROOT = Path(papercast.__file__).resolve().parents[1]


def _chmod_tree(home: Path, write: bool) -> None:
    for path in [home, *home.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode | stat.S_IWUSR if write else mode & ~0o222)


def _snapshot(home: Path) -> dict[str, tuple[int, int]]:
    """Every file's size and mtime (SQLite's -shm index of the WAL aside: shared memory, not data)."""
    return {str(p.relative_to(home)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in home.rglob("*") if p.is_file() and not p.name.endswith("-shm")}


@pytest.fixture(scope="module")
def locked_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(a home with the sample, a like and a summary, made read-only; the processes' TMPDIR)."""
    base = tmp_path_factory.mktemp("modes")
    home, tmp = base / "home", base / "tmp"
    tmp.mkdir()
    for args in (("profile", "like", "2608.19880"), ("summarize", "2608.19880")):
        done = _run(home, tmp, *args)
        assert done.returncode == 0, done.stderr
    _chmod_tree(home, write=False)
    before = _snapshot(home)
    yield home, tmp
    _chmod_tree(home, write=True)
    assert _snapshot(home) == before, "a read-only home was changed"


def _run(home: Path, tmp: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PAPERCAST_HOME": str(home), "PYTHONPATH": str(PACKAGE_ROOT), "TMPDIR": str(tmp),
           "PAPERCAST_SOURCES": ""}
    return subprocess.run([sys.executable, "-m", "papercast", "--home", str(home), *args], env=env,
                          capture_output=True, text=True, timeout=300, cwd=home.parent)


@pytest.mark.parametrize("args", [("papers", "list", "-n", "2"), ("recommend", "-n", "2"), ("history",)],
                         ids=" ".join)
def test_reads_work_and_leave_no_copy(locked_home, args):
    home, tmp = locked_home
    done = _run(home, tmp, *args)
    assert done.returncode == 0, done.stderr
    assert (done.stdout + done.stderr).strip() and "error" not in done.stderr
    assert not list(tmp.glob(f"{COPY_PREFIX}*"))


def test_a_change_fails_in_one_line(locked_home):
    home, tmp = locked_home
    done = _run(home, tmp, "profile", "like", "2608.19758")
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert "read-only" in line and "internal error" not in line


def test_a_copy_left_by_a_killed_process_is_removed(locked_home):
    home, tmp = locked_home
    stale = tmp / f"{COPY_PREFIX}{2**22 + 12345}-abc"  # above Linux's largest pid: no such process
    (stale / "chroma").mkdir(parents=True)
    (stale / "chroma" / "chroma.sqlite3").write_bytes(b"x")
    _chmod_tree(stale, write=False)
    done = _run(home, tmp, "papers", "list", "-n", "1")
    assert done.returncode == 0, done.stderr
    assert not stale.exists() and not list(tmp.glob(f"{COPY_PREFIX}*"))


def test_the_copy_of_read_only_files_can_be_written_by_its_owner(tmp_path):
    store = tmp_path / "chroma"
    (store / "segment").mkdir(parents=True)
    (store / "chroma.sqlite3").write_bytes(b"x")
    (store / "segment" / "data.bin").write_bytes(b"y")
    _chmod_tree(store, write=False)
    try:
        assert not writable(store)
        copy = readable_copy(store)
        assert all(p.stat().st_mode & stat.S_IWUSR for p in [copy, *copy.rglob("*")])
    finally:
        _chmod_tree(store, write=True)
        shutil.rmtree(copy.parent, ignore_errors=True)
