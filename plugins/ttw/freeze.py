"""Evaluation freeze: a year's published evaluation results stay as they were until reopened.

Once the bureau has announced a year's grades, later deliveries (a corrected report, a
late registry export) must not change them silently. ``ttw evaluation freeze --year Y``
snapshots the rows of year Y of every published ``marts.rpt_center_*`` table with an
``evaluation_year`` column into ``ops`` (each row as JSON, so no column list is written
down anywhere: the tables may gain columns), with the build they came from. Every later
publish (:func:`ttw.publish.publish`) replaces those tables' rows of the frozen years in
``marts`` by the snapshot, inside the publish's own transaction: readers see the frozen
rows throughout. A column the snapshot lacks (one a model gained after the freeze) stays
null in the frozen rows; a column the snapshot has and the table no longer has is left
out. ``ttw evaluation reopen --year Y`` ends the freeze: the next publish puts the year's
rows as built into ``marts``. ``marts_build`` is never touched: the audit checks what dbt
built. Who froze and reopened, when and why, is kept in ``ops.evaluation_freeze_log``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import psycopg
from psycopg import sql

from ttw.errors import Refusal
from ttw.warehouse import Target, connect

# the published tables a freeze holds: the center evaluation reports with a year column
TABLE_PATTERN = "rpt\\_center\\_%"
YEAR_COLUMN = "evaluation_year"
# the table that says which years are published (graded)
GRADED = "rpt_center_performance"


@dataclass(frozen=True)
class FrozenYear:
    """A frozen evaluation year: the build its rows are of, who froze it, when and why,
    and the rows kept per table."""

    year: int
    build_id: str | None
    frozen_at: dt.datetime
    frozen_by: str
    reason: str | None
    tables: dict[str, int]

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


def _exists(conn: psycopg.Connection, relation: str) -> bool:
    return conn.execute("select to_regclass(%s)", (relation,)).fetchone()[0] is not None


def evaluation_tables(conn: psycopg.Connection, schema: str = "marts") -> list[str]:
    """The tables of ``schema`` a freeze holds: ``rpt_center_*`` with an evaluation_year column."""
    return [
        r[0]
        for r in conn.execute(
            "select c.table_name from information_schema.columns as c"
            " join information_schema.tables as t using (table_schema, table_name)"
            " where c.table_schema = %s and c.table_name like %s and c.column_name = %s"
            " and t.table_type = 'BASE TABLE' order by c.table_name",
            (schema, TABLE_PATTERN, YEAR_COLUMN),
        )
    ]


def _published_years(conn: psycopg.Connection) -> list[int]:
    if not _exists(conn, f"marts.{GRADED}"):
        return []
    return [
        r[0]
        for r in conn.execute(
            sql.SQL("select distinct {} from marts.{} order by 1").format(
                sql.Identifier(YEAR_COLUMN), sql.Identifier(GRADED)
            )
        )
    ]


def _frozen(conn: psycopg.Connection, year: int | None = None) -> dict[int, FrozenYear]:
    if not _exists(conn, "ops.evaluation_freezes"):
        return {}
    found: dict[int, FrozenYear] = {}
    for year_, build_id, frozen_at, frozen_by, reason in conn.execute(
        "select evaluation_year, build_id, frozen_at, frozen_by, reason from ops.evaluation_freezes"
        " where %(year)s::int is null or evaluation_year = %(year)s order by evaluation_year",
        {"year": year},
    ).fetchall():
        tables = dict(
            conn.execute(
                "select table_name, row_count from ops.evaluation_frozen_tables"
                " where evaluation_year = %s order by table_name",
                (year_,),
            ).fetchall()
        )
        found[year_] = FrozenYear(year_, build_id, frozen_at, frozen_by, reason, tables)
    return found


def frozen_years(target: Target) -> dict[int, FrozenYear]:
    """The frozen evaluation years, in year order: {year: who, when, why, rows kept}."""
    with connect(target) as conn:
        return _frozen(conn)


def _lock(target: Target, command: str, wait: bool, timeout: float | None):
    from ttw.locks import MARTS, stage_lock
    from ttw.settings import get_settings

    seconds = get_settings().lock_timeout_seconds if timeout is None else timeout
    return stage_lock(target, (MARTS,), command, timeout=seconds, wait=wait)


def freeze(
    target: Target,
    year: int,
    reason: str | None = None,
    *,
    by: str | None = None,
    wait: bool = True,
    lock_timeout: float | None = None,
) -> FrozenYear:
    """Freeze ``year``: keep its published evaluation rows as they are now.

    Refused when the year is not published (no row in ``marts.rpt_center_performance``)
    or is frozen already. Holds the ``marts`` lock, so no publish runs meanwhile.
    """
    from ttw.batches import operator
    from ttw.load import ensure_ops
    from ttw.publish import last_published_build

    who = by or operator()
    with _lock(target, "evaluation freeze", wait, lock_timeout):
        with connect(target) as conn:
            ensure_ops(conn)
        build_id = last_published_build(target)
        with connect(target) as conn, conn.transaction():
            already = _frozen(conn, year).get(year)
            if already is not None:
                raise Refusal(
                    f"{year} is frozen already (since {already.frozen_at:%Y-%m-%d %H:%M %Z} by {already.frozen_by}"
                    + (f": {already.reason}" if already.reason else "")
                    + f"); `ttw evaluation reopen --year {year}` first to freeze it again"
                )
            published = _published_years(conn)
            if year not in published:
                held = ", ".join(map(str, published)) if published else "no year"
                raise Refusal(
                    f"{year} is not published: marts.{GRADED} holds {held}. Only published results can be"
                    " frozen (`ttw build`, `ttw audit`, `ttw publish` first)"
                )
            conn.execute(
                "insert into ops.evaluation_freezes (evaluation_year, build_id, frozen_by, reason)"
                " values (%s, %s, %s, %s)",
                (year, build_id, who, reason),
            )
            for table in evaluation_tables(conn):
                conn.execute(
                    "insert into ops.evaluation_frozen_tables (evaluation_year, table_name, row_count)"
                    " values (%s, %s, 0)",
                    (year, table),
                )
                rows = conn.execute(
                    sql.SQL(
                        "insert into ops.evaluation_frozen_rows (evaluation_year, table_name, row_data)"
                        " select %s, %s, to_jsonb(t) from marts.{} as t where t.{} = %s"
                    ).format(sql.Identifier(table), sql.Identifier(YEAR_COLUMN)),
                    (year, table, year),
                ).rowcount
                conn.execute(
                    "update ops.evaluation_frozen_tables set row_count = %s where evaluation_year = %s"
                    " and table_name = %s",
                    (rows, year, table),
                )
            conn.execute(
                "insert into ops.evaluation_freeze_log (evaluation_year, action, build_id, acted_by, reason)"
                " values (%s, 'freeze', %s, %s, %s)",
                (year, build_id, who, reason),
            )
            return _frozen(conn, year)[year]


def reopen(
    target: Target,
    year: int,
    reason: str | None = None,
    *,
    by: str | None = None,
    wait: bool = True,
    lock_timeout: float | None = None,
) -> FrozenYear:
    """End the freeze of ``year`` (refused when it is not frozen); returns the freeze ended.
    ``marts`` keeps the frozen rows until the next publish puts the year's rows as built."""
    from ttw.batches import operator

    who = by or operator()
    with _lock(target, "evaluation reopen", wait, lock_timeout), connect(target) as conn, conn.transaction():
        ended = _frozen(conn, year).get(year)
        if ended is None:
            held = ", ".join(map(str, _frozen(conn))) or "none"
            raise Refusal(f"{year} is not frozen (frozen years: {held}): nothing to reopen")
        for table in ("evaluation_frozen_rows", "evaluation_frozen_tables", "evaluation_freezes"):
            conn.execute(
                sql.SQL("delete from ops.{} where evaluation_year = %s").format(sql.Identifier(table)), (year,)
            )
        conn.execute(
            "insert into ops.evaluation_freeze_log (evaluation_year, action, build_id, acted_by, reason)"
            " values (%s, 'reopen', %s, %s, %s)",
            (year, ended.build_id, who, reason),
        )
        return ended


