"""The passage-quality yardstick (evals/passages.py) on hand-made chunked documents and on real
PDF and XLSX files generated here: each metric must flag what it exists to flag."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.passages import (
    _PdfProfile,
    ends_well,
    join_hyphenation,
    measure,
    report,
    running_lines,
    starts_well,
    table_headers_check,
    tokens,
)
from ingest.chunk import Chunk, ChunkedDocument
from tests.conftest import make_xlsx

HEADER = "Boletín Oficial de Villa Demostración"
BODY = [
    "La oficina municipal de la mujer atiende de lunes a viernes en el edificio del ayuntamiento.",
    "El comité de vigilancia comunitaria se reúne cada jueves en la plaza central del barrio norte.",
    "Las sobrevivientes reciben acompañamiento psicosocial y orientación jurídica gratuita y confidencial.",
    "La casa de acogida temporal ofrece alojamiento seguro durante un máximo de quince días naturales.",
]


def doc_of(parts: list[str], pages: list[int | None] | None = None, sep: str = "\n\n") -> ChunkedDocument:
    """A document whose chunks are exactly `parts`, joined by `sep`."""
    text = sep.join(parts)
    chunks, cursor = [], 0
    for i, part in enumerate(parts):
        page = pages[i] if pages else None
        chunks.append(Chunk("doc", i, part, "", page, page, cursor, cursor + len(part)))
        cursor += len(part) + len(sep)
    return ChunkedDocument("doc", text, tuple(chunks), max((p for p in pages or [] if p), default=None))


def make_running_pdf(path: Path, body: list[str] = BODY, header: str = HEADER) -> Path:
    """One body paragraph per page under a running header, with an "N de M" footer."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    total = len(body)

    def running(canvas, doc):
        canvas.saveState()
        canvas.setFont("Helvetica", 9)
        canvas.drawString(72, A4[1] - 40, header)
        canvas.drawCentredString(A4[0] / 2, 30, f"{doc.page} de {total}")
        canvas.restoreState()

    styles = getSampleStyleSheet()
    story = []
    for i, para in enumerate(body):
        if i:
            story.append(PageBreak())
        story.append(Paragraph(para, styles["BodyText"]))
    SimpleDocTemplate(str(path), pagesize=A4, invariant=1).build(story, onFirstPage=running, onLaterPages=running)
    return path


# ------------------------------------------------------------------ sizes and provenance


def test_sizes_empty_oversized_and_short_are_counted():
    parts = ["Texto breve.", "   ", "La oficina atiende. " * 10, "Una oración completa que supera los ochenta "
             "caracteres de largo para no contar como fragmento corto."]
    r = measure(doc_of(parts), max_chars=150, min_chars=80)
    assert r["chunks"] == 4
    assert r["empty"] == 1
    assert r["oversized"] == 1  # the 200-character chunk
    assert r["short_share"] == pytest.approx(2 / 4)  # "Texto breve." and the blank one
    assert r["size_min"] == 3 and r["size_max"] == 200


def test_provenance_mismatch_and_pages_going_backwards_are_flagged():
    good = doc_of(["Primera oración del texto.", "Segunda oración del texto."], pages=[1, 2])
    assert measure(good, max_chars=1000)["provenance_exact"] is True

    c0, c1 = good.chunks
    shifted = ChunkedDocument("doc", good.text, (c0, Chunk("doc", 1, c1.text, "", 2, 2, c1.char_start + 1,
                                                              c1.char_end + 1)), 2)
    r = measure(shifted, max_chars=1000)
    assert r["provenance_exact"] is False and r["provenance_bad_text"] == [1]

    backwards = doc_of(["Primera oración del texto.", "Segunda oración del texto."], pages=[3, 1])
    r = measure(backwards, max_chars=1000)
    assert r["provenance_exact"] is False and r["provenance_bad_pages"] == [1]


# ------------------------------------------------------------------ boundaries


def test_chunk_cut_mid_sentence_is_flagged():
    whole = ["La oficina municipal atiende de lunes a viernes.", "Se ofrece apoyo legal gratuito en la comarca."]
    assert measure(doc_of(whole), max_chars=1000)["boundary_ok"] == 1.0

    cut = ["La oficina municipal atiende de lunes a viernes. Se ofrece apoyo", "legal gratuito en la comarca."]
    r = measure(doc_of(cut, sep=" "), max_chars=1000)
    assert r["boundary_ok"] == 0.0
    first, second = r["boundary_offenders"]
    assert first["inicio_ok"] and not first["final_ok"] and first["final"].endswith("Se ofrece apoyo")
    assert not second["inicio_ok"] and second["final_ok"] and second["inicio"].startswith("legal gratuito")


