"""The parser process: files are parsed in a separate interpreter with a time limit and a memory cap.

A parser that hangs, balloons or crashes the interpreter (C extensions, pathological files) costs
that one file, never the batch or the web server.
"""

from __future__ import annotations

import atexit
import logging
import socket
import subprocess
import sys
import threading
from pathlib import Path

from search.errors import IngestError



def _serve(fd: int, memory_mb: int = 0) -> None:
    """Worker loop (in the child process): one request at a time until the parent goes away."""
    import resource
    from multiprocessing.connection import Connection

    if memory_mb > 0:  # inherited by tesseract and poppler, which the OCR path runs
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    logging.basicConfig(level=logging.WARNING)
    conn = Connection(fd)
    # Imports first, so that a request's time limit measures parsing alone.
    from ingest.partition import _partition, warm_up

    warm_up()
    import unstructured.partition.html  # noqa: F401

    conn.send(("ready", None))
    while True:
        try:
            path, ocr_languages, max_bytes = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        try:
            reply = ("ok", _partition(Path(path), ocr_languages, max_bytes))
        except IngestError as exc:
            reply = ("error", (exc.user_message, str(exc)))
        except MemoryError:
            reply = ("error", (f"El archivo «{Path(path).name}» necesita más memoria de la permitida para "
                               "analizarlo; puede estar dañado o ser demasiado complejo.",
                               f"parser hit the memory cap on {path}"))
        except Exception as exc:  # anything else is the parser's: report, keep serving
            reply = ("error", (f"No se pudo leer el archivo «{Path(path).name}».",
                               f"parser failed on {path}: {type(exc).__name__}: {exc}"))
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return


class _Worker:
    """One parser process, started on first use, replaced after a timeout or a crash, and stopped
    after IDLE_S without work (it holds a few hundred MB that a serving web app does not need)."""

    IDLE_S = 60.0
    START_S = 180.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc = None
        self._conn = None
        self._memory_mb = 0
        self._idle: threading.Timer | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._alive() else None

    def _start(self, memory_mb: int) -> None:
        from multiprocessing.connection import Connection

        # A fresh interpreter, not fork (the parent holds model threads and an open Qdrant shard) and
        # not multiprocessing's spawn (it re-imports the caller's __main__, which scripts don't guard).
        ours, theirs = socket.socketpair()
        code = (f"import sys; sys.path[:0] = {sys.path!r}; from ingest.worker import _serve; "
                f"_serve({theirs.fileno()}, {int(memory_mb)})")
        try:
            proc = subprocess.Popen([sys.executable, "-c", code], pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL)
        finally:
            theirs.close()
        self._proc, self._conn, self._memory_mb = proc, Connection(ours.detach()), memory_mb
        try:
            if not self._conn.poll(self.START_S) or self._conn.recv() != ("ready", None):
                raise OSError("no ready message")
        except (EOFError, OSError) as exc:
            code = self._proc.poll()
            self._kill()
            raise IngestError("No se pudo iniciar el analizador de documentos en el servidor.",
                              f"parser process failed to start (exit code {code}): {exc}") from exc

    def _alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(5)
            self._conn.close()
        self._proc = self._conn = None

    def _stop_if_idle(self) -> None:
        if self._lock.acquire(blocking=False):
            try:
                self._kill()
            finally:
                self._lock.release()

    def partition(self, path: Path, ocr_languages: str, max_bytes: int, timeout_s: float, memory_mb: int) -> list:
        with self._lock:
            if self._idle is not None:
                self._idle.cancel()
            try:
                return self._partition(path, ocr_languages, max_bytes, timeout_s, memory_mb)
            finally:
                self._idle = threading.Timer(self.IDLE_S, self._stop_if_idle)
                self._idle.daemon = True
                self._idle.start()

    def _partition(self, path: Path, ocr_languages: str, max_bytes: int, timeout_s: float, memory_mb: int) -> list:
        if not self._alive() or self._memory_mb != memory_mb:
            self._kill()
            self._start(memory_mb)
        try:
            self._conn.send((str(path), ocr_languages, max_bytes))
            ready = self._conn.poll(timeout_s)
            reply = self._conn.recv() if ready else None
        except (EOFError, OSError, BrokenPipeError) as exc:
            code = self._proc.poll() if self._proc else None
            self._kill()
            raise IngestError(f"El analizador de documentos se detuvo de forma anómala con «{path.name}»; "
                              "el archivo puede estar dañado.",
                              f"parser process died on {path} (exit code {code}): {exc}") from exc
        if reply is None:
            self._kill()
            raise IngestError(f"El análisis de «{path.name}» superó el tiempo máximo ({timeout_s:g} s); "
                              "el archivo puede estar dañado o ser demasiado complejo.",
                              f"parser timed out after {timeout_s}s on {path}")
        kind, value = reply
        if kind == "error":
            raise IngestError(*value)
        return value

    def close(self) -> None:
        with self._lock:
            if self._idle is not None:
                self._idle.cancel()
            self._kill()


_WORKER = _Worker()
atexit.register(_WORKER.close)


def shutdown_worker() -> None:
    """Stop the parser process (it is started again on the next isolated partition)."""
    _WORKER.close()
