"""What a parser returns: the document as an ordered list of blocks, and what parsing saw.

A block is one paragraph, heading, list item or table row, already cleaned (no running headers or
footers, ligatures expanded, line-end hyphens joined) and in reading order. Parsers for every
format return the same type, so the chunker and the personal-data screen know one shape.

Page provenance survives paragraphs that run across a page break: `page` is the page the block
starts on and `page_breaks` lists (offset into text, page) for every later page it reaches, so a
passage cut from the middle of the block still cites the right pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum


class Kind(StrEnum):
    HEADING = "heading"  # a section heading: starts a section, never ends a passage
    TEXT = "text"  # a paragraph
    LIST = "list"  # one list item (kept whole in a passage when it fits)
    TABLE = "table"  # one table row rendered as "Header: value; Header: value" so each figure keeps its column


@dataclass(frozen=True)
class Block:
    text: str
    kind: Kind = Kind.TEXT
    page: int | None = None
    page_breaks: tuple[tuple[int, int], ...] = ()
    # A section name the format itself gives (a spreadsheet's sheet, a slide's title): used when no
    # heading block precedes.
    section: str = ""

    @property
    def page_end(self) -> int | None:
        return self.page_breaks[-1][1] if self.page_breaks else self.page

    def pages_between(self, start: int, end: int) -> tuple[int | None, int | None]:
        """First and last page of text[start:end]."""
        first = self.page
        last = self.page
        for offset, page in self.page_breaks:
            if offset <= start:
                first = page
            if offset < end:
                last = page
        return first, last

    def with_text(self, text: str) -> "Block":
        """The same block with new text (redaction); page breaks beyond the new end are clamped."""
        breaks = tuple((min(o, len(text)), p) for o, p in self.page_breaks)
        return replace(self, text=text, page_breaks=breaks)


@dataclass
class ParseStats:
    """What parsing one file did, for the ingest report (issue: a quality report per document)."""

    pages: int | None = None
    pages_ocr: int = 0
    pages_low_confidence: tuple[int, ...] = ()
    header_footer_lines: int = 0  # running header, footer and page-number lines dropped
    ocr_corrections: int = 0
    tables: int = 0
    boilerplate_dropped: int = 0  # HTML navigation, menus, footers

    def as_dict(self) -> dict:
        return {
            "paginas": self.pages,
            "paginas_ocr": self.pages_ocr,
            "paginas_ocr_baja_confianza": list(self.pages_low_confidence),
            "lineas_encabezado_pie": self.header_footer_lines,
            "correcciones_ocr": self.ocr_corrections,
            "tablas": self.tables,
            "texto_de_navegacion_descartado": self.boilerplate_dropped,
        }


@dataclass
class Parsed:
    blocks: list[Block] = field(default_factory=list)
    stats: ParseStats = field(default_factory=ParseStats)
