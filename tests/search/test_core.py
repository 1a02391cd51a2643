"""Search on a real small corpus in a real embedded store with the real model."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from search.core import Context, SearchRequest, build_service
from search.errors import InvalidInput, NotFound
from search.text import highlight, query_stems
from tests.conftest import PAGE3_SENTENCE, REPO, copy_tree


@pytest.fixture
def data_dir(tmp_path, ingested_template):
    dest = tmp_path / "data"
    copy_tree(ingested_template, dest)
    return dest


@pytest.fixture
def service(data_dir, settings, embedder, taxonomy):
    s = settings.model_copy(update={"data_dir": data_dir})
    svc = build_service(s, embedder=embedder, taxonomy=taxonomy)
    yield svc
    svc.store.close()


def test_sentence_on_page_three_is_cited_as_page_three(service):
    resp = service.search(SearchRequest(query="¿Cuándo se reúne el comité de vigilancia comunitaria?"))
    top = resp.results[0]
    assert top.doc_id == "ruta-frontera"
    passage = next(p for p in top.passages if PAGE3_SENTENCE in p.text)
    c = passage.citation
    assert (c.page_start, c.page_end) == (3, 3) and c.pages == "p. 3"
    assert c.section == "Resultados"
    assert c.url == f"/documentos/ruta-frontera#p{passage.chunk_index}"
    assert c.file_url == "/documentos/ruta-frontera/archivo#page=3"
    assert "Ruta de atención en la frontera" in c.text and "Guatemala" in c.text and "2023" in c.text


def test_country_filter_returns_only_that_country_and_counts_add_up(service):
    everything = service.search(SearchRequest(query="atención a mujeres", per_page=50))
    by_country = {f.value: f.count for f in everything.facets["paises"]}
    assert sum(by_country.values()) == everything.total  # each test document has one country
    filtered = service.search(SearchRequest(query="atención a mujeres", filters={"paises": ("honduras",)}, per_page=50))
    assert filtered.total == by_country["honduras"] >= 1
    assert all("honduras" in r.countries for r in filtered.results)
    selected = {f.value: f for f in filtered.facets["paises"]}
    assert selected["honduras"].selected and selected["honduras"].count == filtered.total
    assert sum(f.count for f in filtered.facets["tipo_documento"]) == filtered.total
    # Other countries stay visible so the official can switch.
    assert len(selected) > 1


def test_labels_are_accepted_as_filter_values(service):
    resp = service.search(SearchRequest(query="clínica", filters={"paises": ("Honduras",)}))
    assert {r.doc_id for r in resp.results} == {"clinica-movil"}


def test_grouping_never_shows_a_document_twice(service):
    for mode in ("hibrido", "denso", "lexico"):
        resp = service.search(SearchRequest(query="mujeres violencia atención municipal", mode=mode, per_page=50))
        ids = [r.doc_id for r in resp.results]
        assert len(ids) == len(set(ids)) and ids
        assert all(1 <= len(r.passages) <= 3 for r in resp.results)
        markers = [p.marker for r in resp.results for p in r.passages]
        assert markers == list(range(1, len(markers) + 1))


def test_pagination_partitions_the_ranking(service):
    full = service.search(SearchRequest(query="mujeres", per_page=50))
    pages = [service.search(SearchRequest(query="mujeres", per_page=3, page=p)) for p in (1, 2, 3)]
    assert [r.doc_id for p in pages for r in p.results] == [r.doc_id for r in full.results][:9]
    assert pages[0].pages == -(-full.total // 3)


def test_highlighting_is_stem_aware_accent_insensitive_and_escaped():
    stems = query_stems("atencion a las migrantes")
    out = highlight("La atención de <b>mujeres</b> migrantes & niñas", stems)
    assert out == "La <mark>atención</mark> de &lt;b&gt;mujeres&lt;/b&gt; <mark>migrantes</mark> &amp; niñas"


def test_script_in_a_document_renders_as_text(service, tmp_path, embedder, taxonomy):
    from ingest.manifest import DocumentMeta
    from ingest.pipeline import Ingestor

    path = tmp_path / "xss.txt"
    path.write_text("ALERTA\n\nEl texto <script>alert('xss')</script> menciona la ruta de atención segura.\n",
                    encoding="utf-8")
    meta = DocumentMeta("xss", "xss.txt", "<img src=x onerror=alert(1)>", "buena-practica", ("guatemala",), "",
                        "municipal", "Org", 2024, ("prevencion",), (), (), (), "", "es", "ilustrativa")
    ing = Ingestor(service.settings, store=service.store, embedder=embedder, taxonomy=taxonomy)
    assert ing.ingest_document(meta, path).status == "añadido"
    resp = service.search(SearchRequest(query="ruta de atención segura"))
    passage = next(p for r in resp.results if r.doc_id == "xss" for p in r.passages)
    assert "<script>" not in passage.html and "&lt;script&gt;" in passage.html
    assert all("<script" not in s.html for s in resp.answer)


def test_short_answer_cites_passages_on_the_page(service):
    resp = service.search(SearchRequest(query="transferencias monetarias para pagar un alquiler seguro"))
    assert 1 <= len(resp.answer) <= 4
    markers = {p.marker for r in resp.results for p in r.passages}
    assert all(s.marker in markers for s in resp.answer)
    assert any("alquiler" in s.text for s in resp.answer)
    assert "<mark>" in resp.answer[0].html


def test_similar_practices_exclude_the_source_document(service):
    similar = service.similar("ruta-frontera", k=5)
    assert similar and "ruta-frontera" not in {d.doc_id for d in similar}
    with pytest.raises(NotFound):
        service.similar("no-existe")


def test_context_boosts_without_hiding(service):
    plain = service.search(SearchRequest(query="atención a mujeres sobrevivientes", per_page=50))
    boosted = service.search(SearchRequest(query="atención a mujeres sobrevivientes", per_page=50,
                                           context=Context(pais="mexico")))
    assert boosted.total == plain.total
    rank = lambda resp: [r.doc_id for r in resp.results].index("albergue-escaneado")
    assert rank(boosted) <= rank(plain)


def test_bad_queries_get_spanish_messages(service):
    with pytest.raises(InvalidInput) as exc:
        service.search(SearchRequest(query="x" * 600))
    assert "demasiado larga" in exc.value.user_message
    with pytest.raises(InvalidInput) as exc:
        service.search(SearchRequest(query="!!! ??? 123"))
    assert "no contiene palabras" in exc.value.user_message
    with pytest.raises(InvalidInput):
        service.search(SearchRequest(query="refugio", filters={"paises": ("narnia",)}))
    with pytest.raises(InvalidInput):
        service.search(SearchRequest(query="refugio", mode="magico"))


def test_gibberish_gets_a_message_instead_of_random_results(service):
    resp = service.search(SearchRequest(query="xkcdqwz plorf asdfgh"))
    assert resp.total == 0 and resp.results == [] and "no encontramos documentos relacionados" in resp.message
    assert resp.answered is False and resp.answer == []
    assert service.search(SearchRequest(query="ruta de atencion")).total > 0  # missing accent still finds


def test_no_results_suggests_removing_filters(service):
    resp = service.search(SearchRequest(query="clínica jurídica", filters={"paises": ("panama",),
                                                                          "tipo_documento": ("norma",)}))
    assert resp.total == 0 and "quitar algún filtro" in resp.message


def test_empty_query_browses_documents_with_facets(service):
    resp = service.search(SearchRequest(query="", filters={"paises": ("guatemala",)}))
    assert [r.doc_id for r in resp.results] == ["ruta-frontera"]
    assert {f.value: f.count for f in resp.facets["paises"]}["guatemala"] == 1


def test_cli_json_matches_python_api(service, data_dir):
    query = "medidas de protección y orden de alejamiento"
    api = service.search(SearchRequest(query=query, per_page=5)).to_dict()
    service.store.close()  # the embedded shard is single-process
    env = os.environ | {"KB_DATA_DIR": str(data_dir), "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", "import kb; kb.main()", "search", query, "--json", "--k", "5"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    cli = json.loads(out.stdout)
    strip = lambda d: [(r["doc_id"], [(p["chunk_id"], p["text"], p["citation"]) for p in r["passages"]])
                       for r in d["results"]]
    assert strip(cli) == strip(api)
    assert cli["answer"] == api["answer"]
