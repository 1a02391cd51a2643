"""Curator review queue: documents held because they may contain personal data.

Each finding is shown in context (escaped by the templates) so the curator can decide:
approve (a false positive), redact (spans replaced by «[dato protegido]» and re-embedded) or
reject. Held documents are never searchable and their findings never reach public pages.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from ingest.review import APPROVED, DECISIONS, REDACTED, REJECTED
from search.errors import InvalidInput
from web.deps import CuratorDep, StateDep, WriterDep
from web.views import render

router = APIRouter(prefix="/curaduria/revision", include_in_schema=False)

MESSAGES = {
    APPROVED: "Aprobado como falso positivo: el documento ya se puede buscar.",
    REDACTED: "Datos protegidos: el documento se publicó con los datos sustituidos por «[dato protegido]».",
    REJECTED: "Rechazado: el documento se retiró del índice.",
}


@router.get("")
def queue(request: Request, state: StateDep, curator: CuratorDep):
    with state.gate.reading():
        held = state.ingestor.held_documents()
    return render(request, "curator/review.html", {"held": held, "notice": ""})


@router.post("/{doc_id}")
async def decide(request: Request, doc_id: str, state: StateDep, curator: WriterDep):
    form = await request.form()
    decision = str(form.get("decision") or "")
    if decision not in DECISIONS:
        raise InvalidInput("Elija aprobar, proteger los datos o rechazar.")

    def apply():
        with state.gate.reading(), state.corpus_lock:
            outcome = state.ingestor.review(doc_id, decision, reviewer=curator.user)
            state.ingestor.store.flush()
            return outcome

    outcome = await run_in_threadpool(apply)
    notice = MESSAGES[decision] if outcome.status != "fallido" else f"No se pudo aplicar: {outcome.reason}"
    with state.gate.reading():
        held = state.ingestor.held_documents()
    return render(request, "curator/review.html", {"held": held, "notice": notice})
