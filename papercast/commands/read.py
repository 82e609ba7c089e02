"""``papercast read``: a paper's full text (arXiv HTML, the PDF when there is none, or a saved file).

The text goes to stdout (outline, then each section's passages with their citations), so it pipes
into a pager; notes (the abstract only, pages left out) go to stderr. The first read of a paper
fetches, parses and indexes it (a progress line on a terminal); later reads are local.
"""

from __future__ import annotations

import argparse
import textwrap
from typing import TYPE_CHECKING, Any

from papercast.commands._output import (
    EXIT_OK,
    EXIT_RUNTIME,
    ProgressLine,
    emit_json,
    make_service_with_papers,
    warn,
)
from papercast.errors import UserError

if TYPE_CHECKING:
    from papercast.models import Document

SOURCES = {"html": "arXiv HTML", "pdf": "arXiv PDF", "file": "a saved file", "abstract": "the abstract only"}


def register(sub: Any) -> None:
    p = sub.add_parser("read",
                       help="a paper's full text by section (arXiv HTML, PDF fallback, or a saved file)")
    p.add_argument("id", nargs="?", metavar="ID",
                   help="arXiv id (optional with --from when the file names it)")
    p.add_argument("--section", help="only this section, by number or title (e.g. 3.2, 'related work')")
    p.add_argument("--from", dest="from_file", metavar="FILE",
                   help="read a saved arXiv HTML page or PDF instead of fetching (no network)")
    p.add_argument("--outline", action="store_true", help="only the sections, not the text")
    p.add_argument("--json", action="store_true",
                   help="the document as JSON (sections, passages, references)")
    p.set_defaults(handler=cmd_read)


def cmd_read(args: argparse.Namespace) -> int:
    if not args.id and not args.from_file:
        raise UserError("read needs a paper id, or --from FILE")
    service = make_service_with_papers(args)
    progress = ProgressLine("embedding passages")
    try:
        if args.from_file:
            document = service.read_file(args.from_file, args.id, progress=progress)
            if args.section:
                document = service.read_paper(document.paper_id, section=args.section, fetch=False)
        else:
            document = service.read_paper(args.id, section=args.section, progress=progress, add=True)
    finally:
        progress.close()
    if document.note:
        warn(f"{document.paper_id}: {document.note}")
    # arXiv could not be reached: the abstract is shown, but the read failed (cron and scripts see it).
    done = EXIT_RUNTIME if document.unreachable else EXIT_OK
    if args.json:
        found = service.papers_found([document.paper_id])
        roles = service.sentence_roles(found).get(document.paper_id, []) if found else []
        emit_json(document.to_json() | {"abstract_roles": [r.model_dump() for r in roles]})
        return done
    print(f"{document.title}  [{document.paper_id}]")
    where = f" in section {args.section!r}" if args.section else ""
    print(f"(read from {SOURCES.get(document.source, document.source)}: {len(document.sections)} sections, "
          f"{len(document.passages)} passages{where}, {len(document.references)} references)")
    if not args.section:
        print()
        print(outline_text(document))
    if args.outline:
        return done
    print()
    print(document_text(document))
    return done


def outline_text(document: Document) -> str:
    """The sections, indented by level."""
    if not document.sections:
        return "(no sections: the abstract only)"
    return "\n".join("  " * max(0, s.level - 1) + s.label for s in document.sections)


def document_text(document: Document, width: int = 100) -> str:
    """The passages under their section headings, each ending with its citation."""
    lines: list[str] = []
    current = None
    for passage in document.passages:
        heading = "Abstract" if passage.kind == "abstract" else passage.section
        if heading != current:
            if lines:
                lines.append("")
            lines.append(f"## {heading}")
            current = heading
        for part in passage.text.split("\n"):
            indent = "  " if part.startswith("- ") else ""
            lines.append(textwrap.fill(part, width=width, subsequent_indent=indent + "  " if indent else ""))
        lines.append(f"    {passage.cite}")
    return "\n".join(lines)
