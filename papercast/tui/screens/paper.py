"""One paper: metadata, links, why it was recommended, the summary, the abstract, similar papers.

The paper and its neighbours load in one worker; the summary in another (with a spinner), so a
slow LLM never holds the rest of the page. Offline, the summary is the extractive one and says so.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual import getters
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.markup import escape
from textual.screen import Screen
from textual.widgets import Footer, LoadingIndicator, Markdown, OptionList, Static

from papercast.models import FeedbackKind, Paper, Summary
from papercast.tui.app import PapercastApp
from papercast.tui.background import FailedTask, Progress, one_line
from papercast.tui.messages import PaperLoaded, SummaryReady
from papercast.tui.widgets.paper_list import PaperList, Row, badges
from papercast.tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from papercast.service import Papercast

SIMILAR = 5


def summary_markdown(summary: Summary) -> str:
    """The summary as Markdown, labelled with who wrote it (offline = extractive, no LLM)."""
    who = "offline extractive summary (no LLM)" if summary.is_offline else f"summary by {summary.model}"
    parts = [f"**TL;DR** {summary.tldr}"]
    if summary.contributions:
        parts.append("**Contributions**\n\n" + "\n".join(f"- {c}" for c in summary.contributions))
    for title, text in (("Method", summary.method), ("Results", summary.results),
                        ("Limitations", summary.limitations)):
        if text:
            parts.append(f"**{title}** {text}")
    parts.append(f"*{who}*")
    return "\n\n".join(parts)


def header_markup(paper: Paper) -> str:
    """Title, authors, date, categories, badges and links as Textual markup."""
    authors = ", ".join(paper.authors[:8]) + (f" and {len(paper.authors) - 8} more" if len(paper.authors) > 8 else "")
    facts = [str(paper.published) if paper.published else "no date", " ".join(paper.categories)]
    facts.extend(badges(paper))
    links = [paper.url, paper.pdf_url]
    if paper.upvotes is not None:
        links.append(paper.hf_url)
    if paper.github_repo:
        links.append(paper.github_repo)
    if paper.project_page:
        links.append(paper.project_page)
    return "\n".join([
        f"[b]{escape(paper.title)}[/b]",
        escape(authors or "unknown authors"),
        "[dim]" + escape(" · ".join(f for f in facts if f)) + "[/dim]",
        "[dim]" + escape("  ".join(links)) + "[/dim]",
    ])


class PaperScreen(Screen):
    app = getters.app(PapercastApp)  # typed: the screen uses the app's service and error reports
    BINDINGS = [
        Binding("escape,backspace", "back", "Back"),
        Binding("l", "feedback('like')", "Like"),
        Binding("d", "feedback('dislike')", "Dislike"),
        Binding("s", "feedback('save')", "Save"),
        Binding("o", "browse('abs')", "Abs page"),
        Binding("p", "browse('pdf')", "PDF"),
        Binding("h", "browse('hf')", "HF page", show=False),
        Binding("c", "ask", "Ask agent"),
        Binding("j", "scroll('down')", show=False),
        Binding("k", "scroll('up')", show=False),
    ]

    def __init__(self, paper_id: str, *, reasons: list[str] | None = None) -> None:
        super().__init__()
        self.paper_id = paper_id
        self.reasons = reasons or []
        self.paper: Paper | None = None
        self.summary: Summary | None = None

    @property
    def service(self) -> Papercast:
        return self.app.service

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="paper-body"):
            yield Static(f"Loading {self.paper_id}…", id="paper-head")
            yield Static("Why recommended", classes="section")
            yield Markdown(self._why(), id="paper-why")
            yield Static("Summary", classes="section")
            yield LoadingIndicator(id="summary-loading")
            yield Markdown(id="paper-summary")
            yield Static("Abstract", classes="section")
            yield Static(id="paper-abstract")
            yield Static("Similar papers", classes="section")
            yield PaperList(id="similar")
        yield StatusBar()
        yield Footer()

    def _why(self) -> str:
        if not self.reasons:
            return "*Not from the reading list.*"
        return "\n".join(f"- {r}" for r in self.reasons)

    def on_mount(self) -> None:
        self.query_one("#paper-summary").display = False
        self.query_one("#paper-body").focus()
        self.run_worker(self._load, thread=True, group="paper", exit_on_error=False)
        self.run_worker(self._summarize, thread=True, group="summary", exit_on_error=False)

    def _load(self) -> None:
        try:
            paper = self.service.get_paper(self.paper_id)
            similar = self.service.similar(paper.id, SIMILAR)
        except Exception as exc:
            self.app.call_from_thread(self.app.report_error, "Could not open the paper", one_line(exc))
            return
        self.post_message(PaperLoaded(paper, similar))

    def _summarize(self) -> None:
        try:
            summaries = self.service.summarize([self.paper_id])
        except Exception as exc:
            self.app.call_from_thread(self._summary_failed, exc)
            return
        if summaries:
            self.post_message(SummaryReady(summaries[0]))

    def _summary_failed(self, exc: BaseException) -> None:
        self.query_one("#summary-loading").display = False
        summary = self.query_one("#paper-summary", Markdown)
        summary.display = True
        summary.update(f"*No summary: {one_line(exc)}*")

        def again(_progress: Progress) -> list[Summary]:
            return self.service.summarize([self.paper_id])

        def show(summaries: list[Summary]) -> None:
            if summaries and self.is_attached:
                self.post_message(SummaryReady(summaries[0]))

        self.app.report_error("Summary failed", one_line(exc),
                              retry=FailedTask("summary", "Summarizing", again, show, one_line(exc)))

    def on_paper_loaded(self, message: PaperLoaded) -> None:
        self.paper = message.paper
        self.query_one("#paper-head", Static).update(header_markup(message.paper))
        self.query_one("#paper-abstract", Static).update(message.paper.abstract or "(no abstract)")
        rows = [Row(p, None, [], extra=f"similarity {s:.2f}") for p, s in message.similar]
        self.query_one("#similar", PaperList).show_rows(rows)

    def on_summary_ready(self, message: SummaryReady) -> None:
        self.summary = message.summary
        self.query_one("#summary-loading").display = False
        summary = self.query_one("#paper-summary", Markdown)
        summary.display = True
        summary.update(summary_markdown(message.summary))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.app.open_paper(event.option.id)

    # -- actions -----------------------------------------------------------------------------
    def action_back(self) -> None:
        self.app.pop_screen()

    def action_scroll(self, direction: str) -> None:
        body = self.query_one("#paper-body", VerticalScroll)
        body.scroll_relative(y=3 if direction == "down" else -3, animate=False)

    def action_browse(self, which: str) -> None:
        paper = self.paper
        if paper is None:
            return
        url = {"pdf": paper.pdf_url, "hf": paper.hf_url}.get(which, paper.url)
        self.app.open_url(url)

    def action_feedback(self, kind: FeedbackKind) -> None:
        self.run_worker(partial(self._feedback, kind), thread=True, group="feedback", exit_on_error=False)

    def _feedback(self, kind: FeedbackKind) -> None:
        try:
            self.service.feedback([self.paper_id], kind)
        except Exception as exc:
            self.app.call_from_thread(self.app.report_error, f"Could not save {kind}", one_line(exc))
            return
        self.app.call_from_thread(self._feedback_done, kind)

    def _feedback_done(self, kind: str) -> None:
        done = {"like": "Liked", "dislike": "Disliked", "save": "Saved"}.get(kind, kind)
        self.notify(f"{done} {self.paper_id}. The reading list re-ranks.")
        self.app.data_version += 1

    def action_ask(self) -> None:
        """Open the chat with a question about this paper ready to send."""
        app = self.app
        app.chat_draft = f"Explain {self.paper_id} and how it relates to my interests."
        app.action_goto("chat")
