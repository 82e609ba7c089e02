"""``papercast recommend``: the personal reading list, best first, with the reasons for each paper."""

from __future__ import annotations

import argparse
from typing import Any

from papercast.commands._output import (
    EXIT_OK,
    add_count,
    emit_json,
    make_service_with_papers,
    notice,
    warn,
    window_of,
)


def register(sub: Any) -> None:
    p = sub.add_parser("recommend", help="your reading list: the window's best papers for a profile")
    p.add_argument("--profile", help="profile to rank for (default: the active one)")
    add_count(p, 20, "papers")
    p.add_argument("--since", help="first day, YYYY-MM-DD (default: 7 days before --until)")
    p.add_argument("--until", help="last day, YYYY-MM-DD (default: the newest paper in the store)")
    p.add_argument("--json", action="store_true", help="a JSON array, best first")
    p.add_argument("--no-llm", action="store_true", help="skip the LLM re-ranking even when a model is set")
    p.add_argument("--include-seen", action="store_true",
                   help="also papers already delivered to the profile (by daily; left out by default)")
    p.set_defaults(handler=cmd_recommend)


def cmd_recommend(args: argparse.Namespace) -> int:
    window = window_of(args)  # bad dates fail before anything is loaded
    service = make_service_with_papers(args)
    reading = service.recommend(profile=args.profile, n=args.n, use_llm=not args.no_llm,
                                include_seen=args.include_seen, **window)
    if getattr(service, "starter_created", False):
        starter = service.active_profile()
        notice(f"created a starter profile '{starter.name}' ({starter.interests}); make it yours with: "
               f"papercast profile set {starter.name} --interests TEXT")
    if reading.note:
        notice(reading.note)
    for note in reading.llm_notes:
        warn(note)
    if args.json:
        emit_json([r.to_json() for r in reading.items])
        return EXIT_OK
    profile = service.active_profile(args.profile)
    window = f"{reading.since} .. {reading.until}" if reading.since else "all papers"
    print(f"Reading list for profile {profile.name} ({window}) — {service.mode}")
    for rank, rec in enumerate(reading.items, 1):
        paper = rec.paper
        votes = f"  ▲{paper.upvotes}" if paper.upvotes else ""
        print(f"{rank:>2}. {paper.title}")
        print(f"    {paper.id}  {paper.published or ''}  score {rec.score:.2f}{votes}")
        for reason in rec.reasons:
            print(f"    · {reason}")
    if not reading.items and not reading.note:  # the note (on stderr) already says why it is empty
        print("nothing to recommend: every paper in the window is read, dismissed or excluded")
    return EXIT_OK
