"""Ruled tables in PDFs become one "Header: value" block per row; frames around prose do not.

The fixtures are real PDFs drawn with reportlab in a temp dir; the last tests read the real
Peruvian national plan when the shared data set is mounted.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ingest.blocks import Kind
from ingest.parsers.pdf_tables import Table, find_tables, render_row, table_blocks

REAL_DOCS = Path(__file__).resolve().parents[3] / "shared" / "data" / "documentos-reales" / "documentos"
PLAN = REAL_DOCS / "pe-plan-nacional-vg.pdf"

HEADER = ["Región", "Año", "Casos registrados", "Variación (%)"]
DATA = [
    ["Lima", "2022", "1.245", "12,5%"],
    ["Cusco", "2022", "318", "-3,1%"],
    ["Piura", "2023", "402", "7%"],
]
GRID = [("GRID", (0, 0), (-1, -1), 0.5, "black")]


def _styles():
    from reportlab.lib.styles import getSampleStyleSheet

    return getSampleStyleSheet()


def _build(path: Path, story: list, **kwargs) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import SimpleDocTemplate

    SimpleDocTemplate(str(path), pagesize=A4, invariant=1, **kwargs).build(story)
    return path


def _grid_table(rows: list[list], repeat_rows: int = 0, style: list | None = None, **kwargs):
    from reportlab.platypus import Table as RLTable
    from reportlab.platypus import TableStyle

    table = RLTable(rows, repeatRows=repeat_rows, **kwargs)
    table.setStyle(TableStyle(GRID + (style or [])))
    return table


def _texts(tables: list[Table]) -> list[str]:
    return [b.text for t in tables for b in table_blocks(t)]


# ------------------------------------------------------------------ ruled tables


def test_header_row_and_numeric_cells_give_header_value_rows(tmp_path):
    from reportlab.platypus import Paragraph

    styles = _styles()
    pdf = _build(tmp_path / "tabla.pdf", [
        Paragraph("Casos atendidos por región", styles["Heading2"]),
        Paragraph("La tabla resume los casos registrados en los centros de atención.", styles["BodyText"]),
        _grid_table([HEADER, *DATA]),
        Paragraph("Fuente: registros administrativos.", styles["BodyText"]),
    ])

    tables = find_tables(pdf)

    assert len(tables) == 1
    table = tables[0]
    assert table.page == 1
    assert table.header == tuple(HEADER)
    assert table.rows == tuple(tuple(r) for r in DATA)
    blocks = table_blocks(table)
    assert [b.text for b in blocks] == [
        "Región: Lima; Año: 2022; Casos registrados: 1.245; Variación (%): 12,5%.",
        "Región: Cusco; Año: 2022; Casos registrados: 318; Variación (%): -3,1%.",
        "Región: Piura; Año: 2023; Casos registrados: 402; Variación (%): 7%.",
    ]
    assert all(b.kind == Kind.TABLE and b.page == 1 for b in blocks)
    # The box is where the table is drawn, in points from the top-left corner of the page.
    x0, top, x1, bottom = table.bbox
    assert 0 < x0 < x1 < 595 and 0 < top < bottom < 842 and bottom - top > 4 * 14
    import pdfplumber

    with pdfplumber.open(pdf) as doc:  # the same box as pdfplumber's own reader finds
        (theirs,) = doc.pages[0].find_tables()
    assert table.bbox == pytest.approx(theirs.bbox, abs=0.5)


def test_table_across_a_page_break_keeps_its_header_on_the_next_page(tmp_path):
    from reportlab.platypus import Paragraph

    styles = _styles()
    rows = [[f"Distrito {i:02d}", str(2000 + i % 20), str(10 * i), f"{i % 9},5%"] for i in range(1, 71)]
    pdf = _build(tmp_path / "larga.pdf", [
        Paragraph("Registro por distrito", styles["Heading2"]),
        _grid_table([HEADER, *rows], repeat_rows=0),  # the header is NOT repeated on page 2
    ])

    tables = find_tables(pdf)

    assert [t.page for t in tables] == [1, 2]
    assert tables[1].header == tables[0].header == tuple(HEADER)
    blocks = [b for t in tables for b in table_blocks(t)]
    assert len(blocks) == len(rows)  # every data row once, no header row taken for data
    on_page_2 = [b for b in blocks if b.page == 2]
    assert on_page_2, "the table should run on to page 2"
    assert all(b.text.startswith("Región: Distrito ") and "Casos registrados: " in b.text for b in on_page_2)
    assert blocks[-1].text == "Región: Distrito 70; Año: 2010; Casos registrados: 700; Variación (%): 7,5%."
    assert blocks[-1].page == 2


def test_repeated_header_on_the_next_page_is_not_a_data_row(tmp_path):
    rows = [[f"Distrito {i:02d}", "2021", str(i), "1%"] for i in range(1, 71)]
    pdf = _build(tmp_path / "repetida.pdf", [_grid_table([HEADER, *rows], repeat_rows=1)])

    tables = find_tables(pdf)

    assert [t.page for t in tables] == [1, 2]
    texts = _texts(tables)
    assert len(texts) == len(rows)
    assert not any(t.startswith("Región: Región") for t in texts)


def test_two_header_rows_under_a_merged_cell(tmp_path):
    rows = [
        ["Indicador", "Línea de base", "", "Metas", "", "Responsable"],
        ["", "Valor", "Año", "2017", "2021", ""],
        ["% de DRE que ejecutan acciones de prevención", "0%", "2016", "35%", "100%", "MIMP"],
        ["N.º de informes anuales", "0", "2016", "1", "5", "MIMP, MINEDU"],
    ]
    spans = [("SPAN", (0, 0), (0, 1)), ("SPAN", (1, 0), (2, 0)), ("SPAN", (3, 0), (4, 0)), ("SPAN", (5, 0), (5, 1))]
    pdf = _build(tmp_path / "matriz.pdf", [_grid_table(rows, style=spans)])

    (table,) = find_tables(pdf)

    assert table.header == ("Indicador", "Línea de base Valor", "Línea de base Año", "Metas 2017", "Metas 2021",
                            "Responsable")
    assert _texts([table])[0] == ("Indicador: % de DRE que ejecutan acciones de prevención; Línea de base Valor: 0%; "
                                  "Línea de base Año: 2016; Metas 2017: 35%; Metas 2021: 100%; Responsable: MIMP.")


def test_label_value_sheet_with_a_title_row(tmp_path):
    """An indicator's data sheet: a caption across the top, then shaded labels beside values."""
    from reportlab.lib import colors

    rows = [
        ["FICHA TÉCNICA DEL INDICADOR 1.1", ""],
        ["Indicador", "Número de docentes capacitados en prevención"],
        ["Unidad de medida", "Número de docentes"],
        ["Línea de base", "0 (año 2016)"],
        ["Frecuencia de reporte", "Anual"],
    ]
    style = [("SPAN", (0, 0), (1, 0)), ("BACKGROUND", (0, 0), (1, 0), colors.lightgrey),
             ("BACKGROUND", (0, 1), (0, -1), colors.lightgrey)]
    pdf = _build(tmp_path / "ficha.pdf", [_grid_table(rows, style=style)])

    (table,) = find_tables(pdf)

    assert _texts([table]) == [
        "FICHA TÉCNICA DEL INDICADOR 1.1.",
        "Indicador: Número de docentes capacitados en prevención.",
        "Unidad de medida: Número de docentes.",
        "Línea de base: 0 (año 2016).",
        "Frecuencia de reporte: Anual.",
    ]


