"""Request dependencies (FastAPI `Annotated` aliases) so routes stay thin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request

from search.core import SearchService
from web.auth import CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, tokens_match
from web.errors import Forbidden, NotAuthenticated
from web.params import SearchParams
from web.state import AppState


def get_state(request: Request) -> AppState:
    return request.app.state.kb


def get_service(request: Request) -> SearchService:
    return request.app.state.kb.service


def wants_fragment(request: Request) -> bool:
    """htmx swap requests get the partial; boosted links and history restores need the page."""
    h = request.headers
    return (h.get("HX-Request") == "true" and h.get("HX-Boosted") != "true"
            and h.get("HX-History-Restore-Request") != "true")


def search_params(request: Request) -> SearchParams:
    return SearchParams.from_query(request.query_params)


@dataclass(frozen=True)
class Curator:
    user: str
    csrf: str


def current_curator(request: Request) -> Curator | None:
    state: AppState = request.app.state.kb
    if not state.curation_enabled:
        return None
    data = state.signer.unsign(request.cookies.get(SESSION_COOKIE))
    if not data or data.get("u") != state.settings.curator_user or not data.get("c"):
        return None
    return Curator(data["u"], data["c"])


def require_curator(request: Request) -> Curator:
    curator = current_curator(request)
    if curator is None:
        raise NotAuthenticated("Inicie sesión como curadora para continuar.")
    return curator


def check_origin(request: Request) -> None:
    """Browsers send Origin on POST; a foreign one is a cross-site request whatever the token says."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        parts = urlsplit(origin)
        if parts.netloc != request.headers.get("host", request.url.netloc):
            raise Forbidden("Solicitud rechazada: procede de otro sitio.", f"foreign origin {origin}")


async def require_csrf_curator(request: Request) -> Curator:
    """Write routes: a signed-in curator AND the session's CSRF token (header from htmx, or form field)."""
    curator = require_curator(request)
    check_origin(request)
    token = request.headers.get(CSRF_HEADER)
    if not token and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # Starlette caches it: the route's Form() fields read the same parse
        token = form.get(CSRF_FIELD)
    if not tokens_match(token if isinstance(token, str) else None, curator.csrf):
        raise Forbidden("El formulario caducó o no es válido (token CSRF). Recargue la página e inténtelo de nuevo.",
                        "csrf token missing or wrong")
    return curator


StateDep = Annotated[AppState, Depends(get_state)]
ServiceDep = Annotated[SearchService, Depends(get_service)]
FragmentDep = Annotated[bool, Depends(wants_fragment)]
ParamsDep = Annotated[SearchParams, Depends(search_params)]
MaybeCurator = Annotated[Curator | None, Depends(current_curator)]
CuratorDep = Annotated[Curator, Depends(require_curator)]
WriterDep = Annotated[Curator, Depends(require_csrf_curator)]
