"""All persistence, and the only code that touches Chroma or SQLite.

Chroma: ``papers`` and ``passages`` (each a ``chroma_access.NamedCollection``: opened under the home's
``lock``, behind the guard that sees other processes' writes), ``embeddings`` (the bundled and remote
embedding models). SQLite, through ``db`` (connections and schema migrations): ``profiles``, ``llm_log``
(summaries, the LLM cache and usage), ``memo`` (facts worth remembering across processes), ``threads``
(chat threads), ``documents`` (papers read in full), ``deliveries`` (what was sent where) and
``ranking_cache`` (per-paper vectors and term counts, its own file). ``terms``: the tokenizer and stemmer
both the ranking cache and the ranker use.
"""
