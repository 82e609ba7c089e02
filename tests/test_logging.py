"""Logs that exist (issue 10): the real command line writes a rotated log file in the home, ``-v`` and
``--debug`` show it on stderr, secrets never reach it, and the failures a user sees as one line
(an LLM that keeps failing, a source that keeps answering 503) are there in full.

Everything runs ``papercast.cli.main`` in-process with ``--home`` in a tmp dir, offline: the LLM is
the scripted loopback server, the HTTP source a ``MockTransport``.
"""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

import httpx
import pytest

from papercast import logs
from papercast.cli import main

from helpers import PAPER
from llm_server import DUMMY_API_KEY, LLMServer, Reply

SECRET_KEY = "sk-test-secret-value-12345"
SECRET_BASE = "http://user:pw@127.0.0.1:1/v1?key=abc"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def sample_home(home: Path, sample_home_template: Path) -> Path:
    """A home with the bundled sample already in it (a copy: ~10 ms instead of a 2 s load)."""
    shutil.copytree(sample_home_template, home)
    return home


def log_text(home: Path) -> str:
    path = logs.log_path(home)
    return path.read_text(encoding="utf-8") if path.exists() else ""


_LINE = re.compile(r"^\S+ \S+ (?P<level>[A-Z]+) (?P<name>\S+) \[\d+\] (?P<message>.*)$")


def records(home: Path) -> list[tuple[str, str, str]]:
    """(level, logger, message) of each record in the log file (traceback lines are not records)."""
    return [(m["level"], m["name"], m["message"]) for m in map(_LINE.match, log_text(home).splitlines()) if m]


def use_model(monkeypatch: pytest.MonkeyPatch, api_base: str, key: str = DUMMY_API_KEY) -> None:
    """The CLI's settings come from the environment: the test model at ``api_base``, fast retries."""
    monkeypatch.setenv("OPENAI_API_KEY", key)
    monkeypatch.setenv("PAPERCAST_MODEL", "openai/test-model")
    monkeypatch.setenv("PAPERCAST_API_BASE", api_base)
    monkeypatch.setenv("PAPERCAST_LLM_RETRIES", "1")
    monkeypatch.setenv("PAPERCAST_LLM_BACKOFF", "0.01")
    monkeypatch.setenv("PAPERCAST_LLM_MAX_BACKOFF", "0.05")
    monkeypatch.setenv("PAPERCAST_LLM_TIMEOUT", "5")


