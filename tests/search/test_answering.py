"""Passages that answer and an honest "no answer", on the small corpus in a real store with the real model."""

from __future__ import annotations

import pytest

from search.abstain import Abstainer, Evidence, Rule
from search.core import SearchRequest, build_service
from search.taxonomy import FACET_VOCABULARIES
from tests.conftest import copy_tree

QUERIES = [
    "casa de acogida", "ruta de atención", "transferencias monetarias", "prevención en escuelas", "policía municipal",
    "clínica jurídica", "mujeres migrantes", "violencia digital", "intérprete", "comité de vigilancia",
    "órdenes de protección", "alquiler seguro", "primeros auxilios psicológicos", "frontera", "albergue temporal",
    "docentes", "gestión de casos", "red comunitaria", "atención a mujeres", "sobrevivientes",
]


@pytest.fixture(scope="module")
def service(tmp_path_factory, ingested_template, embedder, taxonomy):
    from search.settings import Settings
    from tests.conftest import REPO

    data = copy_tree(ingested_template, tmp_path_factory.mktemp("answering") / "data")
    svc = build_service(Settings(data_dir=data, corpus_dir=REPO / "corpus", _env_file=None), embedder=embedder,
                        taxonomy=taxonomy)
    yield svc
    svc.store.close()


def test_facet_counts_equal_what_ticking_them_returns(service):
    checked = 0
    for q in QUERIES:
        resp = service.search(SearchRequest(query=q, per_page=50))
        if not resp.answered:
            continue
        for field_name in FACET_VOCABULARIES:
            for value in resp.facets.get(field_name, []):
                ticked = service.search(SearchRequest(query=q, filters={field_name: (value.value,)}, per_page=50))
                assert ticked.total == value.count, (q, field_name, value.value)
                checked += 1
        for year in resp.years:
            ticked = service.search(SearchRequest(query=q, year_min=int(year.value), year_max=int(year.value),
                                                  per_page=50))
            assert ticked.total == year.count, (q, year.value)
            checked += 1
    assert checked > 100


def test_out_of_scope_question_gets_no_answer_and_says_so(service):
    resp = service.search(SearchRequest(query="¿Cómo renuevo mi licencia de conducir en la alcaldía?"))
    assert resp.answered is False
    assert resp.answer == [] and len(resp.results) <= 3
    assert "La colección no tiene documentos que respondan a" in resp.message
    assert resp.to_dict()["answered"] is False


def test_answerable_question_is_answered_with_whole_sentences(service):
    resp = service.search(SearchRequest(query="¿Para qué sirven las transferencias monetarias a las sobrevivientes?"))
    assert resp.answered is True and resp.answer
    for s in resp.answer:
        assert s.text[0].isupper() and s.text.endswith(".") and "\n" not in s.text
    assert resp.to_dict()["answered"] is True


def test_abstention_rule_reads_its_calibrated_thresholds():
    rule, embedder = Rule.load()
    assert embedder  # the cosines belong to the model the rule was fitted with
    decide = Abstainer(rule).run
    assert decide(Evidence(rule.dense_alone + 0.01, 0.0))
    assert not decide(Evidence(rule.dense_with_words - 0.01, 1.0))
    assert decide(Evidence(rule.dense_with_words + 0.001, rule.words))
    assert not decide(Evidence(rule.dense_with_words + 0.001, rule.words - 0.05))
    assert not decide(Evidence(None, rule.words_lexical - 0.01)) and decide(Evidence(None, rule.words_lexical))


def test_context_lifts_a_matching_document_without_hiding_others(service):
    from search.core import Context

    plain = service.search(SearchRequest(query="atención a mujeres", per_page=50))
    ctx = service.search(SearchRequest(query="atención a mujeres", per_page=50, context=Context(pais="honduras")))
    assert {r.doc_id for r in plain.results} == {r.doc_id for r in ctx.results}
    rank = lambda resp: min(i for i, r in enumerate(resp.results) if "honduras" in r.countries)  # noqa: E731
    assert rank(ctx) < rank(plain) or rank(plain) == 0


def test_another_embedder_decides_on_words_alone():
    rule, calibrated_for = Rule.load()
    abstainer = Abstainer(embedder="st:otro-modelo")
    assert not abstainer.use_dense
    assert abstainer.run(Evidence(0.1, rule.words_lexical)) and not abstainer.run(Evidence(0.99, 0.0))
    assert Abstainer(embedder=calibrated_for).use_dense
