"""Passage choice: for each document shown, the passages that answer the query.

Retrieval ranks documents well but cites whatever chunks happened to reach the fused top list:
often the one next to the answer, or a «Contexto» section that resembles the question. Here every
chunk of the shown documents is ranked again, inside those documents only: the dense and the
lexical query each rank them (two filtered queries), the ranks are fused as in retrieval, and the
share of the query's content words a passage holds is added (prefix match on Spanish stems).

Measured with `kb eval` on the domain set (passage accuracy, hybrid): global top chunks 0.652;
dense rank inside the documents 0.660; + word share 0.703; + a prior for the section's role
(context and problem statements down, steps and results up) 0.669, so the role prior was dropped;
dense and lexical ranks fused (lexical at half weight) + word share 0.693 on the 180-query set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from search.store import PUBLISHED_CHUNKS, Hit, Store, eq
from search.text import fold

@dataclass(frozen=True)
class ScoredPassage:
    hit: Hit
    score: float
    coverage: float  # share of the query's content words in the passage
    dense: float  # cosine of the passage to the query


def word_patterns(stems: set[str]) -> list[re.Pattern]:
    """A query stem matches a folded word that starts with it ("financi" ~ "financiamiento")."""
    return [re.compile(r"\b" + re.escape(s)) for s in sorted(stems) if len(s) >= 3]


def coverage(patterns: list[re.Pattern], folded_text: str) -> float:
    if not patterns:
        return 0.0
    return sum(1 for p in patterns if p.search(folded_text)) / len(patterns)


class PassageChooser:
    def __init__(self, store: Store, *, per_doc: int = 3, coverage_weight: float = 0.1,
                 fusion_k: float = 3.0, sparse_weight: float = 0.5,
                 candidates_per_doc: int = 40):
        self.store = store
        self.per_doc = per_doc
        self.coverage_weight = coverage_weight
        self.fusion_k = fusion_k
        self.sparse_weight = sparse_weight
        self.candidates_per_doc = candidates_per_doc

    def run(self, dense: list[float] | None, stems: set[str], groups: dict[str, list[Hit]],
            sparse: tuple[list[int], list[float]] | None = None) -> dict[str, list[ScoredPassage]]:
        """The best passages of each document in `groups` (doc_id -> its retrieved hits).

        Inside the shown documents, every chunk is ranked by the dense and the lexical query alone
        (two filtered queries), the two ranks fused as in retrieval, plus the share of query words.
        """
        if not groups:
            return {}
        patterns = word_patterns(stems)
        newest = {d: hits[0].payload.get("gen", 0) for d, hits in groups.items()}
        where = PUBLISHED_CHUNKS.and_(eq("doc_id", *groups))
        limit = self.candidates_per_doc * len(groups)
        ranked: dict[str, dict[str, list]] = {d: {} for d in groups}  # doc -> chunk id -> [hit, cos, fused]

        def add(hits: list[Hit], weight: float, is_dense: bool) -> None:
            seen: dict[str, int] = {}
            for h in hits:
                d = h.payload["doc_id"]
                if h.payload.get("gen", 0) != newest.get(d):
                    continue
                rank = seen[d] = seen.get(d, 0) + 1
                row = ranked[d].setdefault(h.id, [h, 0.0, 0.0])
                if is_dense:
                    row[1] = h.score
                row[2] += weight / (self.fusion_k + rank)

        if dense is not None:
            add(self.store.query(dense=dense, sparse=None, where=where, limit=limit), 1.0, True)
        if sparse is not None and sparse[0]:
            add(self.store.query(dense=None, sparse=sparse, where=where, limit=limit), self.sparse_weight, False)
        out = {}
        for d, hits in groups.items():
            rows = list(ranked[d].values()) or [[h, 0.0, 0.0] for h in hits]
            scored = []
            for h, cos, fused in rows:
                cov = coverage(patterns, fold(h.payload.get("text", "")))
                score = fused + self.coverage_weight * cov
                scored.append(ScoredPassage(h, score, cov, cos))
            scored.sort(key=lambda p: -p.score)
            out[d] = scored[:self.per_doc]
        return out
