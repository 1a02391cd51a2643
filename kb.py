"""The `kb` command: ingest, reindex, search, serve, eval, bench.

Settings are built here, once, and passed down. Messages for people are in Spanish.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Base de conocimiento de buenas prácticas locales contra la VBG (países MIRPS).")
console = Console()
err = Console(stderr=True)


def _settings(data_dir: Optional[Path] = None):
    from search.settings import Settings

    settings = Settings()
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    return settings


def _setup_logging(verbose: bool) -> None:
    from search.logs import configure_logging

    configure_logging(verbose)


class _RichProgress:
    def __init__(self, progress: Progress):
        self.p = progress
        self.files = progress.add_task("Archivos", total=None)
        self.chunks = progress.add_task("Fragmentos embebidos", total=None)

    def start(self, n_files: int) -> None:
        self.p.update(self.files, total=n_files)

    def file_done(self, doc_id: str) -> None:
        self.p.advance(self.files)

    def chunks_embedded(self, n: int) -> None:
        self.p.advance(self.chunks, n)


def _run_ingest(corpus: Path, data_dir: Optional[Path], verbose: bool, rebuild: bool) -> None:
    from ingest.pipeline import FAILED, Ingestor
    from search.errors import KBError

    _setup_logging(verbose)
    update = {"corpus_dir": corpus}
    if (corpus / "taxonomy.yaml").is_file():
        update["taxonomy_path"] = corpus / "taxonomy.yaml"
    settings = _settings(data_dir).model_copy(update=update)
    try:
        ingestor = Ingestor(settings, verify_embedder=not rebuild)
    except KBError as exc:
        err.print(f"[red]Error:[/red] {exc.user_message}")
        raise typer.Exit(2)
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err, disable=not err.is_terminal) as progress:
            hooks = _RichProgress(progress)
            run = ingestor.reindex if rebuild else ingestor.sync
            report = run(corpus, progress=hooks)
    except KBError as exc:
        err.print(f"[red]Error:[/red] {exc.user_message}")
        raise typer.Exit(2)
    finally:
        ingestor.close()
    table = Table(title="Resultado de la ingesta")
    table.add_column("Documento")
    table.add_column("Resultado")
    table.add_column("Fragmentos", justify="right")
    table.add_column("Páginas (OCR)", justify="right")
    table.add_column("Motivo")
    for o in report.outcomes:
        style = "red" if o.status == FAILED else ("dim" if o.status == "sin cambios" else "green")
        table.add_row(o.doc_id, f"[{style}]{o.status}[/{style}]", str(o.chunks or ""), _pages_cell(o.quality),
                      o.reason)
    console.print(table)
    parsed = [o for o in report.outcomes if o.quality]
    if parsed:  # what parsing did to each document read in this run: the passage-quality report
        quality = Table(title="Calidad de los pasajes (tamaño mín–mediana–máx, en caracteres)")
        quality.add_column("Documento")
        quality.add_column("Calidad")
        for o in parsed:
            quality.add_row(o.doc_id, _quality_cell(o.quality))
        console.print(quality)
    from ingest.pipeline import ADDED, HELD, METADATA, REMOVED, UNCHANGED, UPDATED

    # Held documents are in the index but not searchable: the totals must say so, not leave them out.
    summary = ", ".join(f"{n} {s}" for s in (ADDED, UPDATED, METADATA, UNCHANGED, REMOVED, HELD, FAILED)
                        if (n := report.count(s)))
    console.print(f"{summary or 'Nada que hacer'} · {report.passages_embedded} fragmentos embebidos · "
                  f"{report.seconds:.1f} s")
    if report.failed:
        raise typer.Exit(1)


def _pages_cell(q: dict) -> str:
    if not q.get("paginas"):
        return ""
    return f"{q['paginas']} ({q.get('paginas_ocr', 0)})"


def _quality_cell(q: dict) -> str:
    """The passage-quality figures of one document, in a few words (the issue's quality report)."""
    if not q:
        return ""
    parts = [f"tamaño {q['fragmento_min']}–{q['fragmento_mediana']}–{q['fragmento_max']}"]
    if q.get("lineas_encabezado_pie"):
        parts.append(f"{q['lineas_encabezado_pie']} líneas de encabezado/pie quitadas")
    if q.get("tablas"):
        parts.append(f"{q['tablas']} tablas")
    if q.get("correcciones_ocr"):
        parts.append(f"{q['correcciones_ocr']} correcciones de OCR")
    if q.get("paginas_ocr_baja_confianza"):
        parts.append("OCR poco fiable en p. " + ", ".join(map(str, q["paginas_ocr_baja_confianza"])))
    if q.get("texto_de_navegacion_descartado"):
        parts.append(f"{q['texto_de_navegacion_descartado']} palabras de navegación descartadas")
    for key, label in (("fragmentos_vacios", "vacíos"), ("fragmentos_sobre_maximo", "sobre el máximo"),
                       ("fragmentos_cortos", "cortos")):
        if q.get(key):
            parts.append(f"{q[key]} {label}")
    return "; ".join(parts)


@app.command()
def ingest(corpus: Path = typer.Argument(Path("corpus"), help="Carpeta del corpus con manifest.csv"),
           data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Carpeta de datos (índice y caché)"),
           verbose: bool = typer.Option(False, "--verbose", "-v")):
    """Pone el índice al día con el corpus: añade, actualiza y elimina documentos."""
    _run_ingest(corpus, data_dir, verbose, rebuild=False)


@app.command()
def reindex(corpus: Path = typer.Argument(Path("corpus")),
            data_dir: Optional[Path] = typer.Option(None, "--data-dir"),
            verbose: bool = typer.Option(False, "--verbose", "-v")):
    """Reconstruye el índice desde cero (por ejemplo, tras cambiar el modelo de embeddings)."""
    _run_ingest(corpus, data_dir, verbose, rebuild=True)


def _parse_filters(pairs: list[str]) -> dict[str, tuple[str, ...]]:
    filters: dict[str, list[str]] = {}
    for pair in pairs:
        if "=" not in pair:
            err.print(f"[red]Error:[/red] filtro «{pair}» no válido; use campo=valor (por ejemplo paises=guatemala).")
            raise typer.Exit(2)
        key, value = pair.split("=", 1)
        filters.setdefault(key.strip(), []).extend(v.strip() for v in value.split("|"))
    return {k: tuple(v) for k, v in filters.items()}


@app.command()
def search(consulta: str = typer.Argument(..., help="Lo que busca, en español"),
           json_out: bool = typer.Option(False, "--json", help="Salida JSON para scripts"),
           k: int = typer.Option(5, "--k", help="Número de documentos"),
           filtro: list[str] = typer.Option([], "--filtro", help="campo=valor (repetible; valor1|valor2)"),
           modo: str = typer.Option("hibrido", "--modo", help="hibrido, denso o lexico"),
           pagina: int = typer.Option(1, "--pagina"),
           data_dir: Optional[Path] = typer.Option(None, "--data-dir")):
    """Busca en el índice y muestra documentos con sus pasajes citados."""
    import json

    from search.core import SearchRequest, build_service
    from search.errors import KBError

    _setup_logging(False)
    try:
        service = build_service(_settings(data_dir))
        resp = service.search(SearchRequest(query=consulta, filters=_parse_filters(filtro), mode=modo,
                                            per_page=k, page=pagina))
    except KBError as exc:
        err.print(f"[red]Error:[/red] {exc.user_message}")
        raise typer.Exit(2)
    if json_out:
        print(json.dumps(resp.to_dict(), ensure_ascii=False, indent=2))
        return
    if resp.message:
        console.print(resp.message)
    if resp.answer:
        console.print("[bold]Respuesta breve[/bold]")
        for s in resp.answer:
            console.print(f"  {s.text} [{s.marker}]", highlight=False)
    table = Table(title=f"{resp.total} documentos · página {resp.page}/{resp.pages} · modo {resp.mode}")
    table.add_column("#", justify="right")
    table.add_column("Documento / pasaje")
    table.add_column("Cita")
    for r in resp.results:
        badge = f" [{r.evidence_label}]" if r.evidence_label else ""
        table.add_row("", f"[bold]{r.title}[/bold]{badge}", f"{r.doc_type_label} · {', '.join(r.country_labels)} · {r.year}")
        for p in r.passages:
            snippet = p.text if len(p.text) < 300 else p.text[:300] + "…"
            table.add_row(f"[{p.marker}]", snippet, p.citation.text)
    console.print(table)


XQUAD_DEFAULT = Path(__file__).resolve().parent.parent / "shared" / "data" / "xquad.es.json"


@app.command("eval")
def eval_(corpus: Path = typer.Option(Path("corpus"), "--corpus", help="Corpus de la evaluación del dominio"),
          squad: Optional[Path] = typer.Option(None, "--squad", help="Archivo SQuAD: evalúa recuperación sobre él"),
          xquad: bool = typer.Option(False, "--xquad", help="Además, XQuAD-es de ../shared/data si existe"),
          out: Optional[Path] = typer.Option(None, "--out", help="Carpeta de informes (por defecto data/eval)"),
          check: bool = typer.Option(False, "--check", help="Falla si nDCG@10 híbrido baja del valor registrado"),
          limit: Optional[int] = typer.Option(None, "--limit", help="Solo las N primeras preguntas (SQuAD)"),
          calibrar: bool = typer.Option(False, "--calibrar-abstencion",
                                        help="Ajusta la regla de abstención y la guarda en search/abstencion.json"),
          reales: Optional[Path] = typer.Option(None, "--documentos-reales",
                                                help="Calidad de los pasajes de otra colección (p. ej. "
                                                     "../shared/data/documentos-reales)"),
          data_dir: Optional[Path] = typer.Option(None, "--data-dir")):
    """Mide la calidad de recuperación con el propio camino del producto."""
    import json

    from evals.report import rich_table, write_outputs
    from search.errors import KBError

    _setup_logging(False)
    settings = _settings(data_dir)
    out = out or settings.data_dir / "eval"
    failed = False
    try:
        if calibrar:
            _calibrate_abstention(settings, corpus)
            return
        if reales is not None:
            from evals.passages import evaluate_directory, report

            rows = evaluate_directory(reales, settings)
            text = report(rows)
            console.print(text)
            out.mkdir(parents=True, exist_ok=True)
            (out / "pasajes-documentos-reales.md").write_text(text + "\n", encoding="utf-8")
            return
        if squad is None:
            from evals.domain import BASELINE, run_domain

            update = {"corpus_dir": corpus}
            if (corpus / "taxonomy.yaml").is_file():
                update["taxonomy_path"] = corpus / "taxonomy.yaml"
            results, info = run_domain(settings.model_copy(update=update), corpus)
            title = "Evaluación del dominio (corpus de demostración)"
            console.print(rich_table(title, results))
            write_outputs(out, "dominio", title, results, info)
            hybrid = results[0].summary["ndcg@10"]
            baseline = json.loads(BASELINE.read_text(encoding="utf-8"))["dominio"]["hibrido_ndcg@10"]
            console.print(f"nDCG@10 híbrido: {hybrid:.4f} (registrado: {baseline:.4f})")
            if check and hybrid < baseline - 0.005:
                err.print(f"[red]La calidad bajó:[/red] nDCG@10 híbrido {hybrid:.4f} < {baseline:.4f} registrado.")
                failed = True
        files = [squad] if squad else []
        if xquad:
            if XQUAD_DEFAULT.is_file():
                files.append(XQUAD_DEFAULT)
            else:
                console.print(f"XQuAD-es no está en {XQUAD_DEFAULT}: se omite esa evaluación.")
        for path in files:
            from evals.squad import run_squad

            if not path.is_file():
                err.print(f"[red]Error:[/red] no existe el archivo {path}")
                raise typer.Exit(2)
            results, info = run_squad(settings, path, limit=limit)
            title = f"Recuperación SQuAD: {path.name}"
            console.print(rich_table(title, results))
            write_outputs(out, path.stem.replace(".", "-"), title, results, info)
    except KBError as exc:
        err.print(f"[red]Error:[/red] {exc.user_message}")
        raise typer.Exit(2)
    console.print(f"Informes en {out}")
    if failed:
        raise typer.Exit(1)


def _calibrate_abstention(settings, corpus: Path) -> None:
    from evals.abstention import calibrate, collect, write
    from evals.domain import load_queries, temporary_index
    from search.core import build_service

    with temporary_index(settings.model_copy(update={"corpus_dir": corpus}), corpus) as ingestor:
        service = build_service(ingestor.settings, store=ingestor.store, embedder=ingestor.embedder,
                                taxonomy=ingestor.taxonomy)
        result = calibrate(collect(service, load_queries()), service.embedder.name)
    write(result)
    console.print_json(data=result)


@app.command()
def serve(host: Optional[str] = typer.Option(None, "--host", help="Dirección de escucha (por defecto KB_HOST)"),
          port: Optional[int] = typer.Option(None, "--port", help="Puerto (por defecto KB_PORT)"),
          data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Carpeta de datos (índice y caché)"),
          verbose: bool = typer.Option(False, "--verbose", "-v")):
    """Inicia la aplicación web (búsqueda pública y curaduría) con el índice local."""
    import uvicorn

    from search.errors import KBError
    from web import create_app

    _setup_logging(verbose)
    settings = _settings(data_dir)
    update = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = settings.model_copy(update=update)
    try:
        web_app = create_app(settings)
    except KBError as exc:
        err.print(f"[red]Error:[/red] {exc.user_message}")
        raise typer.Exit(2)
    console.print(f"Sirviendo en http://{settings.host}:{settings.port}")
    uvicorn.run(web_app, host=settings.host, port=settings.port, log_level="info" if verbose else "warning",
                proxy_headers=False)


@app.command()
def bench(corpus: Path = typer.Option(Path("corpus"), "--corpus"),
          sizes: str = typer.Option("10000,100000", "--tamanos", help="Tamaños del índice (puntos)"),
          http_seconds: int = typer.Option(60, "--http-segundos"),
          sin_ingesta: bool = typer.Option(False, "--sin-ingesta", help="Usar el índice de --data-dir"),
          sin_http: bool = typer.Option(False, "--sin-http"),
          sin_local: bool = typer.Option(False, "--sin-local", help="Sin comparar con qdrant-client local"),
          out: Optional[Path] = typer.Option(None, "--out"),
          data_dir: Optional[Path] = typer.Option(None, "--data-dir")):
    """Mide velocidad, memoria y escala; escribe una tabla Markdown y JSON."""
    import json

    from evals.bench import markdown, run_bench

    _setup_logging(False)
    settings = _settings(data_dir)
    result = run_bench(settings, corpus, sizes=tuple(int(s) for s in sizes.split(",")), http_seconds=http_seconds,
                       with_ingest=not sin_ingesta, with_http=not sin_http, client_sizes=() if sin_local else None)
    out = out or settings.data_dir / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    md = markdown(result)
    (out / "bench.md").write_text(md, encoding="utf-8")
    console.print(md)
    console.print(f"Resultados en {out}")


@app.command()
def backup(destino: Path = typer.Argument(..., help="Archivo .tar.gz de destino"),
           corpus: Path = typer.Option(Path("corpus"), "--corpus"),
           data_dir: Optional[Path] = typer.Option(None, "--data-dir")):
    """Copia de seguridad del índice y del corpus (con su manifiesto)."""
    from ingest.backup import backup as run_backup
    from search.errors import KBError

    _setup_logging(False)
    try:
        meta = run_backup(_settings(data_dir), corpus, destino)
    except KBError as exc:
        err.print(f"[red]Error:[/red] {exc.user_message}")
        raise typer.Exit(2)
    console.print(f"Copia de seguridad creada en {destino} ({meta.get('documents', '?')} documentos).")


@app.command()
def restore(archivo: Path = typer.Argument(..., help="Copia de seguridad .tar.gz"),
            corpus: Path = typer.Option(Path("corpus"), "--corpus", help="Dónde restaurar el corpus"),
            forzar: bool = typer.Option(False, "--forzar", help="Sobrescribir datos existentes"),
            data_dir: Optional[Path] = typer.Option(None, "--data-dir")):
    """Restaura el índice y el corpus desde una copia de seguridad."""
    from ingest.backup import restore as run_restore
    from search.errors import KBError

    _setup_logging(False)
    try:
        meta = run_restore(_settings(data_dir), archivo, corpus, force=forzar)
    except KBError as exc:
        err.print(f"[red]Error:[/red] {exc.user_message}")
        raise typer.Exit(2)
    console.print(f"Restaurado: copia del {meta.get('created')} ({meta.get('documents', '?')} documentos).")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
