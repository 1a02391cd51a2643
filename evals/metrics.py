"""Ranking metrics over graded judgments (grade 0–3; unjudged = 0)."""

from __future__ import annotations

import math
from statistics import median


def dcg(gains: list[float]) -> float:
    return sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(gains))


def ndcg_at(ranked: list[str], judged: dict[str, int], k: int = 10) -> float:
    ideal = dcg(sorted(judged.values(), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    return dcg([judged.get(d, 0) for d in ranked[:k]]) / ideal


def recall_at(ranked: list[str], judged: dict[str, int], k: int) -> float:
    relevant = {d for d, g in judged.items() if g > 0}
    if not relevant:
        return 0.0
    return len(relevant & set(ranked[:k])) / len(relevant)


def mrr_at(ranked: list[str], judged: dict[str, int], k: int = 10) -> float:
    for i, d in enumerate(ranked[:k]):
        if judged.get(d, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    idx = min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[idx]


def summarise(rows: list[dict]) -> dict:
    """Mean of each metric over queries, plus latency percentiles."""
    if not rows:
        return {}
    keys = [k for k in rows[0] if k not in ("id", "latency_ms", "tipo") and isinstance(rows[0][k], (int, float))]
    out = {k: sum(r[k] for r in rows) / len(rows) for k in keys}
    lat = [r["latency_ms"] for r in rows]
    out["latency_p50_ms"] = median(lat)
    out["latency_p95_ms"] = percentile(lat, 95)
    out["queries"] = len(rows)
    return out
