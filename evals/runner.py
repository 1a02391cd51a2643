"""Run a set of judged queries through the product's own SearchService, in several configurations."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from evals.metrics import (abstained, mrr_at, ndcg_at, passage_accuracy, recall_at, short_answer_ok, summarise,
                           summarise_by_type)
from search.core import Context, SearchRequest, SearchService

OUT_OF_SCOPE = "fuera-de-alcance"


@dataclass(frozen=True)
class Query:
    id: str
    text: str
    judged: dict[str, int]
    passages: tuple[tuple[str, str], ...] = ()  # (doc_id, exact quote)
    kind: str = ""
    context: Context | None = None  # the official's setting, for the context on/off comparison

    @property
    def answerable(self) -> bool:
        """A query the collection answers: it has judged relevant documents (out-of-scope ones have none)."""
        return bool(self.judged)


@dataclass(frozen=True)
class Config:
    name: str
    mode: str
    glossary: bool


CONFIGS = [
    Config("híbrido + glosario", "hibrido", True),
    Config("híbrido", "hibrido", False),
    Config("denso", "denso", False),
    Config("léxico + glosario", "lexico", True),
    Config("léxico", "lexico", False),
]


@dataclass
class ConfigResult:
    config: Config
    rows: list[dict] = field(default_factory=list)

    @property
    def summary(self) -> dict:
        s = summarise(self.rows)
        if s:
            s["by_type"] = summarise_by_type(self.rows)
        return s


def run_queries(service: SearchService, queries: list[Query], config: Config, k: int = 10) -> ConfigResult:
    result = ConfigResult(config)
    if queries:  # first call pays for lazy initialisation; keep it out of the latency figures
        service.search(SearchRequest(query=queries[0].text, mode=config.mode, glossary=config.glossary))
    for q in queries:
        request = SearchRequest(query=q.text, mode=config.mode, glossary=config.glossary, per_page=k)
        started = time.perf_counter()
        resp = service.search(request)
        latency = (time.perf_counter() - started) * 1000
        ranked = [r.doc_id for r in resp.results]
        answerable = q.answerable
        row = {
            "id": q.id,
            "tipo": q.kind,
            "answerable": answerable,
            # Ranking metrics only mean something when there is a relevant document to rank.
            "ndcg@10": ndcg_at(ranked, q.judged, 10) if answerable else None,
            "recall@5": recall_at(ranked, q.judged, 5) if answerable else None,
            "recall@10": recall_at(ranked, q.judged, 10) if answerable else None,
            "mrr@10": mrr_at(ranked, q.judged, 10) if answerable else None,
            "citation_ok": passage_accuracy(resp, q.passages),
            "answer_ok": short_answer_ok(resp, q.judged, q.passages) if answerable else None,
            "abstained": abstained(resp),
            "ndcg@10_context": None,
            "latency_ms": latency,
        }
        if answerable and q.context is not None and q.context.active:
            # The same query with the official's setting: does the context boost help the ranking?
            with_ctx = service.search(replace(request, context=q.context))
            row["ndcg@10_context"] = ndcg_at([r.doc_id for r in with_ctx.results], q.judged, 10)
        result.rows.append(row)
    return result
