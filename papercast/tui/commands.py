"""papercast commands in the command palette (ctrl+p): every screen and action, by name."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from papercast.tui.window import Window

if TYPE_CHECKING:  # the app module imports this one
    from papercast.tui.app import PapercastApp


class PapercastCommands(Provider):
    """Screens, refresh, windows, profiles, chat threads and retry."""

    def _commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        # The app registers this provider (``PapercastApp.COMMANDS``), so it is always that app.
        app = cast("PapercastApp", self.app)
        screen: Any = self.screen  # which actions it has is asked with hasattr below
        commands: list[tuple[str, str, Callable[[], Any]]] = [
            ("Reading list", "Your ranked papers for the window", partial(app.action_goto, "reading")),
            ("Trending", "The window's papers by Hugging Face upvotes", partial(app.action_goto, "trending")),
            ("Chat", "Ask the agent about papers", partial(app.action_goto, "chat")),
            ("Profile", "Edit interests, keywords, authors, feedback", partial(app.action_goto, "profile")),
            ("Refresh papers", "Fetch today's papers in the background", app.action_refresh_papers),
            ("Retry failed task", "Run the last failed background task again", app.action_retry),
            ("Help", "All keys", app.action_help),
        ]
        for kind, label in (("today", "today"), ("week", "this week"), ("month", "last 30 days"),
                            ("all", "all papers")):
            commands.append((f"Window: {label}", "Show papers of this window",
                             partial(_set_window, app, kind)))
        if hasattr(screen, "action_switch_profile"):
            commands.append(("Switch profile…", "Rank for another profile", screen.action_switch_profile))
        if hasattr(screen, "action_teach"):
            commands.append(("Teach papercast…", "Rate the papers the ranker is least sure about",
                             screen.action_teach))
        if hasattr(screen, "action_search"):
            commands.append(("Search the library…",
                             "Words, \"phrases\" and meaning; cat:cs.CL and au:Name filter",
                             screen.action_search))
        if hasattr(screen, "action_new_thread"):
            commands.append(("New chat thread", "Start a fresh conversation", screen.action_new_thread))
            commands.append(("Chat threads…", "Resume an earlier conversation", screen.action_threads))
        return commands

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)


def _set_window(app: PapercastApp, kind: str) -> None:
    app.window = Window.preset(kind, app.today)
    app.data_version += 1
