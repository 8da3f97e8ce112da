"""The Alembic environment of the ops schema (see :mod:`ttw.migrations`).

Revisions are rendered to SQL ("offline" mode) and :func:`ttw.migrations.ensure_current`
runs that SQL on the caller's own connection, in its transaction, under an advisory lock:
so a revision is SQL only (``op.execute`` or ``op.*`` calls), never a query of the
warehouse from Python. The version table is ``ops.alembic_version``.
"""

from __future__ import annotations

from alembic import context

from ttw.migrations import SCHEMA, VERSION_TABLE

context.configure(
    url="postgresql+psycopg://",
    dialect_opts={"paramstyle": "named"},  # a % in a revision's SQL stays one %
    literal_binds=True,
    version_table=VERSION_TABLE,
    version_table_schema=SCHEMA,
    transactional_ddl=False,  # the caller's transaction holds the upgrade (no BEGIN/COMMIT of its own)
)
# the version table lives in the schema: create it first, and only when missing (``create
# schema if not exists`` needs CREATE on the database even when the schema is there)
context.execute(f"do $$ begin if to_regnamespace('{SCHEMA}') is null then create schema {SCHEMA}; end if; end $$")
with context.begin_transaction():
    context.run_migrations()
