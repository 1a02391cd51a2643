"""`create_app(settings)`: the FastAPI app, its middlewares and its single error handler."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware

from search.errors import KBError
from search.settings import Settings
from web.deps import wants_fragment
from web.errors import NotAuthenticated, PayloadTooLarge
from web.views import STATIC_DIR, render

log = logging.getLogger(__name__)

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}
HTTP_MESSAGES = {
    400: "La solicitud no es válida.",
    401: "Inicie sesión para continuar.",
    403: "No tiene permiso para realizar esta acción.",
    404: "La página que busca no existe.",
    405: "Método no permitido en esta dirección.",
    413: "El archivo es demasiado grande.",
    422: "Los datos enviados no son válidos.",
}
ERROR_TITLES = {400: "Solicitud no válida", 401: "Acceso restringido", 403: "Acción no permitida",
                404: "Página no encontrada", 409: "Conflicto", 413: "Archivo demasiado grande",
                422: "Datos no válidos", 503: "Servicio no disponible"}


class SecurityHeaders:
    """Pure ASGI middleware: adds the headers unless a route set its own (e.g. a stricter CSP)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                present = {k.decode("latin-1").lower() for k, _ in message.get("headers", [])}
                extra = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items() if k not in present]
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)


class UploadLimit:
    """Rejects request bodies over the upload limit before they are read (Content-Length), and
    stops counting bodies sent without one (chunked) as soon as they pass it."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    def _error(self) -> PayloadTooLarge:
        mb = self.max_bytes // (1024 * 1024)
        return PayloadTooLarge(f"El archivo supera el tamaño máximo permitido ({mb} MB).")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            from starlette.requests import Request as _Request

            response = await handle_error(_Request(scope), self._error())
            return await response(scope, receive, send)
        seen = 0

        async def counting_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise self._error()
            return message

        await self.app(scope, counting_receive, send)


class CatchAll:
    """Turns an unexpected exception into the Spanish 500 page *inside* the middleware stack, so
    it still gets the security headers (Starlette's own last-resort handler sits outside them)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                raise
            from starlette.requests import Request as _Request

            response = await handle_error(_Request(scope), exc)
            await response(scope, receive, send)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


async def handle_error(request: Request, exc: Exception):
    """The one place errors become responses: HTML page, htmx fragment or JSON, always in Spanish."""
    if isinstance(exc, StarletteHTTPException) and isinstance(exc.__cause__, KBError):
        exc = exc.__cause__  # FastAPI wraps errors raised while reading the body (e.g. the upload limit)
    if isinstance(exc, KBError):
        status, message = exc.status, exc.user_message
        if status >= 500:
            log.error("%s: %s", type(exc).__name__, exc)
    elif isinstance(exc, RequestValidationError):
        status = 422
        fields = ", ".join(str(e.get("loc", ["?"])[-1]) for e in exc.errors())
        message = f"Datos no válidos en: {fields}." if fields else HTTP_MESSAGES[422]
    elif isinstance(exc, StarletteHTTPException):
        status = exc.status_code
        message = HTTP_MESSAGES.get(status, "No se pudo completar la solicitud.")
    else:
        # Unexpected: log everything, show nothing internal.
        log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        status, message = 500, "Error interno del servidor. Inténtelo de nuevo más tarde."
    if (isinstance(exc, NotAuthenticated) and request.method == "GET" and not _wants_json(request)
            and not wants_fragment(request)):
        # A curator page opened without a session: go sign in and come back.
        from urllib.parse import quote

        return RedirectResponse(f"/curaduria/entrar?siguiente={quote(request.url.path)}", status_code=303)
    if _wants_json(request):
        response = JSONResponse({"error": {"status": status, "mensaje": message}}, status_code=status)
        response.headers["Vary"] = "HX-Request"
        return response
    title = ERROR_TITLES.get(status, "Error interno" if status >= 500 else "Error")
    name = "_error.html" if wants_fragment(request) else "error.html"
    try:
        return render(request, name, {"status": status, "message": message, "title": title}, status=status)
    except Exception:  # the app state itself may be the problem
        log.exception("error page could not be rendered")
        from starlette.responses import PlainTextResponse

        return PlainTextResponse(message, status_code=status)


class QueryStringFilter(logging.Filter):
    """Access logs keep the path and drop the query string: a search URL carries what an official
    typed, which can describe a case. KB_LOG_QUERIES=true keeps it."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = args[:2] + (args[2].split("?", 1)[0] + "?…",) + args[3:]
        return True


_access_filter = QueryStringFilter()


def create_app(settings: Settings, *, embedder=None, taxonomy=None) -> FastAPI:
    """Build the app on `settings`. The index is opened here, once (the embedded shard is
    single-process); `embedder`/`taxonomy` may be passed to share already-loaded ones."""
    from web.routes import api, curator, public, review
    from web.state import build_state

    state = build_state(settings, embedder=embedder, taxonomy=taxonomy)
    access = logging.getLogger("uvicorn.access")
    if settings.log_queries:
        access.removeFilter(_access_filter)
    elif _access_filter not in access.filters:
        access.addFilter(_access_filter)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        state.close()

    # /docs and /redoc load their assets from a CDN, which the CSP and the no-external-request
    # rule forbid; the OpenAPI document itself stays at /openapi.json.
    app = FastAPI(title="Buenas prácticas contra la VBG — API", version="1.0",
                  description="Búsqueda en la base de conocimiento de buenas prácticas locales contra la "
                              "violencia basada en género (países MIRPS).",
                  docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.kb = state
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.include_router(public.router)
    app.include_router(api.router)
    app.include_router(curator.router)
    app.include_router(review.router)
    for exc_type in (KBError, StarletteHTTPException, RequestValidationError, Exception):
        app.add_exception_handler(exc_type, handle_error)
    # Outermost last: headers on every response (errors included), then compression.
    app.add_middleware(CatchAll)
    app.add_middleware(UploadLimit, max_bytes=settings.max_upload_mb * 1024 * 1024 + 64 * 1024)
    app.add_middleware(GZipMiddleware, minimum_size=500)
    app.add_middleware(SecurityHeaders)
    return app
