"""`ttw batches ...`: load batches, listed, shown and retracted (operators)."""

from __future__ import annotations

from typing import Annotated

import typer

from ttw.cli._common import get_settings, out

app = typer.Typer(help="Load batches: list them, show one, retract one that loaded but is wrong.")


@app.command("list")
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


@app.command("show")
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


@app.command("retract")
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
