"""Command groups of the CLI. Each module has ``register(subparsers)`` and imports heavy parts lazily."""

from __future__ import annotations

from papercast.commands import (
    agent,
    completion,
    deliveries,
    learning,
    mcp,
    model,
    papers,
    profile,
    read,
    recommend,
    writing,
)

COMMAND_MODULES = [papers, read, profile, recommend, learning, writing, agent, deliveries, model, mcp,
                   completion]
