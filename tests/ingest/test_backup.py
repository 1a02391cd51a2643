from __future__ import annotations

import tarfile

import pytest

from ingest.backup import backup, restore
from search.core import SearchRequest, build_service
from search.errors import InvalidInput
from tests.conftest import copy_tree


def disk_bytes(root) -> int:
    return sum(f.stat().st_blocks * 512 for f in root.rglob("*") if f.is_file())


def results(settings, embedder, taxonomy):
    svc = build_service(settings, embedder=embedder, taxonomy=taxonomy)
    try:
        out = []
        for q in ("casa de acogida", "clínica jurídica móvil", "policía municipal orden de alejamiento"):
            resp = svc.search(SearchRequest(query=q))
            out.append([(r.doc_id, [(p.chunk_id, p.text, p.citation.pages) for p in r.passages]) for r in resp.results])
        return out
    finally:
        svc.store.close()


def test_restore_into_empty_dir_gives_identical_search_results(tmp_path, ingested_template, small_corpus_template,
                                                               settings, embedder, taxonomy):
    source = settings.model_copy(update={"data_dir": tmp_path / "src"})
    copy_tree(ingested_template, source.data_dir)
    before = results(source, embedder, taxonomy)
    archive = tmp_path / "copia.tar.gz"
    meta = backup(source, small_corpus_template, archive)
    assert meta["documents"] == 8
    target = settings.model_copy(update={"data_dir": tmp_path / "restaurado"})
    restore(target, archive, tmp_path / "corpus-restaurado")
    assert results(target, embedder, taxonomy) == before
    # The shard's preallocated pages are holes; backup and restore must not write them out as zeros.
    apparent = sum(f.stat().st_size for f in target.shard_dir.rglob("*") if f.is_file())
    assert apparent > 100 * 2**20
    assert disk_bytes(target.shard_dir) < apparent / 20
    assert (tmp_path / "corpus-restaurado" / "manifest.csv").read_bytes() == \
        (small_corpus_template / "manifest.csv").read_bytes()
    assert (tmp_path / "corpus-restaurado" / "documentos" / "ruta.pdf").is_file()
    with pytest.raises(InvalidInput):  # refuses to overwrite without --forzar
        restore(target, archive, tmp_path / "corpus-restaurado")


def test_restore_rejects_hostile_and_broken_archives(tmp_path, settings):
    evil = tmp_path / "evil.tar.gz"
    payload = tmp_path / "x.txt"
    payload.write_text("x")
    with tarfile.open(evil, "w:gz") as tar:
        tar.add(payload, arcname="../../escape.txt")
    with pytest.raises(InvalidInput):
        restore(settings, evil, tmp_path / "c")
    linked = tmp_path / "enlace.tar.gz"
    with tarfile.open(linked, "w:gz") as tar:
        link = tarfile.TarInfo("index/qdrant/edge_config.json")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    with pytest.raises(InvalidInput):
        restore(settings, linked, tmp_path / "c3")
    broken = tmp_path / "roto.tar.gz"
    broken.write_bytes(b"\x1f\x8b\x08 no es un tar")
    with pytest.raises(InvalidInput):
        restore(settings, broken, tmp_path / "c2")
    assert not (tmp_path.parent / "escape.txt").exists()
