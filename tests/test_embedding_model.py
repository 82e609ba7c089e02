"""``PAPERCAST_EMBEDDING``: papers and profiles embedded by a litellm model instead of the bundled one.

Real parts only: litellm's HTTP path against the loopback server of ``llm_server.py`` (its
``/v1/embeddings`` serves hashed bags of words), a real Chroma store, the real command line.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from papercast.cli import main
from papercast.config import load_settings
from papercast.service import Papercast
from papercast.store.chroma_access import make_client
from papercast.store.embeddings import collection_name
from papercast.store.embeddings.remote import RemoteEmbedder
from papercast.store.papers import PaperStore

from helpers import FAST_LLM, FIXTURES, embedding_client
from llm_server import DUMMY_API_KEY, TEST_EMBEDDING, LLMServer, Reply, embedding_vector, point_embedding

pytestmark = pytest.mark.usefixtures("litellm_loaded")

DAY1 = FIXTURES / "hf_daily_papers_2026-08-20.json"
DAY2 = FIXTURES / "hf_daily_papers_2026-08-21.json"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def remote_env(llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch) -> LLMServer:
    """The command line's environment: embeddings from ``llm_server``, offline LLM."""
    monkeypatch.setenv("PAPERCAST_EMBEDDING", TEST_EMBEDDING)
    monkeypatch.setenv("PAPERCAST_EMBEDDING_API_BASE", llm_server.api_base)
    monkeypatch.setenv("OPENAI_API_KEY", DUMMY_API_KEY)
    return llm_server


def run(home: Path, *args: str) -> int:
    return main(["--home", str(home), *args])


def unit(vector: list[float]) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float32)
    return v / np.linalg.norm(v)


def remote_store(home: Path) -> PaperStore:
    settings = load_settings(home=home, embedding=TEST_EMBEDDING)
    return PaperStore(settings, remote_client=embedding_client(settings))


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def assert_key_nowhere(home: Path, *outputs: str) -> None:
    for text in outputs:
        assert DUMMY_API_KEY not in text
    for path in home.rglob("*"):
        if path.is_file():
            assert DUMMY_API_KEY.encode() not in path.read_bytes(), path


# -- naming ---------------------------------------------------------------------------------------
def test_each_model_has_its_own_valid_collection_name(tmp_path: Path) -> None:
    from chromadb.api.segment import check_index_name

    assert collection_name(None) == "papers"
    for spelling in ("", "bundled", "all-MiniLM-L6-v2", " BUNDLED "):
        assert load_settings(home=tmp_path, embedding=spelling).embedding is None
    names = {model: collection_name(model) for model in (
        "openai/text-embedding-3-small", "ollama/nomic-embed-text:v1.5", "ollama/nomic-embed-text-v1.5",
        "azure/" + "a-very-long-deployment-name-" * 4, "voyage/voyage-3.5")}
    assert len(set(names.values())) == len(names)
    for name in names.values():
        check_index_name(name)  # Chroma's own rule: 3-63 characters of [A-Za-z0-9._-], alphanumeric ends
        assert name.startswith("papers--")
    assert names["openai/text-embedding-3-small"].startswith("papers--openai-text-embedding-3-small-")


