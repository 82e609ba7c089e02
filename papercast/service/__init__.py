"""The one façade: the CLI, the TUI and the agent's tools call only ``Papercast``.

``Papercast`` holds the settings and opens its parts (Chroma, the embedding model, litellm, the
SQLite file) privately and lazily on first use, so constructing it is free. Each concern is a mixin
in its own module (papers, profiles, learning, reading, the model, deliveries, the agent's runs);
they call one another's public methods through ``self``. Errors a user can cause are raised as
``UserError`` (bad input, exit 2); failures of the outside world (network, LLM) as
``RuntimeFailure`` (exit 1). Both carry a one-line message.
"""

from __future__ import annotations

from papercast.service.agent_runs import AgentRunsMixin
from papercast.service.deliveries import DeliveriesMixin
from papercast.service.learning import LearningMixin
from papercast.service.model import ModelMixin
from papercast.service.papers import PapersMixin
from papercast.service.profiles import ProfilesMixin
from papercast.service.reading import ReadingMixin


class Papercast(PapersMixin, ProfilesMixin, LearningMixin, ReadingMixin, ModelMixin, DeliveriesMixin,
                AgentRunsMixin):
    """The papercast service for one home directory."""


__all__ = ["Papercast"]
