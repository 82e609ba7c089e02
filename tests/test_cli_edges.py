"""The edges a new user and an attacker found in the CLI (issue 26): windows at the calendar's ends,
``read --from`` a stream with no size, ``-q`` after the command, profile names as the help says,
``digest --email`` with nothing to send, an SMTP login that is not an address, long BibTeX keys."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

import papercast
from papercast.cli import main
from papercast.models import Paper, shift_day
from papercast.tools.sources.hf import split_range
from papercast.tools.writing.export import citation_key, to_bibtex

PACKAGE_ROOT = Path(papercast.__file__).resolve().parents[1]


@pytest.fixture
def home(service, monkeypatch) -> str:
    monkeypatch.setenv("PAPERCAST_SOURCES", "")
    return str(service.settings.home)


def _one_error(capsys) -> str:
    [line] = capsys.readouterr().err.strip().splitlines()
    return line


# -- windows ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", [["papers", "list"], ["recommend"], ["digest"]])
def test_a_window_ending_before_it_starts_is_bad_input(home, command, capsys):
    assert main(["--home", home, *command, "--since", "2026-08-20", "--until", "2026-08-01"]) == 2
    assert "--since 2026-08-20 is after --until 2026-08-01" in _one_error(capsys)


@pytest.mark.parametrize("window", [["--until", "0001-01-03"], ["--until", "0001-01-01"],
                                    ["--since", "9999-12-31"], ["--until", "9999-12-31"],
                                    ["--since", "0001-01-01", "--until", "9999-12-31"]], ids=" ".join)
@pytest.mark.parametrize("command", [["recommend"], ["digest", "--no-llm"], ["papers", "list"]], ids=" ".join)
def test_windows_at_the_calendars_ends_never_overflow(home, command, window, capsys):
    assert main(["--home", home, *command, "-n", "2", *window]) == 0
    assert "internal error" not in capsys.readouterr().err


def test_day_arithmetic_is_clamped_and_hf_ranges_end_on_the_last_day():
    assert shift_day(date(1, 1, 3), -6) == date(1, 1, 1)
    assert shift_day(date(9999, 12, 30), 7) == date(9999, 12, 31)
    assert split_range(date(9999, 12, 1), date(9999, 12, 31)) == [("month", "9999-12")]
    assert split_range(date(9999, 12, 27), date(9999, 12, 31))[-1] == ("day", date(9999, 12, 31))


# -- read --from a stream -----------------------------------------------------------------------------
def test_read_from_an_endless_stream_stops_at_the_cap(home, capsys):
    assert main(["--home", home, "read", "2608.19880", "--from", "/dev/zero"]) == 2
    assert "/dev/zero is over 25 MB" in _one_error(capsys)


# -- -q after the command -----------------------------------------------------------------------------
def test_quiet_after_the_command(home, capsys):
    assert main(["--home", home, "papers", "list", "-n", "1", "-q"]) == 0
    assert main(["--home", home, "profile", "show", "--quiet"]) == 0
    assert main(["--home", home, "digest", "-n", "1", "--since", "2001-01-01", "--until", "2001-01-02",
                 "-q"]) == 0
    assert capsys.readouterr().err == ""  # the note about the empty window is not shown


# -- profile names --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["my profile", "a+b", "me@x", "zürich", "ｆｕｌｌ", "-dash", "x" * 65])
def test_profile_names_follow_the_help(home, name, capsys):
    assert main(["--home", home, "profile", "create", "--", name]) == 2
    assert "invalid profile name" in _one_error(capsys)


def test_a_long_rejected_name_is_not_echoed_whole(home, capsys):
    assert main(["--home", home, "profile", "create", "x" * 10_000]) == 2
    line = _one_error(capsys)
    assert len(line) < 200 and "10000 characters" in line
    assert main(["--home", home, "profile", "use", "y" * 10_000]) == 2
    assert len(_one_error(capsys)) < 300


def test_good_names_still_work(home):
    assert main(["--home", home, "profile", "create", "vision.v2_x-1"]) == 0


# -- digest --email ---------------------------------------------------------------------------------------
def _smtp_env(monkeypatch, user: str) -> None:
    monkeypatch.setenv("PAPERCAST_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("PAPERCAST_SMTP_PORT", "9")  # nothing listens: these tests never get that far
    monkeypatch.setenv("PAPERCAST_SMTP_USER", user)
    monkeypatch.setenv("PAPERCAST_SMTP_PASSWORD", "secret")
    monkeypatch.delenv("PAPERCAST_SMTP_FROM", raising=False)


def test_digest_email_with_no_papers_says_nothing_was_sent(home, monkeypatch, capsys):
    _smtp_env(monkeypatch, "me@example.org")
    assert main(["--home", home, "-q", "digest", "--since", "2001-01-01", "--until", "2001-01-02",
                 "--email", "you@example.org"]) == 0
    assert "nothing sent to email to you@example.org: the digest has no papers" in _one_error(capsys)


def test_an_smtp_login_that_is_not_an_address_names_the_setting_before_the_digest(home, monkeypatch,
                                                                                   capsys):
    _smtp_env(monkeypatch, "apikey")
    assert main(["--home", home, "digest", "-n", "2", "--email", "you@example.org"]) == 2
    captured = capsys.readouterr()
    [line] = captured.err.strip().splitlines()
    assert "PAPERCAST_SMTP_FROM" in line and "apikey" in line
    assert captured.out == ""  # refused before the digest was built
    assert main(["--home", home, "daily", "-n", "2", "--email", "you@example.org"]) == 2
    assert "PAPERCAST_SMTP_FROM" in _one_error(capsys)


# -- BibTeX keys --------------------------------------------------------------------------------------------
def test_bibtex_keys_stay_short_for_long_titles_and_names():
    paper = Paper(id="2608.00001", title="Supercalifragilistic" * 50 + " " + "word" * 200,
                  abstract="x", authors=["Anna " + "Verylongfamilyname" * 20], published=date(2026, 8, 1))
    key = citation_key(paper)
    assert len(key) <= 40 and key.startswith("verylongfamilyna2026")
    assert f"@misc{{{key}," in to_bibtex([paper])


def test_the_cli_accepts_quiet_after_the_command_in_a_real_process(home):
    done = subprocess.run([sys.executable, "-m", "papercast", "--home", home, "papers", "list", "-n", "1",
                           "-q"], capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(PACKAGE_ROOT), "PATH": "/usr/bin:/bin",
                               "PAPERCAST_SOURCES": ""})
    assert done.returncode == 0 and done.stderr == ""
