"""The ops schema's revisions (ttw.migrations): a new warehouse and one made by ttw before
the revisions end in the same ops schema, the one the DDL of that ttw made; loaders side by
side upgrade it once; a current warehouse is left alone."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ttw import migrations
from ttw.errors import Refusal
from ttw.publish import publish
from ttw.warehouse import connect

# The ops DDL of ttw before its revisions, as it ran on every load (ttw.load.OPS_DDL) and
# in the build (ttw.build): the reference a migrated warehouse must equal.
OLD_OPS_DDL = """
create schema if not exists ops;
create table if not exists ops.load_batches (
    batch_id bigint generated always as identity primary key,
    source_family text not null,
    source_uri text not null,
    content_hash text not null,
    rows_received bigint not null,
    rows_loaded bigint not null,
    loaded_at timestamptz not null default now()
);
alter table ops.load_batches add column if not exists rows_skipped bigint not null default 0;
alter table ops.load_batches add column if not exists retracted_at timestamptz;
alter table ops.load_batches add column if not exists retraction_reason text;
alter table ops.load_batches add column if not exists retracted_by text;
drop index if exists ops.load_batches_one_per_content;
create unique index if not exists load_batches_one_live_per_content
    on ops.load_batches (source_family, content_hash) where content_hash <> '' and retracted_at is null;
create table if not exists ops.load_rejects (
    source_family text not null,
    batch_id bigint,
    source_file text not null,
    content_hash text not null default '',
    location text,
    rule_name text not null,
    reason text not null,
    rejected_at timestamptz not null default now()
);
create table if not exists ops.watermarks (
    platform text not null,
    resource text not null,
    updated_since timestamptz not null,
    advanced_at timestamptz not null default now(),
    primary key (platform, resource)
);
alter table ops.load_rejects add column if not exists content_hash text not null default '';
drop index if exists ops.load_rejects_once;
create unique index if not exists load_rejects_once_per_content
    on ops.load_rejects (source_family, source_file, content_hash, rule_name, coalesce(location, ''))
    where batch_id is null or source_family = 'platform_records';
create unique index if not exists load_rejects_once_per_batch
    on ops.load_rejects (batch_id, source_file, content_hash, rule_name, coalesce(location, ''))
    where batch_id is not null and source_family <> 'platform_records';
create table if not exists ops.quality_results (
    run_id text not null,
    run_at timestamptz not null,
    dbt_build_id text,
    boundary text not null,
    suite text not null,
    expectation text not null,
    column_name text,
    severity text not null,
    success boolean not null,
    observed_value text,
    details jsonb
);
do $$ begin
    if exists (select from information_schema.columns where table_schema = 'ops'
               and table_name = 'quality_results' and column_name = 'dbt_invocation_id') then
        alter table ops.quality_results rename column dbt_invocation_id to dbt_build_id;
    end if;
end $$;
alter table ops.load_batches add column if not exists rows_rejected bigint not null default 0;
alter table ops.load_rejects add column if not exists row_number bigint;
alter table ops.load_rejects add column if not exists payload jsonb;
create index if not exists quality_results_by_run on ops.quality_results (run_at desc, run_id);
create table if not exists ops.dbt_results (
    build_id text not null,
    invocation_id text not null,
    command text not null,
    unique_id text not null,
    resource_type text not null,
    node_schema text,
    node_name text,
    materialized text,
    status text not null,
    failures bigint,
    message text,
    execution_seconds double precision,
    recorded_at timestamptz not null default clock_timestamp()
);
create index if not exists dbt_results_by_build on ops.dbt_results (build_id, unique_id, recorded_at desc);
create table if not exists ops.build_sources (
    source_id text primary key,
    row_count bigint not null,
    project_checksum text not null,
    recorded_at timestamptz not null default now()
);
create table if not exists ops.marts_build_state (
    one boolean primary key default true check (one),
    build_id text not null,
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    passed boolean
);
create table if not exists ops.publishes (
    build_id text not null,
    published_at timestamptz not null default now()
);
create table if not exists ops.evaluation_freezes (
    evaluation_year int primary key,
    build_id text,
    frozen_at timestamptz not null default now(),
    frozen_by text not null,
    reason text
);
create table if not exists ops.evaluation_frozen_tables (
    evaluation_year int not null references ops.evaluation_freezes on delete cascade,
    table_name text not null,
    row_count bigint not null,
    primary key (evaluation_year, table_name)
);
create table if not exists ops.evaluation_frozen_rows (
    evaluation_year int not null,
    table_name text not null,
    row_data jsonb not null,
    foreign key (evaluation_year, table_name) references ops.evaluation_frozen_tables on delete cascade
);
create index if not exists evaluation_frozen_rows_by_table on ops.evaluation_frozen_rows (table_name, evaluation_year);
create table if not exists ops.evaluation_freeze_log (
    evaluation_year int not null,
    action text not null check (action in ('freeze', 'reopen')),
    build_id text,
    acted_at timestamptz not null default now(),
    acted_by text not null,
    reason text
);
-- the build's (ttw.build.fix_build_batches, fix_scope_batches, _record_sources)
create table if not exists ops.build_batches (batch_id bigint primary key);
create table if not exists ops.model_batches
    (model text not null, batch_id bigint not null, primary key (model, batch_id));
