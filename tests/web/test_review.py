"""The curator review queue over HTTP: held documents, findings shown escaped, decisions."""

from __future__ import annotations

import csv

import pytest

from tests.conftest import copy_tree, manifest_row, write_manifest
from tests.web.conftest import web_settings_for

SENSITIVE = ("INFORME DE CASO\n\nLa denunciante Lucía Ejemplar Gómez <b>dejó</b> el teléfono +504 9555-0199 "
             "para que la acompañaran a la fiscalía. La ruta de atención respondió el mismo día.\n")


@pytest.fixture
def held_app(tmp_path, settings, ingested_template, small_corpus, embedder, taxonomy):

    from fastapi.testclient import TestClient

    from ingest.pipeline import Ingestor
    from web import create_app

    (small_corpus / "documentos" / "caso.txt").write_text(SENSITIVE, encoding="utf-8")
    with open(small_corpus / "manifest.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    write_manifest(small_corpus / "manifest.csv",
                   rows + [manifest_row("caso-sensible", "documentos/caso.txt", "Informe de caso")])
    data = tmp_path / "web-data"
    copy_tree(ingested_template, data)
    s = web_settings_for(settings, data, small_corpus)
    ing = Ingestor(s, embedder=embedder, taxonomy=taxonomy)
    assert {o.doc_id: o.status for o in ing.sync(small_corpus).outcomes}["caso-sensible"] == "retenido para revisión"
    ing.close()
    app = create_app(s, embedder=embedder, taxonomy=taxonomy)
    with TestClient(app) as c:
        yield c
    app.state.kb.close()


def test_queue_requires_sign_in_and_decisions_require_csrf(held_app):
    from tests.web.conftest import login

    assert held_app.get("/curaduria/revision", follow_redirects=False).status_code in (303, 307, 401)
    r = held_app.post("/curaduria/revision/caso-sensible", data={"decision": "aprobado"})
    assert r.status_code == 401
    login(held_app)
    r = held_app.post("/curaduria/revision/caso-sensible", data={"decision": "aprobado"})
    assert r.status_code == 403
    assert "caso-sensible" in held_app.get("/curaduria/revision").text  # still held


def test_held_document_is_hidden_and_findings_are_escaped(held_app):
    from tests.web.conftest import login

    assert held_app.get("/documentos/caso-sensible").status_code == 404
    assert "caso-sensible" not in held_app.get("/api/buscar", params={"q": "denunciante fiscalía"}).text
    login(held_app)
    page = held_app.get("/curaduria/revision").text
    assert "Teléfono" in page and "9555-0199" in page
    assert "<b>dejó</b>" not in page and "&lt;b&gt;" in page


def test_redact_publishes_protected_text_and_hides_original(held_app):
    from tests.web.conftest import login

    token = login(held_app)
    r = held_app.post("/curaduria/revision/caso-sensible", data={"decision": "redactado", "csrf_token": token})
    assert r.status_code == 200 and "dato protegido" in r.text
    doc = held_app.get("/documentos/caso-sensible")
    assert doc.status_code == 200
    assert "[dato protegido]" in doc.text and "9555-0199" not in doc.text and "Lucía Ejemplar" not in doc.text
    assert held_app.get("/documentos/caso-sensible/archivo").status_code == 404
    found = held_app.get("/api/buscar", params={"q": "ruta de atención respondió el mismo día"}).json()
    assert "caso-sensible" in [r["doc_id"] for r in found["results"]]
