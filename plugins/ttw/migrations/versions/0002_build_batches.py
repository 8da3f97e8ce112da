"""The build's batch tables, made until now by the build itself as it first needed them
(ttw.build): which load batches a build reads (``build_batches``), which each incremental
model has processed (``model_batches``), the retracted batches a build removes
(``build_retractions``), the batches of the last whole build (``built_batches``) and those
a ``--changed`` build's tests are scoped to (``build_scope_batches``).

Idempotent, as 0001: a warehouse made before the revisions may hold them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BUILD = """
create table if not exists ops.build_batches (batch_id bigint primary key);
create table if not exists ops.model_batches
    (model text not null, batch_id bigint not null, primary key (model, batch_id));
create table if not exists ops.build_retractions (batch_id bigint primary key);
create table if not exists ops.built_batches (batch_id bigint primary key);
create table if not exists ops.build_scope_batches (batch_id bigint primary key)
"""


def upgrade() -> None:
    op.execute(BUILD)
