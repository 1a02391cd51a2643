"""Background ingest jobs: one worker thread, job state kept in memory.

One worker because the embedded index accepts one writer and embedding saturates the CPU
anyway; curators see queued jobs as "En cola". State is lost on restart, which is fine: the
corpus folder (files + manifest) is the source of truth and `kb ingest` catches up.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "en cola", "procesando", "terminado", "fallido"
KEEP_JOBS = 200


@dataclass
class Job:
    id: str
    kind: str  # "subida" | "reindexado"
    title: str
    doc_id: str = ""
    state: str = QUEUED
    message: str = ""
    chunks: int = 0
    created: str = field(default_factory=lambda: dt.datetime.now().isoformat(timespec="seconds"))
    finished: str = ""
    details: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.state in (DONE, FAILED)


@dataclass
class JobResult:
    ok: bool
    message: str
    chunks: int = 0
    details: list[str] = field(default_factory=list)


class JobRunner:
    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kb-ingesta")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def submit(self, kind: str, title: str, work: Callable[[Job], JobResult], doc_id: str = "") -> Job:
        job = Job(id=secrets.token_hex(8), kind=kind, title=title, doc_id=doc_id)
        with self._lock:
            self._jobs[job.id] = job
            for old in list(self._jobs)[:-KEEP_JOBS]:
                self._jobs.pop(old, None)
        self._executor.submit(self._run, job, work)
        return job

    def _run(self, job: Job, work: Callable[[Job], JobResult]) -> None:
        job.state = RUNNING
        try:
            result = work(job)
        except Exception:  # a crashed job must still end, with a message people can read
            log.exception("job %s (%s) crashed", job.id, job.kind)
            result = JobResult(False, "Error inesperado durante el procesamiento. El índice no se modificó.")
        job.message, job.chunks, job.details = result.message, result.chunks, result.details
        job.finished = dt.datetime.now().isoformat(timespec="seconds")
        job.state = DONE if result.ok else FAILED

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def recent(self) -> list[Job]:
        with self._lock:
            return list(reversed(self._jobs.values()))

    def active_for(self, doc_id: str) -> Job | None:
        with self._lock:
            return next((j for j in reversed(self._jobs.values()) if j.doc_id == doc_id and not j.done), None)

    def busy(self) -> bool:
        with self._lock:
            return any(not j.done for j in self._jobs.values())

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
