"""CI guard: the domain evaluation through the product's own pipeline and search must not fall
below the hybrid nDCG@10 recorded in evals/baseline.json (raise the record only with a change
that raises it)."""

from __future__ import annotations

import json

import pytest

from evals.domain import BASELINE, evaluate, load_queries
from ingest.manifest import load_manifest
from tests.conftest import REPO


def test_evaluation_set_is_well_formed(taxonomy):
    queries = load_queries()
    assert len(queries) >= 80
    assert len({q.id for q in queries}) == len(queries)
    known = {d.id for d in load_manifest(REPO / "corpus" / "manifest.csv", taxonomy).documents}
    for q in queries:
        assert q.judged and set(q.judged) <= known and all(1 <= g <= 3 for g in q.judged.values())
        assert all(doc in known for doc, _ in q.passages)


@pytest.mark.slow
def test_hybrid_quality_does_not_regress(corpus_index):
    results = evaluate(corpus_index, load_queries())
    by_name = {r.config.name: r.summary for r in results}
    baseline = json.loads(BASELINE.read_text(encoding="utf-8"))["dominio"]["hibrido_ndcg@10"]
    hybrid = by_name["híbrido + glosario"]["ndcg@10"]
    assert hybrid >= baseline - 0.005, f"hybrid nDCG@10 {hybrid:.4f} fell below the recorded {baseline:.4f}"
    # Hybrid must beat each of its parts, or fusion is not earning its cost.
    assert hybrid > by_name["denso"]["ndcg@10"] and hybrid > by_name["léxico"]["ndcg@10"]
    assert by_name["híbrido + glosario"]["citation_accuracy"] > 0.5
