"""Where papers come from: ``http`` (the one retry and rate-limit policy), ``hf``, ``arxiv``, ``files``
(JSONL, HF JSON, Atom), ``fetch`` (every source of a run at once), ``bibtex`` (likes from a file),
``fulltext`` (arXiv HTML and PDF parsed into a document) and ``reader`` (a paper read, kept and indexed)."""
