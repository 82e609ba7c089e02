"""One section of a paper's document, named by its number or its title (``papercast read ID §3``)."""

from __future__ import annotations

import re

from papercast.errors import UserError
from papercast.models import Document, Section


def _section_matches(section: Section, query: str) -> bool:
    """``3`` matches 3, 3.1 and 3.2.1 (not 30); a title matches by its start ("intro", "related work")."""
    q = " ".join(query.split()).strip(" §").lower()
    number = section.number.lower()
    if number and (number == q or number.startswith(q + ".") or number.startswith(q + "-")):
        return True
    return any(part.lower().startswith(q) or re.sub(r"^[\w.\-]+\s+", "", part).lower().startswith(q)
               for part in section.path.split(" > ")) or section.title.lower().startswith(q)


def filter_section(document: Document, query: str) -> Document:
    """The document with only the passages of the sections ``query`` names (by number or title); a
    UserError naming the available sections when it names none."""
    matching = [s for s in document.sections if _section_matches(s, query)]
    if not matching and query.strip().lower() in ("abstract", "§abstract"):
        abstract = [p for p in document.passages if p.kind == "abstract"]
        return document.model_copy(update={"passages": abstract})
    if not matching:
        top = [s.label for s in document.sections if s.level <= 1] or [s.label for s in document.sections]
        shown = ", ".join(top[:20]) + (", …" if len(top) > 20 else "")
        where = f"sections: {shown}" if top else "it has no sections (the abstract only)"
        raise UserError(f"no section {query!r} in {document.paper_id}; {where}")
    # ... and their subsections.
    numbers = tuple(s.number + tail for s in matching if s.number for tail in (".", "-"))
    paths = {s.path for s in matching} | {s.path for s in document.sections
                                          if numbers and s.number.startswith(numbers)}
    prefixes = tuple(p + " > " for p in paths)
    passages = [p for p in document.passages if p.kind != "abstract" and (p.section in paths
                                                                           or p.section.startswith(prefixes))]
    return document.model_copy(update={"passages": passages})
