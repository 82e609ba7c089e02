"""A paper's full text: arXiv's HTML (LaTeXML), the PDF when there is no HTML, or a file the user has.

``download`` fetches from arXiv, ``files`` reads a saved page or PDF, ``html`` and ``pdf`` parse,
``document`` cuts what they found into sections and passages (the same ``Document`` whatever the
source), ``sections`` picks one section out. Paper text is untrusted: every string is sanitized and
the caps on size, pages and time hold whatever a page or a file claims.
"""
