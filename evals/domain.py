"""Domain evaluation: the demonstration corpus ingested into a fresh index, judged queries from
evals/dominio.yaml run through the product's search in every configuration."""

from __future__ import annotations

import tempfile
from contextlib import contextmanager
from typing import Iterator
from pathlib import Path

import yaml

from evals.runner import CONFIGS, ConfigResult, Query, run_queries
from ingest.pipeline import Ingestor
from search.core import Context, build_service
from search.errors import KBError
from search.settings import Settings

EVALS = Path(__file__).resolve().parent
DOMAIN_SET = EVALS / "dominio.yaml"
BASELINE = EVALS / "baseline.json"


CONTEXT_KEYS = {"pais", "tipo_municipio", "poblaciones"}


def _context(raw: dict | None, query_id: str) -> Context | None:
    """The optional `contexto` of a query as the search request's Context (ids from corpus/taxonomy.yaml)."""
    if not raw:
        return None
    unknown = set(raw) - CONTEXT_KEYS
    if unknown:  # a typo would silently turn the context off
        raise ValueError(f"{query_id}: unknown contexto keys {sorted(unknown)}")
    return Context(pais=str(raw.get("pais") or ""), tipo_municipio=str(raw.get("tipo_municipio") or ""),
                   poblaciones=tuple(str(p) for p in raw.get("poblaciones") or ()))


def load_queries(path: Path = DOMAIN_SET) -> list[Query]:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    out = []
    for q in raw["consultas"]:
        out.append(Query(
            id=str(q["id"]), text=str(q["consulta"]), kind=str(q.get("tipo", "")),
            judged={str(d): int(g) for d, g in (q.get("relevantes") or {}).items()},
            passages=tuple((str(p["doc_id"]), str(p["cita"])) for p in (q.get("pasajes") or [])),
            context=_context(q.get("contexto"), str(q["id"])),
        ))
    return out


def ingest_corpus(settings: Settings, corpus_dir: Path) -> Ingestor:
    """The corpus in the index of `settings` through the product's pipeline; any failure is an error."""
    ingestor = Ingestor(settings.model_copy(update={"corpus_dir": corpus_dir}))
    report = ingestor.sync(corpus_dir)
    if report.failed:
        ingestor.close()
        raise KBError("La ingesta del corpus de evaluación falló: "
                      + "; ".join(f"{o.doc_id}: {o.reason}" for o in report.failed))
    ingestor.last_report = report
    return ingestor


def evaluate(ingestor: Ingestor, queries: list[Query], configs=CONFIGS) -> list[ConfigResult]:
    service = build_service(ingestor.settings, store=ingestor.store, embedder=ingestor.embedder,
                            taxonomy=ingestor.taxonomy)
    return [run_queries(service, queries, c) for c in configs]


@contextmanager
def temporary_index(settings: Settings, corpus_dir: Path) -> Iterator[Ingestor]:
    """The corpus ingested into a fresh temporary index (sharing the embedding cache)."""
    with tempfile.TemporaryDirectory(prefix="kb-eval-") as tmp:
        s = settings.model_copy(update={"data_dir": Path(tmp), "qdrant_url": "", "embedding_cache": settings.cache_path})
        ingestor = ingest_corpus(s, corpus_dir)
        try:
            yield ingestor
        finally:
            ingestor.close()


def run_domain(settings: Settings, corpus_dir: Path, queries_path: Path = DOMAIN_SET,
               configs=CONFIGS) -> tuple[list[ConfigResult], dict]:
    """A fresh temporary index, every query in every configuration."""
    queries = load_queries(queries_path)
    with temporary_index(settings, corpus_dir) as ingestor:
        results = evaluate(ingestor, queries, configs)
        report = ingestor.last_report
        info = {"documents": len(ingestor.store.documents()), "queries": len(queries),
                "out_of_scope": sum(not q.answerable for q in queries),
                "ingest_seconds": round(report.seconds, 1), "passages_embedded": report.passages_embedded}
    return results, info
