"""``papercast model check``: one probe per capability papercast relies on, against the configured model.

Why probe instead of trusting litellm's model map: a local server's model is unknown to the map,
and what a server accepts (JSON mode, a schema, tools, streaming) depends on the server, not the
model's name. Each probe is one small request, sent for real (never from the cache), timed, and
reported as worked / failed with the reason; the settings papercast will use (``LLMPolicy``) are
listed with where each came from. When the first probe gets no answer the rest are not tried:
they would only wait for the same dead server.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from papercast.errors import one_line
from papercast.models import ModelCheck, Probe
from papercast.tools.llm.answers import Answer
from papercast.tools.llm.client import LLMClient
from papercast.tools.llm.failures import LLMUnavailable
from papercast.tools.llm.loader import load_litellm
from papercast.tools.llm.parsing import extract_json
from papercast.tools.llm.policy import supports

log = logging.getLogger(__name__)

PROBE_VERSION = "probe-v1"
_SCHEMA = {"type": "object",
           "properties": {"ok": {"type": "boolean"}, "word": {"type": "string", "maxLength": 20}},
           "required": ["ok", "word"], "additionalProperties": False}
_JSON_ASK = [{"role": "system", "content": "Reply with one JSON object and nothing else."},
             {"role": "user", "content": 'Reply with {"ok": true, "word": "ready"}'}]
_TOOL = {"type": "function", "function": {
    "name": "search_library", "description": "Search the user's paper library.",
    "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}}


async def _timed(name: str, probe: Callable[[], Awaitable[str]]) -> Probe:
    started = time.perf_counter()
    try:
        detail = await probe()
    except LLMUnavailable as exc:
        return Probe(name, False, time.perf_counter() - started, one_line(str(exc), 200))
    except ValueError as exc:  # an answer came, but not the one asked for
        return Probe(name, False, time.perf_counter() - started, one_line(str(exc), 200))
    return Probe(name, True, time.perf_counter() - started, one_line(detail, 120))


def _json_detail(answer: Answer) -> str:
    data = extract_json(answer.text)
    if not isinstance(data, dict):
        raise ValueError(f"not a JSON object: {answer.text[:60]!r}")
    return json.dumps(data)[:80]


async def check_model(client: LLMClient, embed_client: LLMClient | None = None) -> ModelCheck:
    """Probe ``client``'s model (and ``embed_client``'s embedding model) and collect the policy."""
    policy = client.policy

    async def ask(messages: list[dict[str, Any]], purpose: str, **params: Any) -> Answer:
        client.unreachable = None  # each probe asks for itself
        return await client.complete(messages, purpose=f"probe-{purpose}", prompt_version=PROBE_VERSION,
                                     cache=False, **params)

    async def plain() -> str:
        answer = await ask([{"role": "user", "content": "Reply with the single word: ready"}], "plain",
                           max_tokens=16)
        if not answer.text.strip():
            raise ValueError("an empty answer")
        return repr(answer.text.strip()[:40])

    async def json_with(response_format: dict[str, Any]) -> str:
        return _json_detail(await ask(_JSON_ASK, "json", max_tokens=40, response_format=response_format))

    async def tool_call() -> str:
        ask_for_tool = [{"role": "user", "content": "Find papers about KV cache compression in my library."}]
        answer = await ask(ask_for_tool, "tools", max_tokens=80, tools=[_TOOL], tool_choice="auto")
        if not answer.tool_calls:
            raise ValueError(f"no tool call; it answered {answer.text.strip()[:50]!r}")
        call = answer.tool_calls[0]["function"]
        return f"{call['name']}({call['arguments'][:60]})"

    async def streaming() -> str:
        client.unreachable = None
        started = time.perf_counter()
        first: float | None = None
        pieces = 0
        async for event in client.stream([{"role": "user", "content": "Count from one to five in words."}],
                                         purpose="probe-stream", max_tokens=32):
            if event.text:
                pieces += 1
                first = first if first is not None else time.perf_counter() - started
        if not pieces:
            raise ValueError("no text chunks")
        return f"{pieces} chunks, first after {first or 0:.2f} s"

    probes = [await _timed("plain answer", plain)]
    tries: list[tuple[str, Callable[[], Awaitable[str]]]] = [
        ("JSON mode", lambda: json_with({"type": "json_object"})),
        ("JSON schema", lambda: json_with({"type": "json_schema", "json_schema": {
            "name": "probe", "schema": {k: v for k, v in _SCHEMA.items()}, "strict": False}})),
    ]
    if policy.local or policy.json_format == "json_object+schema":
        tries.append(("JSON mode + schema", lambda: json_with({"type": "json_object", "schema": _SCHEMA})))
    tries += [("tool call", tool_call), ("streaming", streaming)]
    for name, probe in tries:
        probes.append(await _timed(name, probe) if probes[0].ok else Probe(name, None, 0.0, "not tried"))

    embedding = None
    if embed_client is not None:
        embedding = embed_client.model

        async def embed() -> str:
            response = await embed_client.aembed(["a probe sentence about attention"], purpose="probe-embed")
            vectors = [getattr(d, "embedding", None) or d["embedding"] for d in response.data]
            return f"{len(vectors[0])} dimensions"

        probes.append(await _timed("embedding", embed))

    litellm = load_litellm()
    try:
        litellm.cost_per_token(model=client.model, prompt_tokens=1, completion_tokens=1)
        cost_known = True
    except Exception:
        cost_known = False
    claims = {kind: supports(kind, client.model, policy.provider)
              for kind in ("response_schema", "function_calling")}
    client.unreachable = None
    return ModelCheck(model=client.model, api_base=client.api_base, provider=policy.provider,
                      probes=probes, settings=policy.rows(), cost_known=cost_known, litellm_claims=claims,
                      embedding=embedding)
