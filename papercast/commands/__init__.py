"""Command groups of the CLI. Each module has ``register(subparsers)`` and imports heavy parts lazily."""

from __future__ import annotations

from papercast.commands import agent, papers, profile, recommend, writing

COMMAND_MODULES = [papers, profile, recommend, writing, agent]
