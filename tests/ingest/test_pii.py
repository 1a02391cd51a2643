"""Personal-data detection: real scans of real text, no mocks."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from ingest import pii

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "corpus"


def only(text: str, kind: str, value: str) -> pii.Finding:
    """The single finding in `text`, checked to be `value` of `kind` at its exact offsets."""
    findings = pii.scan(text)
    assert [(f.kind, f.text) for f in findings] == [(kind, value)], findings
    f = findings[0]
    assert (f.start, f.end) == (text.index(value), text.index(value) + len(value))
    assert text[f.start:f.end] == f.text
    assert f.label == pii.LABELS[kind] and 0 < f.score <= 1
    return f


# ------------------------------------------------------------------ each kind in context

@pytest.mark.parametrize("text, kind, value", [
    ("Escribió desde rosa.ficticia@example.org para pedir cita.", "email", "rosa.ficticia@example.org"),
    ("La usuaria llamó desde el +502 5555-0123 ayer.", "telefono", "+502 5555-0123"),
    ("Teléfono de contacto: (+506) 8888-1234", "telefono", "(+506) 8888-1234"),
    ("Su celular es 7012-3456 y no tiene correo.", "telefono", "7012-3456"),
    ("Contactar en el +503 7012 3456 antes del viernes.", "telefono", "+503 7012 3456"),
    ("Tel. +504 9876-5432 (solo mensajes).", "telefono", "+504 9876-5432"),
    ("Llamar al +52 55 1234 5678 por la tarde.", "telefono", "+52 55 1234 5678"),
    ("Número en Ciudad de México: (55) 1234-5678.", "telefono", "(55) 1234-5678"),
    ("Celular: +52 1 33 1234 5678.", "telefono", "+52 1 33 1234 5678"),
    ("Celular en Panamá: 6123-4567.", "telefono", "6123-4567"),
    ("En Belice la localizan en el +501 610-1234.", "telefono", "+501 610-1234"),
    ("Su número 55550123 ya no está activo.", "telefono", "55550123"),
    ("La CURP de la usuaria es BOXW310820HNERXN09 según su acta.", "curp", "BOXW310820HNERXN09"),
    ("Se identificó con DPI 1234 56789 0101 ante la fiscalía.", "dpi", "1234 56789 0101"),
    ("Presentó su documento personal de identificación 1234567890101.", "dpi", "1234567890101"),
    ("La denunciante portaba su DUI 00016297-5 vigente.", "dui", "00016297-5"),
    ("La usuaria se identificó con la cédula 1-0234-0567 en San José.", "cedula_cr", "1-0234-0567"),
    ("Cédula de identidad: 102340567", "cedula_cr", "102340567"),
    ("La usuaria, con cédula 8-123-456, fue atendida en Colón, Panamá.", "cedula_pa", "8-123-456"),
    ("Cédula: PE-12-345", "cedula_pa", "PE-12-345"),
    ("Cédula de residente E-8-12345 vigente.", "cedula_pa", "E-8-12345"),
    ("Cédula 1AV-123-456 registrada.", "cedula_pa", "1AV-123-456"),
    ("La sobreviviente presentó su DNI 0801-1990-12345 en Ciudad Mujer.", "dni_hn", "0801-1990-12345"),
    ("La refugiada mostró su pasaporte G12345678 en el puesto migratorio.", "pasaporte", "G12345678"),
    ("La sobreviviente María López acudió a la oficina.", "nombre", "María López"),
    ("Durante la entrevista, la denunciante Rosa Ficticia Pérez relató los hechos.", "nombre", "Rosa Ficticia Pérez"),
    ("Víctima: Ana Inventada. Edad: 27 años.", "nombre", "Ana Inventada"),
    ("La usuaria María de la Luz Ejemplar fue acompañada al juzgado.", "nombre", "María de la Luz Ejemplar"),
    ("La señora Glenda Tzul solicitó medidas de protección.", "nombre", "Glenda Tzul"),
    ("Nombre de la víctima: Keyla Aguilar", "nombre", "Keyla Aguilar"),
    ("Rosa Modelo (nombre ficticio) llegó al albergue.", "nombre", "Rosa Modelo"),
    ("NOMBRE DE LA VÍCTIMA: ROSA FICTICIA DE LEÓN", "nombre", "ROSA FICTICIA DE LEÓN"),
])
def test_each_kind_is_found_in_context_with_exact_offsets(text, kind, value):
    only(text, kind, value)


def test_several_findings_come_back_in_document_order():
    text = ("La sobreviviente Rosa Ficticia Pérez, DUI 00016297-5, llamó desde el +502 5555-0123 "
            "y escribió a rosa.ficticia@example.org.")
    found = pii.scan(text)
    assert [(f.kind, f.text) for f in found] == [
        ("nombre", "Rosa Ficticia Pérez"), ("dui", "00016297-5"), ("telefono", "+502 5555-0123"),
        ("email", "rosa.ficticia@example.org"),
    ]
    assert all(text[f.start:f.end] == f.text for f in found)


def test_overlapping_claims_resolve_to_one_finding():
    # "1-0234-0567" has both the Costa Rican and a Panamanian cédula shape; only one may come back.
    found = pii.scan("Cédula 1-0234-0567 en Costa Rica.")
    assert [(f.kind, f.text) for f in found] == [("cedula_cr", "1-0234-0567")]
    found = pii.scan("En Panamá, cédula 8-1234-5678 de la usuaria.")
    assert [(f.kind, f.text) for f in found] == [("cedula_pa", "8-1234-5678")]


# ------------------------------------------------------------------ check digits


def test_curp_check_digit():
    # Published example (python-stdnum's documentation): ...09 is valid, ...08 is not.
    assert pii.curp_check_digit("BOXW310820HNERXN0") == "9"
    assert pii.curp_is_valid("BOXW310820HNERXN09")
    assert not pii.curp_is_valid("BOXW310820HNERXN08")
    assert not pii.curp_is_valid("BOXW311320HNERXN09")  # month 13
    assert not pii.curp_is_valid("BOXW310820HZZRXN09")  # no such state


def test_dpi_check_digit_and_codes():
    # 1·2+2·3+3·4+4·5+5·6+6·7+7·8+8·9 = 240; 240 mod 11 = 9: serial 12345678 has verifier 9.
    assert pii.dpi_check_digit("12345678") == 9
    assert pii.dpi_is_valid("1234567890101")
    assert pii.dpi_is_valid("1234 56789 0101")
    assert not pii.dpi_is_valid("1234567880101")   # wrong verifier
    assert not pii.dpi_is_valid("1234567892301")   # department 23 does not exist
    assert not pii.dpi_is_valid("1234567890218")   # Guatemala (01) has 17 municipalities
    assert pii.dpi_check_digit("50000000") is None  # 5·2 = 10: no digit can verify this serial


def test_dui_check_digit():
    # 0·9+0·8+0·7+1·6+6·5+2·4+9·3+7·2 = 85 -> (10 - 5) mod 10 = 5
    assert pii.dui_check_digit("00016297") == 5
    assert pii.dui_is_valid("00016297-5")
    assert not pii.dui_is_valid("00016297-4")
    assert not pii.dui_is_valid("00000000-0")


def test_plausibility_of_ids_without_check_digit():
    assert pii.cedula_cr_is_plausible("1-0234-0567") and pii.cedula_cr_is_plausible("01-0234-0567")
    assert not pii.cedula_cr_is_plausible("0-0234-0567") and not pii.cedula_cr_is_plausible("1-0000-0567")
    assert pii.cedula_pa_is_plausible("13-123-4567") and pii.cedula_pa_is_plausible("4PI-12-345")
    assert not pii.cedula_pa_is_plausible("14-123-456")   # 13 provinces
    assert not pii.cedula_pa_is_plausible("3-10-2024")    # a date
    assert pii.dni_hn_is_plausible("0801-1990-12345")
    assert not pii.dni_hn_is_plausible("1901-1990-12345")  # 18 departments
    assert not pii.dni_hn_is_plausible("0829-1990-12345")  # Francisco Morazán has 28 municipalities
    assert not pii.dni_hn_is_plausible("0801-1850-12345")


@pytest.mark.parametrize("text", [
    "La CURP de la usuaria es BOXW310820HNERXN08 según su acta.",
    "Se identificó con DPI 1234 56788 0101 ante la fiscalía.",
    "DPI: 1234567892301",
    "La denunciante portaba su DUI 00016297-4 vigente.",
    "DNI: 2501-1990-12345",
    "Cédula: 15-123-456 registrada en el sistema.",
    "Número de guía aérea A1234567 para el envío de kits.",  # passport shape without the word
])
def test_invalid_or_uncued_ids_are_rejected(text):
    assert pii.scan(text) == []


# ------------------------------------------------------------------ what is not personal data


@pytest.mark.parametrize("text", [
    "El Decreto 22-2008 del Congreso tipifica el femicidio.",
    "La Ley 8589 de Penalización de la Violencia contra las Mujeres rige desde 2007.",
    "El artículo 58-A del Código Penal fue reformado.",
    "El Acuerdo Ministerial 2345-2019 creó la unidad especializada.",
    "El programa se ejecutó durante el período 2019-2023.",
    "La reforma entró en vigor el 15-04-2023 y la capacitación el 3-10-2024.",
    "En caso de emergencia, marque el 911.",
    "El 45,5 % de las usuarias no había denunciado antes.",
    "Se registraron 2 345 678 atenciones desde 2010.",
    "El fondo aportó $1.250.000 y Q 2,500,000 a las organizaciones.",
    "Ver las páginas 2345-2401 del informe regional.",
    "Se llamó a la línea gratuita 800-0000 de orientación.",
    "La coordinadora del Ministerio Público recibió a las delegadas.",
    "La señora Ministra de la Mujer presentó el informe anual.",
    "También llamada Educación Comunitaria, la estrategia trabaja con varones.",
    "Nombre de la práctica: Abriendo Caminos",
    "La adolescente Garífuna participó en el taller.",
    "",
    "   \n",
])
def test_references_numbers_and_institutions_are_not_personal_data(text):
    assert pii.scan(text) == []


def test_demonstration_corpus_sources_have_no_personal_data():
    files = sorted([*CORPUS.glob("fuentes/*.md"), *CORPUS.glob("documentos/*.md"), *CORPUS.glob("documentos/*.txt")])
    assert len(files) >= 40
    hits = {}
    for path in files:
        text = path.read_text(encoding="utf-8")
        found = pii.scan(text)
        if found:
            hits[path.name] = [pii.context(text, f) for f in found]
    assert hits == {}


@pytest.mark.slow
def test_extracted_text_of_every_corpus_document_has_no_personal_data():
    # The binary documents (PDF, DOCX, PPTX, XLSX, HTML) through the product's own extraction.
    from ingest.chunk import chunk
    from ingest.partition import partition

    hits = {}
    for path in sorted((CORPUS / "documentos").iterdir()):
        doc = chunk(path.stem, partition(path).blocks)
        found = pii.scan(doc.text)
        if found:
            hits[path.name] = [pii.context(doc.text, f) for f in found]
    assert hits == {}


# ------------------------------------------------------------------ redaction and review context


def test_redact_replaces_spans_and_keeps_the_rest():
    text = "La sobreviviente Rosa Ficticia Pérez llamó desde el +502 5555-0123 el lunes."
    out = pii.redact(text, pii.scan(text))
    assert out == f"La sobreviviente {pii.REDACTION} llamó desde el {pii.REDACTION} el lunes."
    assert pii.redact(text, []) == text


def test_redact_merges_overlapping_and_touching_spans():
    text = "abc 0123456789 xyz"
    a = pii.Finding("telefono", 4, 10, text[4:10], 0.9, pii.LABELS["telefono"])
    b = pii.Finding("dpi", 8, 14, text[8:14], 0.9, pii.LABELS["dpi"])
    c = pii.Finding("dpi", 14, 15, text[14:15], 0.9, pii.LABELS["dpi"])
    assert pii.redact(text, [b, a, c]) == f"abc {pii.REDACTION}xyz"


def test_redact_refuses_findings_from_another_text():
    f = pii.scan("DUI 00016297-5")[0]
    with pytest.raises(ValueError):
        pii.redact("Otro texto sin datos personales.", [f])


def test_context_marks_the_span_in_plain_text():
    text = ("Primera parte del informe con bastante texto antes del dato.\n\nLa sobreviviente Rosa Ficticia "
            "Pérez llamó desde el\n+502 5555-0123 el lunes por la mañana, y después se realizó la entrevista.")
    tel = [f for f in pii.scan(text) if f.kind == "telefono"][0]
    snippet = pii.context(text, tel, width=40)
    assert f"{pii.MARK_OPEN}+502 5555-0123{pii.MARK_CLOSE}" in snippet
    assert snippet.startswith("…") and snippet.endswith("…") and "\n" not in snippet
    assert "llamó desde el" in snippet
    whole = pii.context("DUI 00016297-5", pii.scan("DUI 00016297-5")[0])
    assert whole == f"DUI {pii.MARK_OPEN}00016297-5{pii.MARK_CLOSE}"


def test_finding_is_immutable():
    f = pii.scan("DUI 00016297-5")[0]
    with pytest.raises(FrozenInstanceError):
        f.start = 0  # type: ignore[misc]


def test_import_is_light_and_engines_load_lazily():
    code = ("import sys, ingest.pii as p; assert 'presidio_analyzer' not in sys.modules; "
            "assert p._engine is None; p.warm_up(); assert 'presidio_analyzer' in sys.modules")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
