"""`papercast import`, `fetch` and `papers ...` through the real command line.

Most calls go through ``papercast.cli.main`` in-process (the same code as the console script);
one subprocess checks the installed entry point and that errors never print a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from papercast.cli import main

from helpers import FIXTURES, REPO


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def run(home: Path, *args: str) -> int:
    return main(["--home", str(home), *args])


def test_import_fixtures_then_list_show_search(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(home, "import", str(FIXTURES / "hf_daily_papers_2026-08-20.json")) == 0
    out = capsys.readouterr().out
    assert "new" in out and "in the store" in out

    assert run(home, "papers", "list", "-n", "3", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == 3
    assert all(p["url"].startswith("https://arxiv.org/abs/") for p in listed)

    pid = listed[0]["id"]
    assert run(home, "papers", "show", f"https://arxiv.org/abs/{pid}v1") == 0
    assert listed[0]["title"] in capsys.readouterr().out

    assert run(home, "papers", "search", listed[1]["title"], "-n", "2", "--json") == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits[0]["id"] == listed[1]["id"]

    # Re-importing the same file stores nothing new.
    assert run(home, "import", str(FIXTURES / "hf_daily_papers_2026-08-20.json")) == 0
    assert " 0 new" in capsys.readouterr().out


def test_import_reports_malformed_lines_and_keeps_the_rest(home: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    good = {"id": "2401.00001", "title": "Good paper", "abstract": "About retrieval.", "authors": ["A B"],
            "published": "2024-01-01", "categories": ["cs.IR"], "upvotes": None}
    path = tmp_path / "mixed.jsonl"
    path.write_text(json.dumps(good) + "\n{not json\n" + json.dumps({**good, "id": "nonsense"}) + "\n")
    assert run(home, "import", str(path)) == 1
    captured = capsys.readouterr()
    assert "mixed.jsonl:2" in captured.err and "mixed.jsonl:3" in captured.err
    assert "imported 1 papers" in captured.out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("papers", "show", "2401.99999"), "unknown paper id"),
        (("papers", "show", "not-an-id"), "not an arXiv id"),
        (("papers", "list", "--since", "2026-13-01"), "invalid --since"),
        (("import", "/no/such/file.jsonl"), "no such file"),
        (("fetch", "--source", "nowhere"), "unknown source"),
        (("fetch", "--date", "yesterday-ish"), "invalid --date"),
        (("fetch", "--since", "2026-08-02", "--until", "2026-08-01"), "after --until"),
        (("papers", "search", "  "), "empty search query"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_changes_nothing(home: Path, capsys: pytest.CaptureFixture[str],
                                                          args: tuple[str, ...], needle: str) -> None:
    assert run(home, *args) == 2
    err = capsys.readouterr().err
    assert needle in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_a_first_search_on_a_fresh_home_searches_the_sample(
    home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # It used to answer "nothing matched" until some other command had loaded the sample.
    assert run(home, "papers", "search", "--since", "2026-13-01", "kv cache") == 2
    assert run(home, "papers", "search", '""') == 2
    assert not (home / "chroma").exists()  # bad input loaded nothing
    capsys.readouterr()
    assert run(home, "papers", "search", "KV cache compression", "-n", "3", "--json") == 0
    captured = capsys.readouterr()
    hits = json.loads(captured.out)
    assert len(hits) == 3 and any("kv" in " ".join(h["reasons"]).lower() for h in hits)
    assert "loaded the bundled sample" in captured.err


def test_corrupted_config_is_a_clear_error(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text("model = [unclosed\n")
    assert run(home, "papers", "list") == 2
    err = capsys.readouterr().err
    assert "config.toml" in err and "not valid TOML" in err


def test_console_entry_point_help_and_errors(home: Path) -> None:
    env = {**os.environ, "PAPERCAST_HOME": str(home)}
    helped = subprocess.run([sys.executable, "-m", "papercast", "--help"], capture_output=True, text=True,
                            env=env, cwd=REPO, timeout=60)
    assert helped.returncode == 0
    assert "import" in helped.stdout and "fetch" in helped.stdout
    bad = subprocess.run([sys.executable, "-m", "papercast", "papers", "show", "2401.99999"],
                         capture_output=True, text=True, env=env, cwd=REPO, timeout=60)
    assert bad.returncode == 2
    assert bad.stderr.strip() == "papercast: error: unknown paper id: 2401.99999"


def test_show_leaves_out_what_a_paper_does_not_have(home: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    # A paper added from a saved file may have no authors, date or categories: no blank lines for them.
    bare = {"id": "2401.00002", "title": "A bare paper", "abstract": "About nothing in particular.",
            "authors": [], "published": None, "categories": [], "upvotes": None}
    path = tmp_path / "bare.jsonl"
    path.write_text(json.dumps(bare) + "\n")
    assert run(home, "import", str(path)) == 0
    capsys.readouterr()
    assert run(home, "papers", "show", "2401.00002") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "A bare paper" and lines[1].startswith("https://arxiv.org/abs/2401.00002")
