"""Papers for reference managers (Zotero, Mendeley, JabRef, a ``.bib``): BibTeX, RIS and CSL JSON.

* BibTeX as arXiv's "Export BibTeX Citation" writes it (``@misc`` with ``eprint``, ``archivePrefix``,
  ``primaryClass``, ``url``), which ``papercast profile import-likes`` reads back;
* RIS (``TY  - UNPB``: a preprint) with arXiv's DOI, ``10.48550/arXiv.ID``;
* CSL JSON (pandoc, Zotero, Quarto) with the same fields.

Titles and abstracts are untrusted: BibTeX gets LaTeX's special characters escaped and its braces
balanced, so a title can never close an entry or run a command.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from typing import Literal

from papercast.models import Paper

ExportFormat = Literal["bibtex", "ris", "csljson"]
FORMATS: tuple[str, ...] = ("bibtex", "ris", "csljson")

# Lower-case name particles that belong to the family name ("van der Waals", "de la Cruz").
_PARTICLES = frozenset({"van", "von", "der", "den", "de", "del", "della", "di", "da", "la", "le", "du", "dos",
                        "das", "ter", "ten", "bin", "al"})
_SKIP_WORDS = frozenset({"a", "an", "the", "on", "of", "in", "for", "and", "to", "with", "via", "from", "by",
                         "towards", "toward", "is", "are", "at", "as", "do", "does", "why", "what", "how",
                         "when", "where", "which", "who", "can", "not", "all", "your", "our", "we"})


def arxiv_doi(paper_id: str) -> str:
    """The DataCite DOI arXiv gives every paper."""
    return f"10.48550/arXiv.{paper_id}"


def split_name(name: str) -> tuple[str, str]:
    """(family, given) of "Adam Tauman Kalai" -> ("Kalai", "Adam Tauman"); "Vincent van Gogh" keeps
    "van Gogh" as the family name; "Kalai, Adam" is taken as written."""
    text = " ".join(name.split())
    if "," in text:
        family, given = text.split(",", 1)
        return family.strip(), given.strip()
    words = text.split(" ")
    if len(words) == 1:
        return words[0], ""
    start = len(words) - 1
    while start > 1 and words[start - 1] in _PARTICLES:
        start -= 1
    return " ".join(words[start:]), " ".join(words[:start])


def _ascii_word(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]", "", folded).lower()


KEY_PART = 16  # characters of the family name and of each title word in a key
KEY_LENGTH = 40  # a key's longest (before the "a", "b"... that tell equal keys apart)


def citation_key(paper: Paper) -> str:
    """arXiv's key style: the first author's family name, the year and the title's first two words
    that say something (``kalai2025languagemodels``)."""
    family = _ascii_word(split_name(paper.authors[0])[0])[:KEY_PART] if paper.authors else ""
    year = str(paper.published.year) if paper.published else ""
    words = [w for w in (_ascii_word(w) for w in paper.title.split()) if w and w not in _SKIP_WORDS][:2]
    key = f"{family or 'arxiv'}{year}{''.join(w[:KEY_PART] for w in words)}"[:KEY_LENGTH]
    return key or f"arxiv{paper.id.replace('/', '').replace('.', '')}"


# Braces become commands, not ``\{``: BibTeX counts every brace, escaped or not, to find a value's end.
_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\textbraceleft{}", "}": r"\textbraceright{}", "&": r"\&",
                  "%": r"\%", "$": r"\$",
                  "#": r"\#", "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def bibtex_escape(text: str) -> str:
    """Untrusted text as a BibTeX field value: one line, LaTeX specials escaped, so the field's own
    braces always balance and nothing in it runs as a command."""
    flat = " ".join(str(text).split())
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in flat)


def _primary_class(paper: Paper) -> str:
    if paper.categories:
        return paper.categories[0]
    return paper.id.split("/", 1)[0] if "/" in paper.id else ""


def to_bibtex(papers: Sequence[Paper]) -> str:
    used: dict[str, int] = {}
    entries = []
    for paper in papers:
        key = citation_key(paper)
        count = used.get(key, 0)
        used[key] = count + 1
        if count:
            key = f"{key}{chr(ord('a') + count - 1) if count <= 26 else count}"
        fields = [("title", bibtex_escape(paper.title)),
                  ("author", " and ".join(bibtex_escape(a) for a in paper.authors) or "Anonymous")]
        if paper.published:
            fields.append(("year", str(paper.published.year)))
        fields += [("eprint", paper.id), ("archivePrefix", "arXiv")]
        if _primary_class(paper):
            fields.append(("primaryClass", _primary_class(paper)))
        fields += [("doi", arxiv_doi(paper.id)), ("url", paper.url)]
        body = ",\n".join(f"      {name}={{{value}}}" for name, value in fields)
        entries.append(f"@misc{{{key},\n{body},\n}}")
    return "\n\n".join(entries) + ("\n" if entries else "")


def _ris_text(text: str) -> str:
    return " ".join(str(text).split())


def to_ris(papers: Sequence[Paper]) -> str:
    records = []
    for paper in papers:
        lines = ["TY  - UNPB", f"TI  - {_ris_text(paper.title)}"]
        for name in paper.authors:
            family, given = split_name(name)
            lines.append(f"AU  - {_ris_text(family)}{', ' + _ris_text(given) if given else ''}")
        if paper.published:
            lines += [f"PY  - {paper.published.year}", f"DA  - {paper.published:%Y/%m/%d}"]
        if paper.abstract:
            lines.append(f"AB  - {_ris_text(paper.abstract)}")
        lines += ["PB  - arXiv", f"AN  - arXiv:{paper.id}", f"DO  - {arxiv_doi(paper.id)}",
                  f"UR  - {paper.url}"]
        lines += [f"KW  - {_ris_text(c)}" for c in paper.categories]
        lines.append("ER  - ")
        records.append("\n".join(lines))
    return "\n\n".join(records) + ("\n" if records else "")


def csl_item(paper: Paper) -> dict[str, object]:
    item: dict[str, object] = {
        "id": f"arXiv:{paper.id}", "type": "article", "title": " ".join(paper.title.split()),
        "author": [({"family": f, "given": g} if g else {"literal": f})
                   for f, g in map(split_name, paper.authors)],
        "publisher": "arXiv", "number": f"arXiv:{paper.id}", "genre": "Preprint",
        "DOI": arxiv_doi(paper.id), "URL": paper.url,
    }
    if paper.published:
        item["issued"] = {"date-parts": [[paper.published.year, paper.published.month, paper.published.day]]}
    if paper.abstract:
        item["abstract"] = " ".join(paper.abstract.split())
    if paper.categories:
        item["keyword"] = ", ".join(paper.categories)
    return item


def to_csljson(papers: Sequence[Paper]) -> str:
    return json.dumps([csl_item(p) for p in papers], ensure_ascii=False, indent=2) + "\n"


def export(papers: Sequence[Paper], fmt: ExportFormat) -> str:
    return {"bibtex": to_bibtex, "ris": to_ris, "csljson": to_csljson}[fmt](papers)
