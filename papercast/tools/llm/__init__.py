"""Talking to a model: ``client`` (litellm, cache, retries, budget), ``parsing`` (JSON out of answers),
``prompts`` (paper text as delimited, untrusted data)."""
