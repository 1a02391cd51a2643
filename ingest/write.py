"""Stage 4: embedded chunks -> one document generation in the index, published whole."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from ingest.chunk import ChunkedDocument
from ingest.embed import EmbeddedChunk
from ingest.manifest import DocumentMeta
from search.store import Record, Store


@dataclass(frozen=True)
class SourceInfo:
    sha256: str
    file_type: str
    pipeline: str  # signature of the settings that shaped the chunks and vectors


def build_records(meta: DocumentMeta, doc: ChunkedDocument, embedded: list[EmbeddedChunk],
                  source: SourceInfo, review: dict | None = None) -> list[Record]:
    """The points of one document: a document record (mean vector, for similarity) and its chunks."""
    review = review or {"revision": ""}
    # The review state is on every point (filters, curator list); the findings themselves,
    # which quote personal data, only on the document record of a held document.
    base = meta.payload() | {"file_type": source.file_type, "revision": review.get("revision", "")}
    records = []
    for e in embedded:
        c = e.chunk
        records.append(Record(
            id="",  # assigned per generation by the store
            payload=base | {
                "kind": "chunk",
                "chunk_index": c.index,
                "chunk_count": len(embedded),
                "text": c.text,
                "section": c.section,
                "page_start": c.page_start,
                "page_end": c.page_end,
                "char_start": c.char_start,
                "char_end": c.char_end,
            },
            dense=list(e.dense),
            sparse=(list(e.sparse[0]), list(e.sparse[1])),
        ))
    mean = np.mean(np.asarray([e.dense for e in embedded], dtype=np.float32), axis=0)
    norm = float(np.linalg.norm(mean)) or 1.0
    records.insert(0, Record(
        id="",
        payload=base | {
            "kind": "doc",
            "chunk_count": len(embedded),
            "n_pages": doc.n_pages,
            "n_chars": len(doc.text),
            "file_sha256": source.sha256,
            "meta_hash": meta.meta_hash(),
            "pipeline": source.pipeline,
            "ingested_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "hallazgos": review.get("hallazgos", []),
        },
        dense=(mean / norm).tolist(),
    ))
    return records


def write(store: Store, meta: DocumentMeta, doc: ChunkedDocument, embedded: list[EmbeddedChunk],
          source: SourceInfo, *, status: str = "published", review: dict | None = None) -> int:
    """Replace the document in the index (published, or held for review); returns the new generation."""
    return store.replace_document(meta.id, build_records(meta, doc, embedded, source, review), status=status)
