"""`ttw demo`: the main job on the embedded warehouse."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ttw.cli._common import get_settings, out

commands = typer.Typer()


@commands.command("demo")
def demo_cmd(
    scale: Annotated[float, typer.Option(help="Sample size: 1 = Qingdao-sized.")] = 0.05,
    seed: Annotated[int, typer.Option(help="Sample seed.")] = 7,
) -> None:
    """The main job on the embedded warehouse: generate a sample, run every DAG through Airflow, summarise."""
    import time

    from ttw.build import rejects_summary
    from ttw.warehouse import ensure_warehouse, layer_counts
    from ttw_dev.demo import quality_summary, run_demo, top_centers

    started = time.perf_counter()
    settings = get_settings()
    target = ensure_warehouse(settings)
    out.print(f"warehouse ready at {target.display_url}", soft_wrap=True)
    run = run_demo(settings, target, scale=scale, seed=seed, say=lambda line: out.print(line, soft_wrap=True))

    table = Table(title="rows per layer")
    for column in ("schema", "table", "rows"):
        table.add_column(column, justify="right" if column == "rows" else "left")
    for schema, name, rows in layer_counts(target):
        table.add_row(schema, name, str(rows))
    out.print(table)
    rejected = rejects_summary(target)
    out.print(f"rejected rows, each with its reason in ops.rejects: {sum(n for _, _, n in rejected)}")
    for family, rule, rows in rejected[:10]:
        out.print(f"  {family}: {rule} {rows}")
    quality = quality_summary(target)
    out.print("quality (ops.quality_results, newest audit): " + ", ".join(f"{k} {v}" for k, v in quality.items()))
    year, best = top_centers(target)
    centers = Table(title=f"top centers {year}")
    for column in ("center", "name", "score", "grade"):
        centers.add_column(column, justify="right" if column == "score" else "left")
    for code, name, score, grade in best:
        centers.add_row(code, name, f"{score:.1f}", grade)
    out.print(centers)
    passwords = settings.airflow_home / "simple_auth_manager_passwords.json.generated"
    notes = [
        f"evaluation:  {settings.out_dir / 'evaluation' / str(year)} (workbooks, CSV, report/centers_{year}.html)",
        f"data docs:   {settings.out_dir / 'data_docs' / 'index.html'}",
        "BI tools read schema marts (role bi_reader after `ttw roles apply`); see README, BI access.",
        f"connect:     ttw warehouse psql   (or: psql {target.display_url})",
        "Airflow UI:  make airflow   (`ttw airflow standalone`), then open http://127.0.0.1:8080",
        f"             user admin, password in {passwords}",
        "timings:     " + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in run.seconds.items()),
        f"demo finished in {time.perf_counter() - started:.0f} s",
    ]
    for line in notes:
        out.print(line, soft_wrap=True)
