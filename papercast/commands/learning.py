"""``papercast teach`` and ``papercast eval``: teach the ranker where it is unsure, and see what it learned.

``teach`` asks about the papers the ranker is least sure of (rating them moves it most) and records
each answer as it is given, so quitting half-way keeps what was answered. ``eval`` grades the ranker
on the profile's own ratings, split by time: learning from the ratings versus not.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from papercast.commands._output import (
    EXIT_OK,
    add_count,
    emit_json,
    is_quiet,
    make_service_with_papers,
    notice,
    warn,
    window_of,
)
from papercast.errors import UserError

if TYPE_CHECKING:
    from papercast.models import Evaluation, EvaluationPeriod, TeachCandidate
    from papercast.service import Papercast

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as every papercast command interrupted by Ctrl-C
PROMPT = "like, dislike, skip or quit? [l/d/s/q] "
DAYS_SHOWN = 14  # `eval` lists every graded day when there are at most this many (--json has them all)
NONE = "—"

Answer = Literal["like", "dislike", "skip", "quit"]
ANSWERS: dict[str, Answer] = {  # every spelling a user may type, to what it means
    "l": "like", "like": "like", "d": "dislike", "dislike": "dislike",
    "s": "skip", "skip": "skip", "": "skip", "q": "quit", "quit": "quit",
}

TEACH_HELP = """\
Rate the papers the ranker is least sure about: your answers teach it most.

It asks about the unrated papers of the window whose calibrated chance of a like is nearest 50% (no two
alike), most uncertain first. Each answer is recorded at once, so quitting half-way keeps what was
answered; the next recommend ranks with it. Nothing is rated until you answer: --json only lists the
papers (for scripts) and records nothing.

Answers are read from stdin, one per line: l/like, d/dislike, s/skip (or an empty line), q/quit; an
unknown answer is asked again. End of input (Ctrl-D) stops like q; Ctrl-C stops too (exit 130), keeping
what was answered. stdout has the papers and a summary line; the prompt goes to stderr. Answers piped
in (printf 'l\\nd\\ns\\n' | papercast teach -n 3) work the same way; the prompt, followed by the answer
read, is then shown only when stderr is a terminal (and not with -q)."""

EVAL_HELP = f"""\
How well the ranker learned your ratings, graded by time.

Each day after the first rating day is ranked as the ranker learned from the ratings given before that
day ("learning") and as it knew only the first day's ("no learning"), and graded on that day's
ratings: nDCG and MRR of its likes, and the balanced accuracy of the like/dislike guesses. One line per
ISO week and one overall (and one per day when at most {DAYS_SHOWN} days were graded; --json has every
day). Too few ratings is not an error: it says what is missing (exit 0).

