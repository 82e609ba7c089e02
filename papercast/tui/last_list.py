"""The last reading list, kept on disk so the next start shows it at once.

Opening the store (the chromadb import) and loading the embedding model take seconds on two
cores. Until the fresh ranking lands, the reading list shows the rows of the last session for the
same window, marked as such; keys that need the store wait for it. The file is small JSON
(titles, authors, dates, scores, reasons — no abstracts) in the papercast home.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from papercast.models import Paper
from papercast.tui.widgets.paper_list import Row

FILE_NAME = "tui-last-list.json"
VERSION = 1
KEEP_FIELDS = ("id", "title", "authors", "published", "categories", "upvotes", "github_repo", "sources")


def path_for(home: Path) -> Path:
    return Path(home) / FILE_NAME


def save(home: Path, window_key: str, title: str, rows: list[Row]) -> None:
    """Write atomically (temp file + rename): a crash never leaves half a file."""
    data = {
        "version": VERSION, "window": window_key, "title": title,
        "rows": [{"paper": paper_fields(r.paper), "score": r.score, "reasons": r.reasons[:1]} for r in rows],
    }
    target = path_for(home)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_suffix(".tmp")
    temp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    os.replace(temp, target)


def load(home: Path, window_key: str) -> tuple[str, list[Row]] | None:
    """The saved title and rows for this window, or None (no file, other window, unreadable)."""
    try:
        data = json.loads(path_for(home).read_text(encoding="utf-8"))
        if data.get("version") != VERSION or data.get("window") != window_key:
            return None
        rows = [Row(Paper.model_validate(item["paper"]), item.get("score"), list(item.get("reasons") or []))
                for item in data["rows"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return str(data.get("title", "")), rows


def paper_fields(paper: Paper) -> dict[str, Any]:
    dumped = paper.model_dump(mode="json", exclude_none=True)
    return {k: dumped[k] for k in KEEP_FIELDS if k in dumped}
