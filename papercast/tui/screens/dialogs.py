"""Small modal dialogs: pick one of several options, type one line, or confirm a change the chat agent
proposes. Each returns via ``dismiss``."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from papercast.models import Proposal


class ChoiceDialog(ModalScreen[str | None]):
    """A titled list; enter picks (returns the option id), escape cancels (returns None)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"),
                Binding("j", "down", show=False), Binding("k", "up", show=False)]

    def __init__(self, title: str, options: list[tuple[str, str]], *, selected: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.options = options
        self.selected = selected

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield OptionList(*[Option(label, id=key) for key, label in self.options], id="choices")

    def on_mount(self) -> None:
        choices = self.query_one("#choices", OptionList)
        keys = [k for k, _ in self.options]
        if self.selected in keys:
            choices.highlighted = keys.index(self.selected)
        choices.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_down(self) -> None:
        self.query_one("#choices", OptionList).action_cursor_down()

    def action_up(self) -> None:
        self.query_one("#choices", OptionList).action_cursor_up()

    def action_cancel(self) -> None:
        self.dismiss(None)


class PromptDialog(ModalScreen[str | None]):
    """One line of text; enter returns it (stripped), escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, *, placeholder: str = "", value: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Input(value=self.value, placeholder=self.placeholder, id="prompt")

    def on_mount(self) -> None:
        self.query_one("#prompt", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmChangeDialog(ModalScreen[bool]):
    """A change the chat agent proposes, named exactly (before -> after); ``y`` applies it, ``n`` or
    escape does not (returns True only for yes).

    The default button is "Don't apply": enter on an unread dialog must not change the user's data.
    Everything shown is plain text (``markup=False``): a paper title cannot style or fake the dialog.
    """

    DEFAULT_CSS = """
    ConfirmChangeDialog { align: center middle; }
    ConfirmChangeDialog .dialog { width: 76; }
    ConfirmChangeDialog #change-diff { color: $text-muted; margin: 1 0; }
    ConfirmChangeDialog Horizontal { height: auto; }
    ConfirmChangeDialog Button { margin-right: 2; }
    """
    BINDINGS = [Binding("y", "answer(True)", "Apply"), Binding("n", "answer(False)", "Don't apply"),
                Binding("escape", "answer(False)", "Don't apply", show=False)]

    def __init__(self, proposal: Proposal, *, position: str = "") -> None:
        super().__init__()
        self.proposal = proposal
        self.position = position  # "1 of 2" when the agent proposed several changes

    def compose(self) -> ComposeResult:
        title = "The agent proposes a change to your data" + (f" ({self.position})" if self.position else "")
        with Vertical(classes="dialog"):
            yield Label(title, classes="dialog-title")
            yield Static(self.proposal.summary, id="change-summary", markup=False)
            yield Static("\n".join(self.proposal.diff_lines()), id="change-diff", markup=False)
            yield Static("Nothing changes unless you apply it; an applied change can be undone "
                         "(\"undo\" in the chat).", classes="hint", markup=False)
            with Horizontal():
                yield Button("Apply (y)", id="apply", variant="warning")
                yield Button("Don't apply (n)", id="decline", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#decline", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "apply")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
