"""Calibrating the abstention rule on the domain set (`kb eval --calibrar-abstencion`).

Every query of the set goes through the product's own search once; the evidence the rule sees (the
closest passage's cosine and the share of the query's words in the best passages) is recorded, and
the thresholds are chosen by grid search: the most out-of-scope queries withheld while at most 5% of
answerable ones are. The result, with its figures, is written to search/abstencion.json, which the
service reads.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path

from evals.runner import Query
from search.abstain import RULE_FILE, Abstainer, Evidence, Rule
from search.core import SearchRequest, SearchService

MAX_ANSWERABLE_WITHHELD = 0.05


def collect(service: SearchService, queries: list[Query]) -> list[tuple[Evidence, bool, bool]]:
    """(evidence in hybrid mode, evidence in lexical mode, answerable) per query."""
    rows = []
    for q in queries:
        hybrid = service.search(SearchRequest(query=q.text, mode="hibrido")).evidence
        lexical = service.search(SearchRequest(query=q.text, mode="lexico")).evidence
        rows.append((hybrid or Evidence(0.0, 0.0), lexical or Evidence(None, 0.0), bool(q.judged)))
    return rows


def _figures(rule: Rule, rows, lexical: bool) -> dict:
    decide = Abstainer(rule).run
    answered = [decide(lx if lexical else hy) for hy, lx, _ in rows]
    oos = [a for a, (_, _, ok) in zip(answered, rows) if not ok]
    ans = [a for a, (_, _, ok) in zip(answered, rows) if ok]
    withheld = [not a for a in answered]
    hits = sum(1 for w, (_, _, ok) in zip(withheld, rows) if w and not ok)
    return {"fuera_de_alcance_retenidas": round(sum(not a for a in oos) / max(1, len(oos)), 3),
            "respondibles_retenidas": round(sum(not a for a in ans) / max(1, len(ans)), 3),
            "precision": round(hits / max(1, sum(withheld)), 3)}


def calibrate(rows, embedder: str) -> dict:
    dense_grid = [round(0.80 + 0.0025 * i, 4) for i in range(45)]
    words_grid = [round(0.05 * i, 2) for i in range(1, 20)]
    best = None
    for alone, with_words, words in itertools.product(dense_grid, dense_grid, words_grid):
        if with_words > alone:
            continue
        rule = Rule(alone, with_words, words, 0.0)
        f = _figures(rule, rows, lexical=False)
        if f["respondibles_retenidas"] > MAX_ANSWERABLE_WITHHELD:
            continue
        key = (f["fuera_de_alcance_retenidas"], -f["respondibles_retenidas"], alone)
        if best is None or key > best[0]:
            best = (key, rule)
    rule = best[1] if best else Rule(0.0, 0.0, 0.0, 0.0)
    lex_best = None
    for words in words_grid:
        candidate = Rule(rule.dense_alone, rule.dense_with_words, rule.words, words)
        f = _figures(candidate, rows, lexical=True)
        if f["respondibles_retenidas"] <= MAX_ANSWERABLE_WITHHELD:
            key = (f["fuera_de_alcance_retenidas"], -words)
            if lex_best is None or key > lex_best[0]:
                lex_best = (key, candidate)
    if lex_best:
        rule = lex_best[1]
    return {
        "nota": ("Calibrada con kb eval --calibrar-abstencion sobre evals/dominio.yaml: el mayor número de consultas "
                 f"fuera de alcance retenidas con a lo sumo un {MAX_ANSWERABLE_WITHHELD:.0%} de consultas "
                 "respondibles retenidas."),
        "embedder": embedder,
        "consultas": {"respondibles": sum(1 for *_, ok in rows if ok),
                      "fuera_de_alcance": sum(1 for *_, ok in rows if not ok)},
        "regla": dataclasses.asdict(rule),
        "cifras": {"hibrido": _figures(rule, rows, lexical=False), "lexico": _figures(rule, rows, lexical=True)},
    }


def write(result: dict, path: Path = RULE_FILE) -> None:
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