create table if not exists ops.build_retractions (batch_id bigint primary key);
create table if not exists ops.build_scope_batches (batch_id bigint primary key);
create table if not exists ops.built_batches (batch_id bigint primary key);
"""

# Older layouts, as older ttw made them (before the columns added since, the unique indexes
# that replaced older ones, the rename of quality_results.dbt_invocation_id), with a row
# each: the first before the rejects had a content hash, the second before retractions.
FIRST_LOAD_BATCHES = """
create schema ops;
create table ops.load_batches (
    batch_id bigint generated always as identity primary key,
    source_family text not null,
    source_uri text not null,
    content_hash text not null,
    rows_received bigint not null,
    rows_loaded bigint not null,
    loaded_at timestamptz not null default now()
);
insert into ops.load_batches (source_family, source_uri, content_hash, rows_received, rows_loaded)
    values ('registry_contracts', '/landing/contracts_202401.csv', 'abc', 3, 3);
"""
OLDEST_LAYOUT = (
    FIRST_LOAD_BATCHES
    + """
create table ops.load_rejects (
    source_family text not null,
    batch_id bigint,
    source_file text not null,
    location text,
    rule_name text not null,
    reason text not null,
    rejected_at timestamptz not null default now()
);
create table ops.quality_results (
    run_id text not null,
    run_at timestamptz not null,
    dbt_invocation_id text,
    boundary text not null,
    suite text not null,
    expectation text not null,
    column_name text,
    severity text not null,
    success boolean not null,
    observed_value text,
    details jsonb
);
create index quality_results_by_run on ops.quality_results (run_at desc, run_id);
create table ops.build_batches (batch_id bigint primary key);
insert into ops.quality_results (run_id, run_at, dbt_invocation_id, boundary, suite, expectation, severity, success)
    values ('r1', now(), 'b1', 'marts', 'marts', 'expect_rows', 'critical', true);
"""
)
BEFORE_RETRACTIONS = (
    FIRST_LOAD_BATCHES
    + """
alter table ops.load_batches add column rows_skipped bigint not null default 0;
alter table ops.load_batches add column rows_rejected bigint not null default 0;
create unique index load_batches_one_per_content
    on ops.load_batches (source_family, content_hash) where content_hash <> '';
create table ops.load_rejects (
    source_family text not null,
    batch_id bigint,
    source_file text not null,
    content_hash text not null default '',
    location text,
    rule_name text not null,
    reason text not null,
    rejected_at timestamptz not null default now(),
    row_number bigint,
    payload jsonb
);
create unique index load_rejects_once
    on ops.load_rejects (source_family, source_file, content_hash, rule_name, coalesce(location, ''));
