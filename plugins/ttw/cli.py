"""The ``ttw`` command line: a thin shell over the package.

User errors (:class:`ttw.errors.TTWError`) print one clear line and exit 1, without a
traceback. Console markup is off: file names, header cells and every other text that comes
from outside print exactly as they are; the few styled labels escape what they frame.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ttw.dbt_docs import docs_app
from ttw.errors import TTWError

# Heavy packages (pandas, openpyxl, great_expectations, airflow, dbt, psycopg, pydantic's
# settings) are imported inside the commands that use them, so `ttw ... --help` and a
# command's start do not pay for them (`python -X importtime -m ttw.cli --help`).


def get_settings():
    """The project settings (:func:`ttw.settings.get_settings`), imported when first asked for."""
    from ttw.settings import get_settings as settings

    return settings()


def disable_telemetry() -> None:
    from ttw.settings import disable_telemetry as disable

    disable()


app = typer.Typer(
    help="Tech Transfer Warehouse: contract registry, platform exports and center reports into PostgreSQL, "
    "built with dbt, run by Airflow.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
warehouse_app = typer.Typer(help="The warehouse PostgreSQL: embedded server under $TTW_HOME, or TTW_WAREHOUSE_URL.")
ingest_app = typer.Typer(help="Load upstream deliveries into the raw layer.")
platform_app = typer.Typer(help="The sample platform API server (docs/sources.md).")
bench_app = typer.Typer(help="Benchmarks: measured figures with the command that reproduces them.")
app.add_typer(bench_app, name="bench")
app.add_typer(warehouse_app, name="warehouse")
app.add_typer(ingest_app, name="ingest")
app.add_typer(platform_app, name="platform")
export_app = typer.Typer(help="Evaluator exports from the published marts.")
roles_app = typer.Typer(help="Database roles: ttw_loader, ttw_transform and the read-only bi_reader.")
app.add_typer(roles_app, name="roles")
report_app = typer.Typer(help="Self-contained HTML reports from the published marts.")
app.add_typer(export_app, name="export")
app.add_typer(report_app, name="report")
app.add_typer(docs_app, name="docs")

# markup and emoji codes off: file names and cell values print as they are
out = Console(markup=False, emoji=False)
err = Console(stderr=True, markup=False, emoji=False)


def labelled(console: Console, label: str, text: str) -> None:
    """One line: ``label`` as console markup (a style), then ``text`` exactly as it is."""
    console.print(f"{label} {escape(text)}", markup=True, highlight=False, soft_wrap=True)


# --- warehouse ------------------------------------------------------------------------


@warehouse_app.command("start")
def warehouse_start() -> None:
    """Start the embedded server (initialising it the first time); check an external one."""
    from ttw.warehouse import ensure_warehouse

    target = ensure_warehouse(get_settings())
    kind = "embedded" if target.embedded else "external"
    out.print(f"warehouse ({kind}) ready at {target.display_url}")


@warehouse_app.command("stop")
def warehouse_stop() -> None:
    """Stop the embedded server."""
    from ttw.warehouse import stop_embedded

    stopped = stop_embedded(get_settings())
    out.print("warehouse stopped" if stopped else "warehouse was not running")


@warehouse_app.command("status")
def warehouse_status() -> None:
    """Say whether the warehouse is up; exit 1 when it is not."""
    from ttw.warehouse import is_listening, is_reachable, resolve_target, serves_data_dir

    settings = get_settings()
    target = resolve_target(settings)
    if target.embedded:
        if serves_data_dir(target, settings.pgdata):
            out.print(f"running: {target.display_url} (embedded, data in {settings.pgdata})", soft_wrap=True)
            return
        if is_listening(target):  # a server this home cannot even log in to is not its own
            out.print(
                f"not running: port {target.port} is taken by another PostgreSQL, not the one with data in "
                f"{settings.pgdata} (set TTW_WAREHOUSE_PORT)",
                soft_wrap=True,
            )
            raise typer.Exit(1)
        out.print(f"not running: {target.display_url} (embedded, data in {settings.pgdata})", soft_wrap=True)
        raise typer.Exit(1)
    if is_reachable(target):
        out.print(f"running: {target.display_url} (external)", soft_wrap=True)
        return
    out.print(f"not running: {target.display_url} (external)", soft_wrap=True)
    raise typer.Exit(1)


@warehouse_app.command("url")
def warehouse_url() -> None:
    """Print the warehouse connection URL (password masked)."""
    from ttw.warehouse import resolve_target

    print(resolve_target(get_settings()).display_url)


@warehouse_app.command("migrate")
def warehouse_migrate() -> None:
    """Bring the ops schema to the newest revision (docs/operations.md); print the revision before and after."""
    from ttw.migrations import ensure_current
    from ttw.warehouse import connect, ensure_warehouse

    with connect(ensure_warehouse(get_settings()), autocommit=True) as conn:
        before, after = ensure_current(conn)
    out.print(
        f"ops schema: at {after}, the newest"
        if before == after
        else f"ops schema: {before or 'no revision'} -> {after}"
    )


@warehouse_app.command("psql", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def warehouse_psql(ctx: typer.Context) -> None:
    """Open psql (shipped with the embedded server) on the warehouse; extra arguments go to psql."""
    from ttw.warehouse import psql_path, resolve_target

    target = resolve_target(get_settings())
    env = {**os.environ, **target.libpq_env()}
    os.execve(str(psql_path()), [str(psql_path()), *ctx.args], env)


# --- upstream samples -----------------------------------------------------------------


@app.command("generate")
def generate_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the dataset into.")],
    scale: Annotated[float, typer.Option(help="1 = Qingdao-sized; figures scale linearly (100 ≈ national).")] = 1.0,
    seed: Annotated[int, typer.Option(help="Same seed and scale, same bytes.")] = 42,
    years: Annotated[str, typer.Option(help="FIRST-LAST, e.g. 2021-2025.")] = "2021-2025",
    defect_rate: Annotated[float, typer.Option(help="Share of rows and workbooks damaged on purpose.")] = 0.01,
    centers_scale: Annotated[
        float | None, typer.Option(help="Scale of the center program (roster, workbooks) alone; default: --scale.")
    ] = None,
) -> None:
    """Write a deterministic Qingdao sample: registry exports, rosters, reports, platform data, manifest."""
    import time
    from collections import Counter

    from ttw.generate import generate

    started = time.perf_counter()
    manifest = generate(
        out_dir, scale=scale, seed=seed, years=years, defect_rate=defect_rate, centers_scale=centers_scale
    )
    elapsed = time.perf_counter() - started
    table = Table(title=f"ttw generate --scale {scale} --seed {seed} --years {years}")
    for column in ("folder", "files", "rows"):
        table.add_column(column, justify="left" if column == "folder" else "right")
    for folder, totals in sorted(manifest.by_folder().items()):
        table.add_row(folder, str(totals["files"]), str(totals["rows"]))
    out.print(table)
    kinds = Counter(d["kind"] for d in manifest.defects)
    out.print(
        f"defects: {len(manifest.defects)} (" + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) + ")",
        soft_wrap=True,
    )
    out.print(
        f"corrected re-exports: {len(manifest.corrections)}; centers without a report: {len(manifest.missing_reports)}",
        soft_wrap=True,
    )
    out.print(
        f"written to {out_dir.resolve()} in {elapsed:.1f} s; defects are listed in _manifest.json", soft_wrap=True
    )


@platform_app.command("serve")
def platform_serve_cmd(
    data: Annotated[Path, typer.Option("--data", help="A generated dataset (or its platform/ folder).")],
    host: Annotated[str, typer.Option(help="Interface to bind; loopback unless you mean otherwise.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8765,
    token: Annotated[
        str | None, typer.Option(help="Bearer token (default: TTW_PLATFORM_TOKEN, else a new one).")
    ] = None,
    as_of: Annotated[str | None, typer.Option(help="Serve the data as it stood at this ISO 8601 time.")] = None,
    rate_limit_every: Annotated[int, typer.Option(help="Answer every Nth data request 429.")] = 0,
    retry_after: Annotated[int, typer.Option(help="Retry-After seconds sent with a 429.")] = 1,
    error_rate: Annotated[float, typer.Option(help="Share of data requests answered 500/503.")] = 0.0,
    slow_rate: Annotated[float, typer.Option(help="Share of data requests answered slowly.")] = 0.0,
    slow_seconds: Annotated[float, typer.Option(help="Delay of a slow answer.")] = 2.0,
    repeat: Annotated[int, typer.Option(help="Records of a page repeated at the start of the next.")] = 0,
    change_every: Annotated[int, typer.Option(help="Every Nth page, its first record changes while paging.")] = 0,
    fail_after: Annotated[int, typer.Option(help="After N data requests, answer 503 to all (an outage).")] = 0,
    truncate_rate: Annotated[float, typer.Option(help="Share of answers cut off halfway through the body.")] = 0.0,
    expire_cursor_every: Annotated[int, typer.Option(help="Every Nth request with a cursor: expired (410).")] = 0,
    revoke_after: Annotated[int, typer.Option(help="After N data requests, the token is revoked (401).")] = 0,
    fault_seed: Annotated[int, typer.Option(help="Seed of the fault dice.")] = 0,
) -> None:
    """Serve generated platform data over HTTP: bearer auth, updated_since, cursors, faults on request."""
    import ipaddress
    import secrets

    from ttw.platform_server import Faults, parse_instant, serve

    settings = get_settings()
    made_up = not (token or settings.platform_token)
    token = token or settings.platform_token or secrets.token_urlsafe(24)
    when = None
    if as_of:
        try:
            when = parse_instant(as_of)
        except ValueError:
            raise TTWError(f"--as-of {as_of!r}: expected an ISO 8601 time with a zone") from None
    faults = Faults(
        rate_limit_every=rate_limit_every,
        retry_after=retry_after,
        error_rate=error_rate,
        slow_rate=slow_rate,
        slow_seconds=slow_seconds,
        repeat=repeat,
        change_every=change_every,
        fail_after=fail_after,
        truncate_rate=truncate_rate,
        expire_cursor_every=expire_cursor_every,
        revoke_after=revoke_after,
        seed=fault_seed,
    )
    server = serve(data, host=host, port=port, token=token, faults=faults, as_of=when)
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        labelled(err, "[yellow]warning:[/yellow]", f"serving on {host}, reachable from other machines")
    out.print(f"serving {data} on {server.base_url} (Ctrl-C stops)", soft_wrap=True)
    if made_up:  # a token given by the user is never printed
        out.print(f"bearer token (made up for this run): {token}", soft_wrap=True)
    for platform, resources in server.data.resources.items():
        out.print(f"  {server.base_url}/{platform}/api/v1/{{{','.join(resources)}}}", soft_wrap=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        out.print("stopped")
    finally:
        server.server_close()


# --- benchmarks -----------------------------------------------------------------------


def _write_json(path: Path | None, figures: dict) -> None:
    """``--json PATH``: the benchmark's figures as written, beside the printed table."""
    if path:
        import json

        path.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def bench_dataset(settings, scale: float, seed: int) -> Path:
    """The generated dataset the benchmarks share at this scale and seed, generated on first use."""
    from ttw.generate import generate

    data = settings.home_dir / "bench" / f"dataset-scale{scale:g}-seed{seed}"
    if not (data / "_manifest.json").exists():
        out.print(f"generating scale {scale:g} into {data} ...")
        generate(data, scale=scale, seed=seed)
    return data


