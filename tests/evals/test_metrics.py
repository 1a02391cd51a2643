import math

import pytest

from evals.metrics import (abstained, abstention, context_gain, mean_defined, mrr_at, ndcg_at, passage_accuracy,
                           percentile, recall_at, short_answer_ok, summarise, summarise_by_type)
from search.core import AnswerSentence, Citation, DocumentResult, Passage, SearchResponse


def test_ndcg_is_one_for_ideal_order_and_lower_otherwise():
    judged = {"a": 3, "b": 1}
    assert ndcg_at(["a", "b", "c"], judged) == 1.0
    swapped = ndcg_at(["b", "a"], judged)
    expected = (1 + 7 / math.log2(3)) / (7 + 1 / math.log2(3))
    assert math.isclose(swapped, expected)
    assert ndcg_at(["c", "d"], judged) == 0.0


def test_recall_and_mrr():
    judged = {"a": 2, "b": 1, "z": 0}
    assert recall_at(["x", "a", "y"], judged, 2) == 0.5
    assert recall_at(["b", "a"], judged, 5) == 1.0
    assert mrr_at(["x", "y", "b"], judged) == 1 / 3
    assert mrr_at(["x"], judged) == 0.0


def test_percentile_nearest_rank():
    assert percentile([5, 1, 3, 2, 4], 50) == 3
    assert percentile(list(range(1, 101)), 95) == 95


# ------------------------------------------------------------------ hand-made responses


def _response(docs: list[tuple[str, list[str]]], answer: list[tuple[str, int]] = (), answered: bool = True):
    """A SearchResponse whose results are `docs` [(doc_id, [passage text...])], passages numbered 1.. in
    order, and whose short answer is [(sentence, marker)]."""
    results, marker = [], 0
    for doc_id, texts in docs:
        r = DocumentResult(doc_id=doc_id, title=doc_id, doc_type="informe", doc_type_label="Informe", countries=[],
                           country_labels=[], municipality="", organization="", year=2020, evidence="",
                           evidence_label="", file_type="pdf", score=1.0)
        for i, text in enumerate(texts):
            marker += 1
            citation = Citation(doc_id=doc_id, title=doc_id, section="", page_start=None, page_end=None,
                                organization="", countries=[], year=2020, doc_type="Informe", chunk_index=i,
                                url=f"/documentos/{doc_id}#p{i}", file_url=None)
            r.passages.append(Passage(marker=marker, chunk_id=f"{doc_id}-{i}", chunk_index=i, text=text, html=text,
                                      score=1.0, citation=citation))
        results.append(r)
    sentences = [AnswerSentence(html=s, text=s, marker=m) for s, m in answer]
    resp = SearchResponse(query="q", mode="hibrido", total=len(results), page=1, pages=1, results=results,
                          facets={}, answer=sentences)
    resp.answered = answered
    return resp


QUOTE = "la denuncia no es requisito para recibir atención de salud"
RUTA = ("Autonomía: la sobreviviente decide qué servicios acepta; la denuncia no es requisito para recibir "
        "atención de salud, psicológica o alojamiento.")


def test_passage_accuracy_checks_quotes_only_for_returned_documents():
    resp = _response([("ruta", ["Otra cosa.", "Autonomía:  la sobreviviente decide;\nla denuncia no es requisito "
                                              "para recibir atención de salud, psicológica."]),
                      ("ley", ["Nada que ver."])])
    assert passage_accuracy(resp, (("ruta", QUOTE),)) == 1.0  # whitespace differences do not matter
    assert passage_accuracy(resp, (("ruta", QUOTE), ("ley", "las órdenes duran 60 días"))) == 0.5
    assert passage_accuracy(resp, (("ausente", QUOTE),)) is None  # document not returned: nothing to check
    assert passage_accuracy(resp, ()) is None


