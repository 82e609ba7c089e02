"""Command groups of the CLI. Each module has ``register(subparsers)`` and imports heavy parts lazily."""

from __future__ import annotations

from types import ModuleType


def _modules() -> list[ModuleType]:
    from importlib import import_module

    names = ["papers", "profile", "recommend", "llm", "agent"]
    found = []
    for name in names:
        try:
            found.append(import_module(f"papercast.commands.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"papercast.commands.{name}":
                raise
    return found


COMMAND_MODULES = _modules()