@bench_app.command("generate")
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

    from ttw.bench.generate import run

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


@bench_app.command("load")
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

    from ttw.bench.load import TARGET_VS_BARE, XLSX_METHODS, make_contracts_csv, run, run_registry
    from ttw.warehouse import ensure_warehouse

    settings = get_settings()
    target = ensure_warehouse(settings)
    if file is None:
        file = settings.home_dir / "bench" / f"contracts_{rows}.csv"
        if not file.exists():
            file.parent.mkdir(parents=True, exist_ok=True)
            out.print(f"writing {rows} rows to {file} ...")
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


@bench_app.command("reports")
def bench_reports_cmd(
    scale: Annotated[float, typer.Option(help="Scale of the generated dataset whose workbooks are read.")] = 0.1,
    seed: Annotated[int, typer.Option(help="Seed of the generated dataset.")] = 42,
    runs: Annotated[int, typer.Option(help="Runs per method (alternating); medians are reported.")] = 3,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the figures as JSON here too.")] = None,
) -> None:
    """Report workbooks through `ttw ingest reports` against openpyxl only opening and reading them."""
    from ttw.bench.reports import run
    from ttw.warehouse import ensure_warehouse

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


@bench_app.command("incremental")
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
    from ttw.bench.incremental import run, target_ratio
    from ttw.warehouse import ensure_warehouse

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


