"""A saved arXiv page or PDF read from disk, told apart by its content, and the paper it names.

``papercast read ID --from FILE`` reads what the user saved, with no network: the same parsers and
caps as a fetched paper (a file is read up to ``MAX_BYTES``), and one-line errors for a file that is
missing, too big or unreadable.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from papercast.errors import UserError
from papercast.tools.sources.fulltext.document import Parsed, UnreadableDocument
from papercast.tools.sources.fulltext.html import parse_html
from papercast.tools.sources.fulltext.pdf import MAX_PAGES, PARSE_SECONDS, is_pdf, parse_pdf, pdf_pages

MAX_BYTES = 25 * 1024 * 1024
_STAMP_ID = re.compile(r"arXiv:(\d{4}\.\d{4,5})(?:v\d+)?\s*\[[\w.\-]+\]")


def arxiv_id_in(raw: bytes) -> str | None:
    """The arXiv id a saved page or PDF names for itself (canonical link, arXiv stamp), if any."""
    if is_pdf(raw):
        try:
            pages, _, _ = pdf_pages(raw, 1, time.monotonic() + 10)
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


def parse_bytes(raw: bytes, *, max_pages: int = MAX_PAGES,
                seconds: float = PARSE_SECONDS) -> tuple[Parsed, str]:
    """(parsed, "html" or "pdf") of a file's bytes, told apart by their content, not their name."""
    if is_pdf(raw):
        return parse_pdf(raw, max_pages=max_pages, seconds=seconds), "pdf"
    if not raw.strip():
        raise UnreadableDocument("the file is empty")
    if b"\x00" in raw[:4096]:
        raise UnreadableDocument("neither a PDF nor an HTML page (binary data)")
    return parse_html(raw), "html"


def read_saved_file(path: Path, *, max_bytes: int = MAX_BYTES,
                    max_pages: int = MAX_PAGES) -> tuple[Parsed, str, bytes]:
    """(parsed, "html"/"pdf", raw bytes) of a saved arXiv page or PDF; one-line UserErrors for files
    that are missing, too big or unreadable."""
    limit = f"papercast reads files up to {max_bytes / 2**20:.0f} MB"
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise UnreadableDocument(f"{path} is {size / 2**20:.0f} MB; {limit}")
        with path.open("rb") as stream:  # the cap holds while reading: /dev/zero or a FIFO has no size
            raw = stream.read(max_bytes + 1)
        if len(raw) > max_bytes:
            raise UnreadableDocument(f"{path} is over {max_bytes / 2**20:.0f} MB; {limit}")
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
