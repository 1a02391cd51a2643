"""Hostile input for ingestion and upload: files and manifest rows built to break or abuse the pipeline.

`generate(dest)` writes every case under `dest/hostiles/` and returns them with the manifest row
that lists each one (`archivo` relative to `dest`), so `dest` can serve as (part of) a corpus
folder. Each case says what the product must do with it:

- "rejected": the document fails alone, with a Spanish reason (`reason` is a fragment of it);
- "ingested-safely": the document goes in, and its hostile text stays inert text (escaped
  wherever it is shown).

Run `python -m evals.hostile DEST` to write the files and print the cases.
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

REJECTED, SAFE = "rejected", "ingested-safely"

# Every payload either calls alert() (caught by a dialog handler) or sets the window.__xss canary.
XSS_PAYLOADS = [
    "<script>window.__xss=1;alert(1)</script>",
    "<img src=x onerror=\"window.__xss=1;alert(1)\">",
    "<a href=\"javascript:window.__xss=1;alert(1)\">enlace</a>",
    "\"><svg onload=\"window.__xss=1;alert(1)\">",
]
XSS_TEXT = " ".join(XSS_PAYLOADS)  # < 300 characters: fits every free-text manifest field
# Tags that must never reach a page as live markup (escaped, they read "&lt;script" and so on).
XSS_MARKUP = ["<script", "<img", "<svg", "<a href=\"javascript:"]

GOOD_TEXT = ("La casa de acogida municipal recibe a mujeres sobrevivientes de violencia y a sus hijas e hijos. "
             "El equipo ofrece acompañamiento psicosocial, orientación jurídica y un plan de seguridad.")

BOMB_MEMBER_BYTES = 400 * 1024 * 1024
HUGE_FILE_BYTES = 100 * 1024 * 1024
NESTED_DIVS = 100_000


@dataclass
class HostileCase:
    name: str
    path: Path | None  # the file on disk (None when the manifest row itself is the attack)
    row: dict[str, str]  # manifest row fields
    expected: str  # REJECTED | SAFE
    reason: str = ""  # fragment of the Spanish reason for a rejection
    upload_filename: str = ""  # the filename a browser would send for this file
    xss_fields: tuple[str, ...] = field(default_factory=tuple)  # where the payloads sit (for SAFE cases)

    @property
    def doc_id(self) -> str:
        return self.row["id"]


def base_row(doc_id: str, archivo: str, titulo: str, **overrides) -> dict[str, str]:
    row = {
        "id": doc_id, "archivo": archivo, "titulo": titulo, "tipo_documento": "buena-practica",
        "paises": "guatemala", "municipio": "Villa Prueba", "nivel_gobierno": "municipal",
        "organizacion": "Oficina Municipal de la Mujer (ficticia)", "anio": "2024",
        "areas_intervencion": "prevencion", "poblaciones": "", "formas_violencia": "", "estandares": "",
        "url_fuente": "", "idioma": "es", "nivel_evidencia": "ilustrativa",
    }
    row.update(overrides)
    return row


# ------------------------------------------------------------------ builders


def _pdf_bytes(lines: list[str]) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    y = 780
    for line in lines:
        c.drawString(60, y, line)
        y -= 18
    c.showPage()
    c.save()
    return buffer.getvalue()


def _docx_bytes(title: str, paragraphs: list[str]) -> bytes:
    import docx

    d = docx.Document()
    d.add_heading(title, level=0)
    for p in paragraphs:
        d.add_paragraph(p)
    buffer = io.BytesIO()
    d.save(buffer)
    return buffer.getvalue()


def _encrypted_pdf(path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_pdf_bytes(["Documento confidencial", GOOD_TEXT[:90]]))))
    writer.encrypt(user_password="secreto", owner_password="secreto-dueno", algorithm="AES-256")
    with open(path, "wb") as f:
        writer.write(f)


def _javascript_pdf(path: Path) -> None:
    """A readable PDF that runs JavaScript when opened (/OpenAction with a /JavaScript action)."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import DictionaryObject, NameObject, TextStringObject

    lines = ["Protocolo de primera respuesta en el municipio", GOOD_TEXT[:95], GOOD_TEXT[95:],
             "Texto con carga: <script>alert(1)</script>"]
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_pdf_bytes(lines))))
    js = "app.alert('xss'); this.submitForm('http://127.0.0.1:9/robo');"
    writer._root_object[NameObject("/OpenAction")] = DictionaryObject({
        NameObject("/S"): NameObject("/JavaScript"),
        NameObject("/JS"): TextStringObject(js),
    })
    with open(path, "wb") as f:
        writer.write(f)


