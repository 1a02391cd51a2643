"""Curator operations on the corpus folder (the source of truth) and the index.

An upload is staged next to its final place, ingested from there, and only committed (file
renamed into place, manifest row written) once ingestion succeeded: a failed upload leaves
the corpus and the index exactly as they were.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from ingest.manifest import COLUMNS, MULTI, DocumentMeta, load_manifest, remove_manifest_row, upsert_manifest_row, validate_row
from ingest.partition import EXTENSIONS, detect_type
from ingest.pipeline import FAILED, HELD, Ingestor
from search.errors import IngestError, KBError, NotFound
from web.errors import PayloadTooLarge
from web.jobs import JobResult
from web.state import AppState

log = logging.getLogger(__name__)

FORM_FIELDS = [c for c in COLUMNS if c != "archivo"]
STAGING_PREFIX = ".subida-"


@dataclass
class FormResult:
    meta: DocumentMeta | None
    values: dict[str, str]  # what the curator typed, to refill the form
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.meta is not None and not self.errors


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:80].strip("-")


def form_values(form, *, doc_id: str | None = None) -> dict[str, str]:
    """Form fields -> manifest cells (multi-valued checkboxes joined with `|`)."""
    values = {}
    for column in FORM_FIELDS:
        if column in MULTI:
            values[column] = "|".join(v.strip() for v in form.getlist(column) if isinstance(v, str) and v.strip())
        else:
            v = form.get(column)
            values[column] = v.strip() if isinstance(v, str) else ""
    if doc_id is not None:
        values["id"] = doc_id
    elif not values["id"] and values["titulo"]:
        values["id"] = slugify(values["titulo"])
    return values


def values_from_payload(payload: dict) -> dict[str, str]:
    return {c: "|".join(payload.get(c) or []) if c in MULTI else str(payload.get(c, "") or "") for c in FORM_FIELDS}


def validate_form(values: dict[str, str], archivo: str, taxonomy) -> FormResult:
    meta, problems = validate_row(values | {"archivo": archivo}, 0, taxonomy)
    errors: dict[str, list[str]] = {}
    for p in problems:
        column = p.column if p.column in FORM_FIELDS else "archivo"
        shown = f"«{p.value}» " if p.value and column in MULTI | {"tipo_documento", "nivel_gobierno", "idioma",
                                                                  "nivel_evidencia"} else ""
        text = f"{shown}{p.message}".strip()
        errors.setdefault(column, []).append(text[:1].upper() + text[1:])
    return FormResult(meta, values, errors)


def upload_extension(filename: str) -> str:
    ext = Path(filename or "").suffix.lower().lstrip(".")
    if ext not in EXTENSIONS:
        raise IngestError("Formato no admitido. Se aceptan PDF, DOCX, PPTX, XLSX, HTML, Markdown y TXT.",
                          f"upload with extension {ext!r}")
    return "htm" if ext == "htm" else ext


def known_ids(state: AppState) -> set[str]:
    with state.gate.reading():
        ids = {d["doc_id"] for d in state.service.store.documents()}
    manifest = state.settings.corpus_dir / "manifest.csv"
    if manifest.is_file():
        ids |= load_manifest(manifest, state.service.taxonomy).listed_ids
    return ids


def stage_upload(state: AppState, source, ext: str) -> Path:
    """Copy the uploaded file next to the corpus documents under a hidden temporary name,
    enforcing the size limit while copying, then check its type from its content."""
    docs = state.settings.corpus_dir / "documentos"
    docs.mkdir(parents=True, exist_ok=True)
    staged = docs / f"{STAGING_PREFIX}{secrets.token_hex(8)}.{ext}"
    limit = state.settings.max_upload_mb * 1024 * 1024
    size = 0
    try:
        with open(staged, "wb") as out:
            while block := source.read(1 << 20):
                size += len(block)
                if size > limit:
                    raise PayloadTooLarge(f"El archivo supera el tamaño máximo permitido "
                                          f"({state.settings.max_upload_mb} MB).")
                out.write(block)
        if size == 0:
            raise IngestError("El archivo está vacío.", "empty upload")
        detect_type(staged)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return staged


def ingest_staged(state: AppState, meta: DocumentMeta, staged: Path) -> JobResult:
    """Job body: ingest from the staging file; commit to the corpus only if it worked."""
    ingestor: Ingestor = state.ingestor
    outcome = ingestor.ingest_document(meta, staged, existing=None)
    if outcome.status == FAILED:
        staged.unlink(missing_ok=True)
        return JobResult(False, f"No se pudo incorporar el documento: {outcome.reason} El índice no se modificó.")
    try:
        with state.corpus_lock:
            final = state.settings.corpus_dir / meta.archivo
            os.replace(staged, final)
            upsert_manifest_row(state.settings.corpus_dir / "manifest.csv", meta)
        ingestor.store.flush()
    except Exception:
        log.exception("could not commit upload %s; rolling back", meta.id)
        ingestor.store.delete_document(meta.id)
        staged.unlink(missing_ok=True)
        return JobResult(False, "No se pudo guardar el documento en la carpeta del corpus. El índice no se modificó.")
    if outcome.status == HELD:
        return JobResult(True, f"Documento retenido: {outcome.reason} Revíselo en «Revisión de datos personales».",
                         outcome.chunks)
    return JobResult(True, f"Documento incorporado: {outcome.chunks} fragmentos indexados.", outcome.chunks)


def save_metadata(state: AppState, doc_id: str, meta: DocumentMeta) -> None:
    """New metadata: manifest row and every point's payload; vectors are untouched."""
    with state.gate.reading(), state.corpus_lock:
        upsert_manifest_row(state.settings.corpus_dir / "manifest.csv", meta)
        state.service.store.update_document_payload(doc_id, meta.payload() | {"meta_hash": meta.meta_hash()})
        state.service.store.flush()


