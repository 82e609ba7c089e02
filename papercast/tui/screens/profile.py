"""The interest profile editor: interests, keywords, excluded keywords, authors, categories,
the liked / disliked / saved papers, and create / rename / switch / delete; and "how well papercast
knows you", the ranker graded on the profile's own ratings (``service.evaluate``).

Saving writes through ``service.profile_update`` in a worker and bumps the app's data version, so
every list re-ranks for the new profile. The grade is computed in its own worker whenever the profile
is loaded: it ranks a sample of the library once per rating day (a second or two on a big library),
so the form never waits for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from papercast.models import Evaluation, FeedbackKind, Paper, Profile
from papercast.tui.background import Progress, one_line
from papercast.tui.screens.dialogs import ChoiceDialog, PromptDialog
from papercast.tui.widgets.learning import LearningSection
from papercast.tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from textual import getters

    from papercast.service import Papercast
    from papercast.tui.app import PapercastApp

LIST_FIELDS = (("keywords", "Keywords"), ("excluded_keywords", "Excluded keywords"),
               ("authors", "Followed authors"), ("categories", "arXiv categories"))
FEEDBACK: tuple[tuple[FeedbackKind, str], ...] = (("like", "Liked"), ("dislike", "Disliked"),
                                                  ("save", "Saved"))
# The option list of each kind's papers (``#list-like``) names the kind its ``delete`` key removes.
FEEDBACK_LISTS: dict[str, FeedbackKind] = {f"list-{kind}": kind for kind, _label in FEEDBACK}


def split_list(text: str) -> list[str]:
    """``a, b; c`` -> ``["a", "b", "c"]`` (commas or semicolons; blanks dropped)."""
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


@dataclass
class ProfileData:
    profile: Profile
    papers: dict[str, Paper] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)


class ProfileScreen(Screen):
    if TYPE_CHECKING:  # types only: at run time Textual's own ``app``, with no import of app.py
        app = getters.app(PapercastApp)  # typed: the screen uses the app's service, data version and tasks
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("ctrl+n", "new", "New", priority=True),
        Binding("ctrl+r", "rename", "Rename", priority=True),
        Binding("ctrl+l", "switch", "Switch", priority=True),
        Binding("ctrl+d", "delete_profile", "Delete", priority=True),
        Binding("delete", "remove_feedback", "Remove paper", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.data: ProfileData | None = None
        self.loaded_version = -1
        self.evaluation: Evaluation | None = None  # the grade shown, once one arrived
        self.eval_generation = 0  # the newest grade asked for: an older one arriving late is dropped

    @property
    def service(self) -> Papercast:
        return self.app.service

    def compose(self) -> ComposeResult:
        yield Static("Profile", id="profile-title", classes="screen-title")
        with VerticalScroll(id="profile-body"):
            yield Label("Interests (plain words; the ranking embeds them)", classes="field-label")
            yield TextArea(id="interests", soft_wrap=True, show_line_numbers=False)
            yield Label("Comma-separated lists", classes="field-label")
            for key, label in LIST_FIELDS:
                with Horizontal(classes="field-row"):
                    yield Label(label, classes="field-name")
                    yield Input(id=f"field-{key}", placeholder=label.lower())
            with Horizontal(id="profile-buttons"):
                yield Button("Save ^s", id="btn-save", variant="primary")
                yield Button("New ^n", id="btn-new")
                yield Button("Rename ^r", id="btn-rename")
                yield Button("Switch ^l", id="btn-switch")
                yield Button("Delete ^d", id="btn-delete", variant="error")
            yield Label("How well papercast knows you: graded on your own ratings (? explains)",
                        classes="field-label")
            yield LearningSection(id="learning")
            for kind, label in FEEDBACK:
                yield Label(f"{label} papers (delete removes)", classes="field-label")
                yield OptionList(id=f"list-{kind}", classes="feedback-list")
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        if self.app.still:
            self.query_one("#interests", TextArea).cursor_blink = False
            for box in self.query(Input):
                box.cursor_blink = False
        self.watch(self.app, "data_version", self._data_changed, init=False)
        self.reload()

    def _data_changed(self, version: int) -> None:
        if version != self.loaded_version and self.is_current:
            self.reload()

    def on_screen_resume(self) -> None:
        if self.loaded_version != self.app.data_version:
            self.reload()

    # -- loading -------------------------------------------------------------------------------
    def reload(self) -> None:
        self.loaded_version = self.app.data_version
        self.run_worker(self._load, thread=True, group="profile-load", exclusive=True, exit_on_error=False)
        self.eval_generation += 1
        self.run_worker(partial(self._evaluate, self.eval_generation), thread=True, group="profile-eval",
                        exit_on_error=False)

    def _evaluate(self, generation: int) -> None:
        """In a worker: grade the ranker on the active profile's ratings (the chart keeps the last
        grade until this one lands)."""
        try:
            evaluation = self.service.evaluate()
        except Exception as exc:
            self.app.call_from_thread(self._evaluation_failed, generation, one_line(exc))
            return
        self.app.call_from_thread(self._show_evaluation, generation, evaluation)

    def _show_evaluation(self, generation: int, evaluation: Evaluation) -> None:
        if generation != self.eval_generation:
            return  # the profile changed meanwhile: a newer grade is on its way
        self.evaluation = evaluation
        self.query_one("#learning", LearningSection).show(evaluation)

    def _evaluation_failed(self, generation: int, cause: str) -> None:
        if generation == self.eval_generation:
            self.query_one("#learning", LearningSection).show_text(f"Could not grade papercast: {cause}")

    def _load(self) -> None:
        try:
            profile = self.service.active_profile()
            names = [p.name for p in self.service.profile_list()]
            ids = list(dict.fromkeys(f.paper_id for f in profile.feedback if f.kind != "dismiss"))
            papers: dict[str, Paper] = {}
            if ids:
                try:
                    papers = {p.id: p for p in self.service.get_papers(ids)}
                except Exception:  # a paper left the store: show its id without a title
                    papers = {}
        except Exception as exc:
            self.app.call_from_thread(self.app.report_error, "Could not load the profile", one_line(exc))
            return
        self.app.call_from_thread(self._show, ProfileData(profile, papers, names))

    def _show(self, data: ProfileData) -> None:
        self.data = data
        profile = data.profile
        others = [n for n in data.names if n != profile.name]
        title = f"Profile · {profile.name} (active)"
        if others:
            title += f" · others: {', '.join(others)}"
        self.query_one("#profile-title", Static).update(title)
        self.query_one("#interests", TextArea).text = profile.interests
        for key, _label in LIST_FIELDS:
            self.query_one(f"#field-{key}", Input).value = ", ".join(getattr(profile, key))
        for kind, _label in FEEDBACK:
            box = self.query_one(f"#list-{kind}", OptionList)
            box.clear_options()
            ids = profile.ids(kind)
            if not ids:
                box.add_option(Option("(none)", id=None, disabled=True))
            for pid in ids:
                paper = data.papers.get(pid)
                box.add_option(Option(f"{pid}  {paper.title if paper else ''}".rstrip(), id=pid))

    # -- saving --------------------------------------------------------------------------------
    def form(self) -> dict[str, Any]:
        changes: dict[str, Any] = {"interests": self.query_one("#interests", TextArea).text}
        for key, _label in LIST_FIELDS:
            changes[key] = split_list(self.query_one(f"#field-{key}", Input).value)
        return changes

    def action_save(self) -> None:
        if self.data is None:
            return
        name, changes = self.data.profile.name, self.form()

        def save(_progress: Progress) -> Profile:
            return self.service.profile_update(name, **changes)

        self.app.start_task("profile", "Saving the profile", save, self._saved)

    def _saved(self, profile: Profile) -> None:
        self.notify(f"Saved {profile.name!r}. The reading list re-ranks.", title="Profile saved")
        self.app.data_version += 1

    def _run(self, label: str, fn: Callable[[], object], done_message: str) -> None:
        """Run a profile change in the background, then re-load everything that depends on it."""

        def after(_result: object) -> None:
            self.notify(done_message)
            self.app.data_version += 1

        self.app.start_task("profile", label, lambda _p: fn(), after)

    # -- create / rename / switch / delete -----------------------------------------------------
    def action_new(self) -> None:
        def created(name: str | None) -> None:
            if name:
                self._run(f"Creating {name}", lambda: self.service.profile_create(name, use=True),
                          f"Created profile {name!r} and switched to it.")

        self.app.push_screen(PromptDialog("New profile name", placeholder="e.g. vision"), created)

    def action_rename(self) -> None:
        if self.data is None:
            return
        old = self.data.profile.name

        def renamed(new: str | None) -> None:
            if new and new != old:
                self._run(f"Renaming {old}", lambda: self.service.profile_rename(old, new),
                          f"Renamed {old!r} to {new!r}.")

        self.app.push_screen(PromptDialog(f"Rename {old!r} to", value=old), renamed)

    def action_switch(self) -> None:
        if self.data is None:
            return
        def chosen(name: str | None) -> None:
            if name:
                self._run(f"Switching to {name}", lambda: self.service.profile_use(name),
                          f"Ranking for profile {name!r}.")

        options = [(n, n) for n in self.data.names]
        self.app.push_screen(ChoiceDialog("Switch to profile", options,
                                          selected=self.data.profile.name), chosen)

    def action_delete_profile(self) -> None:
        if self.data is None:
            return
        name = self.data.profile.name

        def confirmed(answer: str | None) -> None:
            if answer == "delete":
                self._run(f"Deleting {name}", lambda: self.service.profile_delete(name),
                          f"Deleted profile {name!r}.")

        self.app.push_screen(ChoiceDialog(f"Delete profile {name!r} and its feedback?",
                                          [("cancel", "Keep it"), ("delete", f"Delete {name}")]), confirmed)

    def action_remove_feedback(self) -> None:
        focused = self.focused
        if not isinstance(focused, OptionList):
            return
        kind = FEEDBACK_LISTS.get(focused.id or "")
        if kind is None:
            return
        index = focused.highlighted
        if index is None:
            return
        pid = focused.get_option_at_index(index).id
        if not pid:
            return
        self._run(f"Removing {pid}", lambda: self.service.feedback([pid], kind, undo=True),
                  f"Removed {pid} from {kind}d papers." if kind != "save"
                  else f"Removed {pid} from saved papers.")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Enter on a liked / disliked / saved paper opens it."""
        event.stop()
        if event.option.id:
            self.app.open_paper(event.option.id)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        actions = {"btn-save": self.action_save, "btn-new": self.action_new, "btn-rename": self.action_rename,
                   "btn-switch": self.action_switch, "btn-delete": self.action_delete_profile}
        action = actions.get(event.button.id or "")
        if action:
            action()
