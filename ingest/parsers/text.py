"""Plain text and Markdown: decoding that gets Spanish right, then paragraphs, headings and lists.

Encoding: files from Windows offices are often Windows-1252 or Latin-1, not UTF-8. Generic detectors
guess from byte statistics alone and, on a short Spanish text, readily pick Windows-1250 or HP
Roman-8 ("nińas", "aþo"). We try UTF-8 first (with or without BOM, tolerating the odd stray
Latin-1 byte in an otherwise UTF-8 file), then let charset-normalizer choose only among the
single-byte encodings Spanish text is actually written in, and break its ties by how Spanish the
result reads.

Structure of a .txt: paragraphs are runs of lines separated by blank lines; lines inside one are
joined (a line-end hyphen before a lower-case word is a split word); short stand-alone lines in
capitals or Title Case are headings; "-", "*", "•", "1.", "a)" lines are list items.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from pathlib import Path

from ingest.blocks import Block, Kind, Parsed, ParseStats
from ingest.parsers.elements import FINAL_PUNCT, clean_inline, to_blocks
from search.errors import IngestError

# ------------------------------------------------------------------ decoding

SINGLE_BYTE = ["cp1252", "latin_1", "iso8859_15", "cp850", "mac_roman"]  # preference order on ties
SPANISH_CHARS = set("áéíóúñüÁÉÍÓÚÑÜ¿¡")
# Non-ASCII characters a Spanish text plausibly holds besides its letters; anything else that a
# candidate decoding produces counts against it.
COMMON_CHARS = set("«»“”‘’–—…€°ºª·•§©®½¼¾±×÷¢£¥çÇàèìòùÀÈÌÒÙâêîôûäëïöÄËÏÖ\u00a0")
MARKS = re.compile("[\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")  # not the soft hyphen
UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def _cp1252_fallback(exc: UnicodeDecodeError):
    """Decode the bytes UTF-8 rejected as Windows-1252 (stray Latin-1 bytes in a UTF-8 file)."""
    bad = exc.object[exc.start:exc.end]
    return bad.decode("cp1252", errors="replace").replace("\ufffd", ""), exc.end


codecs.register_error("kb_cp1252_fallback", _cp1252_fallback)


def spanish_score(text: str) -> int:
    """Higher = reads more like Spanish: accented letters count for, control characters and
    symbols no Spanish text uses count against."""
    score = 0
    for c in text:
        if c < "\x80":
            if c < " " and c not in "\t\n\r\f":
                score -= 5
        elif c in SPANISH_CHARS:
            score += 1
        elif c in COMMON_CHARS:
            pass
        elif "\x80" <= c <= "\x9f":
            score -= 5
        else:
            score -= 3
    return score


def decode_bytes(data: bytes) -> str:
    """Text of a file in whatever encoding Spanish text is likely to have been saved in."""
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                       (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                       (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    if data.count(b"\x00") > len(data) // 4:  # UTF-16 without a BOM: every other byte is zero
        codec = "utf-16-le" if data[1::2].count(0) > data[0::2].count(0) else "utf-16-be"
        return data.decode(codec, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    valid = len(UTF8_SEQUENCE.findall(data))
    invalid = len(data.decode("utf-8", errors="replace").split("\ufffd")) - 1
    if valid and valid >= 3 * invalid:
        return data.decode("utf-8", errors="kb_cp1252_fallback")
    return _decode_single_byte(data)


def _decode_single_byte(data: bytes) -> str:
    import charset_normalizer

    candidates: dict[str, str] = {}
    try:
        for match in charset_normalizer.from_bytes(data, cp_isolation=SINGLE_BYTE):
            candidates[match.encoding] = str(match)  # Python codec names: "cp1252", "latin_1"…
    except Exception:  # noqa: BLE001, S110 - detector trouble must not cost the file: cp1252 and latin-1 remain
        pass
    for codec in ("cp1252", "latin_1"):
        if codec not in candidates:
            try:
                candidates[codec] = data.decode(codec)
            except UnicodeDecodeError:
                continue
    order = {codec: i for i, codec in enumerate(SINGLE_BYTE)}
    best = max(candidates, key=lambda c: (spanish_score(candidates[c]), -order.get(c, len(order))))
    return candidates[best]


def read_text(path: Path) -> str:
    """The file decoded, newlines normalised, NFC."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise IngestError(f"No se pudo leer el archivo «{Path(path).name}».", f"cannot read {path}: {exc}") from exc
    text = decode_bytes(data)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    # Bidi and zero-width marks go before structure is read: "\u202eINFORME" is still a heading.
    return unicodedata.normalize("NFC", MARKS.sub("", text))


# ------------------------------------------------------------------ plain text structure

MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
BULLET_ITEM = re.compile(r"^\s*[-*•·▪●◦–]\s+(.*)$")
NUMBERED_ITEM = re.compile(r"^\s*(?:\d{1,3}[.)]|[a-zñ]\)|\((?:\d{1,3}|[a-zñ])\))\s+\S")
NUMBER_PREFIX = re.compile(r"^\s*\d{1,3}[.)]\s+")
WORD = re.compile(r"[^\W\d_]+")
# Words Spanish Title Case leaves in lower case ("Plan de Acción para la Prevención").
MINOR_WORDS = {
    "a", "al", "ante", "bajo", "con", "contra", "de", "del", "desde", "e", "el", "en", "entre", "hacia",
    "hasta", "la", "las", "lo", "los", "ni", "o", "para", "por", "que", "según", "sin", "sobre", "su",
    "sus", "tras", "u", "un", "una", "unas", "unos", "y", "of", "the", "and",
}
HEADING_MAX = 80
TITLE_MAX = 200  # a document's first line, standing alone, is its title even when long


