"""Offline ``summarize`` with full text on, against the same with ``PAPERCAST_FULLTEXT=false``.

The 200 papers are real arXiv ids (the bundled sample's first 200 by id, already embedded, so no
embedding work is timed). "No network" is simulated in-process: arXiv's HTML and PDF requests go
through an ``httpx.MockTransport`` that waits ``--dns-wait`` seconds (what a resolver with no network
costs; ~3 s per lookup on the laptop of issue 26, 6 s a paper for HTML then PDF) and then raises the
``httpx.ConnectError`` caused by ``socket.gaierror`` that httpx raises when DNS fails. Nothing reaches a
network. Each run gets a fresh copy of the home (summaries are cached), made outside the timing.

Runs interleave (full text on, off, on, off, ...) and the medians are compared. Goal: on <= 1.2x off.

    .venv/bin/python bench/offline_fulltext.py [--papers 200] [--runs 3] [--dns-wait 3.0]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from service_parts import paper_store

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
for name in list(os.environ):
    if name.startswith("PAPERCAST_"):
        del os.environ[name]  # offline mode (no model) whatever the shell has


def no_network(wait: float, asked: list[str]) -> httpx.AsyncBaseTransport:
    """A transport that fails like DNS with no network, after ``wait`` seconds."""

    async def handler(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        await asyncio.sleep(wait)
        try:
            raise socket.gaierror(-3, "Temporary failure in name resolution")
        except socket.gaierror as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc

    return httpx.MockTransport(handler)


def run_once(template: Path, ids: list[str], *, fulltext: bool, wait: float) -> tuple[float, int, list[str]]:
    """Seconds of one ``summarize`` of ``ids`` on a fresh copy of the home; requests sent; notices."""
    from papercast.config import load_settings
    from papercast.service import Papercast

    with tempfile.TemporaryDirectory(prefix="papercast-bench-offline-") as tmp:
        home = Path(tmp) / "home"
        shutil.copytree(template, home)
        service = Papercast(load_settings(home=home, fulltext=fulltext))
        asked: list[str] = []
        service.fulltext_client = lambda: httpx.AsyncClient(transport=no_network(wait, asked))
        started = time.perf_counter()
        summaries = service.summarize(ids)
        notices = service.network_notices()
        seconds = time.perf_counter() - started
        assert len(summaries) == len(ids) and all(s.source == "abstract" for s in summaries)
        return seconds, len(asked), notices


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--papers", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dns-wait", type=float, default=3.0, help="seconds one failed DNS lookup takes")
    args = parser.parse_args()

    from papercast.config import load_settings
    from papercast.service import Papercast

    with tempfile.TemporaryDirectory(prefix="papercast-bench-template-") as tmp:
        template = Path(tmp) / "home"
        service = Papercast(load_settings(home=template))
        service.ensure_sample()
        ids = sorted(paper_store(service).collection.get(include=[])["ids"])[:args.papers]
        del service
        print(f"{len(ids)} real arXiv ids (the bundled sample), no network simulated as a DNS failure "
              f"after {args.dns_wait:.1f} s; {args.runs} interleaved runs each")
        on: list[float] = []
        off: list[float] = []
        for run in range(args.runs):
            seconds, asked, notices = run_once(template, ids, fulltext=True, wait=args.dns_wait)
            on.append(seconds)
            print(f"run {run + 1}  full text on : {seconds:7.2f} s  ({asked} requests; {'; '.join(notices)})")
            seconds, asked, _ = run_once(template, ids, fulltext=False, wait=args.dns_wait)
            off.append(seconds)
            print(f"run {run + 1}  full text off: {seconds:7.2f} s  ({asked} requests)")
    ratio = statistics.median(on) / statistics.median(off)
    print(f"median: on {statistics.median(on):.2f} s, off {statistics.median(off):.2f} s, "
          f"ratio {ratio:.2f}x (goal <= 1.2x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
