"""Command groups of the CLI. Each module has ``register(subparsers)`` and imports heavy parts lazily."""

from __future__ import annotations

from papercast.commands import agent, llm, papers, profile, recommend

COMMAND_MODULES = [papers, profile, recommend, llm, agent]
