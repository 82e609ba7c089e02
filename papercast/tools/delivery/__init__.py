"""Where a digest goes: e-mail (``mail``), webhooks (``webhooks``, ``payloads``), a feed, a file or
stdout; ``channels`` plans a run's channels and ``send`` delivers to each on its own."""
