"""Abstention: does the collection answer this query at all?

One dense score cannot decide it: the top cosine of out-of-scope questions (renewing a driving
licence) overlaps that of answerable ones, because e5 finds every question about public services
near every document about public services. What separates them is the pair of the best passage's
cosine and how many of the query's own content words the best passages hold: an out-of-scope query
is near in meaning but shares few of its key words; a paraphrased answerable one is very near.

The rule's thresholds are not chosen here: `kb eval --calibrar-abstencion` fits them on the
evaluation sets and writes them with their figures to search/abstencion.json, which this reads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

RULE_FILE = Path(__file__).with_name("abstencion.json")


@dataclass(frozen=True)
class Rule:
    dense_alone: float  # a best passage this close answers whatever the words
    dense_with_words: float  # closer than this answers when enough query words are in the passages
    words: float  # share of the query's content words that the best passages must hold
    words_lexical: float  # lexical mode (no dense score): the share alone

    @classmethod
    def load(cls, path: Path = RULE_FILE) -> tuple["Rule", str]:
        """The rule and the embedder it was calibrated with (cosines are that model's own scale)."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(**data["regla"]), data.get("embedder", "")


@dataclass(frozen=True)
class Evidence:
    best_dense: float | None  # cosine of the closest passage among the top documents (None: lexical mode)
    best_coverage: float  # largest share of query content words held by one top passage


class Abstainer:
    def __init__(self, rule: Rule | None = None, embedder: str = ""):
        """With another embedder than the rule was calibrated for, its cosines mean nothing: the
        rule then decides on the query's words alone, as in lexical mode."""
        if rule is None:
            rule, calibrated_for = Rule.load()
            self.use_dense = not embedder or embedder == calibrated_for
        else:
            self.use_dense = True
        self.rule = rule

    def run(self, evidence: Evidence) -> bool:
        """True when the collection answers the query."""
        r = self.rule
        if evidence.best_dense is None or not self.use_dense:
            return evidence.best_coverage >= r.words_lexical
        return evidence.best_dense >= r.dense_alone or (
            evidence.best_dense >= r.dense_with_words and evidence.best_coverage >= r.words)
