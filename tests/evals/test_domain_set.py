"""The domain evaluation set (evals/dominio.yaml) is well formed: enough out-of-scope queries with
nothing relevant, enough natural-question and municipal-context queries with judged answers, every
judged quote verbatim in its document as the product parses it, every taxonomy id valid."""

from __future__ import annotations

import re

import pytest
import yaml

from evals.domain import DOMAIN_SET, load_queries
from evals.metrics import norm
from evals.runner import OUT_OF_SCOPE
from ingest.manifest import load_manifest
from ingest.partition import partition
from search.core import MUNICIPALITY_TYPES, Context
from tests.conftest import REPO

ORIGINAL_QUERIES = 96  # q001–q096, the set before out-of-scope and natural questions were added
NEW_ANSWER_KINDS = {"pregunta-natural", "contexto"}


def _number(query_id: str) -> int:
    return int(re.fullmatch(r"q(\d+)", query_id).group(1))


@pytest.fixture(scope="module")
def queries():
    return load_queries()


@pytest.fixture(scope="module")
def documents(taxonomy):
    return {d.id: d for d in load_manifest(REPO / "corpus" / "manifest.csv", taxonomy).documents}


@pytest.fixture(scope="module")
def parsed_text(queries, documents):
    """Whitespace-normalised text of every quoted document, as the product's parser reads it (once each)."""
    cited = sorted({doc for q in queries for doc, _ in q.passages})
    return {doc: norm("\n\n".join(b.text for b in partition(REPO / "corpus" / documents[doc].archivo).blocks))
            for doc in cited}


def test_ids_are_unique_and_the_original_queries_are_kept(queries):
    ids = [q.id for q in queries]
    assert len(set(ids)) == len(ids)
    assert [f"q{i:03d}" for i in range(1, ORIGINAL_QUERIES + 1)] == ids[:ORIGINAL_QUERIES]
    assert all(_number(i) > ORIGINAL_QUERIES for i in ids[ORIGINAL_QUERIES:])


def test_out_of_scope_queries_have_nothing_relevant(queries):
    raw = {q["id"]: q for q in yaml.safe_load(DOMAIN_SET.read_text(encoding="utf-8"))["consultas"]}
    out = [q for q in queries if q.kind == OUT_OF_SCOPE]
    assert len(out) >= 35
    assert len({norm(q.text).lower() for q in out}) == len(out)
    for q in out:
        assert raw[q.id]["relevantes"] == {}, q.id  # written explicitly, not forgotten
        assert not q.answerable and not q.passages and q.context is None, q.id
    # Only out-of-scope queries lack relevant documents: a forgotten `relevantes` elsewhere is an error.
    assert all(q.answerable for q in queries if q.kind != OUT_OF_SCOPE)


def test_answerable_queries_are_judged_against_the_manifest(queries, documents):
    for q in queries:
        if q.kind == OUT_OF_SCOPE:
            continue
        assert set(q.judged) <= set(documents), q.id
        assert all(1 <= g <= 3 for g in q.judged.values()), q.id
        assert all(doc in q.judged for doc, _ in q.passages), q.id


def test_new_natural_and_context_queries_carry_answering_quotes(queries):
    new = [q for q in queries if _number(q.id) > ORIGINAL_QUERIES and q.kind in NEW_ANSWER_KINDS]
    assert len(new) >= 35
    assert sum(q.kind == "pregunta-natural" for q in new) >= 15
    assert sum(q.kind == "contexto" for q in new) >= 10
    for q in new:
        assert q.passages, q.id
        # The short answer is judged against quotes of documents graded 2 or more.
        assert any(q.judged[doc] >= 2 for doc, _ in q.passages), q.id
        assert max(q.judged.values()) == 3, q.id
    contexts = [q for q in new if q.kind == "contexto"]
    assert all(q.context is not None and q.context.active for q in contexts)
    assert all(len(q.text) >= 120 for q in contexts)  # a description of a setting, not a keyword query


def test_context_fields_use_taxonomy_ids(queries, taxonomy):
    countries = set(taxonomy.for_field("paises").ids)
    populations = set(taxonomy.for_field("poblaciones").ids)
    with_context = [q for q in queries if q.context is not None]
    assert with_context
    for q in with_context:
        assert q.kind == "contexto", q.id
        assert not q.context.pais or q.context.pais in countries, q.id
        assert not q.context.tipo_municipio or q.context.tipo_municipio in MUNICIPALITY_TYPES, q.id
        assert set(q.context.poblaciones) <= populations, q.id


def test_every_quote_is_in_its_document_as_parsed(queries, parsed_text):
    missing = [(q.id, doc, quote[:70]) for q in queries for doc, quote in q.passages
               if norm(quote) not in parsed_text[doc]]
    assert not missing, missing


def test_load_queries_reads_the_optional_context(tmp_path):
    path = tmp_path / "set.yaml"
    path.write_text("""consultas:
  - id: a
    consulta: "Somos un municipio fronterizo"
    tipo: contexto
    contexto: {pais: mexico, tipo_municipio: fronterizo, poblaciones: [migrantes, refugiadas]}
    relevantes: {bp-mx-ruta-frontera: 3}
  - id: b
    consulta: "receta de pupusas"
    tipo: fuera-de-alcance
    relevantes: {}
""", encoding="utf-8")
    a, b = load_queries(path)
    assert a.context == Context("mexico", "fronterizo", ("migrantes", "refugiadas"))
    assert a.answerable and b.context is None and not b.answerable and b.judged == {}
    path.write_text("""consultas:
  - id: c
    consulta: "x"
    contexto: {país: mexico}
    relevantes: {bp-mx-ruta-frontera: 3}
""", encoding="utf-8")
    with pytest.raises(ValueError, match="contexto"):
        load_queries(path)
