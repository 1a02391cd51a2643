"""`kb ingest` (the real CLI, in a subprocess) on good documents mixed with every hostile case of
evals/hostile.py: it fails the bad ones alone with Spanish reasons, never crashes or leaks a
traceback, keeps hostile text inert, leaves no partial document, and stays within memory bounds.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from evals.hostile import REJECTED, SAFE, XSS_MARKUP, XSS_PAYLOADS, generate
from search.store import Where, eq
from tests.conftest import MANIFEST_HEADER, REPO, copy_tree

MAX_RSS_MB = 2500
# Runs the CLI and, on the way out, records the larger peak RSS (kB on Linux) of the CLI itself and of
# the parser worker it started (stopped first, so that RUSAGE_CHILDREN counts it).
KB_WITH_RSS = ("import atexit, os, resource, kb\n"
               "def rss():\n"
               "    from ingest.partition import shutdown_worker\n"
               "    shutdown_worker()\n"
               "    peak = max(resource.getrusage(w).ru_maxrss for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))\n"
               "    open(os.environ['KB_RSS_FILE'], 'w').write(str(peak))\n"
               "atexit.register(rss)\n"
               "kb.main()\n")
SPANISH_HINT = re.compile(r"[áéíóúñ¿¡]|\b(el|la|los|las|del|no|es|debe|archivo|documento)\b", re.IGNORECASE)


def live_tags(html_text: str) -> set[tuple[str, tuple]]:
    """(tag, attributes) of every element an HTML parser (a browser) would build from `html_text`."""
    from html.parser import HTMLParser

    found: set[tuple[str, tuple]] = set()

    class Tags(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.add((tag, tuple(attrs)))

    Tags().feed(html_text)
    return found


def table_rows(stdout: str) -> dict[str, tuple[str, str, str]]:
    """{doc_id: (status, chunks, reason)} from the result table (printed unwrapped: COLUMNS is huge)."""
    rows, columns = {}, None
    for line in stdout.splitlines():
        if columns is None and "Documento" in line and "Motivo" in line:
            columns = [c.strip() for c in line.strip().strip("│┃").split("┃")]
            continue
        cells = [c.strip() for c in line.strip().strip("│┃").split("│")]
        if columns and len(cells) == len(columns) and cells[0]:
            at = dict(zip(columns, cells))
            rows[cells[0]] = (at["Resultado"], at["Fragmentos"], at["Motivo"])
    return rows


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory, small_corpus_template):
    root = tmp_path_factory.mktemp("hostile")
    corpus = root / "corpus"
    copy_tree(small_corpus_template, corpus)
    with open(corpus / "manifest.csv", encoding="utf-8") as f:
        # The scanned PDF only adds OCR time; OCR is covered elsewhere.
        good = [r for r in csv.DictReader(f) if r["id"] != "albergue-escaneado"]
    cases = generate(corpus)
    with open(corpus / "manifest.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=MANIFEST_HEADER)
        w.writeheader()
        w.writerows(good + [c.row for c in cases])
    data = root / "data"
    rss_file = root / "rss"
    env = os.environ | {"KB_DATA_DIR": str(data), "PYTHONPATH": str(REPO), "COLUMNS": "5000",
                        "KB_RSS_FILE": str(rss_file), "KB_MAX_FILE_MB": "50"}
    done = subprocess.run([sys.executable, "-c", KB_WITH_RSS, "ingest", str(corpus)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    return {"done": done, "cases": cases, "good": [r["id"] for r in good], "data": data,
            "rss_kb": int(rss_file.read_text()) if rss_file.is_file() else None}


@pytest.fixture(scope="module")
def hostile_store(hostile_run, embedder):
    from search.settings import Settings
    from search.store import open_store

    store = open_store(Settings(data_dir=hostile_run["data"], _env_file=None), embedder.dim)
    yield store
    store.close()


def test_exit_status_is_one_and_no_traceback(hostile_run):
    done = hostile_run["done"]
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    for stream in (done.stdout, done.stderr):
        assert "Traceback" not in stream, stream[-5000:]
        assert "Error inesperado" not in stream, stream[-5000:]


def test_every_hostile_case_fails_in_spanish_or_goes_in_safely(hostile_run):
    rows = table_rows(hostile_run["done"].stdout)
    problems = []
    for case in hostile_run["cases"]:
        status, _, reason = rows.get(case.doc_id) or rows.get(next((k for k in rows if case.doc_id in k), ""),
                                                                ("ausente", "", ""))
        if case.expected == REJECTED:
            if status != "fallido" or case.reason not in reason or not SPANISH_HINT.search(reason):
                problems.append(f"{case.name}: expected rejection with «{case.reason}», got {status!r}: {reason!r}")
        elif status != "añadido":
            problems.append(f"{case.name}: expected to be ingested, got {status!r}: {reason!r}")
    assert not problems, "\n".join(problems)


def test_every_good_document_is_ingested(hostile_run, hostile_store):
    rows = table_rows(hostile_run["done"].stdout)
    assert {doc_id: rows.get(doc_id, ("ausente",))[0] for doc_id in hostile_run["good"]} == \
           {doc_id: "añadido" for doc_id in hostile_run["good"]}
    indexed = {d["doc_id"] for d in hostile_store.documents()}
    assert set(hostile_run["good"]) <= indexed


def test_index_holds_only_whole_documents_and_nothing_rejected(hostile_run, hostile_store):
    assert hostile_store.count(Where((eq("status", "staging"),))) == 0
    docs = hostile_store.documents()
    for doc in docs:
        chunks = hostile_store.chunks(doc["doc_id"])
        assert len(chunks) == doc["chunk_count"] > 0, doc["doc_id"]
        assert {c["gen"] for c in chunks} == {doc["gen"]}
    rejected = {c.doc_id for c in hostile_run["cases"] if c.expected == REJECTED}
    assert not rejected & {d["doc_id"] for d in docs}


def test_hostile_text_is_stored_as_text_and_escaped_when_highlighted(hostile_run, hostile_store):
    from search.text import highlight, query_stems

    stems = query_stems("carga alert script casa acogida")
    by_name = {c.name: c for c in hostile_run["cases"]}
    for name in ("xss-txt", "xss-html", "xss-md", "pdf-javascript", "xss-metadatos"):
        case = by_name[name]
        chunks = hostile_store.chunks(case.doc_id)
        assert chunks, name
        text = "\n".join(c["text"] for c in chunks)
        if name in ("xss-txt", "xss-html"):
            # The payload survives as literal text (nothing is silently rewritten)...
            for payload in XSS_PAYLOADS:
                assert payload in text, (name, payload)
        for c in chunks:
            rendered = highlight(c["text"], stems)
            # ...and is never live markup once rendered: the only tag is the highlight, bare.
            assert not any(marker in rendered for marker in XSS_MARKUP), (name, rendered)
            assert live_tags(rendered) <= {("mark", ())}, (name, rendered)
    meta = hostile_store.document(by_name["xss-metadatos"].doc_id).payload
    for field in ("titulo", "municipio", "organizacion"):
        assert meta[field] == by_name["xss-metadatos"].row[field]  # stored verbatim, as text


def test_peak_memory_of_the_ingest_is_bounded(hostile_run):
    import resource

    rss_kb = hostile_run["rss_kb"] or resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert rss_kb / 1024 < MAX_RSS_MB, f"peak RSS {rss_kb / 1024:.0f} MB"


def test_generator_covers_the_issue_list(tmp_path):
    cases = {c.name: c for c in generate(tmp_path)}
    assert cases["vacio"].path.stat().st_size == 0
    assert cases["enorme"].path.stat().st_size == 100 * 1024 * 1024
    assert cases["enorme"].path.stat().st_blocks * 512 < 5 * 1024 * 1024  # sparse on disk
    import zipfile

    with zipfile.ZipFile(cases["bomba-zip"].path) as z:
        assert sum(i.file_size for i in z.infolist()) >= 400 * 1024 * 1024
    assert cases["bomba-zip"].path.stat().st_size < 5 * 1024 * 1024
    assert b"/JavaScript" in cases["pdf-javascript"].path.read_bytes()
    assert b"/OpenAction" in cases["pdf-javascript"].path.read_bytes()
    assert {c.expected for c in cases.values()} == {REJECTED, SAFE}
    assert any("\x00" in c.row["archivo"] for c in cases.values())
    assert any(".." in Path(c.row["archivo"]).parts for c in cases.values())
