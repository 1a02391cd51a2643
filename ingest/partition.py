"""Stage 1: a file -> `Parsed` (clean blocks in reading order, and what parsing saw).

One parser per format lives in `ingest.parsers`; this module checks the file (type, size, zip
bombs), picks the parser, and runs it in the worker process when a time limit is set.

Works offline: unstructured's text classifier (used by the DOCX, PPTX and Markdown parsers) wants to
download an English spaCy model on first use and, failing that, silently returns no elements. We put
a blank Spanish pipeline with a sentencizer in its place (it only needs sentence boundaries).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from ingest.blocks import Parsed
from ingest.detect import EXTENSIONS, SUPPORTED, check_size, check_zip, detect_type  # noqa: F401 (re-exported)
from ingest.worker import _WORKER, shutdown_worker  # noqa: F401 (re-exported)
from search.errors import IngestError

log = logging.getLogger(__name__)

LANGUAGES = ["spa"]

_warm = threading.Lock()
_ready = False


def warm_up() -> None:
    """Install the offline Spanish sentence splitter into unstructured (idempotent).

    unstructured calls `tokenize._get_nlp()` for sentence splitting and `_process_cached` caches its
    results; both are private, so tests/ingest/test_partition.py checks that they still exist and that
    a DOCX parses with no network (it fails if the library changes under us).
    """
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


def partition(path: Path, *, ocr_languages: str = "spa", max_bytes: int = 50 * 1024 * 1024,
              timeout_s: float = 0, memory_mb: int = 0) -> Parsed:
    """The blocks of one file. With timeout_s > 0 the parser runs in the worker process, killed past
    that time and capped at memory_mb of address space (0 = no cap)."""
    if timeout_s > 0:
        return _WORKER.partition(Path(path), ocr_languages, max_bytes, timeout_s, memory_mb)
    return _partition(Path(path), ocr_languages, max_bytes)


def _partition(path: Path, ocr_languages: str, max_bytes: int) -> Parsed:
    path = Path(path)
    check_size(path, max_bytes)
    kind = detect_type(path)
    if kind in {"DOCX", "PPTX", "XLSX"}:
        check_zip(path)
    if kind in {"DOCX", "PPTX", "MD"}:
        warm_up()
    try:
        parsed = _parser(kind)(path, ocr_languages)
    except IngestError:
        raise
    except Exception as exc:  # parser internals: corrupt zips, broken xref tables, encodings…
        raise IngestError(
            f"No se pudo leer el archivo {kind}: está dañado, protegido o no es válido.",
            f"{kind} parser failed on {path}: {type(exc).__name__}: {exc}",
        ) from exc
    parsed.blocks = [b for b in parsed.blocks if b.text.strip()]
    if not parsed.blocks:
        raise IngestError(
            "El documento no contiene texto legible." + (" El PDF no tiene capa de texto y el OCR no reconoció texto." if kind == "PDF" else ""),
            f"no text extracted from {path}",
        )
    return parsed


def _parser(kind: str):
    if kind == "PDF":
        from ingest.parsers import pdf

        return pdf.parse
    if kind == "XLSX":
        from ingest.parsers import xlsx

        return xlsx.parse
    if kind == "HTML":
        from ingest.parsers import html

        return html.parse
    if kind in ("DOCX", "PPTX"):
        from ingest.parsers import office

        return office.parse_docx if kind == "DOCX" else office.parse_pptx
    from ingest.parsers import text

    return text.parse_md if kind == "MD" else text.parse_txt
