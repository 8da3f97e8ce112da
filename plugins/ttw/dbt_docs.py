"""dbt docs: the warehouse's models, columns and lineage as a website, offline.

``ttw docs generate`` runs ``dbt docs generate`` (with the catalog: every table's columns
and types as the database holds them in ``marts_build``) into ``$TTW_HOME/dbt/target``:
``index.html``, ``catalog.json`` and ``manifest.json``, plus ``static_index.html``, the
same site with both JSON files inside it, which opens from disk with no server. It holds
the ``marts_build`` stage lock, as an audit does, so it never reads a build half-way. The
page loads nothing from the internet: dbt's usage tracking is off in the manifest, like
every other telemetry switch of the project.

``ttw docs serve`` serves those files (and only those) on 127.0.0.1; ``index.html`` needs
a server because it fetches the two JSON files.
"""

from __future__ import annotations

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ttw.errors import TTWError
from ttw.settings import Settings

if TYPE_CHECKING:
    from ttw.warehouse import Target

SITE_FILES = ("index.html", "catalog.json", "manifest.json")
STATIC_PAGE = "static_index.html"
DEFAULT_PORT = 8081  # Airflow's UI takes 8080
LOOPBACK = "127.0.0.1"


def docs_dir(settings: Settings) -> Path:
    """Where dbt writes its artifacts (``DBT_TARGET_PATH`` of :func:`ttw.build.dbt_env`)."""
    return settings.home_dir / "dbt" / "target"


def missing_files(folder: Path) -> list[str]:
    return [name for name in (*SITE_FILES, STATIC_PAGE) if not (folder / name).is_file()]


def generate(settings: Settings, target: Target, *, lock_timeout: float | None = None) -> Path:
    """``dbt docs generate --static`` against ``target``; the folder holding the site."""
    from ttw.build import run_dbt
    from ttw.locks import MARTS_BUILD, stage_lock

    timeout = settings.lock_timeout_seconds if lock_timeout is None else lock_timeout
    with stage_lock(target, (MARTS_BUILD,), "docs generate", timeout=timeout):
        run_dbt(settings, target, ["docs", "generate", "--static"])
    folder = docs_dir(settings)
    missing = missing_files(folder)
    if missing:
        raise TTWError(f"dbt docs generate wrote no {', '.join(missing)} in {folder}")
    return folder


class _SiteHandler(SimpleHTTPRequestHandler):
    """The site's files from one folder, nothing else of it (no listing, no compiled SQL)."""

    served = frozenset((*SITE_FILES, STATIC_PAGE))

    def send_head(self):
        name = self.path.split("?", 1)[0].split("#", 1)[0].lstrip("/") or "index.html"
        if name not in self.served:
            self.send_error(404, "not part of the docs site")
            return None
        self.path = "/" + name
        return super().send_head()

    def log_message(self, format, *args):
        pass


def make_server(folder: Path, port: int = DEFAULT_PORT, host: str = LOOPBACK) -> ThreadingHTTPServer:
    """An HTTP server of the docs site in ``folder`` (``port`` 0: a free one); not started."""
    missing = [name for name in SITE_FILES if not (folder / name).is_file()]
    if missing:
        raise TTWError(f"no docs site in {folder} (missing {', '.join(missing)}): run `ttw docs generate` first")
    try:
        return ThreadingHTTPServer((host, port), partial(_SiteHandler, directory=str(folder)))
    except OSError as exc:
        raise TTWError(f"cannot serve the docs on {host}:{port} ({exc.strerror}): choose another --port") from None


def serve_in_background(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="dbt-docs", daemon=True)
    thread.start()
    return thread


# --- command line (``ttw docs``) -------------------------------------------------------

docs_app = typer.Typer(help="dbt docs of the warehouse: models, columns, tests and lineage, offline.")


@docs_app.command("generate")
def generate_cmd(
    lock_timeout: Annotated[
        float | None, typer.Option(help="Seconds to wait for a build, audit or publish in progress.")
    ] = None,
) -> None:
    """dbt docs generate with the catalog into $TTW_HOME/dbt/target (index.html, catalog.json, manifest.json)."""
    from ttw.settings import get_settings
    from ttw.warehouse import ensure_warehouse

    settings = get_settings()
    folder = generate(settings, ensure_warehouse(settings), lock_timeout=lock_timeout)
    typer.echo(f"dbt docs in {folder}: open {folder / STATIC_PAGE} (offline, no server) or run `ttw docs serve`")


@docs_app.command("serve")
def serve_cmd(
    port: Annotated[int, typer.Option(help="Loopback port to serve on.")] = DEFAULT_PORT,
) -> None:
    """Serve the generated docs on 127.0.0.1 until Ctrl-C."""
    from ttw.settings import get_settings

    server = make_server(docs_dir(get_settings()), port)
    typer.echo(f"dbt docs on http://{LOOPBACK}:{server.server_address[1]}/ (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
