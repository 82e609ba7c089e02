"""What papercast writes: ``summarize`` (structured summaries and TL;DRs) and ``fulltext_summary`` (from
a paper's sections), ``digest`` (the one digest builder), ``citations`` (ids an answer cites, checked),
``render`` (Markdown, JSON, HTML, Atom) and ``export`` (BibTeX, RIS, CSL JSON); the summaries share
``summary_text``, ``summary_prompts`` and ``summary_draft``. Sending a digest is ``tools/delivery``."""
