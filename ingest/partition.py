"""Stage 1: a file -> unstructured elements (text with category, page and section cues).

Works offline: unstructured's text classifier wants to download an English spaCy model on
first use and, failing that, silently returns no elements for PDFs. We put a blank Spanish
pipeline with a sentencizer in its place (it only needs sentence boundaries; its verb check
applies to English alone). PDF pages without a text layer are OCR'd in Spanish.
"""

from __future__ import annotations

import io
import logging
import re
import shutil
import threading
from pathlib import Path

from search.errors import IngestError

log = logging.getLogger(__name__)

SUPPORTED = {"PDF", "DOCX", "PPTX", "XLSX", "HTML", "MD", "TXT"}
EXTENSIONS = {"pdf": "PDF", "docx": "DOCX", "pptx": "PPTX", "xlsx": "XLSX", "html": "HTML", "htm": "HTML",
              "md": "MD", "markdown": "MD", "txt": "TXT"}
LANGUAGES = ["spa"]
CID_RE = re.compile(r"\(cid:\d+\)")

_warm = threading.Lock()
_ready = False


def warm_up() -> None:
    """Install the offline Spanish sentence splitter into unstructured (idempotent)."""
    global _ready
    with _warm:
        if _ready:
            return
        import spacy
        import unstructured.nlp.tokenize as tokenize

        nlp = spacy.blank("es")
        nlp.add_pipe("sentencizer")
        tokenize._get_nlp = lambda: nlp
        tokenize._process_cached.cache_clear()
        _ready = True


def detect_type(path: Path) -> str:
    """The file's type from its content (libmagic); text formats are told apart by extension."""
    from unstructured.file_utils.filetype import detect_filetype

    if path.stat().st_size == 0:  # libmagic calls it "EMPTY", which reads like a format
        raise IngestError("El archivo está vacío (0 bytes).", f"empty file {path}")
    try:
        detected = detect_filetype(file_path=str(path))
    except Exception as exc:
        raise IngestError("No se pudo reconocer el tipo de archivo.", f"type detection failed for {path}: {exc}") from exc
    name = getattr(detected, "name", str(detected))
    ext_type = EXTENSIONS.get(path.suffix.lower().lstrip("."))
    if name in {"TXT", "MD", "HTML"} and ext_type in {"TXT", "MD", "HTML"}:
        # libmagic cannot tell Markdown from plain text; the extension decides between text formats.
        return ext_type
    if name not in SUPPORTED:
        raise IngestError(
            f"Formato no admitido ({name}). Se aceptan PDF, DOCX, PPTX, XLSX, HTML, Markdown y TXT.",
            f"unsupported file type {name} for {path}",
        )
    if ext_type and ext_type != name:
        raise IngestError(
            f"La extensión del archivo (.{path.suffix.lower().lstrip('.')}) no coincide con su contenido ({name}).",
            f"extension/content mismatch for {path}: {ext_type} vs {name}",
        )
    return name


MAX_UNZIPPED_BYTES = 300 * 1024 * 1024
MAX_ZIP_RATIO = 200
MAX_PDF_PAGES = 500


