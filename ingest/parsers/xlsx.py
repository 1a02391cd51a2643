"""Spreadsheets: every data row becomes one block with its column headers, every sheet a section.

A figure in a spreadsheet means nothing without its column and its sheet: "134" is only an answer
as "Año: 2023; Casos: 134." under the sheet "Casos atendidos". So each sheet opens with a heading
(its name, also set as every block's `section`), the header row is found (the first row with two or
more text cells; a title row above it is kept as text), and each data row is rendered with the
header before every value. Values are written as a reader sees them: 12 not 12.0, dates ISO.

openpyxl in read-only mode streams rows instead of loading the workbook, and the total number of
filled cells is capped, so a huge export cannot exhaust memory or produce a million passages.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from ingest.blocks import Block, Kind, Parsed, ParseStats
from ingest.parsers.elements import clean_inline, combine_headers, row_text
from search.errors import IngestError

MAX_CELLS = 200_000  # filled cells in the whole workbook
MAX_SCANNED = 5_000_000  # cells read at all (formatted but empty ones included)
NOTE_WORDS = 12  # a lone first-column cell this long under a table is a note, not a row
SUBHEADER_CHARS = 30
NUMBER = re.compile(r"^[-+]?(?:\d{1,3}(?:[ .,\u00a0]\d{3})+|\d+)(?:[.,]\d+)?\s*%?$")
DECIMALS = re.compile(r"0\.(0+)")


class _Cell:
    __slots__ = ("numeric", "text")

    def __init__(self, text: str, numeric: bool):
        self.text = text
        self.numeric = numeric


def format_value(value, number_format: str | None = "General") -> str:
    """A cell's value as a person reads it in the sheet."""
    if value is None:
        return ""
    if isinstance(value, str):
        return clean_inline(value)
    if isinstance(value, bool):
        return "Sí" if value else "No"
    if isinstance(value, dt.datetime):
        if (value.hour, value.minute, value.second) == (0, 0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M" if not value.second else "%H:%M:%S")
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, (int, float)):
        return _format_number(value, number_format or "General")
    return clean_inline(str(value))


def _format_number(value: float, fmt: str) -> str:
    fmt = fmt.split(";")[0]  # the positive-number section
    decimals = DECIMALS.search(fmt)
    if "%" in fmt:
        d = len(decimals.group(1)) if decimals else 0
        return f"{value * 100:.{d}f} %"
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    if decimals:
        return f"{value:.{len(decimals.group(1))}f}"
    if "0" in fmt and "General" not in fmt and "." not in fmt:  # "0", "#,##0": shown as a whole number
        return f"{value:.0f}"
    # General: enough digits to read the figure, not the float's binary noise (0.23108552631578946).
    if abs(value) >= 1e-3:
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return f"{value:.4g}"


def _is_numeric(value, text: str) -> bool:
    if isinstance(value, (int, float, dt.date, dt.time, dt.timedelta)):
        return True
    return bool(text) and bool(NUMBER.match(text))


def _open(path: Path):
    from openpyxl import load_workbook

    try:
        return load_workbook(str(path), read_only=True, data_only=True)
    except Exception as exc:  # zip, XML or openpyxl errors all mean the same to the user
        raise IngestError("No se pudo leer la hoja de cálculo: está dañada, protegida o no es un XLSX válido.",
                          f"openpyxl cannot open {path}: {type(exc).__name__}: {exc}") from exc


