"""Tables for people (rich), JSON for machines, a Markdown report with a PNG chart."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

from evals.runner import ConfigResult

COLUMNS = ["ndcg@10", "recall@5", "recall@10", "mrr@10", "citation_accuracy", "answer_accuracy",
           "abstention_precision", "abstention_recall", "answerable_abstained", "latency_p50_ms", "latency_p95_ms"]
HEADERS = {"ndcg@10": "nDCG@10", "recall@5": "Recall@5", "recall@10": "Recall@10", "mrr@10": "MRR@10",
           "citation_accuracy": "Pasajes correctos", "answer_accuracy": "Respuesta corta",
           "abstention_precision": "Abstención P", "abstention_recall": "Abstención R",
           "answerable_abstained": "Abstención indebida", "abstained_rate": "Sin respuesta",
           "queries": "Consultas", "context_queries": "Consultas",
           "ndcg@10_context_off": "nDCG@10 sin contexto", "ndcg@10_context_on": "nDCG@10 con contexto",
           "context_delta": "Diferencia", "latency_p50_ms": "p50 ms", "latency_p95_ms": "p95 ms"}
TYPE_COLUMNS = ["queries", "ndcg@10", "recall@10", "mrr@10", "citation_accuracy", "answer_accuracy", "abstained_rate"]
CONTEXT_COLUMNS = ["context_queries", "ndcg@10_context_off", "ndcg@10_context_on", "context_delta"]
NOTE = ("nDCG, Recall y MRR: solo consultas con respuesta en el corpus. Pasajes correctos: la cita juzgada está en "
        "un pasaje citado de su documento. Respuesta corta: la primera frase viene de un documento de grado ≥2 y "
        "coincide con una cita juzgada. Abstención P/R: precisión y exhaustividad de «sin respuesta» frente a las "
        "consultas fuera de alcance; abstención indebida: consultas con respuesta que quedaron sin ella.")


def fmt(key: str, value) -> str:
    if value is None:
        return "—"
    if key in ("queries", "context_queries"):
        return str(value)
    if key == "context_delta":
        return f"{value:+.3f}"
    return f"{value:.1f}" if key.startswith("latency") else f"{value:.3f}"


def _type_rows(results: list[ConfigResult]) -> list[tuple[str, str, dict]]:
    """(configuration, query type, figures) — only when the set has more than one type of query."""
    rows = []
    for r in results:
        by_type = r.summary.get("by_type", {})
        if len(by_type) > 1:
            rows.extend((r.config.name, kind, figures) for kind, figures in by_type.items())
    return rows


def _has_context(results: list[ConfigResult]) -> bool:
    return any(r.summary.get("context_queries") for r in results)


def rich_table(title: str, results: list[ConfigResult]):
    """The headline table; with query types or context queries, followed by their tables."""
    from rich.console import Group
    from rich.table import Table

    table = Table(title=title, caption=NOTE)
    table.add_column("Configuración")
    for c in COLUMNS:
        table.add_column(HEADERS[c], justify="right")
    for r in results:
        s = r.summary
        table.add_row(r.config.name, *[fmt(c, s.get(c)) for c in COLUMNS])
    parts = [table]
    type_rows = _type_rows(results)
    if type_rows:
        by_type = Table(title="Por tipo de consulta")
        by_type.add_column("Configuración")
        by_type.add_column("Tipo")
        for c in TYPE_COLUMNS:
            by_type.add_column(HEADERS[c], justify="right")
        for i, (config, kind, figures) in enumerate(type_rows):
            last = i + 1 == len(type_rows) or type_rows[i + 1][0] != config
            by_type.add_row(config, kind, *[fmt(c, figures.get(c)) for c in TYPE_COLUMNS], end_section=last)
        parts.append(by_type)
    if _has_context(results):
        ctx = Table(title="Contexto del municipio (consultas de tipo contexto con contexto declarado)")
        ctx.add_column("Configuración")
        for c in CONTEXT_COLUMNS:
            ctx.add_column(HEADERS[c], justify="right")
        for r in results:
            ctx.add_row(r.config.name, *[fmt(c, r.summary.get(c)) for c in CONTEXT_COLUMNS])
        parts.append(ctx)
    return parts[0] if len(parts) == 1 else Group(*parts)


def _md(header: list[str], rows: list[list[str]], left: int = 1) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * left + "---:|" * (len(header) - left)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def markdown_table(results: list[ConfigResult]) -> str:
    return _md(["Configuración"] + [HEADERS[c] for c in COLUMNS],
               [[r.config.name] + [fmt(c, r.summary.get(c)) for c in COLUMNS] for r in results])


def markdown_extra(results: list[ConfigResult]) -> str:
    """The per-type and context tables in Markdown ('' when the set has neither)."""
    parts = []
    type_rows = _type_rows(results)
    if type_rows:
        parts += ["## Por tipo de consulta", "",
                  _md(["Configuración", "Tipo"] + [HEADERS[c] for c in TYPE_COLUMNS],
                      [[config, kind] + [fmt(c, f.get(c)) for c in TYPE_COLUMNS] for config, kind, f in type_rows],
                      left=2), ""]
    if _has_context(results):
        parts += ["## Contexto del municipio", "",
                  _md(["Configuración"] + [HEADERS[c] for c in CONTEXT_COLUMNS],
                      [[r.config.name] + [fmt(c, r.summary.get(c)) for c in CONTEXT_COLUMNS] for r in results]), ""]
    return "\n".join(parts)


def chart(results: list[ConfigResult], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = ["ndcg@10", "recall@5", "recall@10", "mrr@10"]
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / max(1, len(results))
    for i, r in enumerate(results):
        s = r.summary
        xs = [j + i * width for j in range(len(metrics))]
        ax.bar(xs, [s[m] for m in metrics], width, label=r.config.name)
    ax.set_xticks([j + width * (len(results) - 1) / 2 for j in range(len(metrics))])
    ax.set_xticklabels([HEADERS[m] for m in metrics])
    lows = [r.summary[m] for r in results for m in metrics]
    ax.set_ylim(max(0.0, min(lows) - 0.1), 1.0)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_outputs(out_dir: Path, name: str, title: str, results: list[ConfigResult], info: dict) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    machine = {"cores": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version()}
    data = {"title": title, "info": info, "machine": machine,
            "configs": {r.config.name: r.summary for r in results},
            "per_query": {r.config.name: r.rows for r in results}}
    (out_dir / f"{name}.json").write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    chart(results, out_dir / f"{name}.png", title)
    md = [f"# {title}", "", f"{info}", "", f"Máquina: {machine['cores']} núcleos, {machine['machine']}.", "",
          markdown_table(results), "", NOTE, "", markdown_extra(results), f"![{title}]({name}.png)", ""]
    (out_dir / f"{name}.md").write_text("\n".join(md), encoding="utf-8")
    return data
