"""Documents with personal data are held, reviewed and only then published (or redacted/rejected)."""

from __future__ import annotations

import pytest

from ingest.pipeline import FAILED, HELD, Ingestor
from ingest.review import APPROVED, REDACTED, REJECTED
from search.core import SearchRequest, build_service
from search.errors import NotFound
from tests.conftest import copy_tree, manifest_row, write_manifest

SENSITIVE = ("INFORME DE CASO\n\nLa sobreviviente Rosa Ficticia Pérez llamó al +502 5555-0123 para pedir "
             "acompañamiento a la fiscalía de Villa Demostración. La ruta de atención funcionó en menos de una hora.\n")


@pytest.fixture
def held_env(tmp_path, small_corpus, ingested_template, settings, embedder, taxonomy):
    copy_tree(ingested_template, settings.data_dir)
    (small_corpus / "documentos" / "caso.txt").write_text(SENSITIVE, encoding="utf-8")
    import csv

    with open(small_corpus / "manifest.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    write_manifest(small_corpus / "manifest.csv", rows + [manifest_row("caso-sensible", "documentos/caso.txt",
                                                                       "Informe de caso con datos")])
    s = settings.model_copy(update={"corpus_dir": small_corpus})
    ing = Ingestor(s, embedder=embedder, taxonomy=taxonomy)
    report = ing.sync(small_corpus)
    yield ing, s, small_corpus, report
    ing.close()


def search_ids(ing, settings, taxonomy, query="sobreviviente fiscalía ruta de atención"):
    svc = build_service(settings, store=ing.store, embedder=ing.embedder, taxonomy=taxonomy)
    return svc, [r.doc_id for r in svc.search(SearchRequest(query=query, per_page=50)).results]


def test_document_with_personal_data_is_held_and_not_searchable(held_env, taxonomy):
    ing, settings, corpus, report = held_env
    outcome = {o.doc_id: o for o in report.outcomes}["caso-sensible"]
    assert outcome.status == HELD and "datos personales" in outcome.reason
    assert report.count(FAILED) == 0
    svc, ids = search_ids(ing, settings, taxonomy)
    assert "caso-sensible" not in ids
    with pytest.raises(NotFound):
        svc.document("caso-sensible")
    held = ing.held_documents()
    assert [d["doc_id"] for d in held] == ["caso-sensible"]
    kinds = {h["tipo"] for h in held[0]["hallazgos"]}
    assert {"telefono", "nombre"} <= kinds
    assert any("5555-0123" in h["contexto"] for h in held[0]["hallazgos"])
    # Unchanged and undecided: the next run leaves it held without re-embedding.
    again = ing.sync(corpus)
    assert {o.doc_id: o.status for o in again.outcomes}["caso-sensible"] == HELD
    assert again.passages_embedded == 0
    # Published documents never expose findings.
    assert all(not d.get("hallazgos") for d in ing.store.documents())


def test_approve_publishes_unchanged(held_env, taxonomy):
    ing, settings, corpus, _ = held_env
    ing.review("caso-sensible", APPROVED, corpus_dir=corpus)
    svc, ids = search_ids(ing, settings, taxonomy)
    assert "caso-sensible" in ids
    assert ing.held_documents() == []
    assert ing.sync(corpus).count(HELD) == 0  # the decision is remembered for this file version


def test_redact_replaces_spans_and_reembeds(held_env, taxonomy):
    ing, settings, corpus, _ = held_env
    ing.review("caso-sensible", REDACTED, corpus_dir=corpus)
    chunks = ing.store.chunks("caso-sensible")
    text = " ".join(c["text"] for c in chunks)
    assert "[dato protegido]" in text
    assert "5555-0123" not in text and "Rosa Ficticia" not in text
    assert "ruta de atención funcionó" in text
    svc, ids = search_ids(ing, settings, taxonomy)
    assert "caso-sensible" in ids
    # A rebuild from the original file applies the recorded decision again.
    report = ing.reindex(corpus)
    assert {o.doc_id: o.status for o in report.outcomes}["caso-sensible"] != HELD
    assert "5555-0123" not in " ".join(c["text"] for c in ing.store.chunks("caso-sensible"))


def test_reject_removes_and_keeps_failing_until_withdrawn(held_env):
    ing, settings, corpus, _ = held_env
    ing.review("caso-sensible", REJECTED, corpus_dir=corpus)
    assert ing.store.chunks("caso-sensible") == []
    assert ing.held_documents() == []
    outcome = {o.doc_id: o for o in ing.sync(corpus).outcomes}["caso-sensible"]
    assert outcome.status == FAILED and "rechazado" in outcome.reason


def test_cli_totals_count_held_documents(tmp_path, small_corpus):
    """`kb ingest` says how many documents wait for review in its totals line, not only in the table."""
    import csv
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    (small_corpus / "documentos" / "caso.txt").write_text(SENSITIVE, encoding="utf-8")
    with open(small_corpus / "manifest.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    write_manifest(small_corpus / "manifest.csv", rows + [manifest_row("caso-sensible", "documentos/caso.txt",
                                                                       "Informe de caso con datos")])
    env = os.environ | {"KB_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(REPO), "COLUMNS": "300"}
    done = subprocess.run([sys.executable, "-c", "import kb; kb.main()", "ingest", str(small_corpus)], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    totals = [line for line in done.stdout.splitlines() if "fragmentos embebidos" in line]
    assert totals and "1 retenido para revisión" in totals[-1]
