"""``papercast profile ...``: named interest profiles and feedback on papers."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from papercast.commands._output import (
    EXIT_OK,
    EXIT_USAGE,
    ArgumentParser,
    emit_json,
    make_service,
    make_service_with_papers,
    warn,
)
from papercast.errors import UserError

if TYPE_CHECKING:
    from papercast.models import Paper

_LIST_OPTIONS = (
    # (option, dest, help)
    ("--keyword", "keywords", "keyword or phrase to match exactly (repeatable)"),
    ("--author", "authors", "author to follow (repeatable)"),
    ("--category", "categories", "arXiv category, e.g. cs.CL (repeatable)"),
)


def register(sub: Any) -> None:
    profile = sub.add_parser("profile", help="interest profiles and feedback (like/dislike papers)")
    psub = profile.add_subparsers(dest="profile_command", metavar="ACTION", required=True,
                                  parser_class=ArgumentParser)

    p = psub.add_parser("list", help="all profiles; * marks the active one")
    p.add_argument("--json", action="store_true", help="a JSON array of profiles")
    p.set_defaults(handler=cmd_list)

    p = psub.add_parser("show", help="one profile in full (default: the active one)")
    p.add_argument("name", nargs="?", metavar="NAME", help="the profile (default: the active one)")
    p.add_argument("--json", action="store_true", help="the profile and its feedback as JSON")
    p.set_defaults(handler=cmd_show)

    p = psub.add_parser("create", help="a new profile")
    p.add_argument("name", metavar="NAME", help="its name: letters, digits, '.', '-', '_' (at most 64)")
    p.add_argument("--interests", default="", help="what you work on, in your own words")
    for option, dest, text in _LIST_OPTIONS:
        p.add_argument(option, dest=dest, action="append", default=[], help=text)
    p.add_argument("--exclude", dest="excluded", action="append", default=[],
                   help="never show papers mentioning this keyword (repeatable)")
    p.add_argument("--use", action="store_true", help="make it the active profile")
    p.add_argument("--from-author", dest="from_authors", action="append", default=[], metavar="NAME",
                   help='like every paper in the library by this author: full name or initial and surname, '
                        'e.g. "Yann LeCun" or "Y. LeCun" (repeatable)')
    p.set_defaults(handler=cmd_create)

    p = psub.add_parser("set", help="change a profile: options replace a list, --add-*/--remove-* edit it")
    p.add_argument("name", metavar="NAME", help="the profile to change")
    p.add_argument("--interests", help="what you work on, in your own words (replaces the text)")
    for option, dest, text in (*_LIST_OPTIONS, ("--exclude", "excluded", "excluded keyword (repeatable)")):
        p.add_argument(option, dest=dest, action="append", default=None, help=f"{text}; replaces the list")
        p.add_argument(f"--add-{option[2:]}", dest=f"add_{dest}", action="append", default=[],
                       help="add to the list (repeatable)")
        p.add_argument(f"--remove-{option[2:]}", dest=f"remove_{dest}", action="append", default=[],
                       help="remove from the list (repeatable)")
    p.set_defaults(handler=cmd_set)

    p = psub.add_parser("delete", help="delete a profile and its feedback")
    p.add_argument("name", metavar="NAME", help="the profile to delete")
    p.set_defaults(handler=cmd_delete)

    p = psub.add_parser("use", help="make a profile the active one")
    p.add_argument("name", metavar="NAME", help="the profile to rank for from now on")
    p.set_defaults(handler=cmd_use)

    p = psub.add_parser("rename", help="rename a profile (feedback and active status move with it)")
    p.add_argument("old", metavar="OLD", help="the profile's name")
    p.add_argument("new", metavar="NEW", help="its new name")
    p.set_defaults(handler=cmd_rename)

    for kind, verb in (("like", "like"), ("dislike", "dislike"), ("save", "save"), ("dismiss", "dismiss")):
        p = psub.add_parser(verb, help=f"{verb} papers (improves the next recommendations at once)")
        p.add_argument("ids", nargs="+", metavar="ID", help="arXiv ids of stored papers (or their URLs)")
        p.add_argument("--profile", help="profile to change (default: the active one)")
        p.add_argument("--undo", action="store_true", help=f"take the {kind} back")
        p.set_defaults(handler=cmd_feedback, kind=kind)

    p = psub.add_parser("import-likes", help="like the papers in a file of arXiv ids or a BibTeX export")
    p.add_argument("file", metavar="FILE", help="arXiv ids or URLs (one per line), or a BibTeX export")
    p.add_argument("--profile", help="profile to change (default: the active one)")
    p.set_defaults(handler=cmd_import_likes)


def cmd_list(args: argparse.Namespace) -> int:
    service = make_service(args)
    profiles = service.profile_list()
    active = service.active_profile_name()
    if args.json:
        emit_json([p.to_json(active=p.name == active) for p in profiles])
        return EXIT_OK
    for p in profiles:
        mark = "*" if p.name == active else " "
        counts = f"{len(p.liked)} liked, {len(p.disliked)} disliked, {len(p.saved)} saved"
        print(f"{mark} {p.name:<20} {counts}  {p.interests[:60]}")
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    service = make_service(args)
    p = service.profile_show(args.name)
    active = p.name == service.active_profile_name()
    if args.json:
        emit_json(p.to_json(active=active))
        return EXIT_OK
    print(f"{p.name}{' (active)' if active else ''}")
    print(f"  interests: {p.interests or '(none: set with profile set NAME --interests TEXT)'}")
    for label, values in (("keywords", p.keywords), ("excluded", p.excluded_keywords),
                          ("authors", p.authors), ("categories", p.categories)):
        if values:
            print(f"  {label}: {', '.join(values)}")
    for kind in ("liked", "disliked", "saved", "dismissed"):
        ids = getattr(p, kind)
        if ids:
            print(f"  {kind} ({len(ids)}): {' '.join(ids[-10:])}{' …' if len(ids) > 10 else ''}")
    return EXIT_OK


def cmd_create(args: argparse.Namespace) -> int:
    # Seeding likes needs papers: a fresh home gets the bundled sample first, as `profile like` does.
    service = make_service_with_papers(args) if args.from_authors else make_service(args)
    # checked before creating
    found = service.papers_by_author(args.from_authors) if args.from_authors else {}
    p = service.profile_create(args.name, interests=args.interests, keywords=args.keywords,
                               excluded_keywords=args.excluded, authors=args.authors,
                               categories=args.categories, use=args.use, from_authors=found)
    active = p.name == service.active_profile_name()
    tail = "" if active else f"; make it active with: profile use {p.name}"
    print(f"created profile {p.name}{' (active)' if active else ''}{_liked_by(found)}{tail}")
    return EXIT_OK


def _liked_by(found: dict[str, list[Paper]]) -> str:
    """What ``--from-author`` liked, for the created line: ``; liked 4 papers by Yann LeCun``, or with
    several authors the total (a paper by two is liked once) and each one's count:
    ``; liked 5 papers: 4 by Yann LeCun, 2 by Jane Doe``."""
    if not found:
        return ""
    total = len({p.id for papers in found.values() for p in papers})
    noun = "paper" if total == 1 else "papers"
    if len(found) == 1:
        [(name, _)] = found.items()
        return f"; liked {total} {noun} by {name}"
    return f"; liked {total} {noun}: " + ", ".join(f"{len(papers)} by {name}"
                                                  for name, papers in found.items())


def cmd_set(args: argparse.Namespace) -> int:
    service = make_service(args)
    changes: dict[str, Any] = {
        "interests": args.interests, "keywords": args.keywords, "excluded_keywords": args.excluded,
        "authors": args.authors, "categories": args.categories,
        "add_keywords": args.add_keywords, "remove_keywords": args.remove_keywords,
        "add_authors": args.add_authors, "remove_authors": args.remove_authors,
        "add_excluded": args.add_excluded, "remove_excluded": args.remove_excluded,
        "add_categories": args.add_categories, "remove_categories": args.remove_categories,
    }
    if all(v in (None, []) for v in changes.values()):
        raise UserError("nothing to change: give --interests, --keyword, --add-keyword, ... (see --help)")
    p = service.profile_update(args.name, **changes)
    print(f"updated profile {p.name}")
    return EXIT_OK


def cmd_delete(args: argparse.Namespace) -> int:
    service = make_service(args)
    name = service.profile_show(args.name).name
    service.profile_delete(name)
    print(f"deleted profile {name}")
    return EXIT_OK


def cmd_use(args: argparse.Namespace) -> int:
    p = make_service(args).profile_use(args.name)
    print(f"active profile: {p.name}")
    return EXIT_OK


def cmd_rename(args: argparse.Namespace) -> int:
    p = make_service(args).profile_rename(args.old, args.new)
    print(f"renamed profile {args.old} to {p.name}")
    return EXIT_OK


def cmd_feedback(args: argparse.Namespace) -> int:
    service = make_service_with_papers(args)
    p = service.feedback(args.ids, args.kind, profile=args.profile, undo=args.undo)
    done = "took back" if args.undo else "recorded"
    print(f"{done} {args.kind} for {len(args.ids)} paper(s) in profile {p.name}")
    return EXIT_OK


def cmd_import_likes(args: argparse.Namespace) -> int:
    service = make_service(args)
    liked = service.import_likes(args.file, profile=args.profile)
    for line in getattr(liked, "skipped", []):
        warn(f"skipped {line}")
    missing = getattr(liked, "missing", [])
    if missing:
        warn("not in the store (nothing fetched; `papercast fetch` or import them first): "
             f"{', '.join(missing)}")
    print(f"liked {len(liked)} paper(s) in profile {getattr(liked, 'profile', '')}")
    return EXIT_OK if liked else EXIT_USAGE
