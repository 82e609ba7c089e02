"""The reading list: ``window`` (which dates, their papers), ``pool`` (what ranking derives from them),
``lexical`` (BM25, stop words, stemming), ``score`` (the signals and their sum), ``classifier`` (learning
from feedback), ``reasons`` (why each paper is listed), ``rerank`` (the model's pass over the top K)."""