def _check_zip(path: Path) -> None:
    """Office files are zips: refuse ones that would expand to an absurd size (zip bombs)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise IngestError("El archivo de Office está dañado (no es un ZIP válido).", f"bad zip {path}: {exc}") from exc
    total = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if total > MAX_UNZIPPED_BYTES or (total > 20 * 1024 * 1024 and total / packed > MAX_ZIP_RATIO):
        raise IngestError("El archivo se expande de forma anómala al descomprimirlo (posible bomba ZIP); no se procesa.",
                          f"zip bomb suspected in {path}: {total} bytes unpacked from {packed}")


def partition(path: Path, *, ocr_languages: str = "spa", max_bytes: int = 50 * 1024 * 1024) -> list:
    """Elements of one file, each with its page number where the format has pages."""
    warm_up()
    path = Path(path)
    if not path.is_file():
        raise IngestError(f"No se encontró el archivo «{path.name}».", f"missing file {path}")
    size = path.stat().st_size
    if size == 0:
        raise IngestError("El archivo está vacío (0 bytes).", f"empty file {path}")
    if size > max_bytes:
        raise IngestError(f"El archivo pesa {size / 1e6:.0f} MB; el máximo es {max_bytes / 1e6:.0f} MB.",
                          f"file too large {path}: {size} bytes")
    kind = detect_type(path)
    if kind in {"DOCX", "PPTX", "XLSX"}:
        _check_zip(path)
    try:
        elements = _PARTITIONERS[kind](path, ocr_languages)
    except IngestError:
        raise
    except Exception as exc:  # parser internals: corrupt zips, broken xref tables, encodings…
        raise IngestError(
            f"No se pudo leer el archivo {kind}: está dañado, protegido o no es válido.",
            f"{kind} parser failed on {path}: {type(exc).__name__}: {exc}",
        ) from exc
    for e in elements:
        # pdfminer writes glyphs it cannot map (bullets, dingbats) as "(cid:N)".
        if "(cid:" in (e.text or ""):
            e.text = CID_RE.sub("•", e.text)
    elements = [e for e in elements if (e.text or "").strip()]
    if not elements:
        raise IngestError(
            "El documento no contiene texto legible." + (" El PDF no tiene capa de texto y el OCR no reconoció texto." if kind == "PDF" else ""),
            f"no text extracted from {path}",
        )
    return elements


def _pdf(path: Path, ocr_languages: str) -> list:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError
    from unstructured.partition.pdf import partition_pdf

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise IngestError("El PDF está protegido con contraseña; envíe una versión sin protección.",
                              f"encrypted pdf {path}")
        n_pages = len(reader.pages)
        if n_pages > MAX_PDF_PAGES:
            raise IngestError(f"El PDF tiene {n_pages} páginas; el máximo es {MAX_PDF_PAGES}.", f"too many pages {path}")
    except PdfReadError as exc:
        raise IngestError("El PDF está dañado o incompleto.", f"pypdf cannot read {path}: {exc}") from exc
    elements = partition_pdf(filename=str(path), strategy="fast", languages=LANGUAGES)
    with_text = {e.metadata.page_number for e in elements if (e.text or "").strip()}
    missing = [p for p in range(1, n_pages + 1) if p not in with_text]
    if missing:
        elements = sorted(elements + _ocr_pages(reader, missing, ocr_languages),
                          key=lambda e: e.metadata.page_number or 0)
    return elements


def _ocr_pages(reader, pages: list[int], ocr_languages: str) -> list:
    """OCR the given 1-based pages (no text layer) and return their elements with true page numbers."""
    from pypdf import PdfWriter
    from unstructured.partition.pdf import partition_pdf

    if shutil.which("tesseract") is None:
        raise IngestError("El PDF contiene páginas escaneadas y el OCR (tesseract) no está instalado en el servidor.",
                          "tesseract not found on PATH")
    writer = PdfWriter()
    for p in pages:
        writer.add_page(reader.pages[p - 1])
    buffer = io.BytesIO()
    writer.write(buffer)
    buffer.seek(0)
    ocr_langs = [lang for lang in ocr_languages.split("+") if lang]
    elements = partition_pdf(file=buffer, strategy="ocr_only", languages=ocr_langs or LANGUAGES)
    for e in elements:
        e.metadata.page_number = pages[(e.metadata.page_number or 1) - 1]
    log.info("OCR'd %d page(s) without a text layer", len(pages))
    return elements


def _docx(path: Path, _: str) -> list:
    from unstructured.partition.docx import partition_docx

    return partition_docx(filename=str(path), languages=LANGUAGES)


def _pptx(path: Path, _: str) -> list:
    from unstructured.partition.pptx import partition_pptx

    from unstructured.documents.elements import ListItem

    elements = partition_pptx(filename=str(path), languages=LANGUAGES)
    # Short bullet points pass unstructured's title heuristic; on a slide only the first
    # title is the slide's heading, the rest are its bullets.
    out, seen_title_on = [], set()
    for e in elements:
        page = e.metadata.page_number
        if e.category == "Title":
            if page in seen_title_on:
                e = ListItem(text=e.text, metadata=e.metadata, element_id=e.id)
            seen_title_on.add(page)
        out.append(e)
    return out


def _xlsx(path: Path, _: str) -> list:
    from unstructured.partition.xlsx import partition_xlsx

    return partition_xlsx(filename=str(path), languages=LANGUAGES, find_subtable=False)


def _html(path: Path, _: str) -> list:
    from unstructured.partition.html import partition_html

    return partition_html(filename=str(path), languages=LANGUAGES)


def _md(path: Path, _: str) -> list:
    from unstructured.partition.md import partition_md

    return partition_md(filename=str(path), languages=LANGUAGES)


def _txt(path: Path, _: str) -> list:
    from unstructured.partition.text import partition_text

    return partition_text(filename=str(path), languages=LANGUAGES)


_PARTITIONERS = {"PDF": _pdf, "DOCX": _docx, "PPTX": _pptx, "XLSX": _xlsx, "HTML": _html, "MD": _md, "TXT": _txt}
