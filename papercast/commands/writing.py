"""``papercast summarize``, ``digest`` and ``usage``: the LLM layer on the command line.

Notices about the model (unreachable, budget reached, fallbacks) go to stderr as one line each;
the result goes to stdout (or ``--out``), so scripts can pipe it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from papercast.commands._output import EXIT_OK, emit_json, make_service, make_service_with_papers, warn


def register(sub: Any) -> None:
    p = sub.add_parser("summarize", help="structured summaries of papers (offline extractive without a model)")
    p.add_argument("ids", nargs="+", metavar="ID")
    p.add_argument("--json", action="store_true", help="a JSON array of summaries")
    p.add_argument("--no-llm", action="store_true", help="the offline summary even when a model is set")
    p.set_defaults(handler=cmd_summarize)

    p = sub.add_parser("digest", help="the day's reading list with TL;DRs and an overview")
    p.add_argument("--profile", help="profile (default: the active one)")
    p.add_argument("-n", type=int, default=10, help="how many papers (default 10)")
    p.add_argument("--since", help="first day, YYYY-MM-DD (default: the ranker's window)")
    p.add_argument("--until", help="last day, YYYY-MM-DD")
    p.add_argument("--out", help="write to this file instead of stdout")
    p.add_argument("--format", choices=["md", "json", "html"], default="md", help="md (default), json or html")
    p.add_argument("--no-llm", action="store_true", help="no LLM calls even when a model is set")
    p.set_defaults(handler=cmd_digest)

    p = sub.add_parser("usage", help="LLM tokens and cost per run")
    p.add_argument("-n", type=int, default=20, help="how many runs (default 20)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_usage)


def _print_notices(service: Any) -> None:
    for notice in service.llm_notices():
        warn(notice)


def cmd_summarize(args: argparse.Namespace) -> int:
    from papercast.tools.writing.summarize import summary_label

    service = make_service_with_papers(args)
    summaries = service.summarize(args.ids, use_llm=not args.no_llm)
    _print_notices(service)
    if args.json:
        emit_json([s.to_json(summary_label(s)) for s in summaries])
        return EXIT_OK
    papers = {p.id: p for p in service.get_papers([s.paper_id for s in summaries])}
    for i, summary in enumerate(summaries):
        if i:
            print()
        paper = papers[summary.paper_id]
        print(f"{paper.title}  [{paper.id}]")
        print(f"({summary_label(summary)})")
        print(f"TL;DR: {summary.tldr}")
        if summary.contributions:
            print("Contributions:")
            for item in summary.contributions:
                print(f"  - {item}")
        for label, text in (("Method", summary.method), ("Results", summary.results),
                            ("Limitations", summary.limitations)):
            if text:
                print(f"{label}: {text}")
        if summary.keywords:
            print(f"Keywords: {', '.join(summary.keywords)}")
    usage = service.llm_usage()
    if usage.calls or usage.cached_calls:
        warn(usage.summary_line())
    return EXIT_OK


def cmd_digest(args: argparse.Namespace) -> int:
    from papercast.errors import UserError
    from papercast.service import parse_date
    from papercast.tools.writing.render import render_html, render_json, render_markdown

    since = parse_date(args.since, "--since")
    until = parse_date(args.until, "--until")
    if args.n < 1:
        raise UserError(f"-n must be at least 1, got {args.n}")
    out = Path(args.out) if args.out else None
    if out is not None and out.parent and not out.parent.exists():
        raise UserError(f"no such directory for --out: {out.parent}")
    service = make_service_with_papers(args)
    digest = service.digest(profile=args.profile, n=args.n, since=since, until=until, use_llm=not args.no_llm)
    if digest.note:
        warn(digest.note)
    for notice in digest.notices:
        warn(notice)
    render = {"md": render_markdown, "json": render_json, "html": render_html}[args.format]
    text = render(digest)
    if out is None:
        sys.stdout.write(text)
    else:
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)  # a reader never sees half a digest
        warn(f"wrote the digest of {len(digest.items)} papers to {out}")
    return EXIT_OK


def cmd_usage(args: argparse.Namespace) -> int:
    service = make_service(args)
    runs = service.usage_runs(max(1, args.n))
    if args.json:
        emit_json([r.to_json() for r in runs])
        return EXIT_OK
    if not runs:
        print("no LLM calls recorded yet")
        return EXIT_OK
    header = f"{'started (UTC)':<20} {'command':<10} {'model':<24} {'calls':>5} {'cached':>6} " \
             f"{'prompt':>9} {'compl.':>8} {'cost':>10}"
    print(header)
    print("-" * len(header))
    total_calls = total_tokens = 0
    total_cost = 0.0
    unknown = False
    for r in runs:
        if r.cost_usd is None and r.calls:
            cost = "unknown"
        else:
            cost = f"${r.cost_usd or 0:.4f}" + ("+?" if r.unpriced_calls else "")
        unknown = unknown or r.unpriced_calls > 0
        print(f"{r.started[:19].replace('T', ' '):<20} {r.command[:10]:<10} {r.model[:24]:<24} {r.calls:>5} "
              f"{r.cached_calls:>6} {r.prompt_tokens:>9,} {r.completion_tokens:>8,} {cost:>10}")
        total_calls += r.calls
        total_tokens += r.total_tokens
        total_cost += r.cost_usd or 0.0
    print("-" * len(header))
    more = " (+ unknown for unpriced models)" if unknown else ""
    print(f"{len(runs)} runs: {total_calls} calls, {total_tokens:,} tokens, ${total_cost:.4f}{more}")
    return EXIT_OK
