"""`ttw roles apply`: the database roles and their grants."""

from __future__ import annotations

import typer

from ttw.cli._common import get_settings, out

app = typer.Typer(help="Database roles: ttw_loader, ttw_transform and the read-only bi_reader.")


@app.command("apply")
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
