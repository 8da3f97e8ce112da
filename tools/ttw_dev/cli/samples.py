"""`ttw generate` and `ttw platform serve`: the generated upstream samples."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ttw.cli._common import err, get_settings, labelled, out
from ttw.errors import TTWError

commands = typer.Typer()
platform_app = typer.Typer(help="The sample platform API server (docs/sources.md).")


@commands.command("generate")
def generate_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the dataset into.")],
    scale: Annotated[float, typer.Option(help="1 = Qingdao-sized; figures scale linearly (100 ≈ national).")] = 1.0,
    seed: Annotated[int, typer.Option(help="Same seed and scale, same bytes.")] = 42,
    years: Annotated[str, typer.Option(help="FIRST-LAST, e.g. 2021-2025.")] = "2021-2025",
    defect_rate: Annotated[float, typer.Option(help="Share of rows and workbooks damaged on purpose.")] = 0.01,
    centers_scale: Annotated[
        float | None, typer.Option(help="Scale of the center program (roster, workbooks) alone; default: --scale.")
    ] = None,
) -> None:
    """Write a deterministic Qingdao sample: registry exports, rosters, reports, platform data, manifest."""
    import time
    from collections import Counter

    from ttw_dev.generate import generate

    started = time.perf_counter()
    manifest = generate(
        out_dir, scale=scale, seed=seed, years=years, defect_rate=defect_rate, centers_scale=centers_scale
    )
    elapsed = time.perf_counter() - started
    table = Table(title=f"ttw generate --scale {scale} --seed {seed} --years {years}")
    for column in ("folder", "files", "rows"):
        table.add_column(column, justify="left" if column == "folder" else "right")
    for folder, totals in sorted(manifest.by_folder().items()):
        table.add_row(folder, str(totals["files"]), str(totals["rows"]))
    out.print(table)
    kinds = Counter(d["kind"] for d in manifest.defects)
    out.print(
        f"defects: {len(manifest.defects)} (" + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) + ")",
        soft_wrap=True,
    )
    out.print(
        f"corrected re-exports: {len(manifest.corrections)}; centers without a report: {len(manifest.missing_reports)}",
        soft_wrap=True,
    )
    out.print(
        f"written to {out_dir.resolve()} in {elapsed:.1f} s; defects are listed in _manifest.json", soft_wrap=True
    )


@platform_app.command("serve")
def platform_serve_cmd(
    data: Annotated[Path, typer.Option("--data", help="A generated dataset (or its platform/ folder).")],
    host: Annotated[str, typer.Option(help="Interface to bind; loopback unless you mean otherwise.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8765,
    token: Annotated[
        str | None, typer.Option(help="Bearer token (default: TTW_PLATFORM_TOKEN, else a new one).")
    ] = None,
    as_of: Annotated[str | None, typer.Option(help="Serve the data as it stood at this ISO 8601 time.")] = None,
    rate_limit_every: Annotated[int, typer.Option(help="Answer every Nth data request 429.")] = 0,
    retry_after: Annotated[int, typer.Option(help="Retry-After seconds sent with a 429.")] = 1,
    error_rate: Annotated[float, typer.Option(help="Share of data requests answered 500/503.")] = 0.0,
    slow_rate: Annotated[float, typer.Option(help="Share of data requests answered slowly.")] = 0.0,
    slow_seconds: Annotated[float, typer.Option(help="Delay of a slow answer.")] = 2.0,
    repeat: Annotated[int, typer.Option(help="Records of a page repeated at the start of the next.")] = 0,
    change_every: Annotated[int, typer.Option(help="Every Nth page, its first record changes while paging.")] = 0,
    fail_after: Annotated[int, typer.Option(help="After N data requests, answer 503 to all (an outage).")] = 0,
    truncate_rate: Annotated[float, typer.Option(help="Share of answers cut off halfway through the body.")] = 0.0,
    expire_cursor_every: Annotated[int, typer.Option(help="Every Nth request with a cursor: expired (410).")] = 0,
    revoke_after: Annotated[int, typer.Option(help="After N data requests, the token is revoked (401).")] = 0,
    fault_seed: Annotated[int, typer.Option(help="Seed of the fault dice.")] = 0,
) -> None:
    """Serve generated platform data over HTTP: bearer auth, updated_since, cursors, faults on request."""
    import ipaddress
    import secrets

    from ttw_dev.platform_server import Faults, parse_instant, serve

    settings = get_settings()
    made_up = not (token or settings.platform_token)
    token = token or settings.platform_token or secrets.token_urlsafe(24)
    when = None
    if as_of:
        try:
            when = parse_instant(as_of)
        except ValueError:
            raise TTWError(f"--as-of {as_of!r}: expected an ISO 8601 time with a zone") from None
    faults = Faults(
        rate_limit_every=rate_limit_every,
        retry_after=retry_after,
        error_rate=error_rate,
        slow_rate=slow_rate,
        slow_seconds=slow_seconds,
        repeat=repeat,
        change_every=change_every,
        fail_after=fail_after,
        truncate_rate=truncate_rate,
        expire_cursor_every=expire_cursor_every,
        revoke_after=revoke_after,
        seed=fault_seed,
    )
    server = serve(data, host=host, port=port, token=token, faults=faults, as_of=when)
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        labelled(err, "[yellow]warning:[/yellow]", f"serving on {host}, reachable from other machines")
    out.print(f"serving {data} on {server.base_url} (Ctrl-C stops)", soft_wrap=True)
    if made_up:  # a token given by the user is never printed
        out.print(f"bearer token (made up for this run): {token}", soft_wrap=True)
    for platform, resources in server.data.resources.items():
        out.print(f"  {server.base_url}/{platform}/api/v1/{{{','.join(resources)}}}", soft_wrap=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        out.print("stopped")
    finally:
        server.server_close()
