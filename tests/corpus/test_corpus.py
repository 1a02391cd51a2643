"""The demonstration collection: valid against the taxonomy, covering what the product promises."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from ingest.manifest import load_manifest
from tests.conftest import REPO

CORPUS = REPO / "corpus"


@pytest.fixture(scope="module")
def manifest(taxonomy):
    return load_manifest(CORPUS / "manifest.csv", taxonomy)


def scanned(doc) -> bool:
    from pypdf import PdfReader

    path = CORPUS / doc.archivo
    return path.suffix == ".pdf" and not any(p.extract_text().strip() for p in PdfReader(str(path)).pages)


def test_manifest_is_valid_and_complete(manifest):
    assert manifest.problems == []
    assert len(manifest.documents) >= 40
    for d in manifest.documents:
        assert (CORPUS / d.archivo).is_file(), d.archivo
        assert d.titulo and d.organizacion and d.areas_intervencion and d.paises


def test_coverage_of_countries_types_areas_and_formats(manifest, taxonomy):
    countries = {c for d in manifest.documents for c in d.paises}
    assert countries == set(taxonomy["paises"].ids)  # the seven MIRPS countries and Regional
    assert {d.tipo_documento for d in manifest.documents} == set(taxonomy["tipos_documento"].ids)
    assert {a for d in manifest.documents for a in d.areas_intervencion} == set(taxonomy["areas_intervencion"].ids)
    formats = Counter(Path(d.archivo).suffix for d in manifest.documents)
    assert {".pdf", ".docx", ".pptx", ".html", ".md", ".txt"} <= set(formats)
    assert sum(scanned(d) for d in manifest.documents) >= 3


def test_illustrative_and_reference_documents_are_never_confused(manifest):
    for d in manifest.documents:
        if d.nivel_evidencia == "ilustrativa":
            assert d.url_fuente == ""
            source = CORPUS / "fuentes" / f"{d.id}.md"
            text = (source if source.is_file() else CORPUS / d.archivo).read_text(encoding="utf-8")
            assert "Ejemplo ilustrativo" in text[:600] or "EJEMPLO ILUSTRATIVO" in text[:600].upper(), d.id
        else:
            assert d.nivel_evidencia == "documentada" and d.id.startswith("ref-")


def test_every_document_yields_chunks_and_scans_yield_ocr_text(corpus_index, manifest):
    docs = {d["doc_id"]: d for d in corpus_index.store.documents()}
    assert set(docs) == {d.id for d in manifest.documents}
    for d in manifest.documents:
        assert docs[d.id]["chunk_count"] > 0
        if scanned(d):
            text = " ".join(c["text"] for c in corpus_index.store.chunks(d.id))
            assert len(text.split()) > 300, d.id  # OCR recovered the body, not noise
