"""A scripted OpenAI-compatible chat-completions and embeddings server on 127.0.0.1, for offline LLM tests.

Tests point litellm at it with model ``openai/test-model`` and ``api_base=server.api_base``, so every
call takes litellm's real HTTP path (openai SDK, httpx, SSE parsing) and only the model is scripted.
Stdlib only (``http.server.ThreadingHTTPServer`` in a daemon thread); starting one costs ~1 ms.

API
---
``LLMServer(responder=None)`` — ``start()`` / ``stop()`` (also a context manager).
    ``url``       ``http://127.0.0.1:PORT``
    ``api_base``  ``http://127.0.0.1:PORT/v1`` (what papercast's ``api_base`` setting takes)
    ``queue(*replies)``  scripted replies, served first-in first-out, one per request
    ``responder``        ``(request_json) -> Reply | str | dict | None``, asked when the queue is empty
                         (a ``str`` is text content, a ``dict`` is JSON content, ``None`` = the default)
    ``default``          the reply when neither has one (``Reply.text("ok")``)
    ``requests``         every request body (parsed JSON), in arrival order
    ``log``              ``RecordedRequest(path, headers, body)`` for each request (header names lower-case)
    ``prompts()``        each request's messages joined as one text, for "was X sent?" assertions
    ``usages``           the ``usage`` reported with each successful answer; ``tokens()`` sums them

Routes: ``POST /v1/chat/completions`` and ``POST /chat/completions``; ``POST /v1/embeddings`` and
``POST /embeddings``; ``GET /v1/models``.

Embeddings (model e.g. ``openai/test-embed``) are deterministic hashed bags of words
(``embedding_vector``): texts sharing words are near, so ranking and search behave sensibly. They are
not normalized, so the client's normalization is exercised. Embedding requests have their own script:
    ``embedding_dims``             the dimension of the vectors served (change it to fake a new model)
    ``queue_embeddings(*replies)`` ``Reply.error(...)`` or ``Reply.raw(...)`` for the next requests
    ``embedding_requests``         every embedding request body; ``embedded_texts()`` all inputs in order
    ``embedding_usages``           the usage reported for each successful embedding answer
``encoding_format: "base64"`` is honoured (the openai SDK's default when called directly).

``Reply`` kinds (class-method constructors):
    ``Reply.text("...")``                      plain assistant content
    ``Reply.json({...})``                      content that is the JSON dump of an object
    ``Reply.tool_calls(("name", {args}), ...)`` OpenAI ``tool_calls`` (ids ``call_N``, arguments as strings)
    ``Reply.error(429, retry_after=1)``        an HTTP error in OpenAI's error shape (+ Retry-After header)
    ``Reply.error(500)``                       a server error
    ``Reply.text("...", delay=5)``             answer after a delay (for timeouts; ``stop()`` cuts it short)
    ``Reply.truncated("{\\"tldr\\": \\"abc")``   finish_reason ``"length"``
    ``Reply.raw("not json")``                  this exact body with status 200 (garbage answers)
Any reply streams as SSE when the request says ``"stream": true`` (role chunk, content in pieces,
tool-call deltas with the arguments split across chunks, a finish chunk, then a usage chunk with
``choices: []`` and ``data: [DONE]``); ``Reply(stream=False)`` forces a plain JSON body.

``usage`` is realistic: ``prompt_tokens`` ≈ characters of all message contents // 4 (+4 per message),
``completion_tokens`` ≈ characters of the output // 4 (at least 1), unless ``Reply.usage`` overrides it.

pytest helpers
--------------
    from llm_server import Reply, point_settings   # the fixtures below are registered by conftest.py

``llm_server``   function-scoped fixture: a started ``LLMServer``, stopped after the test.
``llm_settings`` fixture: the conftest ``settings`` pointed at ``llm_server`` (model ``openai/test-model``)
                 with ``OPENAI_API_KEY`` set to ``DUMMY_API_KEY`` via monkeypatch.
``point_settings(server, settings, monkeypatch, **overrides)`` does the same for any Settings.
``point_embedding(server, settings, monkeypatch, **overrides)`` sets the embedding model to
                 ``openai/test-embed`` served by ``server`` (the LLM stays as ``settings`` has it).
``PaperModel()`` is a responder that answers papercast's own prompts (re-ranking scores, summary JSON,
the digest overview) like a well-behaved model: ``LLMServer(responder=PaperModel())``.
conftest.py adds ``make_service(settings, **overrides)`` (the sample home copied, fast LLM retries) and
``litellm_loaded`` (litellm imported once per session).
``DUMMY_API_KEY`` is recognisable on purpose: tests assert it never appears in papercast's output/files.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

DUMMY_API_KEY = "sk-papercast-test-KEY-must-never-leak-7f3a9c"
TEST_MODEL = "openai/test-model"
TEST_EMBEDDING = "openai/test-embed"
EMBEDDING_DIMS = 128


@dataclass
class Reply:
    """One scripted answer. Use the class-method constructors; fields are for fine control."""

    content: str | None = None
    calls: list[dict[str, Any]] | None = None  # OpenAI tool_calls: {"id", "type", "function"}
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    error_message: str = ""
    delay: float = 0.0
    finish_reason: str | None = None  # default: "tool_calls" with tool calls, else "stop"
    stream: bool | None = None  # None = as the request asks; False = never stream
    usage: dict[str, int] | None = None  # override the computed token counts
    raw_body: str | None = None  # send this body as it is (any route): see ``Reply.raw``

    @classmethod
    def text(cls, content: str, **kw: Any) -> Reply:
        return cls(content=content, **kw)

    @classmethod
    def json(cls, obj: Any, **kw: Any) -> Reply:
        return cls(content=json.dumps(obj), **kw)

    @classmethod
    def tool_calls(cls, *calls: tuple[str, Any], content: str | None = None, **kw: Any) -> Reply:
        built = []
        for i, (name, args) in enumerate(calls):
            arguments = args if isinstance(args, str) else json.dumps(args)
            built.append({"id": f"call_{i + 1}", "type": "function",
                          "function": {"name": name, "arguments": arguments}})
        return cls(content=content, calls=built, **kw)

    @classmethod
    def error(cls, status: int, message: str = "", *, retry_after: float | None = None, **kw: Any) -> Reply:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        return cls(status=status, headers=headers,
                   error_message=message or {429: "Rate limit reached", 500: "The server had an error"}.get(
                       status, f"error {status}"), **kw)

    @classmethod
    def truncated(cls, content: str, **kw: Any) -> Reply:
        return cls(content=content, finish_reason="length", **kw)

    @classmethod
    def raw(cls, body: str | Any, **kw: Any) -> Reply:
        """A body sent as it is: a string verbatim, anything else as its JSON dump."""
        return cls(raw_body=body if isinstance(body, str) else json.dumps(body), **kw)


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


def _message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):  # content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    parts = [content or ""]
    for call in message.get("tool_calls") or []:
        parts.append(call.get("function", {}).get("arguments", ""))
    return "".join(str(p) for p in parts)


def embedding_vector(text: str, dims: int = EMBEDDING_DIMS) -> list[float]:
    """A hashed bag of words: each word adds +-1 to one of ``dims`` slots (never all zero)."""
    vector = [0.0] * dims
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        h = int.from_bytes(hashlib.sha1(word.encode()).digest()[:8], "big")
        vector[h % dims] += 1.0 if (h >> 40) & 1 else -1.0
    if not any(vector):
        vector[0] = 1.0
    return vector


def count_usage(body: dict[str, Any], reply: Reply) -> dict[str, int]:
    """Token counts like a real tokenizer would roughly give: ~4 characters per token."""
    if reply.usage is not None:
        return dict(reply.usage)
    messages = body.get("messages") or []
    prompt = sum(len(_message_text(m)) // 4 + 4 for m in messages)
    if body.get("tools"):
        prompt += len(json.dumps(body["tools"])) // 4
    out = len(reply.content or "") + sum(len(c["function"]["arguments"]) + len(c["function"]["name"])
                                         for c in reply.calls or [])
    completion = max(1, out // 4)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


class LLMServer:
    """The scripted server. Thread-safe: litellm may send requests concurrently."""

    def __init__(self,
                 responder: Callable[[dict[str, Any]], Reply | str | dict | None] | None = None) -> None:
        self.responder = responder
        self.default = Reply.text("ok")
        self.requests: list[dict[str, Any]] = []
        self.log: list[RecordedRequest] = []
        self.usages: list[dict[str, int]] = []  # the usage reported for each successful answer
        self.embedding_dims = EMBEDDING_DIMS
        self.embedding_requests: list[dict[str, Any]] = []
        self.embedding_usages: list[dict[str, int]] = []
        self._queue: deque[Reply] = deque()
        self._embedding_queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._counter = 0

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> LLMServer:
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="llm-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes delayed replies
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> LLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        return f"{self.url}/v1"

    # -- scripting ------------------------------------------------------------------------------
    def queue(self, *replies: Reply | str | dict) -> LLMServer:
        with self._lock:
            self._queue.extend(_as_reply(r) for r in replies)
        return self

    def queue_embeddings(self, *replies: Reply) -> LLMServer:
        """Replies for the next embedding requests (errors, raw bodies); then vectors again."""
        with self._lock:
            self._embedding_queue.extend(replies)
        return self

    def embedded_texts(self) -> list[str]:
        """Every text sent for embedding, in arrival order."""
        out: list[str] = []
        for body in list(self.embedding_requests):
            given = body.get("input")
            out.extend([given] if isinstance(given, str) else list(given or []))
        return out

    def _next_embedding_reply(self, body: dict[str, Any]) -> Reply | None:
        with self._lock:
            self.embedding_requests.append(body)
            return self._embedding_queue.popleft() if self._embedding_queue else None

    @property
    def pending(self) -> int:
        """Queued replies not yet served."""
        with self._lock:
            return len(self._queue)

    def tokens(self) -> dict[str, int]:
        """Prompt, completion and total tokens of every answer served so far."""
        with self._lock:
            prompt = sum(u["prompt_tokens"] for u in self.usages)
            completion = sum(u["completion_tokens"] for u in self.usages)
        return {"prompt": prompt, "completion": completion, "total": prompt + completion}

    def prompts(self) -> list[str]:
        """Each request's messages as one text ("role: content" lines)."""
        return ["\n".join(f"{m.get('role')}: {_message_text(m)}" for m in body.get("messages") or [])
                for body in list(self.requests)]

    def _next_reply(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(body)
            if self._queue:
                return self._queue.popleft()
        if self.responder is not None:
            got = self.responder(body)
            if got is not None:
                return _as_reply(got)
        return self.default

    def _next_id(self) -> str:
        with self._lock:
            self._counter += 1
            return f"chatcmpl-test{self._counter:04d}"


def _as_reply(value: Reply | str | dict) -> Reply:
    if isinstance(value, Reply):
        return value
    if isinstance(value, str):
        return Reply.text(value)
    return Reply.json(value)


def _chunks(text: str, size: int = 12) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)] or []


