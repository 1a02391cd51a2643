"""Brings the index up to date with the corpus: added / updated / unchanged / removed / failed.

A document that fails (corrupt file, no text, invalid manifest row) fails alone with a Spanish
reason; the rest of the batch goes in, and the index keeps the failed document's previous
version if it had one.
"""

from __future__ import annotations

import hashlib
import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ingest.blocks import Block, Parsed, ParseStats
from ingest.chunk import MIN_CHARS, ChunkedDocument, chunk
from ingest.embed import EmbeddingCache, embed
from ingest.manifest import DocumentMeta, Manifest, load_manifest
from ingest.partition import detect_type, partition
from ingest.review import APPROVED, PENDING, REDACTED, REJECTED, ReviewLedger
from ingest.write import SourceInfo, write
from search.embedders import Embedder, make_embedder
from search.errors import KBError
from search.settings import Settings
from search.store import Store, open_store
from search.taxonomy import Taxonomy, load_taxonomy

log = logging.getLogger(__name__)

PIPELINE_VERSION = "4"  # bump when parsing or chunking changes what a file yields
PARSE_AHEAD = 4  # files parsed ahead of the one being embedded (their elements wait in memory)

ADDED, UPDATED, METADATA, UNCHANGED, REMOVED, FAILED, HELD = (
    "añadido", "actualizado", "metadatos actualizados", "sin cambios", "eliminado", "fallido",
    "retenido para revisión")
STATUS_LOG = {ADDED: "added", UPDATED: "updated", METADATA: "metadata updated", UNCHANGED: "unchanged",
              REMOVED: "removed", FAILED: "failed", HELD: "held for review"}


@dataclass
class Outcome:
    doc_id: str
    status: str
    reason: str = ""
    chunks: int = 0
    title: str = ""
    quality: dict = field(default_factory=dict)  # pages, OCR'd pages, header lines dropped, passage sizes


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    passages_embedded: int = 0

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == FAILED]

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


