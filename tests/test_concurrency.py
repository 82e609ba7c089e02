"""Two papercast processes on one home: a fresh home, the bundled sample, and what each process sees.

Real ``papercast`` processes run at once on a fresh home (``import a & import b``, an import while
``recommend`` loads the sample), three tries each: every one must succeed with every paper kept.
Before the home's lock they died 3 of 3 with Chroma's "hnsw segment reader: Nothing found on disk".
A long-lived process (the TUI) must also see what another process wrote, not a stale index.
The sample is marked as such and gives way, said so, when the user's own papers arrive.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import papercast
from papercast.cli import main
from papercast.config import load_settings
from papercast.models import Paper
from papercast.store.lock import LockTimeout, home_lock
from papercast.store.metadata import SAMPLE_SOURCE
from papercast.store.papers import PaperStore

from helpers import CORPUS_SLICE, paper_store

PACKAGE_ROOT = Path(papercast.__file__).resolve().parents[1]  # the papercast these tests import
TRIES = (1, 2, 3)


def corpus_rows() -> list[dict]:
    with gzip.open(CORPUS_SLICE, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def env_for(home: Path) -> dict[str, str]:
    return {**os.environ, "PAPERCAST_HOME": str(home), "PYTHONPATH": str(PACKAGE_ROOT)}


def start_cli(home: Path, *args: str) -> subprocess.Popen:
    """A real ``papercast`` process (``python -m papercast``) on ``home``."""
    return subprocess.Popen([sys.executable, "-m", "papercast", "--home", str(home), *args],
                            env=env_for(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=home.parent)


def finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out, err


def start_python(home: Path, code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], env=env_for(home),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=home.parent)


def stored_ids(home: Path) -> set[str]:
    got = PaperStore(load_settings(home=home)).collection.get(include=[])
    return set(got["ids"])


# -- two processes on a fresh home ----------------------------------------------------------------------
@pytest.mark.parametrize("attempt", TRIES)
def test_two_imports_on_a_fresh_home_both_succeed_and_keep_every_paper(tmp_path: Path, attempt: int) -> None:
    rows = corpus_rows()
    a = write_jsonl(tmp_path / "a.jsonl", rows[:15])
    b = write_jsonl(tmp_path / "b.jsonl", rows[15:30])
    home = tmp_path / "home"
    procs = [start_cli(home, "import", str(a)), start_cli(home, "import", str(b))]
    results = [finish(p) for p in procs]
    for code, _, err in results:
        assert code == 0, err[-2000:]
        assert "internal error" not in err
    assert stored_ids(home) == {Paper.model_validate(r).id for r in rows[:30]}


@pytest.mark.parametrize("attempt", TRIES)
def test_an_import_while_recommend_loads_the_sample_keeps_the_import_and_drops_the_sample(
        tmp_path: Path, attempt: int) -> None:
    rows = corpus_rows()
    a = write_jsonl(tmp_path / "a.jsonl", rows[:15])
    home = tmp_path / "home"
    procs = [start_cli(home, "recommend", "-n", "3", "--json"), start_cli(home, "import", str(a))]
    (rec_code, rec_out, rec_err), (imp_code, _, imp_err) = (finish(p) for p in procs)
    assert rec_code == 0, rec_err[-2000:]
    assert imp_code == 0, imp_err[-2000:]
    assert isinstance(json.loads(rec_out), list)
    # Whichever came first, the library is the user's papers, without the sample mixed in for good.
    assert stored_ids(home) == {Paper.model_validate(r).id for r in rows[:15]}
    if "loaded the bundled sample" in rec_err:
        assert "removed the 452 papers of the bundled sample" in imp_err


# -- a long-lived process sees what another one wrote --------------------------------------------------
WRITER = """
    import json, sys
    import numpy as np
    from papercast.config import load_settings
    from papercast.models import Paper
    from papercast.store.papers import PaperStore
    paper = Paper.model_validate(json.loads(sys.argv[1]))
    vector = np.asarray(json.loads(sys.argv[2]), dtype=np.float32)
    PaperStore(load_settings()).upsert([paper], embeddings={paper.id: vector})
    print("written", flush=True)
