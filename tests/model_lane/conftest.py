"""The real-model lane (``make test-model``): papercast against SmolLM2-135M served by llama.cpp.

Every other LLM test talks to a scripted server; this lane runs summarize, recommend with re-rank,
digest, chat (one-shot and a TUI turn) and daily against a real, small, slow local model, and
asserts papercast's contracts, never the model's wisdom: nothing crashes, every fallback is
labelled, every cited id exists, and the policy holds (``Lane.check_time``: one request at a time,
no retry of a timed-out request, wall time close to the server's own time on the requests). Its
modules are marked ``model_lane``, which ``make test`` deselects.

The server is started once per session on 127.0.0.1 at a free port and stopped by its PID;
``MODEL_LANE_API_BASE`` points the lane at a server already running instead. papercast talks to
it through a recording proxy (``llama_server.Recorder``) that times each request at the server. Each test gets
a copy of the bundled sample home, the environment a user of a local model would have (model,
api_base, a ``[models."..."]`` table in config.toml saying the server's context window), no full
text from the network, and the local policy detected from the loopback address (the rest of the
suite pins the hosted one).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from helpers import copy_sample
from llama_server import MODEL_NAME, LlamaServer, Recorder, measure_speed

RESULTS: list[dict[str, Any]] = []  # one row per timed step, printed at the end of the session
SLACK = 1.3  # a step's wall time may be this many times the server's time on its requests ...
OVERHEAD_S = 30.0  # ... plus this: papercast's own work (Chroma, the embedder, the graph) on a busy machine


@pytest.fixture(scope="session")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The api_base of the real model's server (started here unless MODEL_LANE_API_BASE is set)."""
    given = os.environ.get("MODEL_LANE_API_BASE")
    if given:
        yield given
        return
    server = LlamaServer(tmp_path_factory.mktemp("llama") / "server.log")
    server.start()
    RESULTS.append({"step": "server start", "wall_s": round(server.started_in, 2)})
    try:
        yield server.api_base
    finally:
        server.stop()


@pytest.fixture(scope="session")
def recorder(llama: str) -> Iterator[Recorder]:
    """The proxy papercast talks to: it times every request at the server and counts those in flight."""
    proxy = Recorder(llama)
    try:
        yield proxy
    finally:
        proxy.close()


@dataclass
class Lane:
    """One test's home on the real model, with the lane's contract checks."""

    server: str  # the server itself (speed probes go here, not through the proxy)
    recorder: Recorder
    home: Path
    service: Any
    started: float = 0.0
    ended: float | None = None

    def start(self) -> None:
        """A timed step begins: earlier requests are forgotten."""
        self.recorder.take()
        self.started, self.ended = time.perf_counter(), None

    def stop(self) -> None:
        """A timed step ends here (else when it is checked)."""
        self.ended = time.perf_counter()

    def check_time(self, step: str, *, max_calls: int | None = None, **facts: Any) -> dict[str, Any]:
        """The policy, checked on the requests the server saw since ``start``:

        * one request at a time (``in_flight`` 1: no request queued behind another, so no idle
          timer ran while the server worked on something else);
        * no request sent again after papercast gave up on it (a timed-out request is not retried);
        * the wall time is the server's time on those requests plus papercast's own work:
          ``wall <= SLACK * server time + OVERHEAD_S``.
        """
        wall = (self.ended or time.perf_counter()) - self.started
        records = self.recorder.take()
        server_s = sum(r["seconds"] for r in records)
        abandoned = [json.dumps(r["body"], sort_keys=True) for r in records if r["status"] == -1]
        resent = [r for r in records if json.dumps(r["body"], sort_keys=True) in abandoned
                  and r["status"] != -1]
        speed = measure_speed(self.server, tag=f"{time.monotonic_ns() % 10**9}")
        row = {"step": step, "wall_s": round(wall, 2), "server_s": round(server_s, 2),
               "requests": len(records), "max_in_flight": max((r["in_flight"] for r in records), default=0),
               "gave_up": len(abandoned), "decode_tok_s_after": round(speed.decode, 1), **facts}
        RESULTS.append(row)
        assert row["max_in_flight"] <= 1, f"{step}: requests queued at the one-slot server: {row}"
        assert not resent, f"{step}: a request papercast gave up on was sent again: {row}"
        assert wall <= SLACK * server_s + OVERHEAD_S, f"{step}: slower than the policy allows: {row}"
        if max_calls is not None:
            assert len(records) <= max_calls, f"{step}: more requests than the policy allows: {row}"
        return row

    def log_text(self) -> str:
        path = self.home / "logs" / "papercast.log"
        return path.read_text(encoding="utf-8") if path.exists() else ""


@pytest.fixture
def lane(llama: str, recorder: Recorder, sample_home_template: Path, tmp_path: Path,
         monkeypatch: pytest.MonkeyPatch) -> Lane:
    from papercast.config import load_settings

    monkeypatch.delenv("PAPERCAST_LLM_LOCAL", raising=False)  # detect the local server from its address
    config = tmp_path / "config.toml"
    ctx = int(os.environ.get("MODEL_LANE_CTX", 4096))
    config.write_text(f'[models."{MODEL_NAME}"]\ncontext_window = {ctx}\n', encoding="utf-8")
    env = {"PAPERCAST_CONFIG": str(config), "PAPERCAST_MODEL": MODEL_NAME,
           "PAPERCAST_API_BASE": recorder.api_base, "OPENAI_API_KEY": "no-key-needed-for-a-local-server",
           "PAPERCAST_FULLTEXT": "false", "PAPERCAST_RERANK_TOP_K": "10", "PAPERCAST_CHAT_MAX_STEPS": "3",
           "PAPERCAST_DAILY_READ": "0", "PAPERCAST_ARXIV_MIN_INTERVAL": "0"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    home = tmp_path / "home"
    service = copy_sample(sample_home_template, load_settings(home=home))
    return Lane(server=llama, recorder=recorder, home=home, service=service)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RESULTS:
        return
    terminalreporter.section("model lane: each step's wall time vs the server's time on its requests")
    for row in RESULTS:
        terminalreporter.write_line(json.dumps(row))
    out = os.environ.get("MODEL_LANE_RESULTS")
    if out:
        Path(out).write_text(json.dumps(RESULTS, indent=2) + "\n", encoding="utf-8")