class _Handler(BaseHTTPRequestHandler):
    owner: LLMServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet test output
        pass

    def do_GET(self) -> None:  # noqa: N802
        if self.path.rstrip("/") in ("/v1/models", "/models"):
            self._send_json(200, {"object": "list", "data": [{"id": "test-model", "object": "model"}]})
        else:
            self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        route = self.path.split("?")[0].rstrip("/")
        if route not in ("/v1/chat/completions", "/chat/completions", "/v1/embeddings", "/embeddings"):
            self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._send_json(400, {"error": {"message": "body is not JSON", "type": "invalid_request_error"}})
            return
        owner = self.owner
        owner.log.append(RecordedRequest(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        if route.endswith("/embeddings"):
            self._embeddings(body, owner._next_embedding_reply(body))
            return
        reply = owner._next_reply(body)
        if reply.delay and owner._stopping.wait(reply.delay):
            self.close_connection = True
            return
        if self._sent_scripted(reply):
            return
        model = str(body.get("model") or "test-model")
        usage = count_usage(body, reply)
        with owner._lock:
            owner.usages.append(usage)
        finish = reply.finish_reason or ("tool_calls" if reply.calls else "stop")
        if body.get("stream") and reply.stream is not False:
            self._stream(owner._next_id(), model, reply, finish, usage)
            return
        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        if reply.calls:
            message["tool_calls"] = reply.calls
        self._send_json(200, {
            "id": owner._next_id(), "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": usage, "system_fingerprint": "fp_test",
        }, reply.headers)

    def _embeddings(self, body: dict[str, Any], reply: Reply | None) -> None:
        owner = self.owner
        if reply is not None and reply.delay and owner._stopping.wait(reply.delay):
            self.close_connection = True
            return
        if reply is not None and self._sent_scripted(reply):
            return
        given = body.get("input")
        texts = [given] if isinstance(given, str) else [str(t) for t in given or []]
        data = []
        for index, text in enumerate(texts):
            vector: Any = embedding_vector(text, owner.embedding_dims)
            if body.get("encoding_format") == "base64":
                vector = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
            data.append({"object": "embedding", "index": index, "embedding": vector})
        tokens = sum(len(t) // 4 + 1 for t in texts)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        with owner._lock:
            owner.embedding_usages.append(usage)
        self._send_json(200, {"object": "list", "data": data, "model": str(body.get("model") or ""),
                              "usage": usage})

    # -- responses --------------------------------------------------------------------------------
    def _sent_scripted(self, reply: Reply) -> bool:
        """Send an error or raw reply; False when the reply is a normal answer for the caller to build."""
        if reply.raw_body is not None:
            data = reply.raw_body.encode("utf-8")
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return True
        if reply.status >= 400:
            kind = {429: "rate_limit_exceeded", 500: "server_error"}.get(reply.status,
                                                                          "invalid_request_error")
            self._send_json(reply.status, {"error": {"message": reply.error_message, "type": kind,
                                                     "param": None, "code": kind}}, reply.headers)
            return True
        return False

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, cid: str, model: str, reply: Reply, finish: str, usage: dict[str, int]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        created = int(time.time())

        def chunk(delta: dict[str, Any] | None, finish_reason: str | None = None,
                  extra: dict[str, Any] | None = None) -> None:
            choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish_reason,
                                                 "logprobs": None}]
            payload = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                       "system_fingerprint": "fp_test", "choices": choices, **(extra or {})}
            self.wfile.write(f"data: {json.dumps(payload)}\n\n".encode())
            self.wfile.flush()

        chunk({"role": "assistant", "content": ""})
        for piece in _chunks(reply.content or ""):
            chunk({"content": piece})
        for index, call in enumerate(reply.calls or []):
            fn = call["function"]
            chunk({"tool_calls": [{"index": index, "id": call["id"], "type": "function",
                                   "function": {"name": fn["name"], "arguments": ""}}]})
            for piece in _chunks(fn["arguments"], 8):
                chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
        chunk({}, finish)
        chunk(None, extra={"usage": usage})
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


