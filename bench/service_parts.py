"""The service's raw parts for the benchmarks: the tests' accessors (``tests/helpers.py``), still the
one place that reaches past the service's public methods.

The benchmarks build large stores (papers with precomputed vectors, profiles rated on given days) and
time the ranker's tools on them directly, which the service's public methods do not offer.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from helpers import (  # noqa: E402  (tests/ is put on the path first)
    delivery_store,
    document_store,
    llm_log,
    paper_store,
    passage_store,
    profile_store,
)

__all__ = ["delivery_store", "document_store", "llm_log", "paper_store", "passage_store", "profile_store"]
