"""Ruled tables in text-layer PDF pages, turned into one block per row.

pdfplumber's table finder (edges -> intersections -> cells -> tables) does the geometry. It is fed
from pypdfium2 rather than from pdfplumber's own page reader: that reader goes through pdfminer in
pure Python (0.2-0.3 s a page), and a planning document can carry ruled tables on nearly every page
(the national plan has them on 45 of 48), so reading alone cost ~12 s a document. pypdfium2 hands
over the same path segments and character boxes from C in ~15 ms a page. Pages without at least two
horizontal and two vertical rules never reach the finder.

What the finder calls a table is not always one: frames drawn around paragraphs, text boxes and a
masthead logo are made of rules too. Those are dropped here (one column, under two rows, mostly
prose), so their text stays in the normal text flow; the PDF reader removes the text inside every
table it is given.

Unruled fee and penalty scales ("Presentación espontánea ........ 15 salarios") are taken too, in
one narrow shape only (see `_figure_lists`): poppler puts their labels and their figures in
separate blocks, which separated every figure from its label.

Failure to read a page's tables is logged and leaves that page's text to the normal text flow;
it never fails the document.
"""

from __future__ import annotations

import ctypes
import logging
import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ingest.blocks import Block, Kind

log = logging.getLogger(__name__)

# Distances are PDF points (1/72 in).
_AXIS_TOL = 0.5  # a segment this close to horizontal/vertical is a rule
_MIN_EDGE = 3.0  # shorter rules are glyph strokes or bullets, not table lines
_TABLE_SETTINGS = {
    # The edges are handed over explicitly (see the module docstring); the rest is pdfplumber's
    # "lines" strategy with its default tolerances.
    "vertical_strategy": "explicit",
    "horizontal_strategy": "explicit",
    "snap_tolerance": 3,
    "join_tolerance": 3,
    "edge_min_length": 3,
    "intersection_tolerance": 3,
}
_MIN_TABLE_WIDTH = 60.0  # narrower ruled boxes are logos and stamps
_MIN_TABLE_HEIGHT = 10.0
_PROSE_CHARS = 200  # a cell longer than this, made of many words, is a paragraph
_PROSE_WORDS = 25
_HEADER_CHARS = 90  # longer cells are data, not column headers
_MAX_HEADER_ROWS = 3
_SPAN_REPEAT_CHARS = 40  # a short value spanning several rows ("AE 1.2") is repeated in each row
_NEAR_EDGE = 0.2  # "near the top/bottom of the page": within this share of its height
_SAME_WIDTH = 0.05  # a continued table keeps its width within this share
_TERMINAL = ".!?…"
_WORD_GAP = 1.5  # a wider gap between two characters of a line is a word break
_LINE_TOL = 2.0  # characters whose tops differ by less share a line
_BOLD_WEIGHT = 600  # pdfium's font weight (400 regular, 700 bold)
_LIGATURES = {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "st",
              "\ufb06": "st"}


@dataclass(frozen=True)
class Table:
    page: int  # 1-based
    bbox: tuple[float, float, float, float]  # x0, top, x1, bottom in PDF points, origin top-left
    header: tuple[str, ...]  # column headers ('' where none could be found)
    rows: tuple[tuple[str, ...], ...]  # body rows, cells cleaned (whitespace collapsed, line-end hyphens joined)


# ------------------------------------------------------------------ public API


def find_tables(path: Path, pages: Iterable[int] | None = None) -> list[Table]:
    """The real tables on `pages` (1-based; every page when None), page by page, top to bottom.

    A table that runs on from the bottom of one page to the top of the next without repeating its
    header gets the header of the part before the break.
    """
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        log.warning("tables: pdfium cannot open %s: %s", path, exc)
        return []
    try:
        n_pages = len(pdf)
        wanted = range(1, n_pages + 1) if pages is None else sorted({p for p in pages if 1 <= p <= n_pages})
        found: list[Table] = []
        open_table: tuple[Table, _Grid] | None = None  # the table that reached the previous page's bottom
        for number in wanted:
            if open_table is not None and open_table[0].page != number - 1:
                open_table = None
            last: tuple[Table, _Grid] | None = None
            try:
                grids, lists = _read_page(pdf, number)
            except Exception as exc:  # a malformed page keeps its text in the flow, tables or not
                log.warning("tables: page %d of %s skipped: %r", number, path, exc)
                open_table = None
                continue
            on_page = list(lists)
            for i, grid in enumerate(grids):
                carried = open_table if i == 0 and open_table and _same_shape(open_table[1], grid) else None
                table = _table(grid, carried[0] if carried else None)
                if table is not None:
                    on_page.append(table)
                    last = (table, grid)
            found.extend(sorted(on_page, key=lambda t: (t.bbox[1], t.bbox[0])))
            open_table = last if last is not None and last[1].ends_near_bottom else None
        return found
    finally:
        pdf.close()


