"""Search state <-> URL query string (Spanish parameter names), so every search is a link."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from search.core import Context, SearchRequest
from search.errors import InvalidInput
from search.taxonomy import FACET_VOCABULARIES

DEFAULT_PER_PAGE = 10
MODES = ("hibrido", "denso", "lexico")


def _int(params: QueryParams, name: str, label: str) -> int | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(f"«{raw}» no es un número válido para {label}.") from None


@dataclass(frozen=True)
class SearchParams:
    q: str = ""
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    anio_desde: int | None = None
    anio_hasta: int | None = None
    modo: str = "hibrido"
    pagina: int = 1
    por_pagina: int = DEFAULT_PER_PAGE
    ctx_pais: str = ""
    ctx_municipio: str = ""
    ctx_poblacion: tuple[str, ...] = ()

    @classmethod
    def from_query(cls, params: QueryParams) -> "SearchParams":
        filters = {}
        for name in FACET_VOCABULARIES:
            values = tuple(dict.fromkeys(v.strip() for v in params.getlist(name) if v.strip()))
            if values:
                filters[name] = values
        pagina = _int(params, "pagina", "la página") or 1
        por_pagina = _int(params, "por_pagina", "los resultados por página") or DEFAULT_PER_PAGE
        return cls(
            q=(params.get("q") or "").strip(),
            filters=filters,
            anio_desde=_int(params, "anio_desde", "el año inicial"),
            anio_hasta=_int(params, "anio_hasta", "el año final"),
            modo=(params.get("modo") or "hibrido").strip() or "hibrido",
            pagina=max(1, min(pagina, 1000)),
            por_pagina=max(1, min(por_pagina, 50)),
            ctx_pais=(params.get("ctx_pais") or "").strip(),
            ctx_municipio=(params.get("ctx_municipio") or "").strip(),
            ctx_poblacion=tuple(v.strip() for v in params.getlist("ctx_poblacion") if v.strip()),
        )

    def to_request(self) -> SearchRequest:
        return SearchRequest(query=self.q, filters=dict(self.filters), year_min=self.anio_desde,
                             year_max=self.anio_hasta, mode=self.modo, page=self.pagina, per_page=self.por_pagina,
                             context=Context(self.ctx_pais, self.ctx_municipio, self.ctx_poblacion))

    def pairs(self) -> list[tuple[str, str]]:
        """Only what differs from the defaults, in a stable order: short, shareable URLs."""
        out: list[tuple[str, str]] = []
        if self.q:
            out.append(("q", self.q))
        for name in FACET_VOCABULARIES:
            out.extend((name, v) for v in self.filters.get(name, ()))
        if self.anio_desde is not None:
            out.append(("anio_desde", str(self.anio_desde)))
        if self.anio_hasta is not None:
            out.append(("anio_hasta", str(self.anio_hasta)))
        if self.modo != "hibrido":
            out.append(("modo", self.modo))
        if self.ctx_pais:
            out.append(("ctx_pais", self.ctx_pais))
        if self.ctx_municipio:
            out.append(("ctx_municipio", self.ctx_municipio))
        out.extend(("ctx_poblacion", v) for v in self.ctx_poblacion)
        if self.por_pagina != DEFAULT_PER_PAGE:
            out.append(("por_pagina", str(self.por_pagina)))
        if self.pagina != 1:
            out.append(("pagina", str(self.pagina)))
        return out

    def query_string(self, **changes) -> str:
        return urlencode(replace(self, **changes).pairs())

    def url(self, path: str = "/buscar", **changes) -> str:
        qs = self.query_string(**changes)
        return f"{path}?{qs}" if qs else path

    def selected(self, name: str, value: str) -> bool:
        return value in self.filters.get(name, ())

    @property
    def context_active(self) -> bool:
        return bool(self.ctx_pais or self.ctx_municipio or self.ctx_poblacion)
