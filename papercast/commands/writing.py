"""``papercast summarize``, ``digest`` and ``usage``: the LLM layer on the command line.

Notices about the model (unreachable, budget reached, fallbacks) go to stderr as one line each;
the result goes to stdout (or ``--out``), so scripts can pipe it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from papercast.commands._output import (
    EXIT_OK,
    EXIT_RUNTIME,
    add_count,
    emit_json,
    make_service,
    make_service_with_papers,
    notice,
    warn,
    window_of,
    write_output,
)
from papercast.outfile import check_out


def register(sub: Any) -> None:
    p = sub.add_parser("summarize",
                       help="structured summaries of papers (offline extractive without a model)")
    p.add_argument("ids", nargs="+", metavar="ID", help="arXiv ids of stored papers (e.g. 2608.19758)")
    p.add_argument("--json", action="store_true", help="a JSON array of summaries")
    p.add_argument("--no-llm", action="store_true", help="the offline summary even when a model is set")
    p.set_defaults(handler=cmd_summarize)

    p = sub.add_parser("digest", help="the day's reading list with TL;DRs and an overview")
    p.add_argument("--profile", help="profile (default: the active one)")
    add_count(p, 10, "papers")
    p.add_argument("--since", help="first day, YYYY-MM-DD (default: the ranker's window)")
    p.add_argument("--until", help="last day, YYYY-MM-DD")
    p.add_argument("--out", metavar="FILE", help="write to FILE instead of stdout")
    p.add_argument("--format", choices=["md", "json", "html", "atom"], default="md",
                   help="md (default), json, html (a self-contained page) or atom (a feed)")
    p.add_argument("--email", metavar="ADDRESS", action="append", default=[],
                   help="also email it (repeatable; PAPERCAST_SMTP_* settings); "
                   "recorded, never sent again by daily")
    p.add_argument("--webhook", metavar="URL", action="append", default=[],
                   help="also post it to a webhook (Slack, Discord or generic JSON; see daily --help)")
    p.add_argument("--include-seen", action="store_true", help="also papers already delivered to the profile")
    p.add_argument("--results", action="store_true",
                   help="also each pick's result sentence from its abstract (found by sentence role)")
    p.add_argument("--no-llm", action="store_true", help="no LLM calls even when a model is set")
    p.set_defaults(handler=cmd_digest)

    p = sub.add_parser("usage", help="LLM tokens and cost per run")
    add_count(p, 20, "runs")
    p.add_argument("--json", action="store_true", help="a JSON array of runs, newest first")
    p.set_defaults(handler=cmd_usage)


def _print_notices(service: Any) -> None:
    for line in service.llm_notices():
        warn(line)


def cmd_summarize(args: argparse.Namespace) -> int:
    from papercast.tools.writing.api import FALLBACK, made_from, summary_label  # lazy: summaries pull ranking

    service = make_service_with_papers(args)
    summaries = service.summarize(args.ids, use_llm=not args.no_llm)
    _print_notices(service)
    for line in service.network_notices():  # a host found unreachable, said once
        warn(line)
    offline = sum(1 for s in summaries if s.is_offline)
    if service.settings.language and offline:
        notice(f"{offline} of {len(summaries)} summaries are offline extracts in the paper's own language, "
               f"not in {service.settings.language} (that needs a model: set PAPERCAST_MODEL)")
    if args.json:
        emit_json([s.to_json(summary_label(s)) for s in summaries])
        return _model_failed(service, summaries, FALLBACK)
    papers = {p.id: p for p in service.get_papers([s.paper_id for s in summaries])}
    for i, summary in enumerate(summaries):
        if i:
            print()
        paper = papers[summary.paper_id]
        print(f"{paper.title}  [{paper.id}]")
        from_abstract = f"; made from {made_from(summary)}" if summary.source == "abstract" else ""
        print(f"({summary_label(summary)}{from_abstract})")
        print(f"TL;DR: {summary.tldr}")
        if summary.contributions:
            print("Contributions:")
            for item in summary.contributions:
                print(f"  - {item}")
        for label, text in (("Method", summary.method), ("Results", summary.results),
                            ("Limitations", summary.limitations)):
            if text:
                where = "; ".join(summary.sections.get(label.lower(), []))  # the sections it came from
                print(f"{label} [{where}]: {text}" if where else f"{label}: {text}")
        if summary.keywords:
            print(f"Keywords: {', '.join(summary.keywords)}")
    usage = service.llm_usage()
    if usage.calls or usage.cached_calls:
        warn(usage.summary_line())
    return _model_failed(service, summaries, FALLBACK)


def _model_failed(service: Any, summaries: list[Any], fallback: str) -> int:
    """Exit 1, in one line naming the configured model, when it failed and offline summaries stood in
    for its own: a script must not take them for the model's (the summaries are printed all the same)."""
    failed = sum(1 for s in summaries if s.prompt_version.startswith(fallback))
    why = service.llm_unreachable()
    if not failed and not why:
        return EXIT_OK
    model = service.settings.model
    standing_in = f"; {failed} of {len(summaries)} summaries are offline ones" if failed else ""
    warn(f"error: the configured model {model} failed ({why or 'see the log'}){standing_in}")
    return EXIT_RUNTIME


def cmd_digest(args: argparse.Namespace) -> int:
    from papercast.tools.delivery.channels import plan_channels  # lazy: stays off --help
    from papercast.tools.writing.render import (  # lazy: the renderers (~100 ms) stay off --help
        render_atom,
        render_html,
        render_json,
        render_markdown,
    )

    window = window_of(args)  # bad dates fail before anything is loaded
    if args.out is not None:
        check_out(args.out)  # before any LLM work is paid for
    service = make_service_with_papers(args)
    if args.out is not None:
        check_out(args.out, home=service.settings.home)  # not one of the home's own files
    # Only what the user asked for here: the configured channels belong to `daily`.
    channels = plan_channels(service.settings, emails=args.email, webhooks=args.webhook, configured=False)
    digest = service.digest(profile=args.profile, n=args.n, use_llm=not args.no_llm,
                            include_seen=args.include_seen, results=args.results, **window)
    if digest.note:
        notice(digest.note)
    for item in digest.notices:
        warn(item)
    render = {"md": render_markdown, "json": render_json, "html": render_html,
              "atom": lambda d: render_atom(d, limit=service.settings.feed_entries)}[args.format]
    text = render(digest)
    if args.out is None:
        sys.stdout.write(text)
    else:
        out = write_output(args.out, text, service.settings.home)
        notice(f"wrote the digest of {len(digest.items)} papers to {out}")
    if channels and not digest.items:  # asked to send, nothing to send: said even with -q, as it is not ok
        warn(f"nothing sent to {', '.join(c.name for c in channels)}: the digest has no papers")
        return EXIT_OK
    failed = False
    for outcome in service.deliver_digest(digest, channels):
        if outcome.error:
            warn(f"error: {outcome.error}")
            failed = True
        elif outcome.ok:
            notice(f"delivered to {outcome.channel.name}")
    return EXIT_RUNTIME if failed else EXIT_OK


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
