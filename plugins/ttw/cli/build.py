"""`ttw build`, `ttw audit`, `ttw publish`: marts_build built, checked and published."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ttw.cli._common import get_settings, out

commands = typer.Typer()

# build, audit and publish hold the stage locks (ttw.locks): how to meet one already taken
NoWait = Annotated[
    bool, typer.Option("--no-wait", help="Fail at once when another build, audit or publish holds the lock.")
]
LockTimeout = Annotated[
    float | None,
    typer.Option("--lock-timeout", help="Seconds to wait for the lock (default TTW_LOCK_TIMEOUT_SECONDS, 600)."),
]


@commands.command("build")
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


@commands.command("audit")
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
    out.print(f"results in ops.quality_results (run {result.run_id}); Data Docs: {result.docs_index}", soft_wrap=True)
    if not result.ok:
        out.print(f"audit FAILED: {len(result.failed_critical)} critical check(s); `ttw publish` will refuse")
        raise typer.Exit(1)
    out.print("audit passed: `ttw publish` may publish this build")


@commands.command("publish")
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
