"""The paper list: two lines per paper, keyboard-first (``j``/``k``), rows keyed by paper id.

An ``OptionList`` rather than a ``DataTable``: rows wrap to the terminal width, so 80 columns
stay readable, and re-filling it after a re-rank is one call.

Re-filling is on the path from a like to the re-ranked list, so rows are handed to the list as
``RowContent`` (see there) rather than as Rich ``Text`` it would convert and measure line by line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.console import Console
from rich.text import Text
from textual.binding import Binding
from textual.content import Content
from textual.visual import RulesMap
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from papercast.models import Paper

MARKS = {"like": "♥", "dislike": "✗", "save": "★"}


@dataclass
class Row:
    """What one line of a list shows. ``score`` is None in lists that are not ranked."""

    paper: Paper
    score: float | None = None
    reasons: list[str] = field(default_factory=list)
    marks: set[str] = field(default_factory=set)
    extra: str = ""  # e.g. the similarity in search results
    rank: int | None = None  # the place in an unscored list (trending)
    result: str = ""  # the abstract's result sentence, shown under the title when the list asks for it

    @property
    def reason(self) -> str:
        return self.reasons[0] if self.reasons else ""


def badges(paper: Paper) -> list[str]:
    """Source badges: HF upvotes and whether code is available."""
    out = []
    if paper.upvotes is not None and paper.upvotes >= 0:
        out.append(f"▲{paper.upvotes}")
    if paper.github_repo:
        out.append("</> code")
    return out


def render_row(row: Row) -> Text:
    paper = row.paper
    head = Text()
    if row.score is not None:
        head.append(f"{row.score:5.2f} ", style="bold")
    elif row.rank is not None:
        head.append(f"{row.rank:>4}. ", style="bold")
    marks = "".join(MARKS[k] for k in ("like", "dislike", "save") if k in row.marks)
    if marks:
        head.append(f"{marks} ", style="bold")
    head.append(paper.title, style="bold" if "dislike" not in row.marks else "dim strike")
    meta: list[str] = []
    if paper.first_author:
        more = " et al." if len(paper.authors) > 1 else ""
        meta.append(paper.first_author + more)
    if paper.published:
        meta.append(paper.published.isoformat())
    meta.extend(badges(paper))
    if row.extra:
        meta.append(row.extra)
    line = Text("      " if row.score is not None or row.rank is not None else "")
    line.append(" · ".join(meta), style="dim")
    if row.reason:
        line.append(" — ", style="dim")
        line.append(row.reason, style="italic")
    head.append("\n")
    head.append_text(line)
    if row.result:  # tagged as the paper view tags it, so it reads without colour
        head.append("\n      RES │ ", style="dim")
        head.append(row.result, style="italic")
    return head


class RowContent(Content):
    """A row as Textual content, whose height is its line count when lines do not wrap.

    The list's CSS says ``text-wrap: nowrap``, so each line of a row is one line on screen;
    ``Content`` would find that out by formatting every line, a large part of re-filling the
    rows after a re-rank. With wrapping on, it measures as usual.
    """

    def get_height(self, rules: RulesMap, width: int) -> int:
        if rules.get("text_wrap", "wrap") == "nowrap":
            return self.plain.count("\n") + 1
        return super().get_height(rules, width)


def row_content(row: Row, console: Console | None = None) -> Content:
    """``render_row`` as content the list shows as is (``console``: the app's, for its styles)."""
    return RowContent.from_rich_text(render_row(row), console)


class PaperList(OptionList):
    """A list of papers. Selecting a row (enter) posts ``OptionList.OptionSelected``."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "first", "Top", show=False),
        Binding("G", "last", "Bottom", show=False),
    ]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.rows: list[Row] = []

    def show_rows(self, rows: list[Row], *, keep_index: int | None = None) -> None:
        """Replace the rows; the highlight stays on the same position (the next paper after a dismiss)."""
        previous = self.highlighted if keep_index is None else keep_index
        self.rows = list(rows)
        self.clear_options()
        console = self.app.console
        self.add_options([Option(row_content(r, console), id=r.paper.id) for r in self.rows])
        if self.rows:
            self.highlighted = min(previous or 0, len(self.rows) - 1)

    @property
    def current(self) -> Row | None:
        index = self.highlighted
        if index is None or not (0 <= index < len(self.rows)):
            return None
        return self.rows[index]

    def refresh_row(self, paper_id: str) -> None:
        """Redraw one row after its marks changed (optimistic feedback)."""
        for index, row in enumerate(self.rows):
            if row.paper.id == paper_id:
                self.replace_option_prompt_at_index(index, row_content(row, self.app.console))
                return

    def remove_row(self, paper_id: str) -> int | None:
        """Drop a row at once (dismiss); returns where it was."""
        for index, row in enumerate(self.rows):
            if row.paper.id == paper_id:
                del self.rows[index]
                self.remove_option_at_index(index)
                if self.rows:
                    self.highlighted = min(index, len(self.rows) - 1)
                return index
        return None

    def index_of(self, paper_id: str) -> int | None:
        return next((i for i, r in enumerate(self.rows) if r.paper.id == paper_id), None)
