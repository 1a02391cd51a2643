"""Spanish sentence boundaries with character offsets (for passage boundaries).

A regular expression with an abbreviation list, not a statistical model: passages only need to
start and end where a sentence does, the text is institutional Spanish full of "Art. 5", "Nº 30364",
"Sr.", "p. ej." and "EE.UU.", and this runs on every paragraph of every document at ingest.
"""

from __future__ import annotations

import re

ABBREVIATIONS = {
    "sr", "sra", "srta", "dr", "dra", "lic", "ing", "arq", "mtro", "mtra", "prof", "profa", "ud", "uds", "vd",
    "art", "arts", "núm", "num", "no", "nº", "n°", "nro", "pág", "págs", "pag", "p", "pp", "vol", "cap", "caps",
    "etc", "ej", "aprox", "tel", "telf", "av", "avda", "dto", "depto", "inc", "fracc", "fr", "cía", "cia", "sa",
    "ss", "cfr", "op", "cit", "ibíd", "ibid", "id", "vs", "min", "máx", "max", "mín", "col", "lit", "ord", "dec",
    "res", "exp", "gral", "lic", "abg", "abog", "coord", "dir", "dpto", "esq", "km", "mts", "hab", "aa", "ee",
    "uu", "usc", "u", "s", "c", "ed", "eds", "trad", "coord", "num", "fs", "fojas", "tit", "sec",
}
# Words after which "N." is a numbering, not a sentence end ("Artículo 1. Objeto de la Ley").
NUMBERING_WORDS = re.compile(r"(?:art[íi]culo|art|cap[íi]tulo|numeral|inciso|punto|secci[óo]n|t[íi]tulo|anexo|"
                             r"ley|decreto|n[º°o]|núm|num)\s*$", re.IGNORECASE)

CANDIDATE = re.compile(r"[.!?…]+[\"'”»)\]]*(?=\s+)")
NEXT_START = re.compile(r"\s+(?=[\"'“«(\[¿¡]*[A-ZÁÉÍÓÚÑÜ0-9•\-–])")


def split(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of the sentences of `text`; together they cover every non-space char."""
    spans: list[tuple[int, int]] = []
    start = _skip_space(text, 0)
    for m in CANDIDATE.finditer(text):
        end = m.end()
        if end <= start:
            continue
        nxt = NEXT_START.match(text, end)
        if not nxt:
            continue
        if m.group(0)[0] == "." and not _real_stop(text, start, m.start()):
            continue
        spans.append((start, end))
        start = _skip_space(text, end)
    if start < len(text.rstrip()):
        spans.append((start, len(text.rstrip())))
    return spans


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i].isspace():
        i += 1
    return i


def _real_stop(text: str, sentence_start: int, dot: int) -> bool:
    """Whether the period at `dot` ends a sentence (not an abbreviation, initial or numbering)."""
    word = re.search(r"([\wº°]+)$", text[sentence_start:dot])
    if word is None:
        return True
    token = word.group(1)
    before = text[sentence_start:dot - len(token)]
    if token.lower() in ABBREVIATIONS:
        return False
    if len(token) == 1 and token.isalpha():  # an initial: "J. Pérez", "a. m."
        return False
    if token.isdigit() or re.fullmatch(r"[IVXLC]+|\d+[º°]?", token):
        if dot - sentence_start <= len(token) + 1:
            return False  # "1. Principio…" opens an item: the number is not a sentence
        if NUMBERING_WORDS.search(before):
            return False
    if re.fullmatch(r"(?:[A-Za-z]\.){1,4}[A-Za-z]?", text[max(sentence_start, dot - 8):dot].split(" ")[-1] + "."):
        return False  # EE.UU., U.S.C., S.A.
    return True
