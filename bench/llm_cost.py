"""LLM tokens of a daily digest: papercast vs. scoring every candidate with the LLM.

A "day" of ~400 candidate papers from the shared corpus (the consecutive days whose paper count is
nearest 400), one profile (the starter one), a 20-paper digest with summaries, all against the
loopback OpenAI-compatible server of the tests (litellm's real HTTP path; the scripted model answers
with realistic lengths: summaries of ~150 words, a 15-word reason per score). Tokens are counted by
the server for every request (~4 characters per token, the same rule for both approaches):

* papercast: ``Papercast.digest(n=20)`` — the ranker picks the top K (30), the LLM re-ranks only those,
  then summarizes the 20 picks and writes the overview;
* the same digest again in a new process-like service: must send 0 new tokens (stored summaries,
  response cache);
* for reference, full structured summaries of the 20 picks (what ``papercast summarize`` writes on
  demand; the digest itself shows one TL;DR per paper, written in batches);
* baseline, computed in the same run: every candidate sent to the LLM for scoring, 16 papers per prompt,
  with the prompt shape of the popular GPT paper-digest tools (criteria + title/authors/abstract per
  paper, JSONL answer with a comment, relevance and novelty per paper).

Needs bench/.cache/corpus_embeddings.npz (bench/corpus_cache.py); it waits for the file if it is being
built. Run: .venv/bin/python bench/llm_cost.py
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ["ORT_DISABLE_TELEMETRY"] = "1"
os.environ["ANONYMIZED_TELEMETRY"] = "False"

from corpus_cache import CACHE, corpus_embeddings, corpus_rows  # noqa: E402
from service_parts import llm_log, paper_store  # noqa: E402

from llm_server import DUMMY_API_KEY, LLMServer, Reply, count_usage, paper_blocks  # noqa: E402

TARGET = 400
DIGEST_N = 20
BASELINE_BATCH = 16

BASELINE_SYSTEM = """You are a helpful paper reading assistant whose job is to read daily posts of papers on \
ArXiv. You will be given a list of papers and a list of topics the reader cares about. Your job is to find \
papers that are relevant to the reader's topics, and to rate each paper for relevance and novelty."""
BASELINE_POSTFIX = """Write the response in JSONL format with {ARXIVID, COMMENT, RELEVANCE, NOVELTY} on each \
line, one for each paper. The ARXIVID should be the ArXiv ID. The COMMENT should identify whether there is a \
criteria that match the paper very closely, and say which one; a short justification is fine. RELEVANCE \
should be a relevance score from 1-10 where 10 must be directly related to the exact, specific criterion \
with near-synonym keyword matches and authors who are known for working on the topic, 1 is irrelevant to \
any criterion, and anything in between is in between. NOVELTY should be a score from 1 to 10, where 10 is a \
groundbreaking, general-purpose discovery that would transform the entire field and 1 is work that \
improves one aspect of a problem or is an application to a very specific field. Read the abstract \
carefully to determine this and assume that authors cannot be trusted in their claims. Output one line \
per paper and nothing else."""

_WORDS = re.compile(r"\S+")


def words(text: str, n: int, start: int = 0) -> str:
    return " ".join(_WORDS.findall(text)[start:start + n])


def field(block: str, name: str) -> str:
    m = re.search(rf"^{name}: (.*)$", block, re.MULTILINE)
    return m.group(1) if m else ""