def restore_frozen(conn: psycopg.Connection, table: str) -> int:
    """In the publish's transaction: replace the rows of every frozen year of ``marts.TABLE``
    by the snapshot, when the freeze holds the table; returns the rows put back.

    The snapshot's values go into the table's columns by name: a column the snapshot lacks
    is null, one the table lacks is left out.
    """
    if not _exists(conn, "ops.evaluation_frozen_tables"):
        return 0
    years = [
        r[0]
        for r in conn.execute(
            "select evaluation_year from ops.evaluation_frozen_tables where table_name = %s order by 1", (table,)
        )
    ]
    if not years:
        return 0
    ident = sql.Identifier(table)
    conn.execute(
        sql.SQL("delete from marts.{} where {} = any(%s)").format(ident, sql.Identifier(YEAR_COLUMN)), (years,)
    )
    try:
        return conn.execute(
            sql.SQL(
                "insert into marts.{0} select (jsonb_populate_record(null::marts.{0}, f.row_data)).*"
                " from ops.evaluation_frozen_rows as f where f.table_name = %s and f.evaluation_year = any(%s)"
            ).format(ident),
            (table, years),
        ).rowcount
    except (psycopg.errors.DataError, psycopg.errors.IntegrityError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        frozen = ", ".join(map(str, years))
        raise Refusal(
            f"the frozen rows of {frozen} no longer fit marts.{table} ({first}): not publishing, marts left as they"
            f" were; reopen the year (`ttw evaluation reopen --year YEAR`) to publish it as built"
        ) from None


def freeze_log(target: Target, year: int | None = None) -> list[tuple]:
    """(year, action, build, when, who, reason) of every freeze and reopen, oldest first."""
    with connect(target) as conn:
        if not _exists(conn, "ops.evaluation_freeze_log"):
            return []
        return conn.execute(
            "select evaluation_year, action, build_id, acted_at, acted_by, reason from ops.evaluation_freeze_log"
            " where %(year)s::int is null or evaluation_year = %(year)s order by acted_at, evaluation_year",
            {"year": year},
        ).fetchall()
