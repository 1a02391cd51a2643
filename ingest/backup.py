"""`kb backup` / `kb restore`: the index and the corpus (with its manifest and review ledger).

Embedded store: the shard is flushed and closed, so the archive holds a consistent copy of
its files (a Qdrant Edge shard directory is its snapshot). Server store: the server's
snapshot API creates a collection snapshot, which is downloaded into the archive and uploaded
back on restore.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tarfile
import tempfile
import urllib.request
from pathlib import Path

from search.errors import InvalidInput, KBError
from search.settings import Settings

FORMAT = 1
CORPUS_FILES = ("manifest.csv", "taxonomy.yaml", "glosario.yaml", "revision.json", "README.md")
BLOCK = 64 * 1024


def _write_sparse(src, dst: Path) -> None:
    """Write a file object's bytes to dst, leaving all-zero blocks as holes.

    A Qdrant Edge shard preallocates ~280 MB of pages and WAL segments that are nearly all holes (~1 MB on
    disk). Plain copies and tar extraction write those holes out as zeros; this keeps a restored or
    backed-up index as small on disk as the original.
    """
    zero = bytes(BLOCK)
    with open(dst, "wb") as out:
        while block := src.read(BLOCK):
            if block == zero[: len(block)]:
                out.seek(len(block), 1)
            else:
                out.write(block)
        out.truncate()  # a trailing hole still counts towards the file's size


def _copy_sparse(src: str, dst: str) -> str:
    with open(src, "rb") as f:
        _write_sparse(f, Path(dst))
    shutil.copystat(src, dst)
    return dst


def _safe_members(tar: tarfile.TarFile):
    for m in tar.getmembers():
        p = Path(m.name)
        if p.is_absolute() or ".." in p.parts or not (m.isdir() or m.isfile()):
            raise InvalidInput(f"La copia de seguridad contiene una ruta no permitida: {m.name}")
        yield m


def _extract(tar: tarfile.TarFile, dest: Path) -> None:
    """Extract only plain files and folders, under dest, keeping holes (see _write_sparse)."""
    for m in _safe_members(tar):
        target = dest / m.name
        if m.isdir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        src = tar.extractfile(m)
        if src is None:
            raise InvalidInput(f"La copia de seguridad contiene una ruta no permitida: {m.name}")
        with src:
            _write_sparse(src, target)


def backup(settings: Settings, corpus_dir: Path, dest: Path) -> dict:
    from search.store import EdgeStore

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    manifest = {"format": FORMAT, "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "backend": "server" if settings.qdrant_url else "embedded"}
    with tempfile.TemporaryDirectory(prefix="kb-backup-") as tmp:
        tmp = Path(tmp)
        if settings.qdrant_url:
            _server_snapshot(settings, tmp / "index" / "collection.snapshot")
        else:
            if not (settings.shard_dir / "edge_config.json").is_file():
                raise InvalidInput(f"No hay índice que respaldar en {settings.shard_dir}. Ejecute antes «kb ingest».")
            store = EdgeStore(settings.shard_dir, 0)
            store.recover()
            manifest["documents"] = len(store.documents(statuses=("published", "held")))
            manifest["embedder"] = (store.embedder_info() or {}).get("embedder")
            store.close()  # flushed and closed: the directory is a consistent snapshot
            shutil.copytree(settings.shard_dir, tmp / "index" / "qdrant", copy_function=_copy_sparse)
        if settings.cache_path.is_file():
            shutil.copy2(settings.cache_path, tmp / "index" / "embeddings.sqlite")
        corpus_out = tmp / "corpus"
        corpus_out.mkdir()
        for name in CORPUS_FILES:
            if (Path(corpus_dir) / name).is_file():
                shutil.copy2(Path(corpus_dir) / name, corpus_out / name)
        for sub in ("documentos", "fuentes"):
            if (Path(corpus_dir) / sub).is_dir():
                shutil.copytree(Path(corpus_dir) / sub, corpus_out / sub)
        (tmp / "backup.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        partial = dest.with_suffix(dest.suffix + ".part")
        with tarfile.open(partial, "w:gz") as tar:
            for item in sorted(tmp.iterdir()):
                tar.add(item, arcname=item.name)
        partial.replace(dest)  # a crash never leaves a truncated archive under the final name
    return manifest


def restore(settings: Settings, archive: Path, corpus_dest: Path, force: bool = False) -> dict:
    archive = Path(archive)
    if not archive.is_file():
        raise InvalidInput(f"No existe la copia de seguridad {archive}.")
    data_dir = Path(settings.data_dir)
    if not force and (settings.shard_dir.exists() or (Path(corpus_dest) / "manifest.csv").exists()):
        raise InvalidInput("La carpeta de datos o la del corpus ya tienen contenido; use --forzar para sobrescribirlas.")
    with tempfile.TemporaryDirectory(prefix="kb-restore-") as tmp:
        tmp = Path(tmp)
        try:
            with tarfile.open(archive, "r:gz") as tar:
                _extract(tar, tmp)
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise InvalidInput("La copia de seguridad está dañada o no es un archivo .tar.gz válido.") from exc
        meta = json.loads((tmp / "backup.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise InvalidInput("Formato de copia de seguridad no reconocido.")
        data_dir.mkdir(parents=True, exist_ok=True)
        if (tmp / "index" / "qdrant").is_dir():
            if settings.qdrant_url:
                raise InvalidInput("Esta copia es de un índice embebido; restáurela sin KB_QDRANT_URL.")
            shutil.rmtree(settings.shard_dir, ignore_errors=True)
            shutil.copytree(tmp / "index" / "qdrant", settings.shard_dir, copy_function=_copy_sparse)
        elif (tmp / "index" / "collection.snapshot").is_file():
            _server_restore(settings, tmp / "index" / "collection.snapshot")
        if (tmp / "index" / "embeddings.sqlite").is_file():
            shutil.copy2(tmp / "index" / "embeddings.sqlite", settings.cache_path)
        corpus_dest = Path(corpus_dest)
        if force and corpus_dest.exists():
            for sub in ("documentos", "fuentes"):
                shutil.rmtree(corpus_dest / sub, ignore_errors=True)
        shutil.copytree(tmp / "corpus", corpus_dest, dirs_exist_ok=True)
    return meta


def _server_snapshot(settings: Settings, dest: Path) -> None:
    from qdrant_client import QdrantClient

    client = QdrantClient(url=settings.qdrant_url, api_key=settings.qdrant_api_key or None)
    try:
        snap = client.create_snapshot(settings.collection, wait=True)
        url = f"{settings.qdrant_url.rstrip('/')}/collections/{settings.collection}/snapshots/{snap.name}"
        request = urllib.request.Request(url, headers={"api-key": settings.qdrant_api_key} if settings.qdrant_api_key else {})
        dest.parent.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(request, timeout=600) as resp, open(dest, "wb") as out:
            shutil.copyfileobj(resp, out)
    except Exception as exc:
        raise KBError("No se pudo crear la instantánea en el servidor Qdrant.", f"server snapshot failed: {exc}") from exc
    finally:
        client.close()


def _server_restore(settings: Settings, snapshot: Path) -> None:
    import requests

    url = f"{settings.qdrant_url.rstrip('/')}/collections/{settings.collection}/snapshots/upload?priority=snapshot"
    headers = {"api-key": settings.qdrant_api_key} if settings.qdrant_api_key else {}
    try:
        with open(snapshot, "rb") as f:
            resp = requests.post(url, files={"snapshot": f}, headers=headers, timeout=600)
        resp.raise_for_status()
    except Exception as exc:
        raise KBError("No se pudo restaurar la instantánea en el servidor Qdrant.", f"server restore failed: {exc}") from exc
