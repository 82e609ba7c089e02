"""One paper: metadata, links, why it was recommended, the summary, the abstract, the full text's
outline and sections, similar papers.

The paper and its neighbours load in one worker; the summary in another (with a spinner), so a
slow LLM never holds the rest of the page. Offline, the summary is the extractive one and says so.
Opening a paper never fetches anything: ``f`` reads the full text in a worker (fetch, parse, index:
seconds, with progress in the status line), then the outline appears, a section opens with enter, and
the summary is written again from the full text. A paper read before shows its outline at once.
"""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import TYPE_CHECKING

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.markup import escape
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, LoadingIndicator, Markdown, OptionList, Static
from textual.widgets.option_list import Option

from papercast.models import Document, FeedbackKind, Paper, Passage, SentenceRole, Summary
from papercast.tui.background import FailedTask, Progress, one_line
from papercast.tui.messages import PaperLoaded, SummaryReady
from papercast.tui.widgets.paper_list import PaperList, Row, badges
from papercast.tui.widgets.roles import legend_markup, roles_markup
from papercast.tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from textual import getters

    from papercast.service import Papercast
    from papercast.tui.app import PapercastApp

SIMILAR = 5
MADE_FROM = {"abstract": "the abstract", "html": "the full text (arXiv HTML)",
             "pdf": "the full text (arXiv PDF)",
             "file": "the full text (a saved file)"}
FOUND = 5  # passages shown by a find in the full text (``/``)
NOT_READ = "Not read yet: press [b]f[/b] to read the full text (arXiv HTML, else the PDF)."


class FulltextLoaded(Message):
    """A worker read (or found stored) the paper's full text."""

    def __init__(self, document: Document) -> None:
        super().__init__()
        self.document = document


class RolesLoaded(Message):
    """A worker gave the abstract's sentences with their roles."""

    def __init__(self, roles: list[SentenceRole]) -> None:
        super().__init__()
        self.roles = roles


class SectionLoaded(Message):
    """A worker gave the passages of the section picked in the outline."""

    def __init__(self, title: str, passages: list[Passage]) -> None:
        super().__init__()
        self.title = title
        self.passages = passages


def section_markup(title: str, passages: list[Passage]) -> str:
    """A section's passages as escaped markup (paper text is data: no markup or links of its own)."""
    parts = [f"[b]{escape(title)}[/b]"]
    for passage in passages:
        parts.append(f"{escape(passage.text)} [dim]{escape(passage.cite)}[/dim]")
    return "\n\n".join(parts) if passages else parts[0] + "\n\n(no text in this section)"


def summary_markdown(summary: Summary) -> str:
    """The summary as Markdown, labelled with who wrote it (offline = extractive, no LLM) and what from;
    a field made from the full text names its sections."""
    who = "offline extractive summary (no LLM)" if summary.is_offline else f"summary by {summary.model}"
    who += f", made from {MADE_FROM.get(summary.source, summary.source)}"
    parts = [f"**TL;DR** {summary.tldr}"]
    if summary.contributions:
        parts.append("**Contributions**\n\n" + "\n".join(f"- {c}" for c in summary.contributions))
    for title, text in (("Method", summary.method), ("Results", summary.results),
                        ("Limitations", summary.limitations)):
        if text:
            where = "; ".join(summary.sections.get(title.lower(), [])) if summary.source != "abstract" else ""
            parts.append(f"**{title}** {text}" + (f" *(§ {where})*" if where else ""))
    parts.append(f"*{who}*")
    return "\n\n".join(parts)


