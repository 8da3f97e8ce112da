"""The ``ttw`` command line: a thin shell over the package, one module per command group
(shared helpers in :mod:`ttw.cli._common`)."""

from __future__ import annotations

import typer

from ttw.cli import airflow, batches, bench, bi, build, demo, evaluation, ingest, roles, samples, warehouse
from ttw.cli._common import run
from ttw.dbt_docs import docs_app

app = typer.Typer(
    help="Tech Transfer Warehouse: contract registry, platform exports and center reports into PostgreSQL, "
    "built with dbt, run by Airflow.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# the top-level commands first, then the groups: the order `ttw --help` lists them in
for commands in (samples.commands, build.commands, airflow.commands, demo.commands, bi.commands):
    app.add_typer(commands)
app.add_typer(bench.app, name="bench")
app.add_typer(warehouse.app, name="warehouse")
app.add_typer(ingest.app, name="ingest")
app.add_typer(samples.platform_app, name="platform")
app.add_typer(roles.app, name="roles")
app.add_typer(evaluation.export_app, name="export")
app.add_typer(evaluation.report_app, name="report")
app.add_typer(docs_app, name="docs")
app.add_typer(batches.app, name="batches")
app.add_typer(evaluation.app, name="evaluation")


def main() -> None:
    run(app)
