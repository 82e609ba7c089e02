"""The teach dialog (``t`` on the reading list): rate the papers the ranker is least sure about.

Rating the top of a list mostly confirms what the ranker already believes; a rating near its decision
boundary moves it most (``service.teach``: uncertainty sampling). The candidates load in a thread worker
(the ranking is seconds of numpy on a big library); nothing is rated until the user answers ``l`` or
``d``. Each answer is handed at once to the reading list's feedback queue, the one its own ``l``/``d``
keys use: it is recorded in key-press order by the list's one feedback worker, which re-ranks the list
behind the dialog, and ``u`` on the list undoes it. The dialog returns what was answered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, LoadingIndicator, Static

from papercast.errors import UserError
from papercast.models import FeedbackKind, Paper, TeachCandidate
from papercast.tui.background import one_line

if TYPE_CHECKING:  # types only: the app module imports the screens, not they it
    from textual import getters

    from papercast.tui.app import PapercastApp

Answer = Literal["like", "dislike", "skip"]
Record = Callable[[Paper, FeedbackKind], None]  # where an answer goes: the reading list's feedback queue

SHOWN = {"like": "♥ liked", "dislike": "✗ disliked", "skip": "– skipped"}  # words, not only marks or colour
ABSTRACT_CHARS = 700  # the dialog shows the abstract when it fits; a long one is cut with an ellipsis
KEYS = "l like · d dislike · s skip · escape done"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


@dataclass
class TeachAnswers:
    """What the user answered, for the reading list's notification. Candidates left unanswered (escape)
    count as skipped: nothing was recorded for them either."""

    likes: int = 0
    dislikes: int = 0
    skipped: int = 0

    @classmethod
    def of(cls, answers: Sequence[Answer], asked: int) -> TeachAnswers:
        likes, dislikes = answers.count("like"), answers.count("dislike")
        return cls(likes, dislikes, asked - likes - dislikes)

    def summary(self) -> str:
        return (f"taught: {_count(self.likes, 'like')}, {_count(self.dislikes, 'dislike')}, "
                f"{self.skipped} skipped")


def queue_text(candidates: Sequence[TeachCandidate], answers: Sequence[Answer]) -> Text:
    """One line per candidate: ``▸`` on the one asked now, the answer in words on the ones answered."""
    lines = []
    for i, candidate in enumerate(candidates):
        status = SHOWN[answers[i]] if i < len(answers) else ""
        current = i == len(answers)
        style = "bold" if current else ("dim" if status else "")  # the whole line
        lines.append(Text(f"{'▸' if current else ' '} {i + 1}. {candidate.p_like:>4.0%} like  {status:<10}  "
                          f"{candidate.paper.title}", style=style))
    return Text("\n").join(lines)


def paper_text(candidate: TeachCandidate) -> Text:
    """The paper asked about: title, id · date · authors, its reasons (the ranker's doubt first), the
    abstract.

    Rich ``Text``, never markup: a paper's title or abstract cannot style the dialog.
    """
    paper = candidate.paper
    text = Text()
    text.append(paper.title, style="bold")  # not Text(title, style=...): that styles everything appended
    meta = [paper.id]
    if paper.published:
        meta.append(paper.published.isoformat())
    if paper.first_author:
        meta.append(paper.first_author + (" et al." if len(paper.authors) > 1 else ""))
    text.append("\n" + " · ".join(meta), style="dim")
    for i, reason in enumerate(candidate.reasons):
        text.append("\n· ")
        text.append(reason, style="bold" if i == 0 else "italic")
    if paper.abstract:
        abstract = paper.abstract.strip()
        if len(abstract) > ABSTRACT_CHARS:
            abstract = abstract[:ABSTRACT_CHARS].rsplit(" ", 1)[0] + " …"
        text.append("\n\n" + abstract)
    return text


class TeachScreen(ModalScreen[TeachAnswers | None]):
    """Asks about the teach candidates one at a time; returns the tally (None when none were shown)."""

    if TYPE_CHECKING:  # types only: at run time Textual's own ``app``, with no import of app.py
        app = getters.app(PapercastApp)  # typed: the dialog uses the app's service and error reporting
    BINDINGS = [
        Binding("l", "answer('like')", "Like"),
        Binding("d", "answer('dislike')", "Dislike"),
        Binding("s", "answer('skip')", "Skip"),
        Binding("escape", "done", "Done"),
    ]

    def __init__(self, record: Record, *, since: date | None = None, until: date | None = None,
                 n: int = 5) -> None:
        super().__init__()
        self.record = record
        self.since, self.until, self.n = since, until, n
        self.candidates: list[TeachCandidate] | None = None  # None until the worker found them
        self.answers: list[Answer] = []  # one per candidate answered, in order
        self.message: str | None = None  # why there is nothing to ask (no ratings yet, an empty window)
        self.closing = False

    def compose(self) -> ComposeResult:
        with Vertical(id="teach-dialog", classes="dialog"):
            yield Label("Teach papercast: the papers it is least sure about", classes="dialog-title")
            yield Static(KEYS, id="teach-keys", markup=False)
            yield Static(id="teach-note", classes="note", markup=False)
            yield LoadingIndicator(id="teach-loading")
            yield Static(id="teach-message", markup=False)
            yield Static(id="teach-queue")
            yield Static(id="teach-paper")

    def on_mount(self) -> None:
        for name in ("#teach-note", "#teach-message", "#teach-queue", "#teach-paper"):
            self.query_one(name).display = False
        self.run_worker(self._load, thread=True, group="teach", exit_on_error=False)

    # -- loading -------------------------------------------------------------------------------
    def _load(self) -> None:
        """In the worker. A ``UserError`` (no ratings yet, nothing in the window) is the answer, shown in
        the dialog in its one line; anything else failed, and is reported as an error."""
        app = self.app
        try:
            candidates, note = app.service.teach(n=self.n, since=self.since, until=self.until)
        except UserError as exc:
            app.call_from_thread(self._show_message, str(exc).strip())
            return
        except Exception as exc:
            app.call_from_thread(self._failed, exc)
            return
        app.call_from_thread(self._show, candidates, note)

    def _show(self, candidates: list[TeachCandidate], note: str | None) -> None:
        if not self.is_attached:
            return  # closed while the worker ran
        if not candidates:
            self._show_message("nothing to ask about in this window")
            return
        self.candidates = candidates
        self.query_one("#teach-loading").display = False
        if note:
            self.query_one("#teach-note", Static).update(note)
            self.query_one("#teach-note").display = True
        self.query_one("#teach-queue").display = True
        self.query_one("#teach-paper").display = True
        self._refresh()

    def _show_message(self, text: str) -> None:
        if not self.is_attached:
            return
        self.message = text
        self.query_one("#teach-loading").display = False
        self.query_one("#teach-keys", Static).update("escape closes")
        message = self.query_one("#teach-message", Static)
        message.update(text)
        message.display = True

    def _failed(self, exc: BaseException) -> None:
        self.app.report_error("Finding papers to ask about failed", one_line(exc))
        self._show_message(f"Could not find papers to ask about: {one_line(exc)} (escape, then t to try "
                           "again)")

    def _refresh(self) -> None:
        assert self.candidates is not None
        self.query_one("#teach-queue", Static).update(queue_text(self.candidates, self.answers))
        if len(self.answers) < len(self.candidates):
            self.query_one("#teach-paper", Static).update(paper_text(self.candidates[len(self.answers)]))

    # -- answering -----------------------------------------------------------------------------
    def action_answer(self, answer: Answer) -> None:
        """Record a like or dislike at once (skip records nothing) and ask about the next paper; the
        last answer closes the dialog."""
        candidates = self.candidates
        if candidates is None or self.closing or len(self.answers) >= len(candidates):
            return  # still loading, or nothing to ask about
        candidate = candidates[len(self.answers)]
        if answer != "skip":
            self.record(candidate.paper, answer)
        self.answers.append(answer)
        if len(self.answers) == len(candidates):
            self.action_done()
            return
        self._refresh()

    def action_done(self) -> None:
        if self.closing:
            return  # a key pressed after the last answer, before the dialog is gone
        self.closing = True
        asked = len(self.candidates) if self.candidates else 0
        self.dismiss(TeachAnswers.of(self.answers, asked) if asked else None)
