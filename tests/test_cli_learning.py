"""``papercast teach`` and ``papercast eval`` on the real store: what is asked, what is recorded (only
what the user answered, as it is answered), and the ranker graded on a rating history with real dates."""

from __future__ import annotations

import io
import json
import re
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from papercast.cli import main

from helpers import OTHER, PAPER, profile_store


def run(home: Path, *argv: str) -> int:
    return main(["--home", str(home), *argv])


@pytest.fixture
def home(service):
    return service.settings.home


@pytest.fixture
def rated(service):
    """The active profile with two likes: something for the ranker to be unsure about."""
    service.feedback([PAPER, OTHER], "like")
    return service


def answers(monkeypatch, text: str) -> io.StringIO:
    """Stdin as a pipe holding these answers (``printf 'l\\nd\\n' | papercast teach``)."""
    stdin = io.StringIO(text)
    monkeypatch.setattr(sys, "stdin", stdin)
    return stdin


def ratings(service) -> tuple[list[str], list[str]]:
    profile = service.profile_show()
    return profile.liked, profile.disliked


def asked_ids(out: str) -> list[str]:
    """The paper ids of the blocks teach printed, in order (``     2608.15454  2026-08-16``)."""
    return re.findall(r"^ {5}(\d{4}\.\d{4,5})  ", out, re.MULTILINE)


def one_error_line(err: str) -> str:
    [line] = err.splitlines()
    assert line.startswith("papercast: error: ") and "Traceback" not in err
    return line


# -- teach ----------------------------------------------------------------------------------------------

def test_teach_json_lists_the_uncertain_papers_and_records_nothing(rated, home, capsys, monkeypatch):
    before = rated.profile_show().feedback
    answers(monkeypatch, "l\nl\nl\nl\n")  # even with answers waiting, --json asks nothing
    assert run(home, "teach", "-n", "4", "--json") == 0
    items = json.loads(capsys.readouterr().out)
    assert len(items) == 4
    assert len({item["id"] for item in items}) == 4 and not {PAPER, OTHER} & {item["id"] for item in items}
    for item in items:
        assert 0.0 <= item["p_like"] <= 1.0 and item["title"]
        assert item["reasons"][0] == f"unsure: {item['p_like']:.0%} like"
    # Most uncertain first: the chance of a like nearest one half comes first.
    distances = [abs(item["p_like"] - 0.5) for item in items]
    assert distances == sorted(distances)
    assert rated.profile_show().feedback == before


def test_teach_records_exactly_the_answers_piped_in(rated, home, capsys, monkeypatch):
    answers(monkeypatch, "l\nd\ns\nlike\nDislike\n")
    assert run(home, "teach", "-n", "5") == 0
    captured = capsys.readouterr()
    asked = asked_ids(captured.out)
    assert len(asked) == 5 and "1/5  " in captured.out and "5/5  " in captured.out
    liked, disliked = ratings(rated)
    assert liked == [PAPER, OTHER, asked[0], asked[3]]
    assert disliked == [asked[1], asked[4]]
    assert asked[2] not in liked + disliked
    assert captured.out.splitlines()[-1] == ("taught profile default: 2 likes, 2 dislikes, 1 skipped; "
                                             "the next recommend ranks with them")
    # no one to prompt: stdin and stderr are not terminals
    assert "[l/d/s/q]" not in captured.out + captured.err


def test_teach_asks_again_after_an_unknown_answer(rated, home, capsys, monkeypatch):
    answers(monkeypatch, "maybe\n\nd\n")
    assert run(home, "teach", "-n", "2") == 0
    captured = capsys.readouterr()
    asked = asked_ids(captured.out)
    assert ("unknown answer 'maybe'" in captured.err
            and captured.err.count("\n") == captured.err.count("papercast: "))
    assert ratings(rated) == ([PAPER, OTHER], [asked[1]])  # "maybe" was asked again, "" skipped the first
    assert "0 likes, 1 dislike, 1 skipped" in captured.out


