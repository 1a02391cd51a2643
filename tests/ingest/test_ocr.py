"""OCR post-processing: safe corrections and noise, on tesseract's own TSV format."""

from __future__ import annotations

from ingest.layout import Box, Line, Page
from ingest.parsers.ocr import correct, page_from_tsv


def _page(texts):
    return [Page(1, 600, 800, [Box([Line(50, 100 + 20 * i, 500, 112 + 20 * i, t, 12) for i, t in enumerate(texts)])])]


def test_ordinal_read_as_a_digit_is_corrected_only_in_sequence():
    pages = _page(["ARTICULO 12: Tasas municipales.", "Texto.", "ARTÍCULO 22, Alumbrado.", "ARTICULO 3%: Limpieza.",
                   "ARTICULO 4º: Sellos.", "ARTICULO 12: Multas."])
    fixed = correct(pages)
    texts = [ln.text for ln in pages[0].boxes[0].lines]
    assert texts[0] == "ARTICULO 1º: Tasas municipales."
    assert texts[2] == "ARTÍCULO 2º, Alumbrado."
    assert texts[3] == "ARTICULO 3º: Limpieza."
    assert texts[4] == "ARTICULO 4º: Sellos."
    assert texts[5] == "ARTICULO 12: Multas."  # 5 was expected; 12 is not "5º" misread: left alone
    assert fixed == 3


def test_roman_numerals_read_with_l_are_corrected():
    pages = _page(["CAPÍTULO ll", "TÍTULO Il", "CAPÍTULO lx"])
    correct(pages)
    assert [ln.text for ln in pages[0].boxes[0].lines] == ["CAPÍTULO II", "TÍTULO II", "CAPÍTULO lx"]


def _tsv(words):
    head = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"
    rows = [f"5\t1\t{b}\t1\t{ln}\t{i}\t{100 + 60 * i}\t{100 + 40 * ln}\t50\t30\t{conf}\t{w}"
            for i, (b, ln, w, conf) in enumerate(words)]
    return "\n".join([head, *rows])


def test_stamp_noise_is_dropped_and_confidence_reported():
    page, conf = page_from_tsv(_tsv([(1, 1, "Fíjese", 95), (1, 1, "la", 93), (1, 1, "tasa", 96),
                                     (2, 2, "»", 12), (2, 2, "za", 20), (3, 3, "o", 30)]), 1, 600, 800, 300 / 72)
    assert [ln.text for b in page.boxes for ln in b.lines] == ["Fíjese la tasa"]
    assert 50 < conf < 60
