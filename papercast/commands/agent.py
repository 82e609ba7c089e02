"""``papercast chat`` and ``papercast daily``: the two agent graphs on the command line.

``chat "MESSAGE"`` answers once on stdout (streamed token by token when stdout is a terminal, with
tool activity on stderr); without MESSAGE it opens the TUI's chat screen. ``daily`` is made for cron:
it prints the digest only when it has nowhere else to go, errors as one line each on stderr, progress
only with ``-v``, and exits 1 only when it could not do anything (no digest, or nothing delivered).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from papercast.commands._output import (
    EXIT_OK,
    EXIT_RUNTIME,
    emit_json,
    make_service,
    make_service_with_papers,
    run_tui,
    warn,
)


def register(sub: Any) -> None:
    p = sub.add_parser("chat", help="ask the agent (one answer on stdout); without MESSAGE opens the TUI chat")
    p.add_argument("message", nargs="?", metavar="MESSAGE")
    p.add_argument("--thread", help="continue (or name) a conversation thread")
    p.add_argument("--profile", help="profile to act for (default: the active one)")
    p.add_argument("--json", action="store_true", help="the answer, cited papers and tool calls as JSON")
    p.add_argument("--threads", action="store_true", help="list stored conversation threads and exit")
    p.set_defaults(handler=cmd_chat)

    p = sub.add_parser("daily", help="fetch, store, rank, summarize and digest in one run (cron-friendly)")
    p.add_argument("--profile", help="profile (default: the active one)")
    p.add_argument("--out", help="write the Markdown digest to this file")
    p.add_argument("--email", metavar="ADDRESS", help="email the digest (PAPERCAST_SMTP_* settings)")
    p.add_argument("-n", type=int, default=10, help="papers in the digest (default 10)")
    p.add_argument("--no-llm", action="store_true", help="offline ranking and summaries even with a model set")
    p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                   help="say what each step did (as the global -v)")
    p.set_defaults(handler=cmd_daily)


# -- chat ----------------------------------------------------------------------------------------------
def cmd_chat(args: argparse.Namespace) -> int:
    if args.threads:
        return _list_threads(args)
    if args.message is None:
        args.tui_options = {"screen": "chat", **({"thread": args.thread} if args.thread else {})}
        return run_tui(args)
    service = make_service_with_papers(args)
    stream = not args.json and sys.stdout.isatty()
    answer = asyncio.run(_chat(service, args.message, args.thread, args.profile, stream=stream))
    if args.json:
        emit_json(answer.to_json())
    elif not stream:
        sys.stdout.write(answer.text.rstrip("\n") + "\n")
    if sys.stderr.isatty():
        warn(f"thread {answer.thread_id} (continue with: papercast chat --thread {answer.thread_id} ...)")
    if answer.offline and not service.settings.offline:
        return EXIT_RUNTIME  # the model failed; the answer above is the offline fallback
    return EXIT_OK


async def _chat(service: Any, message: str, thread: str | None, profile: str | None, *, stream: bool) -> Any:
    answer = None
    wrote = False
    async for event in service.achat_stream(message, thread, profile=profile):
        if event.kind == "final":
            answer = event.answer
        elif not stream:
            continue
        elif event.kind == "token":
            sys.stdout.write(event.text)
            sys.stdout.flush()
            wrote = True
        elif event.kind == "tool_start":
            args = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in event.args.items())
            sys.stderr.write(f"  · {event.tool}({args})\n")
        elif event.kind == "tool_end" and not event.ok:
            sys.stderr.write(f"    ✗ {event.text}\n")
    if stream and wrote:
        sys.stdout.write("\n")
    return answer


def _list_threads(args: argparse.Namespace) -> int:
    threads = make_service(args).list_threads()
    if args.json:
        emit_json([t.to_json() for t in threads])
        return EXIT_OK
    for t in threads:
        print(f"{t.id:<12} {t.updated:%Y-%m-%d %H:%M}  {t.turns:>3} turns  {t.title}")
    if not threads:
        warn("no conversation threads yet")
    return EXIT_OK


# -- daily ---------------------------------------------------------------------------------------------
def cmd_daily(args: argparse.Namespace) -> int:
    service = make_service(args)
    verbose = getattr(args, "verbose", False)
    say = (lambda line: warn(line)) if verbose else None
    report = service.daily(args.profile, out=args.out, email=args.email, n=args.n, use_llm=not args.no_llm, say=say)
    if report.offline_network:
        warn("no network: the digest is built from the papers already stored")
    for error in report.errors:
        if not (report.offline_network and not verbose and error.split(":", 1)[0] in report.fetched):
            warn(f"error: {error}")
    if verbose:
        for note in report.notes:
            warn(note)
    if not report.ok:
        warn("nothing to put in a digest: no papers could be fetched and none are stored")
        return EXIT_RUNTIME
    if args.out is None and args.email is None:
        sys.stdout.write(report.markdown)
    delivered = [where for where, wanted in ((report.out, args.out), (report.emailed, args.email)) if wanted]
    if verbose:
        warn(f"digest of {len(report.recommended)} papers for {report.profile}"
             + (f" written to {report.out}" if report.out else "")
             + (f", emailed to {report.emailed}" if report.emailed else ""))
    if (args.out or args.email) and not any(delivered):
        return EXIT_RUNTIME  # the digest was built but could go nowhere
    return EXIT_OK
