"""Stage 1: a file -> unstructured elements (text with category, page and section cues).

Works offline: unstructured's text classifier wants to download an English spaCy model on
first use and, failing that, silently returns no elements for PDFs. We put a blank Spanish
pipeline with a sentencizer in its place (it only needs sentence boundaries; its verb check
applies to English alone). PDF pages without a text layer are OCR'd in Spanish.
"""

from __future__ import annotations

import atexit
import io
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
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


def partition(path: Path, *, ocr_languages: str = "spa", max_bytes: int = 50 * 1024 * 1024,
              timeout_s: float = 0, memory_mb: int = 0) -> list:
    """Elements of one file, each with its page number where the format has pages.

    With timeout_s > 0 the parsers run in a separate worker process that is killed when a file takes
    longer than that, and whose address space is capped at memory_mb (0 = no cap): a parser that
    hangs, balloons or crashes the interpreter (C extensions, pathological files) costs that one
    file, never the batch or the web server.
    """
    if timeout_s > 0:
        return _WORKER.partition(Path(path), ocr_languages, max_bytes, timeout_s, memory_mb)
    return _partition(Path(path), ocr_languages, max_bytes)


def _partition(path: Path, ocr_languages: str, max_bytes: int) -> list:
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
        elements = sorted(elements + _ocr_pages(path, missing, ocr_languages),
                          key=lambda e: e.metadata.page_number or 0)
    return elements


OCR_DPI = 300
PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
HYPHEN_BREAK = re.compile(r"(\w)-\n(\w)")
LINE_BREAK = re.compile(r"\s*\n\s*")


def _ocr_pages(path: Path, pages: list[int], ocr_languages: str) -> list:
    """OCR the given 1-based pages (no text layer) and return their elements with true page numbers.

    Each page is rendered with pdfium and read by the tesseract CLI as plain text; unstructured's
    text partitioner then classifies its paragraphs (titles, narrative, lists). On this corpus this
    gives the same elements as unstructured's own `ocr_only` strategy in a quarter of the time:
    that strategy runs tesseract twice per page (hOCR with character boxes, then plain text).
    """
    import pypdfium2 as pdfium
    from unstructured.partition.text import partition_text

    tesseract = shutil.which("tesseract")
    if tesseract is None:
        raise IngestError("El PDF contiene páginas escaneadas y el OCR (tesseract) no está instalado en el servidor.",
                          "tesseract not found on PATH")
    env = dict(os.environ, OMP_THREAD_LIMIT="1")  # its OpenMP threads only contend on small machines
    langs = "+".join(lang for lang in ocr_languages.split("+") if lang) or "spa"
    elements = []
    pdf = pdfium.PdfDocument(str(path))
    try:
        for number in pages:
            image = pdf[number - 1].render(scale=OCR_DPI / 72, grayscale=True).to_pil()
            png = io.BytesIO()
            image.save(png, "PNG")
            try:
                done = subprocess.run([tesseract, "stdin", "stdout", "-l", langs, "--dpi", str(OCR_DPI)],
                                      input=png.getvalue(), capture_output=True, timeout=300, check=True, env=env)
            except subprocess.TimeoutExpired as exc:
                raise IngestError(f"El OCR de la página {number} no terminó a tiempo.",
                                  f"tesseract timed out on page {number} of {path}") from exc
            except subprocess.CalledProcessError as exc:
                raise IngestError(f"No se pudo aplicar OCR a la página {number} del PDF.",
                                  f"tesseract failed on page {number} of {path}: "
                                  f"{exc.stderr.decode(errors='replace')[-300:]}") from exc
            text = done.stdout.decode("utf-8", errors="replace")
            # Tesseract breaks lines as printed; a paragraph is one element, so rejoin its lines.
            paragraphs = [LINE_BREAK.sub(" ", HYPHEN_BREAK.sub(r"\1\2", para)).strip()
                          for para in PARAGRAPH_BREAK.split(text)]
            body = "\n\n".join(para for para in paragraphs if para)
            if not body:
                continue
            for e in partition_text(text=body, languages=LANGUAGES):
                e.metadata.page_number = number
                elements.append(e)
    finally:
        pdf.close()
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


# ------------------------------------------------------------------ isolation


