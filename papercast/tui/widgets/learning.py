""""How well papercast knows you": the profile screen's view of ``service.evaluate``.

The recommender grades itself on the profile's own ratings, split by time: each rating day after the
first is ranked once by the ranker that learned from the days before ("learning") and once by the one
that knew only the first day's ratings ("no learning"). Per ISO week the two nDCGs are drawn as two
labelled rows of block bars (▁ = 0 … █ = 1.0, · = no like that week), so the chart reads without
colour; one sentence gives the overall nDCG, MRR and balanced accuracy of both, or the one line saying
which ratings are still missing. The rows' colours come from the stylesheet (theme variables).
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from papercast.models import Evaluation, EvaluationPeriod

BARS = "▁▂▃▄▅▆▇█"
WEEKS_SHOWN = 12  # the latest weeks: 12 columns and the labels fit 80 columns
LABEL_WIDTH = 13  # "no learning" and a gap
CELL = 5  # a 3-character bar and a gap, as wide as "W33" and a gap
LOADING = "Grading papercast on your own ratings…"


def bar(value: float | None) -> str:
    """Three block characters as high as the value (0..1); a dot when there is nothing to grade."""
    if value is None:
        return " · "
    level = min(len(BARS) - 1, max(0, int(value * len(BARS))))
    return BARS[level] * 3


def chart_rows(weeks: Sequence[EvaluationPeriod]) -> tuple[str, str, str]:
    """The week labels, then the learning and the no-learning nDCG bars, one column per week."""
    shown = list(weeks)[-WEEKS_SHOWN:]
    head = "nDCG by week" if len(shown) == len(weeks) else f"last {len(shown)} wks"
    labels = "".join(f"{week.label.rsplit('-', 1)[-1]:<{CELL}}" for week in shown)
    learning = "".join(f"{bar(week.learning.ndcg):<{CELL}}" for week in shown)
    baseline = "".join(f"{bar(week.no_learning.ndcg):<{CELL}}" for week in shown)
    return (f"{head:<{LABEL_WIDTH}}{labels} (▁ 0 … █ 1)", f"{'learning':<{LABEL_WIDTH}}{learning}".rstrip(),
            f"{'no learning':<{LABEL_WIDTH}}{baseline}".rstrip())


def _metric(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def overall_sentence(overall: EvaluationPeriod) -> str:
    """Overall nDCG, MRR and balanced accuracy, with learning and without, in one sentence, and which papers
    the days were ranked among."""
    learned, base = overall.learning, overall.no_learning
    days = f"{overall.days} rating day{'' if overall.days == 1 else 's'}"
    rest = f"{overall.dislikes} dislikes" + (f", {overall.dismissed} dismissed" if overall.dismissed else "")
    among = overall.ranked_among()
    return (f"Overall ({overall.likes} likes, {rest} over {days} after the first): "
            f"with learning nDCG {_metric(learned.ndcg)}, MRR {_metric(learned.mrr)}, balanced accuracy "
            f"{_metric(learned.balanced_accuracy)}; without learning nDCG {_metric(base.ndcg)}, MRR "
            f"{_metric(base.mrr)}, balanced accuracy {_metric(base.balanced_accuracy)}. "
            f"{among[:1].upper()}{among[1:]}.")


class LearningSection(Vertical):
    """The chart and its sentence; ``show`` an evaluation, or ``show_text`` one line instead of it."""

    def compose(self) -> ComposeResult:
        yield Static(id="learning-weeks", classes="learning-row", markup=False)
        yield Static(id="learning-with", classes="learning-row", markup=False)
        yield Static(id="learning-without", classes="learning-row", markup=False)
        yield Static(LOADING, id="learning-summary", markup=False)

    def on_mount(self) -> None:
        self._chart(False)

    def _chart(self, shown: bool) -> None:
        for row in self.query(".learning-row"):
            row.display = shown

    def show(self, evaluation: Evaluation) -> None:
        overall = evaluation.overall
        if evaluation.needed or overall is None:
            self.show_text(evaluation.needed or "nothing to grade yet")
            return
        for name, text in zip(("#learning-weeks", "#learning-with", "#learning-without"),
                              chart_rows(evaluation.weeks), strict=True):
            self.query_one(name, Static).update(text)
        self._chart(True)
        self.query_one("#learning-summary", Static).update(overall_sentence(overall))

    def show_text(self, text: str) -> None:
        self._chart(False)
        self.query_one("#learning-summary", Static).update(text)
