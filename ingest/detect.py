"""What a file is, and whether it is safe to hand to a parser (size, zip bombs)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from search.errors import IngestError

SUPPORTED = {"PDF", "DOCX", "PPTX", "XLSX", "HTML", "MD", "TXT"}
EXTENSIONS = {"pdf": "PDF", "docx": "DOCX", "pptx": "PPTX", "xlsx": "XLSX", "html": "HTML", "htm": "HTML",
              "md": "MD", "markdown": "MD", "txt": "TXT"}
MAX_UNZIPPED_BYTES = 300 * 1024 * 1024
MAX_ZIP_RATIO = 200


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


def check_size(path: Path, max_bytes: int) -> None:
    if not path.is_file():
        raise IngestError(f"No se encontró el archivo «{path.name}».", f"missing file {path}")
    size = path.stat().st_size
    if size == 0:
        raise IngestError("El archivo está vacío (0 bytes).", f"empty file {path}")
    if size > max_bytes:
        raise IngestError(f"El archivo pesa {size / 1e6:.0f} MB; el máximo es {max_bytes / 1e6:.0f} MB.",
                          f"file too large {path}: {size} bytes")


def check_zip(path: Path) -> None:
    """Office files are zips: refuse ones that would expand to an absurd size (zip bombs)."""
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
