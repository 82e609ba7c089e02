"""Shared fixtures: a papercast home in a tmp dir, the bundled sample, and a real Chroma server.

Everything is offline. The environment is scrubbed so a developer's own PAPERCAST_* settings or
API keys never leak into a test: tests run in offline mode unless they point papercast at the
loopback LLM server themselves.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import FAST_LLM, FIXTURES, copy_sample, free_port, wait_until_serving
from llm_server import llm_server, llm_settings  # noqa: F401  (fixtures for every test module)

os.environ["ORT_DISABLE_TELEMETRY"] = "1"
os.environ["ANONYMIZED_TELEMETRY"] = "False"
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
for _name in list(os.environ):
    if _name.startswith("PAPERCAST_"):
        del os.environ[_name]
# config.toml lives in $XDG_CONFIG_HOME/papercast: an empty directory, so a developer's own never applies.
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="papercast-test-config-")
# The scripted server on 127.0.0.1 stands in for a hosted API (retries, concurrency, plain requests):
# without this its loopback address would give it the local-server policy. Tests of that policy set
# llm_local themselves; the real-model lane (tests/model_lane) removes this to exercise the detection.
os.environ["PAPERCAST_LLM_LOCAL"] = "false"
# Tests never reach arXiv: summarize, chat and daily use stored full text only. The full-text tests
# turn reading on (settings.with_overrides(fulltext=True)) and hand the service a MockTransport client.
os.environ["PAPERCAST_FULLTEXT"] = "false"



@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``chroma run`` on 127.0.0.1, started once per session and stopped by its PID."""
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or "chroma"
    log = (path / "server.log").open("wb")
    proc = subprocess.Popen([chroma, "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(path)],
                            stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    url = f"http://127.0.0.1:{port}"
    if not wait_until_serving(f"{url}/api/v2/heartbeat", proc, timeout=60):
        proc.kill()
        raise RuntimeError(f"chroma server did not start: {(path / 'server.log').read_text()[-2000:]}")
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


# The whole suite runs on a Chroma server with PAPERCAST_TEST_CHROMA=server; store tests always run on both.
DEFAULT_CHROMA_MODE = os.environ.get("PAPERCAST_TEST_CHROMA", "embedded")


@pytest.fixture(params=[DEFAULT_CHROMA_MODE])
def chroma_mode(request: pytest.FixtureRequest) -> str:
    """Which store backend a test runs on: "embedded" or "server"."""
    return str(request.param)


@pytest.fixture
def settings(tmp_path: Path, chroma_mode: str, request: pytest.FixtureRequest):
    """Settings for a fresh home in tmp; on a Chroma server when ``chroma_mode`` is "server"."""
    from papercast.config import load_settings

    chroma_url = None
    if chroma_mode == "server":
        chroma_url = request.getfixturevalue("chroma_server")
        _reset_server_collection(chroma_url)
    # Tests never reach arXiv, so its 3 s etiquette pause would only slow them down.
    return load_settings(home=tmp_path / "home", chroma_url=chroma_url, arxiv_min_interval=0.0)


def _reset_server_collection(url: str) -> None:
    """Drop every collection on the test server: "papers" and each embedding model's own."""
    from papercast.config import load_settings
    from papercast.store.chroma_access import make_client

    client = make_client(load_settings(home="/nonexistent", chroma_url=url))
    for collection in client.list_collections():
        with contextlib.suppress(Exception):  # another test's cleanup got there first
            client.delete_collection(collection.name)


@pytest.fixture
def empty_service(settings):
    """The service on an empty home (offline mode)."""
    from papercast.service import Papercast

    return Papercast(settings)


@pytest.fixture(scope="session")
def sample_home_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with the 452-paper sample loaded, built once per session (copies cost ~10 ms, loads ~2 s)."""
    from papercast.config import load_settings
    from papercast.service import Papercast

    home = tmp_path_factory.mktemp("sample-template") / "home"
    Papercast(load_settings(home=home)).ensure_sample()
    return home


@pytest.fixture
def service(settings, sample_home_template: Path):
    """The service with the bundled sample (452 real papers, precomputed embeddings) loaded."""
    return copy_sample(sample_home_template, settings)


@pytest.fixture(scope="session")
def litellm_loaded():
    """Import litellm (~8 s) once per session, the way papercast does."""
    from papercast.tools.llm.loader import load_litellm

    return load_litellm()


@pytest.fixture
def make_service(sample_home_template: Path):
    """A service on a copy of the sample home with these settings and fast LLM retries."""

    def make(settings, **overrides):
        return copy_sample(sample_home_template, settings.with_overrides(**{**FAST_LLM, **overrides}))

    return make
