"""Local files for ``papercast import``: corpus JSONL(.gz), HF daily_papers JSON, arXiv Atom XML.

The kind is chosen from the file name and, when that is ambiguous, from the first bytes. A bad line
or entry is reported as ``"path:LINE: reason"`` and skipped so one typo never blocks an import of
thousands of papers. ``ImportFile`` reads a file as a stream: JSONL one line at a time (a 300k-line
file never sits in memory), JSON and Atom whole but capped. ``Caps`` bound what a file may make us
read (a line, a whole document, a gzip's expansion), checked while reading: a gzip bomb is refused
with a ``TooLarge`` (exit 2) naming the cap, before it costs memory.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal

from pydantic import BaseModel, Field, ValidationError

from papercast.errors import UserError, one_line, validation_line
from papercast.models import InvalidPaperId, Paper
from papercast.tools.sources import arxiv, hf
from papercast.tools.sources.http import SourceError

SOURCE = "import"
FileKind = Literal["jsonl", "hf-json", "papers-json", "arxiv-atom"]
MB = 1 << 20


@dataclass(frozen=True)
class Caps:
    """What one import file may make papercast read. The shared corpus's longest line is 23 KB and it
    expands 3x; an HF day is ~1 MB. Tests pass smaller caps."""

    line_bytes: int = 16 * MB  # one JSONL line (a hostile 5 MB title is read, then cut to size)
    document_bytes: int = 64 * MB  # a JSON or Atom file, read whole (json/XML need all of it)
    expansion: int = 50  # decompressed bytes per gzip byte, checked past the first document_bytes


class TooLarge(UserError):
    """A file over one of the caps (a gzip bomb, a line without end): refused, exit 2."""


class ParseResult(BaseModel):
    """What a file held: valid papers (duplicates merged), one-line errors, and the detected kind."""

    papers: list[Paper] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
    kind: str = ""


def _suffixes(path: Path) -> str:
    name = path.name.lower()
    return name[:-3] if name.endswith(".gz") else name


def detect_kind(path: Path, head: bytes) -> FileKind:
    """By extension first; otherwise by the first non-blank byte (``<`` XML, ``[`` JSON, ``{`` lines)."""
    name = _suffixes(path)
    if name.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if name.endswith((".xml", ".atom")):
        return "arxiv-atom"
    if name.endswith(".json"):
        return "hf-json"
    first = head.lstrip()[:1]
    if first == b"<":
        return "arxiv-atom"
    if first == b"[":
        return "hf-json"
    if first == b"{":
        return "jsonl"
    raise SourceError(SOURCE, f"{path}: unknown file type (expected .jsonl, .jsonl.gz, .json, .xml or .atom)")


def _size(n: int) -> str:
    return f"{n // MB} MB" if n >= MB else f"{n} bytes"


class ImportFile:
    """One import file, opened (gunzipped by magic, not only by name) and read as a stream.

    ``papers()`` yields its valid papers in file order (JSONL repeats are not merged here: the store
    merges them) and appends a line to ``errors`` per bad one; ``position`` is how far into the file
    on disk reading has got (a progress estimate). Missing file: ``FileNotFoundError``; unreadable:
    ``SourceError``; over a cap: ``TooLarge``.
    """

    def __init__(self, path: str | Path, caps: Caps = Caps()) -> None:
        self.path = Path(path)
        self.caps = caps
        self.errors: list[str] = []
        if not self.path.exists():
            raise FileNotFoundError(f"no such file: {self.path}")
        if self.path.is_dir():
            raise SourceError(SOURCE, f"{self.path} is a directory, not a file")
        try:
            self._raw: IO[bytes] = self.path.open("rb")
            self.size = max(self.path.stat().st_size, 1)
            self.gzipped = self._raw.read(2) == b"\x1f\x8b"
            self._raw.seek(0)
            self._stream: Any = gzip.GzipFile(fileobj=self._raw, mode="rb") if self.gzipped else self._raw
            self.kind = detect_kind(self.path, self._stream.peek(64)[:64])
        except (OSError, EOFError, zlib.error) as exc:
            self.close()
            raise SourceError(SOURCE, f"cannot read {self.path}: {exc}") from exc
        except SourceError:
            self.close()
            raise

    @property
    def position(self) -> int:
        try:
            return self._raw.tell()
        except (OSError, ValueError):
            return self.size

    def close(self) -> None:
        for handle in (getattr(self, "_stream", None), getattr(self, "_raw", None)):
            if handle is not None:
                handle.close()

    def __enter__(self) -> ImportFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def papers(self) -> Iterator[Paper]:
        if self.kind == "jsonl":
            yield from self._jsonl()
            return
        result = _parse_atom(self.path, self._document()) if self.kind == "arxiv-atom" else \
            _parse_json(self.path, self._document())
        self.kind = result.kind
        self.errors.extend(result.errors)
        yield from result.papers

    def _check_expansion(self, read: int) -> None:
        caps = self.caps
        if self.gzipped and read > caps.document_bytes and read > caps.expansion * self.position:
            raise TooLarge(f"{self.path}: refused, it expands over {caps.expansion}x when decompressed (the "
                           f"import's cap on a gzip file's expansion; a gzip bomb?)")

    def _document(self) -> bytes:
        """The whole file, refused once it is over ``document_bytes`` (read in pieces, never more)."""
        cap = self.caps.document_bytes
        try:
            content = self._stream.read(cap + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise SourceError(SOURCE, f"cannot read {self.path}: {exc}") from exc
        if len(content) > cap:
            raise TooLarge(f"{self.path}: refused, over {_size(cap)} once decompressed (the import's cap on "
                           "a JSON or Atom file; split it, or use JSONL, which is read line by line)")
        return bytes(content)

    def _jsonl(self) -> Iterator[Paper]:
        """One record per line; a truncated gzip keeps the papers read so far and says so."""
        cap, number, read = self.caps.line_bytes, 0, 0
        try:
            while line := self._stream.readline(cap + 1):
                number += 1
                read += len(line)
                if len(line) > cap:
                    raise TooLarge(f"{self.path}:{number}: refused, a line over {_size(cap)} (the import's "
                                   "cap on a JSONL line); the lines before it were imported")
                self._check_expansion(read)
                if not line.strip():
                    continue
                try:
                    yield corpus_record_to_paper(json.loads(line))
                except json.JSONDecodeError as exc:
                    self.errors.append(f"{self.path}:{number}: invalid JSON ({exc.msg})")
                except ValueError as exc:
                    self.errors.append(f"{self.path}:{number}: {one_line(exc, None)}")
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            reason = one_line(exc, None) or "truncated"
            self.errors.append(f"{self.path}:{number + 1}: file ends early ({reason})")


def parse_file(path: str | Path, caps: Caps = Caps()) -> ParseResult:
    """A whole import file in memory (small files: the sample, tests); ``import`` streams ``ImportFile``."""
    with ImportFile(path, caps) as source:
        papers = hf.dedupe(source.papers())
        return ParseResult(papers=papers, errors=source.errors, kind=source.kind)


# ----------------------------------------------------------------------------- JSONL corpus

def corpus_record_to_paper(record: Any) -> Paper:
    """A corpus-schema record (extra fields kept as extras); ``ValueError`` with a short reason."""
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
    if "paper" in record or ("summary" in record and "abstract" not in record):
        return hf.paper_from_hf(record)  # an HF record saved one per line
    data = dict(record)
    data.setdefault("sources", [SOURCE])
    try:
        return Paper.model_validate(data)
    except InvalidPaperId as exc:
        raise ValueError(str(exc)) from exc
    except ValidationError as exc:
        raise ValueError(validation_line(exc)) from exc


# ----------------------------------------------------------------------------- JSON / Atom
def _parse_jsonl(path: Path, handle: IO[bytes]) -> ParseResult:
    """Stream one record per line; a truncated gzip keeps the papers read so far and says so."""
    result = ParseResult(kind="jsonl")
    by_id: dict[str, Paper] = {}
    number = 0
    try:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                paper = corpus_record_to_paper(json.loads(line))
            except json.JSONDecodeError as exc:
                result.errors.append(f"{path}:{number}: invalid JSON ({exc.msg})")
                continue
            except ValueError as exc:
                result.errors.append(f"{path}:{number}: {one_line(exc, None)}")
                continue
            by_id[paper.id] = by_id[paper.id].merged_with(paper) if paper.id in by_id else paper
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        result.errors.append(f"{path}:{number + 1}: file ends early ({one_line(exc, None) or 'truncated'})")
    result.papers = list(by_id.values())
    return result


# ----------------------------------------------------------------------------- JSON / Atom

def _parse_json(path: Path, content: bytes) -> ParseResult:
    """An HF daily_papers response (list of ``{"paper": ...}``), one HF paper, or a list of corpus records."""
    try:
        data = json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        reason = f"line {exc.lineno}: {exc.msg}" if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
        raise SourceError(SOURCE, f"{path}: invalid JSON ({reason})") from exc
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise SourceError(SOURCE, f"{path}: expected a JSON list or object, got {type(data).__name__}")
    is_corpus = bool(data) and all(isinstance(d, dict) and "abstract" in d and "paper" not in d for d in data)
    result = ParseResult(kind="papers-json" if is_corpus else "hf-json")
    collected: list[Paper] = []
    for index, item in enumerate(data):
        try:
            paper = corpus_record_to_paper(item) if is_corpus else hf.paper_from_hf(item)
        except ValueError as exc:
            result.errors.append(f"{path}:item {index}: {one_line(exc, None)}")
            continue
        collected.append(paper)
    result.papers = hf.dedupe(collected)
    return result


def _parse_atom(path: Path, content: bytes) -> ParseResult:
    try:
        feed = arxiv.parse_atom(content)
    except SourceError as exc:
        raise SourceError(SOURCE, f"{path}: {exc.message}") from exc
    errors = [f"{path}:{error}" for error in feed.errors]
    return ParseResult(papers=hf.dedupe(feed.papers), errors=errors, kind="arxiv-atom")