create table ops.watermarks (
    platform text not null,
    resource text not null,
    updated_since timestamptz not null,
    advanced_at timestamptz not null default now(),
    primary key (platform, resource)
);
"""
)

# the ops schema as the catalogs describe it: relations, columns (by name: a column added to
# an older table comes after the others), indexes, constraints; not the version table
SHAPE = {
    "relations": "select relname, relkind::text from pg_class where relnamespace = 'ops'::regnamespace"
    " and relname not like 'alembic_version%'",
    "columns": "select c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,"
    " a.attidentity::text, a.attgenerated::text, pg_get_expr(d.adbin, d.adrelid)"
    " from pg_attribute as a join pg_class as c on c.oid = a.attrelid"
    " left join pg_attrdef as d on d.adrelid = a.attrelid and d.adnum = a.attnum"
    " where c.relnamespace = 'ops'::regnamespace and c.relkind = 'r' and a.attnum > 0 and not a.attisdropped"
    " and c.relname <> 'alembic_version'",
    "indexes": "select tablename, indexname, indexdef from pg_indexes where schemaname = 'ops'"
    " and tablename <> 'alembic_version'",
    "constraints": "select conrelid::regclass::text, conname, contype::text, pg_get_constraintdef(oid)"
    " from pg_constraint where connamespace = 'ops'::regnamespace"
    " and conrelid::regclass::text <> 'ops.alembic_version'",
}


def _shape(target) -> dict[str, set[tuple]]:
    with connect(target) as conn:
        return {name: set(conn.execute(query).fetchall()) for name, query in SHAPE.items()}


def _fresh_ops(target, ddl: str | None = None) -> None:
    with connect(target, autocommit=True) as conn:
        conn.execute("drop schema if exists ops cascade")
        if ddl:
            conn.execute(ddl)


def _migrate(target) -> tuple[str | None, str]:
    with connect(target, autocommit=True) as conn:
        return migrations.ensure_current(conn)


def _versions(target) -> list[tuple[str]]:
    with connect(target) as conn:
        return conn.execute("select version_num from ops.alembic_version").fetchall()


# the revision that completes the layout of ttw before its revisions; later ones change it
PRE_REVISIONS = "0002"


@pytest.fixture
def old_shape(target):
    """The ops schema the DDL of ttw before its revisions made on a new warehouse."""
    _fresh_ops(target, OLD_OPS_DDL)
    shape = _shape(target)
    yield shape
    _fresh_ops(target)
    _migrate(target)


def test_a_new_warehouse_migrated_has_the_ops_schema_the_old_ddl_made(target, old_shape):
    assert len(old_shape["relations"]) > 20  # the reference is not empty
    _fresh_ops(target)
    with connect(target, autocommit=True) as conn:
        conn.execute(migrations.upgrade_sql(None, PRE_REVISIONS))
    assert _shape(target) == old_shape
    assert _versions(target) == [(PRE_REVISIONS,)]


@pytest.mark.parametrize("layout", [OLDEST_LAYOUT, BEFORE_RETRACTIONS], ids=["oldest", "before_retractions"])
def test_a_warehouse_of_an_older_layout_migrated_equals_a_new_one(target, old_shape, layout):
    _fresh_ops(target)
    assert _migrate(target) == (None, migrations.head())
    new = _shape(target)
    if migrations.head() == PRE_REVISIONS:
        assert new == old_shape
    _fresh_ops(target, layout)
    assert _migrate(target) == (None, migrations.head())
    assert _shape(target) == new
    assert _versions(target) == [(migrations.head(),)]
    with connect(target) as conn:  # the rows it held are kept, the added columns at their defaults
        assert conn.execute(
            "select source_family, rows_loaded, rows_skipped, rows_rejected, retracted_at from ops.load_batches"
        ).fetchall() == [("registry_contracts", 3, 0, 0, None)]
        if layout is OLDEST_LAYOUT:
            assert conn.execute("select dbt_build_id from ops.quality_results").fetchall() == [("b1",)]


def _migrate_in_a_process(url: str, start: multiprocessing.synchronize.Event, results) -> None:
    from ttw.warehouse import target_from_url

    start.wait(30)
    results.put(_migrate(target_from_url(url)))


def test_two_processes_migrating_at_once_upgrade_it_once(target):
    _fresh_ops(target)
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    workers = [context.Process(target=_migrate_in_a_process, args=(target.url, start, results)) for _ in range(2)]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(120)
    assert [worker.exitcode for worker in workers] == [0, 0]
    head = migrations.head()
    # one upgraded from nothing; the other found the head, at once or once it had the lock
    assert sorted((results.get(timeout=5) for _ in workers), key=lambda r: r[0] or "") == [(None, head), (head, head)]
    assert _versions(target) == [(head,)]


@pytest.fixture
def ddl_log(target):
    """Every DDL command run in the warehouse while the test runs, from an event trigger."""
    with connect(target, autocommit=True) as conn:
        conn.execute("create table public.ddl_log (tag text)")
        conn.execute(
            "create function public.log_ddl() returns event_trigger language plpgsql as"
            " $$ begin insert into public.ddl_log values (tg_tag); end $$"
        )
        conn.execute("create event trigger log_ddl on ddl_command_start execute function public.log_ddl()")

    def logged() -> list[str]:
        with connect(target) as conn:
            return [r[0] for r in conn.execute("select tag from public.ddl_log").fetchall()]

    yield logged
    with connect(target, autocommit=True) as conn:
        conn.execute("drop event trigger log_ddl")
        conn.execute("drop function public.log_ddl()")
        conn.execute("drop table public.ddl_log")


def test_a_current_warehouse_is_left_alone(target, ddl_log):
    _fresh_ops(target)
    _migrate(target)
    assert "CREATE TABLE" in ddl_log()  # the trigger sees the upgrade's DDL
    with connect(target, autocommit=True) as conn:
        conn.execute("truncate public.ddl_log")
    head = migrations.head()
    for _ in range(3):
        assert _migrate(target) == (head, head)
    # the loaders' check, in a caller's transaction too
    with connect(target) as conn, conn.transaction():
        assert migrations.ensure_current(conn) == (head, head)
    assert ddl_log() == []
    assert _versions(target) == [(head,)]


def test_the_check_in_a_transaction_of_the_caller_migrates_a_new_warehouse(target):
    """The loaders' and build's callers may hold a transaction: a missing version table
    does not abort it, and the upgrade commits with it."""
    _fresh_ops(target)
    with connect(target) as conn, conn.transaction():
        assert migrations.ensure_current(conn) == (None, migrations.head())
        assert conn.execute("select count(*) from ops.load_batches").fetchone() == (0,)
    assert _versions(target) == [(migrations.head(),)]


def test_ttw_warehouse_migrate_prints_the_revision_before_and_after(target):
    ttw = str(Path(sys.executable).with_name("ttw"))
    env = {**os.environ, "TTW_WAREHOUSE_URL": target.url}
    _fresh_ops(target)
    first = subprocess.run([ttw, "warehouse", "migrate"], capture_output=True, text=True, env=env, timeout=120)
    assert first.returncode == 0, first.stderr
    head = migrations.head()
    assert f"ops schema: no revision -> {head}" in first.stdout
    again = subprocess.run([ttw, "warehouse", "migrate"], capture_output=True, text=True, env=env, timeout=120)
    assert again.returncode == 0, again.stderr
    assert f"ops schema: at {head}, the newest" in again.stdout


def test_publish_brings_an_older_ops_schema_to_the_head_before_reading_it(target, settings):
    """publish reads the build's ops records and writes ops.publishes: on a warehouse an older
    ttw made it migrates first, then refuses for want of a build, naming that."""
    _fresh_ops(target, OLDEST_LAYOUT)
    try:
        with pytest.raises(Refusal, match="no dbt build recorded"):
            publish(settings, target, wait=False)
        assert _versions(target) == [(migrations.head(),)]
    finally:
        _fresh_ops(target)
        _migrate(target)


def test_an_upgrade_waits_for_the_lock_an_older_ttw_held_for_the_same_ddl(target):
    """A worker of the version before the revisions, still running during an upgrade, ran
    its ops DDL under ttw.locks.RAW_DDL: the upgrade takes that lock too and waits for it."""
    import threading
    import time

    from ttw.locks import RAW_DDL, lock_key

    _fresh_ops(target)
    results: list[tuple[str | None, str]] = []
    with connect(target, autocommit=True) as old_worker:
        old_worker.execute("select pg_advisory_lock(%s)", (lock_key(RAW_DDL),))
        upgrade = threading.Thread(target=lambda: results.append(_migrate(target)))
        upgrade.start()
        deadline = time.monotonic() + 60
        waiting = 0
        while not waiting and time.monotonic() < deadline:
            time.sleep(0.05)
            waiting = old_worker.execute(
                "select count(*) from pg_locks where locktype = 'advisory' and not granted"
            ).fetchone()[0]
        assert waiting == 1  # the upgrade waits on the old DDL lock
        assert old_worker.execute("select to_regclass('ops.alembic_version')").fetchone() == (None,)
        old_worker.execute("select pg_advisory_unlock(%s)", (lock_key(RAW_DDL),))
    upgrade.join(60)
    assert results == [(None, migrations.head())]
    assert _versions(target) == [(migrations.head(),)]
