"""`ttw evaluation ...` (a year's results frozen and reopened), `ttw export centers` and
`ttw report centers` (the evaluation deliverables)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ttw.cli._common import get_settings, out
from ttw.errors import TTWError

app = typer.Typer(
    help="Freeze a year's published evaluation results so later deliveries do not change them; reopen it."
)
export_app = typer.Typer(help="Evaluator exports from the published marts.")
report_app = typer.Typer(help="Self-contained HTML reports from the published marts.")


def _freeze_line(f) -> str:
    tables = ", ".join(f"{name} {rows}" for name, rows in f.tables.items())
    return (
        f"{f.year}  frozen {f.frozen_at:%Y-%m-%d %H:%M:%S %Z} by {f.frozen_by}, build {f.build_id or '-'}"
        + (f", reason: {f.reason}" if f.reason else "")
        + f"\n      rows kept: {tables}"
    )


@app.command("freeze")
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


@app.command("reopen")
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


@app.command("frozen")
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
        out.print(f"wrote {path}", soft_wrap=True)
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
            out.print(f"wrote {path}", soft_wrap=True)
    pages = sum(1 for path in done.written if path.parent.name == "centers")
    out.print(
        f"wrote {pages} center page(s) in {out_dir / 'centers'}; data loaded in {done.load_seconds:.1f} s,"
        f" written in {done.write_seconds:.1f} s",
        soft_wrap=True,
    )
