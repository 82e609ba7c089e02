"""``papercast chat`` and ``papercast daily``: the two agent graphs on the command line.

``chat "MESSAGE"`` answers once on stdout (streamed token by token when stdout is a terminal, with
tool activity on stderr); without MESSAGE it opens the TUI's chat screen. ``daily`` is made for cron:
it prints the digest only when it has nowhere else to go, errors as one line each on stderr, progress
only with ``-v``, and exits 1 whenever something failed — a source, the model, a channel — even when
a digest was built and delivered elsewhere: a cron user learns of failures from the exit code alone.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from typing import TYPE_CHECKING, Any

from papercast.commands._output import (
    EXIT_OK,
    EXIT_RUNTIME,
    add_count,
    emit_json,
    make_service,
    make_service_with_papers,
    notice,
    run_tui,
    warn,
)

if TYPE_CHECKING:
    from papercast.models import Proposal


def apply_command(proposal: Proposal, thread_id: str) -> str:
    """The command that applies ``proposal`` by hand (the user read it and wants it)."""
    args, q = proposal.args, shlex.quote
    if proposal.tool == "give_feedback":
        undo = " --undo" if args.get("undo") else ""
        return f"papercast profile {args['kind']} {args['id']} --profile {q(args['profile'])}{undo}"
    if proposal.tool == "update_profile":
        flags = [f"--{key.replace('_', '-')[:-1]} {q(v)}"
                 for key in ("add_keywords", "remove_keywords", "add_authors", "remove_authors")
                 for v in args.get(key) or []]
        if "interests" in args:
            flags.append(f"--interests {q(args['interests'])}")
        return f"papercast profile set {q(args['profile'])} " + " ".join(flags)
    if proposal.tool == "fetch_papers":
        extra = "".join(f" --{k} {q(args[k])}" for k in ("date", "query") if args.get(k))
        return f"papercast fetch --source {args['source']}{extra}"
    change = args.get("change") or "the latest change"
    return f"papercast chat --thread {q(thread_id)} --yes {q(f'undo {change}')}"


def register(sub: Any) -> None:
    p = sub.add_parser("chat",
                       help="ask the agent (one answer on stdout); without MESSAGE opens the TUI chat")
    p.add_argument("message", nargs="?", metavar="MESSAGE", help="your question or request (quote it)")
    p.add_argument("--thread", help="continue (or name) a conversation thread")
    p.add_argument("--profile", help="profile to act for (default: the active one)")
    p.add_argument("--json", action="store_true", help="the answer, cited papers and tool calls as JSON")
    p.add_argument("--threads", action="store_true", help="list stored conversation threads and exit")
    p.add_argument("--yes", action="store_true",
                   help="apply the changes the agent proposes whose object your message names (a paper "
                   "id, an author, interest text); the others, and all without it, are shown, not applied")
    p.set_defaults(handler=cmd_chat)

    p = sub.add_parser("daily",
                       help="fetch, store, rank, summarize, digest and deliver in one run (for cron): "
                       "never delivers a paper twice")
    p.add_argument("--profile", help="profile (default: the active one)")
    add_delivery_options(p)
    add_count(p, 10, "papers in the digest")
    p.add_argument("--include-seen", action="store_true", help="also papers already delivered to the profile")
    p.add_argument("--json", action="store_true",
                   help="what each step did and where the digest went, as JSON "
                   "(the digest itself goes to the channels)")
    p.add_argument("--no-llm", action="store_true",
                   help="offline ranking and summaries even with a model set")
    p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                   help="say what each step did (as the global -v)")
    p.set_defaults(handler=cmd_daily)


def add_delivery_options(p: Any) -> None:
    """The channels of ``daily``. Each flag replaces its own setting (``--email`` the configured
    ``email_to``, ``--webhook`` ``PAPERCAST_WEBHOOKS``, ``--feed`` ``feed``); ``--out`` adds a file."""
    p.add_argument("--out", metavar="FILE",
                   help="write the digest to FILE: Markdown, or HTML / JSON when FILE ends "
                   "in .html / .json (a self-contained page to publish)")
    p.add_argument("--email", metavar="ADDRESS", action="append", default=[],
                   help="email the digest, HTML with a plain-text part (repeatable, or a,b; PAPERCAST_SMTP_* "
                   "settings; port 465 = implicit TLS)")
    p.add_argument("--webhook", metavar="URL", action="append", default=[],
                   help="post the digest to a webhook: Slack and Discord URLs are recognised, "
                   "else generic JSON; force one with slack:URL, discord:URL or json:URL "
                   "(repeatable; a secret: "
                   "PAPERCAST_WEBHOOKS keeps it out of your shell history)")
    p.add_argument("--feed", metavar="FILE",
                   help="keep an Atom feed in FILE up to date (stable entry ids: a feed "
                   "reader shows each paper once)")


# -- chat ----------------------------------------------------------------------------------------------
def cmd_chat(args: argparse.Namespace) -> int:
    """One answer on stdout. A change the agent proposes is printed (before -> after) and applied only
    with ``--yes``; either way the turn goes on to its answer, which states what was and was not done."""
    if args.threads:
        return _list_threads(args)
    if args.message is None:
        args.tui_options = {"screen": "chat", **({"thread": args.thread} if args.thread else {})}
        return run_tui(args)
    service = make_service_with_papers(args)
    stream = not args.json and sys.stdout.isatty()
    show = (lambda answer, answers: _show_proposals(answer, answers, args.yes)) if not args.json else None
    answer = service.chat(args.message, args.thread, profile=args.profile, approve=args.yes,
                          on_event=StreamPrinter() if stream else None, on_pending=show)
    if args.json:
        emit_json(answer.to_json())
    elif not stream:
        sys.stdout.write(answer.text.rstrip("\n") + "\n")
    declined = [p for p in answer.proposals if p.status == "declined"]
    applied = [p for p in answer.proposals if p.status == "applied"]
    if declined:
        how = ("your message does not name what they change; the command that applies each is shown"
               if args.yes else "run the same command with --yes to apply")
        warn(f"{len(declined)} proposed change{'s were' if len(declined) > 1 else ' was'} not applied: {how}")
    for p in applied:
        warn(f"applied change {p.change}; to undo it: papercast chat --thread {answer.thread_id} --yes "
             f"\"undo {p.change}\"")
    if sys.stderr.isatty():
        warn(f"thread {answer.thread_id} (continue with: papercast chat --thread {answer.thread_id} ...)")
    if answer.offline and not service.settings.offline:
        warn(f"error: the model failed ({answer.model_error or 'see the log'}); the answer is an offline "
             "fallback from your library")
        return EXIT_RUNTIME
    return EXIT_OK


def _show_proposals(answer: Any, answers: dict[str, bool], yes: bool) -> None:
    """The turn waits for the user: print the changes and how each is answered."""
    sys.stdout.write(proposal_block(answer.pending, answers, yes=yes, thread_id=answer.thread_id))
    sys.stdout.flush()


def proposal_block(proposals: list[Any], answers: dict[str, bool], *, yes: bool, thread_id: str) -> str:
    """The proposed changes, each with its exact before -> after, and what happens to it. With --yes a
    change is applied only when the message names its object; the others show the command to apply them."""
    lines = ["", "The agent proposes a change to your data:" if len(proposals) == 1 else
             f"The agent proposes {len(proposals)} changes to your data:"]
    for p in proposals:
        lines.append(f"  * {p.summary}")
        lines += [f"      {line}" for line in p.diff_lines()]
        if yes and answers.get(p.id):
            lines.append("    applying (--yes; your message names it)")
        elif yes:
            command = apply_command(p, thread_id)
            lines.append(f"    not applied (your message does not name it); to apply it: {command}")
    if not yes:
        lines.append("  not applied (run the same command with --yes to apply)")
    return "\n".join(lines) + "\n\n"


class StreamPrinter:
    """A turn's events on a terminal: tokens on stdout as they come (ended by a newline when the
    stream ends), tool calls and failed tools on stderr."""

    def __init__(self) -> None:
        self.wrote = False

    def __call__(self, event: Any) -> None:
        if event.kind == "final":  # always a stream's last event
            if self.wrote:
                sys.stdout.write("\n")
            self.wrote = False
        elif event.kind == "token":
            sys.stdout.write(event.text)
            sys.stdout.flush()
            self.wrote = True
        elif event.kind == "tool_start":
            args = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in event.args.items())
            sys.stderr.write(f"  · {event.tool}({args})\n")
        elif event.kind == "tool_end" and not event.ok:
            sys.stderr.write(f"    ✗ {event.text}\n")


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
    report = service.daily(args.profile, out=args.out, email=args.email, webhooks=args.webhook,
                           feed=args.feed, stdout=not args.json, include_seen=args.include_seen, n=args.n,
                           use_llm=not args.no_llm, say=say)
    if args.json:
        emit_json(report.to_json())
    if report.offline_network:
        warn("no network: the digest is built from the papers already stored")
    for line in report.skipped:  # done without, not a failure: the digest (from abstracts) still goes out
        notice(line)
    for error in report.errors:
        if not (report.offline_network and not verbose and error.split(":", 1)[0] in report.fetched):
            warn(f"error: {error}")
    if verbose:
        for note in report.notes:
            warn(note)
    if not report.ok:
        if not service.count():
            warn("nothing to put in a digest: no papers could be fetched and none are stored")
            return EXIT_RUNTIME
        if any(e.startswith("rank:") for e in report.errors):
            warn("no digest: the stored papers could not be ranked (see the error above)")
            return EXIT_RUNTIME
        why = report.notes[0] if report.notes else "every paper of the window was read or delivered already"
        notice(f"nothing to deliver for profile {report.profile}: {why}")
        return EXIT_RUNTIME if report.errors else EXIT_OK  # a source that failed is still a failure
    if verbose:
        where = ", ".join(report.delivered) or "nowhere"
        warn(f"digest of {len(report.recommended)} papers for {report.profile} ({report.mode}) "
             f"delivered to {where}")
    return EXIT_RUNTIME if report.errors else EXIT_OK
