"""The `profile` and `recommend` commands: the CLI contract, exit codes, persistence across processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from papercast.cli import main


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
                   f"@misc{{y, doi={{10.48550/arXiv.{b}}}}}\n@misc{{z, url={{https://arxiv.org/abs/2001.00001}}}}\n")
    assert run(home, "profile", "import-likes", str(bib)) == 0
    captured = capsys.readouterr()
    assert "2001.00001" in captured.err and "liked 2 paper(s)" in captured.out
    assert sorted(service.profile_show().liked) == sorted([a, b])
    ids = tmp_path / "ids.txt"
    ids.write_text("2001.00001\n")
    assert run(home, "profile", "import-likes", str(ids)) == 2  # nothing in the store: nothing liked
    assert run(home, "profile", "import-likes", str(tmp_path / "missing.bib")) == 2
    assert "no such file" in capsys.readouterr().err
