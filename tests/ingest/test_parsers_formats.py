"""HTML, XLSX, DOCX, PPTX, TXT and Markdown parsers on real files built here (and the demo corpus)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from ingest.blocks import Kind
from ingest.parsers import elements, html, office, text, xlsx
from search.errors import IngestError
from tests.conftest import REPO, make_docx, make_pptx, make_xlsx

MENU = ["DATASETS", "ACERCA", "MI CUENTA", "AYUDA", "SALIR"]
CHROME = MENU + ["Desarrollado por Andino con CKAN", "cookies", "Noticias relacionadas", "Portal Municipal de Datos",
                 "Inauguran nuevo albergue", "no debe salir"]

ARTICLE = """
<h1>Ruta de atención a mujeres migrantes</h1>
<p>La oficina municipal de la mujer coordina la ruta de atención con la fiscalía, el centro de salud y las
organizaciones de la sociedad civil que trabajan en la frontera.</p>
<h2>Servicios disponibles</h2>
<p>Los servicios se ofrecen de forma gratuita y confidencial a todas las mujeres, sin importar su situación
migratoria.</p>
<ul><li>Asesoría legal gratuita</li><li>Atención psicológica individual</li><li>Albergue temporal de hasta quince días</li></ul>
<h2>Casos atendidos</h2>
<table><thead><tr><th>Año</th><th>Casos</th><th>Derivaciones</th></tr></thead>
<tbody><tr><td>2022</td><td>134</td><td>58</td></tr><tr><td>2023</td><td>171</td><td></td></tr></tbody></table>
<p>Las cifras provienen del registro municipal y se actualizan cada trimestre.</p>
"""

SEMANTIC_PAGE = f"""<!doctype html><html lang="es"><head><meta charset="utf-8">
<title>Portal de datos | Ruta de atención</title><script>var x = "no debe salir";</script>
<style>body{{color:red}}</style></head><body>
<header class="site-header"><div class="logo">Portal Municipal de Datos Abiertos</div>
<nav><ul><li><a href="/d">DATASETS</a></li><li><a href="/a">ACERCA</a></li><li><a href="/u">MI CUENTA</a></li>
<li><a href="/h">AYUDA</a></li><li><a href="/s">SALIR</a></li></ul></nav></header>
<div id="cookie-banner" class="cookie-consent"><p>Este sitio usa cookies para mejorar su experiencia de navegación.
Al continuar acepta nuestra política de cookies.</p><button>Aceptar</button></div>
<main><article>{ARTICLE}</article></main>
<aside><h3>Noticias relacionadas</h3><ul><li><a href="/n1">Inauguran nuevo albergue</a></li></ul></aside>
<footer><p>Desarrollado por Andino con CKAN</p><p>© 2024 Municipalidad</p></footer>
</body></html>"""

# The same content in a div-only layout (no <nav>, <main> or <footer>), as older CKAN portals serve it.
DIV_PAGE = f"""<html><head><meta charset="utf-8"><title>Portal de datos</title></head><body>
<div id="header"><div class="logo">Portal Municipal de Datos Abiertos</div><ul class="menu">
<li><a href="/d">DATASETS</a></li><li><a href="/a">ACERCA</a></li><li><a href="/u">MI CUENTA</a></li>
<li><a href="/h">AYUDA</a></li><li><a href="/s">SALIR</a></li></ul></div>
<div class="cookies-notice">Este sitio usa cookies para mejorar su experiencia de navegación.</div>
<div class="container"><div class="col-md-8 content">{ARTICLE}</div>
<div class="col-md-4 sidebar"><h3>Noticias relacionadas</h3><p><a href="/n1">Inauguran nuevo albergue</a></p></div></div>
<div class="footer"><p>Desarrollado por Andino con CKAN</p></div></body></html>"""


def texts(parsed, kind=None) -> list[str]:
    return [b.text for b in parsed.blocks if kind is None or b.kind == kind]


def joined(parsed) -> str:
    return "\n".join(texts(parsed))


# ------------------------------------------------------------------ HTML


@pytest.mark.parametrize("page", [SEMANTIC_PAGE, DIV_PAGE], ids=["semantic", "div-layout"])
def test_html_keeps_the_article_and_drops_menus_banners_and_footers(tmp_path, page):
    path = tmp_path / "pagina.html"
    path.write_text(page, encoding="utf-8")
    parsed = html.parse(path)
    all_text = joined(parsed)

    assert texts(parsed, Kind.HEADING) == ["Ruta de atención a mujeres migrantes", "Servicios disponibles",
                                           "Casos atendidos"]
    assert any(t.startswith("La oficina municipal de la mujer coordina la ruta") for t in texts(parsed, Kind.TEXT))
    assert texts(parsed, Kind.LIST) == ["Asesoría legal gratuita", "Atención psicológica individual",
                                        "Albergue temporal de hasta quince días"]
    assert texts(parsed, Kind.TABLE) == ["Año: 2022; Casos: 134; Derivaciones: 58.", "Año: 2023; Casos: 171."]
    for chrome in CHROME:
        assert chrome not in all_text, chrome
    assert "Portal de datos" not in all_text  # the <title> is not a block when the page has an <h1>
    assert parsed.stats.tables == 1
    assert parsed.stats.boilerplate_dropped >= 15


def test_html_short_page_falls_back_without_the_menu_and_uses_the_title_without_h1(tmp_path):
    path = tmp_path / "aviso.html"
    path.write_text("<html><head><title>Aviso de cierre</title></head><body><nav>INICIO CONTACTO SALIR</nav>"
                    "<h2>Horario</h2><footer>Desarrollado por Andino con CKAN</footer></body></html>",
                    encoding="utf-8")
    parsed = html.parse(path)
    assert texts(parsed) == ["Aviso de cierre", "Horario"]
    assert parsed.blocks[0].kind == Kind.HEADING


def test_html_declared_latin1_page_decodes(tmp_path):
    path = tmp_path / "latin.html"
    body = ("<html><head><meta http-equiv='Content-Type' content='text/html; charset=iso-8859-1'></head><body>"
            "<h1>Protección de niñas</h1><p>Este año la oficina atendió a niñas y adolescentes en situación de "
            "riesgo, con apoyo de la red comunitaria de protección y del centro de salud del municipio.</p>"
            "</body></html>")
    path.write_bytes(body.encode("latin-1"))
    parsed = html.parse(path)
    assert texts(parsed, Kind.HEADING) == ["Protección de niñas"]
    assert "Este año la oficina atendió a niñas" in joined(parsed)


# ------------------------------------------------------------------ XLSX


def _workbook(path: Path) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Casos"
    ws.append(["Municipio", "Casos", "Tasa"])
    ws.append(["Villa Demostración", 12.0, 0.25])
    ws.append(["Río Inventado", 134, 0.5])
    ws["C2"].number_format = "0%"
    ws["C3"].number_format = "0.0%"
    ws2 = wb.create_sheet("Albergues")
    ws2.append(["Informe de albergues temporales 2024"])  # a one-cell title above the header
    ws2.merge_cells("A1:D1")
    ws2.append([])
    ws2.append(["Albergue", None, "Plazas", "Apertura"])  # an empty spacer column
    ws2.append(["Casa Esperanza", None, 20, dt.datetime(2024, 3, 1)])
    ws2.append(["Refugio Norte", None, 3.75, dt.date(2023, 11, 15)])
    ws3 = wb.create_sheet("Notas")
    ws3.append(["Los datos son ficticios y se usan solo para la demostración."])
    ws3.append(["Fuente: registro municipal."])
    wb.save(str(path))
    return path


def test_xlsx_every_row_carries_its_sheet_and_column_headers(tmp_path):
    parsed = xlsx.parse(_workbook(tmp_path / "datos.xlsx"))
    by_sheet: dict[str, list] = {}
    for b in parsed.blocks:
        by_sheet.setdefault(b.section, []).append(b)
    assert list(by_sheet) == ["Casos", "Albergues", "Notas"]
    for name, blocks in by_sheet.items():
        assert blocks[0].kind == Kind.HEADING and blocks[0].text == name

    casos = [b.text for b in by_sheet["Casos"] if b.kind == Kind.TABLE]
    assert casos == ["Municipio: Villa Demostración; Casos: 12; Tasa: 25 %.",
                     "Municipio: Río Inventado; Casos: 134; Tasa: 50.0 %."]
    albergues = by_sheet["Albergues"]
    assert [(b.kind, b.text) for b in albergues[1:]] == [
        (Kind.TEXT, "Informe de albergues temporales 2024"),
        (Kind.TABLE, "Albergue: Casa Esperanza; Plazas: 20; Apertura: 2024-03-01."),
        (Kind.TABLE, "Albergue: Refugio Norte; Plazas: 3.75; Apertura: 2023-11-15."),
    ]
    assert [(b.kind, b.text) for b in by_sheet["Notas"][1:]] == [
        (Kind.TEXT, "Los datos son ficticios y se usan solo para la demostración."),
        (Kind.TEXT, "Fuente: registro municipal."),
    ]
    # The second sheet's figures are never cited under the first sheet's name.
    assert not any("Casa Esperanza" in b.text for b in by_sheet["Casos"])
    assert "12.0" not in joined(parsed)
    assert parsed.stats.tables == 2  # "Notas" is one column of text, not a table


def test_xlsx_two_header_rows_and_notes_below_the_table(tmp_path):
    path = make_xlsx(tmp_path / "victimas.xlsx", {"VICTIMA": [
        ["Género", "Femenino", "Masculino", "Total"],
        ["Edad", "#", "#", "#"],
        ["18-20", 42, 6, 48],
        ["21-24", 108, None, 108],
        [None, None, None, None],
        ["Nota: cifras preliminares del registro policial.", None, None, None],
    ]})
    parsed = xlsx.parse(path)
    assert [(b.kind, b.text) for b in parsed.blocks] == [
        (Kind.HEADING, "VICTIMA"),
        (Kind.TABLE, "Género / Edad: 18-20; Femenino (#): 42; Masculino (#): 6; Total (#): 48."),
        (Kind.TABLE, "Género / Edad: 21-24; Femenino (#): 108; Total (#): 108."),
        (Kind.TEXT, "Nota: cifras preliminares del registro policial."),
    ]


def test_xlsx_refuses_absurd_sheets(tmp_path):
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Enorme")
    for r in range(1001):
        ws.append(list(range(r, r + 200)))
    wb.save(str(tmp_path / "enorme.xlsx"))
    with pytest.raises(IngestError) as err:
        xlsx.parse(tmp_path / "enorme.xlsx")
    assert "200.000 celdas" in err.value.user_message


def test_number_formats():
    assert xlsx.format_value(12.0) == "12"
    assert xlsx.format_value(0.23108552631578946) == "0.2311"
    assert xlsx.format_value(1234.5, "#,##0.00") == "1234.50"
    assert xlsx.format_value(0.5, "0%") == "50 %"
    assert xlsx.format_value(dt.datetime(2023, 12, 30)) == "2023-12-30"
    assert xlsx.format_value(dt.datetime(2023, 12, 30, 14, 5)) == "2023-12-30 14:05"
    assert xlsx.format_value(True) == "Sí"


# ------------------------------------------------------------------ DOCX


def test_docx_header_footer_and_comment_appear_once_at_the_end(tmp_path):
    import docx
    from docx.enum.section import WD_SECTION

    d = docx.Document()
    d.sections[0].header.paragraphs[0].text = "Municipio de Villa Demostración: uso interno"
    d.sections[0].footer.paragraphs[0].text = "Contacto: María Pérez, teléfono 5555-1234"
    d.add_heading("Protocolo de atención", level=1)
    p = d.add_paragraph("La oficina municipal atiende de lunes a viernes en horario continuo.")
    d.add_comment(p.runs, text="Confirmar el horario con la fiscalía de turno", author="Ana López", initials="AL")
    d.add_paragraph("Escuchar sin juzgar", style="List Bullet")
    table = d.add_table(rows=3, cols=3)
    for i, row in enumerate([["Servicio", "Horario", "Casos"], ["Albergue", "24 h", "12"], ["Asesoría", "8 a 16 h", ""]]):
        for j, value in enumerate(row):
            table.cell(i, j).text = value
    d.add_section(WD_SECTION.NEW_PAGE)  # a second section repeats the (linked) header and footer
    d.add_paragraph("Segunda sección del protocolo con los pasos de derivación.")
    d.save(str(tmp_path / "protocolo.docx"))

    parsed = office.parse_docx(tmp_path / "protocolo.docx")
    all_texts = texts(parsed)
    for once in ("Municipio de Villa Demostración: uso interno", "Contacto: María Pérez, teléfono 5555-1234",
                 "Confirmar el horario con la fiscalía de turno"):
        assert sum(once in t for t in all_texts) == 1, once
        assert all_texts.index(once) > all_texts.index("Segunda sección del protocolo con los pasos de derivación.")
    assert texts(parsed, Kind.HEADING) == ["Protocolo de atención"]
    assert texts(parsed, Kind.LIST) == ["Escuchar sin juzgar"]
    assert texts(parsed, Kind.TABLE) == ["Servicio: Albergue; Horario: 24 h; Casos: 12.",
                                         "Servicio: Asesoría; Horario: 8 a 16 h."]
    assert parsed.stats.tables == 1


def test_docx_builder_document(tmp_path):
    path = make_docx(tmp_path / "clinica.docx", "Clínica jurídica móvil", [
        ("Descripción", ["La clínica jurídica móvil visita las aldeas rurales cada mes."]),
        ("Equipo", ["La integran una abogada, una psicóloga y una intérprete."]),
    ])
    parsed = office.parse_docx(path)
    assert texts(parsed, Kind.HEADING) == ["Clínica jurídica móvil", "Descripción", "Equipo"]
    assert "La integran una abogada, una psicóloga y una intérprete." in texts(parsed, Kind.TEXT)


# ------------------------------------------------------------------ PPTX


def test_pptx_one_heading_per_slide_bullets_and_notes(tmp_path):
    from pptx import Presentation

    path = make_pptx(tmp_path / "policia.pptx", "Capacitación a la policía municipal", [
        ("Primera respuesta", ["Escuchar", "Creer", "Informar sobre la orden de alejamiento", "Registrar"]),
        ("Derivación", ["Llamar a la fiscalía", "Acompañar al centro de salud"]),
    ])
    prs = Presentation(str(path))
    prs.slides[1].notes_slide.notes_text_frame.text = "Recordar que el registro es confidencial."
    prs.slides[2].notes_slide.notes_text_frame.text = "Dar el número de la fiscalía de turno.\nRepartir el folleto."
    prs.save(str(path))

    parsed = office.parse_pptx(path)
    headings = [(b.page, b.text) for b in parsed.blocks if b.kind == Kind.HEADING]
    assert headings == [(1, "Capacitación a la policía municipal"), (2, "Primera respuesta"), (3, "Derivación")]
    slide2 = [(b.kind, b.text) for b in parsed.blocks if b.page == 2]
    assert slide2 == [
        (Kind.HEADING, "Primera respuesta"),
        (Kind.LIST, "Escuchar"), (Kind.LIST, "Creer"), (Kind.LIST, "Informar sobre la orden de alejamiento"),
        (Kind.LIST, "Registrar"),
        (Kind.TEXT, "Recordar que el registro es confidencial."),
    ]
    slide3 = [b for b in parsed.blocks if b.page == 3]
    assert [b.text for b in slide3 if b.kind == Kind.TEXT] == ["Dar el número de la fiscalía de turno.",
                                                               "Repartir el folleto."]
    assert {b.section for b in slide3} == {"Derivación"}
    assert parsed.stats.pages == 3


def test_pptx_table_rows_have_headers(tmp_path):
    from pptx import Presentation
    from pptx.util import Inches

    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[5])
    slide.shapes.title.text = "Resultados"
    table = slide.shapes.add_table(3, 2, Inches(1), Inches(2), Inches(6), Inches(2)).table
    for i, row in enumerate([["Barrio", "Alertas"], ["Centro", "12"], ["Norte", "7"]]):
        for j, value in enumerate(row):
            table.cell(i, j).text = value
    prs.save(str(tmp_path / "tabla.pptx"))
    parsed = office.parse_pptx(tmp_path / "tabla.pptx")
    assert [(b.kind, b.text, b.section) for b in parsed.blocks] == [
        (Kind.HEADING, "Resultados", "Resultados"),
        (Kind.TABLE, "Barrio: Centro; Alertas: 12.", "Resultados"),
        (Kind.TABLE, "Barrio: Norte; Alertas: 7.", "Resultados"),
    ]


# ------------------------------------------------------------------ TXT and Markdown


def test_latin1_and_cp1252_text_decode_as_spanish(tmp_path):
    (tmp_path / "latin1.txt").write_bytes("Las niñas y adolescentes.\n\nEste año mejoró la protección.\n".encode("latin-1"))
    parsed = text.parse_txt(tmp_path / "latin1.txt")
    assert texts(parsed) == ["Las niñas y adolescentes.", "Este año mejoró la protección."]
    assert text.decode_bytes("niñas año protección".encode("latin-1")) == "niñas año protección"
    assert text.decode_bytes("“Protección” de niñas €".encode("cp1252")) == "“Protección” de niñas €"
    assert text.decode_bytes("\ufeffniñas".encode("utf-8")) == "niñas"
    # UTF-8 with one stray Latin-1 byte keeps both right.
    assert text.decode_bytes("Protección de niñas. ".encode() * 3 + "Año".encode("latin-1")).endswith("niñas. Año")


def test_txt_paragraphs_hyphenation_headings_and_lists(tmp_path):
    (tmp_path / "red.txt").write_text(
        "Red Comunitaria de Mujeres\n\n"
        "CONTEXTO\n\n"
        "La red acompaña a vecinas en riesgo y coordina la protec-\n"
        "ción con la oficina municipal. Los turnos se organizan\n"
        "por barrio.\n\n"
        "Servicios Que Ofrece\n\n"
        "Las referentes ofrecen:\n"
        "- acompañamiento a la fiscalía\n"
        "* primeros auxilios psicológicos y\n"
        "  orientación legal\n"
        "• resguardo temporal\n"
        "1. Llamar a la línea de emergencia\n"
        "a) Registrar la alerta\n\n"
        "Escuchar sin juzgar es la primera regla\n"
        "de la red y se repite en cada taller.\n",
        encoding="utf-8")
    parsed = text.parse_txt(tmp_path / "red.txt")
    assert [(b.kind, b.text) for b in parsed.blocks] == [
        (Kind.HEADING, "Red Comunitaria de Mujeres"),
        (Kind.HEADING, "CONTEXTO"),
        (Kind.TEXT, ("La red acompaña a vecinas en riesgo y coordina la protección con la oficina municipal. "
                     "Los turnos se organizan por barrio.")),
        (Kind.HEADING, "Servicios Que Ofrece"),
        (Kind.TEXT, "Las referentes ofrecen:"),
        (Kind.LIST, "acompañamiento a la fiscalía"),
        (Kind.LIST, "primeros auxilios psicológicos y orientación legal"),
        (Kind.LIST, "resguardo temporal"),
        (Kind.LIST, "1. Llamar a la línea de emergencia"),
        (Kind.LIST, "a) Registrar la alerta"),
        (Kind.TEXT, "Escuchar sin juzgar es la primera regla de la red y se repite en cada taller."),
    ]


def test_markdown_headings_lists_tables_and_latin1(tmp_path):
    (tmp_path / "escuelas.md").write_bytes(
        ("# Prevención en escuelas\n\nLos talleres abordan el noviazgo sin violencia este año.\n\n"
         "## Resultados\n\n| Año | Talleres |\n|---|---|\n| 2023 | 12 |\n\n- Docentes formadas\n- Niñas participantes\n"
         ).encode("cp1252"))
    parsed = text.parse_md(tmp_path / "escuelas.md")
    assert [(b.kind, b.text) for b in parsed.blocks] == [
        (Kind.HEADING, "Prevención en escuelas"),
        (Kind.TEXT, "Los talleres abordan el noviazgo sin violencia este año."),
        (Kind.HEADING, "Resultados"),
        (Kind.TABLE, "Año: 2023; Talleres: 12."),
        (Kind.LIST, "Docentes formadas"),
        (Kind.LIST, "Niñas participantes"),
    ]


# ------------------------------------------------------------------ cleaning


def test_bidi_controls_are_removed_from_titles(tmp_path):
    (tmp_path / "bidi.txt").write_text("\u202eInforme \u2066municipal\u2069 2024\u200f\n\nTexto del informe.\n",
                                       encoding="utf-8")
    parsed = text.parse_txt(tmp_path / "bidi.txt")
    assert parsed.blocks[0].kind == Kind.HEADING
    assert parsed.blocks[0].text == "Informe municipal 2024"
    path = make_docx(tmp_path / "bidi.docx", "\u202eRuta\u202c de atención", [("Pasos", ["Texto."])])
    assert texts(office.parse_docx(path), Kind.HEADING)[0] == "Ruta de atención"
    assert elements.clean_inline("  a\u00a0 b\n(cid:3) c\u200b ") == "a b • c"


def test_row_text():
    assert elements.row_text(["Año", "Casos", ""], ["2023", "", "nota"]) == "Año: 2023; nota."
    assert elements.row_text([], ["solo", "valores."]) == "solo; valores."


# ------------------------------------------------------------------ demo corpus


def _corpus_files() -> list[str]:
    with open(REPO / "corpus" / "manifest.csv", encoding="utf-8") as f:
        files = [row["archivo"] for row in csv.DictReader(f)]
    return [f for f in files if f.rsplit(".", 1)[-1] in ("docx", "pptx", "xlsx", "html", "md", "txt")]


PARSERS = {"docx": office.parse_docx, "pptx": office.parse_pptx, "xlsx": xlsx.parse, "html": html.parse,
           "md": text.parse_md, "txt": text.parse_txt}


@pytest.mark.parametrize("name", _corpus_files())
def test_demo_corpus_files_parse_and_keep_their_text(name):
    path = REPO / "corpus" / name
    parsed = PARSERS[path.suffix.lstrip(".")](path)
    words = sum(len(b.text.split()) for b in parsed.blocks)
    assert words > 500, (name, words)
    assert parsed.blocks[0].kind == Kind.HEADING
    assert any(b.kind == Kind.HEADING for b in parsed.blocks[1:])
    if path.suffix == ".txt":  # every word of a plain text file survives
        assert words == len(path.read_text(encoding="utf-8").split())


@pytest.mark.parametrize("suffix", ["docx", "pptx", "xlsx"])
def test_corrupt_office_files_raise_ingest_errors_in_spanish(tmp_path, suffix):
    import zipfile

    path = tmp_path / f"roto.{suffix}"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", "<Types")  # truncated XML
    with pytest.raises(IngestError) as err:
        PARSERS[suffix](path)
    assert "dañad" in err.value.user_message