# -- the whole path through the command line -------------------------------------------------------------
def test_import_search_and_recommend_with_a_remote_model(home: Path, remote_env: LLMServer,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    server = remote_env
    assert run(home, "import", str(DAY1)) == 0
    imported = capsys.readouterr()
    assert "15 new" in imported.out
    texts = server.embedded_texts()
    assert len(texts) == 15
    assert {b["model"] for b in server.embedding_requests} == {"test-embed"}
    assert server.log[0].headers["authorization"] == f"Bearer {DUMMY_API_KEY}"  # the key was really used

    store = remote_store(home)
    assert store.collection_name == collection_name(TEST_EMBEDDING) and store.count() == 15
    papers = store.latest(15)
    vectors = store.embeddings([p.id for p in papers])
    for paper in papers:  # normalized vectors of exactly the paper's text, from the model
        assert np.allclose(vectors[paper.id], unit(embedding_vector(paper.embedding_text)), atol=1e-5)

    assert run(home, "papers", "search", papers[3].title, "-n", "3", "--json") == 0
    searched = capsys.readouterr()
    assert json.loads(searched.out)[0]["id"] == papers[3].id

    assert run(home, "recommend", "-n", "5") == 0
    listed = capsys.readouterr()
    assert "embeddings: openai/test-embed" in listed.out.splitlines()[0]  # the header names the model
    assert run(home, "recommend", "-n", "5", "--json") == 0
    ranked = capsys.readouterr()
    items = json.loads(ranked.out)
    assert len(items) == 5 and {i["id"] for i in items} <= {p.id for p in papers}

    # Every request is accounted, one run per command that embedded something, with the tokens the
    # server reported (the second recommend reused this process's profile vectors: no request).
    assert run(home, "usage", "--json") == 0
    usage = capsys.readouterr()
    runs = json.loads(usage.out)
    assert len(runs) == 3 and {r["model"] for r in runs} == {TEST_EMBEDDING}
    assert sum(r["calls"] for r in runs) == len(server.embedding_requests)
    assert sum(r["prompt_tokens"] for r in runs) == sum(u["prompt_tokens"] for u in server.embedding_usages)
    assert_key_nowhere(home, *(f"{c.out}{c.err}" for c in (imported, searched, listed, ranked, usage)))


def test_models_never_share_a_collection_and_switching_back_finds_the_old_one(
        home: Path, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert run(home, "import", str(DAY1)) == 0  # the bundled model
    bundled = PaperStore(load_settings(home=home))
    day1 = sorted(p.id for p in bundled.latest(50))
    before = bundled.embeddings(day1)

    remote_env = point_embedding(llm_server, load_settings(home=home), monkeypatch)
    monkeypatch.setenv("PAPERCAST_EMBEDDING", remote_env.embedding)
    monkeypatch.setenv("PAPERCAST_EMBEDDING_API_BASE", remote_env.embedding_api_base)
    assert run(home, "import", str(DAY2)) == 0
    assert "17 new" in capsys.readouterr().out and len(llm_server.embedded_texts()) == 17
    assert run(home, "papers", "list", "-n", "50", "--json") == 0
    day2 = sorted(p["id"] for p in json.loads(capsys.readouterr().out))
    assert len(day2) == 17 and not set(day2) & set(day1)

    monkeypatch.delenv("PAPERCAST_EMBEDDING")
    assert run(home, "papers", "list", "-n", "50", "--json") == 0
    assert sorted(p["id"] for p in json.loads(capsys.readouterr().out)) == day1  # no sample: not empty
    after = PaperStore(load_settings(home=home)).embeddings(day1)
    assert all(after[i].shape == (384,) and np.array_equal(after[i], before[i]) for i in day1)
    title = bundled.get(day1[0]).title
    assert run(home, "papers", "search", title, "-n", "1", "--json") == 0
    assert json.loads(capsys.readouterr().out)[0]["id"] == day1[0]
    assert len(llm_server.embedded_texts()) == 17  # the bundled model never asked the server

    client = make_client(load_settings(home=home))
    assert sorted(c.name for c in client.list_collections()) == sorted(["papers",
                                                                        collection_name(TEST_EMBEDDING)])


def test_the_sample_is_embedded_through_the_model_on_first_load(settings, llm_server: LLMServer,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    service = Papercast(point_embedding(llm_server, settings, monkeypatch, **FAST_LLM))
    seen: list[tuple[int, int]] = []
    assert service.ensure_sample(progress=lambda done, total: seen.append((done, total))) == 452
    assert seen[-1] == (452, 452) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert len(llm_server.embedded_texts()) == 452
    assert max(len(b["input"]) for b in llm_server.embedding_requests) <= 64  # batched
    paper = service.list_papers(1)[0]
    stored = service.embeddings([paper.id])[paper.id]
    assert stored.shape == (128,)
    assert np.allclose(stored, unit(embedding_vector(paper.embedding_text)), atol=1e-5)
    assert service.ensure_sample() == 0 and service.count() == 452
    assert PaperStore(settings).count() == 0  # the bundled collection got none of these vectors


# -- failures: one line, exit 1, nothing written ----------------------------------------------------------
def test_first_load_offline_fails_in_one_line_and_writes_nothing(home: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    dead = LLMServer().start()
    base = dead.api_base
    dead.stop()
    monkeypatch.setenv("PAPERCAST_EMBEDDING", TEST_EMBEDDING)
    monkeypatch.setenv("PAPERCAST_API_BASE", base)  # the shared api_base serves embeddings too
    monkeypatch.setenv("OPENAI_API_KEY", DUMMY_API_KEY)
    assert run(home, "papers", "list") == 1
    err = capsys.readouterr().err
    line = one_line_error(err)
    assert f"cannot embed texts with the embedding model {TEST_EMBEDDING} at {base}" in line
    assert "connection failed" in line and "unset PAPERCAST_EMBEDDING" in line
    assert remote_store(home).count() == 0
    assert_key_nowhere(home, err)


@pytest.mark.parametrize(("body", "problem"), [
    ("<html>502 Bad Gateway</html>", "not valid JSON"),
    ({"object": "list", "data": []}, "no vectors"),
    ({"object": "list", "data": [{"index": 0, "embedding": [0.1, 0.2]}]}, "1 vectors for 15 texts"),
    ({"object": "list", "data": [{"index": i, "embedding": "AAAA"} for i in range(15)]},
     "not a list of numbers"),
    ({"object": "list", "data": [{"index": i, "embedding": [0.0, 0.0]} for i in range(15)]}, "zero"),
])
def test_an_unusable_answer_is_one_line_and_writes_nothing(home: Path, remote_env: LLMServer,
                                                           capsys: pytest.CaptureFixture[str],
                                                           body: object, problem: str) -> None:
    remote_env.queue_embeddings(Reply.raw(body))
    assert run(home, "import", str(DAY1)) == 1
    line = one_line_error(capsys.readouterr().err)
    assert problem in line and TEST_EMBEDDING in line
    assert len(remote_env.embedding_requests) == 1  # a garbage answer is not worth retrying
    assert remote_store(home).count() == 0


def test_a_rejected_key_is_one_line_not_retried_and_not_echoed(home: Path, remote_env: LLMServer,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    remote_env.queue_embeddings(Reply.error(401, f"Incorrect API key provided: {DUMMY_API_KEY}"))
    assert run(home, "import", str(DAY1)) == 1
    err = capsys.readouterr().err
    assert "rejected the API key" in one_line_error(err)
    assert len(remote_env.embedding_requests) == 1
    assert remote_store(home).count() == 0
    assert_key_nowhere(home, err)


def test_a_changed_dimension_is_refused_before_it_reaches_the_store(
        home: Path, remote_env: LLMServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(home, "import", str(DAY1)) == 0
    capsys.readouterr()
    remote_env.embedding_dims = 64  # another model now answers under the same name
    assert run(home, "import", str(DAY2)) == 1
    line = one_line_error(capsys.readouterr().err)
    assert "64-d" in line and "128-d" in line and collection_name(TEST_EMBEDDING) in line
    assert remote_store(home).count() == 15
    assert run(home, "papers", "search", "diffusion models") == 1  # nor compared with the stored ones
    one_line_error(capsys.readouterr().err)


def test_a_dimension_change_between_calls_of_one_run_is_refused(settings, llm_server: LLMServer,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    pointed = point_embedding(llm_server, settings, monkeypatch, llm_concurrency=1,
                              **FAST_LLM, embedding_batch=2)
    texts = ["sparse attention", "long context", "speculative decoding", "kv cache"]
    llm_server.queue_embeddings(
        Reply.raw({"data": [{"index": i, "embedding": embedding_vector(t, 16)}
                            for i, t in enumerate(texts[:2])]}),
        Reply.raw({"data": [{"index": i, "embedding": embedding_vector(t, 8)}
                            for i, t in enumerate(texts[2:])]}))
    embedder = RemoteEmbedder(pointed, embedding_client(pointed))
    with pytest.raises(RuntimeError) as err:
        embedder.embed(texts)
    assert "8-d vectors after 16-d ones" in str(err.value) and "\n" not in str(err.value)
    # The next answers are the server's 128-d ones: still refused in this run.
    with pytest.raises(RuntimeError, match="128-d vectors after 16-d ones"):
        embedder.embed(texts[:1])


def test_server_errors_are_retried_by_papercast_alone(settings, llm_server: LLMServer,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Our retry policy, and only ours: litellm's embedding path must not add the SDK's own retries."""
    pointed = point_embedding(llm_server, settings, monkeypatch, **{**FAST_LLM, "llm_retries": 1})
    llm_server.queue_embeddings(Reply.error(500))
    vectors = RemoteEmbedder(pointed, embedding_client(pointed)).embed(["retrieval augmented generation"])
    assert vectors.shape == (1, 128) and len(llm_server.embedding_requests) == 2
    llm_server.queue_embeddings(Reply.error(503), Reply.error(503), Reply.error(503))
    with pytest.raises(RuntimeError, match=r"after 2 attempts: HTTP 503"):
        RemoteEmbedder(pointed, embedding_client(pointed)).embed(["long context"])
    assert len(llm_server.embedding_requests) == 4
