"""The command line's conventions: help on every option, one ``-n`` check everywhere, ``--version``,
``-q``, shell completion from the parser, ``--json`` on fetch/import/daily, config.toml in the XDG
config directory, ``--home`` and TUI mistakes as bad input, output closed early, the import report
capped, arXiv cross-lists, and the summary language (offline and through the scripted model)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx

from papercast import __version__
from papercast.cli import build_parser, main

from helpers import FIXTURES

PAPERCAST = [sys.executable, "-m", "papercast"]


def walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(command path, parser) for the root and every sub-command."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from walk(sub, (*path, name))


def test_every_option_and_argument_has_help():
    missing = []
    for path, parser in walk(build_parser()):
        for action in parser._actions:
            if isinstance(action,
                          argparse._HelpAction | argparse._VersionAction | argparse._SubParsersAction):
                continue
            if not action.help or action.help == argparse.SUPPRESS:
                missing.append(f"papercast {' '.join(path)} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


# Arguments a command needs besides -n, so that only -n can be wrong.
REQUIRED = {("papers", "search"): ["x"], ("export",): ["--liked", "--format", "bibtex"]}


def commands_with_count() -> list[tuple[str, ...]]:
    return [path for path, parser in walk(build_parser())
            if any("-n" in a.option_strings for a in parser._actions)]


def test_the_count_is_checked_the_same_way_on_every_command(tmp_path, capsys):
    commands = commands_with_count()
    assert {("papers", "list"), ("papers", "search"), ("recommend",), ("digest",), ("daily",), ("usage",),
            ("export",), ("history",), ("teach",)} <= set(commands)
    for path in commands:
        for bad in ("0", "-1", "x"):
            argv = ["--home", str(tmp_path / "home"), *path, *REQUIRED.get(path, []), "-n", bad]
            assert main(argv) == 2, argv
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and "argument -n" in err, (argv, err)
            assert "must be at least 1" in err or "not a whole number" in err
    assert not (tmp_path / "home").exists() or not any((tmp_path / "home").rglob("*.db"))  # nothing ran


def test_version_and_quiet(tmp_path, capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"papercast {__version__}"
    home = str(tmp_path / "home")
    assert main(["--home", home, "-q", "papers", "list", "-n", "2"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and len(captured.out.splitlines()) == 2  # the sample was loaded, silently
    assert main(["--home", home, "-q", "papers", "show", "9999.99999"]) == 2
    assert "unknown paper id" in capsys.readouterr().err  # errors are never silenced


def test_completion_scripts_come_from_the_parser(tmp_path, capsys):
    assert main(["completion", "bash"]) == 0
    script = capsys.readouterr().out
    for word in ("export", "history", "--include-seen", "--webhook", "--feed", "completion", "teach", "eval"):
        assert word in script
    bash = shutil.which("bash")
    if bash:
        (tmp_path / "papercast.bash").write_text(script)
        done = subprocess.run([bash, "-c", f"source {tmp_path / 'papercast.bash'} && complete -p papercast"],
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0 and "papercast" in done.stdout, done.stderr
    assert main(["completion", "zsh"]) == 0
    zsh = capsys.readouterr().out
    assert zsh.startswith("#compdef papercast") and "--include-seen" in zsh
    assert main(["completion", "fish"]) == 2


def test_home_mistakes_are_bad_input(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert main(["--home", str(afile), "papers", "list"]) == 2
    assert main(["--home", "", "papers", "list"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"papercast: error: --home {afile} is a file, not a directory",
                   "papercast: error: --home is empty: give a directory (or leave it out for the default "
                   "home)"]


def test_the_tui_without_a_terminal_says_so_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)
    assert main(["--home", str(tmp_path / "home")]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert "the TUI needs a terminal" in line and "papers, recommend, digest, daily" in line


def test_output_closed_early_ends_quietly(service):
    """``papercast papers list -n 1000 | head -1`` where the reader is gone before papercast writes."""
    env = {**os.environ, "PAPERCAST_HOME": str(service.settings.home)}
    proc = subprocess.Popen([*PAPERCAST, "papers", "list", "-n", "1000"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader went away
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141  # 128 + SIGPIPE, as a shell reports for a Unix tool
    assert err == ""  # no "error: [Errno 32] Broken pipe", no "Exception ignored" from the final flush


def test_config_toml_lives_in_the_xdg_config_dir(tmp_path, monkeypatch, capsys):
    from papercast.config import load_settings

    xdg, home = tmp_path / "xdg", tmp_path / "home"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    (xdg / "papercast").mkdir(parents=True)
    (xdg / "papercast" / "config.toml").write_text('language = "German"\n')
    settings = load_settings(home=home)
    assert settings.language == "German" and settings.config_note is None
    assert settings.config_file == xdg / "papercast" / "config.toml"
    # The home's config.toml is still read when it is the only one, with a note saying where it belongs.
    (xdg / "papercast" / "config.toml").unlink()
    home.mkdir()
    (home / "config.toml").write_text('language = "French"\n')
    assert main(["--home", str(home), "profile", "list"]) == 0
    err = capsys.readouterr().err
    assert f"settings read from {home / 'config.toml'}" in err and str(xdg / "papercast") in err
    assert load_settings(home=home).language == "French"
    # Both: the XDG one wins and the note says the other is ignored.
    (xdg / "papercast" / "config.toml").write_text('language = "German"\n')
    both = load_settings(home=home)
    assert both.language == "German" and "is ignored" in (both.config_note or "")


def test_import_a_directory_and_a_binary_file(tmp_path, capsys):
    home = str(tmp_path / "home")
    folder = tmp_path / "adir"
    folder.mkdir()
    assert main(["--home", home, "import", str(folder)]) == 2
    assert "a directory; give the files in it" in capsys.readouterr().err
    junk = tmp_path / "junk.jsonl"
    junk.write_bytes(bytes(range(256)) * 40 + b"\n" * 300 + os.urandom(20000))
    assert main(["--home", home, "import", str(junk)]) == 2  # not one valid line: bad input (issue 26)
    err = capsys.readouterr().err.splitlines()
    assert len(err) <= 21 and err[-1].startswith("papercast: ... and ") and "more skipped" in err[-1]


def test_fetch_and_import_speak_json(tmp_path, monkeypatch, capsys):
    import papercast.tools.sources.fetch as fetch_module

    home = str(tmp_path / "home")
    assert main(["--home", home, "import", "--json", str(FIXTURES / "corpus_slice.jsonl.gz")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["parsed"] == report["added"] == report["stored"] == 40 and report["errors"] == []

    rss = (FIXTURES / "arxiv_rss_cs.AI.xml").read_bytes()
    monkeypatch.setattr(fetch_module, "make_client", lambda **_: httpx.AsyncClient(
        transport=httpx.MockTransport(lambda request: httpx.Response(200, content=rss))))
    assert main(["--home", home, "fetch", "--source", "arxiv", "--category", "cs.AI", "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert main(["--home", home, "fetch", "--source", "arxiv", "--category", "cs.AI", "--json",
                 "--include-cross"]) == 0
    crossed = json.loads(capsys.readouterr().out)
    assert plain["fetched"] == 2 and crossed["fetched"] == 7  # the listing's 2 new + 5 cross-listed
    assert set(plain["ids"]) < set(crossed["ids"]) and crossed["errors"] == []


def test_offline_summaries_say_they_stay_in_the_papers_language(service, capsys):
    home = str(service.settings.home)
    assert main(["--home", home, "--language", "German", "digest", "-n", "2"]) == 0
    captured = capsys.readouterr()
    assert "offline extracts in the paper's own language, not in German" in captured.out
    assert "not in German" in captured.err  # the notice is on stderr too
    assert main(["--home", home, "--language", "German", "summarize", "2608.19758"]) == 0
    assert "1 of 1 summaries are offline extracts in the paper's own language, not in German" in \
        capsys.readouterr().err


def test_the_language_reaches_the_model_and_the_cache_key(make_service, llm_settings, llm_server):
    from llm_server import PaperModel

    llm_server.responder = PaperModel()
    german = make_service(llm_settings, language="German")
    paper = german.recommend(n=1, use_llm=False).items[0].paper.id
    [summary] = german.summarize([paper])
    assert summary.prompt_version.endswith("/lang=german")
    assert "Write every text value in German" in llm_server.prompts()[-1]
    asked = len(llm_server.requests)
    german.summarize([paper])
    assert len(llm_server.requests) == asked  # stored: asked once
    from papercast.service import Papercast

    english = Papercast(german.settings.with_overrides(language=""))
    assert english.settings.language is None
    [plain] = english.summarize([paper])
    assert len(llm_server.requests) == asked + 1  # another language is another request, never the cache's
    assert "German" not in llm_server.prompts()[-1] and plain.prompt_version == "summary-v1"


def test_arguments_that_are_not_utf8_are_text_not_an_internal_error(service, capsys):
    """Bytes that are not UTF-8 (``$'\\x9b'`` in bash) reach Python as lone surrogates, which the
    tokenizer refused with a TypeError ("internal error"); they are read as U+FFFD."""
    home = str(service.settings.home)
    assert main(["--home", home, "papers", "search", "kv\udc9b cache", "-n", "1"]) == 0
    assert "OasisKV" in capsys.readouterr().out
    assert main(["--home", home, "papers", "show", "\udcff"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not an arXiv id" in err and "internal error" not in err


def test_help_imports_no_heavy_library() -> None:
    """``papercast --help`` answers before pydantic, numpy, textual or any LLM/store library loads
    (each costs ~100 ms or more; a module-level import in a command module once doubled --help)."""
    probe = ("import runpy, sys\n"
             "sys.argv = ['papercast', '--help']\n"
             "try:\n"
             "    runpy.run_module('papercast', run_name='__main__')\n"
             "except SystemExit:\n"
             "    pass\n"
             "heavy = ('pydantic', 'numpy', 'textual', 'litellm', 'chromadb', 'langgraph', 'httpx', 'mcp')\n"
             "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
