"""Personal-data detection at ingest: a document that names a survivor or carries her phone or
identity number is held for curator review instead of being published.

Built on Presidio's analyzer (recognizer registry, regex engine with timeouts, de-duplication) with
our own recognizers for the MIRPS countries, and on `phonenumbers` (libphonenumber) for phones.
Presidio's predefined recognizers are not loaded: they target other countries, and its e-mail/URL
ones call tldextract, which fetches the public-suffix list over the network on first use.

The NLP engine is Presidio's no-op engine: every recognizer here is self-contained (regexes, check
digits, cue words read straight from the text), so tokenising the document would cost time and
buy nothing, and no spaCy model has to be present. Presidio itself is imported on first use
(`scan` or `warm_up`), never at import, because it pulls in torch/transformers (~3 s).

Precision matters as much as recall: a false hit parks a legitimate practice document in the
review queue. So numbers need either a check digit, a country-specific shape, or a cue word
("pasaporte", "DUI", "cédula", "tel."), and law/decree/article numbers, years, dates, amounts and
percentages are rejected by their context.
"""

from __future__ import annotations

import datetime as _dt
import re
import threading
import unicodedata
from dataclasses import dataclass

__all__ = [
    "Finding", "KINDS", "LABELS", "REDACTION", "MARK_OPEN", "MARK_CLOSE",
    "scan", "redact", "context", "warm_up",
    "curp_check_digit", "curp_is_valid", "dpi_check_digit", "dpi_is_valid",
    "dui_check_digit", "dui_is_valid", "cedula_cr_is_plausible", "cedula_pa_is_plausible",
    "dni_hn_is_plausible",
]

LABELS: dict[str, str] = {
    "email": "Correo electrónico",
    "telefono": "Teléfono",
    "curp": "CURP (México)",
    "dpi": "DPI/CUI (Guatemala)",
    "dui": "DUI (El Salvador)",
    "cedula_cr": "Cédula (Costa Rica)",
    "cedula_pa": "Cédula (Panamá)",
    "dni_hn": "DNI (Honduras)",
    "pasaporte": "Pasaporte",
    "nombre": "Nombre de persona",
}
KINDS: tuple[str, ...] = tuple(LABELS)
REDACTION = "[dato protegido]"
# Plain-text markers around the span in `context`; the web escapes the snippet and may style them.
MARK_OPEN, MARK_CLOSE = "⟦", "⟧"


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int
    text: str
    score: float
    label: str


# ------------------------------------------------------------------ check digits and plausibility
# Pure functions, no Presidio: the seeded evaluation set is generated with them too.

_CURP_ALPHABET = "0123456789ABCDEFGHIJKLMNÑOPQRSTUVWXYZ"
CURP_STATES = frozenset(
    "AS BC BS CC CL CM CS CH DF DG GT GR HG JC MC MN MS NT NL OC PL QT QR SP SL SR TC TS TL VZ YN ZS NE".split()
)
_CURP_SHAPE = re.compile(r"[A-Z][AEIOUX][A-Z]{2}\d{6}[HMX][A-Z]{2}[B-DF-HJ-NP-TV-Z]{3}[0-9A-Z]\d")


def curp_check_digit(first17: str) -> str:
    """RENAPO's check digit: weighted sum (18..2) of the character values, complemented mod 10."""
    total = sum(_CURP_ALPHABET.index(c) * (18 - i) for i, c in enumerate(first17.upper()))
    return str((10 - total % 10) % 10)


def curp_is_valid(curp: str) -> bool:
    curp = curp.upper()
    if not _CURP_SHAPE.fullmatch(curp) or curp[11:13] not in CURP_STATES:
        return False
    yy, mm, dd = int(curp[4:6]), int(curp[6:8]), int(curp[8:10])
    # The 17th character is a digit for people born before 2000 and a letter from 2000 on.
    year = (1900 if curp[16].isdigit() else 2000) + yy
    try:
        _dt.date(year, mm, dd)
    except ValueError:
        return False
    return curp_check_digit(curp[:17]) == curp[17]


