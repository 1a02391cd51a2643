"""Run a set of judged queries through the product's own SearchService, in several configurations."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from evals.metrics import mrr_at, ndcg_at, recall_at, summarise
from search.core import SearchRequest, SearchService


@dataclass(frozen=True)
class Query:
    id: str
    text: str
    judged: dict[str, int]
    passages: tuple[tuple[str, str], ...] = ()  # (doc_id, exact quote)
    kind: str = ""


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


def _norm(text: str) -> str:
    return " ".join(text.split())


@dataclass
class ConfigResult:
    config: Config
    rows: list[dict] = field(default_factory=list)

    @property
    def summary(self) -> dict:
        s = summarise([{k: v for k, v in r.items() if k != "citation_ok"} for r in self.rows])
        checked = [r["citation_ok"] for r in self.rows if r["citation_ok"] is not None]
        s["citation_accuracy"] = sum(checked) / len(checked) if checked else None
        return s


def run_queries(service: SearchService, queries: list[Query], config: Config, k: int = 10) -> ConfigResult:
    result = ConfigResult(config)
    if queries:  # first call pays for lazy initialisation; keep it out of the latency figures
        service.search(SearchRequest(query=queries[0].text, mode=config.mode, glossary=config.glossary))
    for q in queries:
        started = time.perf_counter()
        resp = service.search(SearchRequest(query=q.text, mode=config.mode, glossary=config.glossary, per_page=k))
        latency = (time.perf_counter() - started) * 1000
        ranked = [r.doc_id for r in resp.results]
        # Citation accuracy: for each judged passage whose document was returned, does one of
        # the passages cited for that document contain it?
        verdicts = []
        cited = {r.doc_id: [_norm(p.text) for p in r.passages] for r in resp.results}
        for doc_id, quote in q.passages:
            if doc_id in cited:
                verdicts.append(any(_norm(quote) in text for text in cited[doc_id]))
        result.rows.append({
            "id": q.id,
            "tipo": q.kind,
            "ndcg@10": ndcg_at(ranked, q.judged, 10),
            "recall@5": recall_at(ranked, q.judged, 5),
            "recall@10": recall_at(ranked, q.judged, 10),
            "mrr@10": mrr_at(ranked, q.judged, 10),
            "citation_ok": (sum(verdicts) / len(verdicts)) if verdicts else None,
            "latency_ms": latency,
        })
    return result
