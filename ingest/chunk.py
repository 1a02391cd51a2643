"""Stage 2: elements -> chunks by section, each carrying its provenance.

`chunk_by_title` starts a chunk at every Title; `combine_text_under_n_chars=0` keeps sections
from bleeding into each other. The section title comes from the Title element that opens the
chunk (chunk_by_title has no section field). A chunk that holds only a heading is joined to
the chunk that follows it, so no passage is a bare title.

The document text is the elements' texts joined by blank lines; each chunk's text is exactly
`document_text[char_start:char_end]`, so citations can point into the source text.
"""

from __future__ import annotations

from dataclasses import dataclass

SEPARATOR = "\n\n"


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


def _is_title(element) -> bool:
    return getattr(element, "category", "") == "Title"


def _is_heading(element) -> bool:
    """A Title that reads like a heading: OCR and plain text often tag short sentences as Title."""
    return _is_title(element) and not element.text.rstrip().endswith((".", ",", ";"))


def chunk(doc_id: str, elements: list, *, max_chars: int = 1400, new_after_chars: int = 1000) -> ChunkedDocument:
    from unstructured.chunking.title import chunk_by_title

    elements = [e for e in elements if (e.text or "").strip()]
    # Element offsets in the document text; orig_elements inside the chunks are copies, so
    # they are matched back to these by id.
    offsets: dict[str, tuple[int, int]] = {}
    parts: list[str] = []
    cursor = 0
    for e in elements:
        text = e.text.strip()
        offsets[e.id] = (cursor, cursor + len(text))
        parts.append(text)
        cursor += len(text) + len(SEPARATOR)
    doc_text = SEPARATOR.join(parts)

    composites = chunk_by_title(
        elements,
        max_characters=max_chars,
        new_after_n_chars=new_after_chars,
        combine_text_under_n_chars=0,
        multipage_sections=True,
        include_orig_elements=True,
    )

    raw: list[dict] = []
    search_from = 0
    section = ""
    for comp in composites:
        origs = list(getattr(comp.metadata, "orig_elements", None) or [])
        if origs and _is_heading(origs[0]):
            section = origs[0].text.strip()
        elif not section and origs and getattr(origs[0].metadata, "page_name", None):
            section = origs[0].metadata.page_name  # spreadsheet sheet name
        pages = [o.metadata.page_number for o in origs if getattr(o.metadata, "page_number", None)]
        text = comp.text.strip()
        start = doc_text.find(text, search_from)
        if start < 0:
            # Oversized elements are split on whitespace the chunker may normalise; fall back
            # to the span of the original elements, which is exact.
            spans = [offsets[o.id] for o in origs if o.id in offsets]
            start = max(min(s for s, _ in spans), search_from) if spans else search_from
            end = max(e for _, e in spans) if spans else start + len(text)
        else:
            end = start + len(text)
        search_from = end
        raw.append({
            "section": section,
            "pages": pages,
            "start": start,
            "end": end,
            "title_only": bool(origs) and all(_is_title(o) for o in origs),
        })

    merged: list[dict] = []
    pending: dict | None = None
    for item in raw:
        if pending is not None:
            item = {
                **item,
                "start": pending["start"],
                "pages": pending["pages"] + item["pages"],
                "section": item["section"] or pending["section"],
            }
            pending = None
        if item["title_only"]:
            pending = item
            continue
        merged.append(item)
    if pending is not None:  # a document that ends in a heading keeps it as its own chunk
        merged.append(pending)

    chunks = []
    for i, item in enumerate(merged):
        pages = item["pages"]
        chunks.append(Chunk(
            doc_id=doc_id,
            index=i,
            text=doc_text[item["start"]:item["end"]],
            section=item["section"],
            page_start=min(pages) if pages else None,
            page_end=max(pages) if pages else None,
            char_start=item["start"],
            char_end=item["end"],
        ))
    all_pages = [e.metadata.page_number for e in elements if getattr(e.metadata, "page_number", None)]
    return ChunkedDocument(doc_id, doc_text, tuple(chunks), max(all_pages) if all_pages else None)