# Municipalities per department (01 Guatemala .. 22 Jutiapa), for the last four digits of the CUI.
_GT_MUNICIPALITIES = (17, 8, 16, 16, 13, 14, 19, 8, 24, 21, 9, 30, 32, 21, 8, 17, 14, 5, 11, 11, 7, 17)


def dpi_check_digit(first8: str) -> int | None:
    """RENAP's CUI verifier: sum of digit × (position + 2) mod 11; 10 has no digit, so no CUI."""
    rest = sum(int(d) * (i + 2) for i, d in enumerate(first8)) % 11
    return None if rest == 10 else rest


def dpi_is_valid(digits: str) -> bool:
    digits = re.sub(r"\D", "", digits)
    if len(digits) != 13:
        return False
    dept, muni = int(digits[9:11]), int(digits[11:13])
    if not (1 <= dept <= 22 and 1 <= muni <= _GT_MUNICIPALITIES[dept - 1]):
        return False
    return dpi_check_digit(digits[:8]) == int(digits[8])


def dui_check_digit(first8: str) -> int:
    """RNPN's DUI verifier: weights 9..2, complemented mod 10."""
    total = sum(int(d) * (9 - i) for i, d in enumerate(first8))
    return (10 - total % 10) % 10


def dui_is_valid(dui: str) -> bool:
    digits = re.sub(r"\D", "", dui)
    if len(digits) != 9 or digits[:8] == "00000000":
        return False
    return dui_check_digit(digits[:8]) == int(digits[8])


def cedula_cr_is_plausible(cedula: str) -> bool:
    """Costa Rica has no check digit: province 1–9, then tomo and asiento, neither all zeros."""
    digits = re.sub(r"\D", "", cedula)
    if len(digits) == 10 and digits[0] == "0":  # written 0P-TTTT-AAAA
        digits = digits[1:]
    return len(digits) == 9 and digits[0] != "0" and digits[1:5] != "0000" and digits[5:] != "0000"


_PA_CEDULA = re.compile(r"(?:(1[0-3]|[1-9])(AV|PI)?|(PE|E|N))-(\d{1,4})-(\d{1,6})")


def cedula_pa_is_plausible(cedula: str) -> bool:
    """Panama: province 1–13 (optionally AV/PI) or PE/E/N, then tomo and asiento, no check digit."""
    m = _PA_CEDULA.fullmatch(cedula.upper())
    if not m:
        return False
    tomo, asiento = m.group(4), m.group(5)
    if int(tomo) == 0 or int(asiento) == 0:
        return False
    if m.group(1) and not m.group(2):
        # "3-10-2024" is a date, not a cédula: day–month–year shapes are refused.
        if int(m.group(1)) <= 31 and 1 <= int(tomo) <= 12 and re.fullmatch(r"(19|20)\d\d", asiento):
            return False
    return True


# Municipalities per department (01 Atlántida .. 18 Yoro) for the first four digits of the DNI.
_HN_MUNICIPALITIES = (8, 10, 21, 23, 12, 16, 19, 28, 6, 17, 4, 19, 28, 16, 23, 28, 9, 11)


def dni_hn_is_plausible(dni: str) -> bool:
    """Honduras: department 01–18, its municipality, a birth-registration year, a serial."""
    digits = re.sub(r"\D", "", dni)
    if len(digits) != 13:
        return False
    dept, muni, year = int(digits[:2]), int(digits[2:4]), int(digits[4:8])
    if not (1 <= dept <= 18 and 1 <= muni <= _HN_MUNICIPALITIES[dept - 1]):
        return False
    return 1900 <= year <= _dt.date.today().year and digits[8:] != "00000"


# ------------------------------------------------------------------ context helpers


def _fold(s: str) -> str:
    """Lowercase without accents, so cue words match however they were typed."""
    return "".join(c for c in unicodedata.normalize("NFD", s.lower()) if unicodedata.category(c) != "Mn")


def _before(text: str, start: int, width: int) -> str:
    return _fold(text[max(0, start - width):start])


def _after(text: str, end: int, width: int) -> str:
    return _fold(text[end:end + width])


