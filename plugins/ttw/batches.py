"""Load batches for operators: list them, show one, retract one that loaded but is wrong.

A retracted batch is kept: its rows stay in ``raw`` and its row in ``ops.load_batches`` says
when it was retracted, why and by whom (user@host). From then on:

- no build reads it: ``ttw.build.fix_build_batches`` never fixes it in ``ops.build_batches``;
- when an incremental model has processed it (``ops.model_batches``), the next build,
  whoever runs it (``ttw build``, the build_warehouse DAG), rebuilds every incremental model
  from scratch: ``fix_build_batches`` notes the retracted batches still held in
  ``ops.build_retractions``, the dbt macro ``should_full_refresh`` (macros/incremental.sql)
  reads it, and each model's full refresh forgets the batch. ``ttw build --changed`` builds
  everything while a model holds one;
- its content no longer blocks a delivery: the same file delivered again loads as a new batch.
"""

from __future__ import annotations

import getpass
import socket
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg

from ttw import sources
from ttw.errors import Refusal, TTWError
from ttw.load import ensure_ops
from ttw.warehouse import Target, connect

# family -> what loads it (the CLI's and the DAG's vocabulary)
FAMILIES = tuple(sources.BY_NAME)

_COLUMNS = (
    "batch_id, source_family, source_uri, content_hash, rows_received, rows_loaded, rows_rejected,"
    " rows_skipped, loaded_at, retracted_at, retraction_reason, retracted_by"
)


@dataclass(frozen=True)
class Batch:
    """A row of ops.load_batches."""

    batch_id: int
    family: str
    source: str
    content_hash: str
    rows_received: int
    rows_loaded: int
    rows_rejected: int
    rows_skipped: int
    loaded_at: datetime
    retracted_at: datetime | None
    retraction_reason: str | None
    retracted_by: str | None

    @property
    def retracted(self) -> bool:
        return self.retracted_at is not None

    @property
    def state(self) -> str:
        return f"retracted {self.retracted_at:%Y-%m-%d %H:%M}" if self.retracted_at else "live"


def operator(context: str | None = None) -> str:
    """Who acts: ``user@host``, with where from (a DAG run) when given."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no user name for this uid (a container)
        user = "unknown"
    who = f"{user}@{socket.gethostname()}"
    return f"{who} ({context})" if context else who


def list_batches(target: Target, *, family: str | None = None, limit: int = 20) -> list[Batch]:
    """The newest ``limit`` batches (of ``family``, when given), newest first."""
    if family is not None and family not in FAMILIES:
        raise TTWError(f"--family {family!r}: expected one of {', '.join(FAMILIES)}")
    with connect(target) as conn:
        ensure_ops(conn)
        rows = conn.execute(
            f"select {_COLUMNS} from ops.load_batches where %(family)s::text is null or source_family = %(family)s"
            " order by batch_id desc limit %(limit)s",
            {"family": family, "limit": limit},
        ).fetchall()
    return [Batch(*row) for row in rows]


def get_batch(target: Target, batch_id: int) -> Batch:
    """One batch; an id no batch has is a :class:`TTWError`."""
    with connect(target) as conn:
        ensure_ops(conn)
        return _batch(conn, batch_id)


def _batch(conn: psycopg.Connection, batch_id: int) -> Batch:
    row = conn.execute(f"select {_COLUMNS} from ops.load_batches where batch_id = %s", (batch_id,)).fetchone()
    if row is None:
        raise Refusal(f"no load batch {batch_id} (`ttw batches list` shows the batches)")
    return Batch(*row)


def retract(
    target: Target, batch_id: int, reason: str, *, by: str | None = None, landing_root: Path | None = None
) -> Batch:
    """Retract a batch: it stays in raw, marked, and no later build reads it (see the module).
    An unknown batch, or one retracted before, is a :class:`Refusal` and changes nothing;
    only a caller that names itself in ``by`` (the DAG: its run) finds its own earlier
    retraction (a retried task) and carries on.

    The batch's file, when it still lies under ``landing_root`` (the landing folder, as for
    files an ingest rejects) with the content the batch loaded, moves to its family folder's
    ``_rejected/`` with a note of why (its hash no longer blocks it: left in place, the next
    ingest would load it again). A file that cannot
    be moved is a :class:`TTWError` naming it, after the retraction is committed."""
    reason = reason.strip()
    if not reason:
        raise TTWError("a retraction needs a reason (--reason): it is kept with the batch for whoever looks next")
    same_run = by is not None  # a DAG names its run: its retry finds its own retraction
    by = by or operator()
    with connect(target) as conn, conn.transaction():
        ensure_ops(conn)
        row = conn.execute(
            f"update ops.load_batches set retracted_at = now(), retraction_reason = %s, retracted_by = %s"
            f" where batch_id = %s and retracted_at is null returning {_COLUMNS}",
            (reason, by, batch_id),
        ).fetchone()
        batch = Batch(*row) if row is not None else _batch(conn, batch_id)
        if row is None and not (same_run and batch.retracted_by == by):  # retracted before
            raise Refusal(
                f"batch {batch_id} was already retracted at {batch.retracted_at:%Y-%m-%d %H:%M:%S %Z}"
                f" by {batch.retracted_by}: {batch.retraction_reason}"
            )
    if landing_root is not None:
        try:
            set_aside_retracted(batch, landing_root)
        except OSError as exc:
            raise TTWError(
                f"batch {batch_id} is retracted, but its file {batch.source} could not be moved out of the landing"
                f" folder ({exc.strerror or exc}): take it away before the next ingest loads it again"
            ) from None
    return batch


def set_aside_retracted(batch: Batch, landing_root: Path) -> Path | None:
    """Move a retracted batch's file out of the landing folder (see :func:`retract`); where it
    went, or None when it is not under ``landing_root`` or holds other content now."""
    from ttw.ingest import set_aside
    from ttw.load import file_sha256

    path = Path(batch.source)
    try:
        same = path.is_file() and file_sha256(path) == batch.content_hash
    except OSError:
        return None
    if not same:
        return None
    return set_aside(
        path,
        landing_root,
        "retracted",
        f"batch {batch.batch_id} retracted: {batch.retraction_reason}",
        f"It loaded as batch {batch.batch_id}, which was retracted by {batch.retracted_by}: builds leave it out.",
    )


def pending_retractions(conn: psycopg.Connection) -> list[tuple[str, int]]:
    """(model, batch) for each incremental model still holding a retracted batch's rows: the
    next build rebuilds those models from scratch."""
    if conn.execute("select to_regclass('ops.model_batches')").fetchone()[0] is None:
        return []
    ensure_ops(conn)
    return conn.execute(
        "select seen.model, seen.batch_id from ops.model_batches as seen"
        " join ops.load_batches as batches on batches.batch_id = seen.batch_id"
        " where batches.retracted_at is not null order by 1, 2"
    ).fetchall()
