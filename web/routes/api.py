"""JSON API (documented at /openapi.json): search, document, facets."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query

from search.taxonomy import FACET_VOCABULARIES
from web.deps import ParamsDep, StateDep

router = APIRouter(prefix="/api", tags=["búsqueda"])

Multi = Annotated[list[str] | None, Query()]


@router.get("/buscar", summary="Buscar documentos y pasajes citados")
def api_search(state: StateDep, params: ParamsDep,
               q: Annotated[str, Query(description="Consulta en español")] = "",
               paises: Multi = None, tipo_documento: Multi = None, nivel_gobierno: Multi = None,
               areas_intervencion: Multi = None, poblaciones: Multi = None, formas_violencia: Multi = None,
               estandares: Multi = None, nivel_evidencia: Multi = None, idioma: Multi = None,
               anio_desde: int | None = None, anio_hasta: int | None = None,
               modo: Annotated[str, Query(description="hibrido, denso o lexico")] = "hibrido",
               pagina: int = 1, por_pagina: int = 10,
               ctx_pais: str = "", ctx_municipio: Annotated[str, Query(description="fronterizo, urbano o rural")] = "",
               ctx_poblacion: Multi = None) -> dict:
    # The declared parameters document the API; parsing is shared with the HTML page (ParamsDep)
    # so both read the query string the same way.
    with state.gate.reading():
        return state.service.search(params.to_request()).to_dict()


@router.get("/documentos/{doc_id}", summary="Un documento con todos sus pasajes en orden")
def api_document(doc_id: str, state: StateDep) -> dict:
    with state.gate.reading():
        doc, passages, payload = state.service.document(doc_id)
    out = asdict(doc)
    out["url_fuente"] = payload.get("url_fuente", "")
    out["archivo_url"] = f"/documentos/{doc_id}/archivo"
    out["pasajes"] = []
    for p in passages:
        out["pasajes"].append({"chunk_index": p.chunk_index, "text": p.text, "section": p.citation.section,
                               "pages": p.citation.pages, "citation": p.citation.text, "url": p.citation.url,
                               "file_url": p.citation.file_url})
    out.pop("passages", None)
    return out


@router.get("/facetas", summary="Valores de cada filtro con su número de documentos")
def api_facets(state: StateDep) -> dict:
    with state.gate.reading():
        facets = state.service.facet_counts()
    return {f: [asdict(v) for v in facets.get(f, [])] for f in FACET_VOCABULARIES}
