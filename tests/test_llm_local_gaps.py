"""Two gaps of the local-model policy, closed: Ollama's context window, and a server refusing a JSON schema.

* Ollama runs a model with its own ``num_ctx`` (2048-4096) and drops the front of a longer prompt
  without an error, so papercast sends the window it fitted the prompt to as ``num_ctx``. A tiny
  Ollama-shaped server here (``/api/chat`` and ``/api/generate``, plain JSON and NDJSON streams)
  records what litellm's ollama providers really send.
* vLLM, LM Studio, older llama.cpp and proxies answer a ``json_schema`` ``response_format`` with
  HTTP 400. The request is asked again with plain JSON mode (then without ``response_format``), and
  the simpler format is kept for that model and server for the rest of the process.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from papercast.config import load_settings
from papercast.models import Paper
from papercast.store.llm_log import LLMLog
from papercast.tools.llm.client import LLMClient
from papercast.tools.llm.failures import LLMUnavailable
from papercast.tools.llm.formats import forget_format_downgrades

from helpers import FAST_LLM
from llm_server import DUMMY_API_KEY, Reply

pytestmark = pytest.mark.usefixtures("litellm_loaded")
MSG = [{"role": "user", "content": "Say something about attention sinks."}]
SCHEMA = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
REFUSED = "response_format of type json_schema is not supported by this server"


def run(coro: Any) -> Any:
    return asyncio.run(coro)


@pytest.fixture(autouse=True)
def fresh_downgrades() -> Iterator[None]:
    """Refused formats are remembered per process; a later test's server may get an earlier one's port."""
    forget_format_downgrades()
    yield
    forget_format_downgrades()


@pytest.fixture
def config_file(tmp_path, monkeypatch):
    path = tmp_path / "config.toml"
    monkeypatch.setenv("PAPERCAST_CONFIG", str(path))
    return path


# -- a tiny Ollama ----------------------------------------------------------------------------------------
class OllamaServer:
    """Answers ``POST /api/chat`` and ``/api/generate`` with ``{"ok": true}`` the way Ollama does
    (one JSON body, or NDJSON lines when ``stream`` is true); ``requests`` holds (path, body)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet test output
                pass

            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = json.loads(raw or b"{}")
                route = self.path.split("?")[0].rstrip("/")
                owner.requests.append((route, body))
                if route not in ("/api/chat", "/api/generate"):
                    return self._send(404, b'{"error": "not found"}', "application/json")
                pieces = ['{"ok": ', "true}"] if body.get("stream") else ['{"ok": true}']
                lines = [self._piece(route, body, text, done=not body.get("stream")) for text in pieces]
                if body.get("stream"):
                    lines.append(self._piece(route, body, "", done=True))
                data = "".join(json.dumps(line) + "\n" for line in lines).encode()
                return self._send(200, data,
                                  "application/x-ndjson" if body.get("stream") else "application/json")

            @staticmethod
            def _piece(route: str, body: dict[str, Any], text: str, *, done: bool) -> dict[str, Any]:
                piece: dict[str, Any] = {"model": body.get("model"), "created_at": "2026-01-01T00:00:00Z",
                                         "done": done}
                if route == "/api/chat":
                    piece["message"] = {"role": "assistant", "content": text}
                else:
                    piece["response"] = text
                if done:
                    piece.update(done_reason="stop", prompt_eval_count=12, eval_count=4)
                return piece

            def _send(self, status: int, data: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def completions(self) -> list[tuple[str, dict[str, Any]]]:
        return [(path, body) for path, body in self.requests if path in ("/api/chat", "/api/generate")]


@pytest.fixture
def ollama() -> Iterator[OllamaServer]:
    server = OllamaServer()
    try:
        yield server
    finally:
        server.stop()


# -- 1. Ollama gets the context window as num_ctx ------------------------------------------------------------
@pytest.mark.parametrize(("model", "window", "route"), [
    ("ollama_chat/papercast-test", 6144, "/api/chat"),  # the window of config.toml
    ("ollama/papercast-test", None, "/api/generate"),  # the default window for an unknown local model
    ("ollama/llama3.1", None, "/api/generate"),  # the window of litellm's model map
])
def test_ollama_requests_carry_the_fitted_context_window_as_num_ctx(ollama, settings, config_file,
                                                                     monkeypatch, model, window, route):
    monkeypatch.delenv("PAPERCAST_LLM_LOCAL", raising=False)  # the suite pins hosted; this is Ollama's policy
    if window is not None:
        config_file.write_text(f'[models."{model}"]\ncontext_window = {window}\n')
    settings = load_settings(home=settings.home, model=model, api_base=ollama.url, **FAST_LLM)
    client = LLMClient(settings, LLMLog(settings.db_path), command="test")
    policy = client.policy
    assert policy.local and policy.stream and policy.provider == model.split("/")[0]
    if window is not None:
        assert policy.context_window == window
    answer = run(client.complete_json(MSG, lambda text, _finish: json.loads(text), purpose="t",
                                      prompt_version="v", max_tokens=50, repair_max_tokens=50,
                                      repair_prompt="{problem}", schema=SCHEMA))
    assert answer == {"ok": True}

    async def chat() -> list[Any]:
        return [event async for event in client.stream(MSG, purpose="chat")]

    assert run(chat())[-1].answer.text == '{"ok": true}'  # a chat turn (client.stream) carries it too
    sent = ollama.completions()
    assert [path for path, _ in sent] == [route, route]
    for _path, body in sent:
        assert body["options"]["num_ctx"] == policy.context_window
        assert body["options"]["num_predict"] <= policy.context_window  # max_tokens fitted to the same window


def test_other_providers_are_not_sent_num_ctx(llm_server, llm_settings):
    """An OpenAI-compatible server would get ``num_ctx`` as an unknown body field (some refuse those)."""
    client = LLMClient(llm_settings.with_overrides(**FAST_LLM, llm_local=True), command="test")
    assert client.policy.provider == "openai" and client.policy.provider_params() == {}
    llm_server.queue(Reply.json({"ok": True}), Reply.text("hello"))
    run(client.complete(MSG, purpose="t", prompt_version="v", json_mode=True, schema=SCHEMA))

    async def chat() -> list[Any]:
        return [event async for event in client.stream(MSG, purpose="chat")]

    run(chat())
    assert len(llm_server.requests) == 2
    assert all("num_ctx" not in json.dumps(body) for body in llm_server.requests)


# -- 2. a server that refuses the JSON schema ----------------------------------------------------------------
def summary_answer(title: str) -> dict[str, Any]:
    return {"tldr": f"{title} is summarized in one short sentence.", "contributions": ["one"], "method": "m",
            "results": "r", "limitations": "not stated", "keywords": ["k"]}


@pytest.mark.parametrize(("model", "local", "first"), [("openai/gpt-4o-mini", False, "json_schema"),
                                                    ("openai/test-model", True, "json_object+schema")])
def test_a_refused_schema_is_asked_again_in_json_mode_and_remembered(llm_server, llm_settings, caplog,
                                                                       model, local, first):
    from papercast.tools.writing.summarize import llm_summary

    # gpt-4o-mini: litellm says it supports response schemas (json_schema); an unknown model on a local
    # server gets the schema along with JSON mode (json_object+schema). The server refuses either.
    settings = llm_settings.with_overrides(model=model, llm_local=local, **FAST_LLM)
    client = LLMClient(settings, LLMLog(settings.db_path), command="test")
    assert client.policy.json_format == first
    llm_server.queue(Reply.error(400, REFUSED), Reply.json(summary_answer("Sinks")))
    with caplog.at_level(logging.INFO, logger="papercast.tools.llm.client"):
        summary, problem = run(llm_summary(client,
                                           Paper(id="2401.00001", title="Sinks", abstract="Attention.")))
    assert problem is None and summary is not None and summary.tldr.startswith("Sinks is summarized")
    refused, retried = llm_server.requests
    assert refused["response_format"]["type"] == first.split("+")[0]
    assert retried["response_format"] == {"type": "json_object"}  # no json_schema, no schema attached
    assert retried["messages"] == refused["messages"]
    said = [r.getMessage() for r in caplog.records if "refused response_format" in r.getMessage()]
    assert len(said) == 1 and REFUSED in said[0] and "with json_object" in said[0]
    assert all(r.levelno == logging.INFO for r in caplog.records if "refused" in r.getMessage())
    assert DUMMY_API_KEY not in caplog.text
    # Not a failure the user must hear about (an unpriced model's notice is another matter).
    assert not [n for n in client.notices if "response_format" in n] and client.unreachable is None
    assert client.usage.calls == 1  # the refused request answered nothing

    # The next request of this model to this server, by any client of the process, starts in JSON mode.
    llm_server.queue(Reply.json(summary_answer("Other")))
    again = LLMClient(settings, LLMLog(settings.db_path), command="test")
    summary, problem = run(llm_summary(again, Paper(id="2401.00002", title="Other", abstract="Attention.")))
    assert problem is None and summary is not None
    assert (len(llm_server.requests) == 3
            and llm_server.requests[2]["response_format"] == {"type": "json_object"})
    # Another server is another matter: the policy's own format there.
    assert LLMClient(settings.with_overrides(api_base="http://127.0.0.1:9/v1"),
                     command="test").json_format() == first


def test_json_mode_refused_too_is_asked_without_response_format(llm_server, llm_settings, caplog):
    settings = llm_settings.with_overrides(model="openai/gpt-4o-mini", **FAST_LLM)
    client = LLMClient(settings, LLMLog(settings.db_path), command="test")
    llm_server.queue(Reply.error(400, REFUSED), Reply.error(400, "'response_format' is not supported"),
                     Reply.json({"ok": True}))
    with caplog.at_level(logging.INFO, logger="papercast.tools.llm.client"):
        answer = run(client.complete_json(MSG, lambda text, _f: json.loads(text), purpose="t",
                                          prompt_version="v", max_tokens=50, repair_max_tokens=50,
                                          repair_prompt="{problem}", schema=SCHEMA))
    assert answer == {"ok": True}
    formats = [(body.get("response_format") or {}).get("type") for body in llm_server.requests]
    assert formats == ["json_schema", "json_object", None]
    assert "without response_format" in caplog.text
    llm_server.queue(Reply.json({"ok": True}))
    run(client.complete([{"role": "user", "content": "again"}], purpose="t", prompt_version="v",
                        json_mode=True, schema=SCHEMA))
    assert "response_format" not in llm_server.requests[3]


def test_other_400s_fail_as_before_and_downgrade_nothing(llm_server, llm_settings):
    settings = llm_settings.with_overrides(model="openai/gpt-4o-mini", **FAST_LLM)
    client = LLMClient(settings, LLMLog(settings.db_path), command="test")
    llm_server.queue(Reply.error(400, "temperature must be between 0 and 2"))
    with pytest.raises(LLMUnavailable, match="refused the request: .*temperature"):
        run(client.complete(MSG, purpose="t", prompt_version="v", json_mode=True, schema=SCHEMA))
    assert len(llm_server.requests) == 1 and client.json_format() == "json_schema"
    # A response_format the caller set itself (``papercast model check``'s probes) is reported, not replaced.
    llm_server.queue(Reply.error(400, REFUSED))
    explicit = {"type": "json_schema", "json_schema": {"name": "probe", "schema": SCHEMA}}
    with pytest.raises(LLMUnavailable, match="json_schema is not supported"):
        run(client.complete(MSG, purpose="probe", prompt_version="v", cache=False, response_format=explicit))
    assert len(llm_server.requests) == 2 and client.json_format() == "json_schema"
