"""The corpus manifest (corpus/manifest.csv): one row per document, validated against the taxonomy.

Validation reports every problem at once (row, column, value, allowed values); an invalid row
fails alone and the valid rows go on to ingestion.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from search.errors import KBError
from search.taxonomy import Taxonomy

COLUMNS = [
    "id", "archivo", "titulo", "tipo_documento", "paises", "municipio", "nivel_gobierno",
    "organizacion", "anio", "areas_intervencion", "poblaciones", "formas_violencia",
    "estandares", "url_fuente", "idioma", "nivel_evidencia",
]
REQUIRED = {
    "id", "archivo", "titulo", "tipo_documento", "paises", "nivel_gobierno", "organizacion",
    "anio", "areas_intervencion", "idioma", "nivel_evidencia",
}
MULTI = {"paises", "areas_intervencion", "poblaciones", "formas_violencia", "estandares"}
SINGLE_VOCAB = {"tipo_documento", "nivel_gobierno", "idioma", "nivel_evidencia"}
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,79}$")
URL_RE = re.compile(r"^https?://[^\s<>\"']+$")
MAX_TEXT = 300


@dataclass(frozen=True)
class DocumentMeta:
    id: str
    archivo: str
    titulo: str
    tipo_documento: str
    paises: tuple[str, ...]
    municipio: str
    nivel_gobierno: str
    organizacion: str
    anio: int
    areas_intervencion: tuple[str, ...]
    poblaciones: tuple[str, ...]
    formas_violencia: tuple[str, ...]
    estandares: tuple[str, ...]
    url_fuente: str
    idioma: str
    nivel_evidencia: str

    def payload(self) -> dict:
        """Metadata as stored on every chunk (lists, not tuples, for JSON)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def meta_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.payload(), sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Problem:
    row: int  # line in the CSV file (header is line 1)
    column: str
    value: str
    message: str
    doc_id: str = ""

    def __str__(self) -> str:
        where = f"fila {self.row}, columna «{self.column}»" if self.column else f"fila {self.row}"
        shown = f" (valor: «{self.value}»)" if self.value else ""
        return f"{where}{shown}: {self.message}"


@dataclass
class Manifest:
    documents: list[DocumentMeta] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # Ids present in the file, valid or not: a row that fails validation must not cause its
    # indexed version to be deleted.
    listed_ids: set[str] = field(default_factory=set)

    def problems_by_doc(self) -> dict[str, list[Problem]]:
        grouped: dict[str, list[Problem]] = {}
        for p in self.problems:
            grouped.setdefault(p.doc_id or f"fila-{p.row}", []).append(p)
        return grouped


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split("|") if part.strip()]


def _allowed(vocab) -> str:
    return ", ".join(vocab.ids)


def validate_row(raw: dict[str, str], line: int, taxonomy: Taxonomy) -> tuple[DocumentMeta | None, list[Problem]]:
    """Check one manifest row; returns the document or the list of every problem found."""
    problems: list[Problem] = []
    doc_id = (raw.get("id") or "").strip()

    def bad(column: str, value: str, message: str) -> None:
        problems.append(Problem(line, column, value, message, doc_id))

    values: dict[str, object] = {}
    for column in COLUMNS:
        cell = (raw.get(column) or "").strip()
        if "\x00" in cell:
            bad(column, cell.replace("\x00", "\\0"), "contiene un carácter nulo.")
            continue
        if column in REQUIRED and not cell:
            bad(column, "", "es obligatoria y está vacía.")
            continue
        if column == "id":
            if not ID_RE.match(cell):
                bad(column, cell, "debe tener solo minúsculas sin acentos, dígitos y guiones (2 a 80 caracteres).")
            values[column] = cell
        elif column == "archivo":
            path = Path(cell)
            if path.is_absolute() or ".." in path.parts:
                bad(column, cell, "debe ser una ruta relativa dentro de la carpeta del corpus.")
            elif any(len(part.encode("utf-8")) > 255 for part in path.parts) or len(cell.encode("utf-8")) > 1024:
                bad(column, cell[:40] + "…", "el nombre del archivo es demasiado largo (máximo 255 bytes por nombre).")
            values[column] = cell
        elif column == "anio":
            try:
                year = int(cell)
            except ValueError:
                bad(column, cell, "debe ser un año de cuatro cifras.")
                continue
            if not 1950 <= year <= dt.date.today().year + 1:
                bad(column, cell, f"debe estar entre 1950 y {dt.date.today().year + 1}.")
            values[column] = year
        elif column == "url_fuente":
            if cell and not URL_RE.match(cell):
                bad(column, cell, "debe ser una dirección http:// o https:// válida, o quedar vacía.")
            values[column] = cell
        elif column in MULTI or column in SINGLE_VOCAB:
            vocab = taxonomy.for_field(column)
            parts = _split(cell) if column in MULTI else ([cell] if cell else [])
            resolved: list[str] = []
            for part in parts:
                term = vocab.resolve(part)
                if term is None:
                    bad(column, part, f"no es un valor permitido. Valores permitidos: {_allowed(vocab)}.")
                elif term not in resolved:
                    resolved.append(term)
            values[column] = tuple(resolved) if column in MULTI else (resolved[0] if resolved else "")
        else:
            if len(cell) > MAX_TEXT:
                bad(column, cell[:40] + "…", f"supera los {MAX_TEXT} caracteres.")
            values[column] = cell
    if problems:
        return None, problems
    return DocumentMeta(**values), []