def test_short_answer_is_right_when_its_first_sentence_holds_a_judged_quote_of_a_relevant_document():
    judged = {"ruta": 3, "paquete": 2, "margen": 1}
    docs = [("margen", [RUTA]), ("ruta", ["Introducción del protocolo.", RUTA]), ("paquete", [RUTA])]
    # marker 3 = second passage of «ruta» (graded 3): the sentence contains the quote.
    assert short_answer_ok(_response(docs, [(RUTA, 3)]), judged, (("ruta", QUOTE),)) is True
    # The same sentence, but from the passage of a document graded 1: wrong.
    assert short_answer_ok(_response(docs, [(RUTA, 1)]), judged, (("ruta", QUOTE),)) is False
    # Graded 2 is enough, and any of the query's quotes may match.
    assert short_answer_ok(_response(docs, [(RUTA, 4)]), judged, (("ruta", "otra cita"), ("ruta", QUOTE))) is True
    # Only the FIRST sentence counts.
    assert short_answer_ok(_response(docs, [("Introducción del protocolo.", 2), (RUTA, 3)]), judged,
                           (("ruta", QUOTE),)) is False
    # A quote longer than the sentence: the sentence lying inside the quote is right.
    long_quote = "Principios. " + RUTA + " No devolución: nadie informa a migración."
    assert short_answer_ok(_response(docs, [(RUTA, 3)]), judged, (("ruta", long_quote),)) is True


def test_short_answer_without_answer_or_source_is_wrong_and_without_quotes_is_not_scored():
    judged = {"ruta": 3}
    docs = [("ruta", [RUTA])]
    assert short_answer_ok(_response(docs, []), judged, (("ruta", QUOTE),)) is False
    assert short_answer_ok(_response(docs, [], answered=False), judged, (("ruta", QUOTE),)) is False
    assert short_answer_ok(_response(docs, [(RUTA, 99)]), judged, (("ruta", QUOTE),)) is False  # unknown marker
    assert short_answer_ok(_response(docs, [("Una frase sin la cita, pero del documento.", 1)]), judged,
                           (("ruta", QUOTE),)) is False
    assert short_answer_ok(_response(docs, [(RUTA, 1)]), judged, ()) is None
    assert short_answer_ok(_response(docs, [(RUTA, 1)]), {}, ()) is None


def test_abstained_reads_answered_and_defaults_to_answering():
    assert abstained(_response([], answered=False)) is True
    assert abstained(_response([("ruta", [RUTA])])) is False

    class Old:  # a response from before the `answered` field existed
        results, answer = [], []

    assert abstained(Old()) is False


def test_abstention_precision_recall_and_wrongly_withheld_answers():
    # (answerable, abstained): 4 out-of-scope, 3 of them abstained; 6 answerable, 1 abstained.
    pairs = [(False, True)] * 3 + [(False, False)] + [(True, True)] + [(True, False)] * 5
    a = abstention(pairs)
    assert a["abstained"] == 4
    assert a["abstention_precision"] == 3 / 4
    assert a["abstention_recall"] == 3 / 4
    assert a["answerable_abstained"] == 1 / 6
    none = abstention([(True, False), (False, False)])
    assert none["abstention_precision"] is None  # never abstained: precision undefined, not 0
    assert none["abstention_recall"] == 0.0 and none["answerable_abstained"] == 0.0
    assert abstention([(True, False)])["abstention_recall"] is None


def test_context_gain():
    g = context_gain([(0.5, 0.7), (1.0, 0.9)])
    assert g["context_queries"] == 2
    assert g["ndcg@10_context_off"] == pytest.approx(0.75) and g["ndcg@10_context_on"] == pytest.approx(0.8)
    assert g["context_delta"] == pytest.approx(0.05)
    assert context_gain([])["context_delta"] is None


def _row(qid, kind, answerable, ndcg=None, cite=None, ans=None, abst=False, ctx=None, lat=10.0):
    return {"id": qid, "tipo": kind, "answerable": answerable, "ndcg@10": ndcg,
            "recall@5": ndcg, "recall@10": ndcg, "mrr@10": ndcg, "citation_ok": cite, "answer_ok": ans,
            "abstained": abst, "ndcg@10_context": ctx, "latency_ms": lat}


