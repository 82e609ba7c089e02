"""``papercast import``, ``fetch`` and ``papers list|search|show``: getting papers in and looking at them."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from papercast.commands._output import (
    EXIT_OK,
    EXIT_RUNTIME,
    ArgumentParser,
    ProgressLine,
    emit_json,
    make_service,
    make_service_with_papers,
    warn,
)


def register(sub: Any) -> None:
    p = sub.add_parser("import", help="import papers from JSONL(.gz), HF daily_papers JSON or arXiv Atom files")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.set_defaults(handler=cmd_import)

    p = sub.add_parser("fetch", help="fetch new papers from Hugging Face Daily Papers and/or arXiv")
    p.add_argument("--source", default="all", help="hf, arxiv or all (default: all)")
    p.add_argument("--date", help="one day, YYYY-MM-DD")
    p.add_argument("--since", help="first day of a range, YYYY-MM-DD")
    p.add_argument("--until", help="last day of a range, YYYY-MM-DD")
    p.add_argument("--category", action="append", default=[], help="arXiv category (repeatable)")
    p.add_argument("--query", help="arXiv search query, e.g. 'ti:diffusion AND cat:cs.CV'")
    p.set_defaults(handler=cmd_fetch)

    papers = sub.add_parser("papers", help="list, search or show stored papers")
    psub = papers.add_subparsers(dest="papers_command", metavar="ACTION", required=True,
                                 parser_class=ArgumentParser)
    p = psub.add_parser("list", help="the latest papers in the store")
    p.add_argument("-n", type=int, default=20)
    p.add_argument("--since")
    p.add_argument("--until")
    p.add_argument("--category")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_list)
    p = psub.add_parser("search", help="semantic search over titles and abstracts")
    p.add_argument("query")
    p.add_argument("-n", type=int, default=10)
    p.add_argument("--since")
    p.add_argument("--until")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_search)
    p = psub.add_parser("show", help="one paper in full")
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_show)


def _dates(args: argparse.Namespace) -> dict[str, Any]:
    from papercast.service import parse_date

    return {"since": parse_date(getattr(args, "since", None), "--since"),
            "until": parse_date(getattr(args, "until", None), "--until")}


def cmd_import(args: argparse.Namespace) -> int:
    service = make_service(args)
    progress = ProgressLine("embedding")
    try:
        report = service.import_files(args.paths, progress=progress)
    finally:
        progress.close()
    for error in report.errors:
        warn(f"skipped {error}")
    r = report.result
    assert r is not None
    print(f"imported {report.parsed} papers from {len(report.files)} file(s): {r.added} new, "
          f"{r.updated + r.reembedded} updated, {r.unchanged} unchanged; {service.count()} in the store")
    return EXIT_RUNTIME if report.errors else EXIT_OK


def cmd_fetch(args: argparse.Namespace) -> int:
    from papercast.service import parse_date

    service = make_service(args)
    if args.date and (args.since or args.until):
        from papercast.errors import UserError

        raise UserError("use either --date or --since/--until, not both")
    progress = ProgressLine("embedding")
    try:
        report = service.fetch(args.source, day=parse_date(args.date, "--date"), categories=args.category,
                           query=args.query, progress=progress, **_dates(args))
    finally:
        progress.close()
    for note in report.notes:
        warn(note)
    for error in report.errors:
        warn(f"error: {error}")
    r = report.result
    stored = f"{r.added} new, {r.updated + r.reembedded} updated, {r.unchanged} unchanged" if r else "nothing new"
    print(f"fetched {len(report.papers)} papers ({stored}); {service.count()} in the store")
    if report.errors and not report.papers:
        return EXIT_RUNTIME
    return EXIT_RUNTIME if report.errors else EXIT_OK


def _line(paper: Any, score: float | None = None) -> str:
    day = paper.published.isoformat() if paper.published else "          "
    votes = f" ▲{paper.upvotes}" if paper.upvotes else ""
    prefix = f"{score:5.2f}  " if score is not None else ""
    author = f" — {paper.first_author}{' et al.' if len(paper.authors) > 1 else ''}" if paper.authors else ""
    return f"{prefix}{paper.id:<16} {day}  {paper.title}{author}{votes}"


def cmd_list(args: argparse.Namespace) -> int:
    window = _dates(args)  # bad dates fail before anything is loaded
    service = make_service_with_papers(args)
    papers = service.list_papers(args.n, category=args.category, **window)
    if args.json:
        emit_json([p.to_json() for p in papers])
    else:
        for paper in papers:
            print(_line(paper))
        if not papers:
            print("no papers in that window", file=sys.stderr)
    return EXIT_OK


def cmd_search(args: argparse.Namespace) -> int:
    service = make_service(args)
    hits = service.search(args.query, args.n, **_dates(args))
    if args.json:
        emit_json([p.to_json() | {"score": round(s, 4)} for p, s in hits])
    else:
        for paper, score in hits:
            print(_line(paper, score))
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    service = make_service(args)
    paper = service.get_paper(args.id)
    if args.json:
        emit_json(paper.to_json())
        return EXIT_OK
    print(paper.title)
    print(", ".join(paper.authors))
    meta = [paper.published.isoformat() if paper.published else None, " ".join(paper.categories) or None,
            f"▲ {paper.upvotes} upvotes" if paper.upvotes is not None else None]
    print(" · ".join(m for m in meta if m))
    print(f"{paper.url}  (pdf: {paper.pdf_url})")
    if paper.github_repo:
        print(f"code: {paper.github_repo}")
    print()
    print(paper.abstract)
    if paper.ai_summary:
        print(f"\nHF AI summary: {paper.ai_summary}")
    return EXIT_OK