@bench_app.command("pipeline")
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
    from ttw.bench.pipeline import run

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


@bench_app.command("delivery")
def bench_delivery_cmd(
    scale: Annotated[float, typer.Option(help="Dataset scale.")] = 0.05,
    seed: Annotated[int, typer.Option(help="Seed.")] = 42,
    data: Annotated[Path | None, typer.Option(help="A dataset generated before.")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the figures as JSON here too.")] = None,
) -> None:
    """One new month to BI: the CLI chain (ingest, build --changed, audit, publish) beside the scheduler path."""
    from ttw.bench.delivery import run
    from ttw.warehouse import ensure_warehouse

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


@bench_app.command("query")
def bench_query_cmd(
    scale: Annotated[float, typer.Option(help="The scale `ttw bench pipeline` ran at.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Seed.")] = 42,
    centers_scale: Annotated[
        float | None, typer.Option(help="The --centers-scale `ttw bench pipeline` ran at, if any.")
    ] = None,
    runs: Annotated[int, typer.Option(help="Timed runs per query (after 5 to warm up).")] = 200,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the figures as JSON here too.")] = None,
) -> None:
    """The BI queries (plugins/ttw/bench/queries) as bi_reader on the pipeline benchmark's marts: p50/p95."""
    from ttw.bench.pipeline import bench_settings, scale_options
    from ttw.bench.query import reader_target, run
    from ttw.warehouse import embedded_running, start_embedded, stop_embedded

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
    for column in ("query (plugins/ttw/bench/queries)", "rows", "p50 ms", "p95 ms", "max ms"):
        table.add_column(column, justify="left" if column.startswith("query") else "right", no_wrap=True)
    for name, query in figures["queries"].items():
        table.add_row(f"{name}.sql", *(str(query[k]) for k in ("rows", "p50_ms", "p95_ms", "max_ms")))
    out.print(table)
    out.print(f"slowest p95: {figures['slowest_p95_ms']} ms", soft_wrap=True)
    _write_json(json_path, figures)


@bench_app.command("dags")
def bench_dags_cmd(
    runs: Annotated[int, typer.Option(help="Fresh interpreters per file.")] = 5,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the figures as JSON here too.")] = None,
) -> None:
    """Parse time of each DAG file: in a fresh interpreter (as the DAG processor does) and in one DagBag."""

    from ttw.bench.dags import run
    from ttw.warehouse import resolve_target

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


# --- pipeline steps -------------------------------------------------------------------

SETTLE = Annotated[
    float,
    typer.Option(
        "--settle",
        metavar="SECONDS",
        help="Take a file only once unchanged this long, or with NAME.done beside it (the DAGs: TTW_SETTLE_SECONDS).",
    ),
]


@ingest_app.command("contracts")
def ingest_contracts_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Export files (contracts_YYYYMM.csv) or folders of them.")],
    settle: SETTLE = 0.0,
) -> None:
    """Load contract registry exports into raw.registry_contracts, one atomic batch per file."""
    from ttw.ingest import ingest_contracts
    from ttw.warehouse import ensure_warehouse

    _print_ingest(ingest_contracts(ensure_warehouse(get_settings()), paths, settle=settle))