"""

RAW_WRITER = """
    import json, sys
    import chromadb
    client = chromadb.PersistentClient(path=sys.argv[1])
    collection = client.get_collection("papers")
    meta = json.loads(sys.argv[2])
    collection.upsert(ids=[sys.argv[3]], embeddings=[json.loads(sys.argv[4])], metadatas=[meta],
                      documents=["x"])
    print("written", flush=True)
"""


def _new_paper(service, seed_id: str) -> tuple[Paper, np.ndarray]:
    """A paper that is not in the store, with a vector near an existing paper's (so a query finds it)."""
    base = service.embeddings([seed_id])[seed_id]
    vector = base + 0.01 * np.ones_like(base)
    vector = (vector / np.linalg.norm(vector)).astype(np.float32)
    paper = Paper(id="2612.00001", title="A paper another process stored", abstract="Written elsewhere.",
                  sources=["import"])
    return paper, vector


@pytest.mark.parametrize("chroma_mode", ["embedded"], indirect=True)
def test_a_long_lived_process_sees_papers_another_process_stored(service) -> None:
    """The TUI opened its store, then ``papercast import`` ran in another terminal: its searches and
    vector reads must find the new paper (the old code answered from its stale index, or failed)."""
    seed = service.list_papers(1)[0].id
    assert paper_store(service).similar(seed, 3)  # this process has read the index now
    paper, vector = _new_paper(service, seed)
    proc = start_python(service.settings.home, WRITER, paper.model_dump_json(), json.dumps(vector.tolist()))
    code, out, err = finish(proc)
    assert code == 0 and "written" in out, err[-2000:]

    hits = paper_store(service).query_vector(vector, 3)
    assert hits[0][0].id == paper.id
    assert np.allclose(service.embeddings([paper.id])[paper.id], vector, atol=1e-5)


@pytest.mark.parametrize("chroma_mode", ["embedded"], indirect=True)
def test_a_stale_index_error_is_retried_after_opening_the_store_again(service) -> None:
    """A write papercast did not announce (chromadb used directly) leaves this process's index stale;
    the vector read that then fails ("Error finding id") is retried on a freshly opened store."""
    from papercast.store.metadata import to_metadata

    seed = service.list_papers(1)[0].id
    assert paper_store(service).similar(seed, 3)
    paper, vector = _new_paper(service, seed)
    proc = start_python(service.settings.home, RAW_WRITER, str(service.settings.chroma_path),
                        json.dumps(to_metadata(paper)), paper.id, json.dumps(vector.tolist()))
    code, out, err = finish(proc)
    assert code == 0 and "written" in out, err[-2000:]

    # every vector: the stale index fails here
    got = paper_store(service).collection.get(include=["embeddings"])
    assert paper.id in got["ids"] and len(got["ids"]) == 453


# -- the home's lock -------------------------------------------------------------------------------------
HOLDER = """
    import sys, time
    from pathlib import Path
    from papercast.store.lock import home_lock
    with home_lock(Path(sys.argv[1])):
        print("locked", flush=True)
        time.sleep(float(sys.argv[2]))
        Path(sys.argv[1], "released").write_text("yes")
"""


def _hold(home: Path, seconds: float) -> subprocess.Popen:
    home.mkdir(parents=True, exist_ok=True)
    proc = start_python(home, HOLDER, str(home), str(seconds))
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_the_lock_excludes_another_process_until_it_lets_go(tmp_path: Path) -> None:
    home = tmp_path / "home"
    holder = _hold(home, 1.0)
    with home_lock(home):
        assert (home / "released").exists(), "acquired while the other process still held the lock"
    assert finish(holder)[0] == 0


