"""Positioned lines of a paged document -> clean blocks in reading order.

Both PDF readers (the text layer through poppler, scanned pages through tesseract) produce the same
model: pages of boxes (poppler blocks, tesseract paragraphs), each box a list of lines with their
coordinates. Everything a page layout gets wrong in passages is undone here, once for both:

- running headers, footers and page numbers: lines that repeat at the same place across pages;
- reading order on multi-column pages: recursive XY-cut over the boxes, columns first;
- paragraphs: a box is split where a line ends a sentence and the next starts an item or is indented;
- line-end hyphenation and paragraphs cut by a column or page break are joined back, with the page
  break recorded in the block so citations keep their pages.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field

from ingest.blocks import Block, Kind
from search.text import fold

# ------------------------------------------------------------------ model


@dataclass
class Line:
    x0: float
    y0: float
    x1: float
    y1: float
    text: str
    height: float  # median glyph height: a font-size proxy, poppler gives no font sizes


@dataclass
class Box:
    lines: list[Line]
    table: Block | None = None  # not None: a table placed here, its rows already rendered
    rows: list[Block] = field(default_factory=list)

    @property
    def x0(self) -> float:
        return min(ln.x0 for ln in self.lines)

    @property
    def x1(self) -> float:
        return max(ln.x1 for ln in self.lines)

    @property
    def y0(self) -> float:
        return min(ln.y0 for ln in self.lines)

    @property
    def y1(self) -> float:
        return max(ln.y1 for ln in self.lines)


@dataclass
class Page:
    number: int
    width: float
    height: float
    boxes: list[Box]


# ------------------------------------------------------------------ text cleaning

LIGATURES = {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"}
LIGATURE_SPLIT = re.compile("([ﬀﬁﬂﬃﬄﬅﬆ]) (?=[a-záéíóúñü])")
# Readers that expand a ligature often keep the gap its glyph left: "defi nición", "específi cos".
# No Spanish word ends in fi, fl or ff, so that gap before a lower-case letter is never a real space.
EXPANDED_LIGATURE_SPLIT = re.compile(r"(?<=[a-záéíóúñ])(fi|fl|ff|ffi|ffl) (?=[a-záéíóúñü])|\b(fi|fl) (?=[a-záéíóúñü]{2})")
INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u3000]+")
SPACE_BEFORE_PUNCT = re.compile(r" +([,.;:!?)\]»”])")
GLUED_NOTE = re.compile(r"(?<=[a-záéíóúñ]{3})(\d{1,2})(?=[\s,.;:]|$)")
CID = re.compile(r"\(cid:\d+\)")


def clean_text(text: str) -> str:
    """Ligatures expanded (and the space a PDF often leaves after one removed), invisible and
    bidirectional control characters dropped, spaces collapsed, NFC."""
    text = LIGATURE_SPLIT.sub(r"\1", text)
    for lig, plain in LIGATURES.items():
        text = text.replace(lig, plain)
    text = EXPANDED_LIGATURE_SPLIT.sub(lambda m: m.group(1) or m.group(2), text)
    text = CID.sub("•", text)
    text = INVISIBLE.sub("", text)
    text = SPACES.sub(" ", text)
    return unicodedata.normalize("NFC", text).strip()


def footnote_marker(word: str) -> str:
    """A superscript note number, written apart from the word it follows."""
    return f"[{word}]"


def split_glued_notes(text: str) -> str:
    """'género1 y' -> 'género [1] y': a Spanish word never ends in digits; a note number does."""
    return GLUED_NOTE.sub(lambda m: " " + footnote_marker(m.group(1)), text)


# ------------------------------------------------------------------ running headers and footers

PAGE_NUMBER = re.compile(
    r"^[\W_]*(?:p[áa]g(?:ina)?\.?\s*)?\d{1,6}(?:\s*(?:de|/|of)\s*\d{1,4})?[\W_]*$", re.IGNORECASE)
BAND = 0.2  # running lines live in the top or bottom fifth of a page


def _norm(text: str) -> str:
    """Digit-blind, accent- and case-folded: how a running line is recognised from page to page."""
    return re.sub(r"\s+", " ", re.sub(r"\d+", "#", fold(text))).strip()


def drop_running_lines(pages: list[Page]) -> int:
    """Remove running headers, footers and page numbers; returns how many lines went. (List numbers
    in a margin are glued to their items first, so that "2." low on a page is not taken for a folio.)

    A line is running when its digit-blind text recurs near the same height on at least 3 pages and
    30% of them (alternating left/right headers reach half), inside the top or bottom band; a bare
    page number ("12", "3 de 21", "Página 4") in a band goes on any page.
    """
    for page in pages:
        _glue_margin_markers(page)
    n_pages = len(pages)
    seen: dict[str, dict[int, float]] = defaultdict(dict)  # text -> {page: height on the page}
    for page in pages:
        for box in page.boxes:
            for ln in box.lines:
                if _in_band(ln, page):
                    seen[_norm(ln.text)].setdefault(page.number, ln.y0 / page.height)
    need = max(3, int(0.3 * n_pages + 0.999)) if n_pages >= 3 else n_pages + 1
    seen, aliases = _merge_variants(seen)
    running = set()
    for key, at in seen.items():
        if len(at) >= need and len(key) >= 2:
            # the same place: on enough pages within 3% of the page height of the median
            mid = statistics.median(at.values())
            if sum(1 for y in at.values() if abs(y - mid) < 0.03) >= need:
                running.add(key)
    removed = 0
    for page in pages:
        ys = sorted({round(ln.y0, 1) for box in page.boxes for ln in box.lines})
        outer = set(ys[:2] + ys[-2:])  # a bare number is a page number only as the first or last lines
        for box in page.boxes:
            if box.table is not None:
                continue
            keep = []
            for ln in box.lines:
                if _in_band(ln, page) and (aliases.get(_norm(ln.text)) in running
                                           or (round(ln.y0, 1) in outer and PAGE_NUMBER.match(ln.text.strip()))):
                    removed += 1
                else:
                    keep.append(ln)
            box.lines = keep
        page.boxes = [b for b in page.boxes if b.lines or b.table is not None]
    return removed


def _merge_variants(seen: dict[str, dict[int, float]]) -> tuple[dict[str, dict[int, float]], dict[str, str]]:
    """Fold spellings of one running line into one: OCR reads a letterhead or a stamp a little
    differently on every page ("Honorable Concejo Deliberante", "Honorabie Concejo Deliberamie")."""
    from rapidfuzz import fuzz, process

    merged: dict[str, dict[int, float]] = {}
    aliases: dict[str, str] = {}  # every spelling -> the spelling its group is counted under
    for key in sorted(seen, key=lambda k: -len(seen[k])):
        target = None
        if len(key) >= 10 and merged:
            best = process.extractOne(key, list(merged), scorer=fuzz.ratio, score_cutoff=82)
            target = best[0] if best else None
        if target is None:
            merged[key] = dict(seen[key])
            aliases[key] = key
        else:
            for page, y in seen[key].items():
                merged[target].setdefault(page, y)
            aliases[key] = target
    return merged, aliases


def _in_band(ln: Line, page: Page) -> bool:
    return ln.y1 <= page.height * BAND or ln.y0 >= page.height * (1 - BAND)


# ------------------------------------------------------------------ reading order

MIN_GUTTER = 5.0  # points of white between columns
MIN_COLUMN_SHARE = 0.18  # a column is at least this share of the region's width (not a list marker)
SPANNING = 0.55  # a box wider than this share of the region spans its columns


def reading_order(boxes: list[Box]) -> list[Box]:
    """Recursive XY-cut: split at a vertical gutter when there is one (columns are read whole), else
    at a horizontal gap next to a box that spans the columns (a title or a full-width table), else
    at the topmost horizontal gap; what cannot be cut is read top to bottom, left to right."""
    if len(boxes) <= 1:
        return list(boxes)
    left, right = _vertical_cut(boxes)
    if left:
        return reading_order(left) + reading_order(right)
    top, bottom = _horizontal_cut(boxes)
    if top:
        return reading_order(top) + reading_order(bottom)
    return sorted(boxes, key=lambda b: (round(b.y0), b.x0))


def _gaps(intervals: list[tuple[float, float]], min_gap: float) -> list[tuple[float, float]]:
    intervals = sorted(intervals)
    gaps, reach = [], intervals[0][1]
    for a, b in intervals[1:]:
        if a - reach >= min_gap:
            gaps.append((reach, a))
        reach = max(reach, b)
    return gaps


def _vertical_cut(boxes: list[Box]) -> tuple[list[Box], list[Box]]:
    x0, x1 = min(b.x0 for b in boxes), max(b.x1 for b in boxes)
    width = max(x1 - x0, 1.0)
    best = None
    for a, b in _gaps([(bx.x0, bx.x1) for bx in boxes], MIN_GUTTER):
        if (a - x0) / width >= MIN_COLUMN_SHARE and (x1 - b) / width >= MIN_COLUMN_SHARE:
            if best is None or b - a > best[1] - best[0]:
                best = (a, b)
    if best is None:
        return [], []
    cut = (best[0] + best[1]) / 2
    return [b for b in boxes if b.x1 <= cut], [b for b in boxes if b.x1 > cut]


def _horizontal_cut(boxes: list[Box]) -> tuple[list[Box], list[Box]]:
    gaps = _gaps([(b.y0, b.y1) for b in boxes], 0.5)
    if not gaps:
        return [], []
    x0, x1 = min(b.x0 for b in boxes), max(b.x1 for b in boxes)
    width = max(x1 - x0, 1.0)
    spanning = [b for b in boxes if (b.x1 - b.x0) / width > SPANNING]
    if spanning and len(spanning) < len(boxes):
        edges = {round(b.y0, 1) for b in spanning} | {round(b.y1, 1) for b in spanning}
        near = [g for g in gaps if round(g[0], 1) in edges or round(g[1], 1) in edges]
        gaps = near or gaps
    cut = (gaps[0][0] + gaps[0][1]) / 2
    return [b for b in boxes if b.y1 <= cut], [b for b in boxes if b.y1 > cut]


# ------------------------------------------------------------------ paragraphs

TERMINAL = ".!?:;…»”\")]"
SENTENCE_END = ".!?…"
ITEM_START = re.compile(
    r"^(?:[•●▪■◦·\-–—*]\s|\(?\d{1,3}[.)]\s|\(?[a-zñ][.)]\s|\(?[ivxlcdm]{1,5}[.)]\s|[IVXLCDM]{1,6}[.)-]\s"
    r"|(?:ART[IÍ]CULO|Art[íi]culo|Art\.)\s*\d)")
STRUCTURE = re.compile(r"^(?:T[IÍ]TULO|CAP[IÍ]TULO|SECCI[OÓ]N|ANEXO|PARTE|LIBRO|DISPOSICI[OÓ]N)\b", re.IGNORECASE)
NUMBERED_HEADING = re.compile(r"^(?:[IVXLC]{1,6}|\d{1,2})(?:\.\d{1,2}){0,3}\.?\s+\S")
MARKER_ONLY = re.compile(r"^(?:[•●▪■◦·\-–—*]|\(?\d{1,3}[.)]|\(?[a-zA-Z][.)]|(?:[IVXLC]{1,6}|\d{1,2})(?:\.\d{1,2})*[.)])$")


@dataclass
class Para:
    lines: list[Line]
    page: int
    kind: Kind = Kind.TEXT
    table_rows: list[Block] = field(default_factory=list)
    note: bool = False


def paragraphs(box: Box, page: int) -> list[Para]:
    if box.table is not None:
        return [Para([], page, Kind.TABLE, box.rows)]
    lines = box.lines
    width = box.x1 - box.x0
    out: list[Para] = []
    cur: list[Line] = []
    for i, ln in enumerate(lines):
        if cur and _breaks_before(cur[-1], ln, box.x0, width):
            out.append(Para(cur, page))
            cur = []
        cur.append(ln)
    if cur:
        out.append(Para(cur, page))
    return out


def _breaks_before(prev: Line, ln: Line, left: float, width: float) -> bool:
    p, t = prev.text.rstrip(), ln.text.lstrip()
    if not p or not t:
        return False
    ended = p[-1] in TERMINAL
    short_prev = (prev.x1 - left) < 0.7 * width
    if ITEM_START.match(t) and (ended or short_prev):
        return True
    if ended and short_prev:
        return True
    if ended and ln.x0 - left > 8 and t[0].isupper():
        return True  # an indented first line
    # a title line (short, no final punctuation) above a line that starts a sentence
    if short_prev and not ended and t[0].isupper() and (p[0].isupper() or p[0].isdigit()) and len(p) < 90:
        return abs(ln.height - prev.height) > 0.5 or _looks_titled(p)
    return abs(ln.height - prev.height) > max(1.5, 0.2 * prev.height)


def _looks_titled(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    upper = sum(c.isupper() for c in letters)
    return bool(STRUCTURE.match(text) or NUMBERED_HEADING.match(text)
                or (len(letters) >= 4 and upper / len(letters) > 0.8)
                or re.match(r"^(?:ART[IÍ]CULO|Art[íi]culo)\s*\d+[º°]?\.?\s*[-–.]?\s*[A-ZÁÉÍÓÚ]", text))


def join_lines(lines: list[Line]) -> str:
    text = ""
    for ln in lines:
        t = ln.text.strip()
        if not t:
            continue
        if not text:
            text = t
        elif _hyphenated(text, t):
            text = text[:-1] + t
        else:
            text = text + " " + t
    return text


def _hyphenated(before: str, after: str) -> bool:
    return (len(before) >= 3 and before[-1] in "-­" and before[-2].isalpha() and after[:1].islower()
            and after[:1].isalpha())


# ------------------------------------------------------------------ blocks


def to_blocks(pages: list[Page]) -> list[Block]:
    """Order, paragraph, classify and join the pages' boxes into blocks."""
    heights = [ln.height for p in pages for b in p.boxes for ln in b.lines if ln.height > 0]
    body = statistics.median(heights) if heights else 0.0
    paras: list[Para] = []
    for page in pages:
        for box in reading_order(page.boxes):
            for para in paragraphs(box, page.number):
                para.note = _is_footnote(para, box, page, body)
                paras.append(para)
    paras = _attach_markers(paras)
    blocks: list[Block] = []
    notes: list[Block] = []  # footnotes wait until the paragraph they interrupt is whole again
    for para in paras:
        if para.kind is Kind.TABLE:
            blocks.extend(notes)
            notes = []
            blocks.extend(para.table_rows)
            continue
        if para.note:
            text = clean_text(join_lines(para.lines))
            if text and not re.fullmatch(r"[\d\s\[\]]{1,12}", text):
                notes.append(Block(text, Kind.TEXT, para.page))
            continue
        text = split_glued_notes(clean_text(join_lines(para.lines)))
        text = SPACE_BEFORE_PUNCT.sub(r"\1", text)
        if not text or re.fullmatch(r"\[?\d{1,3}\]?", text):
            continue  # a stray note number or folio on its own: no passage needs it
        kind = _classify(text, para.lines, body)
        prev = blocks[-1] if blocks else None
        if prev is not None and _continues(prev, text, kind):
            blocks[-1] = _join(prev, text, para.page)
            continue
        blocks.extend(notes)
        notes = []
        blocks.append(Block(text, kind, para.page))
    return blocks + notes