class BenchModel:
    """Answers each kind of prompt with the length a real model would give."""

    def __init__(self) -> None:
        self.kinds: list[str] = []
        self.tokens: dict[str, list[int]] = {}  # kind -> [prompt, completion]

    def __call__(self, body: dict) -> Reply:
        reply = self.answer(body)
        usage = count_usage(body, reply)
        tally = self.tokens.setdefault(self.kinds[-1], [0, 0])
        tally[0] += usage["prompt_tokens"]
        tally[1] += usage["completion_tokens"]
        return reply

    def answer(self, body: dict) -> Reply:
        user = "\n".join(str(m.get("content") or "") for m in body["messages"] if m["role"] == "user")
        if "ARXIVID" in user or "ArXiv ID:" in user:
            self.kinds.append("baseline")
            ids = re.findall(r"ArXiv ID: (\S+)", user)
            lines = [json.dumps({"ARXIVID": pid,
                                 "COMMENT": "Matches criterion 2 on long-context modelling; the "
                                 "method targets efficient attention for long inputs.", "RELEVANCE": 6,
                                 "NOVELTY": 5}) for pid in ids]
            return Reply.text("\n".join(lines))
        blocks = paper_blocks(user)
        if "Score these" in user:
            self.kinds.append("rerank")
            return Reply.json({"scores": [{"id": pid, "score": 7, "reason": "Directly about long-context "
                                           "modelling for LLMs, one of the reader's stated interests."}
                                          for pid, _ in blocks]})
        if "Summarize this paper" in user:
            self.kinds.append("summary")
            abstract = field(blocks[0][1], "abstract")
            return Reply.json({
                "tldr": words(abstract, 26),
                "contributions": [words(abstract, 16, 10), words(abstract, 16, 30), words(abstract, 14, 50)],
                "method": words(abstract, 30, 20), "results": words(abstract, 30, 60),
                "limitations": "The abstract does not state limitations beyond the evaluated settings.",
                "keywords": ["long-context", "efficient attention", "llm", "fine-tuning", "benchmark"]})
        if "Write TL;DRs" in user:
            self.kinds.append("tldr")
            return Reply.json({"papers": [{"id": pid, "tldr": words(field(block, "abstract"), 26),
                                           "keywords": ["long-context", "efficient attention", "llm",
                                                        "benchmark"]}
                                          for pid, block in blocks]})
        if "Today's picks" in user:
            self.kinds.append("overview")
            return Reply.text("Today's picks centre on long-context modelling and efficient fine-tuning: "
                              "several papers cut the cost of attention over long inputs, two revisit "
                              "parameter-efficient tuning, and one benchmark probes long-output generation. "
                              "Start with the top three, which report the largest gains.")
        self.kinds.append("other")
        return Reply.text("ok")


def pick_window(rows: list[dict], target: int = TARGET) -> tuple[date, date, list[dict]]:
    """The run of consecutive publication days whose paper count is nearest ``target``."""
    by_day: dict[date, list[dict]] = {}
    for row in rows:
        by_day.setdefault(date.fromisoformat(row["published"][:10]), []).append(row)
    days = sorted(by_day)
    best: tuple[int, date, date] | None = None
    for i, start in enumerate(days):
        total = 0
        for end in days[i:]:
            if (end - start).days > 6:
                break
            total += len(by_day[end])
            if best is None or abs(total - target) < best[0]:
                best = (abs(total - target), start, end)
    assert best is not None
    _, since, until = best
    picked = [r for d in days if since <= d <= until for r in by_day[d]]
    return since, until, picked


def baseline_messages(profile, papers) -> list[list[dict]]:
    """Every candidate, 16 per prompt, in the prompt shape of the popular GPT digest tools."""
    criteria = "Topics the reader cares about:\n" + "\n".join(
        f" {i}. {topic.strip()}" for i, topic in enumerate(profile.interests.split(","), 1))
    out = []
    for start in range(0, len(papers), BASELINE_BATCH):
        batch = papers[start:start + BASELINE_BATCH]
        listing = "\n\n".join(f"ArXiv ID: {p.id}\nTitle: {p.title}\nAuthors: {' and '.join(p.authors)}\n"
                              f"Abstract: {p.abstract}" for p in batch)
        out.append([{"role": "system", "content": BASELINE_SYSTEM},
                    {"role": "user", "content": f"{criteria}\n\n{listing}\n\n{BASELINE_POSTFIX}"}])
    return out


def wait_for_cache(timeout: float = 3600) -> None:
    started = time.monotonic()
    while not CACHE.exists():
        if time.monotonic() - started > timeout:
            raise SystemExit(f"{CACHE} did not appear; build it with bench/corpus_cache.py")
        print(f"waiting for {CACHE.relative_to(ROOT)} (being built)…", file=sys.stderr)
        time.sleep(30)


