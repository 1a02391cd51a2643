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


RANKING = ("ndcg@10", "recall@5", "recall@10", "mrr@10")


def summarise(rows: list[dict]) -> dict:
    """One configuration's figures over its per-query rows.

    Ranking metrics are means over the answerable queries only: an out-of-scope query has no
    relevant document, so its nDCG would be 0 whatever the ranking. Passage and short-answer
    accuracy are means over the queries where they apply; abstention is over all queries;
    latency percentiles over all queries."""
    if not rows:
        return {}
    answerable = [r for r in rows if r.get("answerable", True)]
    out = {k: mean_defined(r.get(k) for r in answerable) for k in RANKING}
    out["citation_accuracy"] = mean_defined(r.get("citation_ok") for r in rows)
    out["passage_accuracy"] = out["citation_accuracy"]
    out["answer_accuracy"] = mean_defined(r.get("answer_ok") for r in rows)
    out.update(abstention([(r.get("answerable", True), bool(r.get("abstained"))) for r in rows]))
    out.update(context_gain([(r["ndcg@10"], r["ndcg@10_context"]) for r in rows
                             if r.get("ndcg@10_context") is not None]))
    lat = [r["latency_ms"] for r in rows]
    out["latency_p50_ms"] = median(lat)
    out["latency_p95_ms"] = percentile(lat, 95)
    out["queries"] = len(rows)
    out["answerable_queries"] = len(answerable)
    out["out_of_scope_queries"] = len(rows) - len(answerable)
    return out


def summarise_by_type(rows: list[dict]) -> dict[str, dict]:
    """The same figures per query type (`tipo`), in order of first appearance. `abstained_rate` is
    the share of the type's queries the service abstained on: for out-of-scope queries that is
    abstention recall, for the others the rate of wrongly withheld answers."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r.get("tipo") or "sin tipo", []).append(r)
    out = {}
    for kind, group in groups.items():
        answerable = [r for r in group if r.get("answerable", True)]
        out[kind] = {
            "queries": len(group),
            **{k: mean_defined(r.get(k) for r in answerable) for k in ("ndcg@10", "recall@10", "mrr@10")},
            "citation_accuracy": mean_defined(r.get("citation_ok") for r in group),
            "answer_accuracy": mean_defined(r.get("answer_ok") for r in group),
            "abstained_rate": mean_defined(bool(r.get("abstained")) for r in group),
        }
    return out

# ------------------------------------------------------------------ answers, passages, abstention
# These read a SearchResponse (search.core) duck-typed: `results[].doc_id`, `results[].passages[].marker/.text`,
# `answer[].text/.marker` and `answered`, so a response from before the abstention change still scores.


def norm(text: str) -> str:
    """Whitespace-normalised text, the form every quote comparison uses."""
    return " ".join(text.split())


def mean_defined(values) -> float | None:
    """Mean of the values that are not None (booleans count as 0/1); None when there are none."""
    defined = [float(v) for v in values if v is not None]
    return sum(defined) / len(defined) if defined else None


def passage_accuracy(resp, quotes: tuple[tuple[str, str], ...]) -> float | None:
    """Share of the judged quotes, among those whose document was returned, that lie inside one of
    the passages cited for that document; None when no judged document was returned."""
    cited = {r.doc_id: [norm(p.text) for p in r.passages] for r in resp.results}
    verdicts = [any(norm(quote) in text for text in cited[doc]) for doc, quote in quotes if doc in cited]
    return sum(verdicts) / len(verdicts) if verdicts else None


def answer_source(resp, sentence) -> str | None:
    """The document whose cited passage a short-answer sentence comes from (by its marker)."""
    for r in resp.results:
        for p in r.passages:
            if p.marker == sentence.marker:
                return r.doc_id
    return None


def short_answer_ok(resp, judged: dict[str, int], quotes: tuple[tuple[str, str], ...]) -> bool | None:
    """Is the first sentence of the short answer a judged answer? It must come from a passage of a
    document graded 2 or more and either contain one of the judged quotes or lie inside one (a quote
    may span more than a sentence). No answer at all is wrong. None when the query has no judged
    quotes (nothing to check against)."""
    if not quotes or not judged:
        return None
    answer = getattr(resp, "answer", None) or []
    if not answer:
        return False
    first = answer[0]
    doc = answer_source(resp, first)
    if doc is None or judged.get(doc, 0) < 2:
        return False
    sentence = norm(first.text)
    if not sentence:
        return False
    return any(q in sentence or sentence in q for q in (norm(quote) for _, quote in quotes) if q)


def abstained(resp) -> bool:
    """The service said the collection holds no answer (SearchResponse.answered is False)."""
    return not getattr(resp, "answered", True)


def abstention(pairs: list[tuple[bool, bool]]) -> dict:
    """Abstention quality over (answerable, abstained) pairs, one per query.

    precision: out-of-scope queries among the abstentions; recall: abstentions among the
    out-of-scope queries; answerable_abstained: share of answerable queries wrongly abstained on.
    A ratio with an empty denominator is None (undefined), not 0."""
    held = [answerable for answerable, did in pairs if did]
    out_of_scope = [did for answerable, did in pairs if not answerable]
    answerable = [did for ans, did in pairs if ans]
    return {
        "abstained": len(held),
        "abstention_precision": (sum(not a for a in held) / len(held)) if held else None,
        "abstention_recall": (sum(out_of_scope) / len(out_of_scope)) if out_of_scope else None,
        "answerable_abstained": (sum(answerable) / len(answerable)) if answerable else None,
    }


def context_gain(pairs: list[tuple[float, float]]) -> dict:
    """nDCG@10 without and with the official's context over (off, on) pairs, and the difference."""
    if not pairs:
        return {"context_queries": 0, "ndcg@10_context_off": None, "ndcg@10_context_on": None, "context_delta": None}
    off = sum(p[0] for p in pairs) / len(pairs)
    on = sum(p[1] for p in pairs) / len(pairs)
    return {"context_queries": len(pairs), "ndcg@10_context_off": off, "ndcg@10_context_on": on,
            "context_delta": on - off}
