"""Hostile files and metadata through the real upload route, sign-in throttling, session expiry and
CSRF coverage of every write route.

A hostile upload is refused with a 4xx and a Spanish message (or accepted as a job that ends
failed with a Spanish reason), never a 5xx, and leaves the corpus, the manifest and the index as
they were; hostile text and metadata go in as text and come out escaped.
"""

from __future__ import annotations

import re

import pytest

from evals.hostile import SAFE, XSS_PAYLOADS, XSS_TEXT, generate
from tests.conftest import copy_tree
from tests.web.conftest import CURATOR, PASSWORD, login, wait_for_job, web_settings_for

UPLOAD_MB = 5  # above the zip bomb's packed size, so its expansion check is what refuses it
FORM_FIELDS = ["id", "titulo", "tipo_documento", "paises", "municipio", "nivel_gobierno", "organizacion", "anio",
               "areas_intervencion", "poblaciones", "formas_violencia", "estandares", "url_fuente", "idioma",
               "nivel_evidencia"]
ESCAPED_SCRIPT = "&lt;script&gt;window.__xss=1;alert(1)&lt;/script&gt;"


@pytest.fixture(scope="module")
def hostile_cases(tmp_path_factory):
    return {c.name: c for c in generate(tmp_path_factory.mktemp("hostile-files"))}


@pytest.fixture(scope="module")
def big_app(tmp_path_factory, ingested_template, small_corpus_template, embedder, taxonomy):
    """One app for every upload of this module: a refused upload must leave it as it was anyway."""
    from search.settings import Settings
    from web import create_app

    root = tmp_path_factory.mktemp("hostile-web")
    copy_tree(ingested_template, root / "data")
    copy_tree(small_corpus_template, root / "corpus")
    settings = web_settings_for(Settings(_env_file=None), root / "data", root / "corpus", max_upload_mb=UPLOAD_MB)
    application = create_app(settings, embedder=embedder, taxonomy=taxonomy)
    yield application
    application.state.kb.close()


@pytest.fixture(scope="module")
def curator_client(big_app):
    # Module-scoped too: leaving the TestClient runs the app's shutdown, which closes the index.
    from fastapi.testclient import TestClient

    with TestClient(big_app, raise_server_exceptions=False) as c:
        yield c, login(c)


def snapshot(app) -> tuple:
    """Everything a failed upload must leave untouched: index generations, manifest, corpus files."""
    settings = app.state.kb.settings
    docs = {d["doc_id"]: d["gen"] for d in app.state.kb.service.store.documents(statuses=("published", "held"))}
    files = sorted(str(p.relative_to(settings.corpus_dir)) for p in settings.corpus_dir.rglob("*") if p.is_file())
    return docs, (settings.corpus_dir / "manifest.csv").read_bytes(), files


def form_for(case) -> dict:
    return {k: case.row[k] for k in FORM_FIELDS}


def post_upload(client, token, case, *, filename=None, content=None):
    name = filename if filename is not None else (case.upload_filename or "archivo.txt")
    body = content if content is not None else (case.path.read_bytes() if case.path else b"")
    return client.post("/curaduria/documentos", data=form_for(case) | {"csrf_token": token},
                       files={"archivo": (name, body, "application/octet-stream")}, follow_redirects=False)


def outcome(client, response) -> tuple[str, str]:
    """("refused"|"failed"|"done", Spanish text) for an upload response; asserts it is never a 5xx."""
    assert response.status_code < 500, response.text[-2000:]
    if response.status_code == 303:
        html = wait_for_job(client, response.headers["location"])
        status = "done" if "Terminado." in html else "failed"
        return status, re.sub(r"<[^>]+>", " ", html)
    assert 400 <= response.status_code < 500, response.status_code
    return "refused", re.sub(r"<[^>]+>", " ", response.text)


FILE_CASES = ["vacio", "pdf-truncado", "pdf-cifrado", "bomba-zip", "extension-falsa", "enorme",
              "ruido-txt", "ruido-docx"]