def _is_footnote(para: Para, box: Box, page: Page, body: float) -> bool:
    """Small print in the lower part of a page: footnotes, which interrupt the body's paragraphs."""
    if not para.lines or body <= 0 or box.y0 < page.height * 0.55:
        return False
    return statistics.median(ln.height for ln in para.lines) < 0.88 * body


def _glue_margin_markers(page: Page) -> None:
    """List numbers printed in a margin column ("2.", "I.1.") become the start of the line they face:
    read as a column of their own they would all come before (or after) the items they number."""
    lines = [(box, ln) for box in page.boxes if box.table is None for ln in box.lines]
    for box, ln in lines:
        if not MARKER_ONLY.match(ln.text.strip()):
            continue
        mid = (ln.y0 + ln.y1) / 2
        facing = [(b, other) for b, other in lines if other is not ln and other.x0 >= ln.x1 - 1
                  and other.x0 - ln.x1 < 60 and abs((other.y0 + other.y1) / 2 - mid) < max(ln.height, 4) * 0.6
                  and not MARKER_ONLY.match(other.text.strip())]
        if not facing:
            continue
        _, target = min(facing, key=lambda bo: bo[1].x0)
        target.text = ln.text.strip() + " " + target.text.strip()
        target.x0 = ln.x0
        box.lines = [x for x in box.lines if x is not ln]
    page.boxes = [b for b in page.boxes if b.lines]


