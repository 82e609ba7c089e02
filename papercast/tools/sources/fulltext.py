"""A paper's full text: arXiv's HTML (LaTeXML), the PDF when there is no HTML, or a file the user has.

* HTML is parsed with lxml's HTML parser (a real parser: LaTeXML output of 2014 and of 2026, ar5iv
  pages, attributes in any order, truncated or malformed pages all parse). Sections are found by their
  LaTeXML classes (``ltx_section``, ``ltx_subsection``, ...) whatever the element (``<section>`` since
  0.8.x, ``<div>`` before), numbers come from the heading's ``ltx_tag``, math becomes its ``alttext``
  (readable TeX) instead of MathML noise, footnotes and equation numbers are left out.
* PDFs are read page by page with pypdfium2 (Apache/BSD; PyMuPDF's AGPL does not fit an MIT project).
  Sections are recovered from numbered headings when their numbers follow each other (1, 2, 2.1, 3 ...),
  which keeps table rows and list items from passing for headings.
* Both become the same ``Document``: sections with paths, paragraph-sized passages that never cross a
  section (about 100-180 words, so a passage fits the embedding model's 256 tokens), captions as
  passages of their own, references apart. The abstract is passage 0.

Paper text is untrusted: every string is sanitized (no terminal control or escape sequences, no bidi
overrides), and the caps on size, pages and time hold whatever a page or a file claims. Fetching
follows arXiv's etiquette through the shared HTTP policy (paced requests to arxiv.org, retries with
backoff, Retry-After honoured).
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import httpx

from papercast.errors import UserError, one_line
from papercast.models import Document, Paper, Passage, PassageKind, Section
from papercast.sanitize import clean_text
from papercast.tools.sources.http import (
    DEFAULT_POLICY,
    RetryPolicy,
    SourceError,
    TooLarge,
    megabytes,
    request,
)

if TYPE_CHECKING:
    from lxml.html import HtmlElement

log = logging.getLogger(__name__)

SOURCE = "arxiv full text"
HTML_URL = "https://arxiv.org/html/{id}"
PDF_URL = "https://arxiv.org/pdf/{id}"
MAX_BYTES = 25 * 1024 * 1024
MAX_PAGES = 200
PARSE_SECONDS = 60.0  # a PDF that takes longer is read up to where the time ran out
MIN_WORDS = 100  # short paragraphs of a section are joined up to about this many words
MAX_WORDS = 180  # ... but not beyond: MiniLM reads 256 tokens, about 180-190 words of prose
SPLIT_WORDS = 220  # a longer paragraph is cut at sentence ends into pieces of at most MAX_WORDS
TABLE_WORDS = 120  # a table's caption passage carries this many words of its cells (numbers answer questions)
MAX_MATH_CHARS = 160  # longer TeX reads as noise: it becomes "[equation]"
MAX_PASSAGE_CHARS = 4000
MAX_REFERENCES = 1000
MAX_TITLE_CHARS = 300


class UnreadableDocument(UserError):
    """A file or response that is not a readable paper (corrupt, encrypted, empty, not HTML/PDF)."""


# -- sanitizing --------------------------------------------------------------------------------------
# Beyond what every paper field loses (``papercast.sanitize``: escape sequences, controls, bidi
# overrides): zero-width marks, the BOM and pdfium's U+FFFE/U+FFFF line-break markers.
_INVISIBLE = re.compile("[\u200b-\u200f\u2060-\u2065\ufeff\ufffe\uffff]")


def sanitize(text: str, *, keep_newlines: bool = False) -> str:
    """Paper text made safe to print and store, like every other paper field (``clean_text``: no
    escape sequences or control characters), with invisible marks removed and whitespace collapsed
    (newlines kept when asked, e.g. for list items)."""
    text = clean_text(str(text).replace("\r\n", "\n").replace("\r", "\n"), multiline=True)
    text = _INVISIBLE.sub("", text.replace("\t", " "))
    if keep_newlines:
        lines = (" ".join(line.split()) for line in text.split("\n"))
        return "\n".join(line for line in lines if line)
    return " ".join(text.split())


def words(text: str) -> int:
    return len(text.split())


# -- building a document ---------------------------------------------------------------------------------
@dataclass
class Block:
    """A piece of text in reading order: a paragraph or a caption of one section (None: before any)."""

    section: Section | None
    kind: PassageKind
    text: str


@dataclass
class Parsed:
    """What a parser found, before it is cut into passages."""

    title: str = ""
    abstract: str = ""
    sections: list[Section] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[])")
_ABBREV = re.compile(r"\b(e\.g|i\.e|et al|etc|vs|cf|Fig|Figs|Eq|Eqs|Sec|Tab|approx|resp|w\.r\.t|No)\.", re.I)


def _sentences(text: str) -> list[str]:
    protected = _ABBREV.sub(lambda m: m.group(0).replace(".", "\x00"), text)
    return [s.replace("\x00", ".") for s in _SENTENCE_END.split(protected) if s.strip()]


def _split_long(text: str) -> list[str]:
    """A paragraph over ``SPLIT_WORDS`` words as pieces of at most ``MAX_WORDS``, cut at sentence ends
    (a sentence longer than that is cut at a word)."""
    if words(text) <= SPLIT_WORDS:
        return [text]
    pieces: list[str] = []
    current: list[str] = []
    count = 0
    for sentence in _sentences(text):
        parts = sentence.split()
        while len(parts) > MAX_WORDS:  # one enormous "sentence" (a table, a list): cut it
            if current:
                pieces.append(" ".join(current))
                current, count = [], 0
            pieces.append(" ".join(parts[:MAX_WORDS]))
            parts = parts[MAX_WORDS:]
        if count + len(parts) > MAX_WORDS and current:
            pieces.append(" ".join(current))
            current, count = [], 0
        current.append(" ".join(parts))
        count += len(parts)
    if current:
        # A short tail reads better joined to the piece before it when both fit the embedder.
        if pieces and count < MIN_WORDS // 2 and words(pieces[-1]) + count <= SPLIT_WORDS:
            pieces[-1] = f"{pieces[-1]} {' '.join(current)}"
        else:
            pieces.append(" ".join(current))
    return pieces


def _chunks(texts: Sequence[str]) -> list[str]:
    """The paragraphs of one section as passages: short ones joined up to ``MIN_WORDS`` (never past
    ``MAX_WORDS``), long ones split."""
    out: list[str] = []
    current: list[str] = []
    count = 0
    for text in texts:
        for piece in _split_long(text):
            n = words(piece)
            if current and (count >= MIN_WORDS or count + n > MAX_WORDS):
                out.append("\n".join(current))
                current, count = [], 0
            current.append(piece)
            count += n
    if current:
        if out and count < MIN_WORDS // 3 and words(out[-1]) + count <= SPLIT_WORDS:
            out[-1] = f"{out[-1]}\n{chr(10).join(current)}"
        else:
            out.append("\n".join(current))
    return out


def content_hash(parsed_title: str, passages: Sequence[Passage]) -> str:
    """A hash of what was read (section paths and texts): a new version of a paper changes it, the
    page's template or timestamps do not."""
    digest = hashlib.sha1(parsed_title.encode("utf-8"))
    for p in passages:
        digest.update(f"\x1e{p.section}\x1f{p.kind}\x1f{p.text}".encode())
    return digest.hexdigest()[:16]