@pytest.mark.parametrize("name", FILE_CASES)
def test_hostile_file_is_refused_in_spanish_and_changes_nothing(name, hostile_cases, curator_client, big_app):
    case = hostile_cases[name]
    client, token = curator_client
    before = snapshot(big_app)
    status, text = outcome(client, post_upload(client, token, case))
    assert status in ("refused", "failed"), text[-1500:]
    assert re.search(r"archivo|documento|PDF|formato|tamaño|vacío|dañado", text, re.IGNORECASE), text[-1500:]
    assert "Traceback" not in text and "Error interno" not in text
    assert snapshot(big_app) == before
    # The staging file is gone too (rglob in snapshot covers hidden names).


def test_metadata_that_validation_must_reject_is_a_422_in_spanish(hostile_cases, curator_client, big_app):
    client, token = curator_client
    before = snapshot(big_app)
    for name in ("url-javascript", "url-data"):
        r = post_upload(client, token, hostile_cases[name])
        assert r.status_code == 422, r.text[-1000:]
        assert "http:// o https://" in r.text
    assert snapshot(big_app) == before


@pytest.mark.parametrize("name", ["ruta-escape", "ruta-escape-interna", "nombre-nul", "nombre-larguisimo",
                                  "nombre-largo-valido"])
def test_hostile_upload_filenames_never_choose_where_the_file_lands(name, hostile_cases, curator_client, big_app):
    case = hostile_cases[name]
    client, token = curator_client
    corpus = big_app.state.kb.settings.corpus_dir
    outside_before = sorted(p.name for p in corpus.parent.iterdir())
    content = hostile_cases["nombre-largo-valido"].path.read_bytes()
    meta_case = type(case)(case.name, None, case.row | {"archivo": "x", "id": f"subida-{name}"[:60]}, SAFE)
    r = post_upload(client, token, meta_case, filename=case.upload_filename, content=content)
    status, text = outcome(client, r)
    # The name only contributes its extension: the file is stored under the document's id.
    if status == "done":
        assert (corpus / "documentos" / f"{meta_case.doc_id}.txt").is_file()
        doc = big_app.state.kb.service.store.document(meta_case.doc_id)
        assert doc is not None and doc.payload["archivo"] == f"documentos/{meta_case.doc_id}.txt"
    else:
        assert status == "refused" and "Formato no admitido" in text, text[-1000:]
    assert sorted(p.name for p in corpus.parent.iterdir()) == outside_before
    assert not [p for p in corpus.rglob("*") if ".." in p.name or "\x00" in p.name]


@pytest.mark.parametrize("name", ["xss-txt", "xss-md", "xss-html", "pdf-javascript", "xss-metadatos"])
def test_xss_documents_go_in_as_text_and_every_page_escapes_them(name, hostile_cases, curator_client, big_app):
    case = hostile_cases[name]
    client, token = curator_client
    status, text = outcome(client, post_upload(client, token, case, filename=case.path.name))
    assert status == "done", text[-1500:]
    doc = big_app.state.kb.service.store.document(case.doc_id)
    assert doc is not None
    if name == "xss-metadatos":
        for field in ("titulo", "municipio", "organizacion"):
            assert doc.payload[field] == XSS_TEXT  # stored verbatim, as text
    pages = [f"/documentos/{case.doc_id}", "/buscar?q=carga+xss+casa+de+acogida", "/curaduria",
             f"/curaduria/documentos/{case.doc_id}/editar", f"/curaduria/documentos/{case.doc_id}/eliminar",
             "/api/buscar?q=carga+xss+casa+de+acogida"]
    for url in pages:
        r = client.get(url)
        assert r.status_code == 200, url
        if url.startswith("/api/"):
            assert r.headers["content-type"].startswith("application/json")
            continue
        for payload in XSS_PAYLOADS:
            assert payload not in r.text, (url, payload)
        assert "<script>window.__xss" not in r.text and "onerror=\"window" not in r.text, url
    if name in ("xss-txt", "xss-metadatos"):
        shown = client.get(f"/documentos/{case.doc_id}").text
        assert ESCAPED_SCRIPT in shown


