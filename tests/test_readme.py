"""Every example in the README works on a fresh install with no network, in the README's order.

A new user copies the README's commands one by one. So each ``papercast ...`` line of its ``sh`` blocks
runs here, as written, on a fresh home (in-process through ``papercast.cli.main``, except the bare
``papercast`` which opens the TUI in a pseudo-terminal). There is no network: every HTTP request the
sources make fails to connect, as it does offline. Lines marked "(needs ..." (the network, a model)
must then fail gracefully — a non-zero exit, one line per problem on stderr, no traceback — and still do
what they can (``daily`` delivers from the stored papers, and exits 1). Every other line must succeed
(exit 0, no error). The files a user brings are ``papers.jsonl.gz`` (a recorded day of Hugging Face
Daily Papers) and ``paper.pdf`` (a saved arXiv PDF); the mail server the ``daily`` line names is an SMTP
server on 127.0.0.1; the answers to ``teach``'s questions are typed on its stdin; the config.toml
example must load.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

from papercast.cli import main

import smtp_helpers
from helpers import FIXTURES, REPO

smtp_plain = smtp_helpers.smtp_plain
README = REPO / "README.md"
NETWORK = "(needs the network"
NEEDS = "(needs "  # what a fresh install lacks: the network, a model, a mail server


def examples() -> list[str]:
    """The ``papercast`` command lines of the README's sh blocks, in order."""
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", README.read_text(), re.DOTALL):
        lines += [line.strip() for line in block.splitlines() if re.match(r"\s*papercast(\s|$)", line)]
    return lines


def test_the_readme_has_the_examples_a_new_user_needs():
    lines = examples()
    assert len(lines) >= 15
    assert any(line.split("#")[0].strip() == "papercast" for line in lines)  # the TUI
    for needed in ("papers show", "recommend", "digest", "daily", "export", "fetch", "import"):
        assert any(needed in line for line in lines), needed
    assert "2509.04664" not in "\n".join(lines)  # not in the bundled sample


def write_corpus(path: Path) -> None:
    """The user's own file: a day of Hugging Face Daily Papers (2026-08-21, the day after the sample
    ends) as corpus JSONL, so the daily digest after the import has this week's papers to pick from."""
    from papercast.tools.sources.files import parse_file

    papers = parse_file(FIXTURES / "hf_daily_papers_2026-08-21.json").papers
    rows = [{"id": p.id, "title": p.title, "abstract": p.abstract, "authors": p.authors,
             "published": p.published.isoformat() if p.published else None, "categories": p.categories,
             "upvotes": p.upvotes} for p in papers]
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.writelines(json.dumps(row) + "\n" for row in rows)


def offline_client(**_: object) -> httpx.AsyncClient:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno -3] Temporary failure in name resolution", request=request)

    return httpx.AsyncClient(transport=httpx.MockTransport(refuse))


def run_tui(home: Path, env: dict[str, str]) -> None:
    """``papercast`` in a pseudo-terminal: it draws the reading list, and ctrl+q ends it with exit 0."""
    import fcntl
    import pty
    import select
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 110, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "papercast"], stdin=slave, stdout=slave, stderr=slave,
                            env={**env, "TERM": "xterm-256color"}, close_fds=True)
    os.close(slave)
    screen = b""
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and "▲".encode() not in screen:  # a paper row with its upvotes
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    screen += os.read(master, 65536)
                except OSError:
                    break
        assert "▲".encode() in screen, screen[-2000:]
        os.write(master, b"\x11")  # ctrl+q
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)