def build_document(paper_id: str, parsed: Parsed, source: Literal["html", "pdf", "file"],
                   note: str | None = None) -> Document:
    """The passages of a parse: the abstract first, then each section's paragraphs (joined or split to
    paragraph size) and captions, in reading order, numbered by position."""
    passages: list[Passage] = []

    def add(section: Section | None, kind: PassageKind, text: str) -> None:
        text = text[:MAX_PASSAGE_CHARS]
        path = section.path if section else ("Abstract" if kind == "abstract" else "")
        number = _nearest_number(section, parsed.sections) if section else ""
        passages.append(Passage(paper_id=paper_id, section=path, section_number=number, kind=kind,
                                position=len(passages), text=text))

    if parsed.abstract:
        add(None, "abstract", parsed.abstract)
    run: list[str] = []
    run_section: Section | None = None

    def flush() -> None:
        for chunk in _chunks(run):
            add(run_section, "paragraph", chunk)
        run.clear()

    for block in parsed.blocks:
        if block.section is not run_section:
            flush()
            run_section = block.section
        if block.kind == "caption":
            flush()
            add(block.section, "caption", block.text)
        else:
            run.append(block.text)
    flush()
    notes = [n for n in (*parsed.notes, note) if n]
    doc = Document(paper_id=paper_id, title=parsed.title[:MAX_TITLE_CHARS] or paper_id, source=source,
                   sections=parsed.sections, passages=passages, references=parsed.references[:MAX_REFERENCES],
                   note="; ".join(notes) or None)
    doc.content_hash = content_hash(doc.title, passages)
    return doc


