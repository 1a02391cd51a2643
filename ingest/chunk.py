"""Stage 2: blocks -> passages by section, each carrying its provenance.

The passage is what officials read and what every citation stands on, so its edges are rules,
not accidents of the layout:
- a passage starts and ends on a sentence, list-item or table-row boundary; only a single sentence
  longer than the maximum is cut, at a clause or word boundary;
- a heading opens a section and is the first thing in its passage, never the last;
- no passage is empty or longer than `max_chars`; passages shorter than `min_chars` are joined to a
  neighbour when one fits (a document that is all one short text keeps it);
- `document_text[char_start:char_end] == text` and the pages are those the span really covers.

The document text is the blocks' texts joined by blank lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from search import sentences
from ingest.blocks import Block, Kind

SEPARATOR = "\n\n"
MIN_CHARS = 80


@dataclass(frozen=True)
class Chunk:
    doc_id: str
    index: int
    text: str
    section: str
    page_start: int | None
    page_end: int | None
    char_start: int
    char_end: int


@dataclass(frozen=True)
class ChunkedDocument:
    doc_id: str
    text: str
    chunks: tuple[Chunk, ...]
    n_pages: int | None


# ------------------------------------------------------------------ headings and sections

ARTICLE = re.compile(r"^\W{0,2}(ART[IÍ]CULO|Art[íi]culo|ART[´'`]?C?IULO|Art\.)\s*(\d{1,3}[º°]?|[A-ZÁÉÍÓÚ][a-záéíóú]+)\b")
STRUCTURE = re.compile(r"^(?:T[IÍ]TULO|CAP[IÍ]TULO|SECCI[OÓ]N|ANEXO|PARTE|LIBRO|(?:[IVXLC]+|\d+)(?:\.\d+)*\.?$)",
                       re.IGNORECASE)
STOP_HEADINGS = {"y", "e", "o", "u", "a", "de", "la", "el", "en", "son", "con", "por", "para", "n.a", "na", "nd"}


def looks_like_heading(text: str) -> bool:
    """A heading worth naming a section after: words (not "y", "son", a number or a bullet), short,
    not a sentence that runs on."""
    t = text.strip()
    if not t or len(t) > 150 or t[-1] in ",;":
        return False
    if t.lower().strip(".:") in STOP_HEADINGS:
        return False
    words = re.findall(r"[^\W\d_]{3,}", t)
    if not words:
        return False
    if t[0] in "•●▪■◦·-–—*" or t[0].islower():
        return False
    return True


def article_label(text: str) -> str | None:
    """'ARTÍCULO 5°: Facultades.' -> the short article heading; long article sentences -> 'Artículo 5'."""
    m = ARTICLE.match(text)
    if not m:
        return None
    head = re.split(r"(?<=[.:])\s", text, maxsplit=2)
    label = " ".join(head[:2]) if len(head) > 1 and len(head[0]) < 20 else head[0]
    if len(label) > 90:
        label = m.group(0).strip()
    return label.strip()


# ------------------------------------------------------------------ units


@dataclass
class _Unit:
    start: int
    end: int
    block: int  # index of its block
    first: bool  # first unit of its block
    heading: bool = False  # binds to what follows: a heading, or a short title-like line ("6. Enfoque generacional")
    title: bool = False  # a section's own heading (several in a row name one section together)


def _units(block: Block, bstart: int, index: int, max_chars: int) -> list[_Unit]:
    if block.kind is Kind.HEADING or _title_like(block):
        return [_Unit(bstart, bstart + len(block.text), index, True, heading=True,
                      title=block.kind is Kind.HEADING or article_label(block.text) is not None)]
    if block.kind in (Kind.LIST, Kind.TABLE) and len(block.text) <= max_chars:
        return [_Unit(bstart, bstart + len(block.text), index, True, heading=block.text.rstrip().endswith(":"))]
    spans = sentences.split(block.text)
    out: list[_Unit] = []
    for s, e in spans:
        for ps, pe in _fit(block.text, s, e, max_chars):
            out.append(_Unit(bstart + ps, bstart + pe, index, not out))
    if out and block.text.rstrip().endswith(":"):
        out[-1].heading = True  # "…podrán servir como indicio:" introduces what follows; never ends a passage
    return out


def _title_like(block: Block) -> bool:
    t = block.text.rstrip()
    return block.kind is not Kind.TABLE and len(t) <= 100 and t[-1] not in ".!?;:…»”\")]" and not t[-1].isdigit()


def _fit(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """A sentence longer than the maximum, cut at the last clause mark (; : ,) or else the last space
    before the limit: the only place a passage may break inside a sentence."""
    pieces = []
    while end - start > max_chars:
        window = text[start:start + max_chars]
        cut = max(window.rfind("; "), window.rfind(": "))
        if cut < max_chars // 2:
            cut = window.rfind(", ")
        if cut < max_chars // 2:
            cut = window.rfind(" ")
        if cut <= 0:
            cut = max_chars - 1
        pieces.append((start, start + cut + 1))
        start += cut + 1
        while start < end and text[start].isspace():
            start += 1
    pieces.append((start, end))
    return [(s, e) for s, e in pieces if e > s]


# ------------------------------------------------------------------ the chunker


def chunk(doc_id: str, blocks: list[Block], *, max_chars: int = 1400, new_after_chars: int = 1000,
          min_chars: int = MIN_CHARS) -> ChunkedDocument:
    blocks = [b for b in blocks if b.text.strip()]
    blocks = [b if b.text == b.text.strip() else b.with_text(b.text.strip()) for b in blocks]
    starts, cursor = [], 0
    for b in blocks:
        starts.append(cursor)
        cursor += len(b.text) + len(SEPARATOR)
    doc_text = SEPARATOR.join(b.text for b in blocks)

    # sections: (name, [units]) in document order
    sections: list[tuple[str, list[_Unit]]] = []
    name, given, units = "", "", []
    for i, b in enumerate(blocks):
        heading = b.kind is Kind.HEADING and looks_like_heading(b.text)
        label = None if heading else article_label(b.text)
        new_given = bool(b.section) and b.section != given
        if heading or label or new_given:
            if units and all(u.title for u in units) and not new_given:
                name = _join_names(name, b.text if heading else label)  # headings in a row name one section
            else:
                if units:
                    sections.append((name, units))
                units = []
                name = b.text if heading else (label or b.section)
            given = b.section or given
        as_block = b if heading or b.kind is not Kind.HEADING else Block(b.text, Kind.TEXT, b.page, b.page_breaks)
        units.extend(_units(as_block, starts[i], i, max_chars))
    if units:
        sections.append((name, units))

    spans: list[list] = []  # [start, end, section]
    for section, sec_units in sections:
        cur: list[_Unit] = []
        for u in sec_units:
            if cur:
                length = cur[-1].end - cur[0].start
                if u.end - cur[0].start > max_chars or (length >= new_after_chars and u.first and not cur[-1].heading):
                    keep = _trailing_headings(cur)
                    if keep and u.end - keep[0].start > max_chars:
                        keep = []  # the title and what it opens cannot share a passage: it ends this one
                    spans.append([cur[0].start, cur[len(cur) - len(keep) - 1].end, section])
                    cur = keep
            cur.append(u)
        if cur:
            spans.append([cur[0].start, cur[-1].end, section])
    spans = _join_small(spans, min_chars, max_chars)

    chunks = []
    for i, (s, e, section) in enumerate(spans):
        pages = _pages(blocks, starts, s, e)
        chunks.append(Chunk(doc_id, i, doc_text[s:e], section, min(pages) if pages else None,
                            max(pages) if pages else None, s, e))
    all_pages = [p for b in blocks for p in (b.page, b.page_end) if p]
    return ChunkedDocument(doc_id, doc_text, tuple(chunks), max(all_pages) if all_pages else None)


def _join_names(name: str, new: str) -> str:
    """"CAPÍTULO I" + "DISPOSICIONES GENERALES" name a section together; a document title followed by
    its first section heading gives way to it."""
    if STRUCTURE.match(name) and len(name) <= 25:
        return f"{name} — {new}"
    return new


def _trailing_headings(cur: list[_Unit]) -> list[_Unit]:
    """Headings at the end of a full passage move to the next one (a passage never ends on a title)."""
    k = len(cur)
    while k > 1 and cur[k - 1].heading:
        k -= 1
    return cur[k:]


def _join_small(spans: list[list], min_chars: int, max_chars: int) -> list[list]:
    """Join passages under min_chars to a neighbour (the same section first, then the next one)."""
    changed = True
    while changed and len(spans) > 1:
        changed = False
        for i, (s, e, section) in enumerate(spans):
            if e - s >= min_chars:
                continue
            options = []
            if i + 1 < len(spans) and spans[i + 1][1] - s <= max_chars:
                options.append((spans[i + 1][2] != section, 0, i + 1))
            if i > 0 and e - spans[i - 1][0] <= max_chars:
                options.append((spans[i - 1][2] != section, 1, i - 1))
            if not options:
                continue
            _, _, j = min(options)
            a, b = sorted((i, j))
            big = max((spans[a], spans[b]), key=lambda sp: sp[1] - sp[0])
            spans[a:b + 1] = [[spans[a][0], spans[b][1], big[2]]]  # named after most of its text
            changed = True
            break
    return spans


def _pages(blocks: list[Block], starts: list[int], s: int, e: int) -> list[int]:
    pages = []
    for b, bs in zip(blocks, starts):
        be = bs + len(b.text)
        if be <= s or bs >= e:
            continue
        first, last = b.pages_between(max(s, bs) - bs, min(e, be) - bs)
        pages.extend(p for p in (first, last) if p)
    return pages
