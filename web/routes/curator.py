"""Curator pages: sign-in, document list, upload with ingest progress, edit, delete, reindex.

Every write route depends on `WriterDep` (session + CSRF) before it reads the body, so an
anonymous or forged request is refused without touching anything.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from search.errors import Conflict, IngestError, NotFound, StoreError
from web import curation
from web.auth import (CSRF_FIELD, LOGIN_CSRF_COOKIE, SESSION_COOKIE, SESSION_MAX_AGE, LoginThrottle, new_token,
                      throttle_for, tokens_match, verify_password, wait_message)
from web.deps import CuratorDep, FragmentDep, StateDep, WriterDep, check_origin, current_curator
from web.errors import CurationDisabled, Forbidden
from web.views import render

router = APIRouter(prefix="/curaduria", include_in_schema=False)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _safe_next(target: str | None) -> str:
    # Only local paths: never an open redirect to another site.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/curaduria"


# ---------------------------------------------------------------- sign-in


@router.get("/entrar")
def login_form(request: Request, state: StateDep, siguiente: str = ""):
    if current_curator(request):
        return _see_other(_safe_next(siguiente))
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or new_token()
    response = render(request, "login.html", {"login_csrf": token, "siguiente": _safe_next(siguiente), "error": ""})
    _set_cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


def _set_cookie(request: Request, response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")


@router.post("/entrar")
async def login(request: Request, state: StateDep):
    if not state.curation_enabled:
        raise CurationDisabled("El acceso de curaduría no está configurado en este servidor.")
    check_origin(request)
    form = await request.form()
    # Double-submit: the form must echo the cookie set with the sign-in page (login CSRF).
    if not tokens_match(form.get(CSRF_FIELD), request.cookies.get(LOGIN_CSRF_COOKIE)):
        raise Forbidden("El formulario caducó. Recargue la página de acceso e inténtelo de nuevo.")
    user = str(form.get("usuario") or "")
    password = str(form.get("contrasena") or "")
    siguiente = _safe_next(str(form.get("siguiente") or ""))
    # Password guessing: too many failures from this client or for this name lock sign-in for a while,
    # checked before the password so a locked guesser learns nothing (not even a right guess).
    throttle = throttle_for(request.app)
    keys = LoginThrottle.keys(request.client.host if request.client else "", user)
    wait = throttle.retry_after(*keys)
    if wait:
        return _login_error(request, siguiente, user, wait_message(wait), 429, {"Retry-After": str(wait)})
    user_ok = hmac.compare_digest(user.encode(), state.settings.curator_user.encode())
    password_ok = await run_in_threadpool(verify_password, password, state.settings.curator_password_hash)
    if not (user_ok and password_ok):
        throttle.failure(*keys)
        wait = throttle.retry_after(*keys)
        if wait:
            return _login_error(request, siguiente, user, "Usuario o contraseña incorrectos. " + wait_message(wait),
                                429, {"Retry-After": str(wait)})
        return _login_error(request, siguiente, user, "Usuario o contraseña incorrectos.", 401)
    throttle.success(*keys)
    response = _see_other(siguiente)
    _set_cookie(request, response, SESSION_COOKIE, state.signer.sign({"u": user, "c": new_token()}), SESSION_MAX_AGE)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


def _login_error(request: Request, siguiente: str, user: str, message: str, status: int, headers: dict | None = None):
    response = render(request, "login.html", {"login_csrf": request.cookies.get(LOGIN_CSRF_COOKIE),
                                              "siguiente": siguiente, "usuario": user, "error": message},
                      status=status, headers=headers)
    return response


@router.post("/salir")
async def logout(request: Request, curator: WriterDep):
    response = _see_other("/")
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


# ---------------------------------------------------------------- documents


@router.get("")
def dashboard(request: Request, state: StateDep, curator: CuratorDep):
    try:
        with state.gate.reading():
            rows, problems = curation.document_rows(state)
    except StoreError:  # during a rebuild the list is shown empty with a notice
        rows, problems = [], []
    return render(request, "curator/list.html", {"rows": rows, "problems": problems, "jobs": state.jobs.recent()[:10],
                                                 "rebuilding": state.gate.is_rebuilding})


def _form_context(state, values: dict, errors: dict, **extra) -> dict:
    taxonomy = state.service.taxonomy
    selected = {c: set(filter(None, values.get(c, "").split("|"))) for c in curation.FORM_FIELDS}
    return {"values": values, "errors": errors, "selected": selected, "taxonomy": taxonomy,
            "max_upload_mb": state.settings.max_upload_mb, **extra}


@router.get("/documentos/nuevo")
def upload_form(request: Request, state: StateDep, curator: CuratorDep):
    values = {c: "" for c in curation.FORM_FIELDS} | {"idioma": "es", "nivel_gobierno": "municipal"}
    return render(request, "curator/upload.html", _form_context(state, values, {}))


@router.post("/documentos")
async def upload(request: Request, state: StateDep, curator: WriterDep):
    form = await request.form()
    values = curation.form_values(form)
    upload_file = form.get("archivo")
    errors: dict[str, list[str]] = {}
    ext = ""
    if upload_file is None or isinstance(upload_file, str) or not upload_file.filename:
        errors["archivo"] = ["Elija el archivo del documento."]
    else:
        try:
            ext = curation.upload_extension(upload_file.filename)
        except IngestError as exc:
            errors["archivo"] = [exc.user_message]
    result = curation.validate_form(values, f"documentos/{values['id'] or 'documento'}.{ext or 'pdf'}", state.service.taxonomy)
    errors = {**result.errors, **errors}
    if result.meta and result.meta.id in await run_in_threadpool(curation.known_ids, state):
        errors.setdefault("id", []).append("Ya existe un documento con este identificador. Elija otro o edite el existente.")
    if result.meta and state.jobs.active_for(result.meta.id):
        errors.setdefault("id", []).append("Ya se está procesando un documento con este identificador.")
    staged = None
    if not errors:
        try:
            staged = await run_in_threadpool(curation.stage_upload, state, upload_file.file, ext)
        except IngestError as exc:  # wrong or mismatching type, empty file
            errors["archivo"] = [exc.user_message]
    if errors:
        return render(request, "curator/upload.html", _form_context(state, values, errors), status=422)
    meta = result.meta
    job = state.jobs.submit("subida", meta.titulo, lambda job: curation.ingest_staged(state, meta, staged), doc_id=meta.id)
    return _see_other(f"/curaduria/tareas/{job.id}")


@router.get("/tareas/{job_id}")
def job_status(request: Request, job_id: str, state: StateDep, curator: CuratorDep, fragment: FragmentDep):
    job = state.jobs.get(job_id)
    if job is None:
        raise NotFound("Esa tarea no existe (las tareas se olvidan al reiniciar el servidor).")
    chunks = []
    if job.done and job.state == "terminado" and job.doc_id:
        chunks = state.service.store.chunks(job.doc_id)
    ctx = {"job": job, "chunks": chunks}
    return render(request, "curator/_job.html" if fragment else "curator/job.html", ctx)


@router.get("/documentos/{doc_id}/editar")
def edit_form(request: Request, doc_id: str, state: StateDep, curator: CuratorDep):
    doc = state.service.store.document(doc_id)
    if doc is None:
        raise NotFound(f"No existe el documento «{doc_id}» en el índice.")
    values = curation.values_from_payload(doc.payload)
    return render(request, "curator/edit.html", _form_context(state, values, {}, doc_id=doc_id, saved=False))


@router.post("/documentos/{doc_id}/metadatos")
async def edit_save(request: Request, doc_id: str, state: StateDep, curator: WriterDep):
    doc = await run_in_threadpool(state.service.store.document, doc_id)
    if doc is None:
        raise NotFound(f"No existe el documento «{doc_id}» en el índice.")
    form = await request.form()
    values = curation.form_values(form, doc_id=doc_id)
    result = curation.validate_form(values, doc.payload.get("archivo", ""), state.service.taxonomy)
    if not result.ok:
        return render(request, "curator/edit.html", _form_context(state, values, result.errors, doc_id=doc_id,
                                                                   saved=False), status=422)
    await run_in_threadpool(curation.save_metadata, state, doc_id, result.meta)
    return render(request, "curator/edit.html", _form_context(state, values, {}, doc_id=doc_id, saved=True))


@router.get("/documentos/{doc_id}/eliminar")
def delete_confirm(request: Request, doc_id: str, state: StateDep, curator: CuratorDep):
    doc = state.service.store.document(doc_id)
    title = doc.payload.get("titulo", doc_id) if doc else doc_id
    return render(request, "curator/delete.html", {"doc_id": doc_id, "title": title})


@router.post("/documentos/{doc_id}/eliminar")
async def delete(request: Request, doc_id: str, state: StateDep, curator: WriterDep):
    title = await run_in_threadpool(curation.delete_document, state, doc_id)
    return render(request, "curator/deleted.html", {"title": title})


@router.post("/reindexar")
async def reindex(request: Request, state: StateDep, curator: WriterDep):
    if state.gate.is_rebuilding:
        raise Conflict("Ya hay una reconstrucción del índice en curso.")
    job = state.jobs.submit("reindexado", "Reconstrucción completa del índice", lambda job: curation.reindex_all(state))
    return _see_other(f"/curaduria/tareas/{job.id}")
