"""The learning benchmark's report (``bench/recommend_quality.py --daily``): the figures issue 21's goals
are judged by (gap closed, users below their control, relevant papers seen, the null learner's chance
levels) are computed from the per-user results the right way. Synthetic results: the bench itself needs
the shared corpus, which tests never read."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import recommend_quality as rq  # noqa: E402  (bench/ is put on the path first)

NAN = float("nan")


def users(n: int) -> list[rq.User]:
    """n user-draws over two areas (the unit the intervals resample)."""
    return [rq.User(area=f"cs.{'AB'[i % 2]}#{i // 2}", interests="", split="tune") for i in range(n)]


def results() -> dict[str, list[list[float]]]:
    """Four user-draws: user 0 learns, user 1 falls 0.10 below its control on day 2 only, user 2 is
    0.06 below on every day, user 3 is unchanged."""
    control = [[0.5, 0.4, 0.3, 0.2]] * 4
    ours = [[0.5, 0.6, 0.5, 0.4], [0.5, 0.4, 0.2, 0.2], [0.5, 0.34, 0.24, 0.14], [0.5, 0.4, 0.3, 0.2]]
    return {
        "papercast": ours, "no learning": control, "ceiling": [[0.7, 0.6, 0.5, 0.4]] * 4,
        "relevant rated": [[NAN, 7, 7, 7], [NAN, 7, 5, 5], [NAN, 7, 6, 5], [NAN, 7, 6, 6]],
        "relevant rated, no learning": [[NAN, 7, 6, 6]] * 4,
    }


def test_gap_closed_is_the_share_of_the_way_from_no_learning_to_the_ceiling() -> None:
    arr = {m: np.array(v, dtype=float) for m, v in results().items()}
    rows = np.arange(4)
    # day 1: no learning 0.4, ceiling 0.6, papercast (0.6 + 0.4 + 0.34 + 0.4) / 4 = 0.435
    assert rq.gap_closed(arr, rows, 1) == pytest.approx(0.035 / 0.2)
    assert rq.gap_closed(arr, np.array([0]), 1) == pytest.approx(1.0)
    assert rq.gap_closed(arr, np.array([3]), 2) == pytest.approx(0.0)


def test_the_report_counts_users_below_their_control_and_the_papers_they_saw(capsys) -> None:
    rq.print_daily(users(4), {"likes and dislikes": results()})
    out = capsys.readouterr().out
    # ever below by more than 0.05: users 1 (day 2) and 2 (every day); on average over days 1-3 only user 2
    assert "users ever below their control by > 0.05: 2 of 4; cs.B#0:-0.10 cs.A#1:-0.06" in out
    assert "users below their control by > 0.05 on average over days 1-3: 1 of 4" in out
    # relevant papers seen over days 1-3 against the no-learning list's 19: +2, -2, -1, 0
    assert "over the 3 days -0.25 a user" in out
    assert "users who saw fewer: 2, 2 or more fewer: 1, 2 or more more: 1 of 4" in out


def test_the_null_learners_chance_levels_are_averaged_over_its_draws_of_noise(capsys) -> None:
    got = results()
    for k in range(rq.NULL_SEEDS):
        # draw k: user 0 sees k fewer relevant papers than a user of the clean list; the nDCG of the
        # first draw's user 0 falls 0.1 below its control on day 1
        got[f"null {k}"] = [[0.5, 0.3 if k == 0 else 0.4, 0.3, 0.2]] + [[0.5, 0.4, 0.3, 0.2]] * 3
        got[f"null control {k}"] = [[0.5, 0.4, 0.3, 0.2]] * 4
        got[f"null seen {k}"] = [[NAN, 7, 6, 6 - k]] + [[NAN, 7, 6, 6]] * 3
        got[f"null seen alone {k}"] = [[NAN, 7, 6, 6]] * 4
    rq.print_daily(users(4), {"likes and dislikes": got})
    out = capsys.readouterr().out
    assert f"users ever below its own control by > 0.05: {1 / rq.NULL_SEEDS:.1f} of 4 (from 0 to 1)" in out
    lost = sum(k >= 2 for k in range(rq.NULL_SEEDS)) / rq.NULL_SEEDS
    fewer = sum(k >= 1 for k in range(rq.NULL_SEEDS)) / rq.NULL_SEEDS
    assert (f"users who saw fewer {fewer:.1f}, 2 or more fewer {lost:.1f} (from 0 to 1), "
            "2 or more more 0.0 of 4") in out
