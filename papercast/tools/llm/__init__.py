"""Talking to a model: ``client`` (the calls: cache, pacing, retries, streaming, budget) and what it is
made of: ``loader`` (litellm, imported on first use), ``policy`` (what a local server needs, per-model
settings), ``failures`` (one-line errors, what is worth a retry), ``formats`` (JSON formats a server
refused), ``fitting`` (prompts fitted to the context window), ``answers`` (answers and their cache
keys), ``accounting`` (run ids, prices), ``slots`` and ``streaming`` (requests in flight, idle
timeouts), ``sync`` (coroutines from sync code). Around it: ``schemas`` (the JSON answers asked
for), ``check`` (``papercast model check``), ``parsing`` (JSON out of answers), ``prompts`` (paper
text as delimited, untrusted data)."""
