"""Public pages over HTTP on the real app: search page/fragment, pagination, documents, files, CSV, API."""

from __future__ import annotations

import csv
import io
import re

from tests.conftest import PAGE3_SENTENCE

QUERY = "¿Cuándo se reúne el comité de vigilancia comunitaria?"


def varies(response) -> bool:
    return "HX-Request" in [v.strip() for v in response.headers.get("vary", "").split(",")]


def doc_ids(html: str) -> list[str]:
    return re.findall(r'<h3 id="t-([a-z0-9-]+)">', html)


def test_search_page_is_full_page_and_fragment_on_htmx(client):
    full = client.get("/buscar", params={"q": QUERY})
    assert full.status_code == 200 and varies(full)
    assert full.text.lstrip().lower().startswith("<!doctype html>")
    assert 'id="resultados"' in full.text and 'id="q"' in full.text
    frag = client.get("/buscar", params={"q": QUERY}, headers={"HX-Request": "true"})
    assert frag.status_code == 200 and varies(frag)
    assert "<html" not in frag.text and 'id="q"' not in frag.text
    assert 'id="lista-resultados"' in frag.text
    # The live region outside the swapped area is updated out of band, and the title follows.
    assert 'id="estado" hx-swap-oob="innerHTML"' in frag.text and "<title>" in frag.text
    # Same results either way.
    assert doc_ids(frag.text) == doc_ids(full.text) and doc_ids(full.text)[0] == "ruta-frontera"
    # Boosted links and history restores need the whole page.
    for extra in ({"HX-Boosted": "true"}, {"HX-History-Restore-Request": "true"}):
        r = client.get("/buscar", params={"q": QUERY}, headers={"HX-Request": "true", **extra})
        assert "<html" in r.text


def test_root_is_the_search_page_and_lists_documents_without_query(client):
    r = client.get("/")
    assert r.status_code == 200 and len(doc_ids(r.text)) == 8
    assert "8 documentos" in r.text


def test_result_cards_show_metadata_badge_passages_and_answer(client):
    html = client.get("/buscar", params={"q": QUERY}).text
    card = html[html.index('id="t-ruta-frontera"'):]
    card = card[:card.index("</article>")]
    assert "Ruta de atención en la frontera" in card and "Buena práctica" in card and "Guatemala" in card
    assert "Oficina Municipal de la Mujer (ficticia)" in card and "2023" in card
    assert 'class="insignia insignia-ilustrativa">Ejemplo ilustrativo<' in card
    assert "<mark>" in card and "sección «Resultados» · p. 3" in card
    assert re.search(r'href="/documentos/ruta-frontera#p\d+"', card)
    assert 'href="/documentos/ruta-frontera/archivo#page=3"' in card
    # The short answer's markers link to passages present on the page.
    answer = html[html.index("Respuesta breve"):html.index('id="lista-resultados"')]
    markers = re.findall(r'href="#pasaje-(\d+)"', answer)
    assert markers and all(f'id="pasaje-{m}"' in html for m in markers)


def test_facet_filter_narrows_results_and_url_is_shareable(client):
    frag = client.get("/buscar", params={"q": "atención a mujeres", "paises": "honduras"}, headers={"HX-Request": "true"})
    assert doc_ids(frag.text) == ["clinica-movil"]
    assert re.search(r'id="f-paises-honduras" name="paises" value="honduras" checked', frag.text)
    # htmx pushes the canonical URL; loading it directly (no JS) shows the same results.
    pushed = frag.headers["HX-Push-Url"]
    assert pushed.startswith("/buscar?") and "paises=honduras" in pushed
    direct = client.get(pushed)
    assert direct.status_code == 200 and "<html" in direct.text and doc_ids(direct.text) == ["clinica-movil"]


def test_labels_and_context_are_kept_in_the_page(client):
    r = client.get("/buscar", params={"q": "violencia", "ctx_pais": "honduras", "ctx_municipio": "rural",
                                      "ctx_poblacion": "migrantes", "anio_desde": "2020", "modo": "lexico"})
    assert r.status_code == 200
    assert '<option value="honduras" selected>' in r.text and '<option value="rural" selected>' in r.text
    assert 'value="migrantes" checked' in r.text and 'value="2020"' in r.text
    assert '<option value="lexico" selected>' in r.text and "contexto activo" in r.text
    # Context boosts, it does not hide: same documents, the rural Honduran clinic no lower.
    plain = doc_ids(client.get("/buscar", params={"q": "mujeres"}).text)
    tuned = doc_ids(client.get("/buscar", params={"q": "mujeres", "ctx_pais": "honduras", "ctx_municipio": "rural"}).text)
    assert set(tuned) == set(plain) and tuned.index("clinica-movil") <= plain.index("clinica-movil")


def test_load_more_returns_only_the_next_cards(client):
    first = client.get("/buscar", params={"q": "mujeres", "por_pagina": 3})
    ids1 = doc_ids(first.text)
    assert len(ids1) == 3
    next_link = re.search(r'<a class="boton secundario" href="([^"]+)" hx-get="\1"', first.text).group(1)
    assert "pagina=2" in next_link and "por_pagina=3" in next_link
    more = client.get(next_link.replace("&amp;", "&"),
                      headers={"HX-Request": "true", "HX-Target": "lista-resultados"})
    assert more.status_code == 200 and varies(more)
    assert "<html" not in more.text and "Filtrar resultados" not in more.text
    assert more.text.lstrip().startswith('<li class="tarjeta"')
    assert 'id="cargar-mas" class="cargar-mas" hx-swap-oob="true"' in more.text
    ids2 = doc_ids(more.text)
    assert ids2 and not set(ids1) & set(ids2)
    # Markers keep counting across pages, so [n] stays unique on the page.
    assert min(map(int, re.findall(r'id="pasaje-(\d+)"', more.text))) > max(
        map(int, re.findall(r'id="pasaje-(\d+)"', first.text)))
    # Without JavaScript the same link is a plain page.
    plain = client.get(next_link.replace("&amp;", "&"))
    assert "<html" in plain.text and doc_ids(plain.text) == ids2


