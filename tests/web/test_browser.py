"""Real-browser tests: Debian chromium driven by playwright against the app served by uvicorn.

Never skipped: if playwright or /usr/bin/chromium is missing these tests fail (CI installs both).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect  # ImportError here is a loud collection error

from tests.conftest import PAGE3_SENTENCE, REPO, copy_tree, make_docx
from tests.web.conftest import CURATOR, PASSWORD, serve, web_settings_for

ARTIFACTS = REPO / "test-artifacts"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory, ingested_template, small_corpus_template, embedder, taxonomy):

    from search.settings import Settings
    from web import create_app

    root = tmp_path_factory.mktemp("browser")
    copy_tree(ingested_template, root / "data")
    copy_tree(small_corpus_template, root / "corpus")
    settings = web_settings_for(Settings(_env_file=None), root / "data", root / "corpus", max_upload_mb=5)
    app = create_app(settings, embedder=embedder, taxonomy=taxonomy)
    with serve(app) as url:
        yield url




@pytest.fixture
def page(browser, live_server):
    """A page that records every request and every console error (CSP violations show there)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="es-ES")
    pg = context.new_page()
    pg.requests, pg.errors = [], []
    pg.on("request", lambda r: pg.requests.append(r.url))
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    yield pg
    context.close()
    foreign = [u for u in pg.requests if not u.startswith(live_server) and not u.startswith("data:")]
    assert not foreign, f"requests left the origin: {foreign}"
    assert not pg.errors, f"browser console errors: {pg.errors}"


def cards(pg):
    return pg.locator("#lista-resultados > li.tarjeta")


def test_typing_swaps_results_in_and_updates_the_url(page, live_server):
    page.goto(live_server + "/buscar")
    expect(cards(page)).to_have_count(8)
    page.evaluate("window.__sinRecarga = true")
    page.locator("#q").press_sequentially("comité de vigilancia comunitaria", delay=20)
    expect(page).to_have_url(re.compile(r"/buscar\?q=comit%C3%A9\+de\+vigilancia\+comunitaria$"))
    expect(cards(page).first.locator("h3")).to_have_text("Ruta de atención en la frontera")
    expect(page.locator("#estado")).to_contain_text("para «comité de vigilancia comunitaria»")
    expect(page.locator(".respuesta h2")).to_have_text("Respuesta breve")
    assert page.evaluate("window.__sinRecarga") is True  # swapped in, not a page load
    expect(page.locator("#q")).to_be_focused()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "resultados.png"), full_page=False)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(ARTIFACTS / "resultados-movil.png"), full_page=False)
    # The pushed URL, loaded directly, renders the same results.
    url = page.url
    page.goto(url)
    expect(cards(page).first.locator("h3")).to_have_text("Ruta de atención en la frontera")


def test_a_facet_narrows_the_results_and_keeps_focus(page, live_server):
    page.goto(live_server + "/buscar?q=atención+a+mujeres")
    total = cards(page).count()
    assert total > 1
    page.locator("#f-paises-honduras").check()
    expect(page).to_have_url(re.compile(r"paises=honduras"))
    expect(cards(page)).to_have_count(1)
    expect(cards(page).first.locator("h3")).to_have_text("Clínica jurídica móvil")
    expect(page.locator("#f-paises-honduras")).to_be_checked()
    expect(page.locator("#f-paises-honduras")).to_be_focused()
    page.go_back()
    expect(cards(page)).to_have_count(total)


def test_a_citation_link_lands_on_its_highlighted_passage(page, live_server):
    page.goto(live_server + "/buscar?q=¿Cuándo+se+reúne+el+comité+de+vigilancia+comunitaria?")
    passage = page.locator("li.pasaje", has_text=PAGE3_SENTENCE).first
    passage.get_by_role("link", name=re.compile("Ver en el documento")).click()
    expect(page).to_have_url(re.compile(r"/documentos/ruta-frontera#p\d+$"))
    target = page.locator(":target")
    expect(target).to_contain_text(PAGE3_SENTENCE)
    expect(target).to_have_css("background-color", "rgb(255, 247, 214)")
    assert target.evaluate("el => { const r = el.getBoundingClientRect(); return r.top >= 0 && r.top < innerHeight; }")


