"""The whole pipeline on real files, a real embedded Qdrant store and the real bundled model."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.pipeline import ADDED, FAILED, METADATA, REMOVED, UNCHANGED, UPDATED, Ingestor
from search.store import PUBLISHED_CHUNKS, Where, eq
from tests.conftest import PAGE3_SENTENCE, REPO, copy_tree, manifest_row, write_manifest

KB = [sys.executable, "-c", "import kb; kb.main()"]


@pytest.fixture
def ingestor(tmp_path, ingested_template, settings, embedder, taxonomy):
    copy_tree(ingested_template, settings.data_dir)
    ing = Ingestor(settings, embedder=embedder, taxonomy=taxonomy)
    yield ing
    ing.close()


def read_rows(corpus: Path) -> list[dict]:
    import csv

    with open(corpus / "manifest.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_every_format_is_ingested_with_provenance(ingestor):
    docs = {d["doc_id"]: d for d in ingestor.store.documents()}
    assert set(docs) == {"ruta-frontera", "albergue-escaneado", "clinica-movil", "policia-municipal",
                         "indicadores-acogida", "transferencias", "escuelas", "red-comunitaria"}
    assert docs["ruta-frontera"]["file_type"] == "pdf" and docs["ruta-frontera"]["n_pages"] == 3
    chunks = ingestor.store.chunks("ruta-frontera")
    page3 = [c for c in chunks if PAGE3_SENTENCE in c["text"]]
    assert len(page3) == 1 and page3[0]["page_start"] == page3[0]["page_end"] == 3
    assert page3[0]["section"] == "Resultados"
    assert page3[0]["paises"] == ["guatemala"] and page3[0]["titulo"] == "Ruta de atención en la frontera"
    ocr = " ".join(c["text"] for c in ingestor.store.chunks("albergue-escaneado"))
    assert "mujeres migrantes" in ocr
    slides = ingestor.store.chunks("policia-municipal")
    assert [c["section"] for c in slides] == ["Primera respuesta", "Derivación"]
    assert [(c["page_start"], c["page_end"]) for c in slides] == [(1, 2), (3, 3)]
    for doc_id, doc in docs.items():
        assert len(ingestor.store.chunks(doc_id)) == doc["chunk_count"] > 0


def test_unchanged_corpus_reembeds_nothing(ingestor, small_corpus):
    report = ingestor.sync(small_corpus)
    assert {o.status for o in report.outcomes} == {UNCHANGED}
    assert report.passages_embedded == 0


def test_touching_one_file_updates_exactly_that_document(ingestor, small_corpus):
    before = {d["doc_id"]: d["gen"] for d in ingestor.store.documents()}
    md = small_corpus / "documentos" / "escuelas.md"
    md.write_text(md.read_text(encoding="utf-8") + "\n## Familias\n\nLas familias participan en jornadas abiertas.\n",
                  encoding="utf-8")
    report = ingestor.sync(small_corpus)
    status = {o.doc_id: o.status for o in report.outcomes}
    assert status.pop("escuelas") == UPDATED
    assert set(status.values()) == {UNCHANGED}
    # Unchanged sections of the edited document come from the embedding cache.
    assert report.passages_embedded == 1
    after = {d["doc_id"]: d["gen"] for d in ingestor.store.documents()}
    assert after["escuelas"] != before["escuelas"]
    assert {k: v for k, v in after.items() if k != "escuelas"} == {k: v for k, v in before.items() if k != "escuelas"}
    assert "jornadas abiertas" in ingestor.store.chunks("escuelas")[-1]["text"]


def test_metadata_change_updates_payload_without_reembedding(ingestor, small_corpus):
    rows = read_rows(small_corpus)
    for r in rows:
        if r["id"] == "transferencias":
            r["titulo"] = "Transferencias monetarias con gestión de casos"
            r["paises"] = "panama|costa-rica"
    write_manifest(small_corpus / "manifest.csv", rows)
    report = ingestor.sync(small_corpus)
    assert {o.doc_id: o.status for o in report.outcomes}["transferencias"] == METADATA
    assert report.passages_embedded == 0
    chunks = ingestor.store.chunks("transferencias")
    assert {c["titulo"] for c in chunks} == {"Transferencias monetarias con gestión de casos"}
    assert all(c["paises"] == ["panama", "costa-rica"] for c in chunks)
    assert ingestor.sync(small_corpus).count(UNCHANGED) == 8


def test_removing_a_row_deletes_its_chunks(ingestor, small_corpus):
    rows = [r for r in read_rows(small_corpus) if r["id"] != "clinica-movil"]
    write_manifest(small_corpus / "manifest.csv", rows)
    report = ingestor.sync(small_corpus)
    assert {o.doc_id: o.status for o in report.outcomes}["clinica-movil"] == REMOVED
    assert ingestor.store.chunks("clinica-movil") == []
    assert ingestor.store.count(PUBLISHED_CHUNKS.and_(eq("doc_id", "clinica-movil"))) == 0


def bad_batch(corpus: Path) -> None:
    docs = corpus / "documentos"
    (docs / "roto.docx").write_bytes(b"PK\x03\x04 esto no es un docx completo")
    from PIL import Image

    Image.new("RGB", (600, 800), "white").save(str(docs / "vacio.pdf"), resolution=100)
    rows = read_rows(corpus) + [
        manifest_row("documento-roto", "documentos/roto.docx", "Documento dañado"),
        manifest_row("pdf-vacio", "documentos/vacio.pdf", "PDF sin texto"),
        manifest_row("pais-desconocido", "documentos/red.txt", "País desconocido", paises="Atlántida"),
    ]
    write_manifest(corpus / "manifest.csv", rows)


def test_bad_documents_fail_alone_with_spanish_reasons(tmp_path, small_corpus, settings, embedder, taxonomy):
    bad_batch(small_corpus)
    ing = Ingestor(settings, embedder=embedder, taxonomy=taxonomy)
    try:
        report = ing.sync(small_corpus)
        by_id = {o.doc_id: o for o in report.outcomes}
        assert by_id["documento-roto"].status == FAILED and "DOCX" in by_id["documento-roto"].reason
        assert by_id["pdf-vacio"].status == FAILED and "no contiene texto" in by_id["pdf-vacio"].reason
        assert by_id["pais-desconocido"].status == FAILED and "Atlántida" in by_id["pais-desconocido"].reason
        assert sum(o.status == ADDED for o in report.outcomes) == 8
        assert {d["doc_id"] for d in ing.store.documents()} >= {"ruta-frontera", "escuelas"}
        assert not {"documento-roto", "pdf-vacio", "pais-desconocido"} & {d["doc_id"] for d in ing.store.documents()}
    finally:
        ing.close()


def run_kb(args: list[str], data_dir: Path, **kw) -> subprocess.CompletedProcess:
    env = os.environ | {"KB_DATA_DIR": str(data_dir), "PYTHONPATH": str(REPO)}
    return subprocess.run(KB + args, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, **kw)


def test_cli_exit_status_is_one_when_a_document_fails(tmp_path, small_corpus):
    bad_batch(small_corpus)
    done = run_kb(["ingest", str(small_corpus)], tmp_path / "cli-data")
    assert done.returncode == 1, done.stderr
    assert "fallido" in done.stdout and "añadido" in done.stdout
    assert "Atlántida" in done.stdout.replace("\n", " ") or "Atlántida" in done.stdout
    again = run_kb(["ingest", str(small_corpus)], tmp_path / "cli-data")
    assert again.returncode == 1
    assert "sin cambios" in again.stdout and "0 fragmentos embebidos" in again.stdout


def snapshot(data_dir: Path, embedder, taxonomy) -> dict[str, list[str]]:
    from search.settings import Settings

    s = Settings(data_dir=data_dir, _env_file=None)
    ing = Ingestor(s, embedder=embedder, taxonomy=taxonomy)
    try:
        store = ing.store
        assert store.count(Where((eq("status", "staging"),))) == 0
        state = {}
        for doc in store.documents():
            chunks = store.chunks(doc["doc_id"])
            assert len(chunks) == doc["chunk_count"], f"half document {doc['doc_id']}"
            assert {c["gen"] for c in chunks} == {doc["gen"]}
            state[doc["doc_id"]] = [c["text"] for c in chunks]
        # Search still works after the crash.
        hits = store.query(dense=None, sparse=([1], [1.0]), where=PUBLISHED_CHUNKS, limit=3)
        assert isinstance(hits, list)
        return state
    finally:
        ing.close()


def test_sigkill_mid_ingest_leaves_whole_documents_and_rerun_converges(tmp_path, small_corpus, embedder, taxonomy,
                                                                       ingested_template):
    expected = snapshot(ingested_template, embedder, taxonomy)
    data = tmp_path / "killed"
    env = os.environ | {"KB_DATA_DIR": str(data), "PYTHONPATH": str(REPO), "KB_EMBED_BATCH_SIZE": "1"}
    rng = random.Random(7)
    kills = 0
    for attempt in range(4):
        proc = subprocess.Popen(KB + ["ingest", str(small_corpus)], cwd=REPO, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(4.0, 9.0))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        state = snapshot(data, embedder, taxonomy)
        for doc_id, texts in state.items():
            assert texts == expected[doc_id]
        shutil.rmtree(data / "qdrant", ignore_errors=True)  # next attempt starts from an empty index
    assert kills >= 1
    proc = subprocess.run(KB + ["ingest", str(small_corpus)], cwd=REPO, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert snapshot(data, embedder, taxonomy) == expected