def table_blocks(table: Table) -> list[Block]:
    """One Kind.TABLE block per body row: "Header A: value; Header B: value."."""
    key_value = _is_key_value(table)
    blocks = []
    for row in table.rows:
        text = render_row(table.header, row, key_value)
        if text:
            blocks.append(Block(text=text, kind=Kind.TABLE, page=table.page))
    return blocks


def render_row(header: tuple[str, ...], row: tuple[str, ...], key_value: bool = False) -> str:
    """A row as "Header A: value; Header B: value." Empty cells are skipped, a cell without a
    header stands alone, and neighbouring cells under one merged header share it. In a key-value
    sheet (no header, two columns) the first cell is the label of the second."""
    parts: list[str] = []
    cells = list(row)
    start = 0
    if key_value and len(cells) >= 2 and cells[0] and cells[1]:
        parts.append(f"{_label(cells[0])}: {cells[1]}")
        start = 2
    j = start
    while j < len(cells):
        name = header[j] if j < len(header) else ""
        values = [cells[j]] if cells[j] else []
        k = j + 1
        while name and k < len(cells) and k < len(header) and header[k] == name:
            if cells[k]:
                values.append(cells[k])
            k += 1
        if values:
            value = " ".join(values)
            parts.append(f"{_label(name)}: {value}" if name else value)
        j = k
    if not parts:
        return ""
    text = "; ".join(parts).rstrip(" ;:,")
    if text and text[-1] not in _TERMINAL:
        text += "."
    return text


def _label(text: str) -> str:
    return text.rstrip(" :")


def _is_key_value(table: Table) -> bool:
    """A two-column sheet of labelled values (an indicator's data sheet): no header, short labels."""
    if any(table.header) or len(table.header) != 2:
        return False
    labels = [r[0] for r in table.rows if r[0] and r[1]]
    return bool(labels) and sum(len(x) <= 100 for x in labels) >= 0.8 * len(labels)


# ------------------------------------------------------------------ geometry from pypdfium2


@dataclass
class _Cell:
    bbox: tuple[float, float, float, float]
    c0: int  # first grid column
    c1: int  # one past its last grid column
    r0: int
    r1: int
    text: str = ""
    bold: bool = False  # most of its text is set in a bold face
    shaded: bool = False  # it has a background fill


@dataclass
class _Grid:
    page: int
    bbox: tuple[float, float, float, float]
    n_cols: int
    n_rows: int
    cells: list[_Cell]
    page_height: float
    col_starts: list[float]  # left edge of each grid column
    row_starts: list[float]  # top edge of each grid row
    upright: bool = True  # its text reads left to right on the displayed page

    @property
    def width(self) -> float:
        return self.bbox[2] - self.bbox[0]

    @property
    def ends_near_bottom(self) -> bool:
        return self.bbox[3] >= self.page_height * (1 - _NEAR_EDGE)

    @property
    def starts_near_top(self) -> bool:
        return self.bbox[1] <= self.page_height * _NEAR_EDGE

    def starting(self, r: int) -> list[_Cell]:
        """The cells whose top is grid row r, left to right."""
        return sorted((c for c in self.cells if c.r0 == r), key=lambda c: c.c0)

    def covering(self, r: int, c: int) -> _Cell | None:
        for cell in self.cells:
            if cell.r0 <= r < cell.r1 and cell.c0 <= c < cell.c1:
                return cell
        return None


class _PageView:
    """All that pdfplumber's TableFinder reads from a page when the edges are given: its box."""

    def __init__(self, width: float, height: float):
        self.bbox = (0.0, 0.0, width, height)


def _read_page(pdf, number: int) -> tuple[list[_Grid], list[Table]]:
    """The ruled grids of a page, with their text, and its unruled lists of figures."""
    import pypdfium2.raw as raw
    from pdfplumber.table import TableFinder

    page = pdf[number - 1]
    textpage = None
    try:
        to_view, width, height = _page_transform(page, raw)
        edges, shades = _edges(page, raw, to_view)
        grids: list[_Grid] = []
        if sum(e["orientation"] == "h" for e in edges) >= 2 and sum(e["orientation"] == "v" for e in edges) >= 2:
            settings = dict(_TABLE_SETTINGS)
            settings["explicit_vertical_lines"] = [e for e in edges if e["orientation"] == "v"]
            settings["explicit_horizontal_lines"] = [e for e in edges if e["orientation"] == "h"]
            finder = TableFinder(_PageView(width, height), settings)
            grids = [g for g in (_grid(t.cells, number, height) for t in finder.tables) if g is not None]
        textpage = page.get_textpage()
        if grids:
            chars = _chars(textpage, raw, to_view, [g.bbox for g in grids])
            bold = _BoldFace(textpage.raw, raw)
            for grid in grids:
                _fill_text(grid, chars, bold)
                _mark_shading(grid, shades)
        lists: list[Table] = []
        if _may_list_figures(textpage.get_text_range()):
            chars = _chars(textpage, raw, to_view, [(0.0, 0.0, width, height)])
            lists = _figure_lists(chars, number, [g.bbox for g in grids])
        return grids, lists
    finally:
        if textpage is not None:
            textpage.close()
        page.close()


