"""Public, read-only pages for officials: search, CSV export, documents and their files."""

from __future__ import annotations

import csv
import io
import mimetypes
import re
import unicodedata
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from search.errors import NotFound
from web.deps import FragmentDep, ParamsDep, StateDep
from web.views import render

router = APIRouter(include_in_schema=False)

CSV_MAX_DOCS = 500
# Cells a spreadsheet would run as a formula (OWASP CSV injection); \t and \r too.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MEDIA_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
}
# Uploaded HTML is untrusted: served from our origin it must not run scripts or reach anything.
SANDBOX_CSP = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; frame-ancestors 'none'"


@router.get("/")
@router.get("/buscar")
def search_page(request: Request, state: StateDep, params: ParamsDep, fragment: FragmentDep):
    with state.gate.reading():
        resp = state.service.search(params.to_request())
    ctx = {"resp": resp, "params": params, "fragment": fragment}
    if fragment and request.headers.get("HX-Target") == "lista-resultados":
        # "Cargar más": only the next page's cards (and the new "Cargar más" link, out of band).
        return render(request, "_results.html", ctx | {"more": True}, block_names=["tarjetas", "mas"])
    if fragment:
        # Push the canonical URL (defaults and empty fields left out) rather than the raw form.
        return render(request, "_results.html", ctx, headers={"HX-Push-Url": params.url()})
    return render(request, "search.html", ctx)


def safe_cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


@router.get("/buscar.csv")
def search_csv(request: Request, state: StateDep, params: ParamsDep):
    base = str(request.base_url).rstrip("/")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Documento", "Tipo", "Países", "Organización", "Año", "Nivel de evidencia", "Municipio",
                     "Pasaje citado", "Cita", "Enlace"])
    page, rows = 1, 0
    with state.gate.reading():
        while rows < CSV_MAX_DOCS:
            resp = state.service.search(replace(params, pagina=page, por_pagina=50).to_request())
            for r in resp.results:
                first = r.passages[0] if r.passages else None
                writer.writerow([safe_cell(v) for v in (
                    r.title, r.doc_type_label, ", ".join(r.country_labels), r.organization, r.year or "",
                    r.evidence_label, r.municipality, first.text if first else "",
                    first.citation.text if first else "",
                    base + (first.citation.url if first else f"/documentos/{r.doc_id}"))])
                rows += 1
            if page >= resp.pages:
                break
            page += 1
    body = "\ufeff" + out.getvalue()  # BOM: spreadsheets then read the file as UTF-8
    return Response(body.encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="resultados-busqueda.csv"'})


@router.get("/documentos/{doc_id}")
def document_page(request: Request, doc_id: str, state: StateDep):
    with state.gate.reading():
        doc, passages, payload = state.service.document(doc_id)
        similar = state.service.similar(doc_id, 5)
    labels = {f: [state.service.taxonomy.label(f, v) for v in payload.get(f, [])]
              for f in ("areas_intervencion", "poblaciones", "formas_violencia", "estandares")}
    return render(request, "document.html", {"doc": doc, "passages": passages, "payload": payload,
                                             "similar": similar, "labels": labels,
                                             "nivel_gobierno": state.service.taxonomy.label(
                                                 "nivel_gobierno", payload.get("nivel_gobierno", ""))})


def safe_filename(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_name).strip("-.") or "documento"
    return ascii_name[:120]


def corpus_file(state, payload: dict) -> Path:
    """The document's original file, only if it really lies inside the corpus folder."""
    root = state.settings.corpus_dir.resolve()
    rel = payload.get("archivo") or ""
    path = (root / rel).resolve()
    if not rel or not path.is_relative_to(root) or not path.is_file():
        raise NotFound("El archivo original de este documento no está disponible.")
    return path


@router.get("/documentos/{doc_id}/archivo")
def document_file(doc_id: str, state: StateDep):
    with state.gate.reading():
        doc = state.service.store.document(doc_id)
    if doc is None:
        raise NotFound(f"No existe el documento «{doc_id}».")
    if doc.payload.get("revision") == "redactado":
        # The original still holds the personal data that the published version protects.
        raise NotFound("El archivo original contiene datos personales protegidos; consulte el texto en esta página.")
    path = corpus_file(state, doc.payload)
    file_type = (doc.payload.get("file_type") or path.suffix.lstrip(".")).lower()
    media = MEDIA_TYPES.get(file_type) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    name = safe_filename(f"{doc_id}{path.suffix.lower()}")
    headers = {"Content-Disposition": f"inline; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"}
    if file_type in ("html", "md", "txt"):
        headers["Content-Security-Policy"] = SANDBOX_CSP
    return FileResponse(path, media_type=media, headers=headers)


@router.get("/favicon.ico")
def favicon():
    return RedirectResponse("/static/favicon.svg", status_code=301)