def load_manifest(path: Path, taxonomy: Taxonomy) -> Manifest:
    """Read and validate the whole manifest; structural problems (missing columns) raise."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise KBError(f"El manifiesto {path} no está en UTF-8. Guárdelo como «CSV UTF-8».") from exc
    except OSError as exc:
        raise KBError(f"No se encontró el manifiesto {path}.") from exc
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise KBError(f"Al manifiesto {path} le faltan columnas: {', '.join(missing)}.")
    manifest = Manifest()
    seen: dict[str, int] = {}
    for index, raw in enumerate(reader, start=2):
        raw = {(k or "").strip(): v for k, v in raw.items() if k is not None}
        if not any((v or "").strip() for v in raw.values() if isinstance(v, str)):
            continue  # blank line left by a spreadsheet
        doc_id = (raw.get("id") or "").strip()
        if doc_id:
            manifest.listed_ids.add(doc_id)
        doc, problems = validate_row(raw, index, taxonomy)
        if doc and doc.id in seen:
            problems = [Problem(index, "id", doc.id, f"está repetido (ya aparece en la fila {seen[doc.id]}).", doc.id)]
            doc = None
        if doc:
            seen[doc.id] = index
            manifest.documents.append(doc)
        manifest.problems.extend(problems)
    return manifest


def row_from_meta(meta: DocumentMeta) -> dict[str, str]:
    """A manifest row (CSV cells) for a document: multi-valued cells joined with `|`."""
    row = {}
    for column, value in meta.payload().items():
        row[column] = "|".join(value) if isinstance(value, list) else str(value)
    return row


def _write_rows_atomically(path: Path, rows: list[dict[str, str]]) -> None:
    import os
    import tempfile

    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".manifest-", suffix=".csv")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # readers see the old file or the new one, never a half
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_rows(path: Path) -> list[dict[str, str]]:
    if not Path(path).is_file():
        return []
    with open(path, encoding="utf-8-sig", newline="") as f:
        return [{k.strip(): (v or "") for k, v in r.items() if k} for r in csv.DictReader(f)]


def upsert_manifest_row(path: Path, meta: DocumentMeta) -> None:
    """Add or replace the row of `meta.id`, keeping the other rows and their order."""
    rows = _read_rows(path)
    new = row_from_meta(meta)
    for i, r in enumerate(rows):
        if r.get("id", "").strip() == meta.id:
            rows[i] = new
            break
    else:
        rows.append(new)
    _write_rows_atomically(path, rows)


def remove_manifest_row(path: Path, doc_id: str) -> bool:
    rows = _read_rows(path)
    kept = [r for r in rows if r.get("id", "").strip() != doc_id]
    if len(kept) == len(rows):
        return False
    _write_rows_atomically(path, kept)
    return True
