"""Web fixtures: a real app on a copy of the ingested small corpus (like Datasette's make_app_client)."""

from __future__ import annotations

import re
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import copy_tree
from web.auth import hash_password

CURATOR = "curadora"
PASSWORD = "clave-de-prueba-123"
# Few iterations: the hash format and verification are the real ones, just faster to check.
PASSWORD_HASH = hash_password(PASSWORD, iterations=1000)
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def web_settings_for(base_settings, data_dir, corpus_dir, **extra):
    return base_settings.model_copy(update={
        "data_dir": data_dir, "corpus_dir": corpus_dir, "curator_user": CURATOR,
        "curator_password_hash": PASSWORD_HASH, "secret_key": "clave-secreta-de-pruebas", "max_upload_mb": 1,
    } | extra)


@pytest.fixture
def web_settings(tmp_path, settings, ingested_template, small_corpus):
    data = tmp_path / "web-data"
    copy_tree(ingested_template, data)
    return web_settings_for(settings, data, small_corpus)


@pytest.fixture
def app(web_settings, embedder, taxonomy):
    from web import create_app

    application = create_app(web_settings, embedder=embedder, taxonomy=taxonomy)
    yield application
    application.state.kb.close()


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


def login(client) -> str:
    """Sign in through the real form; returns the session's CSRF token (as the page exposes it)."""
    page = client.get("/curaduria/entrar")
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post("/curaduria/entrar", data={"usuario": CURATOR, "contrasena": PASSWORD, "csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    dashboard = client.get("/curaduria")
    assert dashboard.status_code == 200
    return CSRF_META.search(dashboard.text).group(1)


@pytest.fixture
def curator(client):
    """(client signed in as curator, its CSRF token)."""
    return client, login(client)


def wait_for_job(client, job_url: str, timeout: float = 120) -> str:
    """Poll the job's status fragment the way htmx does until it stops polling; returns the HTML."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = client.get(job_url, headers={"HX-Request": "true"})
        assert r.status_code == 200
        if 'hx-trigger="every 1s"' not in r.text:
            return r.text
        time.sleep(0.2)
    raise AssertionError(f"job {job_url} did not finish in {timeout} s")


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]


@contextmanager
def serve(app):
    """Serve `app` with uvicorn on a free loopback port; yields its base URL, closes the app after."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.kb.close()


@pytest.fixture(scope="module")
def browser():
    """Debian Chromium through playwright (never `playwright install`); fails loudly if missing."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "Debian chromium is required at /usr/bin/chromium (apt-get install chromium)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()
