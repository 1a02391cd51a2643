"""Passage quality: how clean and whole the passages cut from real documents are.

An independent yardstick for parsing and chunking. The reference it measures against comes from
poppler's `pdftotext` and openpyxl, never from the project's own parsers, so a parser cannot grade
itself. Per document it reports chunk sizes, empty / oversized / short chunks, exact provenance,
whether passages start and end at sentence boundaries, running headers and footers that leaked into
passages, word recall against the PDF's text layer, and whether every spreadsheet figure sits in a
passage together with its column header.
"""

from __future__ import annotations

import csv
import re
import subprocess
import time
import unicodedata
from collections import Counter
from pathlib import Path

from evals.metrics import percentile
from ingest.chunk import ChunkedDocument


# ------------------------------------------------------------------ the project's path (one place)


def _parse_and_chunk(path: Path, doc_id: str, settings) -> tuple[ChunkedDocument, dict]:
    """The project's own parse + chunk of one file, in process, and what parsing reported."""
    from ingest.chunk import chunk
    from ingest.partition import partition

    parsed = partition(path, ocr_languages=settings.ocr_languages, max_bytes=settings.max_file_mb * 1024 * 1024,
                       timeout_s=0)
    doc = chunk(doc_id, parsed.blocks, max_chars=settings.chunk_max_chars,
                new_after_chars=settings.chunk_new_after_chars)
    return doc, parsed.stats.as_dict()


# ------------------------------------------------------------------ normalisation

EDGE_LINES = 6  # lines read at the top and at the bottom of every page
# Page-number lines, in the normalised form (digit runs -> "#").
PAGE_NUMBER_PATTERNS = frozenset({"#", "# de #", "página #", "- # -"})
_PAGE_OF_RE = re.compile(r"^# de #$")
_DIGITS_RE = re.compile(r"\d+")
_SPACES_RE = re.compile(r"\s+")
# pdftotext -layout separates columns (and right-aligned header parts) by runs of spaces; each
# part is also a candidate running line, because a parser may keep the parts apart.
_LAYOUT_GAP_RE = re.compile(r"\s{2,}")
_MIN_MATCH_CHARS = 8  # shorter lines ("5.", "Total") repeat by chance


def normalise_line(line: str) -> str:
    """Lowercase, digit runs -> '#', whitespace collapsed, stripped."""
    return _SPACES_RE.sub(" ", _DIGITS_RE.sub("#", line.lower())).strip()


def _matchable(norm: str) -> bool:
    return len(norm) >= _MIN_MATCH_CHARS or bool(_PAGE_OF_RE.match(norm))


# ------------------------------------------------------------------ poppler


def _pdf_pages(pdf: Path) -> int:
    out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    m = re.search(r"^Pages:\s+(\d+)", out, re.M)
    return int(m.group(1)) if m else 0


def _pdftotext_page(pdf: Path, page: int, layout: bool) -> str:
    cmd = ["pdftotext", "-enc", "UTF-8", "-f", str(page), "-l", str(page)]
    if layout:
        cmd.append("-layout")
    done = subprocess.run([*cmd, str(pdf), "-"], capture_output=True, check=True, timeout=120)
    return done.stdout.decode("utf-8", errors="replace")


def _nonempty_lines(text: str) -> list[str]:
    return [ln for ln in text.replace("\f", "\n").splitlines() if ln.strip()]


def _edge(lines: list[str]) -> list[str]:
    if len(lines) <= 2 * EDGE_LINES:
        return lines
    return lines[:EDGE_LINES] + lines[-EDGE_LINES:]


def _line_forms(line: str) -> list[str]:
    """The normalised line and, when pdftotext -layout spread it out, each of its parts."""
    whole = normalise_line(line)
    parts = [normalise_line(p) for p in _LAYOUT_GAP_RE.split(line.strip())]
    forms = [whole] + [p for p in parts if p and p != whole]
    return [f for f in forms if f]


