"""Chat turn overhead excluding the model, and the chat graph's import + compile time.

The model is the scripted OpenAI-compatible server of the tests (tests/llm_server.py) on 127.0.0.1,
answering instantly, so what is measured is papercast's own cost of a turn: litellm's real HTTP
path, the graph (with its per-turn library retrieval and the check of the answer's citations), the SQLite
checkpointer and the tools on a 10k-paper store. One turn
makes three tool calls (search_library -> get_paper -> similar_papers) and then answers: four model
calls, three tools.

The store is built once under bench/.cache/chat-10k from the shared corpus (first 10,000 papers)
and the cached corpus vectors (bench/corpus_cache.py), through the store's real upsert.

Run: .venv/bin/python bench/chat_overhead.py [--turns 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from service_parts import paper_store

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

HOME = ROOT / "bench" / ".cache" / "chat-10k"
SIZE = 10_000
QUERY = "speculative decoding for faster LLM inference"

IMPORT_AND_COMPILE = """
import time
t0 = time.perf_counter()
import papercast.agent.graph as g
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
t1 = time.perf_counter()
graph = g.builder.compile()
t2 = time.perf_counter()
for _ in range(20):
    g.builder.compile()
t3 = time.perf_counter()
print(f"{1000 * (t1 - t0):.1f} {1000 * (t2 - t1):.2f} {1000 * (t3 - t2) / 20:.2f}")
"""


def build_store(sample: bool = False):
    from corpus_cache import CACHE, corpus_embeddings, corpus_rows

    from papercast.config import load_settings
    from papercast.models import Paper
    from papercast.service import Papercast

    if sample:  # a quick dry run on the bundled 452 papers
        app = Papercast(load_settings(home=HOME.with_name("chat-sample")))
        app.ensure_sample()
        return app
    if not CACHE.exists():
        sys.exit(f"missing {CACHE}: run bench/corpus_cache.py first (it embeds the corpus once)")
    app = Papercast(load_settings(home=HOME))
    if app.count() >= SIZE:
        return app
    papers = [Paper.model_validate(r) for r in corpus_rows()[:SIZE]]
    vectors = corpus_embeddings()
    started = time.perf_counter()
    paper_store(app).upsert(papers, embeddings={p.id: vectors[p.id] for p in papers})
    print(f"built the {SIZE} store in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return app


def scripted_model(first_id: str):
    """Per turn: search, then get_paper on the first hit, then similar_papers, then the answer."""
    from llm_server import Reply

    def respond(body: dict) -> Reply:
        messages = body["messages"]
        start = max(i for i, m in enumerate(messages) if m["role"] == "user")
        done = sum(1 for m in messages[start:] if m["role"] == "tool")
        if done == 0:
            return Reply.tool_calls(("search_library", {"query": QUERY, "n": 8}))
        if done == 1:
            return Reply.tool_calls(("get_paper", {"id": first_id}))
        if done == 2:
            return Reply.tool_calls(("similar_papers", {"id": first_id, "n": 5}))
        return Reply.text(f"Start with [{first_id}]: it is the closest match, and two similar papers follow.")

    return respond


CPU_MS: list[float] = []  # CPU time of this process per turn (all threads): robust to a busy machine


async def one_turn(app, message: str, thread: str | None) -> tuple[float, float, object]:
    """(total ms, ms inside tools, answer) for one turn."""
    cpu = time.process_time()
    started = time.perf_counter()
    tool_ms, opened = 0.0, 0.0
    answer = None
    async for event in app.achat_stream(message, thread):
        if event.kind == "tool_start":
            opened = time.perf_counter()
        elif event.kind == "tool_end":
            tool_ms += 1000 * (time.perf_counter() - opened)
        elif event.kind == "final":
            answer = event.answer
    CPU_MS.append(1000 * (time.process_time() - cpu))
    return 1000 * (time.perf_counter() - started), tool_ms, answer


def bench_turns(turns: int, sample: bool = False, priced: bool = True) -> dict[str, float]:
    from papercast.service import Papercast

    from llm_server import DUMMY_API_KEY, TEST_MODEL

    store_app = build_store(sample)
    (store_app.settings.home / "threads.db").unlink(missing_ok=True)
    first_id = store_app.search(QUERY, 1)[0].paper.id
    # The model runs in its own process, so its work is not counted as papercast's.
    server = subprocess.Popen([sys.executable, __file__, "--serve", first_id], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    api_base = server.stdout.readline().strip()
    os.environ["OPENAI_API_KEY"] = DUMMY_API_KEY
    from papercast.tools.llm.loader import load_litellm

    started = time.perf_counter()
    litellm = load_litellm()
    litellm_ms = 1000 * (time.perf_counter() - started)
    # like a real provider model: litellm finds its price at once (unknown prices cost ~15 ms a call)
    if priced:
        litellm.register_model({TEST_MODEL: {
            "max_input_tokens": 128_000, "max_tokens": 16_384, "input_cost_per_token": 1.5e-07,
            "output_cost_per_token": 6e-07, "litellm_provider": "openai", "mode": "chat",
            "supports_function_calling": True}})
    try:
        app = Papercast(store_app.settings.with_overrides(model=TEST_MODEL, api_base=api_base))
        app.ensure_sample()  # no-op: the store is full; keeps the bench honest about first-use costs

        async def run() -> dict[str, float]:
            cold, cold_tools, answer = await one_turn(app, "what is new on speculative decoding?", None)
            assert answer.text.startswith("Start with") and [t.name for t in answer.tools] == [
                "search_library", "get_paper", "similar_papers"], answer
            fresh, fresh_tools = [], []
            CPU_MS.clear()
            for i in range(turns):
                total, tools, _ = await one_turn(app, f"question {i} on speculative decoding", None)
                fresh.append(total)
                fresh_tools.append(tools)
            cpu = statistics.median(CPU_MS)
            thread = []
            for i in range(turns):
                total, _, _ = await one_turn(app, f"follow-up {i} on speculative decoding", "long-thread")
                thread.append(total)
            return {"litellm_import_ms": litellm_ms, "cold_ms": cold, "cold_tools_ms": cold_tools,
                    "warm_ms_median": statistics.median(fresh), "warm_ms_min": min(fresh),
                    "warm_tools_ms_median": statistics.median(fresh_tools), "warm_cpu_ms_median": cpu,
                    "same_thread_ms_median": statistics.median(thread), "same_thread_ms_last": thread[-1],
                    "model_calls": 4 * (1 + 2 * turns)}

        return asyncio.run(run())
    finally:
        server.stdin.close()
        server.wait(timeout=10)


def serve(first_id: str) -> None:
    """The scripted model, in this process until stdin closes."""
    from llm_server import LLMServer

    server = LLMServer(responder=scripted_model(first_id)).start()
    print(server.api_base, flush=True)
    sys.stdin.read()
    server.stop()


def bench_import(repeat: int = 3) -> dict[str, float]:
    runs = []
    for _ in range(repeat):
        done = subprocess.run([sys.executable, "-c", IMPORT_AND_COMPILE], capture_output=True, text=True,
                              check=True, env={**os.environ})
        runs.append([float(x) for x in done.stdout.split()])
    return {"import_ms_median": statistics.median(r[0] for r in runs),
            "first_compile_ms_median": statistics.median(r[1] for r in runs),
            "compile_ms_median": statistics.median(r[2] for r in runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--sample", action="store_true", help="dry run on the bundled 452-paper sample")
    parser.add_argument("--unpriced", action="store_true", help="leave the test model without a price")
    parser.add_argument("--serve", metavar="ID", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    size = 452 if args.sample else SIZE
    result = {"store_papers": size, **bench_import(),
              **bench_turns(args.turns, args.sample, not args.unpriced)}
    load = os.getloadavg()[0]
    print(
        f"(load average {load:.1f} on {os.cpu_count()} cores: wall times stretch with it; CPU time less so)")
    print(f"chat graph: import {result['import_ms_median']:.0f} ms (langgraph + langchain-core + "
          f"papercast.agent), first compile {result['first_compile_ms_median']:.1f} ms, then "
          f"{result['compile_ms_median']:.2f} ms")
    price = "no price" if args.unpriced else "a registered price"
    print(f"3-tool-call turn on {size} papers, model ({price}) answering instantly on 127.0.0.1:")
    print(f"  litellm import (once per process): {result['litellm_import_ms']:.0f} ms")
    print(f"  first turn (langgraph import, checkpointer, first connection): {result['cold_ms']:.0f} ms")
    print(f"  warm, new thread: median {result['warm_ms_median']:.0f} ms (min {result['warm_ms_min']:.0f}), "
          f"of which tools {result['warm_tools_ms_median']:.0f} ms; "
          f"CPU {result['warm_cpu_ms_median']:.0f} ms")
    print(f"  warm, one growing thread: median {result['same_thread_ms_median']:.0f} ms, "
          f"turn {args.turns}: {result['same_thread_ms_last']:.0f} ms")
    print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in result.items()}))


if __name__ == "__main__":
    main()
