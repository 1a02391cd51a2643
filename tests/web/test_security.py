"""Security headers, same-origin assets, no inline scripts, page weight, error handling, `kb serve`."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from html.parser import HTMLParser

import httpx

from tests.conftest import REPO, copy_tree
from web.app import CSP

PAGES = ["/", "/buscar?q=ruta+de+atención", "/documentos/ruta-frontera", "/curaduria/entrar"]


def test_security_headers_on_pages_assets_errors_and_api(client):
    for url in PAGES + ["/static/app.js", "/no-existe", "/api/facetas", "/api/documentos/x"]:
        h = client.get(url).headers
        assert h["content-security-policy"] == CSP, url
        assert h["x-content-type-options"] == "nosniff" and h["referrer-policy"] == "same-origin"
        assert h["x-frame-options"] == "DENY"
    assert CSP == ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                   "frame-ancestors 'none'; base-uri 'self'; form-action 'self'")


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []
        self.inline_scripts = 0
        self.style_attrs = 0
        self.event_handlers = 0
        self._in_script_without_src = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for name in ("src", "href", "action", "hx-get", "hx-post"):
            if a.get(name):
                self.refs.append((tag, name, a[name]))
        if tag == "script":
            self._in_script_without_src = "src" not in a
        if "style" in a:
            self.style_attrs += 1
        self.event_handlers += sum(1 for k in a if k.startswith("on") or k.startswith("hx-on"))
        if tag == "style":
            self.inline_scripts += 1

    def handle_data(self, data):
        if self._in_script_without_src and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script_without_src = False


def test_pages_load_nothing_from_elsewhere_and_have_no_inline_code(client):
    for url in PAGES:
        parser = _Refs()
        parser.feed(client.get(url).text)
        assert parser.inline_scripts == 0 and parser.style_attrs == 0 and parser.event_handlers == 0, url
        for tag, attr, ref in parser.refs:
            if tag == "a" and attr == "href":
                continue  # links the person may follow (url_fuente) are not loads
            assert ref.startswith("/") and not ref.startswith("//"), (url, tag, attr, ref)
    css = client.get("/static/style.css").text
    assert "@import" not in css and all(u.startswith(('"/', "'/", "/")) for u in re.findall(r"url\(([^)]*)\)", css))
    js = client.get("/static/app.js").text
    assert "http://" not in js and "https://" not in js


def test_first_load_of_a_search_page_is_under_100_kb_gzipped(client):
    headers = {"Accept-Encoding": "gzip"}
    page = client.get("/buscar?q=ruta+de+atención+para+mujeres+migrantes", headers=headers)
    assert page.headers["content-encoding"] == "gzip"
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
    assert {a.split("?")[0] for a in assets} >= {"/static/style.css", "/static/htmx.min.js", "/static/app.js"}
    total = page.num_bytes_downloaded
    for asset in assets:
        r = client.get(asset, headers=headers)
        assert r.status_code == 200
        total += r.num_bytes_downloaded
    assert total <= 100 * 1024, total


def test_unexpected_errors_are_a_spanish_500_without_internals(app, monkeypatch):
    from fastapi.testclient import TestClient

    def explode(*args, **kwargs):
        raise RuntimeError("detalle interno secreto /ruta/privada")

    monkeypatch.setattr(app.state.kb.service, "search", explode)  # fault injection, not a mock of behaviour
    with TestClient(app, raise_server_exceptions=False) as c:
        page = c.get("/buscar?q=ruta")
        assert page.status_code == 500 and "Error interno del servidor" in page.text
        api = c.get("/api/buscar?q=ruta")
        assert api.status_code == 500 and api.json()["error"]["mensaje"].startswith("Error interno")
        for r in (page, api):
            assert "secreto" not in r.text and "Traceback" not in r.text and "RuntimeError" not in r.text
            assert r.headers["content-security-policy"] == CSP


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_kb_serve_starts_the_app(tmp_path, ingested_template, small_corpus):
    data = tmp_path / "data"
    copy_tree(ingested_template, data)
    port = _free_port()
    env = os.environ | {"KB_CORPUS_DIR": str(small_corpus), "KB_SECRET_KEY": "x" * 32}
    proc = subprocess.Popen([sys.executable, "-c", "import kb; kb.main()", "serve", "--host", "127.0.0.1",
                             "--port", str(port), "--data-dir", str(data)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/buscar", params={"q": "comité de vigilancia"}, timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read().decode()
                assert time.monotonic() < deadline, "kb serve did not start"
                time.sleep(0.3)
        assert r.status_code == 200 and r.json()["results"][0]["doc_id"] == "ruta-frontera"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
