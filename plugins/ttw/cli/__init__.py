"""The ``ttw`` command line: a thin shell over the package, one module per command group
(shared helpers in :mod:`ttw.cli._common`).

Other installed packages add commands through the entry point group ``ttw.commands``: the
development tooling (ttw-dev, in the dev dependency group) adds ``ttw generate``, ``ttw
platform serve``, ``ttw bench ...`` and ``ttw demo``, without this package importing it.
:func:`main` adds them before it runs the app.
"""

from __future__ import annotations

import typer

from ttw.cli import airflow, batches, bi, build, evaluation, ingest, roles, warehouse
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
for commands in (build.commands, airflow.commands, bi.commands):
    app.add_typer(commands)
app.add_typer(warehouse.app, name="warehouse")
app.add_typer(ingest.app, name="ingest")
app.add_typer(roles.app, name="roles")
app.add_typer(evaluation.export_app, name="export")
app.add_typer(evaluation.report_app, name="report")
app.add_typer(docs_app, name="docs")
app.add_typer(batches.app, name="batches")
app.add_typer(evaluation.app, name="evaluation")


def add_commands(app: typer.Typer) -> None:
    """The commands of other installed packages: each entry point of the group ``ttw.commands``
    is a function that adds its commands to ``app``."""
    from importlib.metadata import entry_points

    for entry in entry_points(group="ttw.commands"):
        entry.load()(app)
    app.registered_groups.sort(key=lambda group: isinstance(group.name, str))  # named groups after the commands


def main() -> None:
    add_commands(app)
    run(app)
