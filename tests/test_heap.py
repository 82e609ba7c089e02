"""``papercast`` caps glibc's malloc arenas before its first thread (issue 26: an import's peak memory).

Measured from inside a real ``papercast import`` process (the bundled model on its own thread,
onnxruntime's and Chroma's threads writing): glibc's own report of its heaps (``malloc_info``) after
the import. Without the cap every allocating thread gets an arena of its own; the control run,
with the cap switched off, shows the same import holding several.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import CORPUS_SLICE, REPO

GLIBC = (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc") if hasattr(os, "confstr") else False

PROBE = """
import ctypes, sys
import papercast.heap
if sys.argv[3] == "off":
    papercast.heap.limit_arenas = lambda arenas=1: False
from papercast.cli import main
code = main(["--home", sys.argv[1], "import", sys.argv[2], "-q"])
libc = ctypes.CDLL("libc.so.6")
libc.fopen.restype = ctypes.c_void_p
report = sys.argv[1] + "/malloc_info.xml"
handle = ctypes.c_void_p(libc.fopen(report.encode(), b"w"))
libc.malloc_info(0, handle)
libc.fclose(handle)
sys.exit(code)
"""


def heaps_after_import(home: Path, cap: str) -> int:
    home.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("MALLOC_ARENA_MAX", None)
    done = subprocess.run([sys.executable, "-c", PROBE, str(home), str(CORPUS_SLICE), cap], env=env,
                          capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return len(re.findall(r'<heap nr="\d+">', (home / "malloc_info.xml").read_text()))


@pytest.mark.skipif(not GLIBC, reason="glibc's malloc arenas only")
def test_an_import_keeps_one_malloc_arena_for_all_its_threads(tmp_path: Path) -> None:
    assert heaps_after_import(tmp_path / "off", "off") > 1  # the control: threads take arenas of their own
    assert heaps_after_import(tmp_path / "on", "on") == 1


def test_the_cap_is_not_half_applied_once_threads_run() -> None:
    """In this test process (pytest's and the libraries' threads already run) it does nothing."""
    import threading

    from papercast import heap

    gate = threading.Event()
    worker = threading.Thread(target=gate.wait)
    worker.start()
    try:
        assert heap.limit_arenas() is False
    finally:
        gate.set()
        worker.join()