# -- pytest fixtures --------------------------------------------------------------------------------
class InFlight:
    """A responder that answers "ok" slowly and counts the most requests the server held at once."""

    def __init__(self, seconds: float = 0.05) -> None:
        self.seconds = seconds
        self.now = 0
        self.max = 0
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            self.now += 1
            self.max = max(self.max, self.now)
        time.sleep(self.seconds)
        with self._lock:
            self.now -= 1
        return Reply.text("ok")


def point_settings(server: LLMServer, settings: Any, monkeypatch: pytest.MonkeyPatch,
                   **overrides: Any) -> Any:
    """``settings`` pointed at ``server`` (model ``openai/test-model``), with a dummy OPENAI_API_KEY."""
    monkeypatch.setenv("OPENAI_API_KEY", DUMMY_API_KEY)
    return settings.with_overrides(model=TEST_MODEL, api_base=server.api_base, **overrides)


def point_embedding(server: LLMServer, settings: Any, monkeypatch: pytest.MonkeyPatch,
                    **overrides: Any) -> Any:
    """``settings`` embedding with ``openai/test-embed`` on ``server``, with a dummy OPENAI_API_KEY."""
    monkeypatch.setenv("OPENAI_API_KEY", DUMMY_API_KEY)
    return settings.with_overrides(embedding=TEST_EMBEDDING, embedding_api_base=server.api_base, **overrides)