def test_xss_in_edited_metadata_is_stored_as_text_and_rendered_escaped(curator_client, big_app):
    client, token = curator_client
    form = client.get("/curaduria/documentos/ruta-frontera/editar").text
    assert "Ruta de atención" in form
    payload = {k: "" for k in FORM_FIELDS} | {
        "titulo": XSS_TEXT, "municipio": XSS_TEXT, "organizacion": XSS_TEXT, "tipo_documento": "buena-practica",
        "paises": "guatemala", "nivel_gobierno": "municipal", "anio": "2023", "areas_intervencion": "prevencion",
        "idioma": "es", "nivel_evidencia": "ilustrativa", "csrf_token": token}
    r = client.post("/curaduria/documentos/ruta-frontera/metadatos", data=payload)
    assert r.status_code == 200
    assert big_app.state.kb.service.store.document("ruta-frontera").payload["titulo"] == XSS_TEXT
    for url in ("/documentos/ruta-frontera", "/buscar?q=comité+de+vigilancia", "/curaduria",
                "/curaduria/documentos/ruta-frontera/editar"):
        html = client.get(url).text
        assert not any(p in html for p in XSS_PAYLOADS), url
        assert "&lt;script&gt;" in html, url
    bad = payload | {"titulo": "Título", "url_fuente": "javascript:alert(1)"}
    r = client.post("/curaduria/documentos/ruta-frontera/metadatos", data=bad)
    assert r.status_code == 422 and "http:// o https://" in r.text
    assert big_app.state.kb.service.store.document("ruta-frontera").payload["url_fuente"] == ""


# ---------------------------------------------------------------- sign-in throttling


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(app):
    from web.auth import LoginThrottle

    fake = FakeClock()
    app.state.login_throttle = LoginThrottle(clock=fake)
    return fake


def client_from(app, address: str):
    from fastapi.testclient import TestClient

    return TestClient(app, client=(address, 40000), raise_server_exceptions=False)


def try_sign_in(c, user: str, password: str):
    page = c.get("/curaduria/entrar")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return c.post("/curaduria/entrar", data={"usuario": user, "contrasena": password, "csrf_token": token},
                  follow_redirects=False)


def test_five_failures_lock_sign_in_with_429_retry_after_and_spanish_message(app, clock):
    with client_from(app, "203.0.113.7") as c:
        statuses = [try_sign_in(c, CURATOR, f"mala-{i}").status_code for i in range(5)]
        assert statuses == [401, 401, 401, 401, 429]
        locked = try_sign_in(c, CURATOR, PASSWORD)  # even the right password waits
        assert locked.status_code == 429
        assert int(locked.headers["Retry-After"]) == 60
        assert "Demasiados intentos fallidos" in locked.text and "espere 1 minuto" in locked.text
        assert "kb_sesion" not in locked.headers.get("set-cookie", "")
        clock.now += 61
        ok = try_sign_in(c, CURATOR, PASSWORD)
        assert ok.status_code == 303  # lockout over; success resets the counters
        c.cookies.clear()
        assert try_sign_in(c, CURATOR, "mala-otra-vez").status_code == 401


def test_lockout_doubles_with_each_further_failure_and_expires_after_the_window(app, clock):
    with client_from(app, "203.0.113.8") as c:
        for i in range(5):
            try_sign_in(c, CURATOR, f"mala-{i}")
        clock.now += 61
        r = try_sign_in(c, CURATOR, "mala-6")
        assert r.status_code == 429 and int(r.headers["Retry-After"]) == 120
        clock.now += 121
        r = try_sign_in(c, CURATOR, "mala-7")
        assert r.status_code == 429 and int(r.headers["Retry-After"]) == 240
        clock.now += 15 * 60 + 1  # every failure has left the window
        assert try_sign_in(c, CURATOR, PASSWORD).status_code == 303


def test_guessing_one_name_from_many_addresses_locks_that_name(app, clock):
    for i in range(5):
        with client_from(app, f"198.51.100.{i}") as c:
            try_sign_in(c, CURATOR, f"mala-{i}")
    with client_from(app, "198.51.100.200") as c:
        r = try_sign_in(c, CURATOR, PASSWORD)
        assert r.status_code == 429 and "Retry-After" in r.headers


