"""A webhook receiver on 127.0.0.1 for the delivery tests: records every POST and answers as scripted.

Stdlib only (``http.server.ThreadingHTTPServer`` in a daemon thread). ``status`` and ``body`` are what
every request gets (a Slack-like ``ok`` by default); ``posts`` holds ``(path, headers, parsed JSON)``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class WebhookServer:
    status: int = 200
    body: str = "ok"
    posts: list[tuple[str, dict[str, str], Any]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> WebhookServer:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet tests
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    data = json.loads(raw)
                except ValueError:
                    data = raw.decode("utf-8", "replace")
                receiver.posts.append((self.path, {k.lower(): v for k, v in self.headers.items()}, data))
                payload = receiver.body.encode()
                self.send_response(receiver.status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def url(self, path: str = "/hooks/T000/B000/secret-token-0123") -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"


@pytest.fixture
def webhook() -> Iterator[WebhookServer]:
    server = WebhookServer().start()
    try:
        yield server
    finally:
        server.stop()