@pytest.fixture
def llm_server() -> Iterator[LLMServer]:
    """A started scripted server, stopped after the test."""
    server = LLMServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def llm_settings(llm_server: LLMServer, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The test home's settings pointed at ``llm_server``."""
    return point_settings(llm_server, settings, monkeypatch)


# -- a scripted "paper model" for papercast's own prompts ------------------------------------------------
_PAPER_BLOCK = re.compile(r'<paper id="([^"]+)">(.*?)</paper>', re.DOTALL)


def paper_blocks(text: str) -> list[tuple[str, str]]:
    """(id, escaped block text) of each ``<paper id=...>`` block in a prompt."""
    return _PAPER_BLOCK.findall(text)


def default_score(paper_id: str, block: str) -> int:
    """A deterministic 1..10 "relevance" per paper id (what an honest model might answer)."""
    return 1 + int(hashlib.sha1(paper_id.encode()).hexdigest(), 16) % 10


@dataclass
class PaperModel:
    """A responder that answers papercast's prompts like a well-behaved model would.

    * re-ranking ("Score these N papers"): ``{"scores": [{"id", "score", "reason"}]}`` using ``score``;
    * summaries ("Summarize this paper"): a valid summary JSON naming the paper's title;
    * digest TL;DRs ("Write TL;DRs"): ``{"papers": [{"id", "tldr", "keywords"}]}``;
    * the digest overview ("Today's picks"): two sentences of text.
    It reads only what is inside ``<paper>`` blocks for scores, so a test can tell whether papercast
    put text outside them. ``seen`` counts each kind of request.
    """

    score: Callable[[str, str], int] = default_score
    seen: dict[str, int] = field(default_factory=dict)

    def __call__(self, body: dict[str, Any]) -> Reply | None:
        user = "\n".join(_message_text(m) for m in body.get("messages") or [] if m.get("role") == "user")
        blocks = paper_blocks(user)
        if "Score these" in user:
            self.seen["rerank"] = self.seen.get("rerank", 0) + 1
            return Reply.json({"scores": [{"id": pid, "score": self.score(pid, block),
                                           "reason": f"topic fit of {pid}"} for pid, block in blocks]})
        if "Summarize this paper" in user and blocks:
            self.seen["summary"] = self.seen.get("summary", 0) + 1
            pid, block = blocks[0]
            title = re.search(r"title: (.*)", block)
            name = title.group(1).strip() if title else pid
            return Reply.json({"tldr": f"{name} is summarized in one short sentence.",
                               "contributions": [f"contribution of {pid}"], "method": "a method",
                               "results": "some results", "limitations": "not stated",
                               "keywords": ["alpha", "beta"]})
        if "Write TL;DRs" in user:
            self.seen["tldr"] = self.seen.get("tldr", 0) + 1
            return Reply.json({"papers": [{"id": pid, "tldr": f"TL;DR of {pid} in one short sentence.",
                                           "keywords": ["alpha", "beta"]} for pid, _ in blocks]})
        if "Today's picks" in user:
            self.seen["overview"] = self.seen.get("overview", 0) + 1
            return Reply.text(f"Today brings {len(blocks)} papers worth reading. They share a common theme.")
        return None
