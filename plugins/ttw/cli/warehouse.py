"""`ttw warehouse`: the embedded server, or the external one TTW_WAREHOUSE_URL names."""

from __future__ import annotations

import os

import typer

from ttw.cli._common import get_settings, out

app = typer.Typer(help="The warehouse PostgreSQL: embedded server under $TTW_HOME, or TTW_WAREHOUSE_URL.")


@app.command("start")
def warehouse_start() -> None:
    """Start the embedded server (initialising it the first time); check an external one."""
    from ttw.warehouse import ensure_warehouse

    target = ensure_warehouse(get_settings())
    kind = "embedded" if target.embedded else "external"
    out.print(f"warehouse ({kind}) ready at {target.display_url}", soft_wrap=True)


@app.command("stop")
def warehouse_stop() -> None:
    """Stop the embedded server."""
    from ttw.warehouse import stop_embedded

    stopped = stop_embedded(get_settings())
    out.print("warehouse stopped" if stopped else "warehouse was not running")


@app.command("status")
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


@app.command("url")
def warehouse_url() -> None:
    """Print the warehouse connection URL (password masked)."""
    from ttw.warehouse import resolve_target

    print(resolve_target(get_settings()).display_url)


@app.command("migrate")
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


@app.command("psql", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def warehouse_psql(ctx: typer.Context) -> None:
    """Open psql (shipped with the embedded server) on the warehouse; extra arguments go to psql."""
    from ttw.warehouse import psql_path, resolve_target

    target = resolve_target(get_settings())
    env = {**os.environ, **target.libpq_env()}
    os.execve(str(psql_path()), [str(psql_path()), *ctx.args], env)
