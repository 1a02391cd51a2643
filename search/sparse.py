"""Spanish BM25 sparse vectors (stemmed, stop words removed); IDF is applied by Qdrant."""

from __future__ import annotations

import threading

from qdrant_edge import Bm25, Bm25Config

_local = threading.local()


def _model() -> Bm25:
    model = getattr(_local, "bm25", None)
    if model is None:
        model = _local.bm25 = Bm25(Bm25Config(language="spanish", ascii_folding=True))
    return model


def sparse_document(text: str) -> tuple[list[int], list[float]]:
    vec = _model().embed_document(text)
    return list(vec.indices), list(vec.values)


def sparse_query(text: str) -> tuple[list[int], list[float]]:
    vec = _model().embed_query(text)
    return list(vec.indices), list(vec.values)
