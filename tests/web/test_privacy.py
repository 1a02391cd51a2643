"""Query text and document text stay out of the logs unless KB_LOG_QUERIES enables queries."""

from __future__ import annotations

import logging

QUERY = "mi vecina sufre violencia y no sabe a dónde ir"


def test_search_logs_no_query_text_and_access_log_drops_query_string(client, caplog):
    caplog.set_level(logging.DEBUG)
    assert client.get("/buscar", params={"q": QUERY}).status_code == 200
    assert client.get("/api/buscar", params={"q": QUERY}).status_code == 200
    # httpx is the test's own client logging its request, not the server.
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpx"))
    assert "vecina" not in logged
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/buscar?q=mi+vecina+sufre", "1.1", 200), None)
    for f in logging.getLogger("uvicorn.access").filters:
        f.filter(record)
    assert "vecina" not in record.getMessage() and "/buscar?" in record.getMessage()


def test_ingest_logs_no_document_text(tmp_path, small_corpus, settings, embedder, taxonomy, caplog):
    from ingest.pipeline import Ingestor
    from search.logs import configure_logging

    configure_logging(verbose=True)  # the most the product logs (kb -v)
    caplog.set_level(logging.INFO)
    ing = Ingestor(settings.model_copy(update={"corpus_dir": small_corpus}), embedder=embedder, taxonomy=taxonomy)
    try:
        ing.sync(small_corpus)
    finally:
        ing.close()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for phrase in ("comité de vigilancia comunitaria", "alquiler seguro", "lenguas mayas"):
        assert phrase not in logged
