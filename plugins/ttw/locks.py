"""Stage locks: the stages that write the warehouse never run over each other.

Each stage holds a PostgreSQL advisory lock named for what it protects, on a session of
its own kept open for the whole stage (the work itself runs on other connections, and
dbt on its own): ``marts_build`` (build, audit and publish: what dbt writes and the later
stages read), ``marts`` (publish) and ``raw_ddl`` (the loaders' and the build's table
creation). A process that dies releases its locks with its session.

The lock session names its holder in ``application_name`` (``ttw publish pid=… host=…``)
and goes idle once it holds the lock, so a stage that finds the lock taken reads who holds
it, and since when, from ``pg_locks`` and ``pg_stat_activity``: no table to keep clean. A
second stage waits (``timeout`` seconds at most) or, with ``wait=False``, fails at once;
either way the message names the holder.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
from collections.abc import Iterator

import psycopg

from ttw.errors import TTWError
from ttw.warehouse import Target, connect

MARTS_BUILD = "marts_build"
MARTS = "marts"
RAW_DDL = "raw_ddl"


def lock_key(name: str) -> int:
    """The advisory lock key of ``name``: the first 62 bits of SHA-256 of ``ttw:NAME``."""
    return int.from_bytes(hashlib.sha256(f"ttw:{name}".encode()).digest()[:8], "big") >> 2


def holder(conn: psycopg.Connection, name: str) -> str | None:
    """Who holds lock ``name``: "ttw publish pid=… host=… since …", or None when nobody does."""
    key = lock_key(name)
    row = conn.execute(
        "select activity.application_name, to_char(activity.state_change at time zone 'UTC',"
        " 'YYYY-MM-DD HH24:MI:SS') || ' UTC'"
        " from pg_locks as locks join pg_stat_activity as activity on activity.pid = locks.pid"
        " where locks.locktype = 'advisory' and locks.granted and locks.objsubid = 1"
        " and locks.database = (select oid from pg_database where datname = current_database())"
        " and locks.classid = %s::bigint::oid and locks.objid = %s::bigint::oid",
        (key >> 32, key & 0xFFFFFFFF),
    ).fetchone()
    if row is None:
        return None
    return f"{row[0] or 'a session without a name'} since {row[1]}"


class LockTaken(TTWError):
    """A stage lock is held by another run: waiting longer (or a retry) may succeed."""


def _taken(name: str, who: str | None, hint: str) -> TTWError:
    return LockTaken(f"the {name} lock is held by {who or 'another session'}: {hint}")


@contextlib.contextmanager
def stage_lock(
    target: Target, names: tuple[str, ...], command: str, *, timeout: float, wait: bool = True
) -> Iterator[None]:
    """Hold the advisory locks ``names`` (in this order) for the ``with`` block.

    ``command`` names the holder to whoever waits ("publish"). A lock held elsewhere is
    waited for at most ``timeout`` seconds, or not at all without ``wait``; then
    :class:`TTWError` names who holds it.
    """
    with connect(target, autocommit=True) as conn:
        conn.execute(
            "select set_config('application_name', %s, false)",
            (f"ttw {command} pid={os.getpid()} host={socket.gethostname()}"[:63],),
        )
        for name in names:
            key = lock_key(name)
            if conn.execute("select pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
                continue
            who = holder(conn, name)
            if not wait:
                raise _taken(name, who, f"`ttw {command}` not started (--no-wait)")
            conn.execute("select set_config('lock_timeout', %s, false)", (f"{max(int(timeout * 1000), 1)}ms",))
            try:
                conn.execute("select pg_advisory_lock(%s)", (key,))
            except psycopg.errors.LockNotAvailable:
                raise _taken(
                    name,
                    holder(conn, name) or who,
                    f"`ttw {command}` gave up after waiting {timeout:g} s (--lock-timeout)",
                ) from None
            conn.execute("set lock_timeout = 0")
        yield  # the session stays open (and idle, with the locks) while the stage runs