class _PdfProfile:
    """What pdftotext sees in one PDF: running lines, how often each also occurs legitimately
    (a law's title printed once on page 1 under a running header with the same words), and the
    plain-text pages for the recall reference."""

    def __init__(self, pdf: Path):
        self.pdf = Path(pdf)
        self.pages = _pdf_pages(self.pdf)
        layout = [_nonempty_lines(_pdftotext_page(self.pdf, p, True)) for p in range(1, self.pages + 1)]
        self.plain = [_pdftotext_page(self.pdf, p, False) for p in range(1, self.pages + 1)]

        pages_with: Counter[str] = Counter()
        for lines in layout:
            pages_with.update({f for ln in _edge(lines) for f in _line_forms(ln)})
        threshold = max(3, 0.3 * self.pages)
        candidates = {f for f, n in pages_with.items() if n >= threshold} | set(PAGE_NUMBER_PATTERNS)

        # Occurrences beyond one per page where the line is running are the document's own text.
        total: Counter[str] = Counter()
        for lines in layout:
            total.update(f for ln in lines for f in _line_forms(ln) if f in candidates)
        legit = {f: max(0, total[f] - pages_with[f]) for f in candidates}
        # A line that occurs more often in the body than at page edges is body text that happens to
        # open pages (a table's "Indicador" column, list numbers "5."), not a running line.
        self.running = {f for f in candidates if f in PAGE_NUMBER_PATTERNS or legit[f] <= pages_with[f]}
        self.legit = {f: legit[f] for f in self.running}
        # "N de M" footers where M is the page count: found inside a line too, glued to body text.
        self.page_of_total_re = re.compile(rf"(?<![\d.,])\d{{1,4}} de {self.pages}(?![\d.,]?\d)")
        self.page_of_total = self.page_of_total_re if pages_with["# de #"] >= threshold else None

    @property
    def has_text_layer(self) -> bool:
        """At least half of the pages give 20 letters or more."""
        with_text = sum(1 for t in self.plain if sum(ch.isalpha() for ch in t) >= 20)
        return self.pages > 0 and with_text * 2 >= self.pages

    def reference_text(self) -> str:
        """The text layer with running lines dropped (at most one of each per page, at the page's
        edges) and line-end hyphenation joined."""
        pages = []
        for text in self.plain:
            lines = text.replace("\f", "\n").splitlines()
            idx = [i for i, ln in enumerate(lines) if ln.strip()]
            edge = set(idx[:EDGE_LINES] + idx[-EDGE_LINES:])
            dropped: set[str] = set()
            kept = []
            for i, ln in enumerate(lines):
                norm = normalise_line(ln)
                if i in edge and norm in self.running and norm not in dropped:
                    dropped.add(norm)
                    continue
                kept.append(ln)
            pages.append("\n".join(kept))
        return join_hyphenation("\n".join(pages))


def running_lines(pdf: Path) -> set[str]:
    """Normalised running header, footer and page-number lines of a PDF, found with pdftotext alone:
    lines among the first and last six of a page that recur on max(3, 30 % of pages) pages, plus
    the page-number patterns."""
    return set(_PdfProfile(pdf).running)


# ------------------------------------------------------------------ tokens

_HYPHEN_RE = re.compile(r"[-\u00ad]\n(?=[a-záéíóúñü])")
_TOKEN_RE = re.compile(r"[^\W\d_]+|\d+")


def join_hyphenation(text: str) -> str:
    return _HYPHEN_RE.sub("", text)


def tokens(text: str) -> list[str]:
    """Lowercase letter runs and digit runs. NFKC first, so a ligature (ﬁ) and its expansion (fi)
    count as the same word whichever side kept it."""
    return _TOKEN_RE.findall(unicodedata.normalize("NFKC", text).lower())


def word_recall(reference: str, passages: list[str]) -> float:
    ref = Counter(tokens(reference))
    got = Counter(t for p in passages for t in tokens(p))
    total = sum(ref.values())
    return sum((ref & got).values()) / total if total else 1.0


# ------------------------------------------------------------------ boundaries