def _print_ingest(report) -> None:
    for batch in report.batches:
        out.print(batch.summary, soft_wrap=True)
    for note in report.notes:
        out.print(note, soft_wrap=True)
    for problem in report.problems:
        labelled(err, "[yellow]kept in ops.load_rejects:[/yellow]", problem)
    for message in report.errors:
        labelled(err, "[red]error:[/red]", message)
    landing = report.landing
    set_aside = [
        (len(landing.waiting), "waiting"),
        (len(landing.not_regular), "skipped (not regular files)"),
        (len(landing.refused), "links refused"),
        (len(landing.not_deliveries), "not deliveries"),
    ]
    out.print(
        f"{len(report.batches)} files, {report.rows_loaded} rows loaded, {len(report.errors)} files failed"
        + "".join(f", {n} {what}" for n, what in set_aside if n),
        soft_wrap=True,
    )
    if not report.ok:
        raise typer.Exit(1)


@ingest_app.command("centers")
def ingest_centers_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Rosters (centers_YYYY.csv) or folders of them.")],
    settle: SETTLE = 0.0,
) -> None:
    """Load center rosters into raw.center_roster, one atomic batch per file."""
    from ttw.ingest import ingest_centers
    from ttw.warehouse import ensure_warehouse

    _print_ingest(ingest_centers(ensure_warehouse(get_settings()), paths, settle=settle))


@ingest_app.command("reports")
def ingest_reports_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Report workbooks (年度报告_*.xlsx) or folders of them.")],
    settle: SETTLE = 0.0,
) -> None:
    """Load annual report workbooks (read by label) into raw.report_*, one batch per workbook."""
    from ttw.ingest import ingest_reports
    from ttw.warehouse import ensure_warehouse

    _print_ingest(ingest_reports(ensure_warehouse(get_settings()), paths, settle=settle))


@ingest_app.command("platform")
def ingest_platform_cmd(
    base_url: Annotated[
        str, typer.Option("--base-url", help="The platform's base URL, e.g. http://127.0.0.1:8765/tech_market.")
    ],
    token: Annotated[str | None, typer.Option(help="Bearer token (default: TTW_PLATFORM_TOKEN).")] = None,
    resource: Annotated[list[str] | None, typer.Option("--resource", help="Only these resources (repeatable).")] = None,
    platform: Annotated[str | None, typer.Option(help="Platform name (default: the base URL's last segment).")] = None,
    page_size: Annotated[int, typer.Option(help="Records per page asked for.")] = 500,
) -> None:
    """Load a platform's records changed since the last run into raw.platform_records."""
    import datetime as dt

    from ttw.extract.platform import RESOURCES
    from ttw.ingest import ingest_platform
    from ttw.warehouse import ensure_warehouse

    settings = get_settings()
    bearer = token or settings.platform_token
    if not bearer:
        raise TTWError("no platform token: pass --token or set TTW_PLATFORM_TOKEN")
    unknown = [r for r in resource or () if r not in RESOURCES]
    if unknown:
        raise TTWError(f"--resource {unknown[0]!r}: expected one of {', '.join(RESOURCES)}")
    runs = ingest_platform(
        ensure_warehouse(settings),
        base_url,
        bearer,
        resources=resource,
        platform=platform,
        page_size=page_size,
        max_pages=settings.platform_max_pages,
        future_tolerance=dt.timedelta(hours=settings.platform_future_tolerance_hours),
    )
    for run in runs:
        out.print(run.summary, soft_wrap=True)
        for problem in run.problems:
            out.print(f"  rejected: {problem}", soft_wrap=True)


