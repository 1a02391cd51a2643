"""Curator routes over HTTP: sign-in, CSRF, upload validation, ingest jobs, edit, delete, reindex."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from tests.conftest import make_docx
from tests.web.conftest import CURATOR, PASSWORD, wait_for_job

META = {
    "titulo": "Casa de la mujer rural", "id": "", "tipo_documento": "buena-practica", "nivel_gobierno": "municipal",
    "paises": "honduras", "municipio": "San Ejemplo", "anio": "2022", "organizacion": "Alcaldía de San Ejemplo",
    "areas_intervencion": ["atencion-respuesta", "proteccion"], "poblaciones": "indigenas",
    "formas_violencia": "fisica", "estandares": "", "url_fuente": "https://example.org/casa",
    "idioma": "es", "nivel_evidencia": "documentada",
}
UNIQUE = "La casa de la mujer rural ofrece hospedaje con huerto medicinal y talleres de alfarería."


def manifest_ids(corpus: Path) -> list[str]:
    with open(corpus / "manifest.csv", encoding="utf-8") as f:
        return [r["id"] for r in csv.DictReader(f)]


def index_ids(app) -> set[str]:
    return {d["doc_id"] for d in app.state.kb.service.store.documents()}


def corpus_files(corpus: Path) -> set[str]:
    return {p.name for p in (corpus / "documentos").iterdir()}


@pytest.fixture
def docx_file(tmp_path) -> Path:
    return make_docx(tmp_path / "Casa de la Mujer (versión final).docx", "Casa de la mujer rural", [
        ("Servicios", [UNIQUE]),
        ("Equipo", ["Una promotora comunitaria acompaña a cada usuaria durante su estancia."]),
    ])


def upload(client, token, path: Path | None, meta=META, filename=None):
    files = {"archivo": (filename or path.name, path.read_bytes(), "application/octet-stream")} if path else None
    data = dict(meta) | ({"csrf_token": token} if token else {})
    return client.post("/curaduria/documentos", data=data, files=files, follow_redirects=False)


# ---------------------------------------------------------------- sign-in and protection


WRITES = [
    ("/curaduria/documentos", {"titulo": "x"}),
    ("/curaduria/documentos/ruta-frontera/metadatos", {"titulo": "Cambiado"}),
    ("/curaduria/documentos/ruta-frontera/eliminar", {}),
    ("/curaduria/reindexar", {}),
    ("/curaduria/salir", {}),
]


def test_anonymous_writes_get_401_and_change_nothing(client, app, web_settings, docx_file):
    before = (manifest_ids(web_settings.corpus_dir), index_ids(app), corpus_files(web_settings.corpus_dir))
    for url, data in WRITES:
        r = client.post(url, data=data, follow_redirects=False)
        assert r.status_code == 401, url
        assert "Inicie sesión" in r.text
    r = upload(client, None, docx_file)
    assert r.status_code == 401
    after = (manifest_ids(web_settings.corpus_dir), index_ids(app), corpus_files(web_settings.corpus_dir))
    assert after == before
    assert client.get("/api/documentos/ruta-frontera").json()["title"] == "Ruta de atención en la frontera"


def test_curator_pages_redirect_anonymous_to_sign_in(client):
    for url in ("/curaduria", "/curaduria/documentos/nuevo", "/curaduria/documentos/ruta-frontera/editar",
                "/curaduria/tareas/abc"):
        r = client.get(url, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/curaduria/entrar?siguiente=")
    # htmx polling after the session ended: a 401, not a redirect into the fragment.
    assert client.get("/curaduria/tareas/abc", headers={"HX-Request": "true"}).status_code == 401


def test_sign_in_sets_a_strict_httponly_session(client):
    page = client.get("/curaduria/entrar")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    wrong = client.post("/curaduria/entrar", data={"usuario": CURATOR, "contrasena": "otra", "csrf_token": token})
    assert wrong.status_code == 401 and "Usuario o contraseña incorrectos" in wrong.text
    assert "kb_sesion" not in client.cookies
    r = client.post("/curaduria/entrar", data={"usuario": CURATOR, "contrasena": PASSWORD, "csrf_token": token,
                                               "siguiente": "//evil.example/"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/curaduria"  # no open redirect
    cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("kb_sesion="))
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    assert client.get("/curaduria").status_code == 200


def test_sign_in_form_itself_needs_its_csrf_token(client):
    client.get("/curaduria/entrar")
    r = client.post("/curaduria/entrar", data={"usuario": CURATOR, "contrasena": PASSWORD, "csrf_token": "falso"})
    assert r.status_code == 403 and "kb_sesion" not in client.cookies


def test_tampered_session_is_anonymous(client, curator):
    c, _ = curator
    body, sig = c.cookies["kb_sesion"].split(".")
    c.cookies.clear()
    c.cookies.set("kb_sesion", f"{body}.{sig[::-1]}")
    assert c.post("/curaduria/reindexar", follow_redirects=False).status_code == 401


def test_writes_without_or_with_wrong_csrf_are_403_and_change_nothing(curator, app, web_settings):
    c, token = curator
    before = (manifest_ids(web_settings.corpus_dir), index_ids(app))
    for url, data in WRITES:
        assert c.post(url, data=data).status_code == 403, url
        assert c.post(url, data=data | {"csrf_token": "x" + token}).status_code == 403, url
        assert c.post(url, data=data, headers={"X-CSRF-Token": "nope"}).status_code == 403, url
    # A valid token from another site's page is still refused.
    r = c.post("/curaduria/documentos/ruta-frontera/eliminar", data={"csrf_token": token},
               headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    assert (manifest_ids(web_settings.corpus_dir), index_ids(app)) == before


# ---------------------------------------------------------------- upload


def test_upload_form_shows_every_problem_next_to_its_field(curator, web_settings, docx_file):
    c, token = curator
    bad = META | {"titulo": "", "paises": "narnia", "anio": "dos mil", "url_fuente": "ftp://x", "nivel_evidencia": ""}
    before = corpus_files(web_settings.corpus_dir)
    r = upload(c, token, docx_file, meta=bad)
    assert r.status_code == 422
    html = r.text
    for field, text in [("titulo", "obligatoria"), ("paises", "«narnia» no es un valor permitido"),
                        ("anio", "año de cuatro cifras"), ("url_fuente", "http:// o https://"),
                        ("nivel_evidencia", "obligatoria")]:
        block = html[html.index(f'id="err-{field}"'):]
        assert text in block[:block.index("</ul>")], field
    assert 'aria-invalid="true"' in html and 'aria-describedby="err-anio"' in html.replace(' err-anio', 'err-anio')
    # What the curator typed is kept.
    assert 'value="Alcaldía de San Ejemplo"' in html and 'value="dos mil"' in html
    assert corpus_files(web_settings.corpus_dir) == before


def test_upload_checks_file_type_from_content_and_extension(curator, web_settings, docx_file, tmp_path):
    c, token = curator
    before = corpus_files(web_settings.corpus_dir)
    # A DOCX renamed to .pdf: the content decides, and it does not match.
    r = upload(c, token, docx_file, filename="informe.pdf")
    assert r.status_code == 422 and "no coincide con su contenido" in r.text
    exe = tmp_path / "programa.exe"
    exe.write_bytes(b"MZ\x90\x00" * 100)
    r = upload(c, token, exe)
    assert r.status_code == 422 and "Formato no admitido" in r.text
    r = upload(c, token, None)
    assert r.status_code == 422 and "Elija el archivo" in r.text
    assert corpus_files(web_settings.corpus_dir) == before  # no staged file left behind


def test_upload_over_the_size_limit_is_413_in_spanish(curator, web_settings, tmp_path):
    c, token = curator
    big = tmp_path / "grande.txt"
    big.write_bytes(b"texto largo " * 120_000)  # ~1.4 MB > max_upload_mb=1
    before = corpus_files(web_settings.corpus_dir)
    r = upload(c, token, big)
    assert r.status_code == 413 and "tamaño máximo permitido (1 MB)" in r.text
    assert corpus_files(web_settings.corpus_dir) == before


def test_upload_duplicate_id_is_refused(curator):
    c, token = curator
    r = upload(c, token, None, meta=META | {"id": "ruta-frontera"})
    assert r.status_code == 422 and "Ya existe un documento con este identificador" in r.text


def test_uploaded_docx_is_ingested_shown_and_searchable(curator, app, web_settings, docx_file):
    c, token = curator
    r = upload(c, token, docx_file)
    assert r.status_code == 303
    job_url = r.headers["location"]
    assert job_url.startswith("/curaduria/tareas/")
    page = c.get(job_url)
    assert page.status_code == 200 and "<html" in page.text
    done = wait_for_job(c, job_url)
    assert "Terminado" in done and "Documento incorporado" in done
    assert "Fragmentos producidos" in done and "huerto medicinal" in done
    # The corpus folder got the file under a sanitised name and the manifest its row.
    assert "casa-de-la-mujer-rural.docx" in corpus_files(web_settings.corpus_dir)
    assert not any(n.startswith(".subida-") for n in corpus_files(web_settings.corpus_dir))
    assert "casa-de-la-mujer-rural" in manifest_ids(web_settings.corpus_dir)
    found = c.get("/api/buscar", params={"q": "hospedaje con huerto medicinal"}).json()
    assert found["results"][0]["doc_id"] == "casa-de-la-mujer-rural"
    assert found["results"][0]["country_labels"] == ["Honduras"]
    listing = c.get("/curaduria").text
    assert "Casa de la mujer rural" in listing and "Indexado" in listing


def test_failed_ingest_shows_reason_and_leaves_everything_as_it_was(curator, app, web_settings, tmp_path):
    c, token = curator
    broken = tmp_path / "roto.pdf"
    broken.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ngarbage")
    before = (manifest_ids(web_settings.corpus_dir), index_ids(app), corpus_files(web_settings.corpus_dir))
    r = upload(c, token, broken, meta=META | {"id": "pdf-roto"})
    assert r.status_code == 303
    done = wait_for_job(c, r.headers["location"])
    assert "Falló" in done and "El índice no se modificó" in done
    after = (manifest_ids(web_settings.corpus_dir), index_ids(app), corpus_files(web_settings.corpus_dir))
    assert after == before


# ---------------------------------------------------------------- edit, delete, reindex


def test_edit_metadata_updates_manifest_and_index_without_reembedding(curator, app, web_settings):
    c, token = curator
    store = app.state.kb.service.store
    points_before = [ch["point_id"] for ch in store.chunks("clinica-movil")]
    form = c.get("/curaduria/documentos/clinica-movil/editar").text
    assert 'value="Clínica jurídica móvil"' in form and 'value="honduras" checked' in form
    data = META | {"titulo": "Clínica jurídica itinerante", "paises": ["honduras", "guatemala"],
                   "anio": "2021", "csrf_token": token}
    bad = c.post("/curaduria/documentos/clinica-movil/metadatos", data=data | {"anio": "1800"})
    assert bad.status_code == 422 and 'id="err-anio"' in bad.text
    # htmx-style: the token in the header works as well as the form field.
    r = c.post("/curaduria/documentos/clinica-movil/metadatos", data={k: v for k, v in data.items() if k != "csrf_token"},
               headers={"X-CSRF-Token": token})
    assert r.status_code == 200 and "Metadatos guardados" in r.text
    assert [ch["point_id"] for ch in store.chunks("clinica-movil")] == points_before  # same points, no re-embedding
    doc = c.get("/api/documentos/clinica-movil").json()
    assert doc["title"] == "Clínica jurídica itinerante" and set(doc["countries"]) == {"honduras", "guatemala"}
    hits = c.get("/api/buscar", params={"q": "clínica", "paises": "guatemala"}).json()
    assert "clinica-movil" in [x["doc_id"] for x in hits["results"]]
    with open(web_settings.corpus_dir / "manifest.csv", encoding="utf-8") as f:
        row = next(r for r in csv.DictReader(f) if r["id"] == "clinica-movil")
    assert row["titulo"] == "Clínica jurídica itinerante" and row["archivo"] == "documentos/clinica.docx"


def test_delete_removes_row_file_and_index_points(curator, app, web_settings):
    c, token = curator
    confirm = c.get("/curaduria/documentos/escuelas/eliminar")
    assert confirm.status_code == 200 and "Prevención en escuelas" in confirm.text
    r = c.post("/curaduria/documentos/escuelas/eliminar", data={"csrf_token": token})
    assert r.status_code == 200 and "Se eliminó «Prevención en escuelas»" in r.text
    assert "escuelas" not in manifest_ids(web_settings.corpus_dir)
    assert "escuelas.md" not in corpus_files(web_settings.corpus_dir)
    assert "escuelas" not in index_ids(app) and app.state.kb.service.store.chunks("escuelas") == []
    assert c.get("/documentos/escuelas").status_code == 404
    assert c.post("/curaduria/documentos/escuelas/eliminar", data={"csrf_token": token}).status_code == 404


def test_reindex_rebuilds_and_search_uses_the_new_store(curator, app):
    c, token = curator
    r = c.post("/curaduria/reindexar", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    done = wait_for_job(c, r.headers["location"], timeout=300)
    assert "Índice reconstruido: 8 documentos indexados" in done
    state = app.state.kb
    assert state.service.store is state.ingestor.store
    assert c.get("/api/buscar", params={"q": "comité de vigilancia"}).json()["results"][0]["doc_id"] == "ruta-frontera"


def test_curation_disabled_without_password_hash(tmp_path, web_settings, embedder, taxonomy):
    from fastapi.testclient import TestClient

    from web import create_app

    app = create_app(web_settings.model_copy(update={"curator_password_hash": ""}), embedder=embedder,
                     taxonomy=taxonomy)
    with TestClient(app) as c:
        assert "no está configurado" in c.get("/curaduria/entrar").text
        assert c.post("/curaduria/entrar", data={"usuario": CURATOR, "contrasena": PASSWORD}).status_code == 403
        assert c.post("/curaduria/reindexar").status_code == 401


def test_password_hash_round_trip():
    from web.auth import hash_password, verify_password

    encoded = hash_password("una clave larga", iterations=2000)
    assert encoded.startswith("pbkdf2_sha256$2000$")
    assert verify_password("una clave larga", encoded)
    assert not verify_password("otra clave", encoded)
    assert not verify_password("una clave larga", "basura") and not verify_password("x", "")
