"""Paper ids and the Paper model: the normalisation every source and command relies on."""

from __future__ import annotations

import pytest

from papercast.models import InvalidPaperId, Paper, normalize_arxiv_id


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2401.01234", "2401.01234"),
        ("2401.01234v2", "2401.01234"),
        ("arXiv:2401.01234v3", "2401.01234"),
        ("ARXIV:2401.01234", "2401.01234"),
        ("https://arxiv.org/abs/2401.01234v2", "2401.01234"),
        ("http://arxiv.org/pdf/2401.01234v1.pdf", "2401.01234"),
        ("https://huggingface.co/papers/2509.04664", "2509.04664"),
        ("oai:arXiv.org:2508.13426v1", "2508.13426"),
        ("0704.0001", "0704.0001"),
        ("astro-ph/0601001", "astro-ph/0601001"),
        ("astro-ph/0601001v2", "astro-ph/0601001"),
        ("http://arxiv.org/abs/astro-ph/0601001v1", "astro-ph/0601001"),
        ("math.GT/0309136", "math/0309136"),
        ("  2401.01234  ", "2401.01234"),
    ],
)
def test_normalize_arxiv_id(raw: str, expected: str) -> None:
    assert normalize_arxiv_id(raw) == expected


@pytest.mark.parametrize("raw", ["", "hello", "2401.123", "12345.67890", "https://example.com/2401.01234x"])
def test_normalize_rejects_non_ids(raw: str) -> None:
    with pytest.raises(InvalidPaperId):
        normalize_arxiv_id(raw)


def test_paper_keeps_unknown_fields_and_normalizes() -> None:
    paper = Paper.model_validate({"id": "arXiv:2401.01234v2", "title": " A \n title ", "abstract": "x  y",
                                  "published": "2024-01-02T10:00:00Z", "mystery": {"kept": True}})
    assert paper.id == "2401.01234"
    assert paper.title == "A title"
    assert paper.abstract == "x y"
    assert paper.published.isoformat() == "2024-01-02"
    assert paper.model_dump()["mystery"] == {"kept": True}
    assert paper.url == "https://arxiv.org/abs/2401.01234"


def test_merge_combines_sources_without_losing_values() -> None:
    arxiv = Paper(id="2401.01234", title="T", abstract="long abstract", categories=["cs.CL"],
                  sources=["arxiv"])
    hf = Paper(id="2401.01234", title="T", abstract="", upvotes=12, ai_summary="short", sources=["hf"])
    merged = arxiv.merged_with(hf)
    assert merged.abstract == "long abstract"
    assert merged.categories == ["cs.CL"]
    assert merged.upvotes == 12 and merged.ai_summary == "short"
    assert merged.sources == ["arxiv", "hf"]
    # Upvotes only grow: an older listing does not lower them.
    assert merged.merged_with(hf.model_copy(update={"upvotes": 3})).upvotes == 12