def _page_transform(page, raw):
    """Map PDF user space to the displayed page, origin top-left (pdfplumber's and poppler's frame)."""
    box = raw.FS_RECTF()
    if not raw.FPDF_GetPageBoundingBox(page.raw, box):
        box.left, box.bottom, box.right, box.top = 0.0, 0.0, page.get_width(), page.get_height()
    x0, y0, x1, y1 = box.left, box.bottom, box.right, box.top
    rotation = raw.FPDFPage_GetRotation(page.raw) % 4
    if rotation == 1:  # 90 degrees clockwise

        def to_view(x, y):
            return y - y0, x - x0

        return to_view, y1 - y0, x1 - x0
    if rotation == 2:

        def to_view(x, y):
            return x1 - x, y - y0

        return to_view, x1 - x0, y1 - y0
    if rotation == 3:

        def to_view(x, y):
            return y1 - y, x1 - x

        return to_view, y1 - y0, x1 - x0

    def to_view(x, y):
        return x - x0, y1 - y

    return to_view, x1 - x0, y1 - y0


def _edges(page, raw, to_view) -> tuple[list[dict], list[tuple[float, float, float, float]]]:
    """The page's visible ruling as pdfplumber edges, and its shaded rectangles.

    A stroked path gives all its straight segments. A path that is only filled gives only its
    rectangles (cell shading, rules drawn as thin filled bars): other filled outlines are logos and
    lettering, whose stepped edges made a 2x2 "table" out of the gazette's masthead. Fills in
    white are invisible on the page and ignored. Shaded rectangles tell header cells and label
    columns from the body.
    """
    edges: list[dict] = []
    shades: list[tuple[float, float, float, float]] = []
    matrix = raw.FS_MATRIX()
    fx, fy = ctypes.c_float(), ctypes.c_float()
    fill_mode, stroked = ctypes.c_int(), ctypes.c_int()
    rgba = [ctypes.c_uint() for _ in range(4)]

    def walk(obj, parents):
        kind = raw.FPDFPageObj_GetType(obj)
        if kind == raw.FPDF_PAGEOBJ_FORM:
            raw.FPDFPageObj_GetMatrix(obj, matrix)
            m = (matrix.a, matrix.b, matrix.c, matrix.d, matrix.e, matrix.f)
            for k in range(raw.FPDFFormObj_CountObjects(obj)):
                walk(raw.FPDFFormObj_GetObject(obj, k), [m, *parents])
            return
        if kind != raw.FPDF_PAGEOBJ_PATH:
            return
        if not raw.FPDFPath_GetDrawMode(obj, fill_mode, stroked):
            return
        shaded = False
        if fill_mode.value:
            raw.FPDFPageObj_GetFillColor(obj, *rgba)
            r, g, b, a = (c.value for c in rgba)
            shaded = a > 0 and min(r, g, b) < 250
        if not stroked.value and not shaded:
            return
        raw.FPDFPageObj_GetMatrix(obj, matrix)
        chain = [(matrix.a, matrix.b, matrix.c, matrix.d, matrix.e, matrix.f), *parents]
        for points, lines in _subpaths(obj, raw, chain, to_view, fx, fy):
            rectangle = all(lines) and _is_rectangle(points)
            if not stroked.value and not rectangle:
                continue
            if shaded and rectangle:
                xs, ys = [p[0] for p in points], [p[1] for p in points]
                if max(xs) - min(xs) >= 2 and max(ys) - min(ys) >= 2:
                    shades.append((min(xs), min(ys), max(xs), max(ys)))
            for a, b, is_line in zip(points, points[1:], lines):
                if is_line:
                    _add_edge(edges, a, b)

    for k in range(raw.FPDFPage_CountObjects(page.raw)):
        walk(raw.FPDFPage_GetObject(page.raw, k), [])
    return edges, shades


def _subpaths(obj, raw, chain, to_view, fx, fy):
    """Each subpath as (points, lines): lines[i] says whether points[i] -> points[i+1] is straight
    (Bézier control points are passed through as points joined by curved, non-straight steps)."""
    points: list[tuple[float, float]] = []
    flags: list[bool] = []

    def point(seg):
        raw.FPDFPathSegment_GetPoint(seg, fx, fy)
        x, y = fx.value, fy.value
        for a, b, c, d, e, f in chain:
            x, y = a * x + c * y + e, b * x + d * y + f
        return to_view(x, y)

    out = []
    for k in range(raw.FPDFPath_CountSegments(obj)):
        seg = raw.FPDFPath_GetPathSegment(obj, k)
        kind = raw.FPDFPathSegment_GetType(seg)
        pt = point(seg)
        if kind == raw.FPDF_SEGMENT_MOVETO:
            if len(points) > 1:
                out.append((points, flags))
            points, flags = [pt], []
            continue
        if not points:
            points = [pt]
            continue
        points.append(pt)
        flags.append(kind == raw.FPDF_SEGMENT_LINETO)
        if raw.FPDFPathSegment_GetClose(seg) and points[0] != pt:
            points.append(points[0])
            flags.append(True)
    if len(points) > 1:
        out.append((points, flags))
    return out


