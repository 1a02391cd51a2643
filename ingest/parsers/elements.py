"""Shared by the non-PDF parsers: unstructured elements -> Blocks, table rows, inline cleaning.

unstructured already reads DOCX, PPTX and Markdown well enough; what it gives back is a flat list of
categorised elements whose text still carries layout noise (runs of spaces, bidirectional marks
pasted from web pages, pdfminer's "(cid:N)" glyph codes) and whose tables are one blob of cell
text. Here they become the blocks every parser returns: one heading, paragraph, list item or table
row each, with tables rendered row by row with the column header before every value.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from ingest.blocks import Block, Kind

# Bidirectional controls (LRE..RLO, isolates, LRM/RLM) turn up in text pasted from web pages and can
# disguise what a line says (U+202E reverses it on screen); zero-width characters, the soft hyphen
# and a stray BOM split words for search without showing anything.
INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")
SPACES = re.compile(r"\s+")
CID = re.compile(r"\(cid:\d+\)")
LIGATURES = {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"}
LIGATURE = re.compile("[ﬀﬁﬂﬃﬄﬅﬆ]")
# A bullet glyph a list item still carries; numbers and letters ("1.", "a)") are kept, they are content.
BULLET = re.compile(r"^[\u2022\u25aa\u25ab\u25cf\u25cb\u25a0\u25a1\u2023\u2043\u2219\u00b7\u27a2\u2713\u2714\uf0b7\uf0a7*\-–—]+\s+")
FINAL_PUNCT = ".!?…:;"


def clean_inline(text: str) -> str:
    """One block's text: NFC, glyph codes as bullets, invisible and bidi marks removed, whitespace
    (newlines included) collapsed to single spaces."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text)
    text = CID.sub("•", text)
    text = LIGATURE.sub(lambda m: LIGATURES[m.group(0)], text)
    text = INVISIBLE.sub("", text)
    return SPACES.sub(" ", text).strip()


def strip_bullet(text: str) -> str:
    return BULLET.sub("", text, count=1).strip() or text


def row_text(header: Sequence[str], cells: Sequence[str]) -> str:
    """One table row as "Header A: value; Header B: value." so that every figure keeps its column
    when a passage is cut from the middle of the table. Empty cells are skipped; a cell without a
    header is its value alone."""
    parts = []
    for i, raw in enumerate(cells):
        value = clean_inline(raw)
        if not value:
            continue
        name = clean_inline(header[i]) if i < len(header) else ""
        if name and name != value:
            parts.append(f"{name.rstrip(':')}: {value}")
        else:
            parts.append(value)
    if not parts:
        return ""
    text = "; ".join(parts)
    return text if text[-1] in ".!?…" else text + "."


def table_blocks(rows: Sequence[Sequence[str]], header_rows: int = 0, *, page: int | None = None,
                 section: str = "") -> list[Block]:
    """Rows of cell texts -> TABLE blocks, one per data row.

    header_rows: how many leading rows are headers (0 = unknown: the first row is taken as the
    header when the table has more than one row, as in DOCX and PPTX tables, which mark none).
    Several header rows are combined per column ("2023 / Casos"). A one-row table is plain text.
    """
    rows = [list(r) for r in rows if any(clean_inline(c) for c in r)]
    if not rows:
        return []
    if len(rows) == 1:
        text = row_text([], rows[0])
        return [Block(text, Kind.TEXT, page=page, section=section)] if text else []
    n = header_rows or 1
    header = combine_headers(rows[:n])
    blocks = []
    for row in rows[n:]:
        text = row_text(header, row)
        if text:
            blocks.append(Block(text, Kind.TABLE, page=page, section=section))
    if not blocks:  # a table of header rows only: keep its words
        blocks = [Block(row_text([], r), Kind.TEXT, page=page, section=section) for r in rows]
    return blocks


def combine_headers(rows: Sequence[Sequence[str]]) -> list[str]:
    """Column names from one or more header rows: "Femenino" over "#" -> "Femenino (#)",
    "2023" over "Casos" -> "2023 / Casos"."""
    width = max((len(r) for r in rows), default=0)
    names = []
    for i in range(width):
        parts: list[str] = []
        for r in rows:
            value = clean_inline(r[i]) if i < len(r) else ""
            if value and value not in parts:
                parts.append(value)
        name = ""
        for part in parts:
            if not name:
                name = part
            elif len(part) <= 3 and not any(c.isalpha() for c in part):  # a unit: "#", "%", "$"
                name = f"{name} ({part})"
            else:
                name = f"{name} / {part}"
        names.append(name)
    return names


def html_table_rows(html: str) -> tuple[list[list[str]], int]:
    """Rows of cell texts from a table's HTML (unstructured's `text_as_html`), and how many leading
    rows are headers (<th> rows or <thead>). Column spans are expanded so values stay under their
    header; the spanned value is written once."""
    from lxml import etree
    from lxml import html as lxml_html

    try:
        root = lxml_html.fragment_fromstring(html, create_parent="div")
    except (ValueError, etree.LxmlError):  # malformed fragment: no table structure to recover
        return [], 0
    rows: list[list[str]] = []
    header_rows = 0
    counting = True
    for tr in root.iter("tr"):
        cells: list[str] = []
        heads = []
        for cell in tr:
            if cell.tag not in ("td", "th"):
                continue
            text = clean_inline(" ".join(cell.itertext()))
            try:
                span = max(1, min(50, int(cell.get("colspan", "1"))))
            except ValueError:
                span = 1
            cells.append(text)
            cells.extend([""] * (span - 1))
            heads.append(cell.tag == "th" or any(a.tag == "thead" for a in cell.iterancestors()))
        if not any(cells):
            continue
        if counting and all(heads):
            header_rows += 1
        else:
            counting = False
        rows.append(cells)
    return rows, header_rows


# ------------------------------------------------------------------ unstructured elements

HEADING_CATEGORIES = {"Title"}
LIST_CATEGORIES = {"ListItem"}
TABLE_CATEGORIES = {"Table"}
SKIP_CATEGORIES = {"PageBreak", "PageNumber"}


def element_page(element) -> int | None:
    page = getattr(getattr(element, "metadata", None), "page_number", None)
    return page if isinstance(page, int) else None


def element_table(element, section: str = "") -> list[Block]:
    """A Table element as row blocks: from its HTML when unstructured gives one, else its text."""
    page = element_page(element)
    html = getattr(element.metadata, "text_as_html", None)
    if html:
        rows, header_rows = html_table_rows(html)
        blocks = table_blocks(rows, header_rows, page=page, section=section)
        if blocks:
            return blocks
    text = clean_inline(element.text or "")
    return [Block(text, Kind.TEXT, page=page, section=section)] if text else []


def to_blocks(elements: Iterable, section: str = "") -> list[Block]:
    """unstructured elements -> blocks: Title = heading, ListItem = list item, Table = one block
    per row with headers, anything else with text = paragraph. Empty elements are dropped."""
    blocks: list[Block] = []
    for e in elements:
        category = getattr(e, "category", "")
        if category in SKIP_CATEGORIES:
            continue
        if category in TABLE_CATEGORIES:
            blocks.extend(element_table(e, section))
            continue
        text = clean_inline(getattr(e, "text", "") or "")
        if not text:
            continue
        if category in HEADING_CATEGORIES:
            kind = Kind.HEADING
        elif category in LIST_CATEGORIES:
            kind, text = Kind.LIST, strip_bullet(text)
        else:
            kind = Kind.TEXT
        blocks.append(Block(text, kind, page=element_page(e), section=section))
    return blocks
