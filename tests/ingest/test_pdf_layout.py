"""Real-layout defects, each reproduced in a PDF drawn line by line, read through the product's parser.

The fixtures are drawn with reportlab's canvas so every defect is exactly where real documents have
it: a running header and an "N de M" footer on every page, two columns, a ligature glyph, line-end
hyphens, a sentence that runs across a page break, list numbers in a margin, a justified paragraph.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.blocks import Kind
from ingest.chunk import chunk
from ingest.partition import partition
from tests.conftest import FONT

HEADER = "BOLETÍN OFICIAL DEL MUNICIPIO DE VILLA DEMOSTRACIÓN"
PAGES = 3


def draw_pdf(path: Path, pages: list[list[tuple[float, float, str, float]]], *, header: str | None = HEADER,
             footer: bool = True) -> Path:
    """Each page: (x, y-from-top, text, font size) lines; a running header and 'N de M' footer on each."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("DejaVu", FONT))
    width, height = A4
    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    for n, lines in enumerate(pages, start=1):
        if header:
            c.setFont("DejaVu", 8)
            c.drawString(50, height - 30, header)
        if footer:
            c.setFont("DejaVu", 8)
            c.drawString(width / 2 - 15, 25, f"{n} de {len(pages)}")
        for x, y, text, size in lines:
            c.setFont("DejaVu", size)
            c.drawString(x, height - y, text)
        c.showPage()
    c.save()
    return path


def column(x: float, y: float, lines: list[str], size: float = 9, leading: float = 12) -> list:
    return [(x, y + i * leading, text, size) for i, text in enumerate(lines)]


LEFT_1 = [
    "La casa de acogida municipal recibe a mujeres despla-",
    "zadas por la violencia y a sus hijas e hijos durante",
    "un máximo de noventa días.",
    "La deﬁnición de la ruta se acordó con la red local",
    "de servicios y con la fiscalía de la región.",
]
RIGHT_1 = [
    "El comité municipal de protección se",
    "reúne cada mes con las organizaciones",
    "de mujeres y revisa los casos derivados",
    "desde la línea de atención y el apoyo de la",
]
LEFT_2 = [
    "comunidad indígena del municipio vecino.",
    "Las promotoras comunitarias acompañan cada",
    "derivación hasta el centro de salud.",
]


@pytest.fixture(scope="module")
def gazette(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("layout") / "boletin.pdf"
    pages = [
        column(50, 80, ["Capítulo I. Casa de acogida"], size=14) + column(50, 110, LEFT_1) + column(345, 110, RIGHT_1),
        column(50, 80, LEFT_2[:1]) + column(50, 110, LEFT_2[1:]),
        column(50, 80, ["Capítulo II. Resultados"], size=14)
        + column(50, 110, ["Se atendió a 120 mujeres en el primer año de la casa y a 75 niñas y niños",
                           "que llegaron con ellas."]),
    ]
    return draw_pdf(path, pages)


def test_running_header_and_n_de_m_footer_are_not_in_the_text(gazette):
    parsed = partition(gazette)
    text = "\n".join(b.text for b in parsed.blocks)
    assert HEADER not in text
    assert "de 3" not in text
    assert parsed.stats.header_footer_lines == 2 * PAGES
    assert parsed.stats.pages == PAGES and parsed.stats.pages_ocr == 0


def test_columns_are_read_whole_and_in_order(gazette):
    text = "\n".join(b.text for b in partition(gazette).blocks)
    assert text.index("noventa días") < text.index("fiscalía de la región") < text.index("comité municipal")


def test_hyphens_ligatures_and_page_breaks_are_joined(gazette):
    blocks = partition(gazette).blocks
    text = "\n".join(b.text for b in blocks)
    assert "desplazadas por la violencia" in text
    assert "La definición de la ruta" in text and "ﬁ" not in text
    crossing = next(b for b in blocks if "el apoyo de la comunidad indígena" in b.text)
    assert (crossing.page, crossing.page_end) == (1, 2)
    doc = chunk("boletin", blocks)
    cited = next(c for c in doc.chunks if "comunidad indígena" in c.text)
    assert "el apoyo de la comunidad" in cited.text
    assert (cited.page_start, cited.page_end) == (1, 2)
    for c in doc.chunks:
        assert doc.text[c.char_start:c.char_end] == c.text


def test_headings_make_sections(gazette):
    doc = chunk("boletin", partition(gazette).blocks)
    assert doc.chunks[0].section == "Capítulo I. Casa de acogida"
    assert doc.chunks[-1].section == "Capítulo II. Resultados"


def test_margin_list_numbers_stay_with_their_items(tmp_path):
    lines = []
    for i, item in enumerate(["Principio de igualdad y no discriminación.", "Principio del interés superior del niño.",
                              "Principio de la debida diligencia."], start=1):
        y = 120 + (i - 1) * 40
        lines += [(50, y, f"{i}.", 10), (70, y, item, 10)]
    path = draw_pdf(tmp_path / "lista.pdf", [column(50, 80, ["Artículo 2. Principios rectores"], size=12) + lines],
                    header=None, footer=False)
    blocks = partition(path).blocks
    items = [b.text for b in blocks if b.kind is Kind.LIST]
    assert items == ["1. Principio de igualdad y no discriminación.", "2. Principio del interés superior del niño.",
                     "3. Principio de la debida diligencia."]


def test_justified_paragraph_keeps_its_word_order(tmp_path):
    from reportlab.lib.enums import TA_JUSTIFY
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    sentence = ("Tiene como responsabilidad elaborar, implementar y evaluar el plan municipal de prevención, "
                "coordinar a las instituciones de la red y rendir cuentas al concejo cada seis meses. ") * 3
    style = ParagraphStyle("j", fontSize=10, leading=13, alignment=TA_JUSTIFY)
    path = tmp_path / "justificado.pdf"
    SimpleDocTemplate(str(path), pagesize=A4, invariant=1, leftMargin=150, rightMargin=150).build(
        [Paragraph(sentence, style)])
    text = " ".join(b.text for b in partition(path).blocks)
    assert text == sentence.strip()


def test_glued_footnote_numbers_are_kept_apart():
    from ingest.layout import split_glued_notes

    assert split_glued_notes("basada en el género1 y agravada") == "basada en el género [1] y agravada"
    assert split_glued_notes("la Ley 30364 y el COVID19") == "la Ley 30364 y el COVID19"
