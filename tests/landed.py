"""What the platform extractor has landed in the warehouse, beside what the sample server serves."""

from __future__ import annotations

import datetime as dt

from ttw.warehouse import connect


def served(srv, platform: str, resource: str) -> dict[str, dict]:
    """What the server holds now: each record's newest version."""
    return {key: record for _, key, record in srv.data.records(platform, resource)}


def landed_newest(target, platform: str, resource: str) -> dict[str, dict]:
    with connect(target) as conn:
        rows = conn.execute(
            "select distinct on (record_id) record_id, payload from raw.platform_records"
            " where platform = %s and resource = %s order by record_id, updated_at::timestamptz desc",
            (platform, resource),
        ).fetchall()
    return dict(rows)


def versions_once(target) -> bool:
    with connect(target) as conn:
        total, distinct = conn.execute(
            "select count(*), count(distinct (platform, resource, record_id, updated_at)) from raw.platform_records"
        ).fetchone()
    return total == distinct


def watermark(target, platform: str, resource: str) -> dt.datetime | None:
    with connect(target) as conn:
        row = conn.execute(
            "select updated_since from ops.watermarks where platform = %s and resource = %s", (platform, resource)
        ).fetchone()
    return row[0] if row else None
