"""What the loaders have recorded, checked against the invariants of docs/architecture.md: the ledger
balances (nothing lost, nothing counted twice) and what was kept of each rejected delivery."""

from __future__ import annotations

from pathlib import Path

from ttw.settings import PROJECT_ROOT
from ttw.sources import FAMILIES
from ttw.warehouse import connect

SAMPLE = PROJECT_ROOT / "tools" / "ttw_dev" / "samples" / "contracts_sample.csv"  # 62 records

# raw table -> the family whose batches write it
RAW_FAMILIES = {table.name: family.name for family in FAMILIES for table in family.tables}


def ledger_problems(target) -> list[tuple]:
    """Batches whose counts do not balance, and raw rows of no batch; empty when all is well.

    For every batch: received = loaded + rejected + repeated (platform versions already
    landed), the raw rows carrying its id = loaded, and its rejected records in
    ops.load_rejects = rejected.
    """
    with connect(target) as conn:
        present = {
            r[0]
            for r in conn.execute(
                "select table_name from information_schema.tables where table_schema = 'raw'"
            ).fetchall()
        }
        raw = (
            " union all ".join(
                f"select _batch_id, count(*) as n from raw.{t} group by 1" for t in RAW_FAMILIES if t in present
            )
            or "select null::bigint as _batch_id, 0::bigint as n where false"
        )
        return conn.execute(
            f"""
            with raw_rows as (select _batch_id, sum(n) as n from ({raw}) as r group by 1),
            rejects as (
                select batch_id, count(*) as n from ops.load_rejects where row_number is not null group by 1
            )
            select b.batch_id, b.source_uri, b.rows_received, b.rows_loaded, b.rows_rejected, b.rows_skipped,
                   coalesce(r.n, 0) as in_raw, coalesce(j.n, 0) as in_rejects
            from ops.load_batches as b
            left join raw_rows as r on r._batch_id = b.batch_id
            left join rejects as j on j.batch_id = b.batch_id
            where b.rows_received <> b.rows_loaded + b.rows_rejected + b.rows_skipped
               or coalesce(r.n, 0) <> b.rows_loaded
               or coalesce(j.n, 0) <> b.rows_rejected
            union all
            select r._batch_id, 'raw rows of no batch', null, null, null, null, r.n, null
            from raw_rows as r
            where not exists (select from ops.load_batches as b where b.batch_id = r._batch_id)
            """
        ).fetchall()


def assert_ledger_balances(target) -> None:
    problems = ledger_problems(target)
    assert problems == [], problems


def raw_count(target, table: str, where: str = "true", params: tuple = ()) -> int:
    with connect(target) as conn:
        return conn.execute(f"select count(*) from raw.{table} where {where}", params).fetchone()[0]


def load_rejects(target, family: str) -> list[tuple]:
    """(file name, row number, location, rule, reason) of a family's kept rejects, in order."""
    with connect(target) as conn:
        rows = conn.execute(
            "select source_file, row_number, location, rule_name, reason from ops.load_rejects"
            " where source_family = %s order by source_file, row_number nulls first, location",
            (family,),
        ).fetchall()
    return [(Path(f).name, n, loc, rule, reason) for f, n, loc, rule, reason in rows]