def test_summary_ranks_answerable_queries_only_and_reports_every_figure():
    rows = [_row("a", "pregunta-natural", True, 1.0, cite=1.0, ans=True, lat=10),
            _row("b", "pregunta-natural", True, 0.5, cite=0.0, ans=False, abst=True, lat=20),
            _row("c", "contexto", True, 0.6, cite=None, ans=None, ctx=0.8, lat=30),
            _row("d", "fuera-de-alcance", False, abst=True, lat=40),
            _row("e", "fuera-de-alcance", False, abst=False, lat=50)]
    s = summarise(rows)
    assert s["ndcg@10"] == pytest.approx(0.7)  # (1.0 + 0.5 + 0.6) / 3: out-of-scope queries left out
    assert s["citation_accuracy"] == s["passage_accuracy"] == 0.5
    assert s["answer_accuracy"] == 0.5
    assert s["abstention_precision"] == 0.5 and s["abstention_recall"] == 0.5
    assert s["answerable_abstained"] == pytest.approx(1 / 3)
    assert s["context_queries"] == 1 and s["context_delta"] == pytest.approx(0.2)
    assert (s["queries"], s["answerable_queries"], s["out_of_scope_queries"]) == (5, 3, 2)
    assert s["latency_p50_ms"] == 30 and s["latency_p95_ms"] == 50
    by_type = summarise_by_type(rows)
    assert list(by_type) == ["pregunta-natural", "contexto", "fuera-de-alcance"]
    assert by_type["pregunta-natural"]["ndcg@10"] == 0.75 and by_type["pregunta-natural"]["abstained_rate"] == 0.5
    assert by_type["fuera-de-alcance"]["ndcg@10"] is None and by_type["fuera-de-alcance"]["abstained_rate"] == 0.5
    assert by_type["contexto"]["answer_accuracy"] is None


def test_summary_of_rows_without_the_new_fields_still_works():
    # SQuAD-style rows: every query answerable, no quotes, no types.
    rows = [{"id": "1", "tipo": "", "ndcg@10": 1.0, "recall@5": 1.0, "recall@10": 1.0, "mrr@10": 1.0,
             "citation_ok": None, "latency_ms": 5.0}]
    s = summarise(rows)
    assert s["ndcg@10"] == 1.0 and s["citation_accuracy"] is None and s["abstention_precision"] is None
    assert mean_defined([None, True, False, 1]) == pytest.approx(2 / 3) and mean_defined([None]) is None


def test_report_tables_and_json_carry_the_new_figures(tmp_path):
    import json

    from rich.console import Console

    from evals.report import rich_table, write_outputs
    from evals.runner import Config, ConfigResult

    rows = [_row("a", "pregunta-natural", True, 1.0, cite=1.0, ans=True),
            _row("c", "contexto", True, 0.6, ctx=0.8),
            _row("d", "fuera-de-alcance", False, abst=True)]
    results = [ConfigResult(Config("híbrido + glosario", "hibrido", True), rows)]
    console = Console(record=True, width=250)
    console.print(rich_table("Dominio", results))
    text = console.export_text()
    for header in ("Pasajes correctos", "Respuesta corta", "Abstención P", "Por tipo de consulta",
                   "fuera-de-alcance", "nDCG@10 con contexto", "+0.200"):
        assert header in text
    data = write_outputs(tmp_path, "dominio", "Dominio", results, {"queries": 3})
    summary = json.loads((tmp_path / "dominio.json").read_text(encoding="utf-8"))["configs"]["híbrido + glosario"]
    assert summary["citation_accuracy"] == summary["passage_accuracy"] == 1.0
    assert summary["abstention_recall"] == 1.0 and summary["by_type"]["contexto"]["ndcg@10"] == 0.6
    assert data["per_query"]["híbrido + glosario"][2]["ndcg@10"] is None
    md = (tmp_path / "dominio.md").read_text(encoding="utf-8")
    assert "| híbrido + glosario | pregunta-natural |" in md and "## Contexto del municipio" in md
