"""Curator decisions on documents held for personal data (corpus/revision.json).

A decision applies to one version of a file (its sha256): a new version of the file is held
and reviewed again. Decisions live with the corpus, so `kb reindex`, a restore or another
machine applies them without asking the curator twice.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import threading
from pathlib import Path

from search.errors import InvalidInput

APPROVED, REDACTED, REJECTED = "aprobado", "redactado", "rechazado"
DECISIONS = {APPROVED, REDACTED, REJECTED}
PENDING = "pendiente"


class ReviewLedger:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()

    def _read(self) -> dict:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, json.JSONDecodeError) as exc:
            raise InvalidInput(f"El registro de revisiones {self.path} está dañado: corríjalo o bórrelo.") from exc

    def decision(self, doc_id: str, sha256: str) -> str | None:
        entry = self._read().get(doc_id)
        if entry and entry.get("sha256") == sha256:
            return entry.get("decision")
        return None

    def record(self, doc_id: str, sha256: str, decision: str, findings: int, reviewer: str = "") -> None:
        if decision not in DECISIONS:
            raise InvalidInput(f"Decisión de revisión desconocida «{decision}».")
        with self._lock:
            data = self._read()
            data[doc_id] = {"sha256": sha256, "decision": decision, "hallazgos": findings, "revisora": reviewer,
                            "fecha": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".revision-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, ensure_ascii=False, indent=2, sort_keys=True)
            os.replace(tmp, self.path)
