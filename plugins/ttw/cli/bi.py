"""`ttw bi`: Apache Superset with the project's dashboards."""

from __future__ import annotations

from typing import Annotated

import typer

from ttw.cli._common import get_settings, out

commands = typer.Typer()


@commands.command("bi")
def bi_cmd(
    port: Annotated[int, typer.Option(envvar="TTW_BI_PORT", help="Loopback port of Superset.")] = 8088,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Only install, set up and import.")] = False,
) -> None:
    """Apache Superset with the project's dashboards on the warehouse, on 127.0.0.1:PORT until Ctrl-C
    (bi_reader on schema marts; login admin, password under $TTW_HOME/bi)."""
    from ttw.bi import serve

    raise typer.Exit(serve(get_settings(), port, no_serve=no_serve, say=lambda line: out.print(line, soft_wrap=True)))