def parse(path: Path, ocr_languages: str = "spa") -> Parsed:
    wb = _open(Path(path))
    stats = ParseStats()
    blocks: list[Block] = []
    filled = scanned = 0
    try:
        for ws in wb.worksheets:
            if not hasattr(ws, "iter_rows"):  # chart sheets hold no cells
                continue
            if hasattr(ws, "reset_dimensions"):
                # The declared size can claim a million rows for a formatted column; read what is there.
                ws.reset_dimensions()
            rows: list[list[_Cell]] = []
            for row in ws.iter_rows():
                scanned += len(row)
                cells = []
                for c in row:
                    value = getattr(c, "value", None)
                    text = format_value(value, getattr(c, "number_format", "General"))
                    cells.append(_Cell(text, _is_numeric(value, text)))
                    filled += bool(text)
                if filled > MAX_CELLS or scanned > MAX_SCANNED:
                    raise IngestError(
                        f"La hoja de cálculo tiene más de {MAX_CELLS:,} celdas con datos".replace(",", ".")
                        + "; divídala en archivos más pequeños o suba solo las hojas necesarias.",
                        f"spreadsheet too large {path}: over {MAX_CELLS} filled cells (sheet {ws.title!r})")
                rows.append(cells)
            sheet_blocks, has_header = sheet_to_blocks(clean_inline(str(ws.title)), rows)
            blocks.extend(sheet_blocks)
            stats.tables += has_header
    except IngestError:
        raise
    except Exception as exc:
        raise IngestError("No se pudo leer la hoja de cálculo: está dañada o no es un XLSX válido.",
                          f"openpyxl failed reading {path}: {type(exc).__name__}: {exc}") from exc
    finally:
        wb.close()
    if not any(b.kind != Kind.HEADING for b in blocks):
        raise IngestError("La hoja de cálculo no contiene datos legibles.", f"no cell text in {path}")
    return Parsed(blocks, stats)


def sheet_to_blocks(name: str, rows: list[list[_Cell]]) -> tuple[list[Block], bool]:
    """One sheet's rows -> its heading and blocks; and whether a header row was found."""
    width = max((len(r) for r in rows), default=0)
    used = [i for i in range(width) if any(i < len(r) and r[i].text for r in rows)]
    if not used:
        return [], False
    # Fully empty columns (spacers, hidden helpers) would only shift values away from headers.
    grid = [[r[i] if i < len(r) else _Cell("", False) for i in used] for r in rows]
    out = [Block(name, Kind.HEADING, section=name)]

    def text_block(cells: list[_Cell]) -> None:
        t = clean_inline(" ".join(c.text for c in cells if c.text))
        if t:
            out.append(Block(t, Kind.TEXT, section=name))

    if len(used) == 1:  # a column of paragraphs (cover sheets, notes): text, not a table
        for r in grid:
            text_block(r)
        return out, False

    filled = [[c for c in r if c.text] for r in grid]
    header_at = next((i for i, cells in enumerate(filled)
                      if sum(1 for c in cells if not c.numeric) >= 2), None)
    if header_at is None:  # figures without headers: one row per block, values alone
        for r, cells in zip(grid, filled):
            if len(cells) >= 2:
                out.append(Block(row_text([], [c.text for c in r]), Kind.TABLE, section=name))
            else:
                text_block(r)
        return out, False

    for r in grid[:header_at]:  # titles and notes above the table
        text_block(r)
    header_rows = [grid[header_at]]
    i = header_at + 1
    # A second (or third) header row: short labels only ("Edad", "#", "%") straight below the first,
    # above rows that hold figures, as statistical exports lay out "Femenino" over "#".
    while i < len(grid) and len(header_rows) < 3 and _subheader(filled, i):
        header_rows.append(grid[i])
        i += 1
    header = combine_headers([[c.text for c in r] for r in header_rows])
    blank_before = False
    note_after_blank = False
    for r, cells in zip(grid[i:], filled[i:]):
        if not cells:
            blank_before = True
            continue
        if len(cells) == 1 and r[0].text and not r[0].numeric and (
                blank_before or len(r[0].text.split()) >= NOTE_WORDS):
            # A lone long cell in the first column (often merged across the table): a note or the
            # title of the next table, never a value of the first column.
            text_block(r)
            note_after_blank = blank_before
        elif note_after_blank and len(cells) >= 2 and all(not c.numeric and len(c.text) <= 60 for c in cells):
            header = [c.text for c in r]  # a second table on the sheet, below its own title
            note_after_blank = False
        else:
            text = row_text(header, [c.text for c in r])
            if text:
                out.append(Block(text, Kind.TABLE, section=name))
            note_after_blank = False
        blank_before = False
    return out, True


def _subheader(filled: list[list[_Cell]], i: int) -> bool:
    cells = filled[i]
    if not cells or any(c.numeric for c in cells) or any(len(c.text) > SUBHEADER_CHARS for c in cells):
        return False
    following = next((f for f in filled[i + 1:] if f), None)
    return following is not None and any(c.numeric for c in following)