_COUNTRY_CUES = {
    "GT": re.compile(r"guatemal|\bdpi\b|\bcui\b|\+\s?502\b"),
    "HN": re.compile(r"hondur|\bdni\b|\brnp\b|\+\s?504\b"),
    "SV": re.compile(r"salvador|\bdui\b|\+\s?503\b"),
    "CR": re.compile(r"costa ?rica|costarricense|\btse\b|\+\s?506\b"),
    "PA": re.compile(r"panam|\+\s?507\b"),
}


def _countries_near(text: str, start: int, end: int, width: int = 160) -> set[str]:
    window = _before(text, start, width) + " " + _after(text, end, width)
    return {c for c, rx in _COUNTRY_CUES.items() if rx.search(window)}


# Words that make the number right after them a legal, bibliographic or administrative reference.
_REFERENCE_BEFORE = re.compile(
    r"(?:\bley(?:es)?|\bdecreto|\bdto\.?|\bacuerdo|\bresoluci[o]n|\bart(?:iculo|\.)s?|\bnumeral|\binciso"
    r"|\bcapitulo|\bseccion|\bexpediente|\bexp\.|\bcaso|\bfolio|\bpag(?:ina)?s?\.?|\bp\.|\bpp\.|\bisbn|\bissn"
    r"|\bnum(?:ero)?\.?\s+de\s+(?:ley|decreto|expediente|caso)|\bcodigo|\bnom|\boficio"
    r"|\bcuenta|\bcontrato|\bconvenio|\bproyecto|\bpartida|\bsentencia|\bamparo|\bref(?:erencia)?\.?)"
    r"(?:\s+(?:ministerial|gubernativo|gubernativa|legislativo|ejecutivo|municipal|presidencial|general|nacional"
    r"|organica|especial|integral|judicial|administrativo|administrativa|constitucional|interno|interna))*"
    r"[\s:#\-]*(?:n(?:o|um|ro)?\.?\s?[°º]?\s*)?$"
)
_AMOUNT_BEFORE = re.compile(r"(?:[$€£¢₡]|\bq\.?|\bl\.?|\bb/\.?|\busd|\bmxn|\bgtq|\bhnl|\bcrc|\bpab|\bbzd)\s*$")
_AMOUNT_AFTER = re.compile(
    r"^\s*(?:%|por\s*ciento|dolares|pesos|quetzales|lempiras|colones|balboas|usd|mxn|millones|mil\b"
    r"|personas|mujeres|casos|habitantes|hogares|km|kilometros|metros|hectareas|horas|dias|anos)"
)
_PHONE_CUE = re.compile(
    r"(?:tel[eé]?f?(?:ono)?s?\.?|cel(?:ular)?\.?|movil|whats\s?app|llam\w*|marc\w*|contact\w*|numero"
    r"|linea|fax|sms|mensaje)[\s:.#\-]*(?:\S+\s+){0,3}$"
)


_MX_LEGACY = re.compile(r"(?<![\w+])(?:\+\s?52[\s.\-]?1|04[45])[\s.\-]?"
                        r"(?P<n>\(?\d{2,3}\)?[\s.\-]?\d{3,4}[\s.\-]?\d{4})(?![\w]|[\-.]\d)")

# ------------------------------------------------------------------ recognizers (Presidio)

_engine = None
_lock = threading.Lock()

