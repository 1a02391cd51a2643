"""PDF: the text layer through poppler, page by page; OCR only for pages without one.

Why poppler (`pdftotext -bbox-layout`) and not unstructured's fast reader: on real gazettes the
latter returned no text at all for a valid text layer (everything went to OCR, with OCR's errors),
and it reordered words on justified lines. Poppler reads every text layer we have met, expands
ligatures, keeps each word's box, and takes 0.25 s for 48 pages. Its own block order is not
reliable across columns, so `ingest.layout` orders the boxes itself.
"""

from __future__ import annotations

import logging
import shutil
import statistics
import subprocess
from pathlib import Path
from xml.etree import ElementTree

from ingest import layout
from ingest.blocks import Parsed, ParseStats
from ingest.layout import Box, Line, Page
from search.errors import IngestError

log = logging.getLogger(__name__)

MAX_PDF_PAGES = 500
SUPERSCRIPT = 0.72  # a number this much smaller than its line is a note marker
_NS = "{http://www.w3.org/1999/xhtml}"


def parse(path: Path, ocr_languages: str = "spa") -> Parsed:
    n_pages = _check(path)
    pages = {p.number: p for p in read_text_layer(path)}
    text_pages = [n for n in range(1, n_pages + 1) if n in pages and layout.page_has_text(pages[n])]
    missing = [n for n in range(1, n_pages + 1) if n not in text_pages]
    stats = ParseStats(pages=n_pages)
    if missing:
        from ingest.parsers import ocr

        scanned = ocr.ocr_pages(path, missing, ocr_languages)
        for page in scanned.pages:
            pages[page.number] = page
        stats.pages_ocr = len(missing)
        stats.pages_low_confidence = scanned.low_confidence
        stats.ocr_corrections = scanned.corrections
    if text_pages:
        from ingest.parsers import pdf_tables

        tables = pdf_tables.find_tables(path, text_pages)
        stats.tables = len(tables)
        for table in tables:
            _place_table(pages[table.page], table, pdf_tables.table_blocks(table))
    ordered = [pages[n] for n in sorted(pages)]
    stats.header_footer_lines = layout.drop_running_lines(ordered)
    return Parsed(layout.to_blocks(ordered), stats)


def _check(path: Path) -> int:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise IngestError("El PDF está protegido con contraseña; envíe una versión sin protección.",
                              f"encrypted pdf {path}")
        n_pages = len(reader.pages)
    except PdfReadError as exc:
        raise IngestError("El PDF está dañado o incompleto.", f"pypdf cannot read {path}: {exc}") from exc
    if n_pages > MAX_PDF_PAGES:
        raise IngestError(f"El PDF tiene {n_pages} páginas; el máximo es {MAX_PDF_PAGES}.", f"too many pages {path}")
    if n_pages == 0:
        raise IngestError("El PDF no tiene páginas.", f"no pages in {path}")
    return n_pages


def read_text_layer(path: Path) -> list[Page]:
    """Every page's text-layer boxes (poppler blocks) with their lines and word heights."""
    exe = shutil.which("pdftotext")
    if exe is None:
        raise IngestError("El servidor no tiene instalado el lector de PDF (poppler-utils).", "pdftotext not on PATH")
    try:
        done = subprocess.run([exe, "-bbox-layout", "-enc", "UTF-8", str(path), "-"], capture_output=True,
                              timeout=300, check=True)
    except subprocess.TimeoutExpired as exc:
        raise IngestError("La lectura del PDF no terminó a tiempo.", f"pdftotext timed out on {path}") from exc
    except subprocess.CalledProcessError as exc:
        raise IngestError("El PDF está dañado o incompleto.",
                          f"pdftotext failed on {path}: {exc.stderr.decode(errors='replace')[-300:]}") from exc
    return parse_bbox_layout(done.stdout)


def parse_bbox_layout(xhtml: bytes) -> list[Page]:
    root = ElementTree.fromstring(xhtml)
    pages = []
    for number, pg in enumerate(root.iter(f"{_NS}page"), start=1):
        boxes = []
        for blk in pg.iter(f"{_NS}block"):
            lines = [ln for ln in (_line(el) for el in blk.iter(f"{_NS}line")) if ln is not None]
            if lines:
                boxes.append(Box(lines))
        pages.append(Page(number, float(pg.get("width")), float(pg.get("height")), boxes))
    return pages


def _line(el) -> Line | None:
    words = [(w.text or "", float(w.get("yMax")) - float(w.get("yMin"))) for w in el.iter(f"{_NS}word")]
    words = [(t, h) for t, h in words if t.strip()]
    if not words:
        return None
    height = statistics.median(h for _, h in words)
    parts = []
    for text, h in words:
        if text.isdigit() and len(text) <= 3 and h < SUPERSCRIPT * height and len(words) > 1:
            text = layout.footnote_marker(text)
        parts.append(text)
    return Line(float(el.get("xMin")), float(el.get("yMin")), float(el.get("xMax")), float(el.get("yMax")),
                " ".join(parts), height)


def _place_table(page: Page, table, rows) -> None:
    """Replace the boxes a table covers with one box that stands for the whole table."""
    x0, top, x1, bottom = table.bbox

    def inside(ln: Line) -> bool:
        cx, cy = (ln.x0 + ln.x1) / 2, (ln.y0 + ln.y1) / 2
        return x0 - 2 <= cx <= x1 + 2 and top - 2 <= cy <= bottom + 2

    kept = []
    for box in page.boxes:
        if box.table is None:
            box.lines = [ln for ln in box.lines if not inside(ln)]
        if box.lines or box.table is not None:
            kept.append(box)
    if rows:
        anchor = Line(x0, top, x1, bottom, "", 0.0)
        kept.append(Box([anchor], table=rows[0], rows=list(rows)))
    page.boxes = kept