def _nearest_number(section: Section, sections: Sequence[Section]) -> str:
    """The number of ``section`` or, for an unnumbered one (a titled paragraph), of the numbered
    section its path starts from."""
    if section.number:
        return section.number
    head = section.path.split(" > ")[0]
    for other in sections:
        if other.number and other.label == head:
            return other.number
    return ""


def abstract_document(paper: Paper, note: str | None) -> Document:
    """The abstract alone, for a paper whose full text is not available (``note`` says why)."""
    passages = [Passage(paper_id=paper.id, section="Abstract", kind="abstract", position=0,
                        text=sanitize(paper.abstract))] if paper.abstract.strip() else []
    doc = Document(paper_id=paper.id, title=sanitize(paper.title), source="abstract", passages=passages,
                   note=note)
    doc.content_hash = content_hash(doc.title, passages)
    return doc


def _section(parsed: Parsed, stack: list[Section], number: str, title: str, level: int) -> Section:
    """A new section under the ones on ``stack`` (the caller pushes it); its path starts at the nearest
    numbered section, since numbers already say where a section sits ("3.2 Training > Data")."""
    number = sanitize(number).strip(" .:")
    title = sanitize(title).strip(" .:") or (number and f"Section {number}") or "Untitled"
    label = f"{number} {title}".strip()
    if number:
        path = label
    else:
        chain = [*stack]
        while chain and not chain[-1].number:
            chain.pop()
        base = chain[-1].label if chain else ""
        tail = [s.title for s in stack[len(chain):]]
        path = " > ".join([p for p in (base, *tail) if p] + [title])
    section = Section(number=number, title=title, path=path, level=level)
    parsed.sections.append(section)
    return section


# -- HTML (LaTeXML) ---------------------------------------------------------------------------------------
_LEVELS = {"ltx_part": 0, "ltx_chapter": 0, "ltx_section": 1, "ltx_appendix": 1, "ltx_subsection": 2,
           "ltx_subsubsection": 3, "ltx_paragraph": 4, "ltx_subparagraph": 5}
_SKIP = {"ltx_TOC", "ltx_authors", "ltx_pagination", "ltx_page_footer", "ltx_page_header", "ltx_dates",
         "ltx_keywords", "ltx_classification", "ltx_acknowledgements_title", "ltx_rdf", "ltx_note_outer",
         "ltx_tag_equation", "ltx_tag_equationgroup", "ltx_role_footnote_mark", "ltx_ERROR",
         "ltx_page_navbar", "ltx_role_affiliationtext", "ltx_personname", "ltx_contact", "ltx_tag_item"}
_FLOATS = {"ltx_figure", "ltx_table", "ltx_float", "ltx_listing", "ltx_algorithm"}
_DROP_TAGS = {"script", "style", "noscript", "button", "svg", "nav", "header", "footer", "img", "annotation",
              "annotation-xml", "template", "iframe", "object"}
_BLOCK_TAGS = {"p", "div", "li", "tr", "table", "ul", "ol", "br", "figcaption", "section", "blockquote", "dd",
               "dt", "h1", "h2", "h3", "h4", "h5", "h6"}


def _classes(el: HtmlElement) -> set[str]:
    return set((el.get("class") or "").split())


def _tag(el: Any) -> str:
    """The local name of an element ("math" for ``{http://www.w3.org/1998/Math/MathML}math``)."""
    tag = el.tag if isinstance(el.tag, str) else ""
    return tag.rsplit("}", 1)[-1].lower()


def _math_text(el: HtmlElement) -> str:
    alt = " ".join((el.get("alttext") or "").split())
    if not alt:
        tex = el.xpath(".//*[local-name()='annotation'][contains(@encoding,'tex')]")
        alt = " ".join((tex[0].text or "").split()) if tex else " ".join(el.itertext()).strip()
    return alt if len(alt) <= MAX_MATH_CHARS else "[equation]"


