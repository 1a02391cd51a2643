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
        assert (q.judged or q.kind == "fuera-de-alcance") and set(q.judged) <= known and all(1 <= g <= 3 for g in q.judged.values())
        assert all(doc in known for doc, _ in q.passages)


@pytest.mark.slow
def test_hybrid_quality_does_not_regress(corpus_index):
    results = evaluate(corpus_index, load_queries())
    by_name = {r.config.name: r.summary for r in results}
    recorded = json.loads(BASELINE.read_text(encoding="utf-8"))["dominio"]
    best = by_name["híbrido + glosario"]
    hybrid = best["ndcg@10"]
    assert hybrid >= recorded["hibrido_ndcg@10"] - 0.005, (
        f"hybrid nDCG@10 {hybrid:.4f} fell below the recorded {recorded['hibrido_ndcg@10']:.4f}")
    # Hybrid must beat each of its parts, or fusion is not earning its cost.
    assert hybrid > by_name["denso"]["ndcg@10"] and hybrid > by_name["léxico"]["ndcg@10"]
    assert best["passage_accuracy"] >= recorded["hibrido_pasajes_correctos"] - 0.01
    assert best["answer_accuracy"] >= recorded["hibrido_respuesta_breve"] - 0.01
    # The honest "no answer": most out-of-scope queries withheld, almost no answerable one.
    assert best["abstention_recall"] >= recorded["hibrido_abstencion_recall"] - 0.03
    assert best["answerable_abstained"] <= recorded["hibrido_respondibles_retenidas"] + 0.015
