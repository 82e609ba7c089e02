"""Typed messages between workers, widgets and screens.

Workers never touch widgets: they post one of these and the receiving screen updates itself on
the event loop. Keeping the payloads typed makes the data flow of the TUI readable in one file.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from textual.message import Message

from papercast.models import Paper, Summary
from papercast.tui.widgets.paper_list import Row

if TYPE_CHECKING:  # only a type here: the service streams these events, the TUI never builds one
    from papercast.agent.events import ChatEvent


class ListLoaded(Message):
    """Rows for a paper list arrived from a worker (ranking, trending or search).

    ``generation`` lets the screen drop a stale result when a newer request was made meanwhile
    (a quick like after a dislike must not be overwritten by the older ranking).
    """

    def __init__(self, rows: list[Row], generation: int, *, title: str = "", note: str | None = None,
                 keep_index: int | None = None, window: tuple[date, date] | None = None) -> None:
        super().__init__()
        self.rows = rows
        self.generation = generation
        self.title = title
        self.note = note
        self.keep_index = keep_index
        self.window = window  # the dates the list was ranked over: ratings given in it keep them


class PaperLoaded(Message):
    """The paper screen's details: the paper and its neighbours in the store."""

    def __init__(self, paper: Paper, similar: list[tuple[Paper, float]]) -> None:
        super().__init__()
        self.paper = paper
        self.similar = similar


class SummaryReady(Message):
    def __init__(self, summary: Summary) -> None:
        super().__init__()
        self.summary = summary


class FeedbackRecorded(Message):
    """A worker stored feedback: other screens re-load when they next show."""


class ChatEventReceived(Message):
    """One event of a streamed agent answer for turn ``turn``."""

    def __init__(self, event: ChatEvent, turn: int) -> None:
        super().__init__()
        self.event = event
        self.turn = turn


class ChatFailed(Message):
    """The chat turn failed; ``cause`` is one line."""

    def __init__(self, cause: str, turn: int) -> None:
        super().__init__()
        self.cause = cause
        self.turn = turn