def test_a_lock_held_too_long_is_a_one_line_error_and_a_killed_holder_frees_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    holder = _hold(home, 60.0)
    with pytest.raises(LockTimeout, match="another papercast process"), home_lock(home, wait=0.3):
        pass
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    with home_lock(home, wait=30):  # the kernel dropped the dead process's lock
        assert not (home / "released").exists()


def test_the_lock_is_reentrant_within_a_process(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with home_lock(home), home_lock(home):  # PaperStore opens under it, and ensure_sample holds it already
        pass
    with home_lock(home, wait=0.5):  # and it was given back
        pass


# -- the sample gives way to the user's papers -----------------------------------------------------------
def run(home: Path, *args: str) -> int:
    return main(["--home", str(home), *args])


def test_sample_papers_are_marked_and_removed_when_the_users_papers_arrive(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The killed-first-import story: the next command loaded the sample; the user's import then
    replaces it, says so, and keeps the sample papers the user liked or imported."""
    home = tmp_path / "home"
    assert run(home, "papers", "list", "-n", "2", "--json") == 0
    assert "loaded the bundled sample of 452 papers" in capsys.readouterr().err
    store = PaperStore(load_settings(home=home))
    marked = store.collection.get(where={"sample": True}, include=[])["ids"]
    assert len(marked) == 452 and all(p.sources == [SAMPLE_SOURCE] for p in store.get_many(marked[:5]))

    liked = marked[0]
    assert run(home, "profile", "like", liked) == 0
    rows = corpus_rows()[:5]
    overlap = Paper.model_validate(json.loads(store.collection.get(ids=[marked[1]], include=["metadatas"])
                                              ["metadatas"][0]["paper"]))
    source = write_jsonl(tmp_path / "mine.jsonl",
                         [*rows, {"id": overlap.id, "title": overlap.title, "abstract": overlap.abstract}])
    capsys.readouterr()
    assert run(home, "import", str(source)) == 0
    err = capsys.readouterr().err
    assert "removed the 450 papers of the bundled sample now that your own papers are in" in err

    ids = stored_ids(home)
    assert ids == {Paper.model_validate(r).id for r in rows} | {liked, overlap.id}
    assert PaperStore(load_settings(home=home)).collection.get(
        where={"sample": True}, include=[])["ids"] == []
    # Nothing is removed twice: a second import says nothing about the sample.
    assert run(home, "import", str(source)) == 0
    assert "bundled sample" not in capsys.readouterr().err


def test_fetched_papers_replace_the_sample_too(service) -> None:
    import httpx

    from helpers import fixture_bytes

    def handler(request: httpx.Request) -> httpx.Response:
        if "huggingface" in request.url.host:
            return httpx.Response(200, content=fixture_bytes("hf_daily_papers_2026-08-20.json"))
        return httpx.Response(503)

    assert service.count() == 452
    report = service.fetch("hf", client=httpx.AsyncClient(transport=httpx.MockTransport(handler)))
    assert report.papers
    removed = [n for n in report.notes if "bundled sample" in n]
    assert len(removed) == 1
    fetched = {p.id for p in report.papers}
    assert set(paper_store(service).collection.get(include=[])["ids"]) == fetched


def test_two_first_starts_load_the_sample_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    procs = [start_cli(home, "papers", "list", "-n", "1") for _ in range(2)]
    results = [finish(p) for p in procs]
    assert all(code == 0 for code, _, _ in results), [err[-1000:] for _, _, err in results]
    loaded = [err for _, _, err in results if "loaded the bundled sample" in err]
    assert len(loaded) == 1, "one process loads it; the other finds it loaded"
    assert len(stored_ids(home)) == 452


def test_the_store_opens_once_per_home_even_when_slow(tmp_path: Path) -> None:
    """Opening the store waits for the home's lock: a process holding it (another first start)
    makes the open wait, not fail."""
    home = tmp_path / "home"
    holder = _hold(home, 1.0)
    assert PaperStore(load_settings(home=home)).count() == 0
    assert (home / "released").exists(), "opened while another process held the home's lock"
    assert finish(holder)[0] == 0
