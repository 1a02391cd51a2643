from __future__ import annotations

from ingest.chunk import chunk
from ingest.partition import partition
from tests.conftest import PAGE3_SENTENCE, make_docx


def test_chunks_carry_section_pages_and_exact_offsets(small_corpus):
    doc = chunk("ruta", partition(small_corpus / "documentos" / "ruta.pdf"))
    assert [c.section for c in doc.chunks] == ["Contexto del municipio", "Cómo funciona la ruta", "Resultados"]
    assert [(c.page_start, c.page_end) for c in doc.chunks] == [(1, 1), (2, 2), (3, 3)]
    for c in doc.chunks:
        assert doc.text[c.char_start:c.char_end] == c.text
    assert PAGE3_SENTENCE in doc.chunks[2].text
    assert doc.n_pages == 3


def test_sections_do_not_bleed_and_headings_join_their_body(tmp_path):
    path = make_docx(tmp_path / "d.docx", "Guía municipal", [
        ("Primera sección", ["Texto corto uno."]),
        ("Segunda sección", ["Texto corto dos."]),
    ])
    doc = chunk("d", partition(path))
    assert [c.section for c in doc.chunks] == ["Primera sección", "Segunda sección"]
    assert doc.chunks[0].text.startswith("Guía municipal")  # the document title joins the first section
    assert "Texto corto dos" not in doc.chunks[0].text


def test_long_sections_are_split_under_the_size_limit(tmp_path):
    body = " ".join(f"La frase número {i} describe la ruta de atención municipal." for i in range(200))
    path = make_docx(tmp_path / "largo.docx", "Documento largo", [("Sección extensa", [body])])
    doc = chunk("largo", partition(path), max_chars=800, new_after_chars=600)
    assert len(doc.chunks) > 5
    assert all(len(c.text) <= 800 + len("Documento largo\n\nSección extensa\n\n") for c in doc.chunks)
    assert {c.section for c in doc.chunks} == {"Sección extensa"}
    for c in doc.chunks:
        assert doc.text[c.char_start:c.char_end] == c.text