def header_markup(paper: Paper) -> str:
    """Title, authors, date, categories, badges and links as Textual markup."""
    authors = ", ".join(paper.authors[:8]) + (f" and {len(paper.authors) - 8} more"
                                              if len(paper.authors) > 8 else "")
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
    DEFAULT_CSS = """
    PaperScreen #outline { height: auto; max-height: 16; }
    PaperScreen #section-text { margin-top: 1; }
    """
    if TYPE_CHECKING:  # types only: at run time Textual's own ``app``, with no import of app.py
        app = getters.app(PapercastApp)  # typed: the screen uses the app's service and error reports
    BINDINGS = [
        Binding("escape,backspace", "back", "Back"),
        Binding("l", "feedback('like')", "Like"),
        Binding("d", "feedback('dislike')", "Dislike"),
        Binding("s", "feedback('save')", "Save"),
        Binding("o", "browse('abs')", "Abs page"),
        Binding("p", "browse('pdf')", "PDF",
                show=False),  # in the help screen: the footer keeps the global keys
        Binding("h", "browse('hf')", "HF page", show=False),
        Binding("c", "ask", "Ask agent"),
        Binding("f", "fulltext", "Full text"),
        Binding("slash", "find", "Find in text", show=False),
        Binding("j", "scroll('down')", show=False),
        Binding("k", "scroll('up')", show=False),
    ]

    def __init__(self, paper_id: str, *, reasons: list[str] | None = None,
                 window: tuple[date, date] | None = None) -> None:
        super().__init__()
        self.paper_id = paper_id
        self.reasons = reasons or []
        self.window = window  # the dates of the list it was opened from: a rating here keeps them
        self.paper: Paper | None = None
        self.summary: Summary | None = None
        self.document: Document | None = None  # the full text, once read
        self.reading = False  # a full-text read is under way
        self.roles: list[SentenceRole] | None = None  # the abstract's sentence roles, once computed

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
            yield Static(legend_markup(), id="roles-legend")
            yield Static(id="paper-abstract")
            yield Static("Full text", classes="section")
            yield Static(NOT_READ, id="fulltext-status")
            yield Input(placeholder="find in the full text: words, \"a phrase\" or a question (enter)",
                        id="find-query")
            yield OptionList(id="outline")
            yield Static(id="section-text")
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
        self.query_one("#outline").display = False
        self.query_one("#section-text").display = False
        self.query_one("#find-query").display = False
        self.query_one("#roles-legend").display = False
        self.query_one("#paper-body").focus()
        self.run_worker(self._load, thread=True, group="paper", exit_on_error=False)
        self.run_worker(self._roles, thread=True, group="roles", exit_on_error=False)
        self.run_worker(self._summarize, thread=True, group="summary", exit_on_error=False)

    def _load(self) -> None:
        try:
            paper = self.service.get_paper(self.paper_id)
            similar = self.service.similar(paper.id, SIMILAR)
        except Exception as exc:
            self.app.call_from_thread(self.app.report_error, "Could not open the paper", one_line(exc))
            return
        self.post_message(PaperLoaded(paper, similar))
        try:  # a paper read before shows its outline at once (stored: nothing is fetched)
            if self.service.has_fulltext(paper.id):
                self.post_message(FulltextLoaded(self.service.read_paper(paper.id, fetch=False)))
        except Exception as exc:
            self.app.call_from_thread(self.app.report_error, "Could not open the full text", one_line(exc))

    def _roles(self) -> None:
        """The abstract's sentence roles (remembered after the first time); without them the abstract
        stays plain, which is what it was before, so a failure is only logged."""
        try:
            roles = self.service.abstract_roles(self.paper_id)
        except Exception as exc:
            self.log.warning(f"no sentence roles for {self.paper_id}: {one_line(exc)}")
            return
        if roles:
            self.post_message(RolesLoaded(roles))

    def on_roles_loaded(self, message: RolesLoaded) -> None:
        self.roles = message.roles
        self.query_one("#paper-abstract", Static).update(roles_markup(message.roles))
        self.query_one("#roles-legend").display = True

    def _summarize(self) -> None:
        try:  # from the stored full text when there is one; reading it is ``f``'s job
            summaries = self.service.summarize([self.paper_id], read=False)
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
            return self.service.summarize([self.paper_id], read=False)

        def show(summaries: list[Summary]) -> None:
            if summaries and self.is_attached:
                self.post_message(SummaryReady(summaries[0]))

        self.app.report_error("Summary failed", one_line(exc),
                              retry=FailedTask("summary", "Summarizing", again, show, one_line(exc)))

    def on_paper_loaded(self, message: PaperLoaded) -> None:
        self.paper = message.paper
        self.query_one("#paper-head", Static).update(header_markup(message.paper))
        if self.roles is None:  # the highlighted abstract may have come first
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
        if event.option_list.id == "outline":
            self._open_section(event.option_index)
        elif event.option.id:
            self.app.open_paper(event.option.id)

    # -- full text ---------------------------------------------------------------------------------
    def action_fulltext(self) -> None:
        """Read the full text in a worker (or, when it is shown already, go to its outline)."""
        if self.document is not None and self.document.is_fulltext:
            self.query_one("#outline", OptionList).focus()
            return
        if self.reading:
            return
        self.reading = True
        if self.document is not None and self.document.unreachable:
            self.service.reconnect()  # the retry the status offered: the network may be back
        self.query_one("#fulltext-status", Static).update("Reading the full text…")
        self.run_worker(self._read, thread=True, group="fulltext", exit_on_error=False)

    def _read(self) -> None:
        def progress(done: int, total: int) -> None:
            self.app.call_from_thread(self._status,
                                      f"Reading the full text… indexing passages {done}/{total}")

        try:
            document = self.service.read_paper(self.paper_id, progress=progress)
        except Exception as exc:
            self.app.call_from_thread(self._read_failed, exc)
            return
        self.post_message(FulltextLoaded(document))
        if document.is_fulltext:
            self._summarize()  # again, now from the full text

    def _status(self, text: str) -> None:
        if self.is_attached:
            self.query_one("#fulltext-status", Static).update(escape(text))

    def _read_failed(self, exc: BaseException) -> None:
        self.reading = False
        self._status(f"Could not read the full text: {one_line(exc)}")
        self.app.report_error("Could not read the full text", one_line(exc))

    def on_fulltext_loaded(self, message: FulltextLoaded) -> None:
        self.reading = False
        document = self.document = message.document
        source = MADE_FROM.get(document.source, document.source)
        if not document.is_fulltext:
            retry = " Press f to try again." if document.unreachable else ""
            self._status(f"No full text: {document.note or 'the abstract only'}.{retry}")
            return
        note = f" ({document.note})" if document.note else ""
        self._status(f"Read from {source}: {len(document.sections)} sections, {len(document.passages)} "
                     f"passages{note}. Enter opens a section.")
        outline = self.query_one("#outline", OptionList)
        outline.clear_options()
        outline.add_options([Option(escape("  " * max(0, s.level - 1) + s.label), id=f"section-{i}")
                             for i, s in enumerate(document.sections)])
        outline.display = bool(document.sections)

    def _open_section(self, index: int) -> None:
        document = self.document
        if document is None or not 0 <= index < len(document.sections):
            return
        section = document.sections[index]
        query = section.number or section.title

        def load() -> None:
            try:
                passages = self.service.read_paper(self.paper_id, section=query, fetch=False).passages
            except Exception as exc:
                self.app.call_from_thread(self.app.report_error, "Could not open the section", one_line(exc))
                return
            self.post_message(SectionLoaded(section.label, passages))

        self.run_worker(load, thread=True, group="section", exclusive=True, exit_on_error=False)

    def action_find(self) -> None:
        """Find passages of the paper's full text (the same hybrid search as ``papers search --passages``)."""
        if self.document is None or not self.document.is_fulltext:
            self.notify("Nothing to search yet: press f to read the full text.")
            return
        box = self.query_one("#find-query", Input)
        box.display = True
        box.focus()

    def on_key(self, event: events.Key) -> None:
        """``escape`` in the find box closes it (elsewhere it leaves the paper)."""
        if event.key != "escape":
            return
        box = self.query_one("#find-query", Input)
        if box.has_focus:
            event.stop()
            event.prevent_default()
            box.display = False
            self.query_one("#paper-body").focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        query = event.value.strip()
        if event.input.id != "find-query" or not query:
            return
        self.query_one("#paper-body").focus()

        def find() -> None:
            try:
                found = self.service.search_passages(query, ids=[self.paper_id], n=FOUND)
            except Exception as exc:
                self.app.call_from_thread(self.app.report_error, "Could not search the full text",
                                          one_line(exc))
                return
            if not found:
                self.app.call_from_thread(self.notify, "No passage of the full text matches that.")
                return
            self.post_message(SectionLoaded(f"Best passages for “{query}”", [p for p, _ in found]))

        self.run_worker(find, thread=True, group="section", exclusive=True, exit_on_error=False)

    def on_section_loaded(self, message: SectionLoaded) -> None:
        text = self.query_one("#section-text", Static)
        text.update(section_markup(message.title, message.passages))
        text.display = True
        self.query_one("#paper-body", VerticalScroll).scroll_to_widget(text, animate=False, top=True)

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
            self.service.feedback([self.paper_id], kind, window=self.window)
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
