"""``--out`` and ``--feed`` behave like shell redirection (issue 26, finding 1).

A symlink is followed to its target, a device or a FIFO is written into and stays what it was, a
regular file is replaced atomically, and the home's own databases are refused. Devices are made with
``mknod`` in a temporary folder when running as root (a failure then cannot replace the machine's
``/dev/null``); otherwise the real ``/dev/null`` and ``/dev/full`` are used.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest

from papercast.cli import main

EXPORT = ("export", "--list", "-n", "2", "--format", "ris")
OWN_FILES = ["papercast.db", "ranking-cache.db", "chroma/chroma.sqlite3", ".papercast.lock"]


@pytest.fixture
def home(service, monkeypatch) -> str:
    monkeypatch.setenv("PAPERCAST_SOURCES", "")  # daily never reaches the network
    return str(service.settings.home)


def _device(tmp_path: Path, name: str, minor: int) -> Path:
    """A character device like /dev/null (minor 3) or /dev/full (minor 7)."""
    if os.geteuid() != 0:
        return Path("/dev") / name
    path = tmp_path / name
    os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, minor))
    return path


def test_a_symlink_is_followed_to_its_target(home, tmp_path, capsys):
    real = tmp_path / "real.md"
    real.write_text("old")
    link = tmp_path / "link.md"
    link.symlink_to(real)
    assert main(["--home", home, "digest", "-n", "2", "--out", str(link)]) == 0
    assert link.is_symlink() and real.read_text().startswith("# papercast digest")
    dangling = tmp_path / "later.md"
    dangling.symlink_to(tmp_path / "made-by-the-write.md")
    assert main(["--home", home, *EXPORT, "--out", str(dangling)]) == 0
    assert dangling.is_symlink() and "TY  - " in (tmp_path / "made-by-the-write.md").read_text()
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_device_stays_a_device(home, tmp_path, capsys):
    null = _device(tmp_path, "null", 3)
    assert main(["--home", home, *EXPORT, "--out", str(null)]) == 0
    assert stat.S_ISCHR(null.stat().st_mode)
    assert main(["--home", home, "daily", "-n", "2", "--no-llm", "--out", str(null)]) == 0
    assert stat.S_ISCHR(null.stat().st_mode)
    capsys.readouterr()
    full = _device(tmp_path, "full", 7)
    assert main(["--home", home, *EXPORT, "--out", str(full)]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert f"cannot write {full}" in line and "space" in line
    assert stat.S_ISCHR(full.stat().st_mode)


def test_a_fifo_is_written_into_and_stays_a_fifo(home, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    try:
        code = main(["--home", home, *EXPORT, "--out", str(fifo)])
    finally:
        if reader.is_alive():  # the write never opened the FIFO: let the reader go
            with open(fifo, "wb"):
                pass
        reader.join(10)
    assert code == 0
    assert stat.S_ISFIFO(fifo.stat().st_mode) and b"TY  - " in got[0]


@pytest.mark.parametrize("name", OWN_FILES)
def test_the_homes_own_files_are_refused(home, service, name, capsys):
    service.active_profile(None)  # the profiles' database exists
    path = Path(home) / name
    before = path.read_bytes()
    assert main(["--home", home, *EXPORT, "--out", str(path)]) == 2
    assert main(["--home", home, "daily", "-n", "2", "--no-llm", "--out", str(path)]) == 2
    assert main(["--home", home, "digest", "-n", "2", "--no-llm", "--out", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all("papercast's own files" in line for line in err)
    assert path.read_bytes() == before


def test_a_folder_that_cannot_be_written_is_named_by_the_file_asked_for(home, capsys):
    assert main(["--home", home, *EXPORT, "--out", "/sys/x.ris"]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "cannot write /sys/x.ris" in line and ".tmp" not in line


def test_daily_records_the_out_file_as_an_absolute_path(home, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["--home", home, "daily", "-n", "2", "--no-llm", "--out", "today.md"]) == 0
    assert (tmp_path / "today.md").read_text().startswith("# papercast digest")
    capsys.readouterr()
    assert main(["--home", home, "history", "--json"]) == 0
    [record] = json.loads(capsys.readouterr().out)
    assert record["target"] == str(tmp_path / "today.md")


def test_a_regular_file_keeps_its_permissions(home, tmp_path):
    out = tmp_path / "kept.md"
    out.write_text("old")
    out.chmod(0o640)
    assert main(["--home", home, "digest", "-n", "2", "--out", str(out)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o640 and out.read_text().startswith("# papercast")
