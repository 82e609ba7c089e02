"""Every recipe in docs/scheduling.md works as written: the crontab line, the systemd user units and
the GitHub Actions workflow.

Each recipe's command is run for real (the installed ``papercast``, a fresh process, offline) in a
home holding the bundled sample, with the digest mailed to an SMTP server on 127.0.0.1 through the
settings and secrets files the page describes. The sources are switched off in the secrets the test
writes (``PAPERCAST_SOURCES=``), so nothing reaches the network; fetching is tested elsewhere.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import smtp_helpers
from helpers import REPO

smtp_plain = smtp_helpers.smtp_plain
DOC = REPO / "docs" / "scheduling.md"
BIN = Path(sys.executable).parent  # the venv's bin: where `papercast` is installed


def blocks() -> dict[str, str]:
    """The page's code blocks by the path their first line names (``# ~/.config/...``), or by language."""
    out: dict[str, str] = {}
    for lang, body in re.findall(r"```(\w+)\n(.*?)```", DOC.read_text(), re.DOTALL):
        first = body.splitlines()[0]
        key = first[2:].split()[0] if first.startswith("# ") else lang
        out[key] = body
    return out


@pytest.fixture
def user_home(tmp_path, service, smtp_plain):
    """A user's $HOME as the page sets it up: papercast in ~/.local/bin, the page's config.toml and a
    secrets.env (here pointing at the local SMTP server), and the papercast home with the sample."""
    home = tmp_path / "user"
    (home / ".local" / "bin").mkdir(parents=True)
    (home / ".local" / "bin" / "papercast").symlink_to(BIN / "papercast")
    config = home / ".config" / "papercast"
    config.mkdir(parents=True)
    found = blocks()
    (config / "config.toml").write_text(found["~/.config/papercast/config.toml"].replace(
        '"~/public_html/papers.xml"', f'"{home / "papers.xml"}"'))
    (config / "secrets.env").write_text("\n".join([
        f"PAPERCAST_HOME={service.settings.home}",
        f"PAPERCAST_SMTP_HOST={smtp_plain.host}", f"PAPERCAST_SMTP_PORT={smtp_plain.port}",
        "PAPERCAST_SMTP_USER=", "PAPERCAST_SOURCES=", ""]))
    (config / "secrets.env").chmod(0o600)
    return home


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """What a scheduler gives a job: a minimal environment (no PAPERCAST_* or XDG_* of ours)."""
    keep = {k: v for k, v in os.environ.items() if k in ("LANG", "LC_ALL", "SYSTEMROOT")}
    return {**keep, "HOME": str(home), "PATH": "/usr/bin:/bin", "ORT_DISABLE_TELEMETRY": "1", **extra}


def test_the_page_has_every_recipe():
    found = blocks()
    assert {"crontab", "~/.config/systemd/user/papercast-daily.service",
            "~/.config/systemd/user/papercast-daily.timer", ".github/workflows/papercast-daily.yml",
            "~/.config/papercast/config.toml", "~/.config/papercast/secrets.env"} <= set(found)


def test_the_config_file_of_the_page_is_valid_and_secret_free(tmp_path, monkeypatch):
    from papercast.config import load_settings

    monkeypatch.setenv("PAPERCAST_CONFIG", str(tmp_path / "config.toml"))
    (tmp_path / "config.toml").write_text(blocks()["~/.config/papercast/config.toml"])
    settings = load_settings(home=tmp_path / "home")  # a ConfigError here would mean the page is wrong
    assert settings.email_to == ("me@example.org", "reading-group@example.org") and settings.smtp_port == 465
    secrets = blocks()["~/.config/papercast/secrets.env"]
    assert "PAPERCAST_SMTP_PASSWORD=" in secrets and "PAPERCAST_WEBHOOKS=" in secrets


CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\d+(-\d+)?))*$")