def _is_rectangle(points) -> bool:
    pts = list(points)
    if len(pts) == 5 and _close(pts[0], pts[-1]):
        pts = pts[:4]
    if len(pts) != 4:
        return False
    for a, b in zip(pts, pts[1:] + pts[:1]):
        if abs(a[0] - b[0]) > _AXIS_TOL and abs(a[1] - b[1]) > _AXIS_TOL:
            return False
    return True


def _close(a, b) -> bool:
    return abs(a[0] - b[0]) <= _AXIS_TOL and abs(a[1] - b[1]) <= _AXIS_TOL


def _add_edge(edges: list[dict], a, b) -> None:
    (ax, ay), (bx, by) = a, b
    if abs(ay - by) <= _AXIS_TOL and abs(ax - bx) >= _MIN_EDGE:
        x0, x1 = sorted((ax, bx))
        y = (ay + by) / 2
        edges.append({"object_type": "line_edge", "orientation": "h", "x0": x0, "x1": x1, "top": y,
                      "bottom": y, "width": x1 - x0, "height": 0.0})
    elif abs(ax - bx) <= _AXIS_TOL and abs(ay - by) >= _MIN_EDGE:
        top, bottom = sorted((ay, by))
        x = (ax + bx) / 2
        edges.append({"object_type": "line_edge", "orientation": "v", "x0": x, "x1": x, "top": top,
                      "bottom": bottom, "width": 0.0, "height": bottom - top})


def _chars(textpage, raw, to_view, regions: list[tuple[float, float, float, float]]) -> list[dict]:
    """The characters inside `regions`, as pdfplumber char dicts (font boxes, like pdfminer's)."""
    tp = textpage.raw
    count = raw.FPDFText_CountChars(tp)
    text = textpage.get_text_range()
    if len(text) != count:  # characters outside the BMP take two indices: ask one by one
        text = "".join(chr(raw.FPDFText_GetUnicode(tp, i)) for i in range(count))
    rect = raw.FS_RECTF()
    chars: list[dict] = []
    line = 0
    for i, ch in enumerate(text):
        if ch == "\n":
            line += 1
        if ch in "\r\n" or not raw.FPDFText_GetLooseCharBox(tp, i, rect):
            continue
        xa, ya = to_view(rect.left, rect.top)
        xb, yb = to_view(rect.right, rect.bottom)
        x0, x1 = (xa, xb) if xa <= xb else (xb, xa)
        top, bottom = (ya, yb) if ya <= yb else (yb, ya)
        cx, cy = (x0 + x1) / 2, (top + bottom) / 2
        if not any(rx0 <= cx <= rx1 and rtop <= cy <= rbottom for rx0, rtop, rx1, rbottom in regions):
            continue
        if ch == " " and raw.FPDFText_IsGenerated(tp, i) == 1:
            # pdfium's own word break, for files that place words without space glyphs: a
            # zero-width space on the line of the character before it.
            if chars and abs(x0 - chars[-1]["x1"]) < 2 * chars[-1]["height"]:
                chars.append({**chars[-1], "text": " ", "x0": x0, "x1": x0, "width": 0.0, "index": -1})
            continue
        if ch in "\x02\ufffe":  # pdfium's mark for a hyphen at a line end
            ch = "-"
        elif ch in "\x00\uffff" or "\ud800" <= ch <= "\udfff":
            continue
        if ch == " " and chars and _inside_previous(chars[-1], cx, top):
            continue  # Distiller writes a space glyph inside a ligature: "Deﬁ nición"
        chars.append({"text": ch, "x0": x0, "x1": x1, "top": top, "bottom": bottom, "doctop": top,
                      "upright": True, "width": x1 - x0, "height": bottom - top, "index": i, "line": line})
    return chars


class _BoldFace:
    """Whether a character is set in a bold face: by its font's name, else by its weight.

    Weights alone mislead: pdfium estimates them from the stem width when the font does not say,
    and gives Arial Narrow Bold 560, under the usual 600 line."""

    _NAMES = ("bold", "black", "heavy", "demi", "semibold")

    def __init__(self, tp, raw):
        self.tp, self.raw = tp, raw
        self.buf = ctypes.create_string_buffer(128)
        self.flags = ctypes.c_int()

    def __call__(self, index: int) -> bool:
        raw = self.raw
        if raw.FPDFText_GetFontInfo(self.tp, index, self.buf, len(self.buf), self.flags):
            name = self.buf.value.decode("latin-1").lower()
            if any(word in name for word in self._NAMES):
                return True
        return raw.FPDFText_GetFontWeight(self.tp, index) >= _BOLD_WEIGHT


