"""What a chat turn runs with that is not conversation state: langgraph's run context.

react-agent's ``Context``: the nodes read it through ``Runtime[ChatContext]``, so the graph is
built once and holds nothing of a service, a model or a profile.
"""

from __future__ import annotations

from dataclasses import dataclass

from papercast.agent.llm_node import ModelConfig
from papercast.agent.port import Library


@dataclass(frozen=True)
class ChatContext:
    """The library the tools act on, the model (None: offline), and this turn's prompt and profile."""

    library: Library
    model: ModelConfig | None
    system: str  # the system prompt of this turn
    profile: str | None = None  # the profile the tools act for
