"""`ttw airflow`, `ttw local-airflow`, `ttw run-dag`: Airflow with the project's settings."""

from __future__ import annotations

from typing import Annotated

import typer

from ttw.cli._common import get_settings, out
from ttw.errors import TTWError

commands = typer.Typer()


@commands.command("airflow", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def airflow_cmd(ctx: typer.Context) -> None:
    """Run the airflow CLI with the project's settings, e.g. `ttw airflow dags list`."""
    from ttw.orchestrate import airflow_cli
    from ttw.warehouse import resolve_target

    settings = get_settings()
    raise typer.Exit(airflow_cli(settings, resolve_target(settings), ctx.args))


@commands.command("local-airflow")
def local_airflow_cmd() -> None:
    """Run Airflow on this machine until Ctrl-C: scheduler, DAG processor, triggerer, API server and UI
    on 127.0.0.1:TTW_AIRFLOW_PORT, LocalExecutor, metadata in the warehouse's PostgreSQL."""
    from ttw.local_airflow import serve

    raise typer.Exit(serve(get_settings()))


@commands.command("run-dag")
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
