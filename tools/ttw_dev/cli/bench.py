"""`ttw bench ...`: measured figures with the command that reproduces them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ttw.cli._common import get_settings, out

app = typer.Typer(help="Benchmarks: measured figures with the command that reproduces them.")


def _write_json(path: Path | None, figures: dict) -> None:
    """``--json PATH``: the benchmark's figures as written, beside the printed table."""
    if path:
        import json

        path.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def bench_dataset(settings, scale: float, seed: int) -> Path:
    """The generated dataset the benchmarks share at this scale and seed, generated on first use."""
    from ttw_dev.generate import generate

    data = settings.home_dir / "bench" / f"dataset-scale{scale:g}-seed{seed}"
    if not (data / "_manifest.json").exists():
        out.print(f"generating scale {scale:g} into {data} ...", soft_wrap=True)
        generate(data, scale=scale, seed=seed)
    return data


@app.command("generate")
def bench_generate_cmd(
    scale: Annotated[float, typer.Option(help="Dataset scale.")] = 10.0,
    seed: Annotated[int, typer.Option(help="Seed.")] = 42,
    years: Annotated[str, typer.Option(help="FIRST-LAST.")] = "2021-2025",
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Where to write (default: $TTW_HOME/bench/...).")
    ] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the figures as JSON here too.")] = None,
) -> None:
    """Generation throughput and peak memory of `ttw generate`, beside a bare csv.writer floor."""
    import shutil

    from ttw_dev.bench.generate import run

    target_dir = out_dir or get_settings().home_dir / "bench" / f"generate-scale{scale:g}"
    if out_dir is None and target_dir.exists():
        shutil.rmtree(target_dir)
    figures = run(target_dir, scale, seed, years)
    table = Table(title=figures["command"])
    for column in ("stage", "seconds", "output", "per second", "floor (s)", "ratio to floor"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    stages = figures["stages"]
    rows = (
        ("centers", stages["centers"], f"{stages['centers']['roster_rows']} roster rows", "", "", ""),
        (
            "registry",
            stages["registry"],
            f"{stages['registry']['rows']} rows",
            stages["registry"]["rows_per_s"],
            stages["registry"]["floor_csv_writer_seconds"],
            stages["registry"]["ratio_to_floor"],
        ),
        (
            "reports",
            stages["reports"],
            f"{stages['reports']['workbooks']} workbooks",
            stages["reports"]["workbooks_per_s"],
            "",
            "",
        ),
        (
            "platform",
            stages["platform"],
            f"{stages['platform']['records']} records",
            stages["platform"]["records_per_s"],
            stages["platform"]["floor_json_dumps_seconds"],
            stages["platform"]["ratio_to_floor"],
        ),
    )
    for name, stage, output, rate, floor, ratio in rows:
        table.add_row(name, str(stage["seconds"]), output, str(rate), str(floor), str(ratio))
    out.print(table)
    out.print(
        f"total {figures['seconds']} s, peak RSS {figures['peak_rss_mib']} MiB, "
        f"{figures['megabytes_written']} MB written ({figures['mb_per_s']} MB/s), {figures['defects']} defects listed",
        soft_wrap=True,
    )
    _write_json(json_path, figures)


@app.command("load")
def bench_load_cmd(
    rows: Annotated[int, typer.Option(help="Rows in the generated contracts file.")] = 1_000_000,
    runs: Annotated[int, typer.Option(help="Runs per method (alternating); medians are reported.")] = 3,
    file: Annotated[Path | None, typer.Option(help="Use this UTF-8 contracts CSV instead of generating one.")] = None,
    skip_to_sql: Annotated[bool, typer.Option("--skip-to-sql", help="Leave pandas.to_sql out (slow).")] = False,
    skip_xlsx: Annotated[bool, typer.Option("--skip-xlsx", help="Leave the xlsx export of the rows out.")] = False,
    registry_scale: Annotated[
        float | None,
        typer.Option(help="Also the whole registry of a generated dataset of this scale (every monthly CSV)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the --registry-scale dataset.")] = 42,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the figures as JSON here too.")] = None,
) -> None:
    """A contracts CSV through `ttw ingest contracts` beside psql \\copy into a bare table of its
    columns, psql \\copy into raw.registry_contracts and pandas.to_sql; the same rows as xlsx, read
    by python-calamine and by the previous openpyxl reader; with --registry-scale, a whole registry."""

    from ttw.warehouse import ensure_warehouse
    from ttw_dev.bench.load import TARGET_VS_BARE, XLSX_METHODS, make_contracts_csv, run, run_registry

    settings = get_settings()
    target = ensure_warehouse(settings)
    if file is None:
        file = settings.home_dir / "bench" / f"contracts_{rows}.csv"
        if not file.exists():
            file.parent.mkdir(parents=True, exist_ok=True)
            out.print(f"writing {rows} rows to {file} ...", soft_wrap=True)
            make_contracts_csv(file, rows)
    methods = ("ttw", "psql \\copy, bare table", "psql \\copy")
    methods += () if skip_to_sql else ("pandas.to_sql",)
    methods += () if skip_xlsx else XLSX_METHODS
    figures = run(target, file, runs, methods)
    table = Table(
        title=f"ttw bench load --rows {figures['file']['rows']} --runs {runs} ({figures['file']['megabytes']} MB)"
    )
    for column in ("method", "median s", "rows/s", "MB/s", "runs (s)"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for method, result in figures["methods"].items():
        table.add_row(
            method,
            str(result["median_seconds"]),
            f"{result['rows_per_s']:,}",
            str(result["mb_per_s"]),
            " ".join(str(x) for x in result["seconds"]),
        )
    out.print(table)
    for name, ratio in figures["ratios"].items():
        out.print(f"{name}: {ratio}", soft_wrap=True)
    bare = figures["ratios"].get("ttw_rate_vs_psql_copy_bare_table")
    if bare is not None:
        _print_target("one file: ttw ÷ psql \\copy into a bare table", bare, TARGET_VS_BARE)
    if registry_scale is not None:
        whole = run_registry(target, bench_dataset(settings, registry_scale, seed), runs)
        figures["registry"] = whole
        table = Table(title=f"whole registry, scale {registry_scale:g}: {whole['files']} files, {whole['rows']:,} rows")
        for column in ("method", "median s", "rows/s", "runs (s)"):
            table.add_column(column, justify="left" if column == "method" else "right")
        for method, result in whole["methods"].items():
            table.add_row(
                method,
                str(result["median_seconds"]),
                f"{result['rows_per_s']:,}",
                " ".join(str(x) for x in result["seconds"]),
            )
        out.print(table)
        _print_target("whole registry: ttw ÷ psql \\copy one file after another", whole["ratio"], TARGET_VS_BARE)
    out.print(f"load average {os.getloadavg()[0]:.1f} at the end (the figures compare runs that alternated)")
    _write_json(json_path, figures)


def _print_target(what: str, ratio: float, target: float) -> None:
    verdict = "met" if ratio >= target else "not met"
    out.print(f"{what}: {ratio} (target {target:g}: {verdict})", soft_wrap=True)


@app.command("reports")
def bench_reports_cmd(
    scale: Annotated[float, typer.Option(help="Scale of the generated dataset whose workbooks are read.")] = 0.1,
    seed: Annotated[int, typer.Option(help="Seed of the generated dataset.")] = 42,
    runs: Annotated[int, typer.Option(help="Runs per method (alternating); medians are reported.")] = 3,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the figures as JSON here too.")] = None,
) -> None:
    """Report workbooks through `ttw ingest reports` against openpyxl only opening and reading them."""
    from ttw.warehouse import ensure_warehouse
    from ttw_dev.bench.reports import run

    settings = get_settings()
    figures = run(ensure_warehouse(settings), bench_dataset(settings, scale, seed), runs)
    table = Table(
        title=f"ttw bench reports --scale {scale:g}: {figures['workbooks']:,} workbooks, {figures['rows']:,} rows"
    )
    for column in ("method", "median s", "workbooks/s", "runs (s)"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for method, result in figures["methods"].items():
        table.add_row(
            method,
            str(result["median_seconds"]),
            f"{result['workbooks_per_s']:,}",
            " ".join(str(x) for x in result["seconds"]),
        )
    out.print(table)
    _print_target(
        "ttw ingest ÷ openpyxl open + read", figures["ratios"]["ttw_ingest_rate_vs_openpyxl_read"], figures["target"]
    )
    out.print(f"load average {figures['load_average']}")
    _write_json(json_path, figures)


@app.command("incremental")
def bench_incremental_cmd(
    scale: Annotated[float, typer.Option(help="Dataset scale (generated unless --data is given).")] = 10.0,
    seed: Annotated[int, typer.Option(help="Seed.")] = 42,
    data: Annotated[Path | None, typer.Option(help="Use this generated dataset instead of generating one.")] = None,
    all_nodes: Annotated[
        bool, typer.Option("--all-nodes", help="Time a plain `ttw build` (every node) instead of `--changed`.")
    ] = False,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the figures as JSON here too.")] = None,
) -> None:
    """A full build, then one more month (ingest + `ttw build --changed`) beside a full refresh (scratch database)."""
    from ttw.warehouse import ensure_warehouse
    from ttw_dev.bench.incremental import run, target_ratio

    settings = get_settings()
    target = ensure_warehouse(settings)
    figures = run(settings, target, data or bench_dataset(settings, scale, seed), all_nodes=all_nodes)
    table = Table(title=f"{figures['command']} (month {figures['held_back_month']} held back)")
    for column in ("step", "seconds", "what it did"):
        table.add_column(column, justify="right" if column == "seconds" else "left")
    seconds = figures["seconds"]
    nodes = ", ".join(f"{n} {kind}s" for kind, n in figures["incremental_nodes"].items())
    table.add_row("full build", str(seconds["full"]), f"{figures['contracts_loaded_first']:,} contract rows")
    table.add_row("ingest the month", str(figures["month_ingest_seconds"]), f"+{figures['month_rows']:,} rows")
    table.add_row(
        figures["incremental_build"],
        str(seconds["incremental"]),
        f"{nodes}; {figures['fact_rows_rewritten_by_incremental']:,} of {figures['fact_rows']:,} fact rows rewritten",
    )
    table.add_row("ttw build --full-refresh", str(seconds["full_refresh"]), "the same data, rebuilt")
    out.print(table)
    ratio, target_at_most = figures["ratio_incremental_to_full_refresh"], target_ratio(scale)
    verdict = "met" if ratio is not None and ratio <= target_at_most else "not met"
    out.print(
        f"incremental build / full refresh: {ratio} (target <= {target_at_most:g} at scale {scale:g}: {verdict}); "
        f"with the month's ingest: {figures['ratio_month_to_full_refresh']}",
        soft_wrap=True,
    )
    _write_json(json_path, figures)


@app.command("pipeline")
def bench_pipeline_cmd(
    scale: Annotated[float, typer.Option(help="Dataset scale (100 ≈ national-registry size).")] = 1.0,
    seed: Annotated[int, typer.Option(help="Seed.")] = 42,
    centers_scale: Annotated[
        float | None,
        typer.Option(help="Scale of the center program (roster, workbooks) alone; default: --scale."),
    ] = None,
    data: Annotated[Path | None, typer.Option(help="A dataset generated before: skip the generate stage.")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the figures as JSON here too.")] = None,
) -> None:
    """generate → ingest → build → audit → publish in a fresh warehouse: time, memory and CPU per stage."""
    from ttw_dev.bench.pipeline import run

    figures = run(get_settings(), scale, seed, data, centers_scale=centers_scale)
    table = Table(title=figures["command"])
    columns = ("stage", "seconds", "peak RSS MiB", "machine mem MiB", "CPU s (stage)", "CPU s (db, other)", "cores")
    for column in columns:
        table.add_column(column, justify="left" if column == "stage" else "right")
    for name, stage in figures["stages"].items():
        table.add_row(
            name,
            str(stage["seconds"]),
            *(
                str(stage.get(key, ""))
                for key in (
                    "peak_rss_mib",
                    "machine_memory_peak_mib",
                    "cpu_seconds_stage",
                    "cpu_seconds_other",
                    "cores_busy",
                )
            ),
        )
    out.print(table)
    out.print(
        f"total {figures['total_seconds']} s; biggest stage: {figures['biggest_stage']}; "
        f"peak RSS {figures['peak_rss_mib']} MiB; "
        f"machine memory in use at most {figures['machine_memory_peak_mib']} MiB",
        soft_wrap=True,
    )
    _write_json(json_path, figures)


@app.command("delivery")
def bench_delivery_cmd(
    scale: Annotated[float, typer.Option(help="Dataset scale.")] = 0.05,
    seed: Annotated[int, typer.Option(help="Seed.")] = 42,
    data: Annotated[Path | None, typer.Option(help="A dataset generated before.")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the figures as JSON here too.")] = None,
) -> None:
    """One new month to BI: the CLI chain (ingest, build --changed, audit, publish) beside the scheduler path."""
    from ttw.warehouse import ensure_warehouse
    from ttw_dev.bench.delivery import run

    settings = get_settings()
    figures = run(settings, ensure_warehouse(settings), data or bench_dataset(settings, scale, seed))
    table = Table(title=figures["command"])
    for column in ("path", "step", "seconds"):
        table.add_column(column, justify="right" if column == "seconds" else "left")
    for step, seconds in figures["cli"].items():
        table.add_row(f"CLI ({figures['months']['cli']})", step, str(seconds))
    for step, seconds in figures["scheduler_tasks"].items():
        table.add_row(f"scheduler ({figures['months']['scheduler']})", step, str(seconds))
    table.add_row("scheduler", "latency between tasks", str(figures["scheduler_latency_seconds"]))
    out.print(table)
    out.print(
        f"CLI chain {figures['cli_seconds']} s; scheduler path {figures['scheduler_seconds']} s; "
        f"ratio {figures['ratio']} (target <= {figures['target_ratio']}: "
        f"{'met' if figures['ratio'] is not None and figures['ratio'] <= figures['target_ratio'] else 'not met'})",
        soft_wrap=True,
    )
    _write_json(json_path, figures)


@app.command("query")
def bench_query_cmd(
    scale: Annotated[float, typer.Option(help="The scale `ttw bench pipeline` ran at.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Seed.")] = 42,
    centers_scale: Annotated[
        float | None, typer.Option(help="The --centers-scale `ttw bench pipeline` ran at, if any.")
    ] = None,
    runs: Annotated[int, typer.Option(help="Timed runs per query (after 5 to warm up).")] = 200,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the figures as JSON here too.")] = None,
) -> None:
    """The BI queries (tools/ttw_dev/bench/queries) as bi_reader on the pipeline benchmark's marts: p50/p95."""
    from ttw.warehouse import embedded_running, start_embedded, stop_embedded
    from ttw_dev.bench.pipeline import bench_settings, scale_options
    from ttw_dev.bench.query import reader_target, run

    options = scale_options(scale, seed, centers_scale)
    bench = bench_settings(get_settings(), scale, seed, centers_scale)
    if not bench.pgdata.exists():
        raise typer.BadParameter(f"no pipeline warehouse for {options}: run `ttw bench pipeline {options}`.")
    was_running = embedded_running(bench)
    try:
        figures = run(reader_target(start_embedded(bench)), runs)
    finally:
        if not was_running:
            stop_embedded(bench)
    figures["command"] = f"ttw bench query {options} --runs {runs}"
    sizes = ", ".join(f"{name} {rows:,}" for name, rows in sorted(figures["marts_rows"].items()))
    table = Table(title=f"{figures['command']}, as {figures['role']} (rows: {sizes})")
    for column in ("query (tools/ttw_dev/bench/queries)", "rows", "p50 ms", "p95 ms", "max ms"):
        table.add_column(column, justify="left" if column.startswith("query") else "right", no_wrap=True)
    for name, query in figures["queries"].items():
        table.add_row(f"{name}.sql", *(str(query[k]) for k in ("rows", "p50_ms", "p95_ms", "max_ms")))
    out.print(table)
    out.print(f"slowest p95: {figures['slowest_p95_ms']} ms", soft_wrap=True)
    _write_json(json_path, figures)


@app.command("dags")
def bench_dags_cmd(
    runs: Annotated[int, typer.Option(help="Fresh interpreters per file.")] = 5,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the figures as JSON here too.")] = None,
) -> None:
    """Parse time of each DAG file: in a fresh interpreter (as the DAG processor does) and in one DagBag."""

    from ttw.warehouse import resolve_target
    from ttw_dev.bench.dags import run

    settings = get_settings()
    figures = run(settings, resolve_target(settings), runs)
    table = Table(title=f"ttw bench dags (median and max of {runs} fresh parses; DagBag timing)")
    for column in ("file", "tasks", "cold median s", "cold max s", "in DagBag s"):
        table.add_column(column, justify="left" if column == "file" else "right", no_wrap=column == "file")
    for row in figures["files"]:
        seconds = (row["cold_median_s"], row["cold_max_s"], row["dagbag_s"])
        table.add_row(row["file"], str(row["tasks"]), *(f"{s:.3f}" for s in seconds))
    out.print(table)
    _write_json(json_path, figures)