# build, audit and publish hold the stage locks (ttw.locks): how to meet one already taken
NoWait = Annotated[
    bool, typer.Option("--no-wait", help="Fail at once when another build, audit or publish holds the lock.")
]
LockTimeout = Annotated[
    float | None,
    typer.Option("--lock-timeout", help="Seconds to wait for the lock (default TTW_LOCK_TIMEOUT_SECONDS, 600)."),
]


@app.command("build")
def build_cmd(
    full_refresh: Annotated[bool, typer.Option("--full-refresh", help="Rebuild incremental models.")] = False,
    select: Annotated[list[str] | None, typer.Option("--select", "-s", help="dbt node selection.")] = None,
    changed: Annotated[
        bool,
        typer.Option(
            "--changed",
            help="Only what depends on sources with new rows since the last whole build (of the same project).",
        ),
    ] = False,
    no_wait: NoWait = False,
    lock_timeout: LockTimeout = None,
) -> None:
    """Run dbt build (seeds, models, tests) into marts_build."""
    from ttw.build import NOTHING_CHANGED, build, rejects_summary
    from ttw.warehouse import ensure_warehouse

    if changed and (select or full_refresh):
        raise typer.BadParameter("--changed chooses the nodes itself: not with --select or --full-refresh")
    settings = get_settings()
    target = ensure_warehouse(settings)
    output = build(
        settings,
        target,
        full_refresh=full_refresh,
        select=select,
        changed=changed,
        wait=not no_wait,
        lock_timeout=lock_timeout,
    )
    if output == NOTHING_CHANGED:
        out.print(output)
        return
    done = [line for line in output.splitlines() if "Done." in line]
    out.print(done[-1].strip() if done else "dbt build finished")
    rejected = rejects_summary(target)
    if rejected:
        out.print(f"rejected rows (in ops.rejects): {sum(n for _, _, n in rejected)}")
        for family, rule, rows in rejected:
            out.print(f"  {family}: {rule} {rows}")
    else:
        out.print("no rejected rows")


@app.command("audit")
def audit_cmd(
    no_wait: NoWait = False,
    lock_timeout: LockTimeout = None,
) -> None:
    """Check marts_build before publishing: the last dbt build's tests plus the GX suites (expectations/)."""
    from collections import Counter

    from ttw.quality import audit
    from ttw.warehouse import ensure_warehouse

    settings = get_settings()
    result = audit(settings, ensure_warehouse(settings), wait=not no_wait, lock_timeout=lock_timeout)
    table = Table(title=f"audit {result.run_id[:8]} of dbt build {(result.dbt_build_id or '?')[:8]}")
    for column in ("suite", "checks", "ok", "crit fail", "warn fail"):
        table.add_column(column, justify="left" if column == "suite" else "right", no_wrap=column == "suite")
    tally: dict[str, Counter] = {}
    for check in result.checks:
        counts = tally.setdefault(check.suite, Counter())
        counts["checks"] += 1
        counts["passed" if check.success else f"failed {check.severity}"] += 1
    for suite, counts in sorted(tally.items()):
        table.add_row(suite, *(str(counts[k]) for k in ("checks", "passed", "failed critical", "failed warning")))
    out.print(table)
    for check in result.checks:
        if not check.success:
            where = f" ({check.column})" if check.column else ""
            out.print(f"[{check.severity}] {check.suite}: {check.expectation}{where}: observed {check.observed}")
    out.print(f"results in ops.quality_results (run {result.run_id}); Data Docs: {result.docs_index}")
    if not result.ok:
        out.print(f"audit FAILED: {len(result.failed_critical)} critical check(s); `ttw publish` will refuse")
        raise typer.Exit(1)
    out.print("audit passed: `ttw publish` may publish this build")


@app.command("publish")
def publish_cmd(
    no_wait: NoWait = False,
    lock_timeout: LockTimeout = None,
) -> None:
    """Copy the tables of marts_build into marts (what BI reads) in one transaction."""
    from ttw.publish import publish
    from ttw.warehouse import ensure_warehouse

    settings = get_settings()
    counts = publish(settings, ensure_warehouse(settings), wait=not no_wait, lock_timeout=lock_timeout)
    for name, rows in counts.items():
        out.print(f"marts.{name}: {rows} rows")


