"""``papercast import`` as a stream (issue 26, findings 8 and 9): gzip bombs refused under their caps,
big files stored batch by batch (progress, Ctrl-C, a re-run that skips what is stored).

The bombs decompress to 1 GB each but cost a few MB to build: gzip members of 16 MB of one byte
(~16 KB each) repeated, which gzip readers take as one stream. The streaming tests stand a cheap
vector function in for the model (``Papercast(embed=...)``): what they check is what is parsed,
held and written, not the vectors.
"""

from __future__ import annotations

import _thread
import gc
import gzip
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from papercast.cli import main
from papercast.models import Paper
from papercast.service import Papercast
from papercast.tools.sources.files import Caps, TooLarge, parse_file

from helpers import REPO

GB = 1 << 30
PIECE = 16 << 20
PEAK_LIMIT_MB = 300


def padded(head: bytes, byte: bytes, tail: bytes, size: int = GB) -> bytes:
    """``head`` + ``size`` bytes of ``byte`` + ``tail``, gzipped as members (a few MB in all)."""
    filler = gzip.compress(byte * PIECE, compresslevel=9)
    return gzip.compress(head) + filler * (size // PIECE) + gzip.compress(tail)


def record(i: int, **extra: Any) -> dict[str, Any]:
    return {"id": f"2608.{10000 + i}", "title": f"Paper number {i}", "abstract": f"About topic {i % 17}.",
            "authors": [f"Author {i % 5}"], "published": "2026-08-20", "categories": ["cs.CL"], **extra}


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    text = "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)
    path.write_text(text, encoding="utf-8")
    return path


class HashEmbed:
    """Unit vectors from a text's hash (the model's shape, none of its cost); counts texts, and can
    call a hook on each call (from the model's thread, as the real model would)."""

    def __init__(self, hook: Any = None) -> None:
        self.texts: list[str] = []
        self.hook = hook

    def __call__(self, texts: Any) -> np.ndarray:
        self.texts.extend(texts)
        if self.hook is not None:
            self.hook(self)
        seeds = [int.from_bytes(hashlib.sha256(t.encode()).digest()[:4], "little") for t in texts]
        vectors = np.stack([np.random.default_rng(s).standard_normal(384) for s in seeds]).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


# ----------------------------------------------------------------------------- finding 8: bombs

BOMBS = {
    "zeros.jsonl.gz": (b"", b"\0", b""),
    "one-line.jsonl.gz": (b'{"id": "2608.00001", "title": "t", "abstract": "', b"a", b'"}\n'),
    "spaces.json.gz": (b"[", b" ", b"]"),
    "padded.xml.gz": (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><!--', b" ",
                      b"--></feed>"),
}
CAP_WORDS = {"zeros.jsonl.gz": "cap on a JSONL line", "one-line.jsonl.gz": "cap on a JSONL line",
             "spaces.json.gz": "cap on a JSON or Atom file", "padded.xml.gz": "cap on a JSON or Atom file"}


# The child's own peak, read from /proc at its exit: wait4's ru_maxrss also counts what the child
# shared with pytest before exec, so a big test process (the whole suite) would be blamed on the child.
PEAK_WRAPPER = """
import atexit, runpy, sys
out = sys.argv.pop(1)
def peak():
    with open("/proc/self/status") as status:
        kib = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(out, "w") as f:
        f.write(kib)
atexit.register(peak)
runpy.run_module("papercast", run_name="__main__", alter_sys=True)
"""


@pytest.fixture(scope="module")
def bomb_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str, float]]:
    """``papercast import BOMB`` for each bomb, all at once: exit code, stderr, peak RSS in MB."""
    folder = tmp_path_factory.mktemp("bombs")
    procs = {}
    for name, parts in BOMBS.items():
        (folder / name).write_bytes(padded(*parts))
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        command = [sys.executable, "-c", PEAK_WRAPPER, str(folder / f"{name}.peak"),
                   "--home", str(folder / f"home-{name}"), "import", str(folder / name)]
        procs[name] = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    runs: dict[str, tuple[int, str, float]] = {}
    deadline = time.monotonic() + 300
    while len(runs) < len(procs):
        for name, proc in procs.items():
            if name in runs:
                continue
            if proc.poll() is not None:
                peak = folder / f"{name}.peak"
                runs[name] = (proc.returncode, proc.stderr.read().decode() if proc.stderr else "",
                              int(peak.read_text()) / 1024 if peak.exists() else float("inf"))
            elif time.monotonic() > deadline:  # main parsed the whole gigabyte: a failure, not a hang
                proc.kill()
                proc.wait()
                runs[name] = (-9, "killed after 300 s", float("inf"))
        time.sleep(0.05)
    for proc in procs.values():
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()
    return runs


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_a_gigabyte_gzip_bomb_is_refused_in_one_line_under_300_mb(
        bomb_runs: dict[str, tuple[int, str, float]], name: str) -> None:
    code, stderr, peak_mb = bomb_runs[name]
    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and CAP_WORDS[name] in lines[0], stderr
    assert "Traceback" not in stderr
    assert peak_mb < PEAK_LIMIT_MB, f"{name}: peak {peak_mb:.0f} MB"


