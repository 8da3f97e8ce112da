"""Apache Superset with the project's dashboards on the warehouse (`make bi`, `ttw bi`).

Superset runs from a virtual environment of its own (``.bi-venv`` in the checkout, from the
pins in ``bi/requirements.txt``; its pins are not Airflow's), with its SQLite metadata, a
generated SECRET_KEY and the admin's password under ``$TTW_HOME/bi``. :func:`setup`

1. ensures the warehouse is up and the roles exist, ``bi_reader`` with a password
   (``TTW_BI_READER_PASSWORD``, else one generated into ``$TTW_HOME/bi``);
2. migrates Superset's metadata, syncs its roles and creates the ``admin`` user (a generated
   password, printed once), in one process (``bi/setup_superset.py``);
3. imports the dashboards kept in ``bi/assets`` (Superset's export format as YAML files):
   an import bundle is zipped from them with the warehouse's URL as ``bi_reader`` and
   imported, overwriting what an earlier import made.

:func:`serve` then runs Superset on 127.0.0.1 until Ctrl-C.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import yaml

from ttw.errors import TTWError
from ttw.settings import TELEMETRY_OFF, Settings

ADMIN_USER = "admin"
DEFAULT_PORT = 8088
ASSET_KINDS = ("databases", "datasets", "charts", "dashboards")
Say = Callable[[str], None]


@dataclass(frozen=True)
class BIPaths:
    """Where Superset's code, configuration and state live."""

    config_dir: Path  # bi/ in the checkout: config, pins, dashboard files
    venv: Path  # .bi-venv
    home: Path  # $TTW_HOME/bi

    @property
    def requirements(self) -> Path:
        return self.config_dir / "requirements.txt"

    @property
    def assets(self) -> Path:
        return self.config_dir / "assets"

    @property
    def superset(self) -> Path:
        return self.venv / "bin" / "superset"

    @property
    def gunicorn(self) -> Path:
        return self.venv / "bin" / "gunicorn"

    @property
    def admin_password_file(self) -> Path:
        return self.home / "admin_password"

    @property
    def bi_reader_password_file(self) -> Path:
        return self.home / "bi_reader_password"

    @property
    def screenshots(self) -> Path:
        return self.home / "screenshots"

    @property
    def log(self) -> Path:
        return self.home / "superset.log"


@dataclass(frozen=True)
class BISetup:
    paths: BIPaths
    admin_user: str
    admin_password: str
    dashboards: list[str]


def bi_paths(settings: Settings) -> BIPaths:
    return BIPaths(
        config_dir=settings.project_dir / "bi",
        venv=settings.project_dir / ".bi-venv",
        home=settings.home_dir / "bi",
    )


def _say(line: str) -> None:
    print(line, flush=True)