class Progress:
    """Callbacks for a progress display; the default does nothing."""

    def start(self, n_files: int) -> None: ...
    def file_done(self, doc_id: str) -> None: ...
    def chunks_embedded(self, n: int) -> None: ...


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Ingestor:
    """Owns the embedder, the cache and the store for one run (or one web app)."""

    def __init__(self, settings: Settings, *, store: Store | None = None, embedder: Embedder | None = None,
                 taxonomy: Taxonomy | None = None, verify_embedder: bool = True):
        self.settings = settings
        self.embedder = embedder or make_embedder(settings.embedder)
        self.embedder.warm_up()
        self.store = store or open_store(settings, self.embedder.dim)
        if verify_embedder:  # `kb reindex` may be switching to another embedder
            try:
                self.store.check_embedder(self.embedder.name, self.embedder.dim)
            except KBError:
                if store is None:  # we opened it: release the shard's lock before refusing
                    self.store.close()
                raise
        self.cache = EmbeddingCache(settings.cache_path)
        self._taxonomy = taxonomy

    @property
    def taxonomy(self) -> Taxonomy:
        if self._taxonomy is None:
            self._taxonomy = load_taxonomy(self.settings.taxonomy_path)
        return self._taxonomy

    @property
    def pipeline_signature(self) -> str:
        s = self.settings
        return f"v{PIPELINE_VERSION}|{self.embedder.name}|{s.chunk_max_chars}|{s.chunk_new_after_chars}|{s.ocr_languages}"

    def close(self) -> None:
        self.store.close()
        self.cache.close()

    # one document --------------------------------------------------------
    def _parse(self, path: Path) -> Parsed:
        s = self.settings
        return partition(path, ocr_languages=s.ocr_languages, max_bytes=s.max_file_mb * 1024 * 1024,
                         timeout_s=s.parse_timeout_s, memory_mb=s.parse_memory_mb)

    def ingest_document(self, meta: DocumentMeta, path: Path, *, existing: dict | None = None,
                        progress: Progress | None = None, corpus_dir: Path | None = None,
                        parsed: tuple[str, Future] | None = None) -> Outcome:
        """Bring one document up to date. `parsed` is (file sha256, future elements) from sync's prefetch."""
        progress = progress or Progress()
        ledger = ReviewLedger(Path(corpus_dir or self.settings.corpus_dir) / "revision.json")
        try:
            try:
                exists = path.is_file()
            except OSError as exc:  # e.g. a name too long for the file system
                raise KBError(f"No se puede abrir el archivo «{meta.archivo[:80]}».", f"cannot stat {path}: {exc}") from exc
            if not exists:
                raise KBError(f"No se encontró el archivo «{meta.archivo}».", f"missing file {path}")
            sha = file_sha256(path)
            if self._same_content(existing, sha):
                held = existing.get("status") == "held"
                if held and ledger.decision(meta.id, sha) is None:
                    return Outcome(meta.id, HELD, "Sigue pendiente de revisión.", existing.get("chunk_count", 0),
                                   meta.titulo)
                if not held and existing.get("meta_hash") == meta.meta_hash():
                    return Outcome(meta.id, UNCHANGED, chunks=existing.get("chunk_count", 0), title=meta.titulo)
                if not held:
                    self.store.update_document_payload(meta.id, meta.payload() | {"meta_hash": meta.meta_hash()})
                    return Outcome(meta.id, METADATA, chunks=existing.get("chunk_count", 0), title=meta.titulo)
            file_type = detect_type(path)
            if parsed is not None and parsed[0] == sha:
                result = parsed[1].result()
            else:
                result = self._parse(path)
            blocks, status, review = self._screen(meta, sha, result.blocks, ledger)
            doc = chunk(meta.id, blocks, max_chars=self.settings.chunk_max_chars,
                        new_after_chars=self.settings.chunk_new_after_chars)
            quality = passage_quality(result.stats, doc, self.settings.chunk_max_chars)
            if not doc.chunks:
                raise KBError("El documento no produjo ningún fragmento de texto.", f"no chunks for {meta.id}")
            embedded = embed(list(doc.chunks), meta.titulo, self.embedder, self.cache,
                             batch_size=self.settings.embed_batch_size, on_batch=progress.chunks_embedded)
            write(self.store, meta, doc, embedded, SourceInfo(sha, file_type.lower(), self.pipeline_signature),
                  status=status, review=review)
            if status == "held":
                n = len(review["hallazgos"])
                return Outcome(meta.id, HELD, f"Se detectaron posibles datos personales ({n} hallazgo"
                               f"{'s' if n != 1 else ''}); no se publica hasta que el equipo de curaduría lo revise.",
                               len(doc.chunks), meta.titulo, quality)
            return Outcome(meta.id, UPDATED if existing else ADDED, chunks=len(doc.chunks), title=meta.titulo,
                           quality=quality)
        except KBError as exc:
            log.warning("document %s failed: %s", meta.id, exc)
            return Outcome(meta.id, FAILED, exc.user_message, title=meta.titulo)
        except Exception as exc:  # never let one document take the batch down
            log.exception("document %s failed unexpectedly", meta.id)
            return Outcome(meta.id, FAILED, f"Error inesperado al procesar el documento ({type(exc).__name__}).",
                           title=meta.titulo)

    def _screen(self, meta: DocumentMeta, sha: str, elements: list[Block], ledger: ReviewLedger):
        """Personal-data screening: hold, publish (approved), redact, or refuse (rejected)."""
        from ingest import pii

        per_element = [(i, f) for i, e in enumerate(elements) for f in pii.scan(e.text)]
        if not per_element:
            return elements, "published", {"revision": ""}
        decision = ledger.decision(meta.id, sha)
        if decision == REJECTED:
            raise KBError("El documento fue rechazado en la revisión de datos personales. Retírelo del manifiesto "
                          "o envíe una versión sin datos personales.", f"{meta.id} rejected by review")
        if decision == APPROVED:
            return elements, "published", {"revision": APPROVED}
        if decision == REDACTED:
            redacted = []
            for i, e in enumerate(elements):
                found = [f for j, f in per_element if j == i]
                if found:
                    e = e.with_text(pii.redact(e.text, found))
                redacted.append(e)
            return redacted, "published", {"revision": REDACTED}
        findings = [{"tipo": f.kind, "etiqueta": f.label, "contexto": pii.context(elements[i].text, f)}
                    for i, f in per_element]
        log.warning("document %s held: %d personal-data finding(s)", meta.id, len(findings))
        return elements, "held", {"revision": PENDING, "hallazgos": findings}

    def held_documents(self) -> list[dict]:
        return sorted(self.store.documents(statuses=("held",)), key=lambda d: d.get("ingested_at", ""))

    def review(self, doc_id: str, decision: str, *, corpus_dir: Path | None = None, reviewer: str = "") -> Outcome:
        """Apply a curator's decision on a held document (aprobado / redactado / rechazado)."""
        from search.errors import NotFound

        corpus_dir = Path(corpus_dir or self.settings.corpus_dir)
        held = [d for d in self.store.documents(statuses=("held",)) if d["doc_id"] == doc_id]
        if not held:
            raise NotFound(f"El documento «{doc_id}» no está pendiente de revisión.")
        doc = held[0]
        ledger = ReviewLedger(corpus_dir / "revision.json")
        ledger.record(doc_id, doc["file_sha256"], decision, len(doc.get("hallazgos", [])), reviewer)
        if decision == APPROVED:
            self.store.set_status(doc_id, "published", {"revision": APPROVED, "hallazgos": []})
            return Outcome(doc_id, UPDATED, "Aprobado: publicado sin cambios.", doc.get("chunk_count", 0), doc.get("titulo", ""))
        if decision == REJECTED:
            self.store.delete_document(doc_id)
            return Outcome(doc_id, REMOVED, "Rechazado: retirado del índice.", title=doc.get("titulo", ""))
        meta = meta_from_payload(doc)
        return self.ingest_document(meta, corpus_dir / meta.archivo, corpus_dir=corpus_dir)

    # the whole corpus ----------------------------------------------------
    def sync(self, corpus_dir: Path, *, manifest_path: Path | None = None, progress: Progress | None = None) -> Report:
        started = time.perf_counter()
        before = getattr(self.embedder, "passages_embedded", 0)
        progress = progress or Progress()
        corpus_dir = Path(corpus_dir)
        manifest: Manifest = load_manifest(manifest_path or corpus_dir / "manifest.csv", self.taxonomy)
        report = Report()
        for key, problems in manifest.problems_by_doc().items():
            report.outcomes.append(Outcome(key, FAILED, "Fila del manifiesto no válida: " + "; ".join(map(str, problems))))
        existing = {d["doc_id"]: d for d in self.store.documents(statuses=("published", "held"))}
        docs = manifest.documents
        progress.start(len(docs))
        # With parsing in its worker process, the files ahead are parsed while this one is embedded:
        # parsing (OCR above all) runs on one core, so this overlaps it with the embedder. The
        # look-ahead is a few files, so that a slow OCR'd file does not leave the embedder idle.
        pool = ThreadPoolExecutor(1, thread_name_prefix="kb-parse") if self.settings.parse_timeout_s > 0 else None
        ahead: dict[int, tuple[str, Future] | None] = {}
        try:
            if pool is not None and docs:
                from ingest import pii

                ahead[0] = self._prefetch(pool, docs[0], corpus_dir, existing)  # starts the parser worker…
                pii.warm_up()  # …while this thread loads the personal-data screening
            for i, meta in enumerate(docs):
                for j in range(i, min(len(docs), i + 1 + PARSE_AHEAD)):
                    if j not in ahead:
                        ahead[j] = self._prefetch(pool, docs[j], corpus_dir, existing)
                outcome = self.ingest_document(meta, corpus_dir / meta.archivo, existing=existing.get(meta.id),
                                               progress=progress, corpus_dir=corpus_dir, parsed=ahead.pop(i))
                report.outcomes.append(outcome)
                log.info("document %s done: %s, %d chunks", meta.id, STATUS_LOG.get(outcome.status, "?"),
                         outcome.chunks)
                progress.file_done(meta.id)
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        for doc_id in sorted(set(existing) - manifest.listed_ids):
            self.store.delete_document(doc_id)
            report.outcomes.append(Outcome(doc_id, REMOVED, title=existing[doc_id].get("titulo", "")))
        self.store.flush()
        report.seconds = time.perf_counter() - started
        report.passages_embedded = getattr(self.embedder, "passages_embedded", 0) - before
        return report

    def _prefetch(self, pool: ThreadPoolExecutor | None, meta: DocumentMeta, corpus_dir: Path,
                  existing: dict) -> tuple[str, Future] | None:
        """Start parsing a file that will need it (new or changed content, or held); None otherwise."""
        if pool is None:
            return None
        path = corpus_dir / meta.archivo
        try:
            if not path.is_file():
                return None
            sha = file_sha256(path)
        except OSError:
            return None  # ingest_document reports it
        old = existing.get(meta.id)
        if self._same_content(old, sha) and old.get("status") != "held":
            return None  # unchanged: ingest_document will not parse it (a held one may be, once reviewed)
        return sha, pool.submit(self._parse, path)

    def _same_content(self, existing: dict | None, sha: str) -> bool:
        """The stored document came from this very file through this very pipeline."""
        return (bool(existing) and existing.get("file_sha256") == sha
                and existing.get("pipeline") == self.pipeline_signature)

    def reindex(self, corpus_dir: Path, **kwargs) -> Report:
        """Rebuild from scratch (e.g. after changing the embedder); the embedding cache still applies."""
        self.store.drop()
        self.store = open_store(self.settings, self.embedder.dim)
        self.store.check_embedder(self.embedder.name, self.embedder.dim)
        return self.sync(corpus_dir, **kwargs)


def passage_quality(stats: ParseStats, doc: ChunkedDocument, max_chars: int) -> dict:
    """The per-document quality record of the ingest report: what parsing did and passage sizes."""
    sizes = sorted(len(c.text) for c in doc.chunks)
    return stats.as_dict() | {
        "fragmentos": len(sizes),
        "fragmento_min": sizes[0] if sizes else 0,
        "fragmento_mediana": sizes[len(sizes) // 2] if sizes else 0,
        "fragmento_max": sizes[-1] if sizes else 0,
        "fragmentos_vacios": sum(1 for c in doc.chunks if not c.text.strip()),
        "fragmentos_sobre_maximo": sum(1 for n in sizes if n > max_chars),
        "fragmentos_cortos": sum(1 for n in sizes if n < MIN_CHARS),
    }


def meta_from_payload(payload: dict) -> DocumentMeta:
    """The manifest metadata stored on a document's points."""
    import dataclasses

    values = {}
    for f in dataclasses.fields(DocumentMeta):
        v = payload.get(f.name, "")
        values[f.name] = tuple(v) if isinstance(v, list) else v
    return DocumentMeta(**values)
