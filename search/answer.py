"""The short answer: one to three whole sentences that answer, each from a cited passage.

Candidates are the sentences of the passages chosen for the top documents. A sentence qualifies
only if it reads as a sentence (capital start, final stop, enough words, not a heading or a list
fragment) and says something beyond the query's own words; among those, the ones that hold more of
the query's content words, from better passages, come first. Nothing qualifies -> no short answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from search.passages import ScoredPassage, coverage, word_patterns
from search.sentences import split
from search.text import WORD_RE, fold, highlight, is_stopword, stem

MIN_WORDS = 7
MAX_CHARS = 420
STARTS = re.compile(r"^[\"«“(¿¡]?[A-ZÁÉÍÓÚÑ0-9]")


@dataclass(frozen=True)
class AnswerSentence:
    html: str
    text: str
    marker: int


@dataclass(frozen=True)
class _Candidate:
    score: float
    text: str
    marker: int
    words: frozenset[str]


def is_answer_sentence(text: str, query_stems: set[str]) -> bool:
    """A whole sentence that adds something to the query (not a heading, fragment or echo)."""
    t = text.strip()
    if not (40 <= len(t) <= MAX_CHARS) or not STARTS.match(t) or t[-1] not in ".!?)»”\"":
        return False
    words = WORD_RE.findall(t)
    if len(words) < MIN_WORDS or t.upper() == t:
        return False
    content = {stem(w) for w in words if not is_stopword(w) and len(w) > 2}
    return len(content - query_stems) >= 4


def _sentences(text: str) -> list[str]:
    """Sentences of a passage, paragraph by paragraph (a heading never glues onto a sentence)."""
    out = []
    for paragraph in text.split("\n\n"):
        out.extend(paragraph[s:e].strip() for s, e in split(paragraph))
    return out


class ShortAnswer:
    """Measured with `kb eval`: re-scoring the 16 best candidate sentences by their e5 similarity to the
    query raised short-answer accuracy from 0.131 to 0.139 and tripled query time, so it is not used."""

    def __init__(self, max_sentences: int = 3, top_documents: int = 3):
        self.max_sentences = max_sentences
        self.top_documents = top_documents

    def run(self, stems: set[str], ranked: list[list[tuple[int, ScoredPassage]]]) -> list[AnswerSentence]:
        """`ranked`: per document in rank order, its (marker, passage) pairs, best passage first."""
        if not stems:
            return []
        patterns = word_patterns(stems)
        candidates: list[_Candidate] = []
        for doc_rank, passages in enumerate(ranked[:self.top_documents]):
            for p_rank, (marker, passage) in enumerate(passages[:2]):
                text = passage.hit.payload.get("text", "")
                for sentence in _sentences(text):
                    if not is_answer_sentence(sentence, stems):
                        continue
                    cov = coverage(patterns, fold(sentence))
                    if cov == 0:
                        continue
                    score = cov + 0.3 * passage.coverage + 0.15 / (1 + doc_rank) + 0.05 / (1 + p_rank)
                    words = frozenset(stem(w) for w in WORD_RE.findall(sentence) if not is_stopword(w))
                    candidates.append(_Candidate(score, sentence, marker, words))
        candidates.sort(key=lambda c: -c.score)
        chosen: list[_Candidate] = []
        for c in candidates:
            if len(chosen) == self.max_sentences:
                break
            if chosen and c.score < 0.6 * chosen[0].score:
                break  # a much weaker sentence dilutes the answer
            if any(len(c.words & o.words) > 0.7 * min(len(c.words), len(o.words)) for o in chosen):
                continue  # says the same again
            chosen.append(c)
        return [AnswerSentence(highlight(c.text, stems), c.text, c.marker) for c in chosen]