def _text(el: HtmlElement, *, skip_floats: bool = True) -> str:
    """The readable text of an element: math as TeX, lists one item a line, footnotes, equation
    numbers, scripts and (unless asked) figures and tables left out."""
    out: list[str] = []

    def add(text: str | None) -> None:
        if text:
            out.append(text.replace("\n", " ").replace("\r", " "))  # the source's line breaks are spaces

    def walk(node: HtmlElement) -> None:
        tag = _tag(node)
        classes = _classes(node)
        if tag == "math":
            out.append(f" {_math_text(node)} ")
        elif not tag or tag in _DROP_TAGS or classes & _SKIP or (skip_floats and _is_float(node)):
            pass
        else:
            if tag == "li":
                out.append("\n- ")  # list items keep a line each
            elif tag in _BLOCK_TAGS:
                out.append(" ")
            add(node.text)
            for child in node:
                walk(child)
            if tag in _BLOCK_TAGS or tag in ("td", "th"):
                out.append(" ")
        add(node.tail)

    if _tag(el) not in _DROP_TAGS:
        add(el.text)
    for child in el:
        walk(child)
    text = sanitize("".join(out), keep_newlines=True)
    return re.sub(r"\s+([,.;:)])", r"\1", text).replace("( ", "(")


def _heading(el: HtmlElement) -> tuple[str, str]:
    """(number, title) of a section element from its ``ltx_title`` heading."""
    for child in el:
        if "ltx_title" in _classes(child):
            tags = child.xpath(".//*[contains(concat(' ', normalize-space(@class), ' '), ' ltx_tag ')]")
            number = sanitize(tags[0].text_content()) if tags else ""
            for tag in tags:
                tag.drop_tree()
            title = _text(child)
            number = re.sub(r"^(appendix|section|chapter|part)\s+", "", number, flags=re.I)
            return number, " ".join(title.split())
    return "", ""


def _caption(el: HtmlElement) -> str:
    """A float's own caption (not those of its sub-figures), plus some of a table's cells."""
    caption = None
    for child in el:
        if _tag(child) == "figcaption" or "ltx_caption" in _classes(child):
            caption = child
    if caption is None:
        found = el.xpath(".//figcaption|.//*[contains(concat(' ', normalize-space(@class), ' '), ' ltx_caption ')]")
        caption = found[-1] if found else None
    text = _text(caption) if caption is not None else ""
    classes = _classes(el)
    if "ltx_table" in classes or el.get("id", "").split(".")[-1].startswith("T"):
        tables = el.xpath(".//table[not(contains(@class,'ltx_equation'))]")
        if tables:
            cells = " ".join(_text(tables[0], skip_floats=False).split()[:TABLE_WORDS])
            text = f"{text}\n{cells}" if text else cells
    return sanitize(text, keep_newlines=True)


def _is_float(el: HtmlElement) -> bool:
    return _tag(el) == "figure" or bool(_classes(el) & _FLOATS)


def _outer_floats(el: HtmlElement) -> list[HtmlElement]:
    """The figures and tables inside a paragraph, without the sub-figures inside them."""
    found: list[HtmlElement] = []
    for child in el:
        if not _tag(child):
            continue
        if _is_float(child):
            found.append(child)
        else:
            found.extend(_outer_floats(child))
    return found


def _content_root(root: HtmlElement) -> HtmlElement:
    for xpath in ("//article[contains(@class,'ltx_document')]", "//*[contains(@class,'ltx_document')]",
                  "//article", "//*[contains(@class,'ltx_page_content')]", "//body"):
        found = root.xpath(xpath)
        if found:
            return found[0]
    return root