def test_load_more_appends_the_next_page(page, live_server):
    page.goto(live_server + "/buscar?q=mujeres&por_pagina=3")
    expect(cards(page)).to_have_count(3)
    first_titles = cards(page).locator("h3").all_inner_texts()
    url = page.url
    page.get_by_role("link", name="Cargar más resultados").click()
    expect(cards(page)).to_have_count(6)
    titles = cards(page).locator("h3").all_inner_texts()
    assert titles[:3] == first_titles and len(set(titles)) == 6
    assert page.url == url  # appending is not a new search state
    expect(cards(page).nth(3).locator("h3 a")).to_be_focused()  # focus moves to the first new card
    expect(page.locator("#estado")).to_contain_text("3 documentos más")


def test_search_works_without_javascript(browser, live_server):
    context = browser.new_context(java_script_enabled=False)
    pg = context.new_page()
    pg.goto(live_server + "/buscar")
    pg.fill("#q", "clínica jurídica")
    pg.get_by_role("button", name="Buscar", exact=True).click()
    expect(pg).to_have_url(re.compile(r"q=cl%C3%ADnica\+jur%C3%ADdica"))
    expect(cards(pg).first.locator("h3")).to_have_text("Clínica jurídica móvil")
    pg.locator("#f-paises-honduras").check()
    pg.get_by_role("button", name="Aplicar filtros").click()
    expect(pg).to_have_url(re.compile(r"paises=honduras"))
    expect(cards(pg)).to_have_count(1)
    context.close()


@pytest.mark.parametrize("path", ["/buscar?q=ruta+de+atención+para+mujeres+migrantes&por_pagina=3",
                                  "/documentos/ruta-frontera"])
def test_axe_reports_no_violations(browser, live_server, path):
    # bypass_csp only so the test can inject axe; the app's own pages run under the strict CSP.
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.goto(live_server + path)
    pg.add_script_tag(path=str(AXE))
    result = pg.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
                         ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}))")
    context.close()
    assert result == [], result


def test_curator_uploads_a_docx_and_finds_it_by_search(page, live_server, tmp_path):
    docx = make_docx(tmp_path / "Protocolo de acogida (final).docx", "Protocolo de acogida nocturna", [
        ("Horario", ["El refugio nocturno municipal abre de ocho a seis con vigilancia de guardabosques voluntarias."]),
    ])
    page.goto(live_server + "/curaduria")
    expect(page).to_have_url(re.compile(r"/curaduria/entrar"))
    page.fill("#usuario", CURATOR)
    page.fill("#contrasena", PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    expect(page.get_by_role("heading", name="Curaduría del corpus")).to_be_visible()
    page.get_by_role("link", name="Subir un documento").click()
    page.set_input_files("#m-archivo", str(docx))
    page.fill("#m-titulo", "Protocolo de acogida nocturna")
    page.select_option("#m-tipo_documento", "protocolo")
    page.select_option("#m-nivel_gobierno", "municipal")
    page.check("#m-paises-panama")
    page.fill("#m-anio", "2024")
    page.fill("#m-organizacion", "Alcaldía de Ejemplo")
    page.check("#m-areas_intervencion-proteccion")
    page.select_option("#m-idioma", "es")
    page.select_option("#m-nivel_evidencia", "evaluada")
    page.get_by_role("button", name="Subir e indexar").click()
    expect(page).to_have_url(re.compile(r"/curaduria/tareas/"))
    # The status fragment polls every second until the job ends, then shows the chunks.
    expect(page.locator("#estado-tarea")).to_contain_text("Terminado", timeout=90_000)
    expect(page.get_by_role("heading", name=re.compile("Fragmentos producidos"))).to_be_visible()
    page.goto(live_server + "/buscar")
    page.locator("#q").press_sequentially("refugio nocturno con guardabosques", delay=10)
    expect(cards(page).first.locator("h3")).to_have_text("Protocolo de acogida nocturna")
    expect(cards(page).first.locator(".insignia")).to_have_text("Práctica evaluada")
