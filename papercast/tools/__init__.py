"""The capabilities the agent's graphs and the service call, grouped by what they do.

* ``sources``  getting papers: the HTTP policy, Hugging Face, arXiv, local files, BibTeX likes
* ``llm``      talking to a model through litellm: the client, JSON parsing, untrusted-text prompts
* ``ranking``  the reading list: windows, the ranking pool, BM25, scores, reasons, the LLM re-rank
* ``writing``  what papercast writes: summaries, the digest, its renderings and its delivery

Nothing here imports the service or the agent: a function receives what it uses (a ``PaperStore``,
an ``LLMClient``, a ``Profile``). Stateless apart from per-process caches of derived data.
"""
