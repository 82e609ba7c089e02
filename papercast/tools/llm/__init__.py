"""Talking to a model: ``client`` (litellm, cache, retries, budget), ``policy`` (what a local server
needs, per-model settings), ``schemas`` (the JSON answers asked for), ``check`` (``papercast model check``),
``parsing`` (JSON out of answers), ``prompts`` (paper text as delimited, untrusted data)."""