def test_quit_stops_keeping_the_answers_before_it(rated, home, capsys, monkeypatch):
    answers(monkeypatch, "d\nq\nl\nl\n")
    assert run(home, "teach", "-n", "4") == 0
    out = capsys.readouterr().out
    asked = asked_ids(out)
    assert len(asked) == 2  # the third paper is never shown
    assert ratings(rated) == ([PAPER, OTHER], [asked[0]])
    assert "0 likes, 1 dislike, 0 skipped, 3 not asked" in out.splitlines()[-1]


def test_quit_at_the_first_prompt_changes_nothing(rated, home, capsys, monkeypatch):
    before = rated.profile_show().feedback
    answers(monkeypatch, "q\n")
    assert run(home, "teach", "-n", "3") == 0
    assert rated.profile_show().feedback == before
    assert capsys.readouterr().out.splitlines()[-1] == \
        "taught profile default: 0 likes, 0 dislikes, 0 skipped, 3 not asked"


def test_the_end_of_input_stops_cleanly(rated, home, capsys, monkeypatch):
    answers(monkeypatch, "l")  # no newline, then the end: the answer counts, the rest is not asked
    assert run(home, "teach", "-n", "3") == 0
    captured = capsys.readouterr()
    assert captured.err.count("error") == 0 and "Traceback" not in captured.err
    asked = asked_ids(captured.out)
    assert len(asked) == 2 and ratings(rated)[0] == [PAPER, OTHER, asked[0]]
    assert "1 like, 0 dislikes, 0 skipped, 2 not asked" in captured.out


def test_ctrl_c_at_a_prompt_keeps_the_answers_and_exits_130(rated, home, capsys, monkeypatch):
    class Interrupted(io.StringIO):
        """Answers ``l``, then the user presses Ctrl-C at the next prompt."""

        def readline(self, *_: object) -> str:
            if self.tell():
                raise KeyboardInterrupt
            return super().readline()

    monkeypatch.setattr(sys, "stdin", Interrupted("l\nl\n"))
    assert run(home, "teach", "-n", "3") == 130
    captured = capsys.readouterr()
    asked = asked_ids(captured.out)
    assert ratings(rated)[0] == [PAPER, OTHER, asked[0]] and len(asked) == 2
    assert "Traceback" not in captured.err
    assert "1 like, 0 dislikes, 0 skipped, 2 not asked" in captured.out.splitlines()[-1]


def test_the_profile_is_named_and_the_window_chosen(service, home, capsys, monkeypatch):
    assert service.active_profile().name == "default"
    assert run(home, "profile", "create", "nlp", "--interests", "retrieval-augmented generation") == 0
    service.feedback([PAPER], "like", profile="nlp")
    capsys.readouterr()
    answers(monkeypatch, "d\n")
    assert run(home, "teach", "--profile", "nlp", "-n", "1", "--since", "2026-08-01", "--until",
               "2026-08-10") == 0
    out = capsys.readouterr().out
    [asked] = asked_ids(out)
    paper = service.get_papers([asked])[0]
    assert paper.published is not None and "2026-08-01" <= paper.published.isoformat() <= "2026-08-10"
    assert service.profile_show("nlp").disliked == [asked]
    answer = service.profile_show("nlp").feedback[-1]
    assert answer.window == (date(2026, 8, 1), date(2026, 8, 10)), "eval replays the answer on this window"
    assert service.profile_show("default").feedback == []  # the active profile is untouched
    assert "taught profile nlp: 0 likes, 1 dislike" in out


def test_teach_prompts_on_stderr_when_someone_is_at_the_terminal(rated, home, capsys, monkeypatch):
    """Stdin a terminal: the prompt is on stderr (stdout holds only the papers and the summary)."""
    stdin = answers(monkeypatch, "s\n")
    monkeypatch.setattr(stdin, "isatty", lambda: True, raising=False)
    assert run(home, "teach", "-n", "1") == 0
    captured = capsys.readouterr()
    assert "like, dislike, skip or quit? [l/d/s/q] " in captured.err and "[l/d/s/q]" not in captured.out
    assert "0 likes, 0 dislikes, 1 skipped" in captured.out


