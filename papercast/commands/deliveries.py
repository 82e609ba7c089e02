"""``papercast export`` and ``papercast history``: papers out to reference managers, and what was sent.

``export`` writes a profile's liked or saved papers, its reading list or its last delivered digest as
BibTeX (arXiv's own style), RIS or CSL JSON, for Zotero, Mendeley, JabRef or a ``.bib`` beside a
paper. ``history`` lists the deliveries ``daily`` recorded (the "never resend" memory), and
``history --forget ID`` lets a paper be delivered again.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from papercast.commands._output import (
    EXIT_OK,
    add_count,
    emit_json,
    make_service,
    make_service_with_papers,
    notice,
    write_output,
)
from papercast.outfile import check_out


def register(sub: Any) -> None:
    p = sub.add_parser("export", help="liked, saved, listed or delivered papers as BibTeX, RIS or CSL JSON")
    p.add_argument("--profile", help="profile (default: the active one)")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--liked", dest="which", action="store_const", const="liked",
                       help="the profile's liked papers")
    which.add_argument("--saved", dest="which", action="store_const", const="saved",
                       help="the profile's saved papers")
    which.add_argument("--list", dest="which", action="store_const", const="list",
                       help="the reading list (what recommend shows; -n papers)")
    which.add_argument("--digest", dest="which", action="store_const", const="digest",
                       help="the papers of the last digest delivered to the profile")
    p.add_argument("--format", choices=["bibtex", "ris", "csljson"], required=True,
                   help="bibtex (arXiv's @misc style), ris or csljson (pandoc, Zotero)")
    p.add_argument("--out", metavar="FILE", help="write to FILE instead of stdout")
    add_count(p, 20, "papers of the reading list (with --list)")
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("history",
                       help="the digests delivered (by daily and digest --email/--webhook), newest first")
    p.add_argument("--profile", help="only this profile's deliveries (default: every profile's)")
    add_count(p, 20, "deliveries")
    p.add_argument("--json", action="store_true", help="a JSON array of deliveries, newest first")
    p.add_argument("--forget", metavar="ID", nargs="+",
                   help="let these papers be delivered again (to --profile, default the active one)")
    p.set_defaults(handler=cmd_history)


def cmd_export(args: argparse.Namespace) -> int:
    if args.out is not None:
        check_out(args.out)
    service = make_service_with_papers(args)
    if args.out is not None:
        check_out(args.out, home=service.settings.home)  # not one of the home's own files
    text, papers = service.export_papers(args.which, args.format, profile=args.profile, n=args.n)
    if not papers:
        notice(f"no {args.which} papers to export for profile {service.active_profile(args.profile).name}")
    if args.out is None:
        sys.stdout.write(text)
    else:
        out = write_output(args.out, text, service.settings.home)
        notice(f"exported {len(papers)} papers to {out}")
    return EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    service = make_service(args)
    if args.forget:
        count = service.forget_seen(args.forget, profile=args.profile)
        name = service.active_profile(args.profile).name
        print(f"{count} of {len(args.forget)} paper(s) may be delivered to {name} again")
        return EXIT_OK
    records = service.delivery_history(args.profile, args.n)
    if args.json:
        emit_json([r.to_json() for r in records])
        return EXIT_OK
    for r in records:
        print(f"{r.at:%Y-%m-%d %H:%M}  {r.profile:<12} {r.channel:<8} {len(r.papers):>3} papers  {r.target}")
    if not records:
        notice("nothing delivered yet (papercast daily delivers and records each digest)")
    return EXIT_OK
