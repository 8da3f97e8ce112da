"""`ttw ingest ...`: upstream deliveries into the raw layer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ttw.cli._common import err, get_settings, labelled, out
from ttw.errors import TTWError

app = typer.Typer(help="Load upstream deliveries into the raw layer.")

SETTLE = Annotated[
    float,
    typer.Option(
        "--settle",
        metavar="SECONDS",
        help="Take a file only once unchanged this long, or with NAME.done beside it (the DAGs: TTW_SETTLE_SECONDS).",
    ),
]


@app.command("contracts")
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


@app.command("centers")
def ingest_centers_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Rosters (centers_YYYY.csv) or folders of them.")],
    settle: SETTLE = 0.0,
) -> None:
    """Load center rosters into raw.center_roster, one atomic batch per file."""
    from ttw.ingest import ingest_centers
    from ttw.warehouse import ensure_warehouse

    _print_ingest(ingest_centers(ensure_warehouse(get_settings()), paths, settle=settle))


@app.command("reports")
def ingest_reports_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Report workbooks (年度报告_*.xlsx) or folders of them.")],
    settle: SETTLE = 0.0,
) -> None:
    """Load annual report workbooks (read by label) into raw.report_*, one batch per workbook."""
    from ttw.ingest import ingest_reports
    from ttw.warehouse import ensure_warehouse

    _print_ingest(ingest_reports(ensure_warehouse(get_settings()), paths, settle=settle))


@app.command("platform")
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