def test_teach_bad_input_is_one_line_and_exit_2(service, home, capsys, monkeypatch):
    answers(monkeypatch, "l\n")
    assert run(home, "teach", "-n", "0") == 2
    assert "argument -n: must be at least 1" in one_error_line(capsys.readouterr().err)
    assert run(home, "teach") == 2  # the starter profile has no ratings yet
    assert "has no ratings yet" in one_error_line(capsys.readouterr().err)
    assert run(home, "teach", "--profile", "nobody") == 2
    assert "unknown profile 'nobody'" in one_error_line(capsys.readouterr().err)
    assert run(home, "teach", "--since", "yesterday") == 2
    one_error_line(capsys.readouterr().err)
    assert service.profile_show().feedback == []


# -- eval -----------------------------------------------------------------------------------------------

# Rating days (UTC): the first one (what "no learning" knows), then four graded days in two ISO weeks.
DAYS = [datetime(2026, 11, 25, 9, tzinfo=UTC), datetime(2026, 11, 27, 9, tzinfo=UTC),
        datetime(2026, 11, 28, 9, tzinfo=UTC), datetime(2026, 11, 30, 9, tzinfo=UTC),
        datetime(2026, 12, 2, 9, tzinfo=UTC)]


def rate_history(service, negative: str = "dislike", listed: int = 0) -> None:
    """Likes on long-context serving and dislikes (or dismissals) on other topics, given over five days:
    the first day's four, then four a day (two likes, two dislikes); the first ``listed`` later days' in a
    reading list of August (its dates kept), the others outside any list."""
    likes = [hit.paper.id for hit in service.search("long-context attention KV cache", n=10)]
    dislikes = [hit.paper.id for hit in service.search("robot manipulation", n=20)
                if hit.paper.id not in likes][:10]
    assert len(likes) == len(dislikes) == 10
    name = service.active_profile().name
    profile_store(service).add_feedback(name, likes[:2], "like", at=DAYS[0])
    profile_store(service).add_feedback(name, dislikes[:2], negative, at=DAYS[0])
    for day, at in enumerate(DAYS[1:]):
        window = (date(2026, 8, 1), date(2026, 8, 20)) if day < listed else None
        profile_store(service).add_feedback(name, likes[2 + 2 * day: 4 + 2 * day], "like", at=at,
                                            window=window)
        profile_store(service).add_feedback(name, dislikes[2 + 2 * day: 4 + 2 * day], negative, at=at,
                                            window=window)


def test_eval_with_too_few_ratings_says_what_is_missing(service, home, capsys):
    assert run(home, "eval") == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("no ratings yet") and captured.out.count("\n") == 1
    assert "error" not in captured.err
    profile_store(service).add_feedback("default", [PAPER], "like", at=DAYS[0])
    profile_store(service).add_feedback("default", [OTHER], "like", at=DAYS[1])
    assert run(home, "eval") == 0
    out = capsys.readouterr().out
    assert out == ("eval needs 9 more ratings and a dislike or a dismissal given after 2026-11-25 (the first "
                   "day's ratings are what it starts from; 1 rating since)\n")
    assert run(home, "eval", "--json") == 0
    evaluation = json.loads(capsys.readouterr().out)
    assert evaluation["needed"].startswith("eval needs 9 more ratings") and evaluation["ratings"] == 2
    assert evaluation["days"] == evaluation["weeks"] == [] and evaluation["overall"] is None


def test_eval_grades_a_rating_history_by_week_and_overall(service, home, capsys):
    rate_history(service)
    assert run(home, "eval") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Profile default: 20 ratings since 2026-11-25")
    assert lines[2] == ("each day ranked among a draw of the library from the rated papers' dates (rated "
                        "outside a list)")
    rows = {line.split()[0]: line.split() for line in lines if re.match(r"(\d{4}-|overall)", line)}
    assert list(rows) == ["2026-11-27", "2026-11-28", "2026-11-30", "2026-12-02", "2026-W48", "2026-W49",
                          "overall"]
    assert rows["2026-11-27"][1:3] == ["2", "2"] and rows["2026-W48"][1:3] == ["4", "4"]
    assert rows["overall"][1:3] == ["8", "8"]
    for row in rows.values():
        assert len(row) == 9  # period, likes, dislikes, then learning / no learning for three metrics
        assert all(cell == "—" or 0.0 <= float(cell) <= 1.0 for cell in row[3:])
    overall = [float(cell) for cell in rows["overall"][3:]]
    verdict = lines[-1]
    assert verdict == (f"learning from your ratings: nDCG {overall[0]:.2f} vs {overall[1]:.2f} without "
                       f"({overall[0] - overall[1]:+.2f}) over 4 rating days")


