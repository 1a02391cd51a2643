"""Template rendering shared by the routes: one Jinja environment, common context, Vary header."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import Request
from jinja2_fragments.fastapi import Jinja2Blocks
from starlette.responses import Response

from search.core import MUNICIPALITY_TYPES
from search.taxonomy import FACET_LABELS, FACET_VOCABULARIES

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
templates = Jinja2Blocks(directory=str(HERE / "templates"))


def _static_version() -> str:
    # Cache-busting suffix for /static URLs: changes whenever an asset changes.
    h = hashlib.sha256()
    for p in sorted(STATIC_DIR.glob("*")):
        if p.is_file():
            h.update(p.name.encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:10]


templates.env.globals.update(
    STATIC_VERSION=_static_version(),
    FACET_LABELS=FACET_LABELS,
    FACET_FIELDS=list(FACET_VOCABULARIES),
    MUNICIPALITY_TYPES=MUNICIPALITY_TYPES,
)


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


templates.env.filters["plural"] = lambda n, one, many: _plural(int(n or 0), one, many)


def render(request: Request, name: str, context: dict | None = None, *, status: int = 200,
           block_names: list[str] | None = None, headers: dict | None = None) -> Response:
    from web.deps import current_curator

    state = request.app.state.kb
    curator = current_curator(request)
    ctx = {
        "request": request,
        "curator": curator,
        "csrf_token": curator.csrf if curator else "",
        "curation_enabled": state.curation_enabled,
        "taxonomy": state.service.taxonomy,
    }
    ctx.update(context or {})
    kwargs = {"status_code": status, "headers": headers or {}}
    if block_names:
        kwargs["block_names"] = block_names
    response = templates.TemplateResponse(request, name, ctx, **kwargs)
    # Same URL, two representations (page / htmx fragment): caches must key on HX-Request.
    response.headers["Vary"] = "HX-Request"
    return response