def delete_document(state: AppState, doc_id: str) -> str:
    with state.gate.reading(), state.corpus_lock:
        store = state.service.store
        doc = store.document(doc_id)
        removed_row = remove_manifest_row(state.settings.corpus_dir / "manifest.csv", doc_id)
        if doc is None and not removed_row:
            raise NotFound(f"No existe el documento «{doc_id}».")
        title = doc.payload.get("titulo", doc_id) if doc else doc_id
        if doc is not None:
            root = state.settings.corpus_dir.resolve()
            path = (root / doc.payload.get("archivo", "")).resolve()
            if doc.payload.get("archivo") and path.is_relative_to(root) and path.is_file():
                path.unlink()
            store.delete_document(doc_id)
            store.flush()
    return title


def reindex_all(state: AppState) -> JobResult:
    """Job body: rebuild the index from the corpus folder; searches wait it out with a 503."""
    with state.gate.rebuilding():
        try:
            report = state.ingestor.reindex(state.settings.corpus_dir)
        except KBError as exc:
            return JobResult(False, f"No se pudo reconstruir el índice: {exc.user_message}")
        finally:
            # reindex() opened a new store; the service must read the new one, even after a failure.
            state.service.store = state.ingestor.store
    details = [f"{o.doc_id}: {o.status}" + (f" — {o.reason}" if o.reason else "") for o in report.outcomes]
    ok_count = len(report.outcomes) - len(report.failed)
    message = f"Índice reconstruido: {ok_count} documentos indexados"
    if report.failed:
        message += f", {len(report.failed)} con errores"
    return JobResult(not report.failed, message + f" ({report.seconds:.0f} s).", report.passages_embedded, details)


def document_rows(state: AppState) -> tuple[list[dict], list[str]]:
    """Every document the curator should see: indexed ones and manifest rows not (yet) indexed."""
    indexed = {d["doc_id"]: d for d in state.service.store.documents(statuses=("published", "held"))}
    taxonomy = state.service.taxonomy
    rows, problems = [], []
    manifest_path = state.settings.corpus_dir / "manifest.csv"
    listed: set[str] = set()
    if manifest_path.is_file():
        manifest = load_manifest(manifest_path, taxonomy)
        listed = manifest.listed_ids
        problems = [str(p) for p in manifest.problems]
        for meta in manifest.documents:
            if meta.id not in indexed:
                rows.append({"doc_id": meta.id, "titulo": meta.titulo, "tipo": taxonomy.label("tipo_documento", meta.tipo_documento),
                             "anio": meta.anio, "estado": "No indexado", "chunks": 0, "ingested_at": "", "indexed": False})
    for doc_id, d in indexed.items():
        rows.append({"doc_id": doc_id, "titulo": d.get("titulo", doc_id),
                     "tipo": taxonomy.label("tipo_documento", d.get("tipo_documento", "")), "anio": d.get("anio"),
                     "estado": ("Retenido: revisión de datos personales" if d.get("status") == "held"
                                else "Indexado" if doc_id in listed or not listed else "Indexado (fuera del manifiesto)"),
                     "chunks": d.get("chunk_count", 0), "ingested_at": (d.get("ingested_at") or "")[:16].replace("T", " "),
                     "indexed": True})
    for r in rows:
        job = state.jobs.active_for(r["doc_id"])
        if job:
            r["estado"] = "En proceso"
    rows.sort(key=lambda r: r["titulo"].lower())
    return rows, problems