# Names: capitalised tokens with accents, hyphenated surnames and particles (de, del, de la, y).
_UP = "A-ZÁÉÍÓÚÑÜ"
_LOW = "a-záéíóúñü"
_NAME_TOKEN = rf"[{_UP}][{_LOW}]+(?:-[{_UP}][{_LOW}]+)?"
_NAME = rf"{_NAME_TOKEN}(?:[ \t](?:(?:de|del|de[ \t]la|de[ \t]los|y)[ \t])?{_NAME_TOKEN}){{0,4}}"
# Forms and OCR'd case files often write names in capitals; two tokens at least, since a single
# capitalised word after a cue is more often an acronym.
_CAPS_TOKEN = rf"[{_UP}]{{2,}}"
_NAME_CAPS = rf"{_CAPS_TOKEN}(?:[ \t](?:(?:DE|DEL|DE[ \t]LA|DE[ \t]LOS|Y)[ \t])?{_CAPS_TOKEN}){{1,4}}"
# Cues after which a capitalised sequence is a person: survivor, complainant, user, etc.
_ROLE = (
    r"sobreviviente|denunciante|v[ií]ctima|usuaria|usuario|afectada|agraviada|ofendida|querellante"
    r"|demandante|solicitante|beneficiaria|paciente|adolescente|joven|niña|menor|señora|señor|sra\.|sr\."
    r"|se[nñ]orita|agresor|presunto[ \t]agresor|denunciado|imputado|madre|hija|hermana|esposa|pareja"
    r"|compañera[ \t]de[ \t]vida|refugiada|solicitante[ \t]de[ \t]asilo|migrante|retornada|declarante"
)
_NAME_CUE = (
    rf"(?i:\b(?:la|el|una|un|su|sus|a[ \t]la|al|de[ \t]la|del|las|los)[ \t]+(?:{_ROLE})"
    r"|\b(?:doña|sra\.|sr\.)"
    # "Nombre:" alone also heads practice fact sheets ("Nombre: Abriendo Caminos"): only person fields.
    r"|\bnombre[ \t]+(?:completo|ficticio)[ \t]*:"
    r"|\bnombre[ \t]+(?:completo[ \t]+)?(?:de[ \t]la|del)[ \t]+(?:v[ií]ctima|sobreviviente|usuaria|usuario|denunciante"
    r"|agresor|persona|madre|padre|hija|hijo|niña|niño|adolescente|beneficiaria|solicitante|declarante)[ \t]*:"
    r"|\b(?:v[ií]ctima|sobreviviente|denunciante|usuaria|agresor|madre|padre)[ \t]*:"
    r"|\(nombre[ \t]+ficticio\)|\b(?:(?:mujer|joven|niña|niño|adolescente|señora|persona|muchacha|hija|hijo)[ \t]+llamad[ao]"
    r"|de[ \t]+nombre|identificada[ \t]+como"
    r"|identificado[ \t]+como|conocida[ \t]+como|responde[ \t]+al[ \t]+nombre[ \t]+de))"
)
# First tokens that are institutions, roles, places or document words, not people.
_NAME_STOP = frozenset(_fold(w) for w in """
    Ministerio Ministra Ministro Red Redes Casa Casas Centro Centros Ley Leyes Oficina Comisión Comité
    Fiscalía Fiscal Procuraduría Procuradora Defensoría Defensora Policía Municipalidad Alcaldía
    Alcaldesa Alcalde Secretaría Secretaria Instituto Unidad Mesa Dirección Directora Director
    Coordinadora Coordinador Presidenta Presidente Programa Proyecto Ruta Protocolo Guía Manual Punto
    Ventanilla Servicio Servicios Sistema Línea Plan Política Estrategia Corte Juzgado Jueza Juez
    Tribunal Asamblea Congreso Consejo Junta Departamento Provincia Municipio Estado República Nación
    Naciones Gobierno Organización Asociación Fundación Federación Cooperativa Universidad Escuela
    Colegio Hospital Clínica Albergue Refugio Dependencia Delegación Departamento Región Zona
    Convención Declaración Agenda Reglamento Código Constitución Capítulo Artículo Sección
    Anexo Tabla Figura Cuadro Gráfico Módulo Paso Parte Informe Acta Ficha Formulario Expediente
    Belice Belize Costa Rica El Salvador Guatemala Honduras México Mexico Panamá Panama Nicaragua
    Lunes Martes Miércoles Jueves Viernes Sábado Domingo Enero Febrero Marzo Abril Mayo Junio Julio
    Agosto Septiembre Setiembre Octubre Noviembre Diciembre Mujer Mujeres Educación Ciudad Villa Puerto Santa
    San Licenciada Licenciado Doctora Doctor Ingeniera Magistrada Trabajadora Psicóloga Abogada
    Comisaria Comisaría Agente Oficial Inspectora Promotora Facilitadora Enlace Persona Personas
    Maya Mayas Garífuna Garífunas Lenca Lencas Miskito Misquito Ngäbe Guna Emberá Xinca Kriol Creole
    Afrodescendiente Afrodescendientes Indígena Indígenas Mestiza Ladina Ladino Bribri Cabécar Mam
    ACNUR ONU OIM UNICEF Unión Iniciativa Campaña Observatorio Fondo Banco Cruz Sala Instancia
    No Sí Se La El Las Los Un Una En Con Por Para Según Durante Ante Tras Desde Hasta Cuando Como
""".split())


