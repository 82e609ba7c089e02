"""Shared by the agent tests: the bundled sample store, built once per module and copied per test.

Loading the sample into Chroma costs 1-2 s; copying the finished directory costs milliseconds.
On a Chroma server (``PAPERCAST_TEST_CHROMA=server``) the sample is loaded the normal way.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

PAPER = "2608.19758"  # "FlashPrefill V2: Block-Sparse Prefill Attention ..." in the bundled sample
OTHER = "2608.14277"


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from papercast.config import load_settings
    from papercast.service import Papercast

    home = tmp_path_factory.mktemp("sample-home")
    Papercast(load_settings(home=home)).ensure_sample()
    return home / "chroma"


def with_sample(settings: Any, sample_store: Path) -> Any:
    """The service for ``settings`` on a copy of the sample store."""
    from papercast.service import Papercast

    if settings.chroma_url is None and not settings.chroma_path.exists():
        shutil.copytree(sample_store, settings.chroma_path)
    app = Papercast(settings)
    app.ensure_sample()  # a no-op on the copy
    return app
