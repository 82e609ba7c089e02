"""The LLM policy: which servers count as local, per-model settings, and how a local server is called.

A local server (loopback/private api_base, ``ollama/*``, ...) gets one request at a time across the
whole process, streamed requests with an idle timeout instead of a total one, and no retry of a
timed-out request; JSON requests carry their schema (as a grammar for llama.cpp); ``max_tokens``
and prompts are fitted to the context window; a cut-off answer is asked once more, shorter.
The scripted loopback server plays the local server here (``llm_local=true``); the real one is in
tests/model_lane.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from papercast.cli import main
from papercast.config import ConfigError, load_settings
from papercast.models import Paper
from papercast.store.llm_log import LLMLog
from papercast.tools.llm.client import LLMClient
from papercast.tools.llm.failures import LLMUnavailable, ShortAnswer
from papercast.tools.llm.policy import private_host, resolve_policy, strict_schema
from papercast.tools.llm.schemas import SUMMARY_SCHEMA, rerank_schema, tldr_schema

from helpers import FAST_LLM, free_port
from llm_server import DUMMY_API_KEY, InFlight, Reply

pytestmark = pytest.mark.usefixtures("litellm_loaded")
MSG = [{"role": "user", "content": "Say something about attention sinks."}]


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def auto_local(monkeypatch):
    """The suite pins the hosted policy for the scripted server; these tests detect it themselves."""
    monkeypatch.delenv("PAPERCAST_LLM_LOCAL", raising=False)


@pytest.fixture
def config_file(tmp_path, monkeypatch):
    """A config.toml these tests write (``PAPERCAST_CONFIG`` points at it)."""
    path = tmp_path / "config.toml"
    monkeypatch.setenv("PAPERCAST_CONFIG", str(path))
    return path


def local_client(llm_settings, **extra) -> LLMClient:
    return LLMClient(llm_settings.with_overrides(**{**FAST_LLM, "llm_local": True, **extra}), command="test")


# -- which policy ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("base", "local"), [
    ("http://127.0.0.1:8080/v1", True), ("http://localhost:11434", True), ("http://[::1]:8000/v1", True),
    ("http://192.168.1.20:8000/v1", True), ("http://10.0.0.5/v1", True), ("http://ollama:11434", True),
    ("http://gpu-box.local:8000/v1", True), ("https://api.openai.com/v1", False),
                                             ("https://8.8.8.8/v1", False),
    (None, False), ("not a url at all", False),
])
def test_private_hosts_are_local(base, local):
    assert (private_host(base) is not None) is local


def test_loopback_server_gets_the_local_policy_and_a_hosted_api_the_hosted_one(tmp_path, auto_local):
    local = resolve_policy(load_settings(home=tmp_path, model="openai/smollm",
                                         api_base="http://127.0.0.1:9/v1"))
    assert (local.local, local.concurrency, local.stream, local.retry_timeouts) == (True, 1, True, False)
    assert local.context_window == 2048 and local.json_format == "json_object+schema"
    assert "loopback" in local.sources["local"]
    hosted = resolve_policy(load_settings(home=tmp_path, model="openai/gpt-4o-mini"))
    assert (hosted.local, hosted.concurrency, hosted.stream, hosted.retry_timeouts) == (False, 4, False, True)
    assert hosted.context_window == 128000 and hosted.json_format == "json_schema"
    # litellm counts a known hosted model's tokens with its tokenizer; a local model's may count ~1.3x more.
    assert (local.token_margin, hosted.token_margin) == (1.35, 1.05)
    ollama = resolve_policy(load_settings(home=tmp_path, model="ollama/llama3.1"))
    assert ollama.local and "provider ollama" in ollama.sources["local"]
    assert ollama.context_window == 8192 and ollama.json_format == "json_object"


def test_a_models_table_in_config_toml_wins_over_global_settings(
    tmp_path, auto_local, config_file, monkeypatch):
    config_file.write_text('llm_concurrency = 3\n[models."openai/smollm"]\nconcurrency = 2\nidle_timeout = '
                           '30\ncontext_window = 4096\njson_format = "json_object"\nretry_timeouts = true\n')
    settings = load_settings(home=tmp_path, model="openai/smollm", api_base="http://127.0.0.1:9/v1")
    policy = resolve_policy(settings)
    assert (policy.concurrency, policy.idle_timeout, policy.context_window, policy.json_format,
            policy.retry_timeouts) == (2, 30.0, 4096, "json_object", True)
    assert policy.sources["concurrency"] == '[models."openai/smollm"]'
    # Another model gets the global setting, then the defaults.
    other = resolve_policy(settings, model="openai/other")
    assert (other.concurrency, other.sources["concurrency"]) == (3, "llm_concurrency")
    # The environment can switch the detection off for every model.
    monkeypatch.setenv("PAPERCAST_LLM_LOCAL", "false")
    assert not resolve_policy(load_settings(home=tmp_path, model="openai/other",
                                            api_base="http://127.0.0.1:9")).local


@pytest.mark.parametrize(("text", "needle", "hidden"), [
    ('[models."x"]\napi_key = "sk-live-1234567890abcdef"\n', "models.x.api_key", "sk-live"),
    ('[models."x"]\nconcurrency = 0\n', "models.x.concurrency", None),
    ('[models."x"]\nbogus = "s3cr3t-value"\n', "models.x.bogus", "s3cr3t-value"),
])
def test_bad_model_tables_are_one_line_errors_that_never_echo_a_secret(
    tmp_path, config_file, text, needle, hidden):
    config_file.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_settings(home=tmp_path)
    message = str(err.value)
    assert needle in message and "\n" not in message
    if hidden:
        assert hidden not in message


def test_strict_schemas_drop_length_bounds_and_keep_the_shape():
    strict = strict_schema(rerank_schema(["a", "b"]))
    row = strict["properties"]["scores"]["items"]
    assert "maxItems" not in strict["properties"]["scores"] and "maxLength" not in row["properties"]["reason"]
    assert row["properties"]["id"]["enum"] == ["a", "b"] and row["additionalProperties"] is False
    assert tldr_schema(["a"])["properties"]["papers"]["minItems"] == 1
    assert "maxLength" in SUMMARY_SCHEMA["properties"]["tldr"]  # the original is untouched


# -- a local server: streamed, one at a time, idle timeout, no retry of a timeout ---------------------------
def test_local_requests_are_streamed_with_the_schema_attached(llm_server, llm_settings):
    llm_server.queue(Reply.json({"ok": True}))
    client = local_client(llm_settings)
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    answer = run(client.complete_json(MSG, lambda text, _finish: json.loads(text), purpose="t",
                                      prompt_version="v", max_tokens=50, repair_max_tokens=50,
                                      repair_prompt="{problem}", schema=schema))
    assert answer == {"ok": True}
    body = llm_server.requests[0]
    assert body["stream"] is True
    assert body["response_format"] == {"type": "json_object", "schema": schema}
    assert client.usage.calls == 1 and client.usage.completion_tokens > 0
    # A hosted model that litellm says supports schemas gets json_schema, strict, without length bounds.
    llm_server.queue(Reply.json({"ok": True}))
    hosted = LLMClient(llm_settings.with_overrides(model="openai/gpt-4o-mini", **FAST_LLM), command="test")
    run(hosted.complete(MSG, purpose="t", prompt_version="v", json_mode=True, schema=SUMMARY_SCHEMA))
    sent = llm_server.requests[1]
    assert "stream" not in sent and sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["strict"] is True
    assert "maxLength" not in json.dumps(sent["response_format"])


def test_local_tool_requests_say_tool_choice_auto(llm_server, llm_settings):
    """llama.cpp's chatml-function-calling format ignores tools unless a tool choice is sent."""
    llm_server.queue(Reply.tool_calls(("search_library", {"query": "kv cache"})))
    tool = {"type": "function", "function": {"name": "search_library", "parameters": {"type": "object"}}}

    async def go(client):
        return [e async for e in client.stream(MSG, tools=[tool])]

    events = run(go(local_client(llm_settings)))
    assert events[-1].answer.tool_calls[0]["function"]["name"] == "search_library"
    assert llm_server.requests[0]["tool_choice"] == "auto"