START_CHARS = set("¿¡«“\"([•-–")
END_CHARS = set(".!?:;…»”\")]")
_LIST_MARKER_RE = re.compile(r"^(?:[a-zñ]{1,2}|[ivxlc]{1,6})(?:\)|\.\s)")


def starts_well(text: str) -> bool:
    s = text.strip()
    if not s:
        return False
    ch = s[0]
    return ch.isupper() or ch.isdigit() or ch in START_CHARS or bool(_LIST_MARKER_RE.match(s))


# Two closings of legal texts that end an article without a final stop: Argentine ordinances'
# ".-" ("…que rigen la tributación.-") and Mexican federal laws' amendment notes ("Artículo
# reformado DOF 30-10-2014").
_LEGAL_END_RE = re.compile(r"(?:\.\s?[-–]+|\bDOF \d{2}-\d{2}-\d{4})$")


_ITEM_START_RE = re.compile(r"^(?:[IVXLC]{1,6}[.)]|\d{1,3}[.)]|[a-zñ][.)]|[•\-–])\s")
# A paragraph that stops on one of these words, or on a comma, stops mid-clause.
_OPEN_ENDINGS = frozenset("""a al ante con contra de del desde e el en entre hacia hasta la las lo los o para por que
se sin sobre su sus u un una y""".split())


def ends_well(text: str, *, paragraph_end: bool = False) -> bool:
    """A sentence end: final punctuation or a legal closing; or, when the passage ends where its
    paragraph (heading, list item, table row) ends, any ending that is not visibly mid-clause. A
    paragraph is the writer's own unit: "Artículo reformado DOF 30-10-2014" or a signature block ends
    there without a stop."""
    s = text.strip()
    if not s:
        return False
    if s[-1] in END_CHARS or _LEGAL_END_RE.search(s):
        return True
    if not paragraph_end or s[-1] in ",-–":
        return False
    last = re.findall(r"\w+", s[-30:].casefold())
    return not last or last[-1] not in _OPEN_ENDINGS


# ------------------------------------------------------------------ spreadsheets


_NUMBER_RE = re.compile(r"(?<![\d.,])(\d+)(?:[.,](\d+))?(?![\d]|[.,]\d)(\s?%)?")


def _integer_forms(value: int) -> set[str]:
    """An integer as written, with or without thousands separators."""
    plain = str(value)
    forms = {plain}
    if abs(value) >= 1000:
        grouped = f"{value:,}"
        forms |= {grouped, grouped.replace(",", "."), grouped.replace(",", " ")}
    return forms


def _numbers(text: str) -> list[tuple[str, float, int, bool]]:
    """(as written, value, decimals, followed by %) for every number in a passage."""
    out = []
    for m in _NUMBER_RE.finditer(text):
        whole, frac, pct = m.group(1), m.group(2), m.group(3)
        value = float(f"{whole}.{frac}") if frac else float(whole)
        out.append((m.group(0).replace("%", "").strip(), value, len(frac or ""), bool(pct)))
    return out