def _inside_previous(prev: dict, center: float, top: float) -> bool:
    return abs(prev["top"] - top) < 1 and center < prev["x1"] - 0.2


def _grid(cells: list[tuple], page: int, page_height: float) -> _Grid | None:
    """Place pdfplumber's cells on a grid of column and row boundaries, so spans are explicit."""
    if not cells:
        return None
    xs = _boundaries([c[0] for c in cells] + [c[2] for c in cells])
    ys = _boundaries([c[1] for c in cells] + [c[3] for c in cells])
    if len(xs) < 2 or len(ys) < 2:
        return None
    placed = []
    for x0, top, x1, bottom in cells:
        c0, c1 = _index(xs, x0), _index(xs, x1)
        r0, r1 = _index(ys, top), _index(ys, bottom)
        if c1 <= c0 or r1 <= r0:
            continue
        placed.append(_Cell((x0, top, x1, bottom), c0, c1, r0, r1))
    if not placed:
        return None
    bbox = (min(c[0] for c in cells), min(c[1] for c in cells), max(c[2] for c in cells), max(c[3] for c in cells))
    # Columns and rows no cell starts in add nothing: drop them so n_cols is what a reader sees.
    used_cols = sorted({c.c0 for c in placed})
    used_rows = sorted({c.r0 for c in placed})
    col_of = {c: i for i, c in enumerate(used_cols)}
    row_of = {r: i for i, r in enumerate(used_rows)}

    def end(value: int, used: list[int]) -> int:
        return sum(1 for u in used if u < value)  # one past the last used line before `value`

    for cell in placed:
        cell.c0, cell.c1 = col_of[cell.c0], end(cell.c1, used_cols)
        cell.r0, cell.r1 = row_of[cell.r0], end(cell.r1, used_rows)
    return _Grid(page, bbox, len(used_cols), len(used_rows), placed, page_height,
                 [xs[c] for c in used_cols], [ys[r] for r in used_rows])


def _boundaries(values: list[float], tol: float = 1.0) -> list[float]:
    out: list[float] = []
    for v in sorted(values):
        if not out or v - out[-1] > tol:
            out.append(v)
    return out


def _index(bounds: list[float], value: float, tol: float = 1.0) -> int:
    for i, b in enumerate(bounds):
        if abs(b - value) <= tol:
            return i
    return min(range(len(bounds)), key=lambda i: abs(bounds[i] - value))


