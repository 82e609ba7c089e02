"""An arXiv PDF read as a paper, page by page with pypdfium2, under caps on pages and time.

pypdfium2 is Apache/BSD licensed (PyMuPDF's AGPL does not fit an MIT project). A PDF has no
structure, so sections are recovered from numbered headings when their numbers follow each other
(1, 2, 2.1, 3 ...), which keeps table rows and list items from passing for headings; a paper without
numbered headings is read again with the usual unnumbered ones ("Introduction", "Related Work").
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

from papercast.errors import one_line
from papercast.models import Section
from papercast.tools.sources.fulltext.document import (
    Block,
    Parsed,
    UnreadableDocument,
    new_section,
    sanitize,
    words,
)

MAX_PAGES = 200
PARSE_SECONDS = 60.0  # a PDF that takes longer is read up to where the time ran out
_STAMP = re.compile(r"^arXiv:\d{4}\.\d{4,5}(v\d+)?\s+\[[^\]]+\]\s+\d{1,2}\s+\w{3,9}\s+\d{4}$")
_NUMBERED = re.compile(r"^((?:\d{1,2}|[A-H])(?:\.\d{1,2}){0,3})\.?\s+([A-Z][^\n]{1,90})$")
_UNNUMBERED = re.compile(r"^(abstract|acknowledge?ments?|limitations?|ethics statement|"
                         r"ethical considerations|broader impacts?|conclusions?|references|bibliography|"
                         r"appendix|appendices)\.?$", re.I)
# The usual unnumbered section headings of a paper's body, alone on their line.
_BODY_HEADING = re.compile(r"^(introduction|related work|background|preliminaries|methods?|methodology|"
                           r"approach|experiments?|experimental setup|experimental results|evaluation|"
                           r"results|results and discussion|discussion|future work|"
                           r"conclusions? and future work)[.:]?$", re.I)
_CAPTION = re.compile(r"^(fig(?:ure)?\.?|table|tab\.)\s*\d+[.:]", re.I)
_REF_START = re.compile(r"^\[\d+\]\s")
# "∗Equal contribution.", "†Corresponding author."
_FOOTNOTE = re.compile(r"^[∗*†‡§¶]\s?[A-Z][^.]{0,60}\.?$")
_BULLET = re.compile(r"^[•◦▪‣∙·]\s*")


def is_pdf(raw: bytes) -> bool:
    """Whether ``raw`` is a PDF, by its content (a PDF's header comes within its first KB)."""
    return b"%PDF-" in raw[:1024]


def _follows(previous: str | None, number: str, in_appendix: bool) -> bool:
    """Whether ``number`` can be the next heading after ``previous`` (1 -> 1.1, 1.2, 2; A -> A.1, B):
    what tells "2 Related Work" from a table row "2 Models compared"."""
    parts = number.split(".")
    if parts[0].isalpha() != in_appendix:
        return False
    if previous is None or previous.split(".")[0].isalpha() != in_appendix:
        return parts in (["1"], ["A"]) or (in_appendix and parts == ["A"])
    prev = previous.split(".")
    if len(parts) == len(prev) + 1:  # one level down: x.1
        return parts[:-1] == prev and parts[-1] in ("1", "0")
    for depth in range(min(len(prev), len(parts))):  # a sibling at some level: x.(n+1)
        if len(parts) == depth + 1 and parts[:depth] == prev[:depth]:
            a, b = prev[depth], parts[depth]
            if a.isdigit() and b.isdigit():
                return int(b) == int(a) + 1
            return a.isalpha() and b.isalpha() and ord(b) == ord(a) + 1
    return False


def pdf_pages(raw: bytes, max_pages: int, deadline: float) -> tuple[list[str], int, str | None]:
    """The text of the first ``max_pages`` pages, the page count, and a note when some were left out."""
    import pypdfium2 as pdfium  # lazy: only a PDF needs pdfium

    try:
        pdf = pdfium.PdfDocument(raw)
    except pdfium.PdfiumError as exc:
        reason = str(exc)
        if "password" in reason.lower():
            raise UnreadableDocument("the PDF is encrypted (it needs a password)") from None
        raise UnreadableDocument(f"not a readable PDF ({one_line(reason, 80)})") from None
    try:
        total = len(pdf)
        pages: list[str] = []
        note = None
        for index in range(min(total, max_pages)):
            if time.monotonic() > deadline:
                note = f"read {index} of {total} pages (time limit)"
                break
            page = pdf[index]
            try:
                textpage = page.get_textpage()
                try:
                    pages.append(textpage.get_text_range())
                finally:
                    textpage.close()
            finally:
                page.close()
        if note is None and total > max_pages:
            note = f"read the first {max_pages} of {total} pages"
        return pages, total, note
    finally:
        pdf.close()


def pdf_lines(pages: Sequence[str]) -> list[str]:
    """The lines of all pages: hyphenated line breaks joined, the arXiv stamp, page numbers and running
    headers (a short line on most pages) left out."""
    per_page = []
    for text in pages:
        text = re.sub("[\ufffe\u00ad]\r?\n", "", text)  # pdfium marks a hyphenated line break
        per_page.append([sanitize(line) for line in text.replace("\r\n", "\n").split("\n")])
    counts: dict[str, int] = {}
    for lines in per_page:
        for line in set(lines):
            if 0 < len(line) < 80:
                counts[line] = counts.get(line, 0) + 1
    running = {line for line, n in counts.items() if len(pages) >= 3 and n >= max(3, len(pages) // 2)}
    out = []
    for lines in per_page:
        for line in lines:
            if not line or line in running or line.isdigit() or _STAMP.match(line) or _FOOTNOTE.match(line):
                continue
            out.append(line)
    return out


def parse_pdf(raw: bytes, *, max_pages: int = MAX_PAGES, seconds: float = PARSE_SECONDS) -> Parsed:
    """An arXiv PDF as title, abstract, sections (from numbered headings, else from the usual
    unnumbered ones), paragraphs, captions and references. Raises ``UnreadableDocument`` for an
    empty, corrupt or encrypted file."""
    if not raw or not raw.strip():
        raise UnreadableDocument("the PDF is empty (0 bytes)")
    pages, _total, note = pdf_pages(raw, max_pages, time.monotonic() + seconds)
    lines = pdf_lines(pages)
    if sum(len(line) for line in lines) < 200:
        raise UnreadableDocument("the PDF has no text layer (a scan?)")
    return parse_pdf_lines(lines, [note] if note else [])


def parse_pdf_lines(lines: list[str], notes: list[str] | None = None) -> Parsed:
    """The document in a PDF's text lines. Numbered headings ("3.2 Training") are trusted first.
    Only a paper with none of them (many workshop and journal styles) is read again with the usual
    unnumbered body headings ("Introduction", "Related Work", "Experiments", ...): in a numbered
    paper a line "Method" or "Results" is far more often a table's column header than a heading."""
    parsed, numbered = _parse_pdf_lines(lines, notes or [], body_headings=False)
    if numbered:  # the body has numbered headings (an appendix's lettered ones do not count)
        return parsed
    again, _ = _parse_pdf_lines(lines, notes or [], body_headings=True)
    return again if len({b.section.title for b in again.blocks}) > 1 else parsed


def _parse_pdf_lines(lines: list[str], notes: list[str], *, body_headings: bool) -> tuple[Parsed, bool]:
    """One pass over the lines; also says whether a numbered body heading ("2", "3.1") was taken."""
    reading = _PdfPass(lines, notes, body_headings=body_headings)
    return reading.run(), reading.body_numbered


class _PdfPass:
    """One pass over a PDF's lines, through its parts (front matter -> abstract -> body -> references
    -> appendix): each line is a heading (opening a section or a part) or text of the current part."""

    def __init__(self, lines: list[str], notes: list[str], *, body_headings: bool) -> None:
        self.lines = lines
        self.body_headings = body_headings  # also take the usual unnumbered body headings
        self.parsed = Parsed(notes=list(notes))
        # An unnumbered body heading counts once (a second one is a table's header).
        self.seen_body: set[str] = set()
        self.body_numbered = False
        self.stack: list[Section] = []
        self.previous: str | None = None  # the last heading number taken
        self.part = "front"
        self.front: list[str] = []
        self.abstract: list[str] = []
        self.paragraph: list[str] = []
        self.caption: list[str] | None = None
        self.reference_lines: list[str] = []
        self.skip = False  # the next line is the second line of a heading already taken
        widths = sorted(len(line) for line in lines)
        self.full = widths[int(len(widths) * 0.75)] if widths else 80  # the length of a full line of text

    def run(self) -> Parsed:
        for index, line in enumerate(self.lines):
            if self.skip:
                self.skip = False
                continue
            if not self._heading(index, line):
                self._text(line)
        self._end_paragraph()
        return self._finish()

    # -- headings ----------------------------------------------------------------------------------
    def _heading(self, index: int, line: str) -> bool:
        """Take ``line`` as a heading if it is one; whether it was."""
        known = _UNNUMBERED.match(line)
        if known:
            self._known_heading(known.group(1).lower(), line)
            return True
        return self._body_heading(line) or self._numbered_heading(index, line)

    def _body_heading(self, line: str) -> bool:
        """A usual unnumbered body heading ("Introduction"), when asked for and not seen before."""
        if not self.body_headings or self.part == "references":
            return False
        body = _BODY_HEADING.match(line)
        if not body or body.group(1).lower() in self.seen_body:
            return False
        self.seen_body.add(body.group(1).lower())
        self._end_paragraph()
        self.part = "appendix" if self.part == "appendix" else "body"
        self._open_section("", line.rstrip(".:"))
        return True

    def _known_heading(self, name: str, line: str) -> None:
        """An unnumbered heading every paper may have: a part ("Abstract", "References", "Appendix")
        or a section ("Limitations", "Conclusion")."""
        self._end_paragraph()
        if name == "abstract":
            self.part = "abstract"
        elif name in ("references", "bibliography"):
            self.part = "references"
        elif name.startswith("append"):
            self.part = "appendix"
        else:
            self.part = "appendix" if self.part == "appendix" else "body"
            self._open_section("", line.rstrip("."))

    def _numbered_heading(self, index: int, line: str) -> bool:
        """A numbered heading ("3.2 Training", "A Proofs") whose number follows the previous one."""
        short = len(line.split()) <= 12 and not line.endswith((".", ","))
        numbered = _NUMBERED.match(line) if short else None
        if not numbered:
            return False
        number, title = numbered.group(1), numbered.group(2)
        appendix = number[0].isalpha()
        if not self._plausible(number, title, appendix):
            return False
        self._end_paragraph()
        self.part = "appendix" if appendix else "body"
        self.body_numbered = self.body_numbered or not appendix
        self.previous = number
        after = self.lines[index + 1] if index + 1 < len(self.lines) else ""
        if title.isupper() and after.isupper() and len(after.split()) <= 6 and not _NUMBERED.match(after):
            title, self.skip = f"{title} {after}", True  # a heading broken over two lines
        self._open_section(number, title)
        return True

    def _plausible(self, number: str, title: str, appendix: bool) -> bool:
        """Whether a numbered line reads as a heading here: a title of words (not a reference or a
        sentence), the next number in order, and a lettered one only after the references."""
        letters = sum(c.isalpha() for c in title)
        prose = re.search(r"\.\s|\b(19|20)\d\d\b|\bet al\b", title)  # a reference or a sentence
        in_place = self.part in ("references", "appendix") if appendix else self.part != "references"
        return (letters >= max(3, len(title) // 2) and not prose and _follows(self.previous, number, appendix)
                and in_place)

    def _open_section(self, number: str, title: str) -> None:
        level = number.count(".") + 1 if number else 1
        while self.stack and self.stack[-1].level >= level:
            self.stack.pop()
        self.stack.append(new_section(self.parsed, self.stack, number, title, level))

    # -- text --------------------------------------------------------------------------------------
    def _text(self, line: str) -> None:
        """A line of the current part: front matter, a reference, a caption, or a paragraph's line."""
        if self.part == "front":
            self.front.append(line)
        elif self.part == "references":
            self._reference_line(line)
        elif _CAPTION.match(line) and self.part != "abstract":
            self._end_paragraph()
            self.caption = [line]
        else:
            self._paragraph_line(line)

    def _reference_line(self, line: str) -> None:
        if _REF_START.match(line) or not self.reference_lines:
            self.reference_lines.append(line)
        else:
            self.reference_lines[-1] += " " + line

    def _paragraph_line(self, line: str) -> None:
        """A line of a paragraph (or of the caption being read); a short line ending a sentence ends it."""
        if _BULLET.match(line):  # a list item: a paragraph of its own, marked like the HTML's
            self._end_paragraph()
            line = "- " + _BULLET.sub("", line)
        (self.caption if self.caption is not None else self.paragraph).append(line)
        if line.endswith((".", "?", "!", ":")) and len(line) < 0.8 * self.full:
            self._end_paragraph()

    def _end_paragraph(self) -> None:
        if self.caption and self.stack:
            self.parsed.blocks.append(Block(self.stack[-1], "caption", " ".join(self.caption)))
        self.caption = None
        if self.paragraph:
            text = " ".join(self.paragraph)
            if self.part == "abstract":
                self.abstract.append(text)
            elif self.stack and words(text) >= 4:
                self.parsed.blocks.append(Block(self.stack[-1], "paragraph", text))
            self.paragraph.clear()

    # -- the end -----------------------------------------------------------------------------------
    def _finish(self) -> Parsed:
        """The title, abstract and references; the whole text as one section when no heading was found."""
        parsed, front, abstract = self.parsed, self.front, self.abstract
        title = front[:1]
        if front and len(front) > 1 and (front[0].endswith((":", "-")) or front[1][:1].islower()):
            title.append(front[1])
        parsed.title = " ".join(title)
        if not parsed.blocks and len(abstract) > 1:  # "Abstract" but no heading after it: the rest is body
            abstract, front = abstract[:1], [*title, *abstract[1:]]
        parsed.abstract = " ".join(abstract)
        parsed.references = _references(self.reference_lines)
        if not parsed.blocks:  # no headings found: the whole text as one section
            whole = new_section(parsed, [], "", "Text", 1)
            parsed.blocks.append(Block(whole, "paragraph", " ".join(front[len(title):] + self.paragraph)))
        return parsed


def _references(lines: list[str]) -> list[str]:
    """The references, one a line; author-year ones (no ``[n]`` to split on) cut at "Name, " starts."""
    if len(lines) == 1:
        lines = re.split(r"(?<=\.)\s+(?=[A-Z][a-z]+,?\s)", lines[0])
    return [one_line(r, 600) for r in lines if r.strip()]
