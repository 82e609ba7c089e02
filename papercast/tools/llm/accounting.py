"""Who spent what: the run id and command each request is recorded under, and its price.

Every request sent is recorded with its tokens and cost under the run id, which is what the usage
table sums and what ``max_usd_per_run`` is checked against. A cost of None means the model has no
known price in litellm's map: its tokens are still counted.
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from papercast.tools.llm.loader import load_litellm


def new_run_id() -> str:
    """A run id that sorts by time and is unique across processes."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{os.getpid()}-{random.randrange(16**4):04x}"


def command_label(argv: Sequence[str] | None = None) -> str:
    """The papercast subcommand of this process ("digest", "recommend", ...), for the usage table."""
    args = list(sys.argv[1:] if argv is None else argv)
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in ("--home", "--model"):
            skip = True
        elif not arg.startswith("-"):
            return arg
    return "tui" if os.path.basename(sys.argv[0] or "") == "papercast" else "api"


def price(model: str, response: Any, prompt: int, completion: int) -> float | None:
    """The cost in USD of ``response`` (its tokens at the model's price when litellm cannot price the
    response itself); None when the model has no known price."""
    litellm = load_litellm()
    try:
        return float(litellm.completion_cost(completion_response=response, model=model))
    except Exception:
        try:
            p, c = litellm.cost_per_token(model=model, prompt_tokens=prompt, completion_tokens=completion)
            return float(p) + float(c)
        except Exception:
            return None