@pytest.mark.parametrize("listed", [2, 4])
def test_eval_says_which_days_it_replayed_on_the_list_they_were_rated_in(service, home, capsys, listed):
    rate_history(service, listed=listed)
    assert run(home, "eval") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2] == ("each day ranked among the papers of the list it was rated in, in the order the list "
                        "shows" if listed == 4 else
                        "2 of 4 days ranked among the papers of the list they were rated in, the other 2 "
                        "ranked among a draw of the library from the rated papers' dates (rated outside a "
                        "list)")
    assert run(home, "eval", "--json") == 0
    evaluation = json.loads(capsys.readouterr().out)
    assert [d["in_lists"] for d in evaluation["days"]] == [1] * listed + [0] * (4 - listed)
    assert evaluation["overall"]["in_lists"] == listed
    assert [w["in_lists"] for w in evaluation["weeks"]] == ([2, 0] if listed == 2 else [2, 2])


def test_a_rating_by_id_after_recommend_keeps_the_window_of_the_list_that_showed_it(service, home, capsys):
    """`papercast recommend`, then `profile like ID` or `dislike ID`: the rating keeps that list's dates, as
    one given in the TUI's list does, so eval replays its day on the list; a paper no list showed keeps
    none (eval ranks its day among a draw of the library)."""
    assert run(home, "recommend", "--since", "2026-08-03", "--until", "2026-08-07", "-n", "3", "--json",
               "--no-llm") == 0
    listed = [item["id"] for item in json.loads(capsys.readouterr().out)]
    assert len(listed) == 3 and PAPER not in listed  # PAPER is of 2026-08-20
    assert run(home, "profile", "like", listed[0], PAPER) == 0
    assert run(home, "profile", "dislike", listed[1]) == 0
    week = (date(2026, 8, 3), date(2026, 8, 7))
    assert {f.paper_id: f.window for f in service.profile_show().feedback} == {
        listed[0]: week, PAPER: None, listed[1]: week}


def test_eval_of_likes_and_dismissals_grades_the_dismissed_as_not_liked(service, home, capsys):
    rate_history(service, negative="dismiss")
    assert run(home, "eval") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("Profile default: 10 ratings since 2026-11-25, each later day graded on its own "
                        "ratings (and 8 dismissed papers, graded as not liked)")
    rows = {line.split()[0]: line.split() for line in lines if re.match(r"(\d{4}-|overall)", line)}
    assert rows["2026-11-27"][1:3] == ["2", "0+2"] and rows["overall"][1:3] == ["8", "0+8"]
    assert all(len(row) == 9 for row in rows.values())
    assert run(home, "eval", "--json") == 0
    overall = json.loads(capsys.readouterr().out)["overall"]
    assert (overall["likes"], overall["dislikes"], overall["dismissed"]) == (8, 0, 8)


def test_eval_json_has_days_weeks_and_overall(service, home, capsys):
    rate_history(service)
    assert run(home, "eval", "--json") == 0
    evaluation = json.loads(capsys.readouterr().out)
    assert (evaluation["needed"] is None and evaluation["ratings"] == 20
            and evaluation["first_day"] == "2026-11-25")
    assert [d["label"] for d in evaluation["days"]] == ["2026-11-27", "2026-11-28", "2026-11-30",
                                                        "2026-12-02"]
    assert [w["label"] for w in evaluation["weeks"]] == ["2026-W48", "2026-W49"]
    overall = evaluation["overall"]
    assert overall["label"] == "overall" and overall["days"] == 4
    assert overall["likes"] == overall["dislikes"] == 8
    for which in ("learning", "no_learning"):
        assert 0.0 < overall[which]["ndcg"] <= 1.0 and 0.0 < overall[which]["mrr"] <= 1.0
        assert 0.0 <= overall[which]["balanced_accuracy"] <= 1.0


def test_eval_of_an_unknown_profile_is_bad_input(home, capsys):
    assert run(home, "eval", "--profile", "nobody") == 2
    assert "unknown profile 'nobody'" in one_error_line(capsys.readouterr().err)