def _secret(path: Path, nbytes: int = 24) -> tuple[str, bool]:
    """The secret kept in ``path``, generated (owner-only) when missing; and whether it was."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip(), False
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(nbytes)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    return value, True


# --- the virtual environment -----------------------------------------------------------


def _requirements_digest(paths: BIPaths) -> str:
    return hashlib.sha256(paths.requirements.read_bytes()).hexdigest()


def _uv(project_dir: Path) -> str | None:
    found = shutil.which("uv")
    private = project_dir / ".venv-tools" / "bin" / "uv"
    return found or (str(private) if private.exists() else None)


def ensure_venv(settings: Settings, say: Say = _say) -> BIPaths:
    """Create ``.bi-venv`` from the pins, again only when the pins changed."""
    paths = bi_paths(settings)
    stamp = paths.venv / ".requirements.sha256"
    digest = _requirements_digest(paths)
    if paths.superset.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        return paths
    started = time.perf_counter()
    say(f"installing Superset into {paths.venv} from {paths.requirements}")
    if paths.venv.exists():
        shutil.rmtree(paths.venv)
    uv = _uv(settings.project_dir)
    if uv:
        _run([uv, "venv", "--quiet", "--python", sys.executable, str(paths.venv)])
        _run([uv, "pip", "install", "--quiet", "--python", str(paths.venv / "bin" / "python"), "-r",
              str(paths.requirements)])  # fmt: skip
    else:
        _run([sys.executable, "-m", "venv", str(paths.venv)])
        _run([str(paths.venv / "bin" / "pip"), "install", "--quiet", "-r", str(paths.requirements)])
    stamp.write_text(digest + "\n")
    say(f"Superset installed in {time.perf_counter() - started:.0f} s")
    return paths


def _run(command: list[str], env: dict[str, str] | None = None) -> str:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise TTWError(f"{Path(command[0]).name} {' '.join(command[1:2])} failed ({result.returncode}):\n{tail}")
    return result.stdout + result.stderr


def superset_env(paths: BIPaths) -> dict[str, str]:
    """The environment of every Superset process: its config, its home, telemetry off."""
    return {
        **os.environ,
        **TELEMETRY_OFF,
        "SUPERSET_CONFIG_PATH": str(paths.config_dir / "superset_config.py"),
        "SUPERSET_HOME": str(paths.home),
        "TTW_BI_HOME": str(paths.home),
        "FLASK_APP": "superset.app:create_app()",
        "SUPERSET_LOAD_EXAMPLES": "no",
        "SCARF_ANALYTICS": "false",
        "PYTHONUNBUFFERED": "1",
    }


# --- the import bundle -----------------------------------------------------------------


def database_uri(host: str, port: int, dbname: str, password: str, query: str = "") -> str:
    uri = f"postgresql+psycopg2://bi_reader:{quote(password, safe='')}@{host}:{port}/{quote(dbname, safe='')}"
    return f"{uri}?{query}" if query else uri


def load_assets(assets: Path) -> dict[str, dict]:
    """The dashboard files of the repository: bundle path -> parsed YAML."""
    files: dict[str, dict] = {}
    for kind in ASSET_KINDS:
        for path in sorted((assets / kind).rglob("*.yaml")):
            files[path.relative_to(assets).as_posix()] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return files


def bundle_contents(assets: Path, uri: str) -> dict[str, str]:
    """The files of an import bundle: each asset with its version, a chart's query context as
    the JSON string Superset keeps, and every database pointed at ``uri``."""
    contents = {"metadata.yaml": (assets / "metadata.yaml").read_text(encoding="utf-8")}
    for name, config in load_assets(assets).items():
        config.setdefault("version", "1.0.0")
        if name.startswith("databases/"):
            config["sqlalchemy_uri"] = uri
        if name.startswith("charts/"):
            context = config.get("query_context")
            if isinstance(context, dict):
                context = {
                    "datasource": {"id": 0, "type": "table"},
                    "force": False,
                    "form_data": config["params"],
                    "result_format": "json",
                    "result_type": "full",
                    **context,
                }
                config["query_context"] = json.dumps(context, ensure_ascii=False)
        contents[name] = yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
    return contents


def write_bundle(contents: dict[str, str], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds bi_reader's password
    with os.fdopen(fd, "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, text in contents.items():
            bundle.writestr(f"ttw_dashboards/{name}", text)
    return path


# --- setup -----------------------------------------------------------------------------


def setup(settings: Settings, say: Say = _say) -> BISetup:
    """Install (when the pins changed), configure and import: everything but serving."""
    from ttw.roles import BI_READER, LOADER, TRANSFORM, apply_roles
    from ttw.warehouse import ensure_warehouse

    paths = ensure_venv(settings, say)
    paths.home.mkdir(parents=True, exist_ok=True)
    paths.home.chmod(0o700)
    _secret(paths.home / "secret_key", 42)

    target = ensure_warehouse(settings)
    reader_password = settings.bi_reader_password or _secret(paths.bi_reader_password_file)[0]
    passwords = {LOADER: settings.loader_password, TRANSFORM: settings.transform_password, BI_READER: reader_password}
    apply_roles(target, passwords)
    say(f"warehouse {target.host}:{target.port}/{target.dbname}: bi_reader can log in, reads schema marts")

    admin_password, generated = _secret(paths.admin_password_file)
    if generated:
        kept = paths.admin_password_file
        say(f"Superset user {ADMIN_USER}, password {admin_password} (printed once; kept in {kept})")
    uri = database_uri(target.host, target.port, target.dbname, reader_password, target.query)
    contents = bundle_contents(paths.assets, uri)
    bundle = write_bundle(contents, paths.home / "import" / "ttw_dashboards.zip")
    started = time.perf_counter()
    try:
        script = paths.config_dir / "setup_superset.py"
        python = str(paths.venv / "bin" / "python")
        _run([python, str(script), str(bundle), ADMIN_USER, str(paths.admin_password_file)], superset_env(paths))
    finally:
        bundle.unlink(missing_ok=True)
    titles = [yaml.safe_load(text)["dashboard_title"] for name, text in contents.items() if name.startswith("dash")]
    say(f"Superset metadata ready and {len(titles)} dashboards imported in {time.perf_counter() - started:.0f} s")
    return BISetup(paths, ADMIN_USER, admin_password, titles)


# --- serving ---------------------------------------------------------------------------


def start_server(paths: BIPaths, port: int, *, workers: int = 1) -> subprocess.Popen:
    """Superset under gunicorn on 127.0.0.1:port, logging to $TTW_HOME/bi/superset.log."""
    log = paths.log.open("ab")
    command = [
        str(paths.gunicorn), "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--worker-class",
        "gthread", "--threads", "8", "--timeout", "120", "--limit-request-line", "0",
        "--limit-request-field_size", "0", "superset.app:create_app()",
    ]  # fmt: skip
    return subprocess.Popen(
        command, env=superset_env(paths), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def wait_healthy(url: str, process: subprocess.Popen, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise TTWError(f"Superset exited ({process.returncode}) before it answered on {url}")
        with (
            contextlib.suppress(urllib.error.URLError, OSError),
            urllib.request.urlopen(f"{url}/health", timeout=5) as response,
        ):
            if response.status == 200:
                return
        time.sleep(1)
    raise TTWError(f"Superset did not answer on {url} within {timeout:.0f} s")


def stop_server(process: subprocess.Popen, timeout: float = 30.0) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def serve(settings: Settings, port: int = DEFAULT_PORT, *, no_serve: bool = False, say: Say = _say) -> int:
    """`ttw bi`: set up and import, then serve on 127.0.0.1:port until Ctrl-C."""
    done = setup(settings, say)
    url = f"http://127.0.0.1:{port}"
    if no_serve:
        say(f"set up; `ttw bi` serves it on {url}")
        return 0
    process = start_server(done.paths, port)
    try:
        wait_healthy(url, process)
        say(f"Superset on {url}  user {done.admin_user}, password in {done.paths.admin_password_file}")
        say("dashboards: " + ", ".join(done.dashboards))
        say(f"log: {done.paths.log}; Ctrl-C stops it")
        while process.poll() is None:
            time.sleep(1)
        return process.returncode or 0
    except KeyboardInterrupt:
        return 0
    finally:
        stop_server(process)
