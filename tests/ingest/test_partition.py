"""Real parsing of real files, one per supported format, built in a temp dir."""

from __future__ import annotations

import pytest

from ingest.blocks import Kind
from ingest.partition import detect_type, partition as _partition
from search.errors import IngestError
from tests.conftest import PAGE3_SENTENCE, make_scanned_pdf, make_text_pdf, scanned_page_images


def partition(path, **kwargs):
    return _partition(path, **kwargs).blocks


def texts(elements):
    return "\n".join(e.text for e in elements)


def test_text_pdf_keeps_page_numbers(small_corpus):
    els = partition(small_corpus / "documentos" / "ruta.pdf")
    page_of = {e.text: e.page for e in els}
    assert page_of["Resultados"] == 3
    assert any(PAGE3_SENTENCE in t and p == 3 for t, p in page_of.items())
    assert {e.page for e in els} == {1, 2, 3}


def test_scanned_pdf_is_ocrd_in_spanish(small_corpus):
    els = partition(small_corpus / "documentos" / "escaneado.pdf")
    text = texts(els)
    assert "albergue temporal" in text
    assert "tránsito" in text  # Spanish OCR keeps the accent
    assert {e.page for e in els} == {1}


def test_mixed_pdf_ocrs_only_pages_without_text_layer(tmp_path):
    from pypdf import PdfReader, PdfWriter

    make_text_pdf(tmp_path / "a.pdf", [("Portada", ["Texto digital de la primera página."])])
    make_scanned_pdf(tmp_path / "b.pdf", [["Segunda página escaneada con medidas de protección."]])
    w = PdfWriter()
    for part in ("a.pdf", "b.pdf"):
        for page in PdfReader(str(tmp_path / part)).pages:
            w.add_page(page)
    with open(tmp_path / "mixed.pdf", "wb") as f:
        w.write(f)
    els = partition(tmp_path / "mixed.pdf")
    by_page = {}
    for e in els:
        by_page.setdefault(e.page, []).append(e.text)
    assert "Texto digital" in " ".join(by_page[1])
    assert "medidas de protección" in " ".join(by_page[2])


@pytest.mark.parametrize("name, expected, kind", [
    ("clinica.docx", "intérprete de lenguas mayas", "DOCX"),
    ("policia.pptx", "orden de alejamiento", "PPTX"),
    ("indicadores.xlsx", "Medidas de protección solicitadas", "XLSX"),
    ("transferencias.html", "alquiler seguro", "HTML"),
    ("escuelas.md", "violencia digital", "MD"),
    ("red.txt", "primeros auxilios psicológicos", "TXT"),
])
def test_office_and_text_formats(small_corpus, name, expected, kind):
    path = small_corpus / "documentos" / name
    assert detect_type(path) == kind
    assert expected in texts(partition(path))


def test_pptx_bullets_are_not_headings(small_corpus):
    els = partition(small_corpus / "documentos" / "policia.pptx")
    titles = [e.text for e in els if e.kind is Kind.HEADING]
    assert titles == ["Capacitación a la policía municipal", "Primera respuesta", "Derivación"]


def test_empty_pdf_is_an_error_not_an_empty_document(tmp_path):
    from PIL import Image

    blank = Image.new("RGB", (800, 1100), "white")
    blank.save(str(tmp_path / "blank.pdf"), resolution=100)
    with pytest.raises(IngestError) as exc:
        partition(tmp_path / "blank.pdf")
    assert "no contiene texto" in exc.value.user_message


def test_corrupt_and_empty_files_fail_with_spanish_message(tmp_path, small_corpus):
    truncated = tmp_path / "roto.pdf"
    truncated.write_bytes((small_corpus / "documentos" / "ruta.pdf").read_bytes()[:700])
    with pytest.raises(IngestError) as exc:
        partition(truncated)
    assert "PDF" in exc.value.user_message
    empty = tmp_path / "vacio.docx"
    empty.write_bytes(b"")
    with pytest.raises(IngestError) as exc:
        partition(empty)
    assert "vacío" in exc.value.user_message
    noise = tmp_path / "ruido.docx"
    noise.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(IngestError):
        partition(noise)


def test_extension_that_lies_about_content_is_rejected(tmp_path, small_corpus):
    fake = tmp_path / "informe.pdf"
    fake.write_bytes((small_corpus / "documentos" / "clinica.docx").read_bytes())
    with pytest.raises(IngestError) as exc:
        partition(fake)
    assert "no coincide" in exc.value.user_message


def test_scanned_page_image_fixture_is_image_only(tmp_path):
    # Guard for the OCR tests above: the scanned fixture really has no text layer.
    from pypdf import PdfReader

    scanned_page_images(["Hola"]).save(str(tmp_path / "s.pdf"), resolution=200)
    assert PdfReader(str(tmp_path / "s.pdf")).pages[0].extract_text().strip() == ""