Both columns are graded on the papers you rated, mostly those the learning list showed you: a replay of
your days, not a trial of the two lists side by side (papers you never saw are not graded)."""


def register(sub: Any) -> None:
    p = sub.add_parser("teach", help="rate the papers the ranker is least sure about (teaches it most)",
                       description=TEACH_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", help="profile to teach (default: the active one)")
    add_count(p, 5, "papers to ask about")
    p.add_argument("--since", help="first day, YYYY-MM-DD (default: 7 days before --until)")
    p.add_argument("--until", help="last day, YYYY-MM-DD (default: the newest paper in the store)")
    p.add_argument("--json", action="store_true",
                   help="a JSON array of the papers, most uncertain first; asks nothing, records nothing")
    p.set_defaults(handler=cmd_teach)

    p = sub.add_parser("eval", help="how well the ranker learned your ratings (graded by time)",
                       description=EVAL_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", help="profile to grade (default: the active one)")
    p.add_argument("--json", action="store_true",
                   help="the evaluation as JSON: days, weeks, overall (or needed)")
    p.set_defaults(handler=cmd_eval)


# -- teach ----------------------------------------------------------------------------------------------

@dataclass
class Tally:
    """What the user answered so far, for the summary line."""

    likes: int = 0
    dislikes: int = 0
    skipped: int = 0
    asked: int = 0

    def summary(self, profile: str, total: int) -> str:
        parts = [_count(self.likes, "like"), _count(self.dislikes, "dislike"), f"{self.skipped} skipped"]
        left = total - self.asked
        tail = f", {left} not asked" if left else ""
        rerank = "; the next recommend ranks with them" if self.likes + self.dislikes else ""
        return f"taught profile {profile}: {', '.join(parts)}{tail}{rerank}"


def cmd_teach(args: argparse.Namespace) -> int:
    window = window_of(args)  # bad dates fail before anything is loaded
    service = make_service_with_papers(args)
    profile = service.active_profile(args.profile).name  # fixed now: answers go to this profile
    candidates, note = service.teach(profile=profile, n=args.n, **window)
    if note:
        notice(note)
    if not candidates:  # every paper left is rated already: the service's own "nothing to ask about"
        raise UserError(f"no unrated papers to ask profile {profile} about in the window (try --since)")
    if args.json:
        emit_json([c.to_json() for c in candidates])
        return EXIT_OK
    print(f"Teaching profile {profile}: the {_count(len(candidates), 'paper')} "
          "its ranker is least sure about")
    tally = Tally()
    interrupted = False
    try:
        ask_all(service, profile, candidates, tally)
    except KeyboardInterrupt:  # Ctrl-C at a prompt: stop, keeping what was answered
        interrupted = True
        _end_prompt_line()
    print(tally.summary(profile, len(candidates)))
    return EXIT_INTERRUPTED if interrupted else EXIT_OK


def ask_all(service: Papercast, profile: str, candidates: Sequence[TeachCandidate], tally: Tally) -> None:
    """Show each paper, read the answer, record it at once; stop at ``q`` or the end of input."""
    for rank, candidate in enumerate(candidates, 1):
        show_candidate(rank, len(candidates), candidate)
        answer = read_answer()
        if answer is None or answer == "quit":
            return
        tally.asked += 1
        if answer == "skip":
            tally.skipped += 1
            continue
        service.feedback([candidate.paper.id], answer, profile=profile, window=candidate.window)
        if answer == "like":
            tally.likes += 1
        else:
            tally.dislikes += 1


def show_candidate(rank: int, total: int, candidate: TeachCandidate) -> None:
    paper = candidate.paper
    sys.stdout.write(f"\n{rank}/{total}  {paper.title}\n")
    sys.stdout.write(f"     {paper.id}  {paper.published or ''}\n")
    for reason in candidate.reasons:
        sys.stdout.write(f"     · {reason}\n")
    sys.stdout.flush()  # before the prompt on stderr, so a terminal shows them in order


def read_answer() -> Answer | None:
    """The next answer from stdin (None at its end), asking again after an unknown one."""
    stdin = sys.stdin
    if stdin is None:  # started with stdin closed: nothing will ever answer
        return None
    typed = stdin.isatty()
    prompting = typed or (_stderr_is_terminal() and not is_quiet())
    while True:
        if prompting:
            sys.stderr.write(PROMPT)
            sys.stderr.flush()
        line = stdin.readline()
        if not line:  # end of input: Ctrl-D, or the pipe ran out of answers
            if prompting:
                sys.stderr.write("\n")
            return None
        text = line.strip().lower()
        if prompting and not typed:  # a piped answer is not echoed by a terminal: show what was read
            sys.stderr.write(f"{text}\n")
        answer = ANSWERS.get(text)
        if answer is not None:
            return answer
        warn(f"unknown answer {text!r}: type l (like), d (dislike), s (skip) or q (quit)")


def _stderr_is_terminal() -> bool:
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def _end_prompt_line() -> None:
    """After Ctrl-C at a prompt the cursor is still on its line: end it, so the summary starts clean."""
    if (sys.stdin is not None and sys.stdin.isatty()) or _stderr_is_terminal():
        sys.stderr.write("\n")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


# -- eval -----------------------------------------------------------------------------------------------

def cmd_eval(args: argparse.Namespace) -> int:
    service = make_service_with_papers(args)
    evaluation = service.evaluate(args.profile)
    if args.json:
        emit_json(evaluation.to_json())
        return EXIT_OK
    if evaluation.needed or evaluation.overall is None:  # the answer, not an error: stdout, exit 0
        print(evaluation.needed or f"nothing to grade yet for profile {evaluation.profile}")
        return EXIT_OK
    for line in eval_table(evaluation):
        print(line)
    return EXIT_OK


def eval_table(evaluation: Evaluation) -> list[str]:
    """The evaluation as text: a header, the table (days when few, weeks, overall), the verdict."""
    assert evaluation.overall is not None
    hidden = evaluation.overall.dismissed
    lines = [f"Profile {evaluation.profile}: {_count(evaluation.ratings, 'rating')} "
             f"since {evaluation.first_day}, each later day graded on its own ratings"
             + (f" (and {hidden} dismissed papers, graded as not liked)" if hidden else ""),
             "learning: ranked knowing the ratings given before that day; "
             "no learning: the first day's only", evaluation.overall.ranked_among(), ""]
    lines += [_row("", "", "", ("nDCG", ""), ("MRR", ""), ("bal. acc.", "")),
              _row("period", "likes", "dislikes", ("learning", "no learning"), ("learning", "no learning"),
                   ("learning", "no learning"))]
    if len(evaluation.days) <= DAYS_SHOWN:
        lines += [_period_row(day) for day in evaluation.days]
        lines.append("")
    lines += [_period_row(week) for week in evaluation.weeks]
    lines += [_period_row(evaluation.overall), "", verdict(evaluation.overall)]
    return lines


def _row(label: str, likes: str, dislikes: str, *pairs: tuple[str, str]) -> str:
    """One table line: three fixed columns, then a learning / no learning pair per metric."""
    cells = "  ".join(f"{a:>8} {b:>11}" if b or not a else f"{a:^20}" for a, b in pairs)
    return f"{label:<10}  {likes:>5}  {dislikes:>8}  {cells}".rstrip()


def _period_row(period: EvaluationPeriod) -> str:
    learned, base = period.learning, period.no_learning
    dislikes = f"{period.dislikes}+{period.dismissed}" if period.dismissed else str(period.dislikes)
    return _row(period.label, str(period.likes), dislikes,
                (_metric(learned.ndcg), _metric(base.ndcg)), (_metric(learned.mrr), _metric(base.mrr)),
                (_metric(learned.balanced_accuracy), _metric(base.balanced_accuracy)))


def _metric(value: float | None) -> str:
    return NONE if value is None else f"{value:.2f}"


def verdict(overall: EvaluationPeriod) -> str:
    """One plain sentence: did learning from the ratings rank the later days' likes higher?"""
    learned, base = overall.learning.ndcg, overall.no_learning.ndcg
    days = _count(overall.days, "rating day")
    if learned is None or base is None:
        return f"learning from your ratings: no like to rank yet over {days}"
    return (f"learning from your ratings: nDCG {learned:.2f} vs {base:.2f} without ({learned - base:+.2f}) "
            f"over {days}")
