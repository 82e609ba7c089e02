"""The reading list and search: ``window`` (which dates, their papers), ``pool`` (what ranking derives
from them), ``lexical`` (BM25), ``signals`` and ``score`` (the signals and their sum), ``classifier``
(learning from feedback), ``reasons`` (why each paper is listed), ``rerank`` (the model's pass over the
top K), ``search`` (the one hybrid search) and ``passages`` (the same over the passages of papers read
in full)."""