def _is_caps(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 3 and sum(c.isupper() for c in letters) / len(letters) >= 0.9


def _is_title_case(text: str) -> bool:
    words = [w for w in WORD.findall(text) if w.lower() not in MINOR_WORDS]
    return bool(words) and all(w[0].isupper() for w in words)


def _is_heading(line: str, first: bool) -> bool:
    """A stand-alone line (its paragraph is this line alone) that names a section."""
    s = line.strip()
    if not s or s[-1] in FINAL_PUNCT + "," or not s[0].isupper() and not s[0].isdigit():
        return False
    if NUMBERED_ITEM.match(s):  # "1. INTRODUCCIÓN" is a heading, "1. Escuchar sin juzgar" an item
        return len(s) < HEADING_MAX and _is_caps(NUMBER_PREFIX.sub("", s))
    if BULLET_ITEM.match(s):
        return False
    if len(s) < HEADING_MAX and (_is_caps(s) or _is_title_case(s)):
        return True
    return first and len(s) <= TITLE_MAX and s[0].isupper()


def join_lines(lines: list[str]) -> str:
    """Lines of one paragraph as one string; "protec-" + "ción" -> "protección"."""
    text = ""
    for line in lines:
        t = line.strip()
        if not t:
            continue
        if not text:
            text = t
        elif len(text) >= 2 and text[-1] in "-\u00ad" and text[-2].isalpha() and t[0].isalpha() and t[0].islower():
            text = text[:-1] + t
        else:
            text = f"{text} {t}"
    return text


def text_blocks(text: str) -> list[Block]:
    """Blocks of a plain text; form feeds, where a file has them, mark pages."""
    pages = text.split("\f")
    blocks: list[Block] = []
    for number, page_text in enumerate(pages, start=1):
        page = number if len(pages) > 1 else None
        blocks.extend(_page_blocks(page_text, page, first=not blocks))
    return blocks


def _page_blocks(text: str, page: int | None, first: bool) -> list[Block]:
    paragraphs: list[list[str]] = [[]]
    for line in text.split("\n"):
        if line.strip():
            paragraphs[-1].append(line)
        elif paragraphs[-1]:
            paragraphs.append([])
    blocks: list[Block] = []

    def add(kind: Kind, lines: list[str]) -> None:
        t = clean_inline(join_lines(lines))
        if t:
            blocks.append(Block(t, kind, page=page))

    for i, para in enumerate(p for p in paragraphs if p):
        if len(para) == 1:
            m = MD_HEADING.match(para[0])
            if m:
                add(Kind.HEADING, [m.group(2)])
                continue
            if _is_heading(para[0], first=first and i == 0):
                add(Kind.HEADING, para)
                continue
        kind: Kind | None = None
        current: list[str] = []
        for j, line in enumerate(para):
            m = MD_HEADING.match(line)
            bullet = BULLET_ITEM.match(line)
            if m or bullet or NUMBERED_ITEM.match(line) or (
                    j == 0 and len(para) > 1 and len(line.strip()) < HEADING_MAX and _is_caps(line)
                    and line.strip()[-1] not in FINAL_PUNCT + ","):
                if current:
                    add(kind, current)
                if m:
                    add(Kind.HEADING, [m.group(2)])
                    kind, current = None, []
                elif bullet:
                    kind, current = Kind.LIST, [bullet.group(1)]
                elif NUMBERED_ITEM.match(line):
                    kind, current = Kind.LIST, [line]
                else:  # a capitals line straight above its paragraph: "CONTEXTO\nEl municipio…"
                    add(Kind.HEADING, [line])
                    kind, current = None, []
                continue
            if kind is None:
                kind = Kind.TEXT
            current.append(line)
        if current:
            add(kind or Kind.TEXT, current)
    return blocks


def looks_like_text(text: str) -> bool:
    """Random or binary bytes decode to *something* in a single-byte encoding; real text is mostly
    letters, digits, spaces and ordinary punctuation."""
    sample = text[:20000]
    if not sample.strip():
        return False
    ordinary = sum(1 for c in sample if c.isalnum() or c.isspace() or c in ".,;:¿?¡!()[]\"'«»“”‘’-–—/%$€#*•@&+=_")
    return ordinary / len(sample) >= 0.9


def parse_txt(path: Path, ocr_languages: str = "spa") -> Parsed:
    text = read_text(path)
    if text.strip() and not looks_like_text(text):
        raise IngestError("El archivo de texto está dañado o no contiene texto (¿es un archivo binario con "
                          "extensión .txt?).", f"{path} does not decode to text")
    blocks = text_blocks(text)
    if not blocks:
        raise IngestError("El documento no contiene texto legible.", f"no text in {path}")
    return Parsed(blocks, ParseStats())


def parse_md(path: Path, ocr_languages: str = "spa") -> Parsed:
    """Markdown through unstructured (CommonMark headings, lists, tables), decoded as .txt is."""
    from ingest.partition import LANGUAGES, warm_up

    warm_up()
    from unstructured.partition.md import partition_md

    text = read_text(path)
    if not text.strip():
        raise IngestError("El documento no contiene texto legible.", f"no text in {path}")
    elements = partition_md(text=text, languages=list(LANGUAGES))
    blocks = to_blocks(elements)
    if not blocks:
        raise IngestError("El documento no contiene texto legible.", f"no text in {path}")
    return Parsed(blocks, ParseStats(tables=sum(1 for e in elements if getattr(e, "category", "") == "Table")))


parse = parse_txt
