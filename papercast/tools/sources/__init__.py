"""Where papers come from: ``http`` (the one retry and rate-limit policy), ``hf``, ``arxiv``, ``files``
(JSONL, HF JSON, Atom), ``fetch`` (every source of a run at once) and ``bibtex`` (likes from a file)."""
