"""What every summary request shares: the prompt version a summary is stored under, the language
it is written in, and the repair request sent after an unusable answer."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from papercast.tools.llm.client import LLMClient

PROMPT_VERSION = "summary-v1"
REPAIR_PROMPT = ("Your previous answer was not usable: {problem}. Reply again with only the complete JSON "
                 "object described in the instructions, valid JSON, under 200 words in total.")


def language_of(client: LLMClient | None) -> str | None:
    """The language summaries are written in (the ``language`` setting), None for the default (English)."""
    return getattr(getattr(client, "settings", None), "language", None) if client is not None else None


def versioned(version: str, language: str | None) -> str:
    """The prompt version a summary in ``language`` is stored and cached under, so a German summary is
    never served for an English request (the LLM cache key and the summaries' key both hold it)."""
    return f"{version}/lang={' '.join(language.lower().split())}" if language else version


def language_rule(language: str | None) -> str:
    return (f"\nWrite every text value in {language} (keep the JSON keys in English; keep technical terms "
            "and names as the paper has them).") if language else ""