def _mentions(text: str, numbers: list[tuple[str, float, int, bool]], value) -> bool:
    """Whether a passage writes this figure: an integer as itself, a fraction rounded to two or
    more decimals, or as a percentage at any precision (0.2311 -> "0,23", "23,1 %")."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return any(re.search(rf"(?<![\d.,]){re.escape(f)}(?![\d]|[.,]\d)", text) for f in _integer_forms(value))
    for _, x, decimals, pct in numbers:
        tolerance = 0.5 * 10 ** -decimals + 1e-9
        if pct and abs(x - value * 100) <= tolerance:
            return True
        if decimals >= 2 and abs(x - value) <= tolerance:
            return True
    return False


def _squash(text: str) -> str:
    return _SPACES_RE.sub(" ", text).strip().casefold()


def xlsx_header_cells(path: Path) -> list[tuple[str, str, object]]:
    """(sheet, column header, value) for every numeric cell below a sheet's header row: the first
    row with two or more filled cells, all of them text."""
    import openpyxl

    wb = openpyxl.load_workbook(str(path), data_only=True, read_only=True)
    out = []
    try:
        for ws in wb.worksheets:
            header: list | None = None
            for row in ws.iter_rows(values_only=True):
                if header is None:
                    filled = [v for v in row if v is not None and str(v).strip()]
                    if len(filled) >= 2 and all(isinstance(v, str) for v in filled):
                        header = list(row)
                    continue
                for col, value in enumerate(row):
                    if isinstance(value, bool) or not isinstance(value, (int, float)):
                        continue
                    name = header[col] if col < len(header) else None
                    if isinstance(name, str) and name.strip():
                        out.append((ws.title, name.strip(), value))
    finally:
        wb.close()
    return out


def table_headers_check(path: Path, passages: list[str]) -> tuple[float, list[str]]:
    """Share of spreadsheet figures found in some passage together with their column header."""
    cells = xlsx_header_cells(path)
    if not cells:
        return 1.0, []
    squashed = [_squash(p) for p in passages]
    numbers = [_numbers(p) for p in squashed]
    ok, misses = 0, []
    for sheet, header, value in cells:
        h = _squash(header)
        if any(h in p and _mentions(p, nums, value) for p, nums in zip(squashed, numbers)):
            ok += 1
        elif len(misses) < 5:
            misses.append(f"{sheet}: {header} = {value!r}")
    return ok / len(cells), misses


# ------------------------------------------------------------------ one document


def _clip(text: str, head: bool) -> str:
    s = " ".join(text.split())
    return s[:40] if head else s[-40:]


def _header_footer_chunks(doc: ChunkedDocument, profile: _PdfProfile) -> list[int]:
    """Indexes of chunks holding a running line (beyond the document's own legitimate copies)."""
    allowance = dict(profile.legit)
    flagged = []
    for c in doc.chunks:
        hit = False
        for line in c.text.splitlines():
            norm = normalise_line(line)
            if norm in profile.running and _matchable(norm):
                if allowance.get(norm, 0) > 0:
                    allowance[norm] -= 1
                else:
                    hit = True
            if profile.page_of_total is not None and profile.page_of_total.search(line):
                hit = True
        if hit:
            flagged.append(c.index)
    return flagged


def measure(doc: ChunkedDocument, *, max_chars: int, min_chars: int = 80, source: Path | None = None) -> dict:
    chunks = list(doc.chunks)
    n = len(chunks)
    sizes = [len(c.text) for c in chunks]
    texts = [c.text for c in chunks]

    bad_text = [c.index for c in chunks if doc.text[c.char_start:c.char_end] != c.text]
    bad_pages = []
    last_start = None
    for c in chunks:
        if c.page_start is not None and c.page_end is not None and c.page_end < c.page_start:
            bad_pages.append(c.index)
        if c.page_start is not None:
            if last_start is not None and c.page_start < last_start:
                bad_pages.append(c.index)
            last_start = c.page_start

    offenders = []
    ok_boundaries = 0
    for c in chunks:
        at_paragraph_end = doc.text.startswith("\n\n", c.char_end) or c.char_end >= len(doc.text.rstrip())
        # "I. …, y" / "II. …" : a list item of an enumeration ends on "y" and the next item follows: the
        # passage ends on a list-item boundary, which the issue allows as much as a sentence end.
        next_is_item = at_paragraph_end and bool(_ITEM_START_RE.match(doc.text[c.char_end:].lstrip()))
        good_start = starts_well(c.text)
        good_end = ends_well(c.text, paragraph_end=at_paragraph_end) or (
            next_is_item and bool(_ITEM_START_RE.match(c.text.split("\n\n")[-1])))
        if good_start and good_end:
            ok_boundaries += 1
            continue
        offenders.append({"indice": c.index, "inicio": _clip(c.text, True), "final": _clip(c.text, False),
                          "inicio_ok": good_start, "final_ok": good_end})

    result = {
        "doc_id": doc.doc_id,
        "chunks": n,
        "size_min": min(sizes) if sizes else 0,
        "size_p50": percentile(sizes, 50),
        "size_p95": percentile(sizes, 95),
        "size_max": max(sizes) if sizes else 0,
        "empty": sum(1 for t in texts if not t.strip()),
        "oversized": sum(1 for s in sizes if s > max_chars),
        "short_share": (sum(1 for s in sizes if s < min_chars) / n) if n else 0.0,
        "provenance_exact": not bad_text and not bad_pages,
        "provenance_bad_text": bad_text,
        "provenance_bad_pages": bad_pages,
        "boundary_ok": ok_boundaries / n if n else 0.0,
        "boundary_offenders": offenders,
        "header_footer_share": None,
        "header_footer_chunks": [],
        "word_recall": None,
        "table_headers_ok": None,
        "table_header_misses": [],
    }
    if source is None:
        return result
    source = Path(source)
    suffix = source.suffix.lower()
    if suffix == ".pdf":
        profile = _PdfProfile(source)
        flagged = _header_footer_chunks(doc, profile)
        result["header_footer_share"] = len(flagged) / n if n else 0.0
        result["header_footer_chunks"] = flagged
        result["pdf_pages"] = profile.pages
        # Chunks holding "N de <page count>" anywhere, whether or not it was detected as running.
        result["page_of_total_chunks"] = [c.index for c in chunks if profile.page_of_total_re.search(c.text)]
        if profile.has_text_layer:
            result["word_recall"] = word_recall(profile.reference_text(), texts)
    elif suffix == ".xlsx":
        share, misses = table_headers_check(source, texts)
        result["table_headers_ok"] = share
        result["table_header_misses"] = misses
    return result


# ------------------------------------------------------------------ corpus and report


def evaluate_directory(corpus_dir: Path, settings) -> list[dict]:
    """Every document of `<corpus_dir>/manifest.csv` through the project's parse + chunk, measured."""
    corpus_dir = Path(corpus_dir)
    results = []
    with open(corpus_dir / "manifest.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        doc_id, path = row["id"].strip(), corpus_dir / row["archivo"].strip()
        started = time.perf_counter()
        try:
            doc, stats = _parse_and_chunk(path, doc_id, settings)
        except Exception as exc:  # one broken document is a finding, not the end of the measurement
            results.append({"doc_id": doc_id, "error": f"{type(exc).__name__}: {exc}",
                            "seconds": round(time.perf_counter() - started, 1)})
            continue
        parse_seconds = time.perf_counter() - started
        result = measure(doc, max_chars=settings.chunk_max_chars, source=path)
        result["parse_stats"] = stats
        result["seconds"] = round(parse_seconds, 1)
        results.append(result)
    return results


COLUMNS = [
    ("chunks", "Fragmentos"), ("sizes", "Tamaño mín/p50/p95/máx"), ("empty", "Vacíos"),
    ("oversized", "Sobre el máximo"), ("short_share", "Cortos"), ("provenance_exact", "Procedencia exacta"),
    ("boundary_ok", "Límites de oración"), ("header_footer_share", "Con encabezado/pie"),
    ("word_recall", "Recuperación de palabras"), ("table_headers_ok", "Cifras con encabezado"),
    ("seconds", "Segundos"),
]


def _cell(key: str, r: dict) -> str:
    if key == "sizes":
        return f"{r['size_min']}/{r['size_p50']}/{r['size_p95']}/{r['size_max']}"
    value = r.get(key)
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "sí" if value else "no"
    if isinstance(value, float) and key != "seconds":
        return f"{value:.3f}"
    return str(value)


def report(results: list[dict]) -> str:
    """A Markdown table, one row per document."""
    lines = ["| Documento | " + " | ".join(h for _, h in COLUMNS) + " |",
             "|---|" + "---:|" * len(COLUMNS)]
    for r in results:
        if "error" in r:
            message = " ".join(r["error"].split()).replace("|", "/")[:120]
            lines.append(f"| {r['doc_id']} | error: {message} |" + " |" * (len(COLUMNS) - 1))
            continue
        lines.append(f"| {r['doc_id']} | " + " | ".join(_cell(k, r) for k, _ in COLUMNS) + " |")
    return "\n".join(lines)