def parse_html(raw: bytes | str) -> Parsed:
    """A LaTeXML page (arxiv.org/html, ar5iv, older XHTML) as title, abstract, sections, paragraphs,
    captions and references. Raises ``UnreadableDocument`` when there is no paper text in it."""
    import lxml.etree
    import lxml.html

    if isinstance(raw, bytes):
        raw = raw.lstrip(b"\xef\xbb\xbf")
        if not raw.strip():
            raise UnreadableDocument("the HTML is empty")
    elif not raw.strip():
        raise UnreadableDocument("the HTML is empty")
    encoding = None
    if isinstance(raw, bytes):
        try:  # LaTeXML writes UTF-8; an XHTML file says so only in its XML declaration, which HTML parsers skip
            raw.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError:
            encoding = None  # let the parser look for a <meta charset>
    parser = lxml.html.HTMLParser(recover=True, remove_comments=True, remove_pis=True, huge_tree=False,
                                  encoding=encoding)
    try:
        root = lxml.html.fromstring(raw, parser=parser)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise UnreadableDocument(f"not readable HTML ({one_line(exc, 80)})") from None
    parsed = Parsed()
    titles = root.xpath("//*[contains(@class,'ltx_title_document')]")
    if titles:
        parsed.title = " ".join(_text(titles[0]).split())
    else:
        head = root.xpath("//title")
        parsed.title = sanitize(head[0].text_content()) if head else ""
    abstracts = root.xpath("//*[contains(concat(' ', normalize-space(@class), ' '), ' ltx_abstract ')]")
    if abstracts:
        paras = [_text(p) for p in abstracts[0] if "ltx_title" not in _classes(p)]
        parsed.abstract = " ".join(" ".join(p.split()) for p in paras if p)
    stack: list[Section] = []

    def walk(el: HtmlElement) -> None:
        for child in el:
            tag = _tag(child)
            classes = _classes(child)
            if not tag or tag in _DROP_TAGS or classes & _SKIP or "ltx_abstract" in classes \
                    or "ltx_title" in classes:
                continue
            if "ltx_bibliography" in classes:
                items = child.xpath(".//li") or child.xpath(".//*[contains(@class,'ltx_bibitem')]")
                parsed.references.extend(r for r in (" ".join(_text(i).split()) for i in items) if r)
                continue
            level = next((_LEVELS[c] for c in classes if c in _LEVELS), None)
            if level is not None:
                number, title = _heading(child)
                saved = list(stack)
                while stack and stack[-1].level >= level:
                    stack.pop()
                stack.append(_section(parsed, stack, number, title, level))
                walk(child)
                stack[:] = saved
                continue
            current = stack[-1] if stack else None
            if tag == "figure" or classes & _FLOATS:
                text = _caption(child)
                if text and current is not None:
                    parsed.blocks.append(Block(current, "caption", text))
                continue
            if "ltx_para" in classes or (tag == "p" and current is not None):
                text = _text(child)
                if text and current is not None:
                    parsed.blocks.append(Block(current, "paragraph", text))
                for float_el in _outer_floats(child):
                    caption = _caption(float_el)
                    if caption and current is not None:
                        parsed.blocks.append(Block(current, "caption", caption))
                continue
            walk(child)

    walk(_content_root(root))
    if not parsed.blocks:
        raise UnreadableDocument("no paper text in the HTML (not a LaTeXML page, or cut off before the first "
                                 "section)")
    return parsed


# -- PDF ----------------------------------------------------------------------------------------------------
_STAMP = re.compile(r"^arXiv:\d{4}\.\d{4,5}(v\d+)?\s+\[[^\]]+\]\s+\d{1,2}\s+\w{3,9}\s+\d{4}$")
_NUMBERED = re.compile(r"^((?:\d{1,2}|[A-H])(?:\.\d{1,2}){0,3})\.?\s+([A-Z][^\n]{1,90})$")
_UNNUMBERED = re.compile(r"^(abstract|acknowledge?ments?|limitations?|ethics statement|ethical considerations|"
                         r"broader impacts?|conclusions?|references|bibliography|appendix|appendices)\.?$", re.I)
# The usual unnumbered section headings of a paper's body, alone on their line.
_BODY_HEADING = re.compile(r"^(introduction|related work|background|preliminaries|methods?|methodology|approach|"
                           r"experiments?|experimental setup|experimental results|evaluation|results|"
                           r"results and discussion|discussion|future work|conclusions? and future work)[.:]?$",
                           re.I)
_CAPTION = re.compile(r"^(fig(?:ure)?\.?|table|tab\.)\s*\d+[.:]", re.I)
_REF_START = re.compile(r"^\[\d+\]\s")
_FOOTNOTE = re.compile(r"^[∗*†‡§¶]\s?[A-Z][^.]{0,60}\.?$")  # "∗Equal contribution.", "†Corresponding author."
_BULLET = re.compile(r"^[•◦▪‣∙·]\s*")


