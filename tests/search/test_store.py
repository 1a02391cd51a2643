"""The same store tests run against both backends: Qdrant Edge (embedded) and qdrant-client."""

from __future__ import annotations

import numpy as np
import pytest

from search.errors import EmbedderMismatch
from search.sparse import sparse_document, sparse_query
from search.store import (PUBLISHED_CHUNKS, PUBLISHED_DOCS, ClientStore, EdgeStore, Range, Record, Where, eq)

DIM = 8


@pytest.fixture(params=["edge", "client"])
def store(request, tmp_path):
    if request.param == "edge":
        s = EdgeStore(tmp_path / "shard", DIM)
    else:
        from qdrant_client import QdrantClient

        s = ClientStore(QdrantClient(":memory:"), "test", DIM)
    yield s
    s.close()


def vec(seed: int) -> list[float]:
    v = np.random.default_rng(seed).normal(size=DIM).astype(np.float32)
    return (v / np.linalg.norm(v)).tolist()


def doc_records(doc_id: str, texts: list[str], country: str = "guatemala", year: int = 2022, seed: int = 0):
    base = {"titulo": doc_id, "paises": [country], "anio": year, "tipo_documento": "buena-practica"}
    out = [Record("", base | {"kind": "doc", "chunk_count": len(texts)}, dense=vec(seed))]
    for i, t in enumerate(texts):
        out.append(Record("", base | {"kind": "chunk", "chunk_index": i, "text": t},
                          dense=vec(seed * 100 + i), sparse=sparse_document(t)))
    return out


def test_replace_publishes_whole_document_and_drops_old_generation(store):
    store.replace_document("a", doc_records("a", ["uno", "dos", "tres"]))
    assert [c["text"] for c in store.chunks("a")] == ["uno", "dos", "tres"]
    store.replace_document("a", doc_records("a", ["cuatro"]))
    assert [c["text"] for c in store.chunks("a")] == ["cuatro"]
    assert store.count(Where((eq("doc_id", "a"),))) == 2  # one doc record + one chunk
    assert store.count(Where((eq("status", "staging"),))) == 0


def test_delete_document_removes_every_point(store):
    store.replace_document("a", doc_records("a", ["uno"]))
    store.replace_document("b", doc_records("b", ["dos"], seed=1))
    store.delete_document("a")
    assert store.chunks("a") == []
    assert [d["doc_id"] for d in store.documents()] == ["b"]


def test_hybrid_dense_and_lexical_queries_respect_filters(store):
    store.replace_document("a", doc_records("a", ["casa refugio para mujeres migrantes"], "guatemala", 2020, seed=1))
    store.replace_document("b", doc_records("b", ["clínica jurídica móvil en aldeas"], "mexico", 2024, seed=2))
    lexical = store.query(dense=None, sparse=sparse_query("clínica jurídica"), where=PUBLISHED_CHUNKS, limit=5)
    assert lexical[0].payload["doc_id"] == "b"
    dense = store.query(dense=vec(100), sparse=None, where=PUBLISHED_CHUNKS, limit=5)
    assert dense[0].payload["doc_id"] == "a"  # vec(100) is exactly a's chunk vector
    hybrid = store.query(dense=vec(100), sparse=sparse_query("refugio"), where=PUBLISHED_CHUNKS, limit=5)
    assert hybrid[0].payload["doc_id"] == "a"
    only_mx = store.query(dense=vec(100), sparse=sparse_query("refugio"), limit=5,
                          where=PUBLISHED_CHUNKS.and_(eq("paises", "mexico")))
    assert {h.payload["doc_id"] for h in only_mx} == {"b"}
    recent = store.query(dense=vec(100), sparse=None, limit=5, where=PUBLISHED_CHUNKS.and_(Range("anio", gte=2023)))
    assert {h.payload["doc_id"] for h in recent} == {"b"}


def test_facets_count_documents(store):
    store.replace_document("a", doc_records("a", ["uno", "dos"], "guatemala", seed=1))
    store.replace_document("b", doc_records("b", ["tres"], "guatemala", seed=2))
    store.replace_document("c", doc_records("c", ["cuatro"], "panama", seed=3))
    assert store.facet("paises", PUBLISHED_DOCS) == {"guatemala": 2, "panama": 1}
    assert store.facet("paises", PUBLISHED_CHUNKS) == {"guatemala": 3, "panama": 1}


def test_metadata_update_touches_every_point_without_new_generation(store):
    store.replace_document("a", doc_records("a", ["uno", "dos"]))
    gen = store.document("a").payload["gen"]
    store.update_document_payload("a", {"titulo": "Nuevo título"})
    assert store.document("a").payload["gen"] == gen
    assert {c["titulo"] for c in store.chunks("a")} == {"Nuevo título"}


def test_recover_rolls_back_half_written_generation(store):
    store.replace_document("a", doc_records("a", ["viejo uno", "viejo dos"]))
    # A writer killed after one of three staged points: no reader sees them, recovery drops them.
    half = doc_records("a", ["nuevo uno", "nuevo dos"])
    staged = [Record(f"00000000-0000-0000-0000-00000000000{i}",
                     r.payload | {"doc_id": "a", "gen": 1, "status": "staging", "gen_size": 3}, r.dense, r.sparse)
              for i, r in enumerate(half[:1])]
    store._upsert(staged)
    assert [c["text"] for c in store.chunks("a")] == ["viejo uno", "viejo dos"]
    assert store.recover() == {"a": "rolled back"}
    assert store.count(Where((eq("status", "staging"),))) == 0
    assert [c["text"] for c in store.chunks("a")] == ["viejo uno", "viejo dos"]


def test_recover_rolls_forward_complete_generation(store):
    store.replace_document("a", doc_records("a", ["viejo"]))
    new = doc_records("a", ["nuevo"])
    gen = 2**62
    store._upsert([Record(f"00000000-0000-0000-0000-00000000001{i}",
                          r.payload | {"doc_id": "a", "gen": gen, "status": "staging", "gen_size": 2}, r.dense, r.sparse)
                   for i, r in enumerate(new)])
    assert store.recover() == {"a": "rolled forward"}
    assert [c["text"] for c in store.chunks("a")] == ["nuevo"]
    assert store.count(Where((eq("doc_id", "a"),))) == 2


def test_recover_keeps_newest_of_two_published_generations(store):
    store.replace_document("a", doc_records("a", ["viejo"]))
    new = doc_records("a", ["nuevo"])
    store._upsert([Record(f"00000000-0000-0000-0000-00000000002{i}",
                          r.payload | {"doc_id": "a", "gen": 2**62, "status": "published", "gen_size": 2},
                          r.dense, r.sparse) for i, r in enumerate(new)])
    assert store.recover() == {"a": "cleaned"}
    assert [c["text"] for c in store.chunks("a")] == ["nuevo"]


def test_embedder_is_recorded_and_mixing_is_refused(store):
    store.check_embedder("model-a", DIM)
    store.check_embedder("model-a", DIM)
    with pytest.raises(EmbedderMismatch) as exc:
        store.check_embedder("model-b", DIM)
    assert "kb reindex" in exc.value.user_message
    assert store.embedder_info()["embedder"] == "model-a"


def test_edge_store_persists_across_reopen(tmp_path):
    s = EdgeStore(tmp_path / "shard", DIM)
    s.replace_document("a", doc_records("a", ["uno", "dos"]))
    s.close()
    s2 = EdgeStore(tmp_path / "shard", DIM)
    assert [c["text"] for c in s2.chunks("a")] == ["uno", "dos"]
    s2.close()
