"""SIGKILL `kb ingest` at random points (CI variant: 6 kills; the full ≥ 20-kill run is
`python -m evals.faults --kills 20`). After every kill the store, opened (recovery runs on open),
holds only whole documents identical to an uninterrupted run's and answers a search; a final
re-run converges to exactly the uninterrupted run's index (doc ids and chunk texts).

Complements test_pipeline's 4-kill test: random delays drawn over the measured length of a
whole run, fine-grained writes (KB_EMBED_BATCH_SIZE=1), and attempts with and without the
embedding cache, so kills land in parsing, embedding and writing alike.
"""

from __future__ import annotations

import csv

from evals.faults import run_kills
from tests.conftest import MANIFEST_HEADER

CI_KILLS = 6


def test_random_sigkills_leave_whole_documents_and_rerun_converges(tmp_path, small_corpus, embedder, taxonomy):
    with open(small_corpus / "manifest.csv", encoding="utf-8") as f:
        # PDFs only add parser start-up and OCR time here (the full run in evals.faults keeps them).
        rows = [r for r in csv.DictReader(f) if not r["archivo"].endswith(".pdf")]
    # Five titled copies of each file: six short files are written within a fraction of a second,
    # too narrow a window for the kills to land in. New titles make new passages (not cache hits).
    rows += [r | {"id": f"{r['id']}-{k}", "titulo": f"{r['titulo']} (copia {k})"} for k in range(1, 5) for r in rows]
    with open(small_corpus / "manifest.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=MANIFEST_HEADER)
        w.writeheader()
        w.writerows(rows)
    lines: list[str] = []
    report = run_kills(small_corpus, tmp_path / "kills", kills=CI_KILLS, seed=11, embedder=embedder,
                       taxonomy=taxonomy, log=lines.append)
    print("\n".join(lines))
    assert report.kills == CI_KILLS, "\n".join(lines)
    assert report.converged
    # The kills were spread over the run, not all before the first write or after the last one.
    assert len(set(report.delays)) == CI_KILLS
    assert report.partial_states >= 1, "\n".join(lines)