@pytest.mark.parametrize("text", [
    "Artículo 5. Texto.", "¿Quién atiende?", "«Cita textual.»", "“Cita.”", "(a) Entre paréntesis.",
    "• Viñeta de lista.", "- Guion de lista.", "– Raya de lista.", "3. Tercer punto.", "a) Primer inciso;",
    "iv) Cuarto inciso:", "b. Segundo inciso.", "Ámbito de aplicación.", "ARTICULO 6º: Hecho imponible.-",
    "Artículo 9. Texto del artículo. Artículo reformado DOF 11-11-2020",
])
def test_sentence_and_list_item_boundaries_are_accepted(text):
    assert starts_well(text) and ends_well(text)


@pytest.mark.parametrize("text", ["de la comarca y", "y la oficina", "los servicios, que"])
def test_mid_sentence_boundaries_are_rejected(text):
    assert not starts_well(text) and not ends_well(text)


# ------------------------------------------------------------------ running headers and footers


def test_running_lines_finds_header_and_page_of_total_footer(tmp_path):
    pdf = make_running_pdf(tmp_path / "boletin.pdf")
    lines = running_lines(pdf)
    assert "boletín oficial de villa demostración" in lines
    assert {"#", "# de #", "página #", "- # -"} <= lines
    assert not any("oficina municipal" in ln or "casa de acogida" in ln for ln in lines)
    profile = _PdfProfile(pdf)
    assert profile.page_of_total is not None  # the "N de 4" footer recurs on every page
    assert profile.page_of_total.search("3 de 4") and not profile.page_of_total.search("3 de 40")


def test_running_lines_ignores_a_document_without_them(tmp_path):
    from tests.conftest import make_text_pdf

    headings = ["Contexto", "Comité", "Acompañamiento", "Acogida"]
    pdf = make_text_pdf(tmp_path / "plano.pdf", [(h, [p]) for h, p in zip(headings, BODY)])
    assert running_lines(pdf) == {"#", "# de #", "página #", "- # -"}


def test_chunks_with_a_running_line_are_counted(tmp_path):
    pdf = make_running_pdf(tmp_path / "boletin.pdf")
    clean = doc_of(BODY, pages=[1, 2, 3, 4])
    assert measure(clean, max_chars=1000, source=pdf)["header_footer_share"] == 0.0

    leaked = doc_of([BODY[0], BODY[1] + "\n2 de 4", HEADER + "\n" + BODY[2],
                     BODY[3] + " 3 de 4 los servicios"], pages=[1, 2, 3, 4])
    r = measure(leaked, max_chars=1000, source=pdf)
    assert r["header_footer_chunks"] == [1, 2, 3]
    assert r["header_footer_share"] == pytest.approx(3 / 4)


def test_header_footer_is_not_measured_for_other_formats(tmp_path):
    src = tmp_path / "nota.txt"
    src.write_text("Texto.", encoding="utf-8")
    r = measure(doc_of(["Texto plano completo."]), max_chars=1000, source=src)
    assert r["header_footer_share"] is None and r["word_recall"] is None and r["table_headers_ok"] is None


# ------------------------------------------------------------------ word recall


def test_word_recall_against_the_text_layer_without_running_lines(tmp_path):
    pdf = make_running_pdf(tmp_path / "boletin.pdf")
    full = measure(doc_of(BODY, pages=[1, 2, 3, 4]), max_chars=1000, source=pdf)
    assert full["word_recall"] == pytest.approx(1.0)  # the header and the footer are not expected

    half = measure(doc_of(BODY[:2], pages=[1, 2]), max_chars=1000, source=pdf)
    expected = sum(len(tokens(p)) for p in BODY[:2]) / sum(len(tokens(p)) for p in BODY)
    assert half["word_recall"] == pytest.approx(expected)


def test_scanned_pdf_has_no_word_recall(tmp_path):
    from tests.conftest import make_scanned_pdf

    pdf = make_scanned_pdf(tmp_path / "escaneo.pdf", [["Protocolo de albergue temporal"]])
    r = measure(doc_of(["Protocolo de albergue temporal."]), max_chars=1000, source=pdf)
    assert r["word_recall"] is None


