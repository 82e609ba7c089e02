"""All persistence, and the only code that touches Chroma or SQLite.

``papers`` (the Chroma collections), ``embeddings`` (the bundled and remote embedding models), ``db``
(SQLite connections and schema migrations), ``profiles``, ``llm_log`` (summaries, the LLM cache and
usage), ``memo`` (facts worth remembering across processes) and ``threads`` (chat threads).
"""