def main() -> None:
    from papercast.config import load_settings
    from papercast.models import Paper
    from papercast.service import Papercast
    from papercast.tools.llm.client import LLMClient
    from papercast.tools.llm.loader import load_litellm

    wait_for_cache()
    since, until, rows = pick_window(corpus_rows())
    papers = [Paper.model_validate(r) for r in rows]
    vectors = corpus_embeddings()
    model = BenchModel()
    os.environ["OPENAI_API_KEY"] = DUMMY_API_KEY
    with LLMServer(responder=model) as server, tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(home=Path(tmp) / "home", model="openai/bench-model",
                                 api_base=server.api_base)
        app = Papercast(settings)
        paper_store(app).upsert(papers, embeddings={p.id: vectors[p.id] for p in papers})
        load_litellm()

        started = time.perf_counter()
        digest = app.digest(n=DIGEST_N, since=since, until=until)
        first_seconds = time.perf_counter() - started
        first = server.tokens()
        first_requests = len(server.requests)
        kinds = {k: model.kinds.count(k) for k in dict.fromkeys(model.kinds)}
        per_kind = {k: tuple(v) for k, v in model.tokens.items()}

        started = time.perf_counter()
        again = Papercast(settings).digest(n=DIGEST_N, since=since, until=until)
        second_seconds = time.perf_counter() - started
        second = {k: v - first[k] for k, v in server.tokens().items()}
        second_requests = len(server.requests) - first_requests
        assert [i.paper.id for i in again.items] == [i.paper.id for i in digest.items]

        # For reference: full structured summaries of the picks, which `papercast summarize` writes on demand.
        before = server.tokens()
        app.summarize([i.paper.id for i in digest.items])
        full = {k: v - before[k] for k, v in server.tokens().items()}

        profile = app.active_profile()
        candidates, _ = paper_store(app).window(since, until)
        client = LLMClient(settings, llm_log(app), command="bench-baseline")
        prompts = baseline_messages(profile, candidates)
        before = server.tokens()

        async def score_all() -> None:
            await asyncio.gather(*(client.complete(m, purpose="baseline", prompt_version="baseline",
                                                   cache=False) for m in prompts))

        asyncio.run(score_all())
        baseline = {k: v - before[k] for k, v in server.tokens().items()}

    tldrs = sum(1 for i in digest.items if not i.summary.is_offline)
    share = first["total"] / baseline["total"]
    print(f"window {since} .. {until}: {len(candidates)} candidate papers; profile {profile.name!r}: "
          f"{profile.interests!r}")
    print(f"digest: {len(digest.items)} papers, {tldrs} LLM TL;DRs, overview by {digest.overview_by}; "
          f"requests {kinds}")
    print("papercast tokens by step (prompt, completion): "
          + ", ".join(f"{k} {p:,} + {c:,}" for k, (p, c) in per_kind.items()))
    print()
    print(f"{'':44} {'requests':>8} {'prompt':>9} {'completion':>10} {'total':>9}")
    print(f"{'papercast digest (top-30 rerank + 20 TL;DRs)':44} {first_requests:>8} {first['prompt']:>9,} "
          f"{first['completion']:>10,} {first['total']:>9,}   {first_seconds:.1f}s")
    print(f"{'same digest again (new run)':44} {second_requests:>8} {second['prompt']:>9,} "
          f"{second['completion']:>10,} {second['total']:>9,}   {second_seconds:.1f}s")
    print(f"{'(on demand: 20 full structured summaries)':44} {DIGEST_N:>8} {full['prompt']:>9,} "
          f"{full['completion']:>10,} {full['total']:>9,}")
    print(f"{'baseline: LLM scores all, 16 per prompt':44} {len(prompts):>8} {baseline['prompt']:>9,} "
          f"{baseline['completion']:>10,} {baseline['total']:>9,}")
    print()
    print(f"papercast / baseline = {share:.1%} (goal <= 10%); second run: {second['total']} new tokens (goal "
          "0)")
    if share > 0.10 or second["total"] != 0:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
