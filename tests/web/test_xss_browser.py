"""XSS payloads in titles, metadata and text, loaded in Debian Chromium (same launch options as
test_browser.py): on the search page, the document page and the curator pages, no payload runs.

Every payload either calls alert() (caught by a "dialog" handler) or sets window.__xss; the test
also checks the DOM holds no element a payload would have created.
"""

from __future__ import annotations

import pytest

from evals.hostile import XSS_PAYLOADS, XSS_TEXT, generate
from tests.conftest import copy_tree
from tests.web.conftest import CURATOR, PASSWORD, serve, web_settings_for

XSS_CASES = ("xss-txt", "xss-md", "xss-html", "xss-metadatos", "pdf-javascript")


@pytest.fixture(scope="module")
def xss_server(tmp_path_factory, ingested_template, small_corpus_template, embedder, taxonomy):
    """The small corpus plus the XSS documents of evals/hostile.py, ingested by the real pipeline."""

    from ingest.manifest import validate_row
    from ingest.pipeline import ADDED, Ingestor
    from search.settings import Settings
    from web import create_app

    root = tmp_path_factory.mktemp("xss-browser")
    copy_tree(ingested_template, root / "data")
    copy_tree(small_corpus_template, root / "corpus")
    cases = [c for c in generate(root / "corpus") if c.name in XSS_CASES]
    settings = web_settings_for(Settings(_env_file=None), root / "data", root / "corpus")
    ingestor = Ingestor(settings, embedder=embedder, taxonomy=taxonomy)
    try:
        for case in cases:
            meta, problems = validate_row(case.row, 0, taxonomy)
            assert not problems, problems
            outcome = ingestor.ingest_document(meta, root / "corpus" / meta.archivo)
            assert outcome.status == ADDED, (case.name, outcome.reason)
    finally:
        ingestor.close()
    app = create_app(settings, embedder=embedder, taxonomy=taxonomy)
    with serve(app) as url:
        yield url, [c.doc_id for c in cases]




def assert_inert(page, url: str, dialogs: list[str]) -> None:
    page.wait_for_load_state("load")
    page.wait_for_timeout(150)  # let any injected handler (onerror/onload) fire
    assert dialogs == [], f"{url}: a payload opened a dialog: {dialogs}"
    assert page.evaluate("() => window.__xss === undefined"), f"{url}: a payload set window.__xss"
    injected = page.evaluate("""() => [...document.querySelectorAll(
        'img[onerror], svg[onload], [onload], [onerror], a[href^="javascript:"], script:not([src])')]
        .map(e => e.outerHTML.slice(0, 120))""")
    assert injected == [], f"{url}: payload markup became elements: {injected}"


def test_payloads_never_run_on_public_and_curator_pages(browser, xss_server):
    base, doc_ids = xss_server
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="es-ES")
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    # The canary starts undefined on every document; a payload that runs defines it.
    page.add_init_script("delete window.__xss;")
    try:
        public = ["/", "/buscar?q=carga+xss+casa+de+acogida", "/buscar?q=" + "%3Cscript%3Ealert(1)%3C/script%3E",
                  "/buscar?q=protocolo+de+primera+respuesta"] + [f"/documentos/{d}" for d in doc_ids]
        for url in public:
            page.goto(base + url)
            assert_inert(page, url, dialogs)
        # The payload text is visible as text where it belongs.
        page.goto(f"{base}/documentos/hostil-xss-metadatos")
        assert page.locator("#doc-titulo").inner_text().strip() == XSS_TEXT
        page.goto(f"{base}/documentos/hostil-xss-txt")
        assert XSS_PAYLOADS[0] in page.locator(".pasajes-doc").inner_text()

        # Typing a payload into the live search (htmx swaps) runs nothing either.
        page.goto(base + "/buscar")
        box = page.get_by_role("searchbox").first
        box.fill(XSS_PAYLOADS[1] + " casa de acogida")
        page.wait_for_timeout(1200)
        assert_inert(page, "/buscar (htmx)", dialogs)

        page.goto(base + "/curaduria/entrar")
        page.fill("#usuario", CURATOR)
        page.fill("#contrasena", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(base + "/curaduria")
        curator_pages = ["/curaduria"] + [u for d in doc_ids for u in (f"/curaduria/documentos/{d}/editar",
                                                                        f"/curaduria/documentos/{d}/eliminar",
                                                                        f"/documentos/{d}")]
        for url in curator_pages:
            page.goto(base + url)
            assert_inert(page, url, dialogs)
        # The edit form shows the title as the value of its field, intact.
        page.goto(f"{base}/curaduria/documentos/hostil-xss-metadatos/editar")
        assert page.locator("#m-titulo").input_value() == XSS_TEXT
    finally:
        context.close()


def test_the_canary_and_dialog_handler_do_catch_a_running_script(browser, xss_server):
    """Control: the same detectors see a script that does run (so a pass above means something)."""
    base, _ = xss_server
    context = browser.new_context()
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(base + "/static/favicon.svg")
        page.evaluate("() => { window.__xss = 1; alert('control'); }")
        assert dialogs == ["control"] and page.evaluate("() => window.__xss") == 1
    finally:
        context.close()
