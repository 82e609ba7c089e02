"""What papercast writes: ``summarize`` (structured summaries and TL;DRs), ``digest`` (the one digest
builder), ``render`` (Markdown, JSON, HTML) and ``deliver`` (e-mail)."""