def test_tokens_join_hyphenation_and_fold_ligatures():
    assert join_hyphenation("la vio-\nlencia de\nGénero-\nNueva") == "la violencia de\nGénero-\nNueva"
    assert tokens("Deﬁnición del Art. 12º") == tokens("definición del art. 12o")
    assert tokens("Ley 30364, año 2015") == ["ley", "30364", "año", "2015"]


# ------------------------------------------------------------------ spreadsheets


def test_xlsx_figures_must_sit_with_their_column_header(tmp_path):
    xlsx = make_xlsx(tmp_path / "incidentes.xlsx", {
        "VICTIMA": [["Género", "Femenino", "Masculino"], ["Edad", "#", "#"], ["18-20", 42, 6], ["21-24", 108, 17]],
        "RELACION": [["Relación", "#", "%"], ["Cónyuge", 154, 0.12664473684210525]],
        "Notas": [["Solo texto"], ["sin cifras"]],
    })
    rows = ["Género: 18-20; Femenino: 42; Masculino: 6.", "Género: 21-24; Femenino: 108; Masculino: 17.",
            "Relación: Cónyuge; #: 154; %: 12,7 %."]
    share, misses = table_headers_check(xlsx, rows)
    assert share == 1.0 and misses == []

    # The second row's figures without their headers: 108 and 17 are missed.
    share, misses = table_headers_check(xlsx, [rows[0], "21-24 108 17", rows[2]])
    assert share == pytest.approx(4 / 6)
    assert misses == ["VICTIMA: Femenino = 108", "VICTIMA: Masculino = 17"]

    r = measure(doc_of(rows), max_chars=1000, source=xlsx)
    assert r["table_headers_ok"] == 1.0 and r["word_recall"] is None


def test_xlsx_fraction_needs_enough_precision(tmp_path):
    xlsx = make_xlsx(tmp_path / "r.xlsx", {"R": [["Relación", "Porcentaje"], ["Cónyuge", 0.23108552631578946]]})
    assert table_headers_check(xlsx, ["Relación: Cónyuge; Porcentaje: 0.231086."])[0] == 1.0
    assert table_headers_check(xlsx, ["Relación: Cónyuge; Porcentaje: 23 %."])[0] == 1.0
    assert table_headers_check(xlsx, ["Relación: Cónyuge; Porcentaje: 0."])[0] == 0.0
    assert table_headers_check(xlsx, ["Relación: Cónyuge; Porcentaje: 0,3."])[0] == 0.0


# ------------------------------------------------------------------ report


def test_report_is_a_markdown_table_with_one_row_per_document():
    r = measure(doc_of(["Una oración completa."]), max_chars=1000)
    table = report([r, {"doc_id": "roto", "error": "IngestError: dañado"}])
    lines = table.splitlines()
    assert lines[0].startswith("| Documento | Fragmentos |") and "Recuperación de palabras" in lines[0]
    assert len(lines) == 4
    assert lines[2].startswith("| doc | 1 |") and "| sí |" in lines[2]
    assert "roto" in lines[3] and "error" in lines[3]
    assert all(ln.count("|") == lines[0].count("|") for ln in lines)


def test_a_paragraph_end_is_a_sentence_end_unless_visibly_mid_clause():
    assert ends_well("Artículo reformado DOF 30-10-2014", paragraph_end=True)
    assert ends_well("PEDRO CATERIANO BELLIDO Presidente del Consejo de Ministros", paragraph_end=True)
    assert not ends_well("PEDRO CATERIANO BELLIDO Presidente del Consejo de Ministros")
    assert not ends_well("hayan perturbado gravemente el orden público, y", paragraph_end=True)
    assert not ends_well("la red municipal de atención a las mujeres de la", paragraph_end=True)


def test_a_list_item_before_the_next_item_is_a_boundary():
    from ingest.chunk import Chunk, ChunkedDocument

    items = ["I. Cuando haya perturbado gravemente el orden público, y", "II. Cuando exista riesgo para la vida."]
    text = "\n\n".join(items)
    doc = ChunkedDocument("d", text, (Chunk("d", 0, items[0], "", 1, 1, 0, len(items[0])),
                                      Chunk("d", 1, items[1], "", 1, 1, len(items[0]) + 2, len(text))), 1)
    assert measure(doc, max_chars=1400)["boundary_ok"] == 1.0
    assert ends_well("publicada en el Diario Oficial el 27 de enero de 2011", paragraph_end=True)
