"""Stage 3: chunks -> dense (e5) and sparse (BM25) vectors, with a persistent embedding cache.

Passage embedding is the slowest step of ingestion, so vectors are cached by the hash of the
exact text embedded and the embedder's name: re-ingesting unchanged text costs nothing.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.chunk import Chunk
from search.embedders import Embedder
from search.sparse import sparse_document


@dataclass(frozen=True)
class EmbeddedChunk:
    chunk: Chunk
    dense: tuple[float, ...]
    sparse: tuple[tuple[int, ...], tuple[float, ...]]


class EmbeddingCache:
    def __init__(self, path: Path | None):
        self._lock = threading.Lock()
        if path is None:
            self._db = sqlite3.connect(":memory:", check_same_thread=False)
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS emb (model TEXT, hash TEXT, vec BLOB, PRIMARY KEY (model, hash))")

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def get_many(self, model: str, keys: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                batch = keys[start:start + 500]
                marks = ",".join("?" * len(batch))
                rows = self._db.execute(f"SELECT hash, vec FROM emb WHERE model=? AND hash IN ({marks})", [model, *batch])
                for h, blob in rows:
                    found[h] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, model: str, items: dict[str, np.ndarray]) -> None:
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO emb VALUES (?,?,?)",
                                 [(model, h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in items.items()])
            self._db.commit()

    def close(self) -> None:
        self._db.close()


def passage_text(title: str, section: str, text: str) -> str:
    """What is embedded: the passage with its document title and section as context."""
    head = [title] if title else []
    if section and section != title and not text.startswith(section):
        head.append(section)
    return " — ".join(head) + "\n" + text if head else text


def embed(chunks: list[Chunk], title: str, embedder: Embedder, cache: EmbeddingCache,
          batch_size: int = 16, on_batch=None) -> list[EmbeddedChunk]:
    texts = [passage_text(title, c.section, c.text) for c in chunks]
    keys = [EmbeddingCache.key(t) for t in texts]
    cached = cache.get_many(embedder.name, keys)
    todo = [i for i, k in enumerate(keys) if k not in cached]
    for start in range(0, len(todo), batch_size):
        idx = todo[start:start + batch_size]
        vectors = embedder.embed_passages([texts[i] for i in idx])
        fresh = {keys[i]: vectors[j] for j, i in enumerate(idx)}
        cache.put_many(embedder.name, fresh)
        cached.update(fresh)
        if on_batch:
            on_batch(len(idx))
    out = []
    for c, t, k in zip(chunks, texts, keys):
        indices, values = sparse_document(t)
        out.append(EmbeddedChunk(c, tuple(float(x) for x in cached[k]), (tuple(indices), tuple(values))))
    return out
