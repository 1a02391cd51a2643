"""The index: one small interface over Qdrant, two backends.

- EdgeStore: the Qdrant engine in-process (qdrant-edge-py), a shard under the data dir.
- ClientStore: a Qdrant server or cluster through qdrant-client (KB_QDRANT_URL), also
  QdrantClient(":memory:") in tests.

Consistency: a document is written as a new generation of points in status "staging",
then published with one payload update and its older generations deleted. Each point
carries its generation's chunk count, so on open `recover()` can tell a complete staged
generation (roll forward) from a half-written one (roll back). Readers only see
status="published", and search keeps the newest generation of a document if it ever
meets two, so no reader sees a mix or a half.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from search.errors import EmbedderMismatch, StoreError

log = logging.getLogger(__name__)

DENSE = "dense"
SPARSE = "bm25"
META_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "kb-vbg/meta"))
SCHEMA_VERSION = 1

KEYWORD_FIELDS = [
    "kind", "status", "doc_id", "tipo_documento", "paises", "nivel_gobierno", "areas_intervencion",
    "poblaciones", "formas_violencia", "estandares", "nivel_evidencia", "idioma", "revision",
]
INTEGER_FIELDS = ["anio", "gen", "chunk_index"]


# ---------------------------------------------------------------- filters


@dataclass(frozen=True)
class AnyOf:
    field: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Range:
    field: str
    gte: float | None = None
    lte: float | None = None


@dataclass(frozen=True)
class Where:
    """Conjunction of conditions; `must_not` excludes any point matching one of its conditions."""

    must: tuple[AnyOf | Range, ...] = ()
    must_not: tuple[AnyOf, ...] = ()

    def and_(self, *conds: AnyOf | Range) -> "Where":
        return Where(self.must + tuple(conds), self.must_not)

    def excluding(self, *conds: AnyOf) -> "Where":
        return Where(self.must, self.must_not + tuple(conds))


def eq(field_name: str, *values: Any) -> AnyOf:
    return AnyOf(field_name, tuple(values))


PUBLISHED_CHUNKS = Where((eq("kind", "chunk"), eq("status", "published")))
PUBLISHED_DOCS = Where((eq("kind", "doc"), eq("status", "published")))


@dataclass
class Record:
    id: str
    payload: dict
    dense: list[float] | None = None
    sparse: tuple[list[int], list[float]] | None = None


@dataclass
class Hit:
    id: str
    score: float
    payload: dict = field(default_factory=dict)
    dense: list[float] | None = None


# ---------------------------------------------------------------- base


class Store:
    """Protocol shared by both backends; subclasses implement the primitive operations."""

    def __init__(self) -> None:
        self._write_lock = threading.RLock()

    # primitives ---------------------------------------------------------
    def _upsert(self, records: list[Record]) -> None: raise NotImplementedError
    def _set_payload(self, where: Where, payload: dict) -> None: raise NotImplementedError
    def _delete(self, where: Where) -> None: raise NotImplementedError
    def _scroll(self, where: Where | None, with_vectors: bool = False) -> list[Hit]: raise NotImplementedError
    def count(self, where: Where | None = None) -> int: raise NotImplementedError
    def facet(self, field_name: str, where: Where | None = None, limit: int = 100) -> dict[Any, int]: raise NotImplementedError
    def query(self, *, dense: list[float] | None, sparse: tuple[list[int], list[float]] | None,
              where: Where | None, limit: int, offset: int = 0, prefetch_limit: int = 100,
              fusion_k: int = 60, weights: tuple[float, float] = (1.0, 1.0)) -> list[Hit]: raise NotImplementedError
    def close(self) -> None: ...
    def flush(self) -> None: ...
    def drop(self) -> None: raise NotImplementedError

    # metadata ------------------------------------------------------------
    def check_embedder(self, name: str, dim: int) -> None:
        """Record the embedder on first use; refuse to mix vectors from another one."""
        meta = self._scroll(Where((eq("kind", "meta"),)))
        if not meta:
            self._upsert([Record(META_ID, {"kind": "meta", "embedder": name, "dim": dim, "schema": SCHEMA_VERSION})])
            return
        stored = meta[0].payload
        if stored.get("embedder") != name or int(stored.get("dim", 0)) != dim:
            raise EmbedderMismatch(
                f"El índice se creó con el modelo «{stored.get('embedder')}» ({stored.get('dim')} dimensiones) "
                f"y la configuración actual usa «{name}» ({dim}). Ejecute «kb reindex» para reconstruirlo "
                "con el modelo nuevo, o vuelva a configurar el modelo anterior.",
                f"embedder mismatch: index={stored.get('embedder')}/{stored.get('dim')} settings={name}/{dim}",
            )

    def embedder_info(self) -> dict | None:
        meta = self._scroll(Where((eq("kind", "meta"),)))
        return meta[0].payload if meta else None

    # documents -----------------------------------------------------------
    def replace_document(self, doc_id: str, records: list[Record], batch: int = 64, status: str = "published") -> int:
        """Write a new generation of a document (its doc record and chunks) and publish it whole.

        `status` is what the generation becomes once complete: "published" (searchable) or
        "held" (kept for curator review, invisible to search)."""
        gen = time.time_ns()
        total = len(records)
        # Ids are unique per generation: reusing the live points' ids would overwrite them
        # before the new generation is complete.
        records = [Record(point_id(doc_id, gen, i),
                          r.payload | {"doc_id": doc_id, "gen": gen, "status": "staging", "gen_size": total,
                                       "final_status": status},
                          r.dense, r.sparse)
                   for i, r in enumerate(records)]
        with self._write_lock:
            for start in range(0, total, batch):
                self._upsert(records[start:start + batch])
            self._publish(doc_id, gen, status)
        return gen

    def _publish(self, doc_id: str, gen: int, status: str = "published") -> None:
        # Publish first, then drop older generations: between the two steps a reader could
        # meet two generations, and search keeps the newest; the other order would leave
        # the document missing.
        self._set_payload(Where((eq("doc_id", doc_id), eq("gen", gen))), {"status": status})
        self._delete(Where((eq("doc_id", doc_id),)).excluding(eq("gen", gen)))

    def delete_document(self, doc_id: str) -> None:
        with self._write_lock:
            self._delete(Where((eq("doc_id", doc_id),)))

    def update_document_payload(self, doc_id: str, payload: dict) -> None:
        """Change metadata on every point of a document in one operation (no re-embedding)."""
        with self._write_lock:
            self._set_payload(Where((eq("doc_id", doc_id),)), payload)

    def documents(self, where: Where | None = None, statuses: tuple[str, ...] = ("published",)) -> list[dict]:
        """Document records (one per document) in the given statuses, e.g. ("published", "held")."""
        base = Where((eq("kind", "doc"), eq("status", *statuses)))
        if where is not None:
            base = Where(base.must + where.must, where.must_not)
        return [h.payload for h in self._scroll(base)]

    def set_status(self, doc_id: str, status: str, payload: dict | None = None) -> None:
        """Move every point of a document to `status` (e.g. held -> published) in one operation."""
        with self._write_lock:
            self._set_payload(Where((eq("doc_id", doc_id),)).excluding(eq("status", "staging")),
                              {"status": status} | (payload or {}))

    def document(self, doc_id: str, with_vector: bool = False) -> Hit | None:
        hits = self._scroll(PUBLISHED_DOCS.and_(eq("doc_id", doc_id)), with_vectors=with_vector)
        return max(hits, key=lambda h: h.payload.get("gen", 0)) if hits else None

    def chunks(self, doc_id: str) -> list[dict]:
        """All published chunks of a document, in reading order, newest generation only."""
        hits = self._scroll(PUBLISHED_CHUNKS.and_(eq("doc_id", doc_id)))
        if not hits:
            return []
        newest = max(h.payload["gen"] for h in hits)
        return sorted((h.payload | {"point_id": h.id} for h in hits if h.payload["gen"] == newest),
                      key=lambda p: p["chunk_index"])

    def recover(self) -> dict[str, str]:
        """Finish or undo what a crashed writer left; returns {doc_id: 'rolled forward'|'rolled back'}."""
        outcome: dict[str, str] = {}
        with self._write_lock:
            staged = self._scroll(Where((eq("status", "staging"),)))
            groups: dict[tuple[str, int], list[Hit]] = {}
            for h in staged:
                groups.setdefault((h.payload["doc_id"], h.payload["gen"]), []).append(h)
            for (doc_id, gen), hits in groups.items():
                expected = hits[0].payload.get("gen_size", -1)
                if len(hits) == expected:
                    self._publish(doc_id, gen, hits[0].payload.get("final_status", "published"))
                    outcome[doc_id] = "rolled forward"
                else:
                    self._delete(Where((eq("doc_id", doc_id), eq("gen", gen))))
                    outcome[doc_id] = "rolled back"
            # A crash between publish and cleanup leaves two published generations.
            by_doc: dict[str, set[int]] = {}
            for h in self._scroll(Where((eq("status", "published", "held"),))):
                by_doc.setdefault(h.payload["doc_id"], set()).add(h.payload["gen"])
            for doc_id, gens in by_doc.items():
                if len(gens) > 1:
                    self._delete(Where((eq("doc_id", doc_id),)).excluding(eq("gen", max(gens))))
                    outcome.setdefault(doc_id, "cleaned")
        if outcome:
            log.warning("recovered interrupted writes: %s", outcome)
        return outcome


# ---------------------------------------------------------------- embedded (Qdrant Edge)


class EdgeStore(Store):
    def __init__(self, path: Path, dim: int):
        super().__init__()
        import qdrant_edge as qe

        self.qe = qe
        self.path = Path(path)
        self.dim = dim
        try:
            if (self.path / "edge_config.json").exists():
                self.shard = qe.EdgeShard.load(str(self.path))
            else:
                self.path.mkdir(parents=True, exist_ok=True)
                self.shard = qe.EdgeShard.create(str(self.path), self._config(dim))
                self._create_indexes()
        except Exception as exc:
            if isinstance(exc, StoreError):
                raise
            raise StoreError(
                "No se pudo abrir el índice local. Compruebe que ningún otro proceso lo esté usando.",
                f"cannot open Qdrant Edge shard at {self.path}: {exc}",
            ) from exc

    def _config(self, dim: int):
        qe = self.qe
        return qe.EdgeConfig(
            vectors={DENSE: qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine)},
            sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
        )

    def _create_indexes(self) -> None:
        qe = self.qe
        for name in KEYWORD_FIELDS:
            self.shard.update(qe.UpdateOperation.create_field_index(name, qe.PayloadSchemaType.Keyword))
        for name in INTEGER_FIELDS:
            self.shard.update(qe.UpdateOperation.create_field_index(name, qe.PayloadSchemaType.Integer))

    def _filter(self, where: Where | None):
        if where is None:
            return None
        qe = self.qe

        def cond(c):
            if isinstance(c, Range):
                return qe.FieldCondition(c.field, range=qe.RangeFloat(gte=c.gte, lte=c.lte))
            if len(c.values) == 1:
                return qe.FieldCondition(c.field, match=qe.MatchValue(c.values[0]))
            return qe.FieldCondition(c.field, match=qe.MatchAny(list(c.values)))

        return qe.Filter(must=[cond(c) for c in where.must] or None,
                         must_not=[cond(c) for c in where.must_not] or None)

    def _run(self, op) -> None:
        try:
            self.shard.update(op)
        except Exception as exc:
            raise StoreError("No se pudo escribir en el índice.", f"edge update failed: {exc}") from exc

    def _upsert(self, records: list[Record]) -> None:
        qe = self.qe
        points = []
        for r in records:
            vector: dict = {}
            if r.dense is not None:
                vector[DENSE] = [float(x) for x in r.dense]
            if r.sparse is not None and r.sparse[0]:
                vector[SPARSE] = qe.SparseVector(list(r.sparse[0]), list(r.sparse[1]))
            points.append(qe.Point(r.id, vector, r.payload))
        self._run(qe.UpdateOperation.upsert_points(points))

    def _set_payload(self, where: Where, payload: dict) -> None:
        self._run(self.qe.UpdateOperation.set_payload_by_filter(self._filter(where), payload))

    def _delete(self, where: Where) -> None:
        self._run(self.qe.UpdateOperation.delete_points_by_filter(self._filter(where)))

    def _scroll(self, where: Where | None, with_vectors: bool = False) -> list[Hit]:
        qe = self.qe
        out: list[Hit] = []
        offset = None
        while True:
            records, offset = self.shard.scroll(qe.ScrollRequest(
                offset=offset, limit=512, filter=self._filter(where), with_payload=True,
                with_vector=[DENSE] if with_vectors else False))
            for r in records:
                dense = None
                if with_vectors and r.vector:
                    dense = list(r.vector.get(DENSE, [])) or None
                out.append(Hit(str(r.id), 0.0, dict(r.payload or {}), dense))
            if offset is None:
                return out

    def count(self, where: Where | None = None) -> int:
        return self.shard.count(self.qe.CountRequest(exact=True, filter=self._filter(where)))

    def facet(self, field_name: str, where: Where | None = None, limit: int = 100) -> dict[Any, int]:
        resp = self.shard.facet(self.qe.FacetRequest(field_name, limit=limit, exact=True, filter=self._filter(where)))
        return {h.value: h.count for h in resp.hits}

    def query(self, *, dense, sparse, where, limit, offset=0, prefetch_limit=100, fusion_k=60,
              weights=(1.0, 1.0)) -> list[Hit]:
        qe = self.qe
        flt = self._filter(where)
        dense_q = qe.Query.Nearest([float(x) for x in dense], using=DENSE) if dense is not None else None
        sparse_q = (qe.Query.Nearest(qe.SparseVector(list(sparse[0]), list(sparse[1])), using=SPARSE)
                    if sparse is not None and sparse[0] else None)
        if dense_q is not None and sparse_q is not None:
            request = qe.QueryRequest(
                limit=limit, offset=offset, with_payload=True, filter=flt,
                prefetches=[qe.Prefetch(limit=prefetch_limit, query=dense_q, filter=flt),
                            qe.Prefetch(limit=prefetch_limit, query=sparse_q, filter=flt)],
                query=qe.Fusion.Rrf(k=fusion_k, weights=list(weights)))
        elif dense_q is not None or sparse_q is not None:
            request = qe.QueryRequest(limit=limit, offset=offset, with_payload=True, filter=flt,
                                      query=dense_q if dense_q is not None else sparse_q)
        else:
            return []
        return [Hit(str(p.id), float(p.score), dict(p.payload or {})) for p in self.shard.query(request)]

    def flush(self) -> None:
        self.shard.flush()

    def close(self) -> None:
        try:
            self.shard.flush()
            self.shard.close()
        except Exception:  # closing twice is harmless
            pass

    def drop(self) -> None:
        self.close()
        shutil.rmtree(self.path, ignore_errors=True)


# ---------------------------------------------------------------- server (qdrant-client)


class ClientStore(Store):
    def __init__(self, client, collection: str, dim: int):
        super().__init__()
        from qdrant_client import models

        self.m = models
        self.client = client
        self.collection = collection
        self.dim = dim
        try:
            if not client.collection_exists(collection):
                client.create_collection(
                    collection,
                    vectors_config={DENSE: models.VectorParams(size=dim, distance=models.Distance.COSINE)},
                    sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
                )
                for name in KEYWORD_FIELDS:
                    client.create_payload_index(collection, name, models.PayloadSchemaType.KEYWORD)
                for name in INTEGER_FIELDS:
                    client.create_payload_index(collection, name, models.PayloadSchemaType.INTEGER)
        except Exception as exc:
            raise StoreError("No se pudo conectar con el servidor Qdrant.", f"qdrant server error: {exc}") from exc

    def _filter(self, where: Where | None):
        if where is None:
            return None
        m = self.m

        def cond(c):
            if isinstance(c, Range):
                return m.FieldCondition(key=c.field, range=m.Range(gte=c.gte, lte=c.lte))
            if len(c.values) == 1:
                return m.FieldCondition(key=c.field, match=m.MatchValue(value=c.values[0]))
            return m.FieldCondition(key=c.field, match=m.MatchAny(any=list(c.values)))

        return m.Filter(must=[cond(c) for c in where.must] or None,
                        must_not=[cond(c) for c in where.must_not] or None)

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise StoreError("El servidor Qdrant no respondió correctamente.", f"qdrant call failed: {exc}") from exc

    def _upsert(self, records: list[Record]) -> None:
        m = self.m
        points = []
        for r in records:
            vector: dict = {}
            if r.dense is not None:
                vector[DENSE] = [float(x) for x in r.dense]
            if r.sparse is not None and r.sparse[0]:
                vector[SPARSE] = m.SparseVector(indices=list(r.sparse[0]), values=list(r.sparse[1]))
            points.append(m.PointStruct(id=r.id, vector=vector, payload=r.payload))
        self._call(self.client.upsert, self.collection, points=points, wait=True)

    def _set_payload(self, where: Where, payload: dict) -> None:
        self._call(self.client.set_payload, self.collection, payload=payload,
                   points=m_filter_selector(self.m, self._filter(where)), wait=True)

    def _delete(self, where: Where) -> None:
        self._call(self.client.delete, self.collection,
                   points_selector=m_filter_selector(self.m, self._filter(where)), wait=True)

    def _scroll(self, where: Where | None, with_vectors: bool = False) -> list[Hit]:
        out: list[Hit] = []
        offset = None
        while True:
            records, offset = self._call(
                self.client.scroll, self.collection, scroll_filter=self._filter(where), limit=512,
                offset=offset, with_payload=True, with_vectors=[DENSE] if with_vectors else False)
            for r in records:
                dense = None
                if with_vectors and isinstance(r.vector, dict) and DENSE in r.vector:
                    dense = list(r.vector[DENSE])
                out.append(Hit(str(r.id), 0.0, dict(r.payload or {}), dense))
            if offset is None:
                return out

    def count(self, where: Where | None = None) -> int:
        return self._call(self.client.count, self.collection, count_filter=self._filter(where), exact=True).count

    def facet(self, field_name: str, where: Where | None = None, limit: int = 100) -> dict[Any, int]:
        resp = self._call(self.client.facet, self.collection, key=field_name, facet_filter=self._filter(where),
                          limit=limit, exact=True)
        return {h.value: h.count for h in resp.hits}

    def query(self, *, dense, sparse, where, limit, offset=0, prefetch_limit=100, fusion_k=60,
              weights=(1.0, 1.0)) -> list[Hit]:
        m = self.m
        flt = self._filter(where)
        sparse_vec = (m.SparseVector(indices=list(sparse[0]), values=list(sparse[1]))
                      if sparse is not None and sparse[0] else None)
        dense_vec = [float(x) for x in dense] if dense is not None else None
        if dense_vec is not None and sparse_vec is not None:
            resp = self._call(
                self.client.query_points, self.collection, limit=limit, offset=offset, with_payload=True,
                query_filter=flt,
                prefetch=[m.Prefetch(query=dense_vec, using=DENSE, limit=prefetch_limit, filter=flt),
                          m.Prefetch(query=sparse_vec, using=SPARSE, limit=prefetch_limit, filter=flt)],
                query=m.RrfQuery(rrf=m.Rrf(k=fusion_k, weights=list(weights))))
        elif dense_vec is not None or sparse_vec is not None:
            resp = self._call(
                self.client.query_points, self.collection, limit=limit, offset=offset, with_payload=True,
                query_filter=flt, query=dense_vec if dense_vec is not None else sparse_vec,
                using=DENSE if dense_vec is not None else SPARSE)
        else:
            return []
        return [Hit(str(p.id), float(p.score), dict(p.payload or {})) for p in resp.points]

    def drop(self) -> None:
        self._call(self.client.delete_collection, self.collection)

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:  # closing twice is harmless
            pass


def m_filter_selector(models, flt):
    return models.FilterSelector(filter=flt)


def open_store(settings, dim: int, client=None) -> Store:
    """The configured backend, recovered from any interrupted write."""
    if client is not None or settings.qdrant_url:
        if client is None:
            from qdrant_client import QdrantClient

            client = QdrantClient(url=settings.qdrant_url, api_key=settings.qdrant_api_key or None)
        store: Store = ClientStore(client, settings.collection, dim)
    else:
        store = EdgeStore(settings.shard_dir, dim)
    store.recover()
    return store


def point_id(*parts: Iterable[Any]) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "kb-vbg/" + "/".join(str(p) for p in parts)))
