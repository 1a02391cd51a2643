"""Parsing in the isolated worker process: same elements, a time limit, crash containment, a memory cap."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from ingest import partition as partition_module
from ingest.partition import partition
from ingest.pipeline import ADDED, FAILED, Ingestor
from search.errors import IngestError
from tests.conftest import make_docx, make_scanned_pdf, manifest_row, write_manifest

SLOW_PAGES = [[f"Página {i} del protocolo escaneado de protección para mujeres migrantes.",
               "La ruta de atención coordina salud, justicia y albergue temporal."] for i in range(1, 7)]


@pytest.fixture(scope="module")
def slow_pdf(tmp_path_factory):
    """Six scanned pages: OCR takes seconds, far above the short limits used here."""
    return make_scanned_pdf(tmp_path_factory.mktemp("lento") / "lento.pdf", SLOW_PAGES)


def summary(elements):
    return [(e.kind, e.text, e.page, e.page_breaks, e.section) for e in elements.blocks]


def test_worker_returns_the_same_elements_as_in_process(small_corpus):
    for name in ("ruta.pdf", "clinica.docx", "policia.pptx"):
        path = small_corpus / "documentos" / name
        assert summary(partition(path, timeout_s=120)) == summary(partition(path))


def test_worker_reports_parser_errors_in_spanish(tmp_path):
    broken = tmp_path / "roto.pdf"
    broken.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\n")  # truncated: no xref, no trailer
    with pytest.raises(IngestError) as err:
        partition(broken, timeout_s=120)
    assert "PDF" in err.value.user_message and "dañado" in err.value.user_message


def test_slow_file_times_out_alone_and_the_next_one_parses(slow_pdf, small_corpus):
    started = time.monotonic()
    with pytest.raises(IngestError) as err:
        partition(slow_pdf, timeout_s=0.5)
    assert "tiempo máximo" in err.value.user_message
    assert time.monotonic() - started < 30  # killed, not waited for
    assert partition_module._WORKER.pid is None  # the hung worker is gone
    els = partition(small_corpus / "documentos" / "ruta.pdf", timeout_s=120)
    assert {e.page for e in els.blocks} == {1, 2, 3}


def test_parser_crash_fails_that_file_alone(slow_pdf, small_corpus):
    partition(small_corpus / "documentos" / "clinica.docx", timeout_s=120)  # a started worker
    pid = partition_module._WORKER.pid
    assert pid is not None
    caught: list[BaseException] = []

    def parse():
        try:
            partition(slow_pdf, timeout_s=120)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            caught.append(exc)

    t = threading.Thread(target=parse)
    t.start()
    time.sleep(1.0)  # OCR of six pages is under way in the worker
    os.kill(pid, signal.SIGKILL)  # what a segfault in a C parser looks like from outside
    t.join(60)
    assert len(caught) == 1 and isinstance(caught[0], IngestError)
    assert "anómala" in caught[0].user_message
    els = partition(small_corpus / "documentos" / "clinica.docx", timeout_s=120)
    assert "clínica jurídica móvil" in " ".join(e.text for e in els.blocks).lower()
    assert partition_module._WORKER.pid not in (None, pid)


def test_memory_cap_is_set_on_the_worker(small_corpus):
    partition(small_corpus / "documentos" / "ruta.pdf", timeout_s=120, memory_mb=3000)
    limits = open(f"/proc/{partition_module._WORKER.pid}/limits", encoding="ascii").read()
    line = next(ln for ln in limits.splitlines() if ln.startswith("Max address space"))
    assert line.split()[3] == str(3000 * 1024 * 1024)


def test_ingest_with_a_time_limit_fails_the_slow_file_and_keeps_the_rest(tmp_path, slow_pdf, settings, embedder,
                                                                          taxonomy):
    corpus = tmp_path / "corpus"
    (corpus / "documentos").mkdir(parents=True)
    (corpus / "documentos" / "lento.pdf").write_bytes(slow_pdf.read_bytes())
    make_docx(corpus / "documentos" / "clinica.docx", "Clínica jurídica móvil",
              [("Descripción", ["La clínica jurídica móvil visita las aldeas rurales cada mes."])])
    write_manifest(corpus / "manifest.csv", [
        manifest_row("protocolo-lento", "documentos/lento.pdf", "Protocolo escaneado extenso"),
        manifest_row("clinica-movil", "documentos/clinica.docx", "Clínica jurídica móvil"),
    ])
    ing = Ingestor(settings.model_copy(update={"parse_timeout_s": 1.5}), embedder=embedder, taxonomy=taxonomy)
    try:
        report = ing.sync(corpus)
        outcomes = {o.doc_id: o for o in report.outcomes}
        assert outcomes["clinica-movil"].status == ADDED
        assert outcomes["protocolo-lento"].status == FAILED
        assert "tiempo máximo" in outcomes["protocolo-lento"].reason
        assert ing.store.chunks("protocolo-lento") == []
        assert ing.store.chunks("clinica-movil")
    finally:
        ing.close()
