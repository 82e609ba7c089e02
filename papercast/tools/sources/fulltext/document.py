"""A paper's text as papercast keeps it: sections, and passages cut to what the embedder reads.

Both parsers (``html``, ``pdf``) produce a ``Parsed``: sections and the paragraphs and captions of
each in reading order. ``build_document`` cuts them into passages of about 100-180 words that never
cross a section (a passage must fit the embedding model's 256 tokens), captions apart, the abstract
first. Paper text is untrusted: every string is ``sanitize``d before it is kept or shown.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from papercast.errors import UserError
from papercast.models import Document, Paper, Passage, PassageKind, Section
from papercast.sanitize import clean_text

MIN_WORDS = 100  # short paragraphs of a section are joined up to about this many words
MAX_WORDS = 180  # ... but not beyond: MiniLM reads 256 tokens, about 180-190 words of prose
SPLIT_WORDS = 220  # a longer paragraph is cut at sentence ends into pieces of at most MAX_WORDS
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


def new_section(parsed: Parsed, stack: list[Section], number: str, title: str, level: int) -> Section:
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
