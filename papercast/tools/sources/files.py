"""Local files for ``papercast import``: corpus JSONL(.gz), HF daily_papers JSON, arXiv Atom XML.

The kind is chosen from the file name and, when that is ambiguous, from the first bytes. A bad line
or entry is reported as ``"path:LINE: reason"`` and skipped so one typo never blocks an import of
thousands of papers. JSONL is streamed line by line (the shared corpus is 16k lines) and validated
with pydantic, which is what keeps garbage out of the store.
"""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import BaseModel, Field, ValidationError

from papercast.errors import one_line, validation_line
from papercast.models import InvalidPaperId, Paper
from papercast.tools.sources import arxiv, hf
from papercast.tools.sources.http import SourceError

SOURCE = "import"
FileKind = Literal["jsonl", "hf-json", "papers-json", "arxiv-atom"]


class ParseResult(BaseModel):
    """What a file held: valid papers (duplicates merged), one-line errors, and the detected kind."""

    papers: list[Paper] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
    kind: str = ""


def _open_binary(path: Path) -> IO[bytes]:
    """Raw bytes, transparently gunzipped when the file is gzip (by magic, not only by name)."""
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else path.open("rb")


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


def parse_file(path: str | Path) -> ParseResult:
    """Parse one import file. Missing file -> ``FileNotFoundError``; unreadable -> ``SourceError``."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if path.is_dir():
        raise SourceError(SOURCE, f"{path} is a directory, not a file")
    try:
        with _open_binary(path) as handle:
            head = handle.peek(64)[:64]  # type: ignore[attr-defined]
            kind = detect_kind(path, head)
            if kind == "jsonl":
                return _parse_jsonl(path, handle)
            content = handle.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise SourceError(SOURCE, f"cannot read {path}: {exc}") from exc
    if kind == "arxiv-atom":
        return _parse_atom(path, content)
    return _parse_json(path, content)


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