def test_one_request_at_a_time_across_event_loops_and_threads(llm_server, llm_settings):
    """The TUI calls the model from workers in threads, each with its own loop: a one-slot server must
    still see one request at a time."""
    llm_server.responder = active = InFlight()
    client = local_client(llm_settings)

    def worker(i: int) -> None:
        async def three():
            await asyncio.gather(*(client.complete([{"role": "user", "content": f"q{i}-{j}"}], purpose="t",
                                                   prompt_version="v") for j in range(3)))
        asyncio.run(three())

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(llm_server.requests) == 9
    assert active.max == 1


def test_a_silent_local_server_times_out_once_is_not_retried_and_later_calls_fail_fast(
    llm_server, llm_settings):
    llm_server.queue(Reply.text("too late", delay=5))
    client = local_client(llm_settings, llm_idle_timeout=0.4, llm_retries=3)
    started = time.perf_counter()
    with pytest.raises(LLMUnavailable) as err:
        run(client.complete(MSG, purpose="t", prompt_version="v"))
    assert time.perf_counter() - started < 3
    assert "no answer for 0.4s (idle timeout" in str(err.value) and "attempts" not in str(err.value)
    assert len(llm_server.requests) == 1  # not retried: the server is still working on it
    with pytest.raises(LLMUnavailable):
        run(client.complete([{"role": "user", "content": "another"}], purpose="t", prompt_version="v"))
    assert len(llm_server.requests) == 1