def _make_engine():
    """Build the analyzer once: Presidio is imported here, not at module import."""
    import phonenumbers
    from presidio_analyzer import AnalyzerEngine, EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult
    from presidio_analyzer.nlp_engine import NoOpNlpEngine
    from presidio_analyzer.recognizer_registry import RecognizerRegistry

    case_sensitive = re.DOTALL | re.MULTILINE  # Presidio's default adds IGNORECASE; names need case.

    class _Recognizer(PatternRecognizer):
        """A PatternRecognizer whose hits are also judged against the surrounding text.

        `validate_result` sees only the matched string (check digits); `judge` sees the document
        and may reject a hit (None) or change its score.
        """

        kind = ""

        def __init__(self, patterns, flags=case_sensitive):
            super().__init__(supported_entity=self.kind, name=f"mirps_{self.kind}", supported_language="es",
                             patterns=patterns, global_regex_flags=flags)

        def judge(self, text: str, start: int, end: int, score: float) -> float | None:
            return score

        def analyze(self, text, entities, nlp_artifacts=None, regex_flags=None):
            out = []
            for r in super().analyze(text, entities, nlp_artifacts, regex_flags):
                score = self.judge(text, r.start, r.end, r.score)
                if score:
                    r.score = score
                    out.append(r)
            return out

    class EmailRecognizer(_Recognizer):
        kind = "email"

        def __init__(self):
            super().__init__([Pattern("email", r"(?<![\w.+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}@"
                                               r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}"
                                               r"(?![\w@])", 1.0)])

    class CurpRecognizer(_Recognizer):
        kind = "curp"

        def __init__(self):
            super().__init__([Pattern("curp", r"(?<![\w])[A-Z][AEIOUX][A-Z]{2}\d{6}[HMX][A-Z]{2}"
                                              r"[B-DF-HJ-NP-TV-Z]{3}[0-9A-Z]\d(?![\w])", 0.5)])

        def validate_result(self, pattern_text):
            return curp_is_valid(pattern_text)

    class DpiRecognizer(_Recognizer):
        kind = "dpi"

        def __init__(self):
            super().__init__([
                Pattern("dpi_agrupado", r"(?<![\w\-])\d{4}([ \-])\d{5}\1\d{4}(?![\w]|-\d)", 0.5),
                Pattern("dpi_continuo", r"(?<![\w\-])\d{13}(?![\w]|-\d)", 0.5),
            ])

        def validate_result(self, pattern_text):
            return dpi_is_valid(pattern_text)

        def judge(self, text, start, end, score):
            # A bare 13-digit run that happens to pass the mod-11 check next to a Honduran cue is
            # the Honduran DNI (same length); the grouped 4-5-4 form is Guatemalan only.
            if text[start:end].isdigit() and "HN" in _countries_near(text, start, end, 80) \
                    and "GT" not in _countries_near(text, start, end, 80):
                return None
            return score

    class DuiRecognizer(_Recognizer):
        kind = "dui"

        def __init__(self):
            super().__init__([
                Pattern("dui", r"(?<![\w\-])\d{8}-\d(?![\w]|-\d)", 0.5),
                Pattern("dui_continuo", r"(?<![\w\-])\d{9}(?![\w]|-\d)", 0.5),
            ])

        def validate_result(self, pattern_text):
            return dui_is_valid(pattern_text)

        def judge(self, text, start, end, score):
            # Nine bare digits pass the check one time in ten: demand the word DUI nearby.
            if "-" not in text[start:end] and not re.search(r"\bdui\b", _before(text, start, 60)):
                return None
            return score

    class CedulaCrRecognizer(_Recognizer):
        kind = "cedula_cr"

        def __init__(self):
            super().__init__([
                Pattern("cedula_cr", r"(?<![\w\-])0?[1-9]([ \-])\d{4}\1\d{4}(?![\w]|-\d)", 0.85),
                Pattern("cedula_cr_continua", r"(?<![\w\-])[1-9]\d{8}(?![\w]|-\d)", 0.8),
            ])

        def validate_result(self, pattern_text):
            # No check digit exists: only refuse the implausible, keep the pattern's score.
            return None if cedula_cr_is_plausible(pattern_text) else False

        def judge(self, text, start, end, score):
            span = text[start:end]
            near = _countries_near(text, start, end)
            if span.isdigit() and not re.search(r"\bced(?:ula|\.)|\bidentificacion|\bdocumento", _before(text, start, 60)):
                return None
            if re.search(r"\bdui\b", _before(text, start, 60)):
                return None
            # "8-1234-5678" is also a valid Panamanian shape: Panama cues with no Costa Rica cue decide.
            if "PA" in near and "CR" not in near:
                return None
            return score

    class CedulaPaRecognizer(_Recognizer):
        kind = "cedula_pa"

        def __init__(self):
            super().__init__([Pattern("cedula_pa", r"(?<![\w\-])(?:(?:1[0-3]|[1-9])(?:AV|PI)?|PE|E|N)-\d{1,4}-\d{1,6}"
                                                   r"(?![\w]|-\d)", 0.85)])

        def validate_result(self, pattern_text):
            return None if cedula_pa_is_plausible(pattern_text) else False

        def judge(self, text, start, end, score):
            parts = text[start:end].split("-")
            before = _before(text, start, 40)
            if _REFERENCE_BEFORE.search(before):
                return None
            if len(parts[1]) == 4 and len(parts[2]) == 4:
                # Costa Rica's P-TTTT-AAAA shape: Panamanian only with a Panama cue and none for Costa Rica.
                near = _countries_near(text, start, end)
                if not ("PA" in near and "CR" not in near):
                    return None
            if len(parts[1]) + len(parts[2]) < 4:
                # "1-2-3" is a list or a reference; short real cédulas come with the word.
                return score if re.search(r"\bced(?:ula|\.)", before) else None
            return score

    class DniHnRecognizer(_Recognizer):
        kind = "dni_hn"

        def __init__(self):
            super().__init__([
                Pattern("dni_hn", r"(?<![\w\-])\d{4}([ \-])\d{4}\1\d{5}(?![\w]|-\d)", 0.85),
                Pattern("dni_hn_continuo", r"(?<![\w\-])\d{13}(?![\w]|-\d)", 0.8),
            ])

        def validate_result(self, pattern_text):
            return None if dni_hn_is_plausible(pattern_text) else False

        def judge(self, text, start, end, score):
            span = text[start:end]
            if span.isdigit():
                before = _before(text, start, 60)
                if not re.search(r"\bdni\b|\bidentidad|\bidentificacion|\bdocumento", before):
                    return None
                if dpi_is_valid(span) and "HN" not in _countries_near(text, start, end, 80):
                    return None
            return score

    class PasaporteRecognizer(_Recognizer):
        kind = "pasaporte"

        def __init__(self):
            super().__init__([Pattern("pasaporte", r"(?<![\w\-])[A-Z]{1,3}[ \-]?\d{6,9}(?![\w]|-\d)", 0.8)])

        def judge(self, text, start, end, score):
            # Letters + digits are only a passport when the word says so, right before.
            return score if re.search(r"\bpasaportes?\b|\bpassport\b", _before(text, start, 50)) else None

    class NombreRecognizer(_Recognizer):
        kind = "nombre"

        def __init__(self):
            super().__init__([
                Pattern("nombre_tras_indicio", rf"(?<={_NAME_CUE}[ \t]*[,:]?[ \t]*){_NAME}(?![{_UP}{_LOW}])", 0.7),
                Pattern("nombre_mayusculas", rf"(?<={_NAME_CUE}[ \t]*[,:]?[ \t]*){_NAME_CAPS}(?![{_UP}{_LOW}])", 0.7),
                Pattern("nombre_ficticio", rf"(?<![{_UP}{_LOW}]){_NAME}(?=[ \t]*\((?i:nombre[ \t]+ficticio)\))", 0.7),
            ])

        def judge(self, text, start, end, score):
            tokens = [t for t in re.split(r"[ \t]+", text[start:end])
                      if t[:1].isupper() and t not in ("DE", "DEL", "LA", "LOS", "Y")]
            if not tokens or _fold(tokens[0]) in _NAME_STOP:
                return None
            # A single given name is still personal data, but weaker evidence than name + surname.
            return score if len(tokens) > 1 else 0.6

    class TelefonoRecognizer(EntityRecognizer):
        """libphonenumber's own matcher, run for each MIRPS region, then filtered by context."""

        REGIONS = ("GT", "SV", "HN", "CR", "PA", "BZ", "MX")
        SERVICE_TYPES = frozenset({phonenumbers.PhoneNumberType.TOLL_FREE, phonenumbers.PhoneNumberType.PREMIUM_RATE,
                                   phonenumbers.PhoneNumberType.SHARED_COST, phonenumbers.PhoneNumberType.UAN})

        def __init__(self):
            super().__init__(supported_entities=["telefono"], name="mirps_telefono", supported_language="es")

        def load(self):
            pass

        def analyze(self, text, entities, nlp_artifacts=None):
            seen: dict[tuple[int, int], float] = {}
            institutional: set[tuple[int, int]] = set()
            for region in self.REGIONS:
                for m in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
                    key = (m.start, m.end)
                    # Toll-free and service lines belong to institutions, never to a person; if any
                    # region reads the digits that way, the digits are not personal.
                    if phonenumbers.number_type(m.number) in self.SERVICE_TYPES:
                        institutional.add(key)
                    if key in seen or key in institutional:
                        continue
                    score = self._judge(text, m.start, m.end, m.raw_string)
                    if score:
                        seen[key] = score
            seen = {k: v for k, v in seen.items() if k not in institutional}
            # Mexican mobiles are still written with the pre-2019 prefixes (+52 1 …, 044/045 …), which
            # libphonenumber no longer accepts: validate the ten digits that follow instead.
            for m in _MX_LEGACY.finditer(text):
                number = re.sub(r"\D", "", m.group("n"))
                if phonenumbers.is_valid_number(phonenumbers.parse(number, "MX")):
                    key = (m.start(), m.end())
                    if not any(s <= key[0] < e or key[0] <= s < key[1] for s, e in seen):
                        score = self._judge(text, m.start(), m.end(), m.group(0))
                        if score:
                            seen[key] = score
            return [RecognizerResult("telefono", s, e, score) for (s, e), score in seen.items()]

        @staticmethod
        def _judge(text: str, start: int, end: int, raw: str) -> float | None:
            digits = re.sub(r"\D", "", raw)
            international = raw.lstrip("( ").startswith(("+", "00"))
            before, after = _before(text, start, 40), _after(text, end, 25)
            if _REFERENCE_BEFORE.search(before) or _AMOUNT_BEFORE.search(before) or _AMOUNT_AFTER.search(after):
                return None
            if re.fullmatch(r"\d{1,3}(?:[ .,]\d{3})+", raw.strip()):
                return None  # thousands grouping: a count or an amount
            if re.fullmatch(r"(?:19|20)\d\d\s*[\-–/]\s*(?:19|20)\d\d", raw.strip()):
                return None  # a range of years
            if re.fullmatch(r"\d{1,2}\s*([\-/.])\s*\d{1,2}\s*\1\s*\d{2,4}|\d{4}\s*([\-/.])\s*\d{1,2}\s*\2\s*\d{1,2}",
                            raw.strip()):
                return None  # a date: 3-10-2024, 15/04/24, 2024.04.15
            if international:
                return 0.95
            if not re.search(r"[\s.\-()]", raw.strip()):
                # An ungrouped run of digits is a phone only when a phone word announces it.
                return 0.7 if _PHONE_CUE.search(before) and len(digits) >= 7 else None
            return 0.85

    recognizers = [EmailRecognizer(), CurpRecognizer(), DpiRecognizer(), DuiRecognizer(), CedulaCrRecognizer(),
                   CedulaPaRecognizer(), DniHnRecognizer(), PasaporteRecognizer(), NombreRecognizer(),
                   TelefonoRecognizer()]
    registry = RecognizerRegistry(recognizers=recognizers, supported_languages=["es"])
    return AnalyzerEngine(registry=registry, supported_languages=["es"],
                          nlp_engine=NoOpNlpEngine(models=[{"lang_code": "es", "model_name": "none"}]))


