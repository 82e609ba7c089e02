"""litellm, imported once, on first use, and quietly.

litellm is slow to import, so nothing imports it at start-up: the client, the policy and the agent
call ``load_litellm()`` when they first need it. It is set up for papercast on the way in: the
bundled cost map (no network on import), no debug output or telemetry, no retries of its own.
"""

from __future__ import annotations

import logging
import os
import warnings
from functools import cache
from types import ModuleType


@cache
def load_litellm() -> ModuleType:
    """Import litellm (slow) with a local cost map and without its debug chatter."""
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    os.environ.setdefault("LITELLM_LOG", "ERROR")
    # pydantic schema warnings about litellm's own types (also raised lazily, later) mean nothing to a user.
    warnings.filterwarnings("ignore", message=r".*`ReadOnly` qualifier", category=UserWarning)
    # A malformed answer makes the openai SDK warn while it serializes it; we report the answer ourselves.
    warnings.filterwarnings("ignore", message=r"Pydantic serializer warnings", category=UserWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import litellm  # lazy: litellm takes seconds to import

    litellm.suppress_debug_info = True
    litellm.drop_params = True  # providers without JSON mode get the request without it
    litellm.turn_off_message_logging = True
    litellm.telemetry = False
    # Our own accounting reads usage from each response; litellm's per-chunk stream logging only
    # costs CPU (~13 ms per streamed call, measured in bench/chat_overhead.py).
    litellm.disable_streaming_logging = True
    # We retry ourselves (``LLMClient._with_retries``). litellm's OpenAI embedding path reads
    # max_retries=0 as unset and lets the SDK retry twice more per attempt
    # (litellm 1.110: ``max_retries or DEFAULT``).
    litellm.DEFAULT_MAX_RETRIES = 0
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm", "openai", "httpx"):
        logging.getLogger(name).setLevel(logging.ERROR)
    return litellm
