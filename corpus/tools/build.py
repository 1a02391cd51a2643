#!/usr/bin/env python3
"""Generador del corpus de demostración.

Convierte cada fuente ``corpus/fuentes/<id>.md`` en ``corpus/documentos/<id>.<ext>``
según el campo ``formato`` de su encabezado (front matter):

    pdf | pdf-escaneado | docx | pptx | html | xlsx

Uso:
    /work/main/.venv/bin/python corpus/tools/build.py            # todas las fuentes
    /work/main/.venv/bin/python corpus/tools/build.py ID [ID...]  # solo esas (con o sin .md)

Las salidas son reproducibles byte a byte: PDF con ``invariant=1``; PDF escaneado con
ruido de semilla fija y fechas fijas; DOCX/PPTX/XLSX reescritos como ZIP con fecha fija
(1980-01-01), orden estable y fechas de propiedades fijas.

Subconjunto de Markdown admitido: ``#`` título, ``##``/``###`` encabezados, párrafos,
viñetas ``- `` (y listas ``1. ``), ``**negrita**``, ``*cursiva*``, tablas Markdown
(``| a | b |`` con línea ``|---|``) y ``<!-- salto de página -->``.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import html
import io
import os
import random
import re
import sys
import tempfile
import traceback
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent
FUENTES = CORPUS / "fuentes"
DOCUMENTOS = CORPUS / "documentos"

FORMATOS = {
    "pdf": "pdf",
    "pdf-escaneado": "pdf",
    "docx": "docx",
    "pptx": "pptx",
    "html": "html",
    "xlsx": "xlsx",
}

AUTOR = "Corpus de demostración VBG MIRPS"
FECHA_FIJA = _dt.datetime(2024, 1, 1, 0, 0, 0)
ZIP_FECHA = (1980, 1, 1, 0, 0, 0)

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
DEJAVU_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


# ---------------------------------------------------------------------------
# Análisis del Markdown
# ---------------------------------------------------------------------------

@dataclass
class Block:
    kind: str  # h1 h2 h3 p ul ol table pagebreak
    text: str = ""
    items: list = field(default_factory=list)  # ul/ol: list[str]; table: list[list[str]]


@dataclass
class Doc:
    id: str
    meta: dict
    title: str
    blocks: list


PAGEBREAK_RE = re.compile(r"^<!--\s*salto\s+de\s+p[aá]gina\s*-->$", re.I)
COMMENT_RE = re.compile(r"^<!--.*-->$")
TABLE_SEP_RE = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?$")
BULLET_RE = re.compile(r"^\s*[-*+]\s+(.*)$")
NUM_RE = re.compile(r"^\s*\d+[.)]\s+(.*)$")
HEAD_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def split_front_matter(text: str) -> tuple[dict, str]:
    text = text.lstrip("\ufeff")
    if not text.startswith("---"):
        raise ValueError("falta el encabezado (front matter) con 'formato'")
    lines = text.split("\n")
    end = None
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            end = i
            break
    if end is None:
        raise ValueError("encabezado (front matter) sin cierre '---'")
    meta = yaml.safe_load("\n".join(lines[1:end])) or {}
    if not isinstance(meta, dict):
        raise ValueError("encabezado (front matter) inválido")
    return meta, "\n".join(lines[end + 1:])


def split_row(line: str) -> list[str]:
    s = line.strip()
    if s.startswith("|"):
        s = s[1:]
    if s.endswith("|") and not s.endswith("\\|"):
        s = s[:-1]
    cells = re.split(r"(?<!\\)\|", s)
    return [c.strip().replace("\\|", "|") for c in cells]


def parse_markdown(body: str) -> tuple[str, list[Block]]:
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks: list[Block] = []
    title = ""
    para: list[str] = []
    i = 0

    def flush_para():
        if para:
            blocks.append(Block("p", " ".join(x.strip() for x in para)))
            para.clear()

    while i < len(lines):
        raw = lines[i]
        line = raw.strip()
        if not line:
            flush_para()
            i += 1
            continue
        if PAGEBREAK_RE.match(line):
            flush_para()
            blocks.append(Block("pagebreak"))
            i += 1
            continue
        if COMMENT_RE.match(line):
            i += 1
            continue
        m = HEAD_RE.match(line)
        if m:
            flush_para()
            level = len(m.group(1))
            text = m.group(2).strip()
            if level == 1:
                if not title:
                    title = text
                blocks.append(Block("h1", text))
            elif level == 2:
                blocks.append(Block("h2", text))
            else:
                blocks.append(Block("h3", text))
            i += 1
            continue
        # Tabla: línea con '|' seguida de separador
        if line.startswith("|") and i + 1 < len(lines) and TABLE_SEP_RE.match(lines[i + 1].strip()):
            flush_para()
            rows = [split_row(line)]
            i += 2
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append(split_row(lines[i]))
                i += 1
            ncols = max(len(r) for r in rows)
            rows = [r + [""] * (ncols - len(r)) for r in rows]
            blocks.append(Block("table", items=rows))
            continue
        mb = BULLET_RE.match(raw)
        mn = NUM_RE.match(raw)
        if mb or mn:
            flush_para()
            kind = "ul" if mb else "ol"
            rx = BULLET_RE if mb else NUM_RE
            items: list[str] = []
            while i < len(lines):
                l2 = lines[i]
                m2 = rx.match(l2)
                if m2:
                    items.append(m2.group(1).strip())
                    i += 1
                    continue
                # continuación indentada de la viñeta anterior
                if l2.strip() and l2[:1] in (" ", "\t") and items and not BULLET_RE.match(l2) and not NUM_RE.match(l2):
                    items[-1] += " " + l2.strip()
                    i += 1
                    continue
                break
            blocks.append(Block(kind, items=items))
            continue
        para.append(line)
        i += 1
    flush_para()
    return title, blocks


def load(path: Path) -> Doc:
    meta, body = split_front_matter(path.read_text(encoding="utf-8"))
    fmt = str(meta.get("formato", "")).strip()
    if fmt not in FORMATOS:
        raise ValueError(f"formato desconocido {fmt!r} (use: {', '.join(FORMATOS)})")
    title, blocks = parse_markdown(body)
    if not title:
        raise ValueError("falta el título '# ...'")
    return Doc(path.stem, meta, title, blocks)


# Marcado en línea ----------------------------------------------------------

INLINE_RE = re.compile(
    r"\*\*(?P<b>.+?)\*\*"
    r"|(?<![\*\w])\*(?P<i>[^\s*](?:[^*]*?[^\s*])?)\*(?![\*\w])"
    r"|\[(?P<lt>[^\]]+)\]\((?P<lu>[^)\s]+)\)"
    r"|`(?P<c>[^`]+)`"
)


def segments(text: str) -> list[tuple[str, bool, bool]]:
    """Divide el texto en segmentos (texto, negrita, cursiva)."""
    out: list[tuple[str, bool, bool]] = []
    pos = 0
    for m in INLINE_RE.finditer(text):
        if m.start() > pos:
            out.append((text[pos:m.start()], False, False))
        if m.group("b") is not None:
            for t, _b, it in segments(m.group("b")):
                out.append((t, True, it))
        elif m.group("i") is not None:
            out.append((m.group("i"), False, True))
        elif m.group("lt") is not None:
            out.append((m.group("lt"), False, False))
        else:
            out.append((m.group("c"), False, False))
        pos = m.end()
    if pos < len(text):
        out.append((text[pos:], False, False))
    return [s for s in out if s[0]]


def plain(text: str) -> str:
    return "".join(t for t, _b, _i in segments(text))


def doc_date(doc: Doc) -> _dt.datetime:
    for key in ("fecha", "anio"):
        v = doc.meta.get(key)
        if v:
            try:
                if isinstance(v, (_dt.date, _dt.datetime)):
                    return _dt.datetime(v.year, v.month, v.day)
                s = str(v)
                if re.fullmatch(r"\d{4}", s):
                    return _dt.datetime(int(s), 1, 1)
                return _dt.datetime.fromisoformat(s)
            except Exception:
                pass
    return FECHA_FIJA


def sections(doc: Doc) -> tuple[list[Block], list[tuple[str, list[Block]]]]:
    """Devuelve (bloques de introducción, [(título ##, bloques)])."""
    intro: list[Block] = []
    secs: list[tuple[str, list[Block]]] = []
    for b in doc.blocks:
        if b.kind == "h1":
            continue
        if b.kind == "h2":
            secs.append((b.text, []))
        elif secs:
            secs[-1][1].append(b)
        else:
            intro.append(b)
    return intro, secs


# ---------------------------------------------------------------------------
# PDF (reportlab)
# ---------------------------------------------------------------------------

WINANSI_SUBS = {
    "\u2265": ">=", "\u2264": "<=", "\u2192": "->", "\u2190": "<-", "\u2248": "~",
    "\u2212": "-", "\u2011": "-", "\u2010": "-", "\u202f": " ", "\u2009": " ",
    "\u2713": "-", "\u2714": "-", "\u25cf": "\u2022", "\u25aa": "\u2022",
}


def winansi(text: str, warn: list) -> str:
    for k, v in WINANSI_SUBS.items():
        text = text.replace(k, v)
    out = []
    for ch in text:
        try:
            ch.encode("cp1252")
            out.append(ch)
        except UnicodeEncodeError:
            warn.append(ch)
            out.append("?")
    return "".join(out)


def rl_markup(text: str, warn: list) -> str:
    parts = []
    for t, b, it in segments(text):
        t = html.escape(winansi(t, warn), quote=False)
        if it:
            t = f"<i>{t}</i>"
        if b:
            t = f"<b>{t}</b>"
        parts.append(t)
    return "".join(parts)


def build_pdf(doc: Doc, out: Path) -> None:
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_JUSTIFY, TA_LEFT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import cm
    from reportlab.platypus import (KeepTogether, ListFlowable, ListItem, PageBreak,
                                    Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle)

    warn: list = []
    base = ParagraphStyle("base", fontName="Helvetica", fontSize=10.5, leading=14.5,
                          alignment=TA_JUSTIFY, spaceAfter=6)
    st_title = ParagraphStyle("titulo", parent=base, fontName="Helvetica-Bold", fontSize=19,
                              leading=24, alignment=TA_LEFT, spaceAfter=14)
    st_h2 = ParagraphStyle("h2", parent=base, fontName="Helvetica-Bold", fontSize=13.5,
                           leading=17, alignment=TA_LEFT, spaceBefore=10, spaceAfter=6)
    st_h3 = ParagraphStyle("h3", parent=base, fontName="Helvetica-Bold", fontSize=11.5,
                           leading=15, alignment=TA_LEFT, spaceBefore=6, spaceAfter=4)
    st_item = ParagraphStyle("item", parent=base, spaceAfter=2)
    st_cell = ParagraphStyle("celda", parent=base, fontSize=9, leading=11.5, alignment=TA_LEFT,
                             spaceAfter=0)
    st_cell_h = ParagraphStyle("celda_h", parent=st_cell, fontName="Helvetica-Bold")

    story = []
    first_title = True
    for b in doc.blocks:
        if b.kind == "h1":
            story.append(Paragraph(rl_markup(b.text, warn), st_title if first_title else st_h2))
            first_title = False
        elif b.kind in ("h2", "h3"):
            st = st_h2 if b.kind == "h2" else st_h3
            story.append(Paragraph(rl_markup(plain(b.text), warn), st))
        elif b.kind == "p":
            story.append(Paragraph(rl_markup(b.text, warn), base))
        elif b.kind in ("ul", "ol"):
            items = [ListItem(Paragraph(rl_markup(t, warn), st_item), leftIndent=16)
                     for t in b.items]
            kw = dict(bulletType="bullet", start="\u2022") if b.kind == "ul" else dict(bulletType="1", bulletFormat="%s.")
            story.append(ListFlowable(items, leftIndent=16, bulletFontName="Helvetica",
                                      bulletFontSize=10, spaceAfter=6, **kw))
            story.append(Spacer(1, 4))
        elif b.kind == "table":
            rows = b.items
            data = [[Paragraph(rl_markup(c, warn), st_cell_h if r == 0 else st_cell) for c in row]
                    for r, row in enumerate(rows)]
            width = A4[0] - 5 * cm
            t = Table(data, colWidths=[width / len(rows[0])] * len(rows[0]), repeatRows=1)
            t.setStyle(TableStyle([
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E6E6E6")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]))
            story.append(t)
            story.append(Spacer(1, 8))
        elif b.kind == "pagebreak":
            story.append(PageBreak())

    # Evita encabezados huérfanos al final de página.
    merged = []
    for fl in story:
        if merged and isinstance(merged[-1], Paragraph) and merged[-1].style.name in ("h2", "h3") \
                and not isinstance(fl, PageBreak):
            merged[-1] = KeepTogether([merged[-1], fl])
        else:
            merged.append(fl)

    buf = io.BytesIO()
    kwargs = dict(pagesize=A4, leftMargin=2.5 * cm, rightMargin=2.5 * cm, topMargin=2.3 * cm,
                  bottomMargin=2.3 * cm, title=winansi(plain(doc.title), []), author=AUTOR,
                  creator=AUTOR, producer="ReportLab", subject="", invariant=1)
    try:
        pdf = SimpleDocTemplate(buf, lang="es", **kwargs)
    except TypeError:
        pdf = SimpleDocTemplate(buf, **kwargs)
    pdf.build(merged)
    if warn:
        print(f"  aviso {doc.id}: caracteres fuera de WinAnsi sustituidos por '?': "
              f"{''.join(sorted(set(warn)))}", file=sys.stderr)
    write_bytes(out, buf.getvalue())


# ---------------------------------------------------------------------------
# PDF escaneado (solo imagen)
# ---------------------------------------------------------------------------

def build_scanned(doc: Doc, out: Path) -> None:
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    dpi = 200
    W, H = round(8.2677 * dpi), round(11.6929 * dpi)  # A4
    ML, MR, MT, MB = 200, 190, 210, 220
    px = lambda pt: round(pt * dpi / 72)  # noqa: E731
    fonts = {
        "body": (ImageFont.truetype(str(DEJAVU), px(11)), ImageFont.truetype(str(DEJAVU_BOLD), px(11))),
        "h1": (ImageFont.truetype(str(DEJAVU_BOLD), px(16.5)),) * 2,
        "h2": (ImageFont.truetype(str(DEJAVU_BOLD), px(13)),) * 2,
        "h3": (ImageFont.truetype(str(DEJAVU_BOLD), px(12)),) * 2,
    }
    seed = int(hashlib.sha256(doc.id.encode("utf-8")).hexdigest()[:16], 16)
    rng = random.Random(seed)

    pages: list = []
    state = {"img": None, "draw": None, "y": MT}

    def new_page():
        img = Image.new("L", (W, H), 255)
        pages.append(img)
        state.update(img=img, draw=ImageDraw.Draw(img), y=MT)

    def ensure(h):
        if state["img"] is None or state["y"] + h > H - MB:
            new_page()

    def tokens_of(text, bold_all=False):
        toks = []
        for t, b, _it in segments(text):
            if t[:1].isspace() and toks and toks[-1][0] == toks[-1][0].rstrip():
                toks[-1] = (toks[-1][0] + " ", toks[-1][1])
            for w in re.findall(r"\S+\s*", t):
                toks.append((w, b or bold_all))
        return toks

    def draw_text(text, kind="body", indent=0, bullet=None, bold_all=False, space_after=0.55):
        reg, bold = fonts[kind]
        size = reg.size
        lead = round(size * 1.38)
        maxw = W - ML - MR - indent
        toks = tokens_of(text, bold_all or kind != "body")
        lines, cur, curw = [], [], 0
        for w, b in toks:
            f = bold if b else reg
            ww = f.getlength(w.rstrip())
            sw = f.getlength(" ") if w != w.rstrip() else 0
            if cur and curw + ww > maxw:
                lines.append(cur)
                cur, curw = [], 0
            cur.append((w, b))
            curw += ww + sw
        if cur:
            lines.append(cur)
        for n, ln in enumerate(lines):
            ensure(lead)
            x = ML + indent
            if n == 0 and bullet:
                state["draw"].text((x - px(16 if len(bullet) > 1 else 12), state["y"]), bullet, font=reg, fill=rng.randint(15, 40))
            for w, b in ln:
                f = bold if b else reg
                ink = rng.randint(10, 40)
                state["draw"].text((x, state["y"]), w.rstrip(), font=f, fill=ink)
                x += f.getlength(w.rstrip()) + (f.getlength(" ") if w != w.rstrip() else 0)
            state["y"] += lead
        state["y"] += round(lead * space_after)

    for b in doc.blocks:
        if b.kind == "h1":
            ensure(px(40))
            draw_text(plain(b.text), "h1", space_after=0.6)
        elif b.kind == "h2":
            ensure(px(60))
            state["y"] += px(4)
            draw_text(plain(b.text), "h2", space_after=0.3)
        elif b.kind == "h3":
            ensure(px(50))
            draw_text(plain(b.text), "h3", space_after=0.25)
        elif b.kind == "p":
            draw_text(b.text)
        elif b.kind in ("ul", "ol"):
            for n, t in enumerate(b.items, 1):
                draw_text(t, indent=px(20), bullet="\u2022" if b.kind == "ul" else f"{n}.",
                          space_after=0.15)
            state["y"] += px(4)
        elif b.kind == "table":
            for r, row in enumerate(b.items):
                draw_text("   |   ".join(plain(c) for c in row), bold_all=(r == 0), space_after=0.1)
            state["y"] += px(6)
        elif b.kind == "pagebreak":
            if state["img"] is not None:
                new_page()
    if not pages:
        new_page()

    final = []
    for img in pages:
        d = ImageDraw.Draw(img)
        # ruido de escáner: motas grises muy claras
        for _ in range(2500):
            x, y = rng.randrange(W), rng.randrange(H)
            g = rng.randint(185, 235)
            s = rng.choice((1, 1, 1, 2))
            d.rectangle((x, y, x + s - 1, y + s - 1), fill=g)
        # leve sombra en el borde del escaneo
        for k in range(6):
            d.line((W - 1 - k, 0, W - 1 - k, H), fill=232 + 3 * k)
        angle = rng.uniform(-0.3, 0.3)
        img = img.rotate(angle, resample=Image.BICUBIC, expand=False, fillcolor=255)
        img = img.filter(ImageFilter.GaussianBlur(0.45))
        final.append(img)

    dt = doc_date(doc)
    buf = io.BytesIO()
    final[0].save(buf, "PDF", resolution=float(dpi), save_all=True, append_images=final[1:],
                  title=plain(doc.title), author=AUTOR, creator="Escáner", producer="Escáner",
                  creationDate=dt.timetuple(), modDate=dt.timetuple(), quality=80)
    write_bytes(out, buf.getvalue())


# ---------------------------------------------------------------------------
# DOCX
# ---------------------------------------------------------------------------

def save_office(package, doc, out) -> None:
    """Fixed core properties (no template author, a stable date) and a normalised zip, so a
    rebuild gives identical bytes (docx and pptx share the OPC core-properties part)."""
    cp = package.core_properties
    dt = doc_date(doc)
    cp.title = plain(doc.title)
    cp.language = "es"
    cp.author = AUTOR
    cp.last_modified_by = AUTOR
    cp.comments = cp.subject = cp.keywords = cp.category = ""
    cp.revision = 1
    cp.created = cp.modified = cp.last_printed = dt
    buf = io.BytesIO()
    package.save(buf)
    write_bytes(out, normalize_zip(buf.getvalue(), dt))


def build_docx(doc: Doc, out: Path) -> None:
    from docx import Document
    from docx.enum.text import WD_BREAK
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    d = Document()
    sec = d.sections[0]
    sec.page_width, sec.page_height = Cm(21.0), Cm(29.7)
    sec.left_margin = sec.right_margin = Cm(2.5)
    sec.top_margin = sec.bottom_margin = Cm(2.3)

    # idioma por defecto del documento
    rpr_default = d.styles.element.find(qn("w:docDefaults") + "/" + qn("w:rPrDefault") + "/" + qn("w:rPr"))
    if rpr_default is not None:
        lang = rpr_default.find(qn("w:lang"))
        if lang is None:
            lang = OxmlElement("w:lang")
            rpr_default.append(lang)
        lang.set(qn("w:val"), "es-419")
        lang.set(qn("w:eastAsia"), "es-419")
        lang.set(qn("w:bidi"), "ar-SA")
    d.styles["Normal"].font.size = Pt(11)

    def add_runs(p, text):
        for t, b, it in segments(text):
            r = p.add_run(t)
            r.bold = b or None
            r.italic = it or None

    first = True
    pending_break = False
    for b in doc.blocks:
        if b.kind == "pagebreak":
            pending_break = True
            continue
        if pending_break:
            # salto de página real dentro del párrafo anterior al siguiente bloque
            p = d.add_paragraph()
            p.add_run().add_break(WD_BREAK.PAGE)
            pending_break = False
        if b.kind == "h1":
            d.add_heading(plain(b.text), level=0 if first else 1)
            first = False
        elif b.kind == "h2":
            d.add_heading(plain(b.text), level=1)
        elif b.kind == "h3":
            d.add_heading(plain(b.text), level=2)
        elif b.kind == "p":
            add_runs(d.add_paragraph(), b.text)
        elif b.kind in ("ul", "ol"):
            style = "List Bullet" if b.kind == "ul" else "List Number"
            for t in b.items:
                add_runs(d.add_paragraph(style=style), t)
        elif b.kind == "table":
            rows = b.items
            t = d.add_table(rows=len(rows), cols=len(rows[0]))
            t.style = "Table Grid"
            for r, row in enumerate(rows):
                for c, val in enumerate(row):
                    cell = t.cell(r, c)
                    cell.text = ""
                    p = cell.paragraphs[0]
                    for tx, bo, it in segments(val):
                        run = p.add_run(tx)
                        run.bold = True if r == 0 else (bo or None)
                        run.italic = it or None
            d.add_paragraph()

    save_office(d, doc, out)


# ---------------------------------------------------------------------------
# PPTX
# ---------------------------------------------------------------------------

def build_pptx(doc: Doc, out: Path) -> None:
    from pptx import Presentation
    from pptx.enum.lang import MSO_LANGUAGE_ID
    from pptx.enum.text import MSO_AUTO_SIZE
    from pptx.oxml.ns import qn
    from pptx.util import Pt

    lang_id = getattr(MSO_LANGUAGE_ID, "SPANISH_LATIN_AMERICA", None) or \
        getattr(MSO_LANGUAGE_ID, "MEXICAN_SPANISH", None) or getattr(MSO_LANGUAGE_ID, "SPANISH", None)

    prs = Presentation()
    intro, secs = sections(doc)

    def no_bullet(par):
        pPr = par._p.get_or_add_pPr()
        pPr.set("marL", "0")
        pPr.set("indent", "0")
        for old in pPr.findall(qn("a:buNone")):
            pPr.remove(old)
        from lxml import etree
        pPr.insert(0, etree.SubElement(pPr, qn("a:buNone")))

    def add_runs(par, text, size, bold_all=False):
        for t, b, it in segments(text):
            r = par.add_run()
            r.text = t
            r.font.size = Pt(size)
            if b or bold_all:
                r.font.bold = True
            if it:
                r.font.italic = True
            if lang_id is not None:
                r.font.language_id = lang_id

    def fill(tf, items, base_size):
        """items: list of (kind, text) with kind in p|li|h3|row."""
        tf.clear()
        tf.word_wrap = True
        tf.auto_size = MSO_AUTO_SIZE.TEXT_TO_FIT_SHAPE
        nchars = sum(len(plain(t)) for _k, t in items) + 40 * len(items)
        size = base_size
        for limit, s in ((350, base_size), (550, 20), (750, 18), (950, 16), (1250, 14), (1700, 12)):
            if nchars <= limit:
                size = min(s, base_size)
                break
        else:
            size = 11
        for n, (kind, text) in enumerate(items):
            par = tf.paragraphs[0] if n == 0 else tf.add_paragraph()
            if kind == "li":
                par.level = 0
                add_runs(par, text, size)
            else:
                no_bullet(par)
                add_runs(par, text, size, bold_all=(kind in ("h3", "row0")))
            par.space_after = Pt(4)

    def items_of(blocks):
        items = []
        for b in blocks:
            if b.kind in ("p", "h3"):
                items.append((b.kind, b.text))
            elif b.kind in ("ul", "ol"):
                items.extend(("li", t) for t in b.items)
            elif b.kind == "table":
                for r, row in enumerate(b.items):
                    items.append(("row0" if r == 0 else "row", " — ".join(row)))
        return items

    s0 = prs.slides.add_slide(prs.slide_layouts[0])
    s0.shapes.title.text_frame.text = plain(doc.title)
    for p in s0.shapes.title.text_frame.paragraphs:
        for r in p.runs:
            r.font.size = Pt(32 if len(doc.title) < 60 else 26)
            if lang_id is not None:
                r.font.language_id = lang_id
    sub = s0.placeholders[1]
    intro_items = items_of(intro)
    if intro_items:
        fill(sub.text_frame, intro_items, 16)
    else:
        sub._element.getparent().remove(sub._element)

    for title, blocks in secs:
        s = prs.slides.add_slide(prs.slide_layouts[1])
        s.shapes.title.text_frame.text = plain(title)
        for p in s.shapes.title.text_frame.paragraphs:
            for r in p.runs:
                r.font.size = Pt(32 if len(title) < 40 else 26)
                if lang_id is not None:
                    r.font.language_id = lang_id
        body = s.placeholders[1]
        its = items_of(blocks)
        if its:
            fill(body.text_frame, its, 22)
        else:
            body._element.getparent().remove(body._element)

    save_office(prs, doc, out)


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------

def html_inline(text: str) -> str:
    parts = []
    pos = 0
    for m in INLINE_RE.finditer(text):
        parts.append(html.escape(text[pos:m.start()], quote=False))
        if m.group("b") is not None:
            parts.append(f"<strong>{html_inline(m.group('b'))}</strong>")
        elif m.group("i") is not None:
            parts.append(f"<em>{html.escape(m.group('i'), quote=False)}</em>")
        elif m.group("lt") is not None:
            parts.append(html.escape(m.group("lt"), quote=False))
        else:
            parts.append(f"<code>{html.escape(m.group('c'), quote=False)}</code>")
        pos = m.end()
    parts.append(html.escape(text[pos:], quote=False))
    return "".join(parts)


HTML_STYLE = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;line-height:1.55;"
    "color:#1d1d1f;max-width:46rem;margin:2rem auto;padding:0 1rem}"
    "h1{font-size:1.7rem;line-height:1.25}h2{font-size:1.3rem;margin-top:2rem;"
    "border-bottom:1px solid #ddd;padding-bottom:.2rem}h3{font-size:1.1rem}"
    "table{border-collapse:collapse;width:100%}th,td{border:1px solid #bbb;padding:.3rem .5rem;"
    "text-align:left;vertical-align:top}th{background:#eee}"
)


def build_html(doc: Doc, out: Path) -> None:
    lines = [
        "<!DOCTYPE html>",
        '<html lang="es">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(plain(doc.title), quote=False)}</title>",
        f"<style>{HTML_STYLE}</style>",
        "</head>",
        "<body>",
        "<main>",
        "<article>",
    ]
    in_section = False
    first = True
    for b in doc.blocks:
        if b.kind == "h1":
            tag = "h1" if first else "h2"
            first = False
            lines.append(f"<header><{tag}>{html_inline(b.text)}</{tag}></header>")
        elif b.kind == "h2":
            if in_section:
                lines.append("</section>")
            lines.append("<section>")
            in_section = True
            lines.append(f"<h2>{html_inline(b.text)}</h2>")
        elif b.kind == "h3":
            lines.append(f"<h3>{html_inline(b.text)}</h3>")
        elif b.kind == "p":
            lines.append(f"<p>{html_inline(b.text)}</p>")
        elif b.kind in ("ul", "ol"):
            lines.append(f"<{b.kind}>")
            lines.extend(f"<li>{html_inline(t)}</li>" for t in b.items)
            lines.append(f"</{b.kind}>")
        elif b.kind == "table":
            lines.append("<table>")
            lines.append("<thead><tr>" + "".join(f"<th>{html_inline(c)}</th>" for c in b.items[0])
                         + "</tr></thead>")
            lines.append("<tbody>")
            for row in b.items[1:]:
                lines.append("<tr>" + "".join(f"<td>{html_inline(c)}</td>" for c in row) + "</tr>")
            lines.append("</tbody>")
            lines.append("</table>")
    if in_section:
        lines.append("</section>")
    lines += ["</article>", "</main>", "</body>", "</html>", ""]
    write_bytes(out, "\n".join(lines).encode("utf-8"))


# ---------------------------------------------------------------------------
# XLSX
# ---------------------------------------------------------------------------

INVALID_SHEET = re.compile(r"[\[\]:*?/\\]")


def sheet_name(title: str, used: set) -> str:
    name = INVALID_SHEET.sub(" ", plain(title)).strip().strip("'") or "Hoja"
    name = re.sub(r"\s+", " ", name)[:31].strip()
    base, n = name, 2
    while name.lower() in used:
        suf = f" ({n})"
        name = base[:31 - len(suf)].rstrip() + suf
        n += 1
    used.add(name.lower())
    return name


def cell_value(text: str):
    t = plain(text)
    if re.fullmatch(r"-?(0|[1-9]\d{0,14})", t):
        return int(t)
    return t


def build_xlsx(doc: Doc, out: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    used: set = set()
    bold = Font(bold=True)
    title_font = Font(bold=True, size=14)
    head_fill = PatternFill("solid", fgColor="E6E6E6")
    wrap = Alignment(wrap_text=True, vertical="top")
    intro, secs = sections(doc)

    def set_widths(ws, widths):
        for c, w in widths.items():
            ws.column_dimensions[get_column_letter(c)].width = max(10, min(60, w + 2))

    def write_text_rows(ws, row, blocks, widths):
        for b in blocks:
            if b.kind in ("p", "h3"):
                ws.cell(row=row, column=1, value=plain(b.text)).alignment = Alignment(vertical="top")
                if b.kind == "h3":
                    ws.cell(row=row, column=1).font = bold
                row += 1
            elif b.kind in ("ul", "ol"):
                for t in b.items:
                    ws.cell(row=row, column=1, value="• " + plain(t))
                    row += 1
        return row

    # Portada: título e introducción
    ws = wb.active
    ws.title = sheet_name("Portada", used)
    ws.cell(row=1, column=1, value=plain(doc.title)).font = title_font
    row = write_text_rows(ws, 3, intro, {})
    ws.column_dimensions["A"].width = 120
    for r in range(3, row):
        ws.cell(row=r, column=1).alignment = Alignment(wrap_text=True, vertical="top")

    for title, blocks in secs:
        ws = wb.create_sheet(sheet_name(title, used))
        widths: dict = {}
        row = 1
        tables = [b for b in blocks if b.kind == "table"]
        others = [b for b in blocks if b.kind != "table"]
        for tb in tables:
            for r, vals in enumerate(tb.items):
                for c, v in enumerate(vals, 1):
                    cell = ws.cell(row=row, column=c, value=cell_value(v))
                    cell.alignment = wrap
                    if r == 0:
                        cell.font = bold
                        cell.fill = head_fill
                    widths[c] = max(widths.get(c, 0), len(plain(v)))
                row += 1
            row += 1
        if tables:
            ws.freeze_panes = "A2"
        write_text_rows(ws, row, others, widths)
        if not tables:
            widths[1] = 120
        set_widths(ws, widths)

    dt = doc_date(doc)
    p = wb.properties
    p.title = plain(doc.title)
    p.creator = AUTOR
    p.lastModifiedBy = AUTOR
    p.language = "es"
    p.created = dt
    p.modified = dt
    buf = io.BytesIO()
    wb.save(buf)
    write_bytes(out, normalize_zip(buf.getvalue(), dt))


# ---------------------------------------------------------------------------
# Utilidades
# ---------------------------------------------------------------------------

CORE_DATE_RE = re.compile(
    rb"(<dcterms:(created|modified)\b[^>]*>)[^<]*(</dcterms:(created|modified)>)")
LAST_PRINTED_RE = re.compile(rb"(<cp:lastPrinted>)[^<]*(</cp:lastPrinted>)")


def normalize_zip(data: bytes, dt: _dt.datetime) -> bytes:
    """Reescribe un paquete OOXML con fechas fijas y orden estable de entradas."""
    stamp = dt.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    src = zipfile.ZipFile(io.BytesIO(data))
    entries = {i.filename: src.read(i.filename) for i in src.infolist()}
    if "docProps/core.xml" in entries:
        x = entries["docProps/core.xml"]
        x = CORE_DATE_RE.sub(lambda m: m.group(1) + stamp + m.group(3), x)
        x = LAST_PRINTED_RE.sub(lambda m: m.group(1) + stamp + m.group(2), x)
        entries["docProps/core.xml"] = x
    names = sorted(entries, key=lambda n: (n != "[Content_Types].xml", n))
    outb = io.BytesIO()
    with zipfile.ZipFile(outb, "w") as z:
        for n in names:
            zi = zipfile.ZipInfo(n, date_time=ZIP_FECHA)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.create_system = 0
            zi.external_attr = 0
            z.writestr(zi, entries[n], compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
    return outb.getvalue()


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


BUILDERS = {
    "pdf": build_pdf,
    "pdf-escaneado": build_scanned,
    "docx": build_docx,
    "pptx": build_pptx,
    "html": build_html,
    "xlsx": build_xlsx,
}


def main(argv: list[str]) -> int:
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__)
        return 0
    if argv:
        ids = [Path(a).name[:-3] if a.endswith(".md") else Path(a).name for a in argv]
        paths = [FUENTES / f"{i}.md" for i in ids]
    else:
        paths = sorted(FUENTES.glob("*.md"))
    failed: list[tuple[str, str]] = []
    for p in paths:
        if not p.exists():
            failed.append((p.stem, "no existe la fuente " + str(p.relative_to(CORPUS))))
            continue
        try:
            doc = load(p)
            fmt = str(doc.meta["formato"]).strip()
            out = DOCUMENTOS / f"{doc.id}.{FORMATOS[fmt]}"
            BUILDERS[fmt](doc, out)
            print(f"{out.relative_to(CORPUS)}  ({fmt})")
        except Exception as e:  # noqa: BLE001
            failed.append((p.stem, f"{type(e).__name__}: {e}"))
            if os.environ.get("BUILD_DEBUG"):
                traceback.print_exc()
    if failed:
        print(f"ERROR: {len(failed)} fuente(s) fallaron:", file=sys.stderr)
        for i, msg in failed:
            print(f"  {i}: {msg}", file=sys.stderr)
        return 1
    print(f"{len(paths)} documento(s) generados.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