def _get_engine():
    global _engine
    if _engine is None:
        with _lock:
            if _engine is None:
                _engine = _make_engine()
    return _engine


def warm_up() -> None:
    """Import Presidio and build the recognizers now rather than on the first document."""
    _get_engine().analyze(text="+502 5555-0123", language="es")  # compiles every pattern once


def _resolve_overlaps(findings: list[Finding]) -> list[Finding]:
    """One finding per stretch of text: the most certain, then the longest, wins.

    Two recognizers can claim the same digits (a Costa Rican and a Panamanian cédula shape, a DPI
    and a DNI); the review queue and redaction need one answer each.
    """
    kept: list[Finding] = []
    for f in sorted(findings, key=lambda f: (-f.score, -(f.end - f.start), f.start)):
        if all(f.end <= k.start or f.start >= k.end for k in kept):
            kept.append(f)
    return sorted(kept, key=lambda f: (f.start, f.end))


def scan(text: str) -> list[Finding]:
    """Personal data found in `text`, in document order, with character offsets into `text`."""
    if not text or not text.strip():
        return []
    results = _get_engine().analyze(text=text, language="es")
    findings = [Finding(kind=r.entity_type, start=r.start, end=r.end, text=text[r.start:r.end],
                        score=round(float(r.score), 3), label=LABELS[r.entity_type])
                for r in results if r.entity_type in LABELS]
    return _resolve_overlaps(findings)


