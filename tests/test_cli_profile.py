"""The `profile` and `recommend` commands: the CLI contract, exit codes, persistence across processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from papercast.cli import main
from papercast.errors import UserError

from helpers import paper_store


def run(home: Path, *argv: str) -> int:
    return main(["--home", str(home), *argv])


def run_process(home: Path, *argv: str) -> subprocess.CompletedProcess:
    """A separate `python -m papercast` process: state must come from disk, not this process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERCAST_")}
    return subprocess.run([sys.executable, "-m", "papercast", "--home", str(home), *argv],
                          capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def home(service):
    return service.settings.home


def out_json(capsys) -> object:
    return json.loads(capsys.readouterr().out)


def test_profile_crud_persists_across_processes(tmp_path):
    home = tmp_path / "h"
    r = run_process(home, "profile", "create", "vision", "--interests", "3D reconstruction",
                    "--keyword", "Gaussian splatting", "--author", "Jane Doe", "--category", "cs.CV")
    assert r.returncode == 0, r.stderr
    r = run_process(home, "profile", "set", "vision", "--add-keyword", "NeRF", "--exclude", "survey",
                    "--interests", "3D reconstruction and neural rendering")
    assert r.returncode == 0, r.stderr
    r = run_process(home, "profile", "rename", "vision", "3d")
    assert r.returncode == 0, r.stderr
    r = run_process(home, "profile", "show", "3d", "--json")
    assert r.returncode == 0, r.stderr
    shown = json.loads(r.stdout)
    assert shown["name"] == "3d" and shown["active"] is True
    assert shown["interests"] == "3D reconstruction and neural rendering"
    assert shown["keywords"] == ["Gaussian splatting", "NeRF"] and shown["excluded_keywords"] == ["survey"]
    assert shown["authors"] == ["Jane Doe"] and shown["categories"] == ["cs.CV"]
    r = run_process(home, "profile", "create", "3D")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "exists already" in r.stderr


def test_list_use_delete(tmp_path, capsys):
    home = tmp_path / "h"
    assert run(home, "profile", "list", "--json") == 0
    assert [p["name"] for p in out_json(capsys)] == ["default"]  # the starter profile, made on first use
    assert run(home, "profile", "create", "astro", "--interests", "galaxies") == 0
    assert run(home, "profile", "use", "astro") == 0
    capsys.readouterr()
    assert run(home, "profile", "list") == 0
    listing = capsys.readouterr().out
    assert "* astro" in listing and "  default" in listing
    assert run(home, "profile", "delete", "astro") == 0
    assert run(home, "profile", "show", "astro") == 2
    assert "unknown profile 'astro'" in capsys.readouterr().err


def test_like_unknown_id_is_an_error_naming_it_and_changes_nothing(home, service, capsys):
    known = service.list_papers(1)[0].id
    assert run(home, "profile", "like", known, "2401.99999", "9912.00001") == 2
    err = capsys.readouterr().err
    assert "2401.99999" in err and "9912.00001" in err and known not in err
    assert service.profile_show().liked == []
    assert run(home, "profile", "like", "not-an-id") == 2
    assert "not an arXiv id: not-an-id" in capsys.readouterr().err
    assert run(home, "profile", "like", "--profile", "ghost", known) == 2
    assert "unknown profile 'ghost'" in capsys.readouterr().err
    assert run(home, "profile", "like", known) == 0
    assert service.profile_show().liked == [known]
    assert run(home, "profile", "dislike", known) == 0
    assert service.profile_show().liked == [] and service.profile_show().disliked == [known]


def test_recommend_json_contract_and_feedback_effect(home, service, capsys):
    assert run(home, "recommend", "-n", "5", "--json", "--no-llm") == 0
    items = out_json(capsys)
    assert len(items) == 5
    for item in items:
        assert {"id", "title", "score", "reasons", "published", "url"} <= set(item)
        assert item["reasons"] and all(isinstance(r, str) for r in item["reasons"])
        assert item["url"] == f"https://arxiv.org/abs/{item['id']}"
    assert [i["score"] for i in items] == sorted((i["score"] for i in items), reverse=True)
    top = items[0]["id"]
    assert run(home, "profile", "dismiss", top) == 0
    capsys.readouterr()
    assert run(home, "recommend", "-n", "5", "--json") == 0
    assert top not in [i["id"] for i in out_json(capsys)]


def test_recommend_bad_inputs(home, capsys):
    assert run(home, "recommend", "--since", "2026-13-01") == 2
    assert "invalid --since '2026-13-01'" in capsys.readouterr().err
    assert run(home, "recommend", "--since", "2026-08-10", "--until", "2026-08-01") == 2
    assert "after" in capsys.readouterr().err
    assert run(home, "recommend", "--profile", "nobody") == 2
    assert run(home, "recommend", "-n", "0") == 2


def test_recommend_keeps_an_explicit_empty_window_and_says_so(home, capsys):
    assert run(home, "recommend", "--since", "2001-01-01", "--until", "2001-01-02", "--json") == 0
    captured = capsys.readouterr()
    assert "no papers for 2001-01-01 .. 2001-01-02" in captured.err and "2026-08-20" in captured.err
    assert json.loads(captured.out) == []
    # No dates: the default window, the latest week with papers.
    assert run(home, "recommend", "--json") == 0
    items = json.loads(capsys.readouterr().out)
    assert items and all("2026-08-14" <= i["published"] <= "2026-08-20" for i in items)


def test_recommend_on_empty_store_loads_the_sample(tmp_path):
    r = run_process(tmp_path / "fresh", "recommend", "-n", "3", "--json")
    assert r.returncode == 0, r.stderr
    assert "loaded the bundled sample" in r.stderr
    assert "created a starter profile 'default'" in r.stderr and "papercast profile set default" in r.stderr
    assert len(json.loads(r.stdout)) == 3


def test_import_likes_from_bibtex_and_id_list(home, service, tmp_path, capsys):
    a, b = [p.id for p in service.list_papers(2)]
    bib = tmp_path / "likes.bib"
    bib.write_text(f"@article{{x, eprint={{{a}}}, archivePrefix={{arXiv}}}}\n"
                   f"@misc{{y, doi={{10.48550/arXiv.{b}}}}}\n@misc{{z, "
                   f"url={{https://arxiv.org/abs/2001.00001}}}}\n")
    assert run(home, "profile", "import-likes", str(bib)) == 0
    captured = capsys.readouterr()
    assert "2001.00001" in captured.err and "liked 2 paper(s)" in captured.out
    assert sorted(service.profile_show().liked) == sorted([a, b])
    ids = tmp_path / "ids.txt"
    ids.write_text("2001.00001\n")
    assert run(home, "profile", "import-likes", str(ids)) == 2  # nothing in the store: nothing liked
    assert run(home, "profile", "import-likes", str(tmp_path / "missing.bib")) == 2
    assert "no such file" in capsys.readouterr().err


# -- cold start from an author: profile create NAME --from-author "Full Name" -------------------------

def ids_by(service, author: str) -> set[str]:
    """The library's papers that list exactly this author, read here rather than through the code under
    test."""
    papers, _ = paper_store(service).window()
    return {p.id for p in papers if author in p.authors}


def test_create_from_author_likes_every_paper_by_them(home, service, capsys):
    expected = ids_by(service, "Franck Dernoncourt")
    assert len(expected) == 5  # the bundled sample's; across several weeks, not only the default window
    assert run(home, "profile", "create", "nlp", "--from-author", "Franck Dernoncourt",
               "--interests", "document understanding", "--keyword", "RAG") == 0
    captured = capsys.readouterr()
    assert (captured.out.startswith("created profile nlp")
            and "; liked 5 papers by Franck Dernoncourt" in captured.out)
    profile = service.profile_show("nlp")
    assert set(profile.liked) == expected and len(profile.liked) == 5
    assert profile.interests == "document understanding" and profile.keywords == ["RAG"]
    assert profile.authors == []  # seeded likes, not a followed author


def test_create_from_two_authors_likes_a_shared_paper_once(home, service, capsys):
    dernoncourt = ids_by(service, "Franck Dernoncourt")
    # one person, with and without initial
    rossi = ids_by(service, "Ryan A. Rossi") | ids_by(service, "Ryan Rossi")
    assert len(rossi) == 5 and rossi <= dernoncourt  # every paper of one is also the other's
    kaipeng = ids_by(service, "Kaipeng Zhang")
    assert run(home, "profile", "create", "seeded", "--use", "--from-author", "Franck Dernoncourt",
               "--from-author", "Ryan A. Rossi", "--from-author", "Kaipeng Zhang",
               "--from-author", "franck  dernoncourt") == 0  # the same name twice counts once
    out = capsys.readouterr().out
    assert out.strip() == ("created profile seeded (active); liked 12 papers: 5 by Franck Dernoncourt, "
                           "5 by Ryan A. Rossi, 7 by Kaipeng Zhang")
    liked = service.profile_show("seeded").liked
    assert sorted(liked) == sorted(dernoncourt | kaipeng) and len(liked) == 12
    assert service.active_profile_name() == "seeded"


def test_create_from_an_initial_and_surname(home, service, capsys):
    # No paper of the sample writes "F. Dernoncourt": the initial finds Franck Dernoncourt, as for
    # followed authors.
    assert not ids_by(service, "F. Dernoncourt")
    assert run(home, "profile", "create", "initial", "--from-author", "F.  Dernoncourt") == 0
    assert "liked 5 papers by F. Dernoncourt" in capsys.readouterr().out
    assert set(service.profile_show("initial").liked) == ids_by(service, "Franck Dernoncourt")
    # A middle initial on either side does not hide the author: "Ryan Rossi" finds "Ryan A. Rossi" too.
    assert ids_by(service, "Ryan A. Rossi") and ids_by(service, "Ryan Rossi")
    assert {p.id for p in service.papers_by_author(["Ryan Rossi"])["Ryan Rossi"]} == (
        ids_by(service, "Ryan A. Rossi") | ids_by(service, "Ryan Rossi"))
    # The service takes names too (the TUI, the agent).
    created = service.profile_create("by-name", from_authors=["Kaipeng Zhang"])
    assert set(created.liked) == ids_by(service, "Kaipeng Zhang")


@pytest.mark.parametrize("chroma_mode", ["embedded", "server"], indirect=True)
def test_papers_by_author_reads_the_whole_library_from_either_store(service):
    # Embedded: from the ranking cache; on a Chroma server (no cache): from Chroma's metadata, in batches.
    assert (paper_store(service).fresh_ranking_cache() is None) == (service.settings.chroma_url is not None)
    found = service.papers_by_author(["R. Rossi", "Kaipeng  Zhang"])
    assert list(found) == ["R. Rossi", "Kaipeng Zhang"]
    rossi = found["R. Rossi"]  # "R." finds Ryan A. Rossi and Ryan Rossi, as a followed "R. Rossi" would
    assert {p.id for p in rossi} == ids_by(service, "Ryan A. Rossi") | ids_by(service, "Ryan Rossi")
    assert [p.published for p in rossi] == sorted((p.published for p in rossi), reverse=True)  # newest first
    assert {p.id for p in found["Kaipeng Zhang"]} == ids_by(service, "Kaipeng Zhang")


def test_create_from_an_unknown_author_names_the_closest_and_creates_nothing(home, service, capsys):
    # one good name creates nothing
    for names in (["Frank Dernoncort"], ["Kaipeng Zhang", "Frank Dernoncort"]):
        argv = [arg for name in names for arg in ("--from-author", name)]
        assert run(home, "profile", "create", "typo", *argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
        assert ("no paper by 'Frank Dernoncort' in the library; "
                "closest authors: Franck Dernoncourt (5 papers)") in err
        assert "typo" not in [p.name for p in service.profile_list()]
    assert run(home, "profile", "create", "typo", "--from-author", "Zorblax Quuxington") == 2
    assert "no paper by 'Zorblax Quuxington'" in capsys.readouterr().err
    with pytest.raises(UserError, match="Frank Dernoncort"):
        service.profile_create("typo", from_authors=["Frank Dernoncort"])
    assert "typo" not in [p.name for p in service.profile_list()]


def test_create_from_a_surname_alone_is_refused_in_one_line(home, service, capsys):
    assert run(home, "profile", "create", "loose", "--from-author", "Dernoncourt") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'Dernoncourt': a surname alone is too loose" in err
    assert run(home, "profile", "create", "loose", "--from-author", "  ") == 2
    assert "not an author name" in capsys.readouterr().err
    assert "loose" not in [p.name for p in service.profile_list()]


def test_create_from_author_on_an_empty_library(empty_service):
    with pytest.raises(UserError, match="the library has no papers yet"):
        empty_service.profile_create("x", from_authors=["Kaipeng Zhang"])


def test_create_from_author_on_a_fresh_home_loads_the_sample(tmp_path, capsys):
    assert run(tmp_path / "fresh", "profile", "create", "x", "--from-author", "Kaipeng Zhang") == 0
    captured = capsys.readouterr()
    assert "loaded the bundled sample" in captured.err
    assert "created profile x (active); liked 7 papers by Kaipeng Zhang" in captured.out
    assert run(tmp_path / "fresh", "profile", "create", "--help") == 0
    assert "--from-author NAME" in capsys.readouterr().out
