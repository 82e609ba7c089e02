"""``papercast import``, ``fetch`` and ``papers list|search|show``: getting papers in and looking at them."""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

from papercast.commands._output import (
    EXIT_OK,
    EXIT_RUNTIME,
    EXIT_USAGE,
    ArgumentParser,
    ProgressLine,
    add_count,
    emit_json,
    make_service,
    make_service_with_papers,
    notice,
    parse_day,
    warn,
    window_of,
)
from papercast.errors import UserError

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as the CLI answers any Ctrl-C
MAX_SKIPPED_SHOWN = 20  # a binary file would otherwise print one line per "line" it holds
PASSAGE_SHOWN = 480  # characters of a paragraph found by ``papers search --passages``


def register(sub: Any) -> None:
    p = sub.add_parser("import",
                       help="import papers from JSONL(.gz), HF daily_papers JSON or arXiv Atom files")
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="a file to import: corpus JSONL (.jsonl or .jsonl.gz), HF daily_papers JSON "
                   "or arXiv Atom XML")
    p.add_argument("--json", action="store_true", help="what was imported and skipped, as JSON")
    p.set_defaults(handler=cmd_import)

    p = sub.add_parser("fetch", help="fetch new papers from Hugging Face Daily Papers and/or arXiv")
    p.add_argument("--source", default="all", help="hf, arxiv or all (default: all)")
    p.add_argument("--date", help="one day, YYYY-MM-DD")
    p.add_argument("--since", help="first day of a range, YYYY-MM-DD")
    p.add_argument("--until", help="last day of a range, YYYY-MM-DD")
    p.add_argument("--category", action="append", default=[], help="arXiv category (repeatable)")
    p.add_argument("--query", help="arXiv search query, e.g. 'ti:diffusion AND cat:cs.CV'")
    p.add_argument("--include-cross", action="store_true", default=None,
                   help="arXiv listings: also papers cross-listed into the categories "
                   "(setting: include_cross)")
    p.add_argument("--json", action="store_true", help="what was fetched and stored, as JSON")
    p.set_defaults(handler=cmd_fetch)

    papers = sub.add_parser("papers", help="list, search or show stored papers")
    psub = papers.add_subparsers(dest="papers_command", metavar="ACTION", required=True,
                                 parser_class=ArgumentParser)
    p = psub.add_parser("list", help="the latest papers in the store")
    add_count(p, 20, "papers")
    p.add_argument("--since", help="first day, YYYY-MM-DD")
    p.add_argument("--until", help="last day, YYYY-MM-DD")
    p.add_argument("--category", help="only papers in this arXiv category, e.g. cs.CL")
    p.add_argument("--json", action="store_true", help="a JSON array of papers, newest first")
    p.set_defaults(handler=cmd_list)
    p = psub.add_parser("search", help="search titles and abstracts (words, \"quoted phrases\" and meaning)")
    p.add_argument("query", metavar="QUERY", nargs="?", default="",
                   help='what to look for: words, "a quoted phrase", or a question; cat:cs.CL and '
                        'au:"Yann LeCun" filter (filters alone list their papers, newest first)')
    add_count(p, 10, "papers")
    p.add_argument("--since", help="first day, YYYY-MM-DD")
    p.add_argument("--until", help="last day, YYYY-MM-DD")
    p.add_argument("--category", action="append", default=[],
                   help="only papers in this arXiv category (repeatable, or comma-separated: cs.CL,cs.LG)")
    p.add_argument("--author", action="append", default=[],
                   help="only papers by this author (repeatable; "
                   "a surname alone matches every such author)")
    p.add_argument("--passages", action="store_true",
                   help="search the paragraphs of the papers read in full (papercast read), not the papers")
    p.add_argument("--id", action="append", default=[], dest="ids", metavar="ID",
                   help="with --passages: only this paper's paragraphs (repeatable)")
    p.add_argument("--json", action="store_true", help="a JSON array of papers, best first, with scores")
    p.set_defaults(handler=cmd_search)
    p = psub.add_parser("show", help="one paper in full")
    p.add_argument("id", metavar="ID", help="an arXiv id (2509.04664) or its arxiv.org / huggingface.co URL")
    p.add_argument("--json", action="store_true", help="the paper as JSON")
    p.set_defaults(handler=cmd_show)


def cmd_import(args: argparse.Namespace) -> int:
    """Exit 0 all read, 1 some entries skipped, 2 nothing valid in the files (or a file over a cap)."""
    service = make_service(args)
    progress = ProgressLine("importing")
    try:
        report = service.import_files(args.paths, progress=progress)
    except KeyboardInterrupt:
        progress.close()
        warn(f"interrupted: {service.count()} papers in the store; the same import again adds the rest "
             "(papers already stored are skipped)")
        return EXIT_INTERRUPTED
    finally:
        progress.close()
    failed = EXIT_USAGE if report.errors and not report.parsed else EXIT_RUNTIME
    if args.json:
        emit_json(report.to_json(stored=service.count()))
        return failed if report.errors else EXIT_OK
    for error in report.errors[:MAX_SKIPPED_SHOWN]:
        warn(f"skipped {error}")
    if len(report.errors) > MAX_SKIPPED_SHOWN:
        warn(f"... and {len(report.errors) - MAX_SKIPPED_SHOWN} more skipped entries "
             "(papercast import --json lists them all)")
    for note in report.notes:
        notice(note)
    r = report.result
    assert r is not None
    print(f"imported {report.parsed} papers from {len(report.files)} file(s): {r.added} new, "
          f"{r.updated + r.reembedded} updated, {r.unchanged} unchanged; {service.count()} in the store")
    return failed if report.errors else EXIT_OK


