"""`kb serve` (a real subprocess on a free loopback port) under 8 concurrent clients for ~10 s while
a curator signs in and uploads documents that go through ingest jobs: every response is the
expected one, and every upload ends searchable. The full 60 s run is
`python -m evals.faults --load-seconds 60`.
"""

from __future__ import annotations

from evals.faults import run_load
from tests.conftest import copy_tree

CI_SECONDS = 10


def test_kb_serve_under_concurrent_clients_while_a_curator_uploads(tmp_path, ingested_template, small_corpus):
    data = tmp_path / "data"
    copy_tree(ingested_template, data)
    lines: list[str] = []
    report = run_load(data, small_corpus, seconds=CI_SECONDS, clients=8, log=lines.append)
    print("\n".join(lines))
    assert report.errors == [], report.errors[:10]
    assert report.requests >= 8 * 5, lines
    assert report.uploads >= 1 and report.uploads_searchable == report.uploads, lines
    # Every reader path was exercised.
    assert {"/buscar", "/api/buscar", "/documentos/ruta-frontera", "/api/facetas", "/"} <= set(report.by_path)