def _serve(fd: int, memory_mb: int = 0) -> None:
    """Worker loop (in the child process): one request at a time until the parent goes away."""
    import resource
    from multiprocessing.connection import Connection

    if memory_mb > 0:  # inherited by tesseract and poppler, which the OCR path runs
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    logging.basicConfig(level=logging.WARNING)
    conn = Connection(fd)
    # Imports first, so that a request's time limit measures parsing alone.
    warm_up()
    import unstructured.partition.pdf  # noqa: F401

    conn.send(("ready", None))
    while True:
        try:
            path, ocr_languages, max_bytes = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        try:
            reply = ("ok", _partition(Path(path), ocr_languages, max_bytes))
        except IngestError as exc:
            reply = ("error", (exc.user_message, str(exc)))
        except MemoryError:
            reply = ("error", (f"El archivo «{Path(path).name}» necesita más memoria de la permitida para "
                               "analizarlo; puede estar dañado o ser demasiado complejo.",
                               f"parser hit the memory cap on {path}"))
        except Exception as exc:  # anything else is the parser's: report, keep serving
            reply = ("error", (f"No se pudo leer el archivo «{Path(path).name}».",
                               f"parser failed on {path}: {type(exc).__name__}: {exc}"))
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return


class _Worker:
    """One parser process, started on first use, replaced after a timeout or a crash, and stopped
    after IDLE_S without work (it holds a few hundred MB that a serving web app does not need)."""

    IDLE_S = 60.0
    START_S = 180.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc = None
        self._conn = None
        self._memory_mb = 0
        self._idle: threading.Timer | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._alive() else None

    def _start(self, memory_mb: int) -> None:
        from multiprocessing.connection import Connection

        # A fresh interpreter, not fork (the parent holds model threads and an open Qdrant shard) and
        # not multiprocessing's spawn (it re-imports the caller's __main__, which scripts don't guard).
        ours, theirs = socket.socketpair()
        code = (f"import sys; sys.path[:0] = {sys.path!r}; from ingest.partition import _serve; "
                f"_serve({theirs.fileno()}, {int(memory_mb)})")
        try:
            proc = subprocess.Popen([sys.executable, "-c", code], pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL)
        finally:
            theirs.close()
        self._proc, self._conn, self._memory_mb = proc, Connection(ours.detach()), memory_mb
        try:
            if not self._conn.poll(self.START_S) or self._conn.recv() != ("ready", None):
                raise OSError("no ready message")
        except (EOFError, OSError) as exc:
            code = self._proc.poll()
            self._kill()
            raise IngestError("No se pudo iniciar el analizador de documentos en el servidor.",
                              f"parser process failed to start (exit code {code}): {exc}") from exc

    def _alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(5)
            self._conn.close()
        self._proc = self._conn = None

    def _stop_if_idle(self) -> None:
        if self._lock.acquire(blocking=False):
            try:
                self._kill()
            finally:
                self._lock.release()

    def partition(self, path: Path, ocr_languages: str, max_bytes: int, timeout_s: float, memory_mb: int) -> list:
        with self._lock:
            if self._idle is not None:
                self._idle.cancel()
            try:
                return self._partition(path, ocr_languages, max_bytes, timeout_s, memory_mb)
            finally:
                self._idle = threading.Timer(self.IDLE_S, self._stop_if_idle)
                self._idle.daemon = True
                self._idle.start()

    def _partition(self, path: Path, ocr_languages: str, max_bytes: int, timeout_s: float, memory_mb: int) -> list:
        if not self._alive() or self._memory_mb != memory_mb:
            self._kill()
            self._start(memory_mb)
        try:
            self._conn.send((str(path), ocr_languages, max_bytes))
            ready = self._conn.poll(timeout_s)
            reply = self._conn.recv() if ready else None
        except (EOFError, OSError, BrokenPipeError) as exc:
            code = self._proc.poll() if self._proc else None
            self._kill()
            raise IngestError(f"El analizador de documentos se detuvo de forma anómala con «{path.name}»; "
                              "el archivo puede estar dañado.",
                              f"parser process died on {path} (exit code {code}): {exc}") from exc
        if reply is None:
            self._kill()
            raise IngestError(f"El análisis de «{path.name}» superó el tiempo máximo ({timeout_s:g} s); "
                              "el archivo puede estar dañado o ser demasiado complejo.",
                              f"parser timed out after {timeout_s}s on {path}")
        kind, value = reply
        if kind == "error":
            raise IngestError(*value)
        return value

    def close(self) -> None:
        with self._lock:
            if self._idle is not None:
                self._idle.cancel()
            self._kill()


_WORKER = _Worker()
atexit.register(_WORKER.close)


def shutdown_worker() -> None:
    """Stop the parser process (it is started again on the next isolated partition)."""
    _WORKER.close()


_PARTITIONERS = {"PDF": _pdf, "DOCX": _docx, "PPTX": _pptx, "XLSX": _xlsx, "HTML": _html, "MD": _md, "TXT": _txt}
