"""Spanish text helpers for the query side: stems, highlighting, sentences.

Highlighting is HTML-safe by construction: every piece of source text is escaped, and the
only markup added is our own <mark> around whole words whose stem matches a query stem.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

import Stemmer

WORD_RE = re.compile(r"\w+", re.UNICODE)
# Sentence ends: . ! ? … followed by space and an upper-case letter, a digit or an opening mark.
SENTENCE_RE = re.compile(r"(?<=[.!?…])\s+(?=[¿¡\"«(A-ZÁÉÍÓÚÑ0-9])")

STOPWORDS = frozenset("""
a al algo algunas algunos ante antes como con contra cual cuando de del desde donde durante e el ella ellas
ellos en entre era es esa esas ese eso esos esta estas este esto estos fue ha hay la las le les lo los mas
me mi mis mucho muy nada ni no nos o os otra otras otro otros para pero poco por porque que quien se sea
ser si sin sino sobre su sus tambien te tiene tienen todo todos tu un una unas uno unos y ya cual cuales
como donde que quien quienes puede pueden hace hacer debe deben son esta estan sus
""".split())


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=1)
def _stemmer():
    return Stemmer.Stemmer("spanish")


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    return _stemmer().stemWord(fold(word))


def query_stems(query: str) -> set[str]:
    """Stems of the meaningful words of a query (stop words and 1-letter tokens dropped)."""
    stems = set()
    for w in WORD_RE.findall(query):
        f = fold(w)
        if len(f) < 2 or f in STOPWORDS or f.isdigit() and len(f) < 4:
            continue
        stems.add(stem(f))
    return stems


@lru_cache(maxsize=50_000)
def is_stopword(word: str) -> bool:
    return fold(word) in STOPWORDS


def highlight(text: str, stems: set[str]) -> str:
    """Escaped `text` with <mark> around words whose stem is in `stems` (accent-insensitive)."""
    out: list[str] = []
    last = 0
    for m in WORD_RE.finditer(text):
        word = m.group(0)
        if stems and not is_stopword(word) and stem(word) in stems:
            out.append(html.escape(text[last:m.start()]))
            out.append(f"<mark>{html.escape(word)}</mark>")
            last = m.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def _is_heading_line(line: str) -> bool:
    return (len(line.split()) <= 12 and not line.rstrip().endswith((".", "!", "?", "…", ":", ";"))
            and ". " not in line)


def sentences(text: str) -> list[str]:
    """Sentences of a passage; heading lines (short, no final punctuation) are left out so a
    section title is never glued to the sentence that follows it."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        lines = [ln.strip() for ln in block.splitlines() if ln.strip()]
        while lines and _is_heading_line(lines[0]) and len(lines) > 1:
            lines.pop(0)
        if len(lines) == 1 and _is_heading_line(lines[0]):
            continue
        flat = " ".join(lines)
        out.extend(s.strip() for s in SENTENCE_RE.split(flat) if s.strip())
    return out


def has_letters(text: str) -> bool:
    return any(ch.isalpha() for ch in text)
