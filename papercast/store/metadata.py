"""A paper as the store keeps it: Chroma metadata (its JSON plus the keys papercast filters on).

Its own module because both the paper store (``papers``) and the ranking cache (``ranking_cache``)
read the ``published`` key, and the paper store owns the cache: so neither imports the other back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date
from typing import Any

from papercast.models import Paper

SAMPLE_SOURCE = "sample"  # Paper.sources of the bundled sample's papers, until the user's own arrive


def content_hash(paper: Paper) -> str:
    return hashlib.sha1(paper.embedding_text.encode("utf-8")).hexdigest()[:16]


def date_key(day: date | None) -> int:
    """A date as the sortable YYYYMMDD number windows filter on (0 when unknown)."""
    return day.year * 10000 + day.month * 100 + day.day if day else 0


def to_metadata(paper: Paper) -> dict[str, Any]:
    """The paper as Chroma metadata: its JSON, plus the two keys papercast filters or compares on.

    Few keys on purpose: Chroma keeps one row per metadata key and paper, and reading a window
    costs per row, so copies of fields the JSON already holds would only slow every read down.
    """
    meta: dict[str, Any] = {
        "published": date_key(paper.published),
        "content_hash": content_hash(paper),
        "paper": paper.model_dump_json(exclude_none=True),
    }
    if paper.sources == [SAMPLE_SOURCE]:
        meta["sample"] = True  # only the bundled sample's papers carry this key (``drop_sample``)
    return meta


def from_metadata(meta: Mapping[str, Any]) -> Paper:
    return Paper.model_validate_json(meta["paper"])