# --- load batches (operators) --------------------------------------------------------

batches_app = typer.Typer(help="Load batches: list them, show one, retract one that loaded but is wrong.")
app.add_typer(batches_app, name="batches")


@batches_app.command("list")
def batches_list_cmd(
    family: Annotated[str | None, typer.Option(help="Only this family, e.g. registry_contracts.")] = None,
    limit: Annotated[int, typer.Option(help="The newest N batches.")] = 20,
) -> None:
    """The newest load batches, newest first: id, family, live or retracted, rows loaded, source."""
    from ttw.batches import list_batches
    from ttw.warehouse import ensure_warehouse

    found = list_batches(ensure_warehouse(get_settings()), family=family, limit=limit)
    out.print(f"{'batch':>8}  {'family':<18}  {'state':<26}  {'loaded':>8}  source", soft_wrap=True)
    for b in found:
        out.print(f"{b.batch_id:>8}  {b.family:<18}  {b.state:<26}  {b.rows_loaded:>8}  {b.source}", soft_wrap=True)
    if not found:
        out.print("no load batches" + (f" of {family}" if family else ""))


@batches_app.command("show")
def batches_show_cmd(batch_id: Annotated[int, typer.Argument(help="The batch id (ttw batches list).")]) -> None:
    """One load batch: its source, counts, and whether, when, why and by whom it was retracted."""
    from ttw.batches import get_batch, pending_retractions
    from ttw.warehouse import connect, ensure_warehouse

    target = ensure_warehouse(get_settings())
    b = get_batch(target, batch_id)
    fields = [
        ("batch", b.batch_id),
        ("family", b.family),
        ("source", b.source),
        ("content hash", b.content_hash or "-"),
        ("loaded at", f"{b.loaded_at:%Y-%m-%d %H:%M:%S %Z}"),
        ("rows received", b.rows_received),
        ("rows loaded", b.rows_loaded),
        ("rows rejected", b.rows_rejected),
        ("rows skipped", b.rows_skipped),
        ("state", b.state),
    ]
    if b.retracted:
        with connect(target) as conn:
            held = sorted({model for model, batch in pending_retractions(conn) if batch == b.batch_id})
        fields += [
            ("reason", b.retraction_reason),
            ("retracted by", b.retracted_by),
            (
                "next build",
                f"rebuilds the incremental models from scratch ({', '.join(held)} hold its rows)"
                if held
                else "no model holds its rows",
            ),
        ]
    for label, value in fields:
        out.print(f"{label:<16}{value}", soft_wrap=True)


@batches_app.command("retract")
def batches_retract_cmd(
    batch_id: Annotated[int, typer.Argument(help="The batch id (ttw batches list).")],
    reason: Annotated[str, typer.Option("--reason", help="Why: kept with the batch.")],
) -> None:
    """Retract a batch: kept in raw for audit, left out of every later build; its file may load again."""
    from ttw.batches import retract
    from ttw.warehouse import ensure_warehouse

    settings = get_settings()
    b = retract(ensure_warehouse(settings), batch_id, reason, landing_root=settings.landing_dir)
    out.print(
        f"retracted batch {b.batch_id} ({b.family}, {b.source}, {b.rows_loaded} rows) at"
        f" {b.retracted_at:%Y-%m-%d %H:%M:%S %Z} by {b.retracted_by}: {b.retraction_reason}",
        soft_wrap=True,
    )
    out.print(
        "the next build (ttw build, ttw build --changed, the build_warehouse DAG) leaves it out, rebuilding the"
        " incremental models from scratch if they hold its rows; the same file delivered again loads as a new batch",
        soft_wrap=True,
    )


# --- evaluation freeze (operators) ---------------------------------------------------

evaluation_app = typer.Typer(
    help="Freeze a year's published evaluation results so later deliveries do not change them; reopen it."
)
app.add_typer(evaluation_app, name="evaluation")


def _freeze_line(f) -> str:
    tables = ", ".join(f"{name} {rows}" for name, rows in f.tables.items())
    return (
        f"{f.year}  frozen {f.frozen_at:%Y-%m-%d %H:%M:%S %Z} by {f.frozen_by}, build {f.build_id or '-'}"
        + (f", reason: {f.reason}" if f.reason else "")
        + f"\n      rows kept: {tables}"
    )


