"""Export to reference managers: BibTeX in arXiv's style, RIS and CSL JSON; a BibTeX round trip
through ``profile import-likes`` keeps every id; the CLI's ``export`` for each source."""

from __future__ import annotations

import json
from datetime import date

import pytest

from papercast.cli import main
from papercast.models import Paper
from papercast.tools.sources.bibtex import parse_bibtex
from papercast.tools.writing.export import citation_key, split_name, to_bibtex, to_csljson, to_ris

from helpers import paper_store

PAPER = Paper(id="2509.04664", title="Why Language Models Hallucinate",
              abstract="Like students facing hard exam questions, large language models sometimes guess.",
              authors=["Adam Tauman Kalai", "Ofir Nachum", "Santosh S. Vempala", "Edwin Zhang"],
              published=date(2025, 9, 4), categories=["cs.CL", "cs.AI"])
OLD = Paper(id="hep-th/9901001", title="An old {unbalanced brace paper", abstract="x",
            authors=["Vincent van der Berg"], published=date(1999, 1, 4), categories=["hep-th"])


def test_bibtex_is_arxivs_own_style():
    text = to_bibtex([PAPER])
    assert text.startswith("@misc{kalai2025languagemodels,\n")
    for line in ("title={Why Language Models Hallucinate}",
                 "author={Adam Tauman Kalai and Ofir Nachum and Santosh S. Vempala and Edwin Zhang}",
                 "year={2025}", "eprint={2509.04664}", "archivePrefix={arXiv}", "primaryClass={cs.CL}",
                 "url={https://arxiv.org/abs/2509.04664}", "doi={10.48550/arXiv.2509.04664}"):
        assert f"      {line}," in text
    assert text.rstrip().endswith("}")


def test_bibtex_escapes_untrusted_titles_and_keeps_braces_balanced():
    evil = PAPER.model_copy(update={"id": "2509.00001", "title": "50% of {x}} & $y$ #1 \\input{/etc/passwd}"})
    text = to_bibtex([evil, OLD])
    assert "\\input" not in text.replace("\\textbackslash{}input", "")
    assert r"50\% of \textbraceleft{}x\textbraceright{}\textbraceright{} \& \$y\$ \#1" in text
    for entry in text.split("\n\n"):
        assert entry.count("{") == entry.count("}")  # BibTeX counts braces, escaped or not
    assert parse_bibtex(text).ids == ["2509.00001", "hep-th/9901001"]


def test_keys_are_unique_and_names_split_like_a_reference_manager():
    twin = PAPER.model_copy(update={"id": "2509.04665"})
    text = to_bibtex([PAPER, twin])
    assert "@misc{kalai2025languagemodels," in text and "@misc{kalai2025languagemodelsa," in text
    assert split_name("Adam Tauman Kalai") == ("Kalai", "Adam Tauman")
    assert split_name("Vincent van der Berg") == ("van der Berg", "Vincent")
    assert split_name("Kalai, Adam") == ("Kalai", "Adam")
    assert split_name("Plato") == ("Plato", "")
    assert citation_key(OLD) == "vanderberg1999oldunbalanced"


def test_ris_and_csljson():
    ris = to_ris([PAPER])
    lines = ris.splitlines()
    assert lines[0] == "TY  - UNPB" and lines[-1] == "ER  - "
    assert "AU  - Kalai, Adam Tauman" in lines and "DO  - 10.48550/arXiv.2509.04664" in lines
    assert "UR  - https://arxiv.org/abs/2509.04664" in lines and "DA  - 2025/09/04" in lines
    assert all(line[2:6] == "  - " for line in lines)  # every line a tag
    [item] = json.loads(to_csljson([PAPER]))
    assert item["id"] == "arXiv:2509.04664" and item["type"] == "article"
    assert item["author"][0] == {"family": "Kalai", "given": "Adam Tauman"}
    assert item["issued"] == {"date-parts": [[2025, 9, 4]]} and item["DOI"] == "10.48550/arXiv.2509.04664"


@pytest.fixture
def home(service, monkeypatch):
    monkeypatch.setenv("PAPERCAST_SOURCES", "")
    return str(service.settings.home)


def liked_ids(service, count):
    return [r.paper.id for r in service.recommend(n=count, use_llm=False).items]


def test_export_likes_round_trips_through_import_likes(home, service, tmp_path, capsys):
    ids = liked_ids(service, 6) + ["hep-th/9901001"]
    paper_store(service).upsert([OLD])
    service.feedback(ids, "like")
    out = tmp_path / "likes.bib"
    assert main(["--home", home, "export", "--liked", "--format", "bibtex", "--out", str(out)]) == 0
    assert f"exported {len(ids)} papers" in capsys.readouterr().err
    assert out.read_text().count("@misc{") == len(ids)
    assert main(["--home", home, "profile", "create", "fresh"]) == 0
    assert main(["--home", home, "profile", "import-likes", "--profile", "fresh", str(out)]) == 0
    assert sorted(service.profile_show("fresh").liked) == sorted(ids)  # every id came back


def test_export_saved_list_and_digest(home, service, tmp_path, capsys):
    [saved] = liked_ids(service, 1)
    service.feedback([saved], "save")
    assert main(["--home", home, "export", "--saved", "--format", "ris"]) == 0
    assert f"AN  - arXiv:{saved}" in capsys.readouterr().out
    assert main(["--home", home, "export", "--list", "-n", "3", "--format", "csljson"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 3
    # --digest: the last digest delivered, and a clear error before there is one.
    assert main(["--home", home, "export", "--digest", "--format", "bibtex"]) == 2
    assert "nothing was delivered to profile" in capsys.readouterr().err
    assert main(["--home", home, "daily", "-n", "2", "--out", str(tmp_path / "d.md")]) == 0
    delivered = service.delivery_history()[0].papers
    capsys.readouterr()
    assert main(["--home", home, "export", "--digest", "--format", "bibtex"]) == 0
    assert parse_bibtex(capsys.readouterr().out).ids == delivered


def test_export_bad_input(home, capsys):
    assert main(["--home", home, "export", "--format", "bibtex"]) == 2  # which papers?
    assert main(["--home", home, "export", "--liked", "--saved", "--format", "ris"]) == 2
    assert main(["--home", home, "export", "--liked", "--format", "endnote"]) == 2
    assert main(["--home", home, "export", "--liked", "--format", "ris", "--out", "/no/such/dir/x.ris"]) == 2
    err = capsys.readouterr().err
    assert "one of the arguments --liked --saved --list --digest is required" in err
    assert "no such directory for --out" in err
