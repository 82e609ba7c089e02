"""The model of this run: its client (None offline), what it cost, what went wrong, ``model check``."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from papercast.errors import UserError
from papercast.models import Usage
from papercast.service.core import ServiceCore
from papercast.tools.llm.sync import run_sync

if TYPE_CHECKING:
    from papercast.agent.llm_node import ModelConfig
    from papercast.models import ModelCheck, RunUsage
    from papercast.tools.llm.client import LLMClient


class ModelMixin(ServiceCore):
    """This run's LLM client and its accounting (``tools/llm``)."""

    @cached_property
    def chat_model(self) -> ModelConfig | None:
        """How the chat calls its model (None offline): tools or not, context window, step limit."""
        if self.settings.offline:
            return None
        from papercast.agent.llm_node import model_config  # lazy: the LLM client modules, as ``_llm``

        return model_config(self.settings, self._llm)

    def llm_unreachable(self) -> str | None:
        """Why this run's model could not be reached, if it was tried and could not be."""
        return self._llm.unreachable if "_llm" in self.__dict__ else None

    def llm_client(self, use_llm: bool = True) -> LLMClient | None:
        """This run's model client, or None when offline (no model set, or ``use_llm`` False)."""
        return self._llm if use_llm and not self.settings.offline else None

    def llm_usage(self) -> Usage:
        """Tokens and cost of this run so far (zero in offline mode)."""
        if self.settings.offline or "_llm" not in self.__dict__:
            return Usage()
        return self._llm.usage

    def llm_notices(self) -> list[str]:
        """One-line notices of this run's LLM work (unreachable model, budget reached, fallbacks)."""
        return list(self._llm.notices) if "_llm" in self.__dict__ else []

    def usage_runs(self, limit: int = 20) -> list[RunUsage]:
        """LLM tokens and cost per run, newest first."""
        return self._llm_log.runs(limit)

    def check_model(self) -> ModelCheck:
        """Probe the configured model (and a litellm embedding model when one is set): what works, how
        fast, and the settings papercast uses with it. A UserError in offline mode: nothing to check."""
        from papercast.tools.llm.check import check_model  # lazy: the LLM client modules, as ``_llm``

        if self.settings.offline:
            raise UserError("no model set (offline mode): set PAPERCAST_MODEL or pass --model to check one")
        embed = self._embedding_client() if self.settings.embedding else None
        return run_sync(check_model(self._llm, embed))