def cmd_fetch(args: argparse.Namespace) -> int:
    service = make_service(args)
    if args.date and (args.since or args.until):
        raise UserError("use either --date or --since/--until, not both")
    progress = ProgressLine("embedding")
    try:
        report = service.fetch(args.source, day=parse_day(args.date, "--date"), categories=args.category,
                               query=args.query, progress=progress, include_cross=args.include_cross,
                               **window_of(args))
    finally:
        progress.close()
    if args.json:
        emit_json(report.to_json(stored=service.count()))
        return EXIT_RUNTIME if report.errors else EXIT_OK
    for note in report.notes:
        notice(note)
    for error in report.errors:
        warn(f"error: {error}")
    r = report.result
    stored = (f"{r.added} new, {r.updated + r.reembedded} updated, {r.unchanged} unchanged" if r
              else "nothing new")
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
    window = window_of(args)  # bad dates fail before anything is loaded
    service = make_service_with_papers(args)
    papers = service.list_papers(args.n, category=args.category, **window)
    if args.json:
        emit_json([p.to_json() for p in papers])
    else:
        for paper in papers:
            print(_line(paper))
        if not papers:
            notice("no papers in that window")
    return EXIT_OK


def cmd_search(args: argparse.Namespace) -> int:
    from papercast.tools.ranking.search import search_request  # lazy: numpy-heavy ranking stays off --help

    window = window_of(args)  # bad input fails before anything is loaded
    request = search_request(args.query, args.category, args.author)
    if args.passages:
        return _search_passages(args, request, window)
    if args.ids:
        raise UserError("--id narrows a --passages search "
                        "(to find a paper by its id: papercast papers show ID)")
    # A first search on a fresh home searches the bundled sample, as every other reading command does.
    service = make_service_with_papers(args)
    hits = service.search(args.query, args.n, categories=args.category, authors=args.author, **window)
    if args.json:
        emit_json([hit.to_json() for hit in hits])
    else:
        for hit in hits:  # filters alone rank nothing: no score to show
            print(_line(hit.paper, None if request.listing else hit.score))
            print(f"{'':23}{'; '.join(hit.reasons)}")
        if not hits:
            notice(" ".join(filter(None, ["nothing matched", request.scope])))
    return EXIT_OK


def _search_passages(args: argparse.Namespace, request: Any, window: dict[str, Any]) -> int:
    """``papers search --passages``: the best paragraphs of the stored full texts, each with its
    citation, as the agent's ``search_passages`` finds them (``service.search_passages``)."""
    if request.filtered or any(window.values()):
        raise UserError("--passages searches the papers read in full: narrow it with --id, not with "
                        "dates, categories or authors")
    if request.query.empty:
        raise UserError("empty search query")
    service = make_service(args)
    # unknown ids: one line, exit 2
    wanted = [p.id for p in service.get_papers(args.ids)] if args.ids else None
    results = service.search_passages(args.query, ids=wanted, n=args.n)
    titles = {p.id: p.title for p in service.papers_found(list({p.paper_id for p, _ in results}))}
    if args.json:
        emit_json([p.to_json() | {"score": round(score, 4), "title": titles.get(p.paper_id, "")}
                   for p, score in results])
        return EXIT_OK
    for passage, score in results:
        title = titles.get(passage.paper_id, "")
        print(f"{score:5.2f}  {passage.cite} {title} — {passage.section or 'Abstract'}")
        print(textwrap.fill(textwrap.shorten(passage.text, PASSAGE_SHOWN, placeholder=" …"), width=100,
                            initial_indent=" " * 7, subsequent_indent=" " * 7))
    if not results:
        unread = [pid for pid in wanted or [] if not service.has_fulltext(pid)]
        if unread:
            notice(f"not read in full: {', '.join(unread)} (papercast read {unread[0]} stores its text)")
        elif service.passage_count() == 0:
            notice("no paper is read in full yet: papercast read ID stores one's text")
        else:
            notice("nothing matched in the papers read in full")
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    service = make_service(args)
    paper = service.get_paper(args.id)
    fulltext = service.has_fulltext(paper.id)
    if args.json:
        roles = [r.model_dump() for r in service.abstract_roles(paper.id)]
        emit_json(paper.to_json() | {"fulltext": fulltext, "abstract_roles": roles})
        return EXIT_OK
    print(paper.title)
    meta = [paper.published.isoformat() if paper.published else None, " ".join(paper.categories) or None,
            f"▲ {paper.upvotes} upvotes" if paper.upvotes is not None else None]
    for line in (", ".join(paper.authors), " · ".join(m for m in meta if m)):
        if line:  # a paper added from a saved file may have neither: no blank lines for them
            print(line)
    print(f"{paper.url}  (pdf: {paper.pdf_url})")
    if paper.github_repo:
        print(f"code: {paper.github_repo}")
    print(f"full text: stored (papercast read {paper.id})" if fulltext
          else f"full text: not stored (papercast read {paper.id} fetches it)")
    print()
    print(paper.abstract)
    if paper.ai_summary:
        print(f"\nHF AI summary: {paper.ai_summary}")
    return EXIT_OK