class _SlowStream(BaseHTTPRequestHandler):
    """Streams ``PIECES`` chunks ``PAUSE`` seconds apart: slow in total, never idle for long."""

    PIECES, PAUSE = 8, 0.15

    def log_message(self, *args):  # quiet
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        for i in range(self.PIECES):
            time.sleep(self.PAUSE)
            chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                     "choices": [{"index": 0, "delta": {"content": f"w{i} "}, "finish_reason": None}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        done = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        self.wfile.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())
        self.wfile.flush()


def test_a_slow_but_steady_stream_is_not_cut_off_by_the_idle_timeout(settings, monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _SlowStream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("OPENAI_API_KEY", DUMMY_API_KEY)
        cfg = settings.with_overrides(model="openai/slow",
                                      api_base=f"http://127.0.0.1:{server.server_port}/v1", llm_local=True,
                                      llm_idle_timeout=0.6, llm_timeout=0.5, **FAST_LLM)
        client = LLMClient(cfg, command="test")
        started = time.perf_counter()
        answer = run(client.complete(MSG, purpose="t", prompt_version="v"))
        assert time.perf_counter() - started > 1.0  # longer than the (unused) total timeout and the idle one
        assert answer.text == "".join(f"w{i} " for i in range(8)) and answer.finish_reason == "stop"
    finally:
        server.shutdown()
        server.server_close()


# -- fitting to the context window, and a cut-off answer ----------------------------------------------------
def test_max_tokens_and_the_summary_prompt_fit_a_small_context_window(llm_server, llm_settings, config_file):
    config_file.write_text('[models."openai/test-model"]\ncontext_window = 900\n')
    settings = load_settings(home=llm_settings.home, model=llm_settings.model, api_base=llm_settings.api_base,
                             llm_local=True, **FAST_LLM)
    client = LLMClient(settings, LLMLog(settings.db_path), command="test")
    from papercast.tools.writing.summarize import llm_summary

    paper = Paper(id="2401.00001", title="A long paper", abstract="word " * 3000)
    good = {"tldr": "A long paper says one thing in one short sentence.", "contributions": ["one"],
            "method": "m", "results": "r", "limitations": "not stated", "keywords": ["k"]}
    llm_server.queue(Reply.json(good))
    summary, problem = run(llm_summary(client, paper))
    assert problem is None and summary is not None
    body = llm_server.requests[0]
    sent = client.count_tokens(body["messages"])
    assert sent + body["max_tokens"] <= 900  # the abstract was cut and max_tokens fitted
    assert body["max_tokens"] >= 32 and "word word" in body["messages"][-1]["content"]


def test_rerank_batches_shrink_to_the_context_window(llm_server, llm_settings, config_file):
    from papercast.models import Profile, Recommendation
    from papercast.tools.ranking.rerank import arerank

    config_file.write_text('[models."openai/test-model"]\ncontext_window = 1500\n')
    settings = load_settings(home=llm_settings.home, model=llm_settings.model, api_base=llm_settings.api_base,
                             llm_local=True, **FAST_LLM)
    client = LLMClient(settings, LLMLog(settings.db_path), command="test")
    items = [Recommendation(paper=Paper(id=f"2401.{i:05d}", title=f"Paper {i}", abstract="attention " * 120),
                            score=1.0 - i / 100, reasons=[]) for i in range(12)]
    llm_server.responder = lambda body: Reply.json({"scores": [
        {"id": pid, "score": 5, "reason": "fit"} for pid in json.dumps(body).split('paper id=\\"')[1:]
        for pid in [pid.split('\\"')[0]]]})
    ranked, notes = run(arerank(client, Profile(name="p", interests="attention"), items, 12))
    assert len(llm_server.requests) > 1  # 12 papers did not fit one request
    assert all(client.count_tokens(b["messages"]) + b["max_tokens"] <= 1500 for b in llm_server.requests)
    assert notes == [] and {r.paper.id for r in ranked} == {r.paper.id for r in items}


def test_a_cut_off_answer_is_asked_once_shorter_then_given_up(llm_server, llm_settings):
    client = local_client(llm_settings)
    llm_server.queue(Reply.truncated('{"ok": tr'), Reply.json({"ok": True}))
    parse = json.loads
    assert run(client.complete_json(MSG, lambda t, f: parse(t) if f != "length" else parse("x"), purpose="t",
                                    prompt_version="v", max_tokens=40, repair_max_tokens=80,
                                    repair_prompt="{problem}")) == {"ok": True}
    first, second = llm_server.requests
    assert "cut off" in second["messages"][-1]["content"] and second["max_tokens"] == 80
    assert all(m["role"] != "assistant" for m in second["messages"])  # not the cut answer again
    llm_server.queue(Reply.truncated('{"ok'), Reply.truncated('{"ok'))
    with pytest.raises(ShortAnswer, match="cut off twice"):
        run(client.complete_json([{"role": "user", "content": "again"}], lambda t, f: parse("x"), purpose="t",
                                 prompt_version="v", max_tokens=40, repair_max_tokens=80,
                                 repair_prompt="{problem}"))


# -- papercast model check -----------------------------------------------------------------------------------
def test_model_check_prints_what_works_and_the_settings(llm_server, llm_settings, monkeypatch, capsys):
    def responder(body):
        fmt = (body.get("response_format") or {}).get("type")
        if fmt == "json_schema":
            return Reply.error(400, "response_format json_schema is not supported")
        if fmt == "json_object":
            return Reply.json({"ok": True, "word": "ready"})
        if body.get("tools"):
            return Reply.tool_calls(("search_library", {"query": "kv cache"}))
        return Reply.text("ready")

    llm_server.responder = responder
    monkeypatch.setenv("PAPERCAST_MODEL", llm_settings.model)
    monkeypatch.setenv("PAPERCAST_API_BASE", llm_settings.api_base)
    monkeypatch.setenv("PAPERCAST_LLM_LOCAL", "true")
    assert main(["--home", str(llm_settings.home), "model", "check", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    works = {p["probe"]: p["ok"] for p in report["probes"]}
    assert works == {"plain answer": True, "JSON mode": True, "JSON schema": False,
                     "JSON mode + schema": True, "tool call": True, "streaming": True}
    settings = {s["setting"]: s for s in report["settings"]}
    assert settings["local"]["value"] == "yes" and settings["concurrency"]["value"] == "1"
    assert report["cost_known"] is False and report["answers"] is True
    assert main(["--home", str(llm_settings.home), "model", "check"]) == 0
    table = capsys.readouterr().out
    assert "JSON schema" in table and "json_object+schema" in table and "idle_timeout" in table
    # With a litellm embedding model set, it is probed too.
    monkeypatch.setenv("PAPERCAST_EMBEDDING", "openai/test-embed")
    monkeypatch.setenv("PAPERCAST_EMBEDDING_API_BASE", llm_settings.api_base)
    assert main(["--home", str(llm_settings.home), "model", "check", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    [embedding] = [p for p in report["probes"] if p["probe"] == "embedding"]
    assert embedding["ok"] and embedding["detail"] == f"{llm_server.embedding_dims} dimensions"
    assert report["embedding"] == "openai/test-embed"


def test_model_check_exits_1_when_the_model_answers_nothing(llm_settings, monkeypatch, capsys):
    monkeypatch.setenv("PAPERCAST_MODEL", llm_settings.model)
    monkeypatch.setenv("PAPERCAST_API_BASE", f"http://127.0.0.1:{free_port()}/v1")
    monkeypatch.setenv("PAPERCAST_LLM_RETRIES", "0")
    assert main(["--home", str(llm_settings.home), "model", "check"]) == 1
    captured = capsys.readouterr()
    assert "not tried" in captured.out and "did not answer any probe" in captured.err
    assert len(captured.err.strip().splitlines()) == 1
    # Offline mode has nothing to check: bad input, one line.
    monkeypatch.delenv("PAPERCAST_MODEL")
    assert main(["--home", str(llm_settings.home), "model", "check"]) == 2
    assert "offline mode" in capsys.readouterr().err


def test_a_local_answer_without_max_tokens_is_capped_to_the_window(llm_server, llm_settings, config_file):
    """Without max_tokens a local server generates until its context window is full."""
    config_file.write_text('[models."openai/test-model"]\ncontext_window = 700\n')
    settings = load_settings(home=llm_settings.home, model=llm_settings.model, api_base=llm_settings.api_base,
                             llm_local=True, **FAST_LLM)
    client = LLMClient(settings, LLMLog(settings.db_path), command="test")

    async def go():
        return [e async for e in client.stream(MSG)]

    run(go())
    run(client.complete([{"role": "user", "content": "plain"}], purpose="t", prompt_version="v"))
    streamed, plain = llm_server.requests
    assert 32 <= streamed["max_tokens"] <= 700 - client.count_tokens(MSG)
    assert 32 <= plain["max_tokens"] < 700
    hosted = LLMClient(llm_settings.with_overrides(**FAST_LLM), command="test")  # the provider decides
    run(hosted.complete([{"role": "user", "content": "hosted"}], purpose="t", prompt_version="v"))
    assert "max_tokens" not in llm_server.requests[-1]


def test_papers_a_reranking_answer_leaves_out_are_reported(llm_server, llm_settings):
    from papercast.models import Profile, Recommendation
    from papercast.tools.ranking.rerank import arerank

    items = [Recommendation(paper=Paper(id=f"2401.{i:05d}", title=f"Paper {i}", abstract="attention"),
                            score=1.0 - i / 10, reasons=[]) for i in range(4)]
    # A small model's answer: one id twice, two never.
    llm_server.queue(Reply.json({"scores": [{"id": "2401.00000", "score": 9, "reason": "a"},
                                            {"id": "2401.00000", "score": 2, "reason": "b"},
                                            {"id": "2401.00003", "score": 7, "reason": "c"}]}))
    client = LLMClient(llm_settings.with_overrides(**FAST_LLM), command="test")
    ranked, notes = run(arerank(client, Profile(name="p", interests="attention"), items, 4))
    assert notes == ["LLM re-ranking skipped for 2 of 4 papers: the model's answer left them out"]
    assert sum(any(r.startswith("LLM ") for r in item.reasons) for item in ranked) == 2