def test_invalid_input_is_a_spanish_400_page_fragment_or_json(client):
    long_query = "a" * 600
    page = client.get("/buscar", params={"q": long_query})
    assert page.status_code == 400 and "demasiado larga" in page.text and "<html" in page.text
    frag = client.get("/buscar", params={"q": long_query}, headers={"HX-Request": "true"})
    assert frag.status_code == 400 and 'role="alert"' in frag.text and "<html" not in frag.text
    api = client.get("/api/buscar", params={"anio_desde": "dos mil"})
    assert api.status_code == 400 and "número válido" in api.json()["error"]["mensaje"]
    bad_filter = client.get("/buscar", params={"paises": "narnia"}, headers={"Accept": "application/json"})
    assert bad_filter.status_code == 400 and "narnia" in bad_filter.json()["error"]["mensaje"]
    assert client.get("/buscar", params={"ctx_municipio": "lunar"}).status_code == 400


def test_document_page_lists_passages_with_anchors_and_similar(client):
    search = client.get("/api/buscar", params={"q": QUERY}).json()
    cited = next(p for p in search["results"][0]["passages"] if PAGE3_SENTENCE in p["text"])
    url = cited["citation"]["url"]
    path, anchor = url.split("#")
    page = client.get(path)
    assert page.status_code == 200
    html = page.text
    # The anchor the citation points to exists and holds the cited text.
    start = html.index(f'id="{anchor}"')
    assert PAGE3_SENTENCE in html[start:html.index("</li>", start)]
    anchors = re.findall(r'<li id="p(\d+)" class="pasaje-doc"', html)
    assert anchors == sorted(anchors, key=int) and len(anchors) == 3
    assert "Prácticas similares" in html and 'href="/documentos/ruta-frontera/archivo"' in html
    similar = html[html.index("Prácticas similares"):]
    assert 'href="/documentos/' in similar and 'href="/documentos/ruta-frontera"' not in similar
    assert "Villa Demostración" in html and "Personas migrantes" in html


def test_unknown_document_is_404_in_spanish(client):
    r = client.get("/documentos/no-existe")
    assert r.status_code == 404 and "No existe el documento «no-existe»" in r.text
    j = client.get("/api/documentos/no-existe")
    assert j.status_code == 404 and j.json()["error"]["status"] == 404
    assert client.get("/otra/ruta").status_code == 404


def test_original_file_is_served_inline_with_type(client, app):
    r = client.get("/documentos/ruta-frontera/archivo")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"].startswith('inline; filename="ruta-frontera.pdf"')
    assert r.content.startswith(b"%PDF")
    html = client.get("/documentos/transferencias/archivo")
    assert html.headers["content-type"].startswith("text/html")
    assert html.headers["content-security-policy"].startswith("sandbox")  # uploaded HTML never runs scripts
    # A payload pointing outside the corpus folder is never served.
    app.state.kb.service.store.update_document_payload("escuelas", {"archivo": "../../../../etc/passwd"})
    assert client.get("/documentos/escuelas/archivo").status_code == 404


def test_csv_export_has_bom_all_results_and_neutralised_formulas(client, app):
    app.state.kb.service.store.update_document_payload("red-comunitaria", {"titulo": "=HYPERLINK(\"http://x\")"})
    r = client.get("/buscar.csv", params={"q": "mujeres", "por_pagina": 2})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Documento", "Tipo", "Países"]
    total = client.get("/api/buscar", params={"q": "mujeres"}).json()["total"]
    assert len(rows) - 1 == total  # the whole result list, not just the first page
    titles = [row[0] for row in rows[1:]]
    assert "'=HYPERLINK(\"http://x\")" in titles
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert all(row[-1].startswith("http://testserver/documentos/") for row in rows[1:])


def test_safe_cell_neutralises_every_formula_prefix():
    from web.routes.public import safe_cell

    for cell in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(cell) == "'" + cell
    assert safe_cell("Ruta") == "Ruta" and safe_cell(None) == "" and safe_cell(2023) == "2023"


def test_json_api_search_document_facets_and_openapi(client):
    r = client.get("/api/buscar", params=[("q", "atención"), ("paises", "honduras"), ("paises", "guatemala")])
    data = r.json()
    assert r.status_code == 200 and {x["doc_id"] for x in data["results"]} <= {"clinica-movil", "ruta-frontera"}
    p = data["results"][0]["passages"][0]
    assert p["citation"]["text"] and p["citation"]["url"].startswith("/documentos/")
    doc = client.get("/api/documentos/ruta-frontera").json()
    assert doc["title"] == "Ruta de atención en la frontera" and len(doc["pasajes"]) == 3
    assert doc["pasajes"][2]["pages"] == "p. 3" and doc["pasajes"][2]["url"].endswith("#p2")
    facets = client.get("/api/facetas").json()
    assert sum(v["count"] for v in facets["paises"]) == 8 and facets["paises"][0]["label"]
    spec = client.get("/openapi.json").json()
    assert {"/api/buscar", "/api/documentos/{doc_id}", "/api/facetas"} <= set(spec["paths"])
    assert not any(path.startswith("/curaduria") for path in spec["paths"])
    # /docs and /redoc would load assets from a CDN: disabled.
    assert client.get("/docs").status_code == 404 and client.get("/redoc").status_code == 404