def test_every_readme_example_works_on_a_fresh_home_offline(tmp_path, monkeypatch, capsys, smtp_plain):
    import papercast.tools.sources.fetch as fetch_module

    home, user, work = tmp_path / "home", tmp_path / "user", tmp_path / "work"
    user.mkdir()
    work.mkdir()
    write_corpus(work / "papers.jsonl.gz")  # the files the user brings
    shutil.copy(FIXTURES / "fulltext" / "pasa.pdf", work / "paper.pdf")  # arXiv 2501.10120, saved by hand
    for name, value in {"PAPERCAST_HOME": str(home), "HOME": str(user),
                        "XDG_CONFIG_HOME": str(user / ".config")}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(work)
    monkeypatch.setattr(fetch_module, "make_client", offline_client)
    ran = []
    for line in examples():
        argv = shlex.split(line, comments=True)
        assert argv[0] == "papercast"
        out_file = None
        if ">" in argv:
            at = argv.index(">")
            out_file, argv = Path(argv[at + 1]).expanduser(), argv[:at]
            out_file.parent.mkdir(parents=True, exist_ok=True)
        if argv == ["papercast"]:
            if not hasattr(os, "openpty"):
                continue
            run_tui(home, dict(os.environ))
            ran.append(line)
            continue
        if "PAPERCAST_SMTP_HOST" in line:  # the user set up their mail server, as the line says
            monkeypatch.setenv("PAPERCAST_SMTP_HOST", smtp_plain.host)
            monkeypatch.setenv("PAPERCAST_SMTP_PORT", str(smtp_plain.port))
        if argv[1] == "teach":  # the user answers its questions: a like, a dislike, a skip, then quits
            monkeypatch.setattr(sys, "stdin", io.StringIO("l\nd\ns\nq\n"))
        code = main(argv[1:])
        captured = capsys.readouterr()
        if argv[1] == "teach":
            assert "taught profile default: 1 like, 1 dislike, 1 skipped, 2 not asked" in captured.out, \
                captured
        if out_file is not None:
            out_file.write_text(captured.out)
        assert "Traceback" not in captured.err and "internal error" not in captured.err, (line, captured.err)
        assert all(err.startswith("papercast: ") for err in captured.err.splitlines()), (line, captured.err)
        if NEEDS in line:  # a failure the exit code tells, said in one line each
            assert code != 0 and captured.err, (line, captured.err)
            if argv[1] in ("fetch", "daily"):  # the network is a runtime failure (exit 1), not bad input
                assert code == 1 and ("no network" in captured.err or "cannot resolve" in captured.err), line
        else:
            assert code == 0, (line, captured.err)
            assert "error" not in captured.err, (line, captured.err)
        ran.append(line)
    assert len(ran) == len(examples()) or not hasattr(os, "openpty")
    # What the examples promised is there.
    assert "2608.19758" in (work / "likes.bib").read_text()
    assert (work / "today.md").read_text().startswith("# papercast digest")
    assert (work / "papers.xml").read_text().startswith("<?xml")  # daily delivered from the stored papers
    assert len(smtp_plain.sink.messages) == 1
    completion = user / ".local" / "share" / "bash-completion" / "completions" / "papercast"
    assert "papercast" in completion.read_text()


def test_the_readme_config_example_loads(tmp_path, monkeypatch):
    from papercast.config import load_settings

    tomls = re.findall(r"```toml\n(.*?)```", README.read_text(), re.DOTALL)
    assert tomls
    monkeypatch.setenv("PAPERCAST_CONFIG", str(tmp_path / "config.toml"))
    for toml in tomls:  # each example on its own: a ConfigError means the README shows a bad setting
        (tmp_path / "config.toml").write_text(toml)
        load_settings(home=tmp_path / "home")
    (tmp_path / "config.toml").write_text(tomls[0])
    assert load_settings(home=tmp_path / "home").model == "openai/gpt-4o-mini"


def test_network_lines_say_what_they_need():
    """Every example that needs the network says so, and the daily one what else it needs."""
    for line in examples():
        if line.startswith(("papercast fetch", "papercast daily")):
            assert NETWORK in line, line
    [line] = [ln for ln in examples() if ln.startswith("papercast daily")]
    assert "PAPERCAST_SMTP_HOST" in line
