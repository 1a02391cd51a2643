"""Tables for people (rich), JSON for machines, a Markdown report with a PNG chart."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

from evals.runner import ConfigResult

COLUMNS = ["ndcg@10", "recall@5", "recall@10", "mrr@10", "citation_accuracy", "latency_p50_ms", "latency_p95_ms"]
HEADERS = {"ndcg@10": "nDCG@10", "recall@5": "Recall@5", "recall@10": "Recall@10", "mrr@10": "MRR@10",
           "citation_accuracy": "Citas correctas", "latency_p50_ms": "p50 ms", "latency_p95_ms": "p95 ms"}


def fmt(key: str, value) -> str:
    if value is None:
        return "—"
    return f"{value:.1f}" if key.startswith("latency") else f"{value:.3f}"


def rich_table(title: str, results: list[ConfigResult]):
    from rich.table import Table

    table = Table(title=title)
    table.add_column("Configuración")
    for c in COLUMNS:
        table.add_column(HEADERS[c], justify="right")
    for r in results:
        s = r.summary
        table.add_row(r.config.name, *[fmt(c, s.get(c)) for c in COLUMNS])
    return table


def markdown_table(results: list[ConfigResult]) -> str:
    lines = ["| Configuración | " + " | ".join(HEADERS[c] for c in COLUMNS) + " |",
             "|---|" + "---:|" * len(COLUMNS)]
    for r in results:
        s = r.summary
        lines.append(f"| {r.config.name} | " + " | ".join(fmt(c, s.get(c)) for c in COLUMNS) + " |")
    return "\n".join(lines)


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
          markdown_table(results), "", f"![{title}]({name}.png)", ""]
    (out_dir / f"{name}.md").write_text("\n".join(md), encoding="utf-8")
    return data
