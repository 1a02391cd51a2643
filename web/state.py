"""What one app instance owns: the search service, the ingestor sharing its store, the jobs."""

from __future__ import annotations

import logging
import secrets
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field

from ingest.pipeline import Ingestor
from search.core import SearchService
from search.errors import StoreError
from search.settings import Settings
from web.auth import Signer
from web.jobs import JobRunner

log = logging.getLogger(__name__)


class IndexGate:
    """Readers share the index; a full rebuild takes it alone.

    A rebuild drops the store and opens a new one, so a search must not run across the swap.
    Searches that arrive during a rebuild fail fast with a 503 instead of queueing for minutes.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._rebuilding = False

    @contextmanager
    def reading(self):
        with self._cond:
            if self._rebuilding:
                raise StoreError("El índice se está reconstruyendo. Vuelva a intentarlo en unos minutos.",
                                 "search refused during reindex")
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def rebuilding(self):
        with self._cond:
            self._rebuilding = True
            self._cond.wait_for(lambda: self._readers == 0)
        try:
            yield
        finally:
            with self._cond:
                self._rebuilding = False
                self._cond.notify_all()

    @property
    def is_rebuilding(self) -> bool:
        return self._rebuilding


@dataclass
class AppState:
    settings: Settings
    service: SearchService
    ingestor: Ingestor
    signer: Signer
    jobs: JobRunner = field(default_factory=JobRunner)
    gate: IndexGate = field(default_factory=IndexGate)
    # Serialises every change to the corpus folder (manifest rows, files).
    corpus_lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def curation_enabled(self) -> bool:
        return bool(self.settings.curator_password_hash)

    def close(self) -> None:
        self.jobs.shutdown()
        self.ingestor.close()  # closes the shared store too


def build_state(settings: Settings, *, embedder=None, taxonomy=None) -> AppState:
    from search.core import build_service

    service = build_service(settings, embedder=embedder, taxonomy=taxonomy)
    # The embedded shard is single-process: the ingestor writes through the service's store.
    ingestor = Ingestor(settings, store=service.store, embedder=service.embedder, taxonomy=service.taxonomy)
    secret = settings.secret_key
    if not secret:
        secret = secrets.token_urlsafe(32)
        log.warning("KB_SECRET_KEY no está definido: se generó una clave aleatoria; las sesiones de curaduría "
                    "se cerrarán al reiniciar el servidor.")
    return AppState(settings=settings, service=service, ingestor=ingestor, signer=Signer(secret))