def test_the_crontab_line_runs_offline_and_mails_the_digest(user_home, smtp_plain):
    [line] = [ln for ln in blocks()["crontab"].splitlines() if ln.strip() and not ln.startswith("#")]
    fields = line.split(None, 5)
    minute, hour, day, month, weekday, command = fields
    assert all(CRON_FIELD.match(f) for f in (minute, hour, day, month, weekday)), fields
    assert 0 <= int(minute) < 60 and 0 <= int(hour) < 24 and "%" not in command  # % is special in crontab
    done = subprocess.run(["/bin/sh", "-c", command], env=clean_env(user_home), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""  # -q: cron mails nothing when all is well
    [message] = smtp_plain.sink.messages
    assert sorted(smtp_plain.sink.envelopes[0].rcpt_tos) == ["me@example.org", "reading-group@example.org"]
    assert message["Subject"].startswith("papercast digest")
    assert (user_home / "papers.xml").read_text().startswith("<?xml")  # the feed of config.toml


def test_the_systemd_units_verify_and_their_command_runs(user_home, tmp_path, smtp_plain):
    found = blocks()
    units = tmp_path / "units"
    units.mkdir()
    for name in ("papercast-daily.service", "papercast-daily.timer"):
        (units / name).write_text(found[f"~/.config/systemd/user/{name}"])
    service = (units / "papercast-daily.service").read_text()
    assert ("Type=oneshot" in service
            and "WantedBy=timers.target" in (units / "papercast-daily.timer").read_text())
    analyze = shutil.which("systemd-analyze")
    if analyze is not None:  # without systemd installed only the command below is checked
        runtime = tmp_path / "runtime"
        runtime.mkdir(mode=0o700)
        done = subprocess.run([analyze, "--user", "verify", "papercast-daily.service",
                               "papercast-daily.timer"],
                              cwd=units, env={**clean_env(user_home), "XDG_RUNTIME_DIR": str(runtime)},
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
    # What systemd runs: ExecStart with %h expanded, in the EnvironmentFile's environment.
    exec_start = re.search(r"^ExecStart=(.*)$", service, re.MULTILINE).group(1).replace("%h", str(user_home))
    env_file = re.search(r"^EnvironmentFile=-?(.*)$", service, re.MULTILINE).group(1).replace(
        "%h", str(user_home))
    env = dict(line.split("=", 1) for line in Path(env_file).read_text().splitlines() if "=" in line)
    done = subprocess.run(exec_start.split(), env={**clean_env(user_home), **env}, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert len(smtp_plain.sink.messages) == 1


def evaluate(value: str, context: dict[str, str]) -> str:
    """GitHub's ``${{ a.b }}`` and ``${{ a.b || 'x' }}`` (the only expressions the workflow uses)."""
    def one(match: re.Match[str]) -> str:
        result = ""
        for part in match.group(1).split("||"):
            part = part.strip()
            result = part.strip("'") if part.startswith("'") else context.get(part, "")
            if result:
                break
        return result

    return re.sub(r"\$\{\{\s*(.*?)\s*\}\}", one, str(value))


def test_the_github_workflow_parses_and_its_run_steps_work_offline(service, tmp_path, smtp_plain):
    workflow = yaml.safe_load(blocks()[".github/workflows/papercast-daily.yml"])
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True
    [schedule] = on["schedule"]
    assert len(schedule["cron"].split()) == 5 and "workflow_dispatch" in on
    job = workflow["jobs"]["daily"]
    steps = job["steps"]
    [cache] = [s for s in steps if str(s.get("uses", "")).startswith("actions/cache@")]
    workspace = tmp_path / "workspace"
    context = {"github.workspace": str(workspace), "github.run_id": "1",
               "vars.PAPERCAST_INTERESTS": "retrieval-augmented generation, long context",
               "secrets.SMTP_HOST": smtp_plain.host, "secrets.SMTP_PORT": str(smtp_plain.port),
               "secrets.EMAIL_TO": "me@example.org"}  # no model, no key: offline, as a fresh fork is
    home = Path(evaluate(job["env"]["PAPERCAST_HOME"], context))
    assert home == workspace / cache["with"]["path"]  # the cache holds exactly the papercast home
    assert "secrets." not in str(job["env"]) and cache["with"]["restore-keys"]
    # The restored cache: yesterday's home (here: the sample).
    shutil.copytree(service.settings.home, home)
    runs = [s for s in steps if "papercast" in str(s.get("run", ""))]
    assert [s["name"] for s in runs] == ["Your interests", "Daily digest"]
    for step in runs:
        env = {k: evaluate(v, context) for k, v in {**job["env"], **step.get("env", {})}.items()}
        assert "${{" not in step["run"]  # secrets reach the script through env, never pasted into it
        done = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=workspace,
                              env={**clean_env(tmp_path), "PATH": f"{BIN}:/usr/bin:/bin",
                                   "PAPERCAST_SOURCES": "", "XDG_CONFIG_HOME": str(tmp_path / "no-config"),
                                   **env},
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, (step["name"], done.stderr)
    from papercast.config import load_settings
    from papercast.service import Papercast

    after = Papercast(load_settings(home=home))
    assert after.active_profile().interests == "retrieval-augmented generation, long context"
    assert (workspace / "digest.md").read_text().startswith("# papercast digest")
    [message] = smtp_plain.sink.messages
    assert message["To"] == "me@example.org"
    assert sorted(r.channel for r in after.delivery_history()) == ["email", "file"]