@evaluation_app.command("freeze")
def evaluation_freeze_cmd(
    year: Annotated[int, typer.Option(help="The evaluation year, one that is published.")],
    reason: Annotated[str | None, typer.Option(help="Why: kept with the freeze.")] = None,
) -> None:
    """Keep YEAR's published rpt_center_* rows as they are: later publishes put them back until reopened."""
    from ttw.freeze import freeze
    from ttw.warehouse import ensure_warehouse

    f = freeze(ensure_warehouse(get_settings()), year, reason)
    out.print(
        f"froze {f.year}: {f.rows} rows of {len(f.tables)} tables kept (build {f.build_id or '-'}),"
        f" at {f.frozen_at:%Y-%m-%d %H:%M:%S %Z} by {f.frozen_by}" + (f": {f.reason}" if f.reason else ""),
        soft_wrap=True,
    )
    out.print(
        f"every later publish keeps these rows for {f.year}; `ttw evaluation reopen --year {f.year}` ends the freeze",
        soft_wrap=True,
    )


@evaluation_app.command("reopen")
def evaluation_reopen_cmd(
    year: Annotated[int, typer.Option(help="A frozen evaluation year.")],
    reason: Annotated[str | None, typer.Option(help="Why: kept in the freeze log.")] = None,
) -> None:
    """End YEAR's freeze: the next publish puts the year's results as built into marts."""
    from ttw.freeze import reopen
    from ttw.warehouse import ensure_warehouse

    f = reopen(ensure_warehouse(get_settings()), year, reason)
    out.print(
        f"reopened {f.year} (frozen {f.frozen_at:%Y-%m-%d %H:%M:%S %Z} by {f.frozen_by}): marts keep the frozen rows"
        " until the next publish, which puts the year's results as built",
        soft_wrap=True,
    )


@evaluation_app.command("frozen")
def evaluation_frozen_cmd() -> None:
    """The frozen evaluation years: when, by whom, why, and the rows kept per table."""
    from ttw.freeze import frozen_years
    from ttw.warehouse import ensure_warehouse

    found = frozen_years(ensure_warehouse(get_settings()))
    for f in found.values():
        out.print(_freeze_line(f), soft_wrap=True)
    if not found:
        out.print("no evaluation year is frozen")


# --- center evaluation ----------------------------------------------------------------


@export_app.command("centers")
def export_centers_cmd(
    year: Annotated[int, typer.Option(help="Evaluation year.")],
    out_path: Annotated[Path, typer.Option("--out", help="The .xlsx file, or the folder for CSV files.")],
    fmt: Annotated[str, typer.Option("--format", help="xlsx or csv.")] = "xlsx",
    lang: Annotated[str, typer.Option(help="The file's language, headers and values: zh or en.")] = "zh",
) -> None:
    """The evaluator workbook in one language: about, comprehensive evaluation, summary, ranking,
    indicator detail, flags, new centers."""
    from ttw.evaluation.deliver import deliver, table_format
    from ttw.warehouse import ensure_warehouse

    if fmt not in ("xlsx", "csv"):
        raise TTWError(f"--format {fmt!r}: expected xlsx or csv")
    settings = get_settings()
    kind = table_format(fmt, lang)
    done = deliver(ensure_warehouse(settings), year, out_path.parent, [kind], paths={kind: out_path})
    for path in done.written:
        out.print(f"wrote {path}")
    out.print(f"{len(done.evaluation.centers)} centers, {len(done.evaluation.flagged)} flagged")


@report_app.command("centers")
def report_centers_cmd(
    year: Annotated[int, typer.Option(help="Evaluation year.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the HTML files (and the PDF).")],
    center: Annotated[
        list[str] | None,
        typer.Option(help="Write the page of this center only (repeatable); default: every graded center."),
    ] = None,
    pdf: Annotated[bool, typer.Option("--pdf", help="Also print the year report to centers_{year}.pdf.")] = False,
) -> None:
    """The year report (comprehensive evaluation first, then the summary and its charts) and a page per
    center in centers/{code}.html, opening offline; --pdf prints the year report through headless Chromium."""
    from ttw.evaluation.deliver import deliver
    from ttw.warehouse import ensure_warehouse

    settings = get_settings()
    formats = ["html", "pdf"] if pdf else ["html"]
    done = deliver(ensure_warehouse(settings), year, out_dir, formats, centers=center or "all", paths={"html": out_dir})
    for path in done.written:
        if path.parent.name != "centers":
            out.print(f"wrote {path}")
    pages = sum(1 for path in done.written if path.parent.name == "centers")
    out.print(
        f"wrote {pages} center page(s) in {out_dir / 'centers'}; data loaded in {done.load_seconds:.1f} s,"
        f" written in {done.write_seconds:.1f} s",
        soft_wrap=True,
    )