def _number_key(number: str) -> tuple[int, ...]:
    return tuple(ord(p) - 64 + 1000 if p.isalpha() else int(p) for p in number.split("."))


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


def _pdf_pages(raw: bytes, max_pages: int, deadline: float) -> tuple[list[str], int, str | None]:
    """The text of the first ``max_pages`` pages, the page count, and a note when some were left out."""
    import pypdfium2 as pdfium

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


def _pdf_lines(pages: Sequence[str]) -> list[str]:
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
    pages, _total, note = _pdf_pages(raw, max_pages, time.monotonic() + seconds)
    lines = _pdf_lines(pages)
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
    parsed = Parsed(notes=list(notes))
    seen_body: set[str] = set()  # an unnumbered body heading counts once (a second is a table header)
    body_numbered = False
    stack: list[Section] = []
    previous: str | None = None  # the last heading number taken
    part = "front"  # front matter -> abstract -> body -> references -> appendix
    front: list[str] = []
    abstract: list[str] = []
    paragraph: list[str] = []
    caption: list[str] | None = None
    reference_lines: list[str] = []
    widths = sorted(len(line) for line in lines)
    full = widths[int(len(widths) * 0.75)] if widths else 80  # the length of a full line of text

    def end_paragraph() -> None:
        nonlocal caption
        if caption and stack:
            parsed.blocks.append(Block(stack[-1], "caption", " ".join(caption)))
        caption = None
        if paragraph:
            text = " ".join(paragraph)
            if part == "abstract":
                abstract.append(text)
            elif stack and words(text) >= 4:
                parsed.blocks.append(Block(stack[-1], "paragraph", text))
            paragraph.clear()

    def open_section(number: str, title: str) -> None:
        level = number.count(".") + 1 if number else 1
        while stack and stack[-1].level >= level:
            stack.pop()
        stack.append(_section(parsed, stack, number, title, level))

    skip = False
    for index, line in enumerate(lines):
        if skip:  # the second line of an all-caps heading, already taken
            skip = False
            continue
        known = _UNNUMBERED.match(line)
        body = _BODY_HEADING.match(line) if body_headings and not known and part != "references" else None
        if body and body.group(1).lower() not in seen_body:
            seen_body.add(body.group(1).lower())
            end_paragraph()
            part = "appendix" if part == "appendix" else "body"
            open_section("", line.rstrip(".:"))
            continue
        if known:
            name = known.group(1).lower()
            end_paragraph()
            if name == "abstract":
                part = "abstract"
            elif name in ("references", "bibliography"):
                part = "references"
            elif name.startswith("append"):
                part = "appendix"
            else:
                part = "appendix" if part == "appendix" else "body"
                open_section("", line.rstrip("."))
            continue
        numbered = _NUMBERED.match(line) if len(line.split()) <= 12 and not line.endswith((".", ",")) else None
        if numbered:
            number, title = numbered.group(1), numbered.group(2)
            appendix = number[0].isalpha()
            letters = sum(c.isalpha() for c in title)
            prose = re.search(r"\.\s|\b(19|20)\d\d\b|\bet al\b", title)  # a reference or a sentence
            if letters >= max(3, len(title) // 2) and not prose and _follows(previous, number, appendix) \
                    and (part in ("references", "appendix") if appendix else part != "references"):
                end_paragraph()
                part = "appendix" if appendix else "body"
                body_numbered = body_numbered or not appendix
                previous = number
                after = lines[index + 1] if index + 1 < len(lines) else ""
                if title.isupper() and after.isupper() and len(after.split()) <= 6 and not _NUMBERED.match(after):
                    title, skip = f"{title} {after}", True  # a heading broken over two lines
                open_section(number, title)
                continue
        if part == "front":
            front.append(line)
            continue
        if part == "references":
            if _REF_START.match(line) or not reference_lines:
                reference_lines.append(line)
            else:
                reference_lines[-1] += " " + line
            continue
        if _CAPTION.match(line) and part != "abstract":
            end_paragraph()
            caption = [line]
            continue
        if _BULLET.match(line):  # a list item: a paragraph of its own, marked like the HTML's
            end_paragraph()
            line = "- " + _BULLET.sub("", line)
        (caption if caption is not None else paragraph).append(line)
        if line.endswith((".", "?", "!", ":")) and len(line) < 0.8 * full:
            end_paragraph()
    end_paragraph()
    title = front[:1]
    if front and len(front) > 1 and (front[0].endswith((":", "-")) or front[1][:1].islower()):
        title.append(front[1])
    parsed.title = " ".join(title)
    if not parsed.blocks and len(abstract) > 1:  # an "Abstract" heading but none after it: the rest is body
        abstract, front = abstract[:1], [*title, *abstract[1:]]
    parsed.abstract = " ".join(abstract)
    if len(reference_lines) == 1:  # author-year references: no [n] to split on
        reference_lines = re.split(r"(?<=\.)\s+(?=[A-Z][a-z]+,?\s)", reference_lines[0])
    parsed.references = [one_line(r, 600) for r in reference_lines if r.strip()]
    if not parsed.blocks:  # no headings found: the whole text as one section
        whole = _section(parsed, [], "", "Text", 1)
        parsed.blocks.append(Block(whole, "paragraph", " ".join(front[len(title):] + paragraph)))
    return parsed, body_numbered


# -- files and the network -------------------------------------------------------------------------------
_ID_IN_HTML = re.compile(r"(?:arxiv\.org/(?:abs|html|pdf)/|arXiv:)(\d{4}\.\d{4,5})(?:v\d+)?")
_STAMP_ID = re.compile(r"arXiv:(\d{4}\.\d{4,5})(?:v\d+)?\s*\[[\w.\-]+\]")


def is_pdf(raw: bytes) -> bool:
    return b"%PDF-" in raw[:1024]


def arxiv_id_in(raw: bytes) -> str | None:
    """The arXiv id a saved page or PDF names for itself (canonical link, arXiv stamp), if any."""
    if is_pdf(raw):
        try:
            pages, _, _ = _pdf_pages(raw, 1, time.monotonic() + 10)
        except UnreadableDocument:
            return None
        found = _STAMP_ID.search(" ".join(pages[0].split())) if pages else None
        return found.group(1) if found else None
    text = raw[:400_000].decode("utf-8", "replace")
    for pattern in (r'rel="canonical"[^>]*href="[^"]*?/(?:abs|html)/(\d{4}\.\d{4,5})',
                    r'property="og:url"[^>]*content="[^"]*?/(?:abs|html)/(\d{4}\.\d{4,5})'):
        found = re.search(pattern, text)
        if found:
            return found.group(1)
    found = _STAMP_ID.search(text)
    return found.group(1) if found else None


def parse_bytes(raw: bytes, *, max_pages: int = MAX_PAGES, seconds: float = PARSE_SECONDS) -> tuple[Parsed, str]:
    """(parsed, "html" or "pdf") of a file's bytes, told apart by their content, not their name."""
    if is_pdf(raw):
        return parse_pdf(raw, max_pages=max_pages, seconds=seconds), "pdf"
    if not raw.strip():
        raise UnreadableDocument("the file is empty")
    if b"\x00" in raw[:4096]:
        raise UnreadableDocument("neither a PDF nor an HTML page (binary data)")
    return parse_html(raw), "html"


def read_file(path: Path, *, max_bytes: int = MAX_BYTES, max_pages: int = MAX_PAGES) -> tuple[Parsed, str, bytes]:
    """(parsed, "html"/"pdf", raw bytes) of a saved arXiv page or PDF; one-line UserErrors for files
    that are missing, too big or unreadable."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise UnreadableDocument(f"{path} is {size / 2**20:.0f} MB; papercast reads files up to "
                                     f"{max_bytes / 2**20:.0f} MB")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise UserError(f"{path} is a directory, not a file") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        parsed, kind = parse_bytes(raw, max_pages=max_pages)
    except UnreadableDocument as exc:
        raise UnreadableDocument(f"{path.name}: {exc}") from None
    return parsed, kind, raw


@dataclass
class Fetched:
    """What arXiv gave for a paper: a parse and its kind, or None with the reason (``final``: arXiv
    answered that there is nothing, so asking again later will not help; else a network failure)."""

    parsed: Parsed | None = None
    kind: Literal["html", "pdf"] | None = None
    note: str | None = None
    final: bool = True
    notes: list[str] = field(default_factory=list)


def _missing(exc: SourceError) -> bool:
    """arXiv answered 404/410: there is no such rendering (the policy does not retry those)."""
    return bool(re.search(r"\bHTTP 40[04]\b|\bHTTP 410\b", exc.message))


async def fetch_fulltext(paper_id: str, *, client: httpx.AsyncClient | None = None, min_interval: float = 3.0,
                         policy: RetryPolicy = DEFAULT_POLICY, max_bytes: int = MAX_BYTES,
                         max_pages: int = MAX_PAGES, timeout: float = 120.0) -> Fetched:
    """arXiv's HTML of a paper, else its PDF; what went wrong in one line when neither could be read.

    Never raises for what the network or arXiv does: a 404 of both is a final "no full text", a
    timeout or repeated 429/5xx a non-final one (the caller does not cache it).

    ``max_bytes`` is enforced while downloading (a bigger HTML falls back to the PDF). An oversized
    rendering counts as final, like a 404: arXiv serves the same file tomorrow, so asking again would
    only spend arXiv's bandwidth (and its 3 s pacing) to be refused again.
    """
    from papercast.tools.sources.http import make_client

    own = client is None
    http = client or make_client()
    started = policy.clock()  # the policy's clock: tests' fake one moves with the waits they record
    problems: list[str] = []
    final = True
    try:
        for kind, url in (("html", HTML_URL), ("pdf", PDF_URL)):
            left = timeout - (policy.clock() - started)
            if left <= 1:
                problems.append(f"no time left for the {kind.upper()}")
                final = False
                break
            try:
                response = await request(http, "GET", url.format(id=paper_id), source=SOURCE,
                                         min_interval=min_interval, policy=policy, max_total_seconds=left,
                                         max_bytes=max_bytes)
            except TooLarge as exc:  # final: see above
                limit = megabytes(exc.limit)
                problems.append(f"the {kind.upper()} is {megabytes(exc.size)} (over the {limit} limit)"
                                if exc.size is not None else f"the {kind.upper()} is over the {limit} limit")
                continue
            except SourceError as exc:
                if _missing(exc):
                    problems.append(f"no {kind.upper()} on arXiv")
                else:
                    problems.append(f"{kind.upper()}: {exc.message}")
                    final = False
                continue
            raw = response.content
            if kind == "pdf" and not raw.strip():
                problems.append("the PDF is empty (0 bytes)")
                continue
            if kind == "pdf" and not is_pdf(raw):
                withdrawn = b"withdrawn" in raw[:200_000].lower()
                problems.append("the paper was withdrawn" if withdrawn else "arXiv's PDF link gave no PDF")
                continue
            try:
                if kind == "html":
                    parsed = parse_html(raw)
                else:
                    parsed = parse_pdf(raw, max_pages=max_pages,
                                       seconds=max(5.0, min(PARSE_SECONDS, timeout - (policy.clock() - started))))
            except UnreadableDocument as exc:
                problems.append(f"the {kind.upper()} is unreadable: {exc}")
                log.warning("full text of %s: the %s is unreadable: %s", paper_id, kind, exc)
                continue
            return Fetched(parsed=parsed, kind=kind, notes=problems)
    finally:
        if own:
            await http.aclose()
    note = "; ".join(problems) + ": the abstract only"
    log.info("full text of %s: %s", paper_id, note)
    return Fetched(note=note, final=final)


# -- views ------------------------------------------------------------------------------------------------
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
        return document.model_copy(update={"passages": [p for p in document.passages if p.kind == "abstract"]})
    if not matching:
        top = [s.label for s in document.sections if s.level <= 1] or [s.label for s in document.sections]
        shown = ", ".join(top[:20]) + (", …" if len(top) > 20 else "")
        where = f"sections: {shown}" if top else "it has no sections (the abstract only)"
        raise UserError(f"no section {query!r} in {document.paper_id}; {where}")
    numbers = tuple(s.number + tail for s in matching if s.number for tail in (".", "-"))  # and their subsections
    paths = {s.path for s in matching} | {s.path for s in document.sections if numbers and s.number.startswith(numbers)}
    prefixes = tuple(p + " > " for p in paths)
    passages = [p for p in document.passages if p.kind != "abstract" and (p.section in paths
                                                                           or p.section.startswith(prefixes))]
    return document.model_copy(update={"passages": passages})
