"""Word and PowerPoint files through unstructured, with what it leaves out or puts in the wrong place.

DOCX: unstructured gives the body in order, but also repeats each section's page header and footer
and knows nothing of comments or footnotes. Headers and footers are moved to the end, once each:
repeated in the body they would land in the middle of passages, yet they must still reach the
personal-data screen (a footer "Contacto: María Pérez" is personal data). Comments, footnotes and
endnotes follow them as paragraphs, read from the package XML.

PPTX: unstructured classifies short bullet points as titles and writes speaker notes before the
slide's own text. Here each slide's real title (the title placeholder) is its heading and names the
section of everything on the slide, the other short lines are list items, tables are rows with
headers, and the notes come after the slide's content.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from ingest.blocks import Block, Kind, Parsed, ParseStats
from ingest.parsers.elements import SKIP_CATEGORIES, clean_inline, element_page, element_table, strip_bullet, to_blocks
from search.errors import IngestError

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
RUNNING = {"Header", "Footer"}
LIST_MAX = 200  # a longer body paragraph on a slide is prose, not a bullet


def _languages() -> list[str]:
    from ingest.partition import LANGUAGES, warm_up

    warm_up()
    return list(LANGUAGES)


# ------------------------------------------------------------------ DOCX


def parse_docx(path: Path, ocr_languages: str = "spa") -> Parsed:
    languages = _languages()
    from unstructured.partition.docx import partition_docx

    try:
        elements = partition_docx(filename=str(path), languages=languages)
    except Exception as exc:  # python-docx / XML internals
        raise IngestError("No se pudo leer el archivo de Word: está dañado, protegido o no es un DOCX válido.",
                          f"partition_docx failed on {path}: {type(exc).__name__}: {exc}") from exc
    body = [e for e in elements if e.category not in RUNNING]
    running = [e for e in elements if e.category in RUNNING]
    blocks = to_blocks(body)
    seen = {b.text for b in blocks}
    for e in running:
        text = clean_inline(e.text or "")
        if text and text not in seen:
            seen.add(text)
            blocks.append(Block(text, Kind.TEXT))
    for text in docx_notes(Path(path)):
        blocks.append(Block(text, Kind.TEXT))
    if not blocks:
        raise IngestError("El documento no contiene texto legible.", f"no text in {path}")
    stats = ParseStats(header_footer_lines=len(running),
                       tables=sum(1 for e in body if e.category == "Table"))
    return Parsed(blocks, stats)


def docx_notes(path: Path) -> list[str]:
    """Texts of the document's comments, footnotes and endnotes, in that order, one per note."""
    from lxml import etree

    texts: list[str] = []
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            for part, tag in (("word/comments.xml", "comment"), ("word/footnotes.xml", "footnote"),
                              ("word/endnotes.xml", "endnote")):
                if part not in names:
                    continue
                parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
                root = etree.fromstring(z.read(part), parser)
                for note in root.iter(W + tag):
                    if note.get(W + "type") in ("separator", "continuationSeparator", "continuationNotice"):
                        continue
                    paragraphs = ["".join(t.text or "" for t in p.iter(W + "t")) for p in note.iter(W + "p")]
                    text = clean_inline(" ".join(p for p in paragraphs if p.strip()))
                    if text:
                        texts.append(text)
    except (zipfile.BadZipFile, KeyError, etree.XMLSyntaxError) as exc:
        raise IngestError("El archivo de Word está dañado (sus comentarios o notas no se pueden leer).",
                          f"bad notes XML in {path}: {exc}") from exc
    return texts


# ------------------------------------------------------------------ PPTX


def parse_pptx(path: Path, ocr_languages: str = "spa") -> Parsed:
    languages = _languages()
    from pptx import Presentation
    from unstructured.partition.pptx import partition_pptx

    # Notes are read with python-pptx, not unstructured: it emits them before the slide's title,
    # where they would fall under the previous slide's heading.
    try:
        elements = partition_pptx(filename=str(path), languages=languages, include_slide_notes=False)
        prs = Presentation(str(path))
    except Exception as exc:  # python-pptx / XML internals
        raise IngestError("No se pudo leer la presentación: está dañada, protegida o no es un PPTX válido.",
                          f"partition_pptx failed on {path}: {type(exc).__name__}: {exc}") from exc
    by_slide: dict[int, list] = {}
    for e in elements:
        by_slide.setdefault(element_page(e) or 0, []).append(e)
    blocks: list[Block] = []
    tables = 0
    for number, slide in enumerate(prs.slides, start=1):
        title = ""
        if slide.shapes.title is not None and slide.shapes.title.has_text_frame:
            title = clean_inline(slide.shapes.title.text_frame.text)
        slide_elements = [e for e in by_slide.get(number, []) if e.category not in SKIP_CATEGORIES]
        if not title:
            first = next((e for e in slide_elements if e.category == "Title"), None)
            title = clean_inline(first.text) if first is not None else ""
        section = title or f"Diapositiva {number}"
        slide_blocks: list[Block] = []
        if title:
            slide_blocks.append(Block(title, Kind.HEADING, page=number, section=section))
        body = [clean_inline(e.text or "") for e in slide_elements if e.category != "Table"]
        body = [t for t in body if t]
        if title in body:
            body.remove(title)
        titled = False
        for e in slide_elements:
            if e.category == "Table":
                tables += 1
                slide_blocks.extend(element_table(e, section))
                continue
            text = clean_inline(e.text or "")
            if not text:
                continue
            if text == title and not titled:
                titled = True  # the heading is already there
                continue
            if e.category in ("Title", "ListItem") or (len(body) >= 2 and len(text) <= LIST_MAX):
                # Bullets: unstructured calls short ones titles and the rest narrative text.
                slide_blocks.append(Block(strip_bullet(text), Kind.LIST, page=number, section=section))
            else:
                slide_blocks.append(Block(text, Kind.TEXT, page=number, section=section))
        for note in slide_notes(slide):
            slide_blocks.append(Block(note, Kind.TEXT, page=number, section=section))
        blocks.extend(slide_blocks)
    if not blocks:
        raise IngestError("La presentación no contiene texto legible.", f"no text in {path}")
    return Parsed(blocks, ParseStats(pages=len(prs.slides), tables=tables))


def slide_notes(slide) -> list[str]:
    if not slide.has_notes_slide:
        return []
    frame = slide.notes_slide.notes_text_frame
    if frame is None:
        return []
    return [t for t in (clean_inline(p.text) for p in frame.paragraphs) if t]


parse = parse_docx