def test_one_address_trying_many_names_is_locked_but_others_are_not(app, clock):
    with client_from(app, "192.0.2.50") as c:
        for i in range(5):
            try_sign_in(c, f"usuario-{i}", "lo-que-sea")
        assert try_sign_in(c, CURATOR, PASSWORD).status_code == 429
    with client_from(app, "192.0.2.51") as c:
        assert try_sign_in(c, CURATOR, PASSWORD).status_code == 303


def test_throttle_memory_is_bounded():
    from web.auth import MAX_TRACKED_KEYS, LoginThrottle

    t = LoginThrottle(clock=FakeClock())
    for i in range(MAX_TRACKED_KEYS + 500):
        t.failure(f"ip:10.{i}")
    assert len(t._failures) <= MAX_TRACKED_KEYS


# ---------------------------------------------------------------- sessions and CSRF


def test_expired_session_is_anonymous(app, client):
    from web.auth import SESSION_COOKIE

    signer = app.state.kb.signer
    client.cookies.set(SESSION_COOKIE, signer.sign({"u": CURATOR, "c": "token-caducado"}, max_age=-1))
    r = client.get("/curaduria", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/curaduria/entrar")
    w = client.post("/curaduria/documentos/ruta-frontera/eliminar", data={"csrf_token": "token-caducado"},
                    follow_redirects=False)
    assert w.status_code == 401
    assert app.state.kb.service.store.document("ruta-frontera") is not None
    client.cookies.set(SESSION_COOKIE, signer.sign({"u": CURATOR, "c": "token-vigente"}))  # control: valid one works
    assert client.get("/curaduria", follow_redirects=False).status_code == 200


def test_sessions_last_one_working_day():
    from web.auth import SESSION_MAX_AGE, Signer

    signer = Signer("clave")
    token = signer.sign({"u": CURATOR})
    assert SESSION_MAX_AGE == 8 * 3600 and signer.unsign(token)["u"] == CURATOR


def test_every_write_route_requires_the_csrf_token(app, curator):
    """Enumerates the app's routes: every state-changing one is refused without the session's token."""
    from web.deps import require_csrf_curator

    client, token = curator
    def walk(routes, prefix=""):
        for route in routes:
            included = getattr(route, "original_router", None)  # FastAPI >= 0.16x includes routers lazily
            if included is not None:
                yield from walk(included.routes, prefix + getattr(route.include_context, "prefix", ""))
            elif getattr(route, "methods", None):
                yield prefix, route

    writes = [(prefix + route.path, route) for prefix, route in walk(app.routes)
              if route.methods & {"POST", "PUT", "PATCH", "DELETE"}]
    assert writes, "no write routes found"
    before = snapshot(app)
    assert {"/curaduria/documentos", "/curaduria/reindexar"} <= {path for path, _ in writes}
    for full_path, route in writes:
        path = full_path.replace("{doc_id}", "ruta-frontera").replace("{job_id}", "x")
        if full_path == "/curaduria/entrar":
            # Sign-in has its own double-submit token (covered by test_curation).
            assert client.post(path, data={"usuario": CURATOR, "contrasena": PASSWORD}).status_code == 403
            continue
        deps = {d.call for d in route.dependant.dependencies}
        assert require_csrf_curator in deps, f"{full_path} is not protected by the CSRF dependency"
        for method in sorted(route.methods & {"POST", "PUT", "PATCH", "DELETE"}):
            for headers, data in (({}, {"titulo": "x"}), ({"X-CSRF-Token": "falso"}, {}),
                                  ({}, {"csrf_token": "falso"})):
                r = client.request(method, path, data=data, headers=headers, follow_redirects=False)
                assert r.status_code == 403, (method, path, r.status_code)
                assert "token CSRF" in r.text or "caducó" in r.text
        # Cross-site: a right token from a foreign origin is still refused.
        r = client.post(path, data={"csrf_token": token}, headers={"Origin": "https://malicioso.example"},
                        follow_redirects=False)
        assert r.status_code == 403, path
    assert snapshot(app) == before
