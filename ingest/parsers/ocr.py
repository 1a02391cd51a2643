"""Scanned PDF pages: pdfium renders, tesseract reads (Spanish), into the same page model as the
text layer, so running headers, reading order and paragraphs are handled once for both.

Tesseract is run once per page with TSV output: it gives every word's box and confidence, which
lets us drop stamp and margin noise (low-confidence scraps), flag pages a reader should not trust,
and rebuild lines and paragraphs without a second pass.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ingest.layout import Box, Line, Page
from search.errors import IngestError

log = logging.getLogger(__name__)

OCR_DPI = 300
LOW_CONFIDENCE = 70.0  # mean word confidence under which a page is flagged in the ingest report
NOISE_CONFIDENCE = 45.0  # short scraps under this are stamp, signature or margin noise


@dataclass
class Scanned:
    pages: list[Page] = field(default_factory=list)
    low_confidence: tuple[int, ...] = ()
    corrections: int = 0


def ocr_pages(path: Path, pages: list[int], ocr_languages: str = "spa") -> Scanned:
    import pypdfium2 as pdfium

    tesseract = shutil.which("tesseract")
    if tesseract is None:
        raise IngestError("El PDF contiene páginas escaneadas y el OCR (tesseract) no está instalado en el servidor.",
                          "tesseract not found on PATH")
    env = dict(os.environ, OMP_THREAD_LIMIT="1")  # its OpenMP threads only contend on small machines
    langs = "+".join(lang for lang in ocr_languages.split("+") if lang) or "spa"
    out = Scanned()
    low = []
    pdf = pdfium.PdfDocument(str(path))
    try:
        for number in pages:
            page = pdf[number - 1]
            width, height = page.get_size()
            image = page.render(scale=OCR_DPI / 72, grayscale=True).to_pil()
            png = io.BytesIO()
            image.save(png, "PNG")
            try:
                done = subprocess.run([tesseract, "stdin", "stdout", "-l", langs, "--dpi", str(OCR_DPI), "tsv"],
                                      input=png.getvalue(), capture_output=True, timeout=300, check=True, env=env)
            except subprocess.TimeoutExpired as exc:
                raise IngestError(f"El OCR de la página {number} no terminó a tiempo.",
                                  f"tesseract timed out on page {number} of {path}") from exc
            except subprocess.CalledProcessError as exc:
                raise IngestError(f"No se pudo aplicar OCR a la página {number} del PDF.",
                                  f"tesseract failed on page {number} of {path}: "
                                  f"{exc.stderr.decode(errors='replace')[-300:]}") from exc
            result, confidence = page_from_tsv(done.stdout.decode("utf-8", errors="replace"), number,
                                               width, height, OCR_DPI / 72)
            if confidence is not None and confidence < LOW_CONFIDENCE:
                low.append(number)
            out.pages.append(result)
    finally:
        pdf.close()
    out.corrections = correct(out.pages)
    out.low_confidence = tuple(low)
    log.info("OCR'd %d page(s) without a text layer (%d with low confidence)", len(pages), len(low))
    return out


def page_from_tsv(tsv: str, number: int, width: float, height: float, scale: float) -> tuple[Page, float | None]:
    """Tesseract's paragraphs become boxes, its lines our lines (in PDF points); noise words go."""
    lines: dict[tuple, list[dict]] = {}
    confs = []
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        text = (row.get("text") or "").strip()
        if row.get("level") != "5" or not text:
            continue
        conf = float(row["conf"])
        confs.append(conf)
        if conf < NOISE_CONFIDENCE and (len(text) <= 3 or not any(c.isalnum() for c in text)):
            continue
        key = (int(row["block_num"]), int(row["par_num"]), int(row["line_num"]))
        lines.setdefault(key, []).append({
            "text": text, "x0": int(row["left"]) / scale, "y0": int(row["top"]) / scale,
            "x1": (int(row["left"]) + int(row["width"])) / scale, "y1": (int(row["top"]) + int(row["height"])) / scale,
            "conf": conf,
        })
    boxes: dict[tuple, list[Line]] = {}
    for key in sorted(lines):
        words = _trim(lines[key])
        if not words:
            continue
        text = " ".join(w["text"] for w in words)
        if not _is_text(text, words):
            continue
        heights = sorted(w["y1"] - w["y0"] for w in words)
        boxes.setdefault(key[:2], []).append(Line(min(w["x0"] for w in words), min(w["y0"] for w in words),
                                                  max(w["x1"] for w in words), max(w["y1"] for w in words),
                                                  text, heights[len(heights) // 2]))
    confidence = sum(confs) / len(confs) if confs else None
    return Page(number, width, height, [Box(ls) for ls in boxes.values()]), confidence


def _trim(words: list[dict]) -> list[dict]:
    """Scraps at either end of a line that tesseract was unsure of ("-", "|", "E", "»") are the
    edge of a stamp, a margin mark or a table rule, not words."""
    def scrap(w: dict) -> bool:
        core = re.sub(r"[^\w$%]", "", w["text"])
        return w["conf"] < 70 and (len(core) <= 1 and core.lower() not in ("y", "o", "a", "e", "u", "$", "%")
                                   or not core)

    start, end = 0, len(words)
    while start < end and scrap(words[start]):
        start += 1
    while end > start and scrap(words[end - 1]):
        end -= 1
    return words[start:end]


def _is_text(text: str, words: list[dict]) -> bool:
    """A line worth keeping: at least one real word (3+ letters) read with some confidence."""
    letters = sum(c.isalpha() for c in text)
    if letters < 3:
        return any(c.isdigit() for c in text) and len(text.strip()) >= 2
    return any(len(re.sub(r"[^\w]", "", w["text"])) >= 3 and w["conf"] >= NOISE_CONFIDENCE for w in words)


# ------------------------------------------------------------------ safe Spanish OCR corrections

ARTICLE = re.compile(r"^(\W{0,3})(ART[IÍ]CULO|Art[ií]culo)\s+(\d{1,3})([º°%o*]?)(?=[\s,.:;-]|$)")
ROMAN = re.compile(r"\b(T[IÍ]TULO|CAP[IÍ]TULO|SECCI[OÓ]N|Cap[ií]tulo|T[ií]tulo)\s+([IVXl1]{1,5})\b")
_ROMAN_OK = re.compile(r"^M{0,3}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})$")


def correct(pages: list[Page]) -> int:
    """Corrections that are unambiguous in context; returns how many were made.

    - "ARTICULO 12" where article 1 is expected: tesseract reads the ordinal sign "º" as "2", "9",
      "%" or "°". The number is taken as N + "º" only when N is the next article in sequence and the
      number as read is not; a law that really jumps from article 1 to 12 keeps 12.
    - "CAPÍTULO ll" / "Il" / "1I": roman numerals read with l or 1 become I when the result is a
      valid roman numeral.
    """
    fixed = 0
    expected = 1
    for page in pages:
        for box in page.boxes:
            for ln in box.lines:
                m = ARTICLE.match(ln.text)
                if m:
                    lead, word, digits, sign = m.groups()
                    n = int(digits)
                    new = None
                    if n != expected and digits[:-1] == str(expected) and digits[-1] in "29":
                        new, n = f"{expected}º", expected
                    elif sign in ("%", "°", "o", "*"):
                        new = f"{digits}º"
                    if new is not None:
                        ln.text = f"{lead}{word} {new}" + ln.text[m.end():]
                        fixed += 1
                    expected = n + 1
                text = ROMAN.sub(_roman, ln.text)
                if text != ln.text:
                    fixed += 1
                    ln.text = text
    return fixed


def _roman(m: re.Match) -> str:
    numeral = m.group(2)
    if "l" not in numeral and "1" not in numeral:
        return m.group(0)
    fixed = numeral.replace("l", "I").replace("1", "I")
    return f"{m.group(1)} {fixed}" if _ROMAN_OK.match(fixed) else m.group(0)