def _zip_bomb_docx(path: Path) -> None:
    """A valid DOCX plus a 400 MB member of zeros, deflated (about 400 KB on disk)."""
    path.write_bytes(_docx_bytes("Documento con bomba", [GOOD_TEXT]))
    zeros = bytes(1 << 20)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        with z.open("word/media/relleno.bin", "w", force_zip64=True) as member:
            for _ in range(BOMB_MEMBER_BYTES // len(zeros)):
                member.write(zeros)


def _sparse_file(path: Path, size: int, head: bytes) -> None:
    with open(path, "wb") as f:
        f.write(head)
        f.seek(size - 1)
        f.write(b"\n")


def _nested_html(path: Path) -> None:
    body = ("<div>" * NESTED_DIVS + "<p>" + GOOD_TEXT + "</p>" + "</div>" * NESTED_DIVS)
    path.write_text("<!doctype html><html lang='es'><head><meta charset='utf-8'><title>Anidado</title></head>"
                    f"<body>{body}</body></html>", encoding="utf-8")


def _xss_html(path: Path) -> None:
    import html

    escaped = html.escape(XSS_TEXT, quote=False)  # shown as text by the parser, so it reaches the index
    path.write_text(
        "<!doctype html><html lang='es'><head><meta charset='utf-8'><title>Carga XSS</title>"
        "<script>window.__xss=1;alert(1)</script></head><body>"
        "<h1>Red de acompañamiento</h1>"
        f"<p>{GOOD_TEXT}</p><p>Carga en el texto: {escaped}</p>"
        f"{XSS_PAYLOADS[1]}{XSS_PAYLOADS[2]}{XSS_PAYLOADS[3]}"
        "<p>La red coordina con la fiscalía y el centro de salud.</p></body></html>", encoding="utf-8")


# ------------------------------------------------------------------ the cases


def generate(dest: Path) -> list[HostileCase]:
    """Write every hostile file under `dest/hostiles/` and return the cases (rows relative to `dest`)."""
    dest = Path(dest)
    folder = dest / "hostiles"
    folder.mkdir(parents=True, exist_ok=True)
    cases: list[HostileCase] = []

    def add(name: str, filename: str | None, expected: str, reason: str = "", *, writer=None, data: bytes | None = None,
            upload_filename: str | None = None, xss_fields: tuple[str, ...] = (), **row) -> HostileCase:
        path = None
        archivo = row.pop("archivo", None)
        if filename is not None:
            path = folder / filename
            if writer is not None:
                writer(path)
            elif data is not None:
                path.write_bytes(data)
            archivo = archivo or f"hostiles/{filename}"
        titulo = row.pop("titulo", f"Caso hostil: {name}")
        case = HostileCase(name, path, base_row(f"hostil-{name}", archivo or "", titulo, **row), expected, reason,
                           upload_filename if upload_filename is not None else (filename or ""), xss_fields)
        cases.append(case)
        return case

    good_pdf = _pdf_bytes(["Ruta de atención en la frontera", GOOD_TEXT[:95], GOOD_TEXT[95:]] * 4)

    add("vacio", "vacio.pdf", REJECTED, "vacío", data=b"")
    add("pdf-truncado", "truncado.pdf", REJECTED, "dañado", data=good_pdf[: len(good_pdf) // 2])
    add("pdf-cifrado", "cifrado.pdf", REJECTED, "contraseña", writer=_encrypted_pdf)
    add("pdf-javascript", "javascript.pdf", SAFE, writer=_javascript_pdf, xss_fields=("texto",))
    add("bomba-zip", "bomba.docx", REJECTED, "bomba ZIP", writer=_zip_bomb_docx)
    add("extension-falsa", "docx-disfrazado.pdf", REJECTED, "no coincide",
        data=_docx_bytes("Disfrazado", [GOOD_TEXT]))
    add("enorme", "enorme.pdf", REJECTED, "el máximo es",
        writer=lambda p: _sparse_file(p, HUGE_FILE_BYTES, _pdf_bytes(["Documento enorme"])))
    # 100,000 nested <div>s around one paragraph: the page's text is read (lxml caps the depth it
    # builds) and goes in as an ordinary document; nothing crashes or hangs.
    add("html-anidado", "anidado.html", SAFE, writer=_nested_html)
    noise = os.urandom(64 * 1024)
    add("ruido-txt", "ruido.txt", REJECTED, "dañado", data=noise)
    add("ruido-docx", "ruido.docx", REJECTED, "dañado", data=noise[::-1])

    # Names: the manifest row points outside the corpus, carries a NUL, or is too long to exist.
    text_file = folder / "inofensivo.txt"
    text_file.write_text("ACOGIDA\n\n" + GOOD_TEXT + "\n", encoding="utf-8")
    add("ruta-escape", None, REJECTED, "ruta relativa", archivo="../../../../etc/passwd",
        upload_filename="../../../../etc/passwd.txt")
    add("ruta-escape-interna", None, REJECTED, "ruta relativa", archivo="hostiles/../../fuera.txt",
        upload_filename="..\\..\\fuera.txt")
    add("nombre-nul", None, REJECTED, "carácter nulo", archivo="hostiles/inofensivo.txt\x00.pdf",
        upload_filename="inofensivo\x00.txt")
    add("nombre-larguisimo", None, REJECTED, "demasiado largo", archivo="hostiles/" + "n" * 300 + ".txt",
        upload_filename="n" * 300 + ".txt")
    long_name = "nombre-" + "l" * 230 + ".txt"  # 241 bytes: a legal, if absurd, file name
    add("nombre-largo-valido", long_name, SAFE, data=text_file.read_bytes(), upload_filename=long_name)

    # Script injection in text bodies and in every free-text metadata field.
    add("xss-txt", "xss.txt", SAFE, xss_fields=("texto",),
        data=f"CARGA XSS\n\n{GOOD_TEXT}\n\nCarga en el texto: {XSS_TEXT}\n".encode())
    add("xss-md", "xss.md", SAFE, xss_fields=("texto",),
        data=f"# Carga XSS\n\n{GOOD_TEXT}\n\nCarga en el texto: `{XSS_TEXT}`\n\n{XSS_PAYLOADS[0]}\n".encode())
    add("xss-html", "xss.html", SAFE, writer=_xss_html, xss_fields=("texto",))
    add("xss-metadatos", "xss-metadatos.txt", SAFE,
        data=f"METADATOS\n\n{GOOD_TEXT}\n".encode(), titulo=XSS_TEXT, municipio=XSS_TEXT, organizacion=XSS_TEXT,
        xss_fields=("titulo", "municipio", "organizacion"))
    add("url-javascript", "url-javascript.txt", REJECTED, "http:// o https://",
        data=f"ENLACE\n\n{GOOD_TEXT}\n".encode(), url_fuente="javascript:alert(1)")
    add("url-data", "url-data.txt", REJECTED, "http:// o https://",
        data=f"ENLACE\n\n{GOOD_TEXT}\n".encode(), url_fuente="data:text/html,<script>alert(1)</script>")
    return cases


def main() -> None:
    import sys

    dest = Path(sys.argv[1] if len(sys.argv) > 1 else "hostiles-out")
    for case in generate(dest):
        size = case.path.stat().st_size if case.path and case.path.exists() else 0
        print(f"{case.name:24} {case.expected:16} {size:>12} B  {case.row['archivo'][:60]!r}")


if __name__ == "__main__":
    main()
