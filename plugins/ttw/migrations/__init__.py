"""The ops schema's versions: Alembic revisions (``versions/``), the warehouse's own in
``ops.alembic_version``.

The ops tables (the load ledger, rejects, watermarks, audit and dbt results, build and
publish records, evaluation freezes) are made and changed only by these revisions. Every
code path that writes them first calls :func:`ensure_current` (``ttw.load.ensure_ops``):
one query of the version table, compared with the head revision of this package (read
once per process). Only a warehouse behind takes the advisory lock ``ops_migrations``,
reads its version again (a process that waited finds the head another one reached, and
does nothing) and runs the revisions it lacks.

The revisions are rendered to SQL by Alembic ("offline" mode, :mod:`ttw.migrations.env`)
and that SQL runs on the caller's connection, inside its transaction, as the DDL did
before there were revisions: the upgrade commits with the caller's transaction (at once
on an autocommit connection), is owned by the caller's role, and needs no second
connection (nor its password). A revision is therefore SQL only.

``0001`` brings a warehouse made before the revisions (ops tables there, maybe of an
older layout, no version table) to the same state as a new one: its statements are
idempotent and adapt the older layouts. Later revisions assume the one before.
"""

from __future__ import annotations

import contextlib
import io
import threading
from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from ttw.errors import TTWError

SCHEMA = "ops"
VERSION_TABLE = "alembic_version"
LOCK = "ops_migrations"

# Alembic's environment is process-global while it renders: one thread at a time
_rendering = threading.Lock()
_rendered: dict[tuple[str | None, str], str] = {}
_head: list[str] = []


def config(output: io.StringIO | None = None) -> Config:
    """The Alembic configuration, in code: the scripts are this package's folder."""
    cfg = Config(output_buffer=output)
    cfg.set_main_option("script_location", str(Path(__file__).parent))
    return cfg


def head() -> str:
    """The newest revision of this package (read once per process)."""
    with _rendering:
        if not _head:
            _head.append(ScriptDirectory.from_config(config()).get_current_head())
        return _head[0]


def upgrade_sql(start: str | None, end: str = "head") -> str:
    """The SQL that takes the ops schema from revision ``start`` (None: no version table
    yet) to ``end``, rendered once per process."""
    with _rendering:
        if (start, end) not in _rendered:
            buffer = io.StringIO()
            try:
                command.upgrade(config(buffer), f"{start}:{end}" if start else end, sql=True)
            except CommandError as exc:
                raise TTWError(
                    f"the warehouse's ops schema is at revision {start}, which this ttw does not know"
                    f" (a newer ttw migrated it?): {exc}"
                ) from None
            _rendered[start, end] = buffer.getvalue()
        return _rendered[start, end]


def current(conn: psycopg.Connection) -> str | None:
    """The warehouse's ops revision; None before any (no version table). In a transaction
    of the caller's, read in a savepoint: a missing table does not abort the transaction."""
    outside = conn.autocommit and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    try:
        with contextlib.nullcontext() if outside else conn.transaction():
            row = conn.execute(f"select version_num from {SCHEMA}.{VERSION_TABLE}").fetchone()
    except psycopg.errors.UndefinedTable:
        return None
    return row[0] if row else None


def ensure_current(conn: psycopg.Connection) -> tuple[str | None, str]:
    """Bring the ops schema to the head revision; (revision before, revision after).

    One query when it is there already. Call it before the transaction touches an ops
    table: the upgrade runs on ``conn`` (see the module).
    """
    from ttw.locks import RAW_DDL, lock_key

    target = head()
    before = current(conn)
    if before == target:
        return before, target
    with conn.transaction():
        # first the lock an older ttw took for the same DDL (ttw.locks.RAW_DDL, held by the
        # raw tables' DDL still), so a worker of that version running during an upgrade waits too
        conn.execute("select pg_advisory_xact_lock(%s)", (lock_key(RAW_DDL),))
        conn.execute("select pg_advisory_xact_lock(%s)", (lock_key(LOCK),))
        before = current(conn)  # another process may have upgraded it while this one waited
        if before != target:
            conn.execute(upgrade_sql(before))
    return before, target