def test_a_command_on_a_fresh_home_leaves_info_lines_in_the_log_file(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert not home.exists()
    assert main(["--home", str(home), "usage"]) == 0
    text = log_text(home)
    assert " INFO papercast.cli " in text
    assert ": usage (home " in text and "exit 0 after" in text
    assert " DEBUG " not in text  # DEBUG only with --debug
    assert capsys.readouterr().err == ""  # without -v the log stays off stderr

    # A second run in the same process appends its own lines once: handlers never pile up.
    assert main(["--home", str(home), "usage"]) == 0
    assert log_text(home).count("exit 0 after") == 2
    assert not [h for h in logging.getLogger("papercast").handlers if getattr(h, "_papercast_handler", False)]


def test_verbose_sends_info_to_stderr_and_debug_adds_debug_lines(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--home", str(home), "-v", "usage"]) == 0
    err = capsys.readouterr().err
    assert "papercast: exit 0 after" in err
    assert "arguments:" not in err  # a DEBUG line

    assert main(["--home", str(home), "--debug", "usage"]) == 0
    err = capsys.readouterr().err
    assert "papercast: DEBUG papercast.cli: arguments: --home" in err
    assert "papercast: INFO papercast.cli: exit 0 after" in err
    assert any(" DEBUG papercast.cli " in line and "arguments: --home" in line
               for line in log_text(home).splitlines())


def test_debug_shows_the_traceback_of_a_failure_and_verbose_does_not(
        home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from papercast.commands import writing
    from papercast.errors import RuntimeFailure

    def fail(_args: object) -> int:
        raise RuntimeFailure("the disk said no")

    monkeypatch.setattr(writing, "cmd_usage", fail)
    assert main(["--home", str(home), "-v", "usage"]) == 1
    err = capsys.readouterr().err
    assert "papercast: error: the disk said no" in err and "failed: RuntimeFailure: the disk said no" in err
    assert "Traceback" not in err

    assert main(["--home", str(home), "--debug", "usage"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "in fail" in err
    assert "\npapercast: error: the disk said no\n" in err
    assert "Traceback (most recent call last)" in log_text(home)  # the file keeps it at any level


def test_an_unexpected_exception_is_one_line_naming_the_log_file(home: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from papercast.commands import writing

    def bug(_args: object) -> int:
        return 1 // 0

    monkeypatch.setattr(writing, "cmd_usage", bug)
    assert main(["--home", str(home), "usage"]) == 1
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("papercast: internal error: ZeroDivisionError: ")
    assert lines[0].endswith(f"details in {logs.log_path(home)}")
    assert "Traceback" not in err
    text = log_text(home)
    bug_line = "internal error: ZeroDivisionError: integer division or modulo by zero"
    assert ("ERROR", "papercast.cli", bug_line) in records(home)
    assert "Traceback (most recent call last)" in text and "1 // 0" in text


def test_an_unwritable_log_directory_costs_only_the_file(home: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    home.mkdir()
    (home / "logs").write_text("not a directory")  # unwritable even for root, unlike a chmod
    assert main(["--home", str(home), "usage"]) == 0
    assert capsys.readouterr().err == ""  # no "--- Logging error ---", no last-resort warnings

    from papercast.commands import writing
    from papercast.errors import RuntimeFailure

    def fail(_args: object) -> int:
        raise RuntimeFailure("offline")

    monkeypatch.setattr(writing, "cmd_usage", fail)
    assert main(["--home", str(home), "usage"]) == 1
    assert capsys.readouterr().err == "papercast: error: offline\n"  # the WARNING is not printed twice

    monkeypatch.setattr(writing, "cmd_usage", lambda _args: 1 / 0)
    assert main(["--home", str(home), "usage"]) == 1
    assert capsys.readouterr().err.rstrip().endswith("run with --debug for details")
    assert (home / "logs").read_text() == "not a directory"


def test_the_log_file_rotates(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logs, "MAX_BYTES", 2_000)
    assert logs.configure(home) == logs.log_path(home)
    try:
        for i in range(200):
            logging.getLogger("papercast.test").info("line %d of a long run %s", i, "x" * 40)
    finally:
        logs.reset()
    folder = home / "logs"
    assert (folder / "papercast.log.1").exists()
    assert not (folder / f"papercast.log.{logs.BACKUPS + 1}").exists()
    assert "line 199 of a long run" in log_text(home)
    assert all(p.stat().st_size <= 2_000 for p in folder.iterdir())


def test_secrets_never_reach_the_log_or_stderr(sample_home: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str], litellm_loaded) -> None:
    """A key in the environment and credentials in the api_base, with --debug tracebacks of a model
    that cannot be reached (nothing listens on port 1)."""
    use_model(monkeypatch, SECRET_BASE, key=SECRET_KEY)
    assert main(["--home", str(sample_home), "--debug", "summarize", PAPER]) == 1  # the model failed
    out, err = capsys.readouterr()
    text = log_text(sample_home)
    assert "LLM summary to openai/test-model at http://***@127.0.0.1:1/v1?key=***" in text
    assert "summary of " + PAPER in text
    for where in (text, err, out):
        for secret in (SECRET_KEY, "user:pw", "pw@", "key=abc"):
            assert secret not in where


def test_an_llm_failure_logs_its_real_cause_and_each_retry(sample_home: Path, llm_server: LLMServer,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str],
                                                           litellm_loaded) -> None:
    use_model(monkeypatch, llm_server.api_base)
    llm_server.queue(Reply.error(500), Reply.error(500))
    assert main(["--home", str(sample_home), "summarize", PAPER]) == 1  # the offline summary stands in
    assert len(llm_server.requests) == 2
    assert "offline summary" in capsys.readouterr().out
    logged = records(sample_home)
    client = [(level, message) for level, name, message in logged if name == "papercast.tools.llm.client"]
    assert len(client) == 2, client
    (level, retry), (final_level, final) = client
    assert level == "INFO" and retry.startswith(
        f"LLM summary to openai/test-model at {llm_server.api_base} failed on attempt 1 of 2: HTTP 500; "
        "cause: InternalServerError: ")
    assert "retrying in" in retry
    assert final_level == "WARNING" and "failed on attempt 2 of 2" in final and "giving up" in final
    assert "The server had an error" in final  # the server's own words, from the exception chain
    fallback = [(level, message) for level, name, message in logged
                if name == "papercast.tools.writing.summarize"]
    assert len(fallback) == 1 and fallback[0][0] == "WARNING"
    assert fallback[0][1].startswith(
        f"summary of {PAPER}: model unavailable (LLMUnavailable: cannot get an answer")
    assert fallback[0][1].endswith("using the offline summary")
    assert DUMMY_API_KEY not in log_text(sample_home)


def test_a_source_retry_and_its_final_failure_are_logged(home: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from papercast.tools.sources import fetch

    seen: list[httpx.Request] = []

    def busy(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503, headers={"Retry-After": "0"})

    monkeypatch.setattr(fetch, "make_client", lambda: httpx.AsyncClient(transport=httpx.MockTransport(busy)))
    assert main(["--home", str(home), "fetch", "--source", "hf", "--date", "2026-08-20"]) == 1
    assert "gave up after 5 attempts" in capsys.readouterr().err
    assert len(seen) == 5
    logged = records(home)
    retries = [message for level, name, message in logged
               if name == "papercast.tools.sources.http" and level == "INFO"]
    assert retries[0] == ("hf: GET huggingface.co/api/daily_papers failed on attempt 1 of 5: HTTP 503; "
                          "retrying in 0.0 s (as the server asked)")
    assert len(retries) == 4 and "attempt 4 of 5" in retries[-1]
    gave_up = "hf: HTTP 503 from huggingface.co/api/daily_papers; gave up after 5 attempts"
    assert ("WARNING", "papercast.tools.sources.http", gave_up) in logged
    assert ("WARNING", "papercast.tools.sources.fetch", f"fetch: source hf failed: {gave_up}") in logged


def test_a_proposed_change_is_a_warning_with_its_arguments(sample_home: Path, capsys) -> None:
    """The agent's proposals are where an injected instruction shows itself: logged with their
    arguments at WARNING, and what became of them (not applied without --yes) at INFO."""
    assert main(["--home", str(sample_home), "chat", f"dislike {PAPER}"]) == 0
    assert "not applied" in capsys.readouterr().err
    logged = [(level, message) for level, name, message in records(sample_home)
              if name == "papercast.agent.tool_node"]
    [proposed] = [m for level, m in logged if level == "WARNING"]
    assert proposed.startswith(f'proposed give_feedback {{"id": "{PAPER}", "kind": "dislike", ')
    assert proposed.endswith("(waiting for the user)")
    assert [level for level, m in logged if m.startswith("proposal ") and "not applied" in m] == ["INFO"]