@roles_app.command("apply")
def roles_apply_cmd() -> None:
    """Create or update the roles and grants; passwords from TTW_LOADER_PASSWORD, TTW_TRANSFORM_PASSWORD,
    TTW_BI_READER_PASSWORD (a role without one cannot log in)."""
    from ttw.roles import BI_READER, LOADER, TRANSFORM, apply_roles
    from ttw.warehouse import ensure_warehouse

    settings = get_settings()
    target = ensure_warehouse(settings)
    passwords = {
        LOADER: settings.loader_password,
        TRANSFORM: settings.transform_password,
        BI_READER: settings.bi_reader_password,
    }
    for role, login in apply_roles(target, passwords).items():
        note = "can log in" if login else f"NOLOGIN (set TTW_{role.removeprefix('ttw_').upper()}_PASSWORD to log in)"
        out.print(f"{role}: {note}", soft_wrap=True)
    out.print(f"bi_reader reads schema marts only, at {target.host}:{target.port}/{target.dbname}")


# --- Airflow --------------------------------------------------------------------------


@app.command("airflow", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def airflow_cmd(ctx: typer.Context) -> None:
    """Run the airflow CLI with the project's settings, e.g. `ttw airflow dags list`."""
    from ttw.orchestrate import airflow_cli
    from ttw.warehouse import resolve_target

    settings = get_settings()
    raise typer.Exit(airflow_cli(settings, resolve_target(settings), ctx.args))


@app.command("local-airflow")
def local_airflow_cmd() -> None:
    """Run Airflow on this machine until Ctrl-C: scheduler, DAG processor, triggerer, API server and UI
    on 127.0.0.1:TTW_AIRFLOW_PORT, LocalExecutor, metadata in the warehouse's PostgreSQL."""
    from ttw.local_airflow import serve

    raise typer.Exit(serve(get_settings()))


@app.command("run-dag")
def run_dag_cmd(
    dag_id: Annotated[str, typer.Argument(help="The DAG to run, e.g. ingest_contract_registry.")],
    conf: Annotated[str, typer.Option(help='Params as JSON, e.g. \'{"month": "202412"}\'.')] = "{}",
) -> None:
    """Run one DAG end to end with dag.test(); exit 1 unless the DagRun succeeded."""
    import json

    from ttw.orchestrate import prepare_airflow, run_dag
    from ttw.warehouse import ensure_warehouse

    try:
        params = json.loads(conf)
    except json.JSONDecodeError as exc:
        raise TTWError(f"--conf is not JSON: {exc}") from None
    settings = get_settings()
    target = ensure_warehouse(settings)
    prepare_airflow(settings, target)
    outcome = run_dag(settings, target, dag_id, params)
    if not outcome.succeeded:
        failed = ", ".join(outcome.failed_tasks) or "none recorded"
        raise TTWError(f"DAG {dag_id} ended {outcome.state} (failed tasks: {failed}); see the task logs above")
    out.print(f"DAG {outcome.dag_id}: {outcome.state} ({outcome.run_id})", soft_wrap=True)


# --- demo -----------------------------------------------------------------------------


@app.command("demo")
def demo_cmd(
    scale: Annotated[float, typer.Option(help="Sample size: 1 = Qingdao-sized.")] = 0.05,
    seed: Annotated[int, typer.Option(help="Sample seed.")] = 7,
) -> None:
    """The main job on the embedded warehouse: generate a sample, run every DAG through Airflow, summarise."""
    import time

    from ttw.build import rejects_summary
    from ttw.demo import quality_summary, run_demo, top_centers
    from ttw.warehouse import ensure_warehouse, layer_counts

    started = time.perf_counter()
    settings = get_settings()
    target = ensure_warehouse(settings)
    out.print(f"warehouse ready at {target.display_url}")
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


# --- BI -------------------------------------------------------------------------------


@app.command("bi")
def bi_cmd(
    port: Annotated[int, typer.Option(envvar="TTW_BI_PORT", help="Loopback port of Superset.")] = 8088,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Only install, set up and import.")] = False,
) -> None:
    """Apache Superset with the project's dashboards on the warehouse, on 127.0.0.1:PORT until Ctrl-C
    (bi_reader on schema marts; login admin, password under $TTW_HOME/bi)."""
    from ttw.bi import serve

    raise typer.Exit(serve(get_settings(), port, no_serve=no_serve, say=lambda line: out.print(line, soft_wrap=True)))


def main() -> None:
    disable_telemetry()
    try:
        app()
    except TTWError as exc:
        labelled(err, "[red]error:[/red]", str(exc))
        sys.exit(1)
    except Exception as exc:
        psycopg = sys.modules.get("psycopg")  # not imported: the error is not a database's
        if psycopg is None or not isinstance(exc, psycopg.Error):
            raise
        # a database refusal (permissions, lost connection) is the user's to act on: one line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        labelled(err, "[red]database error:[/red]", first)
        sys.exit(1)


if __name__ == "__main__":
    main()
