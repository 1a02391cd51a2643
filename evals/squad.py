"""Any SQuAD-format file as a retrieval benchmark: each paragraph is a document, each question's
paragraph its one relevant document (as MTEB's XQuADRetrieval). Paragraphs go through the
product's own chunk -> embed -> write path and questions through its SearchService."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from evals.runner import Config, ConfigResult, Query, run_queries
from ingest.chunk import Chunk, ChunkedDocument
from ingest.embed import EmbeddingCache, embed
from ingest.manifest import DocumentMeta
from ingest.write import SourceInfo, write
from search.abstain import Abstainer, Rule
from search.core import build_service
from search.embedders import make_embedder
from search.settings import Settings
from search.store import open_store
from search.taxonomy import load_taxonomy

# The glossary is domain vocabulary (VBG acronyms, regional synonyms); on a general benchmark
# it is reported but not the headline: expanding "refugio" or "OEA" in Wikipedia questions
# measures the glossary's reach, not retrieval.
SQUAD_CONFIGS = [Config("híbrido", "hibrido", False), Config("híbrido + glosario", "hibrido", True),
                 Config("denso", "denso", False), Config("léxico", "lexico", False)]


def load_squad(path: Path) -> tuple[list[tuple[str, str, str]], list[Query]]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    paragraphs, queries = [], []
    for article in data["data"]:
        for para in article["paragraphs"]:
            pid = f"p{len(paragraphs):04d}"
            paragraphs.append((pid, article.get("title", ""), para["context"]))
            for qa in para["qas"]:
                queries.append(Query(id=str(qa["id"]), text=qa["question"], judged={pid: 1}))
    return paragraphs, queries


def run_squad(settings: Settings, path: Path, limit: int | None = None) -> tuple[list[ConfigResult], dict]:
    paragraphs, queries = load_squad(path)
    if limit:
        queries = queries[:limit]
    with tempfile.TemporaryDirectory(prefix="kb-squad-") as tmp:
        s = settings.model_copy(update={"data_dir": Path(tmp), "qdrant_url": "",
                                        "embedding_cache": settings.cache_path})
        embedder = make_embedder(s.embedder)
        embedder.warm_up()
        store = open_store(s, embedder.dim)
        store.check_embedder(embedder.name, embedder.dim)
        cache = EmbeddingCache(s.cache_path)
        taxonomy = load_taxonomy(s.taxonomy_path)
        try:
            for pid, article, text in paragraphs:
                # Each paragraph is a document titled with its article's title, as the product
                # treats every document (the title is embedded and indexed with each passage).
                title = article.replace("_", " ")
                meta = DocumentMeta(pid, "", title, "informe", ("regional",), "", "regional", "", 2019,
                                    ("prevencion",), (), (), (), "", "es", "documentada")
                chunk = Chunk(pid, 0, text, "", None, None, 0, len(text))
                doc = ChunkedDocument(pid, text, (chunk,), None)
                embedded = embed([chunk], title, embedder, cache)
                write(store, meta, doc, embedded, SourceInfo("", "txt", "squad"))
            service = build_service(s, store=store, embedder=embedder, taxonomy=taxonomy)
            # The abstention rule is fitted to the VBG collection (search/abstencion.json); on Wikipedia
            # paragraphs its thresholds mean nothing, and this benchmark measures ranking: always answer.
            service.abstainer = Abstainer(Rule(0.0, 0.0, 0.0, 0.0))
            results = [run_queries(service, queries, c) for c in SQUAD_CONFIGS]
        finally:
            store.close()
            cache.close()
    return results, {"documents": len(paragraphs), "queries": len(queries), "file": str(path)}