def _fill_text(grid: _Grid, chars: list[dict], bold: _BoldFace) -> None:
    """Each cell's text: the characters whose centre falls inside it (as pdfplumber decides)."""
    at: dict[tuple[int, int], _Cell] = {}
    for cell in grid.cells:
        for r in range(cell.r0, cell.r1):
            for c in range(cell.c0, cell.c1):
                at.setdefault((r, c), cell)
    mine: dict[int, list[dict]] = {id(cell): [] for cell in grid.cells}
    x0, top, x1, bottom = grid.bbox
    for ch in chars:
        cx, cy = (ch["x0"] + ch["x1"]) / 2, (ch["top"] + ch["bottom"]) / 2
        if not (x0 <= cx < x1 and top <= cy < bottom):
            continue
        cell = at.get((bisect_right(grid.row_starts, cy) - 1, bisect_right(grid.col_starts, cx) - 1))
        if cell is not None and cell.bbox[0] <= cx < cell.bbox[2] and cell.bbox[1] <= cy < cell.bbox[3]:
            mine[id(cell)].append(ch)
    grid.upright = _reads_left_to_right([ch for cell in grid.cells for ch in mine[id(cell)]])
    for cell in grid.cells:
        own = _dedupe(mine[id(cell)])
        cell.text = clean_cell(_lines_text(own)) if own else ""
        ink = [ch for ch in own if not ch["text"].isspace() and ch["index"] >= 0]
        # A handful of characters decide the face: asking pdfium for every one cost 0.5 s a document.
        sample = ink[:: max(1, len(ink) // 5)][:5]
        cell.bold = bool(sample) and sum(bold(ch["index"]) for ch in sample) > len(sample) / 2


def _reads_left_to_right(chars: list[dict]) -> bool:
    """Whether the text runs left to right as the page is shown. On a page turned by /Rotate
    whose text was not turned with it, lines run down the page, and reading them as lines
    would scramble every word: such a table is left to the text flow."""
    chars = sorted((c for c in chars if c["index"] >= 0 and not c["text"].isspace()), key=lambda c: c["index"])
    forward = sideways = 0
    for a, b in zip(chars, chars[1:]):
        if b["index"] != a["index"] + 1:
            continue
        dx, dy = b["x0"] - a["x0"], b["top"] - a["top"]
        if dx > abs(dy):
            forward += 1
        elif abs(dx) > 0.1 or abs(dy) > 0.1:
            sideways += 1
    return forward >= sideways


def _lines_text(chars: list[dict]) -> str:
    """Characters as lines of text, top to bottom (what pdfplumber's extract_text does, at a
    fraction of its cost: it was a third of the time on the national plan)."""
    lines: list[list[dict]] = []
    line_top = None
    for ch in sorted(chars, key=lambda c: c["top"]):
        if line_top is None or ch["top"] - line_top > _LINE_TOL:
            lines.append([])
            line_top = ch["top"]
        lines[-1].append(ch)
    return "\n".join(_line_text(sorted(line, key=lambda c: c["x0"])) for line in lines)


def _line_text(chars: list[dict]) -> str:
    """One line's characters, left to right, with a space wherever the gap is wider than a thin space."""
    out = []
    prev = None
    for ch in chars:
        if prev is not None and ch["x0"] - prev["x1"] > _WORD_GAP:
            out.append(" ")
        out.append(ch["text"])
        prev = ch
    return "".join(out)


def _mark_shading(grid: _Grid, shades: list[tuple[float, float, float, float]]) -> None:
    for cell in grid.cells:
        x0, top, x1, bottom = cell.bbox
        area = (x1 - x0) * (bottom - top)
        covered = 0.0
        for sx0, stop, sx1, sbottom in shades:
            w = min(x1, sx1) - max(x0, sx0)
            h = min(bottom, sbottom) - max(top, stop)
            if w > 0 and h > 0:
                covered += w * h
        cell.shaded = area > 0 and covered >= 0.6 * area


def _dedupe(chars: list[dict]) -> list[dict]:
    """Drop overprinted copies (fake bold): same text at nearly the same place."""
    seen = set()
    out = []
    for ch in chars:
        key = (ch["text"], round(ch["x0"]), round(ch["top"]))
        if key in seen:
            continue
        seen.add(key)
        out.append(ch)
    return out


_HYPHEN_BREAK = re.compile(r"(\w)[-\u00ad]\n(?=[a-záéíóúñü])")
_WS = re.compile(r"\s+")


def clean_cell(text: str) -> str:
    """Join words hyphenated at a line end, collapse whitespace, expand ligatures."""
    for lig, plain in _LIGATURES.items():
        text = text.replace(lig, plain)
    text = _HYPHEN_BREAK.sub(r"\1", text.replace("\u00ad\n", "-\n"))
    return _WS.sub(" ", text.replace("\u00ad", "")).strip()


# ------------------------------------------------------------------ from a grid to a table


_NUMERIC = re.compile(r"^[\s\d.,%$€+\-–—/()]*$")
_YEAR = re.compile(r"^(19|20)\d\d$")


def _is_numeric(text: str) -> bool:
    return bool(_NUMERIC.match(text)) and any(ch.isdigit() for ch in text)


def _label_like(text: str) -> bool:
    """Could be a column header: short, not a sentence, not a figure (years are fine)."""
    if len(text) > _HEADER_CHARS or text.endswith("."):
        return False
    return not _is_numeric(text) or bool(_YEAR.match(text))


def _is_prose(text: str) -> bool:
    return len(text) > _PROSE_CHARS and len(text.split()) > _PROSE_WORDS


def _same_shape(before: _Grid, grid: _Grid) -> bool:
    """Could `grid` carry on the table that closed the previous page? Same columns, same width."""
    return (grid.starts_near_top and grid.n_cols == before.n_cols
            and abs(grid.width - before.width) <= _SAME_WIDTH * before.width)


def _title_rows(grid: _Grid) -> int:
    """1 when the first row is a caption across the table ("FICHA TÉCNICA DE INDICADOR 1.1.1")."""
    if grid.n_rows < 2 or grid.n_cols < 2:
        return 0
    filled = [c for c in grid.starting(0) if c.text]
    if len(filled) != 1:
        return 0
    cell = filled[0]
    spans = (cell.bbox[2] - cell.bbox[0]) >= 0.7 * grid.width
    return 1 if spans and len(cell.text) <= _PROSE_CHARS else 0


def _header_rows(grid: _Grid, first: int) -> int:
    """How many rows from `first` on make the header (0 when that row already looks like data)."""
    cells = [c for c in grid.starting(first) if c.text]
    if not cells or not all(_label_like(c.text) for c in cells):
        return 0
    if all(_is_numeric(c.text) for c in cells):
        return 0
    # Where a table shades some cells and not others, a header is shaded throughout; failing
    # that, where it sets some cells in bold, a header is bold throughout. This tells a shaded or
    # bold label beside its value ("Indicador | I - 2 Disminución del número anual de
    # feminicidios") from a header row.
    rest = [c for c in grid.cells if c.r0 >= first and c.text]
    mark = None
    for attr in ("shaded", "bold"):
        flags = [getattr(c, attr) for c in rest]
        if any(flags) and not all(flags):
            mark = attr
            break

    def header_like(row: list[_Cell]) -> bool:
        return bool(row) and all(_label_like(c.text) and (mark is None or getattr(c, mark)) for c in row)

    if not header_like(cells):
        return 0
    # A header cell spanning several rows ("Indicadores" beside "Valor | Año") says how deep the
    # header is; a merged cell ("METAS" over the years) or a gap says the next row belongs to it.
    depth = max(c.r1 for c in grid.starting(first)) - first
    merged = any(c.c1 - c.c0 > 1 for c in grid.starting(first)) or len(cells) < grid.n_cols
    if depth == 1 and merged:
        depth = 2
    depth = min(depth, _MAX_HEADER_ROWS)
    rows = 1
    for r in range(first + 1, first + depth):
        if not header_like([c for c in grid.starting(r) if c.text]):
            break
        rows += 1
    if first + rows >= grid.n_rows:
        return 0  # nothing below it: not a header of anything
    return rows


def _compose_header(grid: _Grid, first: int, rows: int) -> tuple[str, ...]:
    """Column names; a merged upper cell prefixes the columns below it ("METAS 2016")."""
    names = []
    for c in range(grid.n_cols):
        parts: list[str] = []
        for r in range(first, first + rows):
            cell = grid.covering(r, c)
            if cell is not None and cell.text and (not parts or parts[-1] != cell.text):
                parts.append(cell.text)
        names.append(" ".join(parts))
    return tuple(names)


def _body_row(grid: _Grid, r: int, body_start: int) -> tuple[str, ...]:
    values = []
    for c in range(grid.n_cols):
        cell = grid.covering(r, c)
        if cell is None or cell.c0 != c:
            values.append("")  # empty, or covered by a cell spanning from the left
        elif cell.r0 == r:
            values.append(cell.text)
        elif cell.r0 >= body_start and len(cell.text) <= _SPAN_REPEAT_CHARS:
            values.append(cell.text)  # a short label spanning rows belongs to each of them
        else:
            values.append("")
    return tuple(values)


def _same_text(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    def norm(cells):
        return tuple(re.sub(r"\W+", "", c).lower() for c in cells)

    return norm(a) == norm(b)


def _table(grid: _Grid, carried: Table | None) -> Table | None:
    """The table a grid holds, or None when it is a frame, a logo or a box of prose.

    `carried` is the table that reached the bottom of the previous page with this grid's shape.
    """
    x0, top, x1, bottom = grid.bbox
    if x1 - x0 < _MIN_TABLE_WIDTH or bottom - top < _MIN_TABLE_HEIGHT or grid.n_cols < 2 or not grid.upright:
        return None
    title = _title_rows(grid)
    header_rows = _header_rows(grid, title)
    header = _compose_header(grid, title, header_rows) if header_rows else ("",) * grid.n_cols
    continued = False
    if carried is not None and not title:
        if header_rows == 0 or _same_text(header, carried.header):
            # Runs on from the previous page: a first row of data, or the same header repeated.
            header, continued = carried.header, True
    rows = []
    if title:
        rows.append(_body_row(grid, 0, 0))
    body_start = title + header_rows
    rows.extend(_body_row(grid, r, body_start) for r in range(body_start, grid.n_rows))
    rows = [row for row in rows if any(row)]
    filled = [v for row in rows for v in row if v]
    columns = {j for row in rows for j, v in enumerate(row) if v} | {j for j, h in enumerate(header) if h}
    if len(columns) < 2:
        return None  # one column of text in a frame
    if len(rows) + (1 if any(header) else 0) < 2 and not continued:
        return None
    if not filled or sum(map(_is_prose, filled)) > 0.5 * len(filled):
        return None  # paragraphs in ruled boxes
    return Table(grid.page, (x0, top, x1, bottom), header, tuple(rows))


# ------------------------------------------------------------------ unruled lists of figures
#
# Fee and penalty scales are often typed without rules: a label, a wide gap, a figure
# ("Presentación espontánea      15 salarios"). poppler puts the labels and the figures in separate
# blocks, so read in block order every figure lost its label. Only this narrow shape is taken: at
# least three figures in one aligned column, each at the end of its line after a wide gap.

_FIGURE = re.compile(
    r"^(?:(?:US)?\$|S/\.?|€|USD|ARS|MXN|PEN)?\s*[-–]?\d[\d.,]*\s*%?(?:\s+[^\W\d_][\w.]*){0,2}$", re.IGNORECASE)
_MIN_LIST_ROWS = 3
_MAX_FIGURE_CHARS = 30
_LIST_MARKER = re.compile(r"^[-–•·]\s*")


def _may_list_figures(text: str) -> bool:
    """Cheap test on pdfium's plain text: three lines out of five that end in a figure after words."""
    hits = [i for i, ln in enumerate(text.split("\r\n")) if _ends_in_figure(ln)]
    return any(hits[k + _MIN_LIST_ROWS - 1] - hits[k] <= 5 for k in range(len(hits) - _MIN_LIST_ROWS + 1))


_WORD = re.compile(r"[^\W\d_]{3}")


def _ends_in_figure(line: str) -> bool:
    """Words, then a figure of one to three tokens at the end: "... días de mora 5%"."""
    tokens = line.split()
    for k in (1, 2, 3):
        if len(tokens) > k and any(ch.isdigit() for ch in tokens[-k]) and _FIGURE.match(" ".join(tokens[-k:])):
            return bool(_WORD.search(" ".join(tokens[:-k])))
    return False


@dataclass
class _TextLine:
    x0: float
    top: float
    x1: float
    bottom: float
    height: float
    label: str
    label_x0: float
    label_x1: float
    value: str = ""
    value_x0: float = 0.0
    value_x1: float = 0.0


def _join(chars: list[dict]) -> str:
    return clean_cell(_line_text(chars))


def _text_lines(chars: list[dict]) -> list[_TextLine]:
    by_line: dict[int, list[dict]] = {}
    for ch in chars:
        by_line.setdefault(ch["line"], []).append(ch)
    lines = []
    for number in sorted(by_line):
        ink = sorted((c for c in by_line[number] if not c["text"].isspace()), key=lambda c: c["x0"])
        if not ink:
            continue
        height = sorted(c["height"] for c in ink)[len(ink) // 2]
        gaps = [(ink[k + 1]["x0"] - ink[k]["x1"], k) for k in range(len(ink) - 1)]
        widest, at = max(gaps, default=(0.0, -1))
        box = (min(c["x0"] for c in ink), min(c["top"] for c in ink), max(c["x1"] for c in ink),
               max(c["bottom"] for c in ink))
        if at >= 0 and widest >= max(2.5 * height, 24.0):
            left, right = ink[: at + 1], ink[at + 1:]
            label, value = _join(left), _join(right)
            if len(value) <= _MAX_FIGURE_CHARS and _FIGURE.match(value) and any(ch.isalpha() for ch in label):
                lines.append(_TextLine(*box, height, label, left[0]["x0"], left[-1]["x1"], value, right[0]["x0"],
                                       right[-1]["x1"]))
                continue
        lines.append(_TextLine(*box, height, _join(ink), box[0], box[2]))
    return lines


def _figure_lists(chars: list[dict], page: int, taken: list[tuple[float, float, float, float]]) -> list[Table]:
    lines = [ln for ln in _text_lines(chars)
             if not any(x0 <= (ln.x0 + ln.x1) / 2 <= x1 and top <= (ln.top + ln.bottom) / 2 <= bottom
                        for x0, top, x1, bottom in taken)]
    tables: list[Table] = []
    run: list[list] = []  # rows: [label parts, value, lines]
    left = value_x0 = value_x1 = 0.0
    last: _TextLine | None = None

    def close() -> None:
        rows = list(run)
        while rows and not rows[-1][1]:
            rows.pop()
        if len(rows) >= _MIN_LIST_ROWS and all(r[1] for r in rows):
            members = [ln for r in rows for ln in r[2]]
            bbox = (min(ln.x0 for ln in members), min(ln.top for ln in members), max(ln.x1 for ln in members),
                    max(ln.bottom for ln in members))
            body = tuple((_LIST_MARKER.sub("", " ".join(r[0])), r[1]) for r in rows)
            tables.append(Table(page, bbox, ("", ""), body))
        run.clear()

    for i, ln in enumerate(lines):
        near = last is not None and 0 <= ln.top - last.bottom <= 1.5 * ln.height
        if ln.value:
            aligned = abs(ln.value_x0 - value_x0) <= 3 or abs(ln.value_x1 - value_x1) <= 3
            if run and not (near and aligned and ln.label_x0 >= left - 3):
                close()
            if not run:
                left, value_x0, value_x1 = ln.label_x0, ln.value_x0, ln.value_x1
                before = lines[i - 1] if i else None
                if (before is not None and not before.value and before.x0 < ln.label_x0 - 3
                        and 0 <= ln.top - before.bottom <= 1.5 * ln.height and before.x1 < value_x0 - 10):
                    left = before.x0  # the item began on the line above: "- Presentación ante ..."
                    run.append([[before.label], "", [before]])
            starts = ln.label_x0 <= left + 3
            if starts or not run or run[-1][1]:
                run.append([[ln.label], ln.value, [ln]])
            else:
                run[-1][0].append(ln.label)
                run[-1][1] = ln.value
                run[-1][2].append(ln)
        elif run and near and ln.x0 >= left - 3 and ln.x1 < value_x0 - 10:
            if ln.x0 <= left + 3:
                run.append([[ln.label], "", [ln]])  # a new item whose figure comes on a later line
            else:
                run[-1][0].append(ln.label)
                run[-1][2].append(ln)
        elif run:
            close()
        last = ln
    if run:
        close()
    return tables