def redact(text: str, findings: list[Finding]) -> str:
    """`text` with every finding replaced by REDACTION; overlapping or touching spans merge into one."""
    spans = []
    for f in findings:
        if not (0 <= f.start < f.end <= len(text)) or text[f.start:f.end] != f.text:
            # Findings from another version of the text would redact the wrong characters.
            raise ValueError(f"finding {f.kind} at {f.start}:{f.end} does not belong to this text")
        spans.append((f.start, f.end))
    merged: list[list[int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    out, pos = [], 0
    for s, e in merged:
        out.append(text[pos:s])
        out.append(REDACTION)
        pos = e
    out.append(text[pos:])
    return "".join(out)


def context(text: str, finding: Finding, width: int = 60) -> str:
    """A one-line snippet around the finding with the span between MARK_OPEN and MARK_CLOSE.

    Plain text (the web escapes it); whitespace runs collapse so a snippet from a table or a PDF
    line break reads as one line; "…" marks where the snippet cuts the text.
    """
    lo, hi = max(0, finding.start - width), min(len(text), finding.end + width)
    # Cut at a word boundary so the snippet does not start or end mid-word.
    if lo > 0:
        space = text.find(" ", lo, finding.start)
        lo = space + 1 if space != -1 else lo
    if hi < len(text):
        space = text.rfind(" ", finding.end, hi)
        hi = space if space != -1 else hi

    def squash(s: str) -> str:
        return re.sub(r"\s+", " ", s)

    left, span, right = squash(text[lo:finding.start]), squash(text[finding.start:finding.end]), squash(text[finding.end:hi])
    return (("…" if lo > 0 else "") + left.lstrip() + MARK_OPEN + span + MARK_CLOSE + right.rstrip()
            + ("…" if hi < len(text) else ""))
