"""Chat with the agent: a message log and an input; answers stream in as Markdown.

A turn runs in a thread worker driving ``service.achat_stream`` on the chat loop (``tui.loop``), each
event posted back as a ``ChatEventReceived``: tokens go into a ``MarkdownStream``, tool calls become
status lines, the log follows the answer while the user has not scrolled up. Paper ids become
``paper:`` links (``ctrl+o`` lists them). A change the agent proposes (a like, a profile edit, a fetch,
an undo) pauses the turn: a ``ConfirmChangeDialog`` per proposal names it (before -> after), and the
turn resumes (``service.aresume_stream``) with the answers, applied only on yes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.markup import escape
from textual.screen import Screen
from textual.widgets import Footer, Input, Markdown, Static
from textual.widgets.markdown import MarkdownStream

from papercast.tui.background import one_line
from papercast.tui.loop import LoopThread
from papercast.tui.messages import ChatEventReceived, ChatFailed
from papercast.tui.screens.dialogs import ChoiceDialog, ConfirmChangeDialog
from papercast.tui.widgets.chat import AgentMessage, ToolLine, UserMessage, linkify, paper_ids
from papercast.tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from textual import getters

    from papercast.agent.events import ChatEvent
    from papercast.models import ChatAnswer, Proposal, ThreadInfo
    from papercast.service import Papercast
    from papercast.tui.app import PapercastApp

Events = Callable[["Papercast"], AsyncIterator["ChatEvent"]]

WELCOME = ("Ask about papers in your library: *what's new on long-context attention?*, "
           "*compare 2408.01234 with similar work*. `ctrl+n` new thread · `ctrl+t` threads · "
           "`ctrl+o` open a mentioned paper.")


class ChatScreen(Screen):
    if TYPE_CHECKING:  # types only: at run time Textual's own ``app``, with no import of app.py
        app = getters.app(PapercastApp)  # typed: the screen uses the app's service and chat thread
    BINDINGS = [
        Binding("ctrl+n", "new_thread", "New thread"),
        Binding("ctrl+t", "threads", "Threads"),
        Binding("ctrl+o", "open_mentioned", "Open paper"),
        Binding("escape", "leave_input", "Leave input", show=False),
        Binding("i", "focus_input", "Type", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.turn = 0
        self.streaming = False
        self.mentioned: dict[str, str] = {}  # paper id -> title ("" when unknown)
        self._answer: AgentMessage | None = None
        self._stream: MarkdownStream | None = None
        self._tools: dict[str, ToolLine] = {}
        self._pending: list[Proposal] = []  # the changes of this turn the user is being asked about
        self._approved: dict[str, bool] = {}
        self._loop = LoopThread()

    @property
    def service(self) -> Papercast:
        return self.app.service

    def compose(self) -> ComposeResult:
        yield Static("Chat", id="chat-title", classes="screen-title")
        with VerticalScroll(id="chat-log"):
            yield Markdown(WELCOME, id="chat-welcome", classes="hint")
        yield Input(placeholder="Ask the agent… (enter to send)", id="chat-input")
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        if self.app.still:
            self.query_one("#chat-input", Input).cursor_blink = False
        self.query_one("#chat-log", VerticalScroll).anchor()
        self._update_title()
        self._take_draft()
        thread = self.app.chat_thread
        if thread:  # opened with a thread to resume (`papercast chat --thread ID`)
            self._load_history(thread)

    def on_screen_resume(self) -> None:
        self._take_draft()

    def on_unmount(self) -> None:
        self._loop.stop()

    def _take_draft(self) -> None:
        app = self.app
        box = self.query_one("#chat-input", Input)
        draft = app.chat_draft
        if draft:
            box.value = draft
            app.chat_draft = None
        box.focus()

    def _update_title(self) -> None:
        thread = self.app.chat_thread
        self.query_one("#chat-title", Static).update(
            f"Chat · thread {thread}" if thread else "Chat · new thread")

    # -- sending -------------------------------------------------------------------------------
    async def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            return
        if self.streaming:
            self.notify("The agent is still answering.", severity="warning")
            return
        event.input.value = ""
        await self.send(text)

    async def send(self, text: str) -> None:
        log = self.query_one("#chat-log", VerticalScroll)
        self.turn += 1
        self.streaming = True
        self._tools = {}
        self._answer = AgentMessage()
        await log.mount(UserMessage(text))
        await log.mount(self._answer)
        self._stream = Markdown.get_stream(self._answer)
        app = self.app
        app.task_begin(f"chat-{self.turn}", "Agent answering")
        thread_id = app.chat_thread
        self._start(lambda service: service.achat_stream(text, thread_id=thread_id))

    def _start(self, events: Events) -> None:
        self.run_worker(partial(self._run_turn, events, self.turn), thread=True, group="chat",
                        exit_on_error=False)

    def _run_turn(self, events: Events, turn: int) -> None:
        service = self.service  # taken here in the worker: the chat loop's thread has no active-app context

        async def consume() -> None:
            async for event in events(service):
                self.post_message(ChatEventReceived(event, turn))

        try:
            self._loop.run(consume())
        except Exception as exc:
            self.post_message(ChatFailed(one_line(exc), turn))

    # -- receiving -----------------------------------------------------------------------------
    async def on_chat_event_received(self, message: ChatEventReceived) -> None:
        if message.turn != self.turn or self._answer is None:
            return
        event = message.event
        kind = event.kind
        if kind == "token":
            self._answer.text += event.text
            if self._stream is not None:  # set by ``send`` for this turn; only ``final`` clears it
                await self._stream.write(event.text)
        elif kind == "tool_start":
            started = ToolLine(event.tool, dict(event.args or {}))
            self._tools[event.call_id or event.tool] = started
            await self.query_one("#chat-log").mount(started, before=self._answer)
        elif kind == "tool_end":
            line = self._tools.get(event.call_id or event.tool)
            if line is None:
                line = ToolLine(event.tool, {})
                await self.query_one("#chat-log").mount(line, before=self._answer)
            line.finish(bool(event.ok), event.text)
        elif kind == "proposal":
            line = self._tools.get(event.call_id or event.tool)
            if line is not None:
                line.update(f"? {escape(event.tool)}: {escape(event.text)} [dim](asking you)[/dim]")
        elif kind == "final":
            answer = event.answer
            if answer is not None and answer.pending:
                await self._confirm(answer)
            else:
                await self._finish(answer)

    # -- proposed changes ----------------------------------------------------------------------
    async def _confirm(self, answer: ChatAnswer) -> None:
        """The turn waits for the user: ask about each proposed change, then resume the turn."""
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
        if self._answer is not None:  # what the model said before proposing stays, as said
            if self._answer.text.strip():
                await self._answer.update(linkify(self._answer.text))
            else:
                await self._answer.remove()
            self._answer = None
        self.app.chat_thread = answer.thread_id or self.app.chat_thread
        self._pending, self._approved = list(answer.pending), {}
        self._ask_next(answer.thread_id, self.turn)

    def _ask_next(self, thread_id: str, turn: int) -> None:
        if turn != self.turn:  # the thread was cleared meanwhile
            return
        asked = len(self._approved)
        if asked == len(self._pending):
            self.call_later(self._resume, thread_id, dict(self._approved), turn)
            return
        proposal = self._pending[asked]
        total = len(self._pending)
        dialog = ConfirmChangeDialog(proposal, position=f"{asked + 1} of {total}" if total > 1 else "")
        self.app.push_screen(dialog, lambda yes: self._answered(thread_id, turn, proposal, bool(yes)))

    def _answered(self, thread_id: str, turn: int, proposal: Proposal, yes: bool) -> None:
        self._approved[proposal.id] = yes
        self._ask_next(thread_id, turn)

    async def _resume(self, thread_id: str, approved: dict[str, bool], turn: int) -> None:
        """Continue the paused turn with the user's answers (the thread resumes either way)."""
        if turn != self.turn:
            return
        self._answer = AgentMessage()
        await self.query_one("#chat-log", VerticalScroll).mount(self._answer)
        self._stream = Markdown.get_stream(self._answer)
        self._start(lambda service: service.aresume_stream(thread_id, approved))

    async def _finish(self, answer: ChatAnswer | None) -> None:
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
        text = (answer.text if answer is not None else "") or (self._answer.text if self._answer else "")
        if self._answer is not None:
            self._answer.text = text
            await self._answer.update(linkify(text))
        if answer is not None:
            app = self.app
            app.chat_thread = answer.thread_id or app.chat_thread
            for pid, title in answer.papers:
                self.mentioned[pid] = title
            if any(p.status == "applied" for p in answer.proposals):
                app.data_version += 1  # the lists re-rank when next shown: the profile or library changed
            if answer.offline and "offline" not in text[:200]:
                await self.query_one("#chat-log").mount(
                    Static("offline answer: retrieved from your library without an LLM "
                           "(set PAPERCAST_MODEL for written answers)", classes="tool-line"))
        for pid in paper_ids(text):
            self.mentioned.setdefault(pid, "")
        self._done()

    def on_chat_failed(self, message: ChatFailed) -> None:
        if message.turn != self.turn:
            return
        if self._answer is not None:
            self._answer.update(f"*The agent failed: {message.cause}*")
        self.app.report_error("Chat failed", message.cause)
        self._done()

    def _done(self) -> None:
        self.streaming = False
        self.app.task_end(f"chat-{self.turn}")
        self._update_title()

    def on_markdown_link_clicked(self, event: Markdown.LinkClicked) -> None:
        event.stop()
        href = event.href
        if href.startswith("paper:"):
            self.app.open_paper(href.removeprefix("paper:"))
        else:
            self.app.open_url(href)

    # -- threads and papers --------------------------------------------------------------------
    def action_new_thread(self) -> None:
        self._clear()
        self.notify("New chat thread.")

    def _clear(self) -> None:
        """Forget the thread on screen (the stored thread stays on disk)."""
        app = self.app
        app.chat_thread = None
        app.task_end(f"chat-{self.turn}")
        self.turn += 1  # drop events of a turn still streaming
        self.streaming = False
        log = self.query_one("#chat-log", VerticalScroll)
        for child in list(log.children):
            if child.id != "chat-welcome":
                child.remove()
        self.mentioned.clear()
        self._update_title()

    def action_threads(self) -> None:
        def load() -> None:
            try:
                threads = list(self.service.list_threads())
            except Exception as exc:
                self.app.call_from_thread(self.app.report_error, "Could not list threads", one_line(exc))
                return
            self.app.call_from_thread(self._pick_thread, threads)

        self.run_worker(load, thread=True, group="threads", exit_on_error=False)

    def _pick_thread(self, threads: list[ThreadInfo]) -> None:
        if not threads:
            self.notify("No earlier threads yet.")
            return
        options = []
        for info in threads:
            when = info.updated.strftime("%Y-%m-%d %H:%M")
            options.append((info.id, f"{info.title}  [{when} · {info.turns} turns]"))
        self.app.push_screen(ChoiceDialog("Resume a thread", options), self._thread_chosen)

    def _thread_chosen(self, thread_id: str | None) -> None:
        if not thread_id:
            return
        self._clear()
        self.app.chat_thread = thread_id
        self._update_title()
        self._load_history(thread_id)

    def _load_history(self, thread_id: str) -> None:
        def load() -> None:
            try:
                history = self._loop.run(self.service.athread_messages(thread_id))
            except Exception as exc:
                self.app.call_from_thread(self.app.report_error, "Could not load the thread", one_line(exc))
                return
            self.app.call_from_thread(self._show_history, thread_id, history)

        self.run_worker(load, thread=True, group="threads", exit_on_error=False)

    async def _show_history(self, thread_id: str, history: list[dict[str, Any]]) -> None:
        """Re-draw a resumed thread: user lines, tool lines and the answers (with paper links)."""
        log = self.query_one("#chat-log", VerticalScroll)
        for item in history:
            role, text = item.get("role"), str(item.get("text", ""))
            if role == "user":
                await log.mount(UserMessage(text))
            elif role == "tool":
                line = ToolLine(str(item.get("tool", "tool")), {})
                await log.mount(line)
                line.finish(bool(item.get("ok", True)), text)
            else:
                answer = AgentMessage()
                answer.text = text
                await log.mount(answer)
                await answer.update(linkify(text))
                for pid in paper_ids(text):
                    self.mentioned.setdefault(pid, "")
        await log.mount(Static(f"Resumed thread {thread_id}: the agent remembers it.", classes="tool-line"))
        log.scroll_end(animate=False)

    def action_open_mentioned(self) -> None:
        if not self.mentioned:
            self.notify("No papers mentioned yet.")
            return
        options = [(pid, f"{pid}  {title}".strip()) for pid, title in self.mentioned.items()]
        self.app.push_screen(ChoiceDialog("Open a paper", options),
                             lambda pid: self.app.open_paper(pid) if pid else None)

    def action_leave_input(self) -> None:
        self.query_one("#chat-log").focus()

    def action_focus_input(self) -> None:
        self.query_one("#chat-input", Input).focus()
