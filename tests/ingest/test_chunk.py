from __future__ import annotations

from ingest.chunk import chunk
from ingest.partition import partition
from tests.conftest import PAGE3_SENTENCE, make_docx


def test_chunks_carry_section_pages_and_exact_offsets(small_corpus):
    doc = chunk("ruta", partition(small_corpus / "documentos" / "ruta.pdf").blocks)
    assert [c.section for c in doc.chunks] == ["Contexto del municipio", "Cómo funciona la ruta", "Resultados"]
    assert [(c.page_start, c.page_end) for c in doc.chunks] == [(1, 1), (2, 2), (3, 3)]
    for c in doc.chunks:
        assert doc.text[c.char_start:c.char_end] == c.text
    assert PAGE3_SENTENCE in doc.chunks[2].text
    assert doc.n_pages == 3


def test_sections_do_not_bleed_and_headings_join_their_body(tmp_path):
    path = make_docx(tmp_path / "d.docx", "Guía municipal", [
        ("Primera sección", ["Texto de la primera sección, con lo que la red municipal hizo durante el primer año."]),
        ("Segunda sección", ["Texto de la segunda sección, con lo que la red municipal aprendió para el futuro."]),
    ])
    doc = chunk("d", partition(path).blocks)
    assert [c.section for c in doc.chunks] == ["Primera sección", "Segunda sección"]
    assert doc.chunks[0].text.startswith("Guía municipal")  # the document title joins the first section
    assert "segunda sección" not in doc.chunks[0].text


def test_long_sections_are_split_under_the_size_limit(tmp_path):
    body = " ".join(f"La frase número {i} describe la ruta de atención municipal." for i in range(200))
    path = make_docx(tmp_path / "largo.docx", "Documento largo", [("Sección extensa", [body])])
    doc = chunk("largo", partition(path).blocks, max_chars=800, new_after_chars=600)
    assert len(doc.chunks) > 5
    assert all(len(c.text) <= 800 for c in doc.chunks)  # a hard limit, headings included
    assert {c.section for c in doc.chunks} == {"Sección extensa"}
    for c in doc.chunks:
        assert doc.text[c.char_start:c.char_end] == c.text


# ------------------------------------------------------------------ passage boundaries and hard limits

from ingest.blocks import Block, Kind  # noqa: E402

END = tuple(".!?:;…»”\")]")


def _check_provenance(doc):
    for c in doc.chunks:
        assert doc.text[c.char_start:c.char_end] == c.text


def test_passages_start_and_end_on_sentences():
    sentences = [f"La red municipal número {i} atiende a mujeres desplazadas en la frontera." for i in range(60)]
    doc = chunk("d", [Block(" ".join(sentences), Kind.TEXT, 1)], max_chars=500, new_after_chars=350)
    assert len(doc.chunks) > 5
    for c in doc.chunks:
        assert c.text.startswith("La red municipal") and c.text.endswith("frontera.")
        assert 80 <= len(c.text) <= 500
    _check_provenance(doc)


def test_one_sentence_longer_than_the_limit_is_the_only_cut():
    long = "La ordenanza establece " + ", ".join(f"la medida número {i} de protección" for i in range(80)) + "."
    doc = chunk("d", [Block("Medidas", Kind.HEADING, 1), Block(long, Kind.TEXT, 1)], max_chars=400,
                new_after_chars=300)
    assert all(0 < len(c.text) <= 400 for c in doc.chunks)
    assert doc.chunks[0].text.startswith("Medidas")  # the heading opens the first passage
    _check_provenance(doc)


def test_list_items_stay_whole_and_headings_never_end_a_passage():
    blocks = [Block("Ruta de atención", Kind.HEADING, 1)]
    blocks += [Block(f"{i}. La persona responsable del paso {i} registra la derivación y acompaña a la usuaria.",
                     Kind.LIST, 1) for i in range(1, 30)]
    blocks += [Block("Contactos", Kind.HEADING, 2), Block("La línea municipal atiende las 24 horas del día, "
                                                          "todos los días del año, en español y en q'eqchi'.",
                                                          Kind.TEXT, 2)]
    doc = chunk("d", blocks, max_chars=600, new_after_chars=450)
    items = [b.text for b in blocks if b.kind is Kind.LIST]
    for c in doc.chunks:
        assert not c.text.endswith(("Ruta de atención", "Contactos"))
        for part in c.text.split("\n\n"):  # every item in a passage is whole
            assert part in items or part in ("Ruta de atención", "Contactos") or part.startswith("La línea")
    assert doc.chunks[-1].section == "Contactos" and doc.chunks[-1].page_start == 2
    _check_provenance(doc)


def test_words_that_are_not_headings_do_not_name_sections():
    blocks = [Block("Presupuesto anual", Kind.HEADING, 1),
              Block("El municipio asignó fondos propios a la casa de acogida durante tres años seguidos.", Kind.TEXT, 1),
              Block("y", Kind.HEADING, 1), Block("son", Kind.HEADING, 1), Block("594494", Kind.HEADING, 1),
              Block("La cooperación internacional aportó el equipamiento y la formación del personal.", Kind.TEXT, 1)]
    doc = chunk("d", blocks)
    assert {c.section for c in doc.chunks} == {"Presupuesto anual"}


def test_no_empty_or_tiny_passages_unless_that_is_all_there_is():
    blocks = [Block("Sección A", Kind.HEADING, 1), Block("Texto breve.", Kind.TEXT, 1),
              Block("Sección B", Kind.HEADING, 1),
              Block("Un párrafo con contenido suficiente para formar un pasaje por sí mismo en la colección.",
                    Kind.TEXT, 1)]
    doc = chunk("d", blocks)
    assert all(len(c.text) >= 80 for c in doc.chunks)
    only = chunk("e", [Block("Nota breve.", Kind.TEXT, 1)])
    assert [c.text for c in only.chunks] == ["Nota breve."]


def test_articles_name_their_sections():
    blocks = [Block("ARTÍCULO 5°: Facultades y funciones.", Kind.TEXT, 3),
              Block("El Departamento Ejecutivo queda facultado para ejercer todas las funciones de fiscalización.",
                    Kind.TEXT, 3),
              Block("Artículo 6. La Secretaría en la aplicación e interpretación de esta Ley deberá observar "
                    "los tratados internacionales.", Kind.TEXT, 4)]
    doc = chunk("d", blocks, max_chars=200, new_after_chars=150)
    assert [c.section for c in doc.chunks] == ["ARTÍCULO 5°: Facultades y funciones.", "Artículo 6"]