def test_landscape_page_turned_by_rotate_reads_as_displayed(tmp_path):
    """A landscape table on a portrait page shown turned (/Rotate 90): the box is in the frame of
    the page as shown, which is the one pdfplumber and poppler use."""
    import pdfplumber
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    path = tmp_path / "apaisada.pdf"
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setPageRotation(90)
    c.translate(A4[0], 0)
    c.rotate(90)  # text drawn up the page reads left to right once the page is turned
    table = _grid_table([HEADER, *DATA])
    _, height = table.wrapOn(c, 700, 500)
    table.drawOn(c, 60, A4[0] - 60 - height)
    c.showPage()
    c.save()

    (found,) = find_tables(path)

    assert _texts([found])[0] == "Región: Lima; Año: 2022; Casos registrados: 1.245; Variación (%): 12,5%."
    with pdfplumber.open(path) as pdf:
        (theirs,) = pdf.pages[0].find_tables()
    assert found.bbox == pytest.approx(theirs.bbox, abs=0.5)


def test_table_whose_text_runs_down_the_page_is_left_to_the_text_flow(tmp_path):
    """A page turned by /Rotate without its text: lines run down the page; reading them as lines
    would scramble every word, so no table is returned and the text stays where it is."""
    from pypdf import PdfReader, PdfWriter

    upright = _build(tmp_path / "recta.pdf", [_grid_table([HEADER, *DATA])])
    writer = PdfWriter()
    for page in PdfReader(str(upright)).pages:
        writer.add_page(page.rotate(90))
    turned = tmp_path / "girada.pdf"
    writer.write(str(turned))

    assert len(find_tables(upright)) == 1
    assert find_tables(turned) == []


