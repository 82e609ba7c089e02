"""Daily runs at once on one home never deliver a paper twice (issue 26, finding 5).

Cron overlapping a manual run: real ``papercast daily`` processes start together on one home, each
with its own ``--out`` file. Before the daily lock each chose the same papers and all of them
delivered them; now a run waits for the one before it and takes the next papers.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import papercast
from papercast.store.lock import DAILY_LOCK_NAME, acquire_step_lock, release_step_lock

PACKAGE_ROOT = Path(papercast.__file__).resolve().parents[1]  # the papercast these tests import
RUNS = 3
PICKS = 3


def _daily(home: Path, out: Path) -> subprocess.Popen:
    env = {**os.environ, "PAPERCAST_HOME": str(home), "PYTHONPATH": str(PACKAGE_ROOT),
           "PAPERCAST_SOURCES": ""}  # no network: the papers already stored
    command = [sys.executable, "-m", "papercast", "--home", str(home), "daily", "-n", str(PICKS), "--no-llm",
               "--out", str(out)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=home.parent)


def test_daily_runs_at_once_never_deliver_a_paper_twice(service, tmp_path):
    home = service.settings.home
    service.active_profile(None)  # the profile exists before the runs race to create it
    outs = [tmp_path / f"digest-{k}.md" for k in range(RUNS)]
    procs = [_daily(home, out) for out in outs]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    delivered = [re.findall(r"arxiv\.org/abs/(\d{4}\.\d{4,5})", out.read_text()) for out in outs]
    every = [pid for ids in delivered for pid in dict.fromkeys(ids)]
    assert all(len(dict.fromkeys(ids)) == PICKS for ids in delivered)
    assert len(every) == len(set(every)) == RUNS * PICKS  # no paper in two digests
    records = service.delivery_history(None, 20)
    assert len(records) == RUNS
    recorded = [pid for r in records for pid in r.papers]
    assert sorted(recorded) == sorted(every)


def test_a_second_holder_waits_until_the_first_lets_go(tmp_path):
    first = acquire_step_lock(tmp_path, DAILY_LOCK_NAME, what="a daily run", wait=5)
    waited: list[bool] = []
    got: list[int | None] = []
    second = threading.Thread(target=lambda: got.append(acquire_step_lock(
        tmp_path, DAILY_LOCK_NAME, what="a daily run", wait=30, on_wait=lambda: waited.append(True))))
    second.start()
    second.join(0.5)
    assert second.is_alive() and waited == [True]  # held by the first: the second waits, and says so
    release_step_lock(first)
    second.join(10)
    assert not second.is_alive() and got[0] is not None
    release_step_lock(got[0])