def _attach_markers(paras: list[Para]) -> list[Para]:
    """A list marker printed apart from its item ("5." in the margin) is glued to the item."""
    out: list[Para] = []
    marker: Para | None = None
    for para in paras:
        if para.kind is not Kind.TABLE and MARKER_ONLY.match(join_lines(para.lines)):
            if marker is not None:
                out.append(marker)
            marker = para
            continue
        if marker is not None and para.kind is not Kind.TABLE and para.lines:
            first = para.lines[0]
            glued = Line(first.x0, first.y0, first.x1, first.y1,
                         join_lines(marker.lines) + " " + first.text.strip(), first.height)
            para = Para([glued, *para.lines[1:]], marker.page)
        elif marker is not None:
            out.append(marker)
        marker = None
        out.append(para)
    if marker is not None:
        out.append(marker)
    return out


def _classify(text: str, lines: list[Line], body: float) -> Kind:
    if ITEM_START.match(text) and not re.match(r"^(?:ART[IÍ]CULO|Art[íi]culo|Art\.)", text):
        return Kind.LIST
    if len(lines) > 3 or len(text) > 160 or text[-1] in ".;,":
        return Kind.TEXT
    if text[-1] == ":" and not text.isupper():
        return Kind.TEXT  # "Artículo 2. Para los efectos de esta Ley se entenderá por:" opens a list
    letters = [c for c in text if c.isalpha()]
    if len(letters) < 3 or not any(len(w) >= 3 for w in re.findall(r"[^\W\d_]+", text)):
        return Kind.TEXT
    big = body > 0 and statistics.median(ln.height for ln in lines) >= 1.15 * body
    if big or _looks_titled(text):
        return Kind.HEADING
    return Kind.TEXT


