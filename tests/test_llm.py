"""The LLM client against the loopback server: litellm's real HTTP path, only the model is scripted.

Covers the server itself (plain, JSON, tool calls, streaming), the response cache, retries on 429 /
500 / timeouts, one-line failures, token and cost accounting per run, the budget and ``papercast usage``.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from papercast.errors import redact
from papercast.store.llm_log import LLMLog
from papercast.tools.llm.client import LLMClient
from papercast.tools.llm.failures import BudgetExceeded, LLMUnavailable
from papercast.tools.llm.loader import load_litellm
from papercast.tools.llm.parsing import extract_json

from llm_server import DUMMY_API_KEY, InFlight, LLMServer, Reply

FAST = {"llm_backoff": 0.01, "llm_max_backoff": 0.05}
MSG = [{"role": "user", "content": "Say something about attention sinks, please."}]


pytestmark = pytest.mark.usefixtures("litellm_loaded")


def make_client(settings, **extra) -> LLMClient:
    return LLMClient(settings.with_overrides(**{**FAST, **extra}), command="test")


def run(coro):
    return asyncio.run(coro)


# -- the server through litellm ----------------------------------------------------------------------------
def test_server_answers_json_tool_calls_and_streams_through_litellm(llm_server, llm_settings):
    litellm = load_litellm()
    llm_server.queue(Reply.json({"a": 1}), Reply.tool_calls(("search", {"query": "long context"})),
                     Reply.tool_calls(("search", {"query": "a long streamed argument"}),
                                      content="Let me look."))
    tools = [{"type": "function", "function": {"name": "search", "parameters": {
        "type": "object", "properties": {"query": {"type": "string"}}}}}]

    async def go():
        base = {"model": llm_settings.model, "api_base": llm_server.api_base, "max_retries": 0}
        plain = await litellm.acompletion(messages=MSG, response_format={"type": "json_object"}, **base)
        called = await litellm.acompletion(messages=MSG, tools=tools, **base)
        stream = await litellm.acompletion(messages=MSG, tools=tools, stream=True,
                                           stream_options={"include_usage": True}, **base)
        chunks = [c async for c in stream]
        return plain, called, litellm.stream_chunk_builder(chunks), chunks

    plain, called, built, chunks = run(go())
    assert json.loads(plain.choices[0].message.content) == {"a": 1}
    assert plain.usage.prompt_tokens == len(MSG[0]["content"]) // 4 + 4
    call = called.choices[0].message.tool_calls[0]
    assert (call.id, call.function.name, json.loads(call.function.arguments)) == (
        "call_1", "search", {"query": "long context"})
    assert len(chunks) > 5  # really streamed in pieces
    assert built.choices[0].message.content == "Let me look."
    assert json.loads(built.choices[0].message.tool_calls[0].function.arguments) == {
        "query": "a long streamed argument"}
    assert built.usage.completion_tokens > 0
    assert [b["messages"] for b in llm_server.requests] == [MSG] * 3
    assert llm_server.requests[0]["response_format"] == {"type": "json_object"}
    assert llm_server.log[0].headers["authorization"] == f"Bearer {DUMMY_API_KEY}"


# -- cache and accounting -----------------------------------------------------------------------------------
def test_same_request_is_paid_once_and_accounted_per_run(llm_server, llm_settings):
    llm_server.queue(Reply.text("attention sinks are first tokens"))
    client = make_client(llm_settings)
    first = run(client.complete(MSG, purpose="t", prompt_version="v1"))
    second = run(make_client(llm_settings).complete(MSG, purpose="t", prompt_version="v1"))
    assert first.text == second.text == "attention sinks are first tokens"
    assert (first.cached, second.cached) == (False, True)
    assert len(llm_server.requests) == 1
    # A new prompt version or model is a new request.
    run(client.complete(MSG, purpose="t", prompt_version="v2"))
    assert len(llm_server.requests) == 2
    assert client.usage.calls == 2 and client.usage.prompt_tokens == 2 * first.prompt_tokens > 0
    runs = {r.run_id: r for r in LLMLog(llm_settings.db_path).runs()}
    mine = runs[client.run_id]
    assert (mine.calls, mine.cached_calls, mine.prompt_tokens, mine.command) == (
        2, 0, client.usage.prompt_tokens, "test")
    assert mine.cost_usd is None and mine.unpriced_calls == 2  # test-model has no price: "unknown"
    assert client.usage.cost_label == "unknown"
    assert any("no known price" in n for n in client.notices)
    assert len(runs) == 2  # the second client was its own run (one cache hit, nothing paid)


def test_same_model_name_on_another_server_is_not_answered_from_the_cache(llm_server, llm_settings):
    """Two servers may serve different models under one name: the api_base is part of the cache key."""
    llm_server.queue(Reply.text("answer of server A"))
    with LLMServer() as other:
        other.queue(Reply.text("answer of server B"))
        first = run(make_client(llm_settings).complete(MSG, purpose="t", prompt_version="v1"))
        elsewhere = run(make_client(llm_settings.with_overrides(api_base=other.api_base)).complete(
            MSG, purpose="t", prompt_version="v1"))
        assert (first.text, elsewhere.text) == ("answer of server A", "answer of server B")
        assert not elsewhere.cached and len(other.requests) == 1
    # Each server's answer stays cached for that server (a trailing slash is the same server).
    again = run(make_client(llm_settings.with_overrides(api_base=llm_server.api_base + "/")).complete(
        MSG, purpose="t", prompt_version="v1"))
    assert again.cached and again.text == "answer of server A"
    assert len(llm_server.requests) == 1


def test_priced_model_cost_comes_from_litellm(llm_server, llm_settings):
    settings = llm_settings.with_overrides(model="openai/gpt-4o-mini")
    llm_server.queue(Reply.text("x" * 400, usage={"prompt_tokens": 1000, "completion_tokens": 100,
                                                  "total_tokens": 1100}))
    client = make_client(settings)
    answer = run(client.complete(MSG, purpose="t", prompt_version="v1"))
    expected = load_litellm().cost_per_token(model="gpt-4o-mini", prompt_tokens=1000, completion_tokens=100)
    assert answer.cost_usd == pytest.approx(sum(expected))
    assert answer.cost_usd > 0
    assert client.usage.cost_usd == pytest.approx(answer.cost_usd)
    assert client.usage.calls == 1


# -- failures -------------------------------------------------------------------------------------------
def test_rate_limit_is_retried_after_retry_after(llm_server, llm_settings):
    llm_server.queue(Reply.error(429, retry_after=0.2), Reply.text("fine now"))
    client = make_client(llm_settings)
    started = time.perf_counter()
    answer = run(client.complete(MSG, purpose="t", prompt_version="v1"))
    assert answer.text == "fine now"
    assert len(llm_server.requests) == 2
    assert time.perf_counter() - started >= 0.2  # waited as the server asked
    assert client.usage.calls == 1  # the refused request is not a paid call


def test_server_errors_give_up_in_one_line_and_later_calls_fail_fast(llm_server, llm_settings):
    llm_server.queue(*[Reply.error(500)] * 3)
    client = make_client(llm_settings, llm_retries=2)
    with pytest.raises(LLMUnavailable) as err:
        run(client.complete(MSG, purpose="t", prompt_version="v1"))
    message = str(err.value)
    assert "\n" not in message and "HTTP 500" in message and "after 3 attempts" in message
    assert len(llm_server.requests) == 3
    with pytest.raises(LLMUnavailable):
        run(client.complete([{"role": "user", "content": "another"}], purpose="t", prompt_version="v1"))
    assert len(llm_server.requests) == 3  # the run knows the model is down: no more waiting
    assert client.notices == [message]


def test_500_then_success(llm_server, llm_settings):
    llm_server.queue(Reply.error(500), Reply.text("recovered"))
    assert run(make_client(llm_settings).complete(MSG, purpose="t", prompt_version="v1")).text == "recovered"
    assert len(llm_server.requests) == 2


def test_timeout_is_retried_then_reported(llm_server, llm_settings):
    settings = llm_settings.with_overrides(llm_timeout=0.3)
    llm_server.queue(Reply.text("too late", delay=5), Reply.text("too late", delay=5))
    client = make_client(settings, llm_retries=1)
    with pytest.raises(LLMUnavailable, match=r"no answer within 0.3s"):  # not the late answer
        run(client.complete(MSG, purpose="t", prompt_version="v1"))
    assert len(llm_server.requests) == 2


def test_unreachable_model_is_one_line(llm_settings, monkeypatch):
    dead = LLMServer().start()
    base = dead.api_base
    dead.stop()
    client = make_client(llm_settings.with_overrides(api_base=base), llm_retries=1)
    with pytest.raises(LLMUnavailable) as err:
        run(client.complete(MSG, purpose="t", prompt_version="v1"))
    assert "connection failed" in str(err.value) and "\n" not in str(err.value)
    assert DUMMY_API_KEY not in str(err.value)


def test_bad_key_is_not_retried_and_not_echoed(llm_server, llm_settings):
    llm_server.queue(Reply.error(401, f"Incorrect API key provided: {DUMMY_API_KEY}"))
    client = make_client(llm_settings)
    with pytest.raises(LLMUnavailable) as err:
        run(client.complete(MSG, purpose="t", prompt_version="v1"))
    assert len(llm_server.requests) == 1
    assert "rejected the API key" in str(err.value)
    assert DUMMY_API_KEY not in str(err.value) and DUMMY_API_KEY not in " ".join(client.notices)


def test_budget_stops_paid_calls_with_a_notice(llm_server, llm_settings):
    settings = llm_settings.with_overrides(model="openai/gpt-4o-mini", max_usd_per_run=0.0001)
    big = {"prompt_tokens": 1_000_000, "completion_tokens": 10, "total_tokens": 1_000_010}
    llm_server.queue(Reply.text("expensive", usage=big))
    client = make_client(settings)
    run(client.complete(MSG, purpose="t", prompt_version="v1"))
    with pytest.raises(BudgetExceeded, match="budget"):
        run(client.complete([{"role": "user", "content": "more"}], purpose="t", prompt_version="v1"))
    assert len(llm_server.requests) == 1
    assert any("budget of $0.0001 per run reached" in n for n in client.notices)
    # Cached answers are free, so they are still served.
    assert run(client.complete(MSG, purpose="t", prompt_version="v1")).cached


def test_concurrency_limit_is_respected(llm_server, llm_settings):
    llm_server.responder = active = InFlight()
    client = make_client(llm_settings.with_overrides(llm_concurrency=2))

    async def many():
        return await asyncio.gather(*(client.complete([{"role": "user", "content": f"q{i}"}], purpose="t",
                                                      prompt_version="v1") for i in range(6)))

    assert len(run(many())) == 6
    assert active.max == 2


# -- streaming ------------------------------------------------------------------------------------------
def test_stream_yields_text_then_the_whole_answer(llm_server, llm_settings):
    llm_server.queue(Reply.tool_calls(("search_papers", {"query": "kv cache"}),
                                      content="Searching the store now."))
    client = make_client(llm_settings)

    async def go():
        return [e async for e in client.stream(MSG, tools=[{"type": "function", "function": {
            "name": "search_papers", "parameters": {"type": "object", "properties": {}}}}])]

    events = run(go())
    assert "".join(e.text for e in events) == "Searching the store now."
    answer = events[-1].answer
    assert answer is not None and answer.completion_tokens > 0
    assert answer.tool_calls[0]["function"]["name"] == "search_papers"
    assert json.loads(answer.tool_calls[0]["function"]["arguments"]) == {"query": "kv cache"}
    assert llm_server.requests[0]["stream"] is True
    assert client.usage.calls == 1


# -- small pieces ---------------------------------------------------------------------------------------
def test_redact_hides_key_like_environment_values(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "abcd-secret-1234")
    assert redact("key abcd-secret-1234 and sk-abcdefghijklmnop12") == "key *** and sk-***"


@pytest.mark.parametrize("text", ['{"a": 1}', '```json\n{"a": 1}\n```', 'Sure! Here it is: {"a": 1} Enjoy.'])
def test_extract_json_tolerates_wrapping(text):
    assert extract_json(text) == {"a": 1}


def test_usage_command_lists_runs(llm_server, llm_settings, capsys, monkeypatch):
    from papercast.cli import main

    llm_server.queue(Reply.text("hello"))
    client = make_client(llm_settings)
    run(client.complete(MSG, purpose="t", prompt_version="v1"))
    assert main(["--home", str(llm_settings.home), "usage", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["run_id"] == client.run_id and rows[0]["calls"] == 1
    assert rows[0]["cost_usd"] is None and rows[0]["cost_known"] is False
    assert main(["--home", str(llm_settings.home), "usage"]) == 0
    table = capsys.readouterr().out
    assert "openai/test-model" in table and "unknown" in table