def test_the_caps_are_checked_while_reading(tmp_path: Path) -> None:
    """Small caps: an over-long line, an over-big document and a gzip that expands too much, each
    refused as ``TooLarge`` (a UserError) naming its cap; files under the caps read as before."""
    lines = write_jsonl(tmp_path / "long.jsonl", [record(1), record(2, abstract="x" * 5000)])
    with pytest.raises(TooLarge, match=r"long.jsonl:2: refused, a line over 4096 bytes \(the import's cap"):
        parse_file(lines, Caps(line_bytes=4096))
    assert len(parse_file(lines).papers) == 2
    doc = tmp_path / "list.json"
    doc.write_text(json.dumps([record(i) for i in range(50)]))
    with pytest.raises(TooLarge, match="over 1024 bytes once decompressed"):
        parse_file(doc, Caps(document_bytes=1024))
    blank = tmp_path / "blank.jsonl.gz"
    blank.write_bytes(gzip.compress(json.dumps(record(1)).encode() + b"\n" * (4 << 20)))
    with pytest.raises(TooLarge, match=r"expands over 50x when decompressed \(the import's cap"):
        parse_file(blank, Caps(document_bytes=1 << 20))


def test_papers_before_an_over_long_line_are_kept(tmp_path: Path, settings: Any) -> None:
    rows = [record(i) for i in range(30)] + [record(99, abstract="y" * 9000)]
    path = write_jsonl(tmp_path / "mixed.jsonl", rows)
    service = Papercast(settings, embed=HashEmbed())
    with pytest.raises(TooLarge, match="mixed.jsonl:31"):
        service.import_files([path], caps=Caps(line_bytes=4096), batch=8)
    assert service.count() == 30


# ----------------------------------------------------------------------------- finding 9: streaming

def live_papers(title_prefix: str) -> int:
    """Papers alive in the process with this title prefix (other tests' caches may hold theirs)."""
    gc.collect()  # papers in reference cycles that are already garbage are not held
    return sum(1 for o in gc.get_objects() if isinstance(o, Paper) and o.title.startswith(title_prefix))


def test_a_big_import_holds_a_few_batches_and_reports_progress(tmp_path: Path, settings: Any) -> None:
    n, batch = 1500, 50
    path = write_jsonl(tmp_path / "big.jsonl", [record(i, title=f"Big import {i}") for i in range(n)])
    most = [0]
    embed = HashEmbed(hook=lambda _: most.__setitem__(0, max(most[0], live_papers("Big import "))))
    calls: list[tuple[int, int]] = []
    service = Papercast(settings, embed=embed)
    report = service.import_files([path], progress=lambda done, total: calls.append((done, total)),
                                  batch=batch)
    assert report.parsed == n and report.result is not None and report.result.added == n
    assert service.count() == n and len(embed.texts) == n
    # the one being parsed, the one the model embeds, the one being written: never the whole file
    assert 0 < most[0] <= 4 * batch, most[0]
    dones = [d for d, _ in calls]
    assert dones == sorted(dones) and calls[-1] == (n, n)
    halfway = [t for d, t in calls if n // 4 <= d <= 3 * n // 4]
    assert halfway and all(n * 0.8 <= t <= n * 1.2 for t in halfway), halfway  # the ETA's total
    again = service.import_files([path], batch=batch)
    assert again.result is not None and again.result.unchanged == n and len(embed.texts) == n


@pytest.fixture
def python_ctrl_c() -> Any:
    """Python's own Ctrl-C handler, as an interactive run has it: a test run a shell started in the
    background inherits SIGINT ignored, and then ``interrupt_main()`` does nothing."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_keeps_what_is_stored_and_a_rerun_skips_it(tmp_path: Path, settings: Any,
                                                           python_ctrl_c: None) -> None:
    n, batch = 400, 20
    path = write_jsonl(tmp_path / "papers.jsonl", [record(i) for i in range(n)])

    def interrupt(embed: HashEmbed) -> None:
        if len(embed.texts) >= 6 * batch:
            embed.hook = None
            _thread.interrupt_main()  # Ctrl-C, delivered to the main thread wherever it is

    first = HashEmbed(hook=interrupt)
    service = Papercast(settings, embed=first)
    with pytest.raises(KeyboardInterrupt):
        service.import_files([path], batch=batch)
        time.sleep(5)  # the interrupt lands in the import, never here
    assert not [t for t in threading.enumerate() if t.name == "papercast-embed" and t.is_alive()]
    stored = Papercast(settings).count()
    assert 0 < stored < n
    second = HashEmbed()
    report = Papercast(settings, embed=second).import_files([path], batch=batch)
    assert report.result is not None and report.result.unchanged == stored
    assert len(second.texts) == n - stored and Papercast(settings).count() == n


def test_repeated_ids_across_batches_are_merged(tmp_path: Path, settings: Any) -> None:
    """A repeat in the batch after (while the first is being embedded) merges as a whole-file read does."""
    rows = [record(i) for i in range(10)] + [record(0, upvotes=7, categories=[]), record(1, upvotes=3)]
    path = write_jsonl(tmp_path / "dup.jsonl", rows)
    service = Papercast(settings, embed=HashEmbed())
    report = service.import_files([path], batch=10)
    assert service.count() == 10 and report.result is not None and report.result.added == 10
    in_memory = {p.id: p for p in parse_file(path).papers}
    for pid in ("2608.10000", "2608.10001"):
        assert service.get_paper(pid).model_dump() == in_memory[pid].model_dump()
    assert service.get_paper("2608.10000").upvotes == 7


def test_a_file_of_only_invalid_lines_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_jsonl(tmp_path / "junk.jsonl", ['{"id": "2608.1', {"title": "no id"}, "[1, 2]"])
    assert main(["--home", str(tmp_path / "home"), "import", str(path)]) == 2
    assert "skipped" in capsys.readouterr().err
    assert main(["--home", str(tmp_path / "home"), "import", "--json", str(path)]) == 2
    mixed = write_jsonl(tmp_path / "mixed.jsonl", [record(1), "{oops"])
    assert main(["--home", str(tmp_path / "home2"), "import", str(mixed)]) == 1