# ------------------------------------------------------------------ unruled lists of figures


def _typed_page(path: Path, lines: list[tuple[float, float, str]], font: str = "Courier", size: float = 10) -> Path:
    """A page of text set line by line at given positions, like a typed ordinance."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    c.setFont(font, size)
    for x, y_from_top, text in lines:
        c.drawString(x, A4[1] - y_from_top, text)
    c.showPage()
    c.save()
    return path


def test_unruled_scale_of_figures_becomes_label_value_rows(tmp_path):
    lines = [
        (72, 100, "Las multas se aplicarán de acuerdo a la siguiente escala:"),
        (90, 124, "- Presentación espontánea"), (400, 124, "15 salarios"),
        (90, 136, "- Presentación ante primer requerimiento"),
        (106, 148, "cumplimentado en término"), (400, 148, "30 salarios"),
        (90, 160, "- Presentación ante ejecución judicial"), (400, 160, "75 salarios"),
        (72, 184, "Más de 30 y hasta 60 días de mora"), (420, 184, "5%"),
        (72, 196, "Más de 60 y hasta 120 días de mora"), (414, 196, "10%"),
        (72, 208, "Más de 180 días de mora"), (414, 208, "20%"),
        (72, 232, "El Departamento Ejecutivo podrá reducir las multas en un 50%"),
    ]
    pdf = _typed_page(tmp_path / "escala.pdf", lines)

    tables = find_tables(pdf)

    assert _texts(tables) == [
        "Presentación espontánea: 15 salarios.",
        "Presentación ante primer requerimiento cumplimentado en término: 30 salarios.",
        "Presentación ante ejecución judicial: 75 salarios.",
        "Más de 30 y hasta 60 días de mora: 5%.",
        "Más de 60 y hasta 120 días de mora: 10%.",
        "Más de 180 días de mora: 20%.",
    ]
    # the boxes cover the lists and neither the sentence before nor the one after
    assert all(110 < t.bbox[1] and t.bbox[3] < 225 for t in tables)


def test_columns_of_prose_ending_in_figures_are_not_a_scale(tmp_path):
    """Three columns of prose, with lines that end in numbers: a gazette page, not a scale."""
    words = ("la ley número de casos del año atendidos en 2016 por la oficina municipal con el plan "
             "nacional y sus metas al 2021").split()
    lines = []
    for column, x in enumerate((40, 220, 400)):
        for row in range(30):
            start = (row * 3 + column) % len(words)
            text = " ".join((words * 2)[start:start + 5]) + f" {row + 10}"
            lines.append((x, 80 + 12 * row, text))
    pdf = _typed_page(tmp_path / "columnas.pdf", lines, font="Helvetica", size=9)

    assert find_tables(pdf) == []


# ------------------------------------------------------------------ frames that are not tables


def test_paragraphs_in_drawn_frames_are_not_tables(tmp_path):
    from reportlab.platypus import Paragraph, Spacer

    styles = _styles()
    prose = [
        "El comité de vigilancia comunitaria se reúne cada jueves en la plaza para revisar los casos de la "
        "semana, coordinar el acompañamiento de las víctimas y acordar las visitas domiciliarias con el "
        "centro de salud y la comisaría del distrito, con acta firmada por todas las instituciones presentes.",
        "Las promotoras registran cada atención en la ficha única, derivan a la víctima al servicio que "
        "corresponda y hacen seguimiento a los quince y a los treinta días, informando al comité de los "
        "avances y de las dificultades encontradas en cada caso, sin revelar la identidad de las personas.",
    ]
    boxed = [Paragraph(p, styles["BodyText"]) for p in prose]
    pdf = _build(tmp_path / "recuadros.pdf", [
        Paragraph("Objetivo estratégico 1", styles["Heading2"]),
        # one framed cell holding paragraphs: a text box
        _grid_table([[boxed]], colWidths=[440]),
        Spacer(1, 12),
        # two framed columns of prose side by side
        _grid_table([[Paragraph(prose[0], styles["BodyText"]), Paragraph(prose[1], styles["BodyText"])]],
                    colWidths=[220, 220]),
        Spacer(1, 12),
        # four framed paragraphs in a 2 x 2 grid: ruled like a table, read like prose
        _grid_table([[Paragraph(prose[0], styles["BodyText"]), Paragraph(prose[1], styles["BodyText"])],
                     [Paragraph(prose[1], styles["BodyText"]), Paragraph(prose[0], styles["BodyText"])]],
                    colWidths=[220, 220]),
        Spacer(1, 12),
        # a caption cell above a framed paragraph
        _grid_table([["Recuadro 1"], [Paragraph(prose[1], styles["BodyText"])]], colWidths=[440]),
    ])

    assert find_tables(pdf) == []


def test_page_without_rules_costs_nothing(tmp_path):
    from reportlab.platypus import Paragraph

    styles = _styles()
    pdf = _build(tmp_path / "texto.pdf", [Paragraph("Texto sin tablas. " * 200, styles["BodyText"])])

    assert find_tables(pdf) == []
    assert find_tables(pdf, pages=[1, 7]) == []  # pages past the end are ignored


# ------------------------------------------------------------------ rendering


def test_rendering_skips_empty_cells_and_ends_with_a_period():
    table = Table(page=3, bbox=(0, 0, 100, 100), header=("Concepto", "", "Importe"),
                  rows=(("Tasa de inspección", "anual", "$ 1.200"), ("Multa", "", ""), ("", "", "Exento.")))

    blocks = table_blocks(table)

    assert [b.text for b in blocks] == ["Concepto: Tasa de inspección; anual; Importe: $ 1.200.",
                                        "Concepto: Multa.", "Importe: Exento."]
    assert {b.page for b in blocks} == {3}
    assert render_row(("A", "B"), ("", "")) == ""


# ------------------------------------------------------------------ the real national plan


@pytest.fixture(scope="module")
def plan_tables():
    if not PLAN.exists():
        pytest.skip(f"real documents not mounted: {PLAN} is absent")
    started = time.perf_counter()
    tables = find_tables(PLAN)
    return tables, time.perf_counter() - started


def test_plan_matrix_targets_keep_their_column_headers(plan_tables):
    tables, _ = plan_tables
    texts = [b.text for t in tables if t.page in range(10, 18) for b in table_blocks(t)]

    # Matriz de planificación estratégica, page 12: I AE 1.2.1, baseline 0% in 2016, targets by year.
    row = next(t for t in texts if "I AE 1.2.1." in t)
    assert "Línea de base o valor base del Indicador Valor: 0%" in row
    assert "Línea de base o valor base del Indicador Año: 2016" in row
    assert "METAS 2017: 35%" in row and "METAS 2021: 100%" in row
    assert "Instancias responsables: DRE - Gobierno Regional" in row
    # every matrix page has its header, including pages where the header is not repeated
    assert all("METAS" in t or "Objetivos Estratégicos:" in t or "Acciones" in t for t in texts)


def test_plan_indicator_sheets_read_as_label_value(plan_tables):
    tables, _ = plan_tables
    texts = [b.text for t in tables if t.page >= 20 for b in table_blocks(t)]

    assert "FICHA TÉCNICA DE INDICADOR DE IMPACTO - 2." in texts
    assert "Indicador: I - 2 Disminución del número anual de feminicidios." in texts
    assert "Línea de base: 93 feminicidios Año 2014 (No se cuenta con datos completos del 2015)." in texts


def test_plan_prose_pages_have_no_tables(plan_tables):
    tables, _ = plan_tables
    pages = {t.page for t in tables}
    # three columns of prose (and the cover), with the gazette's rules and masthead logo on every page
    assert pages.isdisjoint({1, 2, 3, 7, 8, 9, 18, 19})
    assert find_tables(PLAN, pages=[2, 3, 7, 8, 9, 18, 19]) == []


def test_plan_is_read_in_a_few_seconds(plan_tables):
    _, seconds = plan_tables
    assert seconds < 15  # ~1.2 s on one free core; generous for a loaded CI machine
