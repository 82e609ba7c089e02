"""What papercast writes: ``summarize`` (structured summaries and TL;DRs) and ``fulltext_summary`` (from
a paper's sections), ``digest`` (the one digest builder), ``citations`` (ids an answer cites, checked),
``render`` (Markdown, JSON, HTML, Atom), ``deliver`` (mail, webhooks, feed, files) and ``export``
(BibTeX, RIS, CSL JSON)."""
