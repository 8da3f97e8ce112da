"""The ops schema as ttw made it before its revisions: the load ledger and its rejects,
the platform watermarks, audit and dbt results, build sources and state, publishes and
evaluation freezes.

Run on a new warehouse it creates them; on one made by ttw before this revision (tables
there, no version table) every statement is idempotent and brings an older layout to
this one: the columns added since (``add column if not exists``), the unique indexes
that replaced older ones, and ``quality_results.dbt_invocation_id`` renamed. Columns
added to an older table come after its others: compare columns by name, not position.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

OPS = """
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
-- a batch an operator retracted (ttw batches retract): kept, left out of every build
alter table ops.load_batches add column if not exists retracted_at timestamptz;
alter table ops.load_batches add column if not exists retraction_reason text;
alter table ops.load_batches add column if not exists retracted_by text;
-- one live batch per content: the content of a retracted batch may load again
drop index if exists ops.load_batches_one_per_content;
create unique index if not exists load_batches_one_live_per_content
    on ops.load_batches (source_family, content_hash) where content_hash <> '' and retracted_at is null;
-- what a loader could not take, with why: a missing sheet, an unreadable file
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
-- how far each platform resource has been read (advanced only with committed data)
create table if not exists ops.watermarks (
    platform text not null,
    resource text not null,
    updated_since timestamptz not null,
    advanced_at timestamptz not null default now(),
    primary key (platform, resource)
);
alter table ops.load_rejects add column if not exists content_hash text not null default '';
-- a file no loader could take is kept once per content, a platform record once per page
-- and form; a record of a file once per batch (a file loading again after its batch was
-- retracted keeps its own)
drop index if exists ops.load_rejects_once;
create unique index if not exists load_rejects_once_per_content
    on ops.load_rejects (source_family, source_file, content_hash, rule_name, coalesce(location, ''))
    where batch_id is null or source_family = 'platform_records';
create unique index if not exists load_rejects_once_per_batch
    on ops.load_rejects (batch_id, source_file, content_hash, rule_name, coalesce(location, ''))
    where batch_id is not null and source_family <> 'platform_records';
-- every audit check (ttw audit): a row per expectation per run
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
do $$ begin  -- warehouses made before builds had ids of their own
    if exists (select from information_schema.columns where table_schema = 'ops'
               and table_name = 'quality_results' and column_name = 'dbt_invocation_id') then
        alter table ops.quality_results rename column dbt_invocation_id to dbt_build_id;
    end if;
end $$;
alter table ops.load_batches add column if not exists rows_rejected bigint not null default 0;
alter table ops.load_rejects add column if not exists row_number bigint;
alter table ops.load_rejects add column if not exists payload jsonb;
create index if not exists quality_results_by_run on ops.quality_results (run_at desc, run_id);
-- every dbt node result, written by dbt's on-run-end hook (macros/record_results.sql): one
-- build is every dbt invocation with the same build id (`ttw build`: its invocation; the
-- build_warehouse DAG: its run id, which its audit and publish are pinned to)
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
-- what each dbt source held when the last whole `ttw build` started (rows; the sources
-- are append-only), and the project it built: `ttw build --changed` builds downstream of
-- the sources that have grown since, when the project is the same
create table if not exists ops.build_sources (
    source_id text primary key,
    row_count bigint not null,
    project_checksum text not null,
    recorded_at timestamptz not null default now()
);
-- the build marts_build holds (one row): written as a build starts, marked when dbt ends,
-- so audit and publish know a build that was stopped midway (ttw.build._mark_build)
create table if not exists ops.marts_build_state (
    one boolean primary key default true check (one),
    build_id text not null,
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    passed boolean
);
-- every publish: which build went into marts, and when
create table if not exists ops.publishes (
    build_id text not null,
    published_at timestamptz not null default now()
);
-- a frozen evaluation year (ttw evaluation freeze): every publish puts its snapshot of
-- the year's published rpt_center_* rows back into marts, until it is reopened (ttw.freeze)
create table if not exists ops.evaluation_freezes (
    evaluation_year int primary key,
    build_id text,
    frozen_at timestamptz not null default now(),
    frozen_by text not null,
    reason text
);
-- the tables a freeze holds, with the rows it kept of each (0 too: rows a later build
-- adds for the year are not published either)
create table if not exists ops.evaluation_frozen_tables (
    evaluation_year int not null references ops.evaluation_freezes on delete cascade,
    table_name text not null,
    row_count bigint not null,
    primary key (evaluation_year, table_name)
);
-- the rows kept, each as JSON (to_jsonb of the marts row): no column list is written down
create table if not exists ops.evaluation_frozen_rows (
    evaluation_year int not null,
    table_name text not null,
    row_data jsonb not null,
    foreign key (evaluation_year, table_name) references ops.evaluation_frozen_tables on delete cascade
);
create index if not exists evaluation_frozen_rows_by_table on ops.evaluation_frozen_rows (table_name, evaluation_year);
-- every freeze and reopen: who, when, why (kept after a reopen)
create table if not exists ops.evaluation_freeze_log (
    evaluation_year int not null,
    action text not null check (action in ('freeze', 'reopen')),
    build_id text,
    acted_at timestamptz not null default now(),
    acted_by text not null,
    reason text
)
"""


def upgrade() -> None:
    op.execute(OPS)