def _continues(prev: Block, text: str, kind: Kind) -> bool:
    """A paragraph cut by a column or page break: the first part does not end a sentence and the
    second starts in lower case (or the first ends in a hyphenated word)."""
    end = prev.text.rstrip()
    if not end or end[-1] in TERMINAL or prev.kind is Kind.TABLE:
        return False
    first = text.lstrip()[:1]
    if prev.kind is Kind.HEADING:  # a title broken over lines: "Decreto Supremo que aprueba" / "el “Plan…"
        return first.islower() or (first in "“\"«" and text[1:2].islower())
    if kind is Kind.HEADING:
        return False
    return first.islower() or (first.isdigit() and not ITEM_START.match(text))


def _join(prev: Block, text: str, page: int) -> Block:
    if _hyphenated(prev.text, text):
        joined, offset = prev.text[:-1] + text, len(prev.text) - 1
    else:
        joined, offset = prev.text + " " + text, len(prev.text) + 1
    breaks = prev.page_breaks
    if page is not None and page != prev.page_end:
        breaks = (*breaks, (offset, page))
    return Block(joined, prev.kind, prev.page, breaks, prev.section)


def page_has_text(page: Page, min_letters: int = 20) -> bool:
    return sum(sum(c.isalpha() for c in ln.text) for b in page.boxes for ln in b.lines) >= min_letters
