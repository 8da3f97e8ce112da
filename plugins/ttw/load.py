"""Bulk loads into ``raw.*`` with PostgreSQL ``COPY``, and the batch ledger ``ops.load_batches``.

Every raw table holds each source field as text plus load metadata:

- ``_batch_id``    the ``ops.load_batches`` row of the delivery,
- ``_source_file`` the file (or URL) the row came from,
- ``_row_number``  the row's ordinal among the file's data records (1 = first after the header),
- ``_loaded_at``   when the batch was loaded.

A batch is one file. It commits atomically (the ledger row and the data in one
transaction), and a file whose SHA-256 already has a loaded batch of the same family is
skipped (the file is hashed as it streams, and the batch rolled back when the hash is
already known); a batch retracted by an operator (:mod:`ttw.batches`) no longer counts, so
the same content delivered again loads as a new batch. The metadata columns are filled by
column defaults that read transaction-local settings, so the file's bytes stream to
``COPY`` without a Python loop over rows.

A CSV record that ``COPY`` cannot take (the wrong number of fields, a truncated last line,
bytes not in the file's encoding, a NUL byte) does not sink its file: the file is read
again record by record, the good records load and each bad one is kept in
``ops.load_rejects`` with its row number, line, reason and fields, in the same batch. So
for every batch ``rows_received = rows_loaded + rows_rejected``. A line longer than
``MAX_RECORD_CHARS`` is such a record (``record_too_large``): it is read past, never held
whole; and in a GB18030 file, a UTF-8 line is one (``invalid_encoding``). Lines may end in
CR LF, LF or CR.

A failure of the warehouse itself (connection lost, disk full, shutdown) raises
:class:`WarehouseFault`: nothing of the batch is committed, and running the load again
completes it. A server limit the content passes (SQLSTATE class 54) is the file's, not a
fault: :class:`CopyDataError`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import operator
import queue
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from ttw.errors import TTWError
from ttw.sources import CSV_ENCODINGS, RawTable

CHUNK = 1 << 20
# bad records a file may hold and still load record by record: past it, the file is rejected
# whole (a wrong encoding or delimiter makes every record bad; they are not all kept)
MAX_RECORD_REJECTS = 10_000
# rejected records of a batch named one by one in its summary (every one is in ops.load_rejects)
PROBLEMS_SHOWN = 20
# the largest CSV field read in Python (accounting, record-by-record loads); COPY's own limit is 1 GB
MAX_FIELD_CHARS = 256 << 20
# the longest line a CSV record may have (characters; 64 MiB of ASCII): a longer one is
# rejected as a record, read past without being held, and the file's other records load
MAX_RECORD_CHARS = 64 << 20
# the characters of a record too large kept in its reject (the start, to find it by)
KEPT_OF_A_LARGE_RECORD = 200


class CopyDataError(TTWError):
    """COPY refused a file's content: a malformed record, bytes not in its encoding."""


class WarehouseFault(TTWError):
    """The warehouse failed during a load (connection lost, disk full, shut down): not the
    delivery's fault. A batch commits whole or not at all; the load can simply run again."""


@contextmanager
def warehouse_faults(source: str) -> Iterator[None]:
    """A failure of the warehouse itself (``psycopg.OperationalError``: connection lost, disk
    full, shut down) in the block, raised as one :class:`WarehouseFault` naming ``source``. A
    server limit the content passes (SQLSTATE class 54) is the content's: a :class:`CopyDataError`."""
    try:
        yield
    except psycopg.errors.ProgramLimitExceeded as exc:
        # a limit of the server the content passes (a row or field too large, SQLSTATE 54xxx):
        # the delivery's problem, not the warehouse's; running again would fail the same way
        raise CopyDataError(f"{source}: {_copy_error(exc)}") from None
    except psycopg.OperationalError as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise WarehouseFault(
            f"{source}: the warehouse failed during the load ({first}); a batch commits whole or not at all,"
            " run the ingest again"
        ) from None


@dataclass(frozen=True)
class RejectedRow:
    """A record a loader could not take: where it was, why, and its fields as read."""

    row_number: int
    location: str
    rule: str
    reason: str
    fields: list[str]


@dataclass(frozen=True)
class BatchResult:
    source: str
    batch_id: int | None
    rows_received: int
    rows_loaded: int
    skipped: bool
    rejected: tuple[RejectedRow, ...] = ()

    @property
    def summary(self) -> str:
        if self.skipped:
            return f"{self.source}: skipped, identical content already loaded as batch {self.batch_id}"
        kept = f", {len(self.rejected)} rejected (kept in ops.load_rejects)" if self.rejected else ""
        return (
            f"{self.source}: batch {self.batch_id}, {self.rows_received} rows received, {self.rows_loaded} loaded{kept}"
        )

    @property
    def problems(self) -> list[str]:
        """A line per rejected record, naming the file, row and line (the first few; all of
        them are in ops.load_rejects)."""
        lines = [
            f"{self.source}: row {r.row_number} ({r.location}): {r.reason}" for r in self.rejected[:PROBLEMS_SHOWN]
        ]
        if len(self.rejected) > PROBLEMS_SHOWN:
            lines.append(f"{self.source}: {len(self.rejected) - PROBLEMS_SHOWN} more rejected records")
        return lines


def _ddl_lock(conn: psycopg.Connection) -> None:
    """One process at a time creates the raw tables (two at once collide)."""
    from ttw.locks import RAW_DDL, lock_key

    conn.execute("select pg_advisory_xact_lock(%s)", (lock_key(RAW_DDL),))


def ensure_ops(conn: psycopg.Connection) -> None:
    """The ops tables at the newest revision of :mod:`ttw.migrations`: one query when they are."""
    from ttw.migrations import ensure_current

    ensure_current(conn)


def analyze(conn: psycopg.Connection, tables: Iterable[sql.Composable], columns: tuple[str, ...] = ()) -> None:
    """Fresh planner statistics for tables just loaded: until autovacuum gets to them the
    planner guesses one row, and the build's joins over them pick nested loops. With
    ``columns``, only those columns' statistics are computed (the table's row and page
    counts always are): the costly part of ANALYZE on a wide table is a sort per column."""
    only = sql.SQL(" ({})").format(sql.SQL(", ").join(map(sql.Identifier, columns))) if columns else sql.SQL("")
    for table in tables:
        conn.execute(sql.SQL("analyze {}{}").format(table, only))


def ensure_raw_table(conn: psycopg.Connection, table: RawTable) -> None:
    """Create the raw table, its row-number sequence and metadata defaults (idempotent)."""
    with conn.transaction():
        _ddl_lock(conn)
        _create_raw_table(conn, table)


def _create_raw_table(conn: psycopg.Connection, table: RawTable) -> None:
    columns = sql.SQL(",\n").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in table.columns)
    conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(table.schema)))
    conn.execute(sql.SQL("create sequence if not exists {}").format(table.row_sequence))
    conn.execute(
        sql.SQL(
            """
            create table if not exists {table} (
                {columns},
                _batch_id bigint not null default current_setting('ttw.batch_id')::bigint,
                _source_file text not null default current_setting('ttw.source_file'),
                _row_number bigint not null default nextval({seq}),
                _loaded_at timestamptz not null default now()
            )
            """
        ).format(
            table=table.ident,
            columns=columns,
            seq=sql.Literal(f"{table.schema}.{table.name}__row_seq"),
        )
    )
    conn.execute(
        sql.SQL("create index if not exists {} on {} (_batch_id)").format(
            sql.Identifier(f"{table.name}__batch_idx"), table.ident
        )
    )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def csv_chunks(rows: Iterable[list[str]], rows_per_chunk: int = 5_000) -> Iterator[bytes]:
    """Rows of text as UTF-8 CSV bytes for COPY, a few thousand rows at a time."""
    buffer = io.StringIO()
    # \r\n: QUOTE_MINIMAL quotes a field holding any line-terminator character, so a lone
    # carriage return is quoted too (COPY refuses one unquoted)
    writer = csv.writer(buffer, lineterminator="\r\n")
    for count, row in enumerate(rows, start=1):
        writer.writerow(row)
        if count % rows_per_chunk == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


def copy_csv_file(
    conn: psycopg.Connection,
    table: RawTable,
    path: Path,
    *,
    family: str,
    columns: tuple[str, ...],
    encoding: str = "UTF8",
    skip_bytes: int = 0,
    more: Callable[[], psycopg.Connection] | None = None,
    chunks_wanted: int = 1,
) -> BatchResult:
    """Load one CSV file (header row first) into ``table`` as one atomic batch.

    The records are numbered in the stream (:func:`copy_numbered`), so a large file may go
    as ``chunks_wanted`` chunks on parallel connections (``more`` opens each further one).

    ``columns`` names the canonical column of each position in the file; ``skip_bytes``
    drops a byte-order mark. Identical content already loaded is skipped. A file whose
    name the family has loaded before (a re-delivery, the usual way a duplicate comes) is
    hashed first, so nothing is written for it; any other is read once, hashed while it
    streams to COPY, and rolled back after the stream if its content turns out to be
    known: a no-op either way, and a new file pays for one read instead of two. The
    records are counted apart from COPY (lines, and a CSV parse when quoted line breaks
    make the two differ), so a stream PostgreSQL cut short cannot pass as complete. When
    COPY refuses a record, the file is loaded by :func:`copy_csv_records` instead.
    """
    newlines = 0
    last = b"\n"
    run = 0  # bytes since the last line end
    digest = hashlib.sha256()

    def chunks() -> Iterator[bytes]:
        nonlocal newlines, last, run
        with path.open("rb") as handle:
            digest.update(handle.read(skip_bytes))
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
                newlines += chunk.count(b"\n")
                last = chunk[-1:]
                longest, run = _longest_line(chunk, run)
                if longest > MAX_RECORD_CHARS:
                    raise CopyDataError(f"{path}: a line longer than {MAX_RECORD_CHARS:,} bytes")
                if encoding == "GB18030" and _utf8_line(chunk):
                    raise CopyDataError(f"{path}: a UTF-8 line in a GB18030 file")
                yield chunk

    def records_in_file(copied: int) -> int:
        lines = newlines + (last != b"\n") - 1  # minus the header
        return lines if lines == copied else _csv_records(path, encoding, skip_bytes)

    with warehouse_faults(str(path)):
        name_seen = conn.execute(
            "select 1 from ops.load_batches where source_family = %s and regexp_replace(source_uri, '^.*/', '') = %s",
            (family, path.name),
        ).fetchone()
    try:
        if _numbered_ok(path, skip_bytes):
            try:
                return copy_numbered(
                    conn,
                    table,
                    path,
                    family=family,
                    columns=columns,
                    encoding=encoding,
                    skip_bytes=skip_bytes,
                    content_hash=file_sha256(path) if name_seen else None,
                    more=more,
                    chunks=chunks_wanted,
                )
            except _LinesAreNotRecords:
                pass  # quoted line breaks: numbered by the row sequence, on one stream, below
        return copy_batch(
            conn,
            table,
            str(path),
            family=family,
            columns=columns,
            chunks=chunks(),
            content_hash=file_sha256(path) if name_seen else digest.hexdigest,
            encoding=encoding,
            header=True,
            records=records_in_file,
        )
    except CopyDataError:
        # a record COPY cannot take: read the file record by record, keeping each bad one
        return copy_csv_records(
            conn, table, path, family=family, columns=columns, encoding=encoding, skip_bytes=skip_bytes
        )


# a file at least twice this large may go as chunks on parallel connections
MIN_CHUNK_BYTES = 16 << 20
# the advisory lock (with the batch id) a loader holds while rows of its batch may be
# committed ahead of the batch's ledger row: see :func:`sweep_unledgered`
BATCH_LOCK = "ttw.load_batch"


class _LinesAreNotRecords(Exception):
    """The file's lines are not its records (a quoted line break): number them otherwise."""


def _numbered_ok(path: Path, skip_bytes: int) -> bool:
    """Whether the file's lines end in LF (or CR LF), so lines can be numbered in the stream;
    a file of CR-only line ends is numbered by the row sequence instead."""
    with path.open("rb") as handle:
        handle.seek(skip_bytes)
        head = handle.read(CHUNK)
    return b"\n" in head or b"\r" not in head


def _ranges(path: Path, skip_bytes: int, chunks: int) -> tuple[int, list[tuple[int, int, int]]]:
    """(where the header line ends, [(start, end, the first row number)] of ``chunks`` byte
    ranges of the data lines, cut after a line end). A range's first row number counts the
    lines before it; :func:`copy_numbered` checks each range's lines are its records."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        handle.seek(skip_bytes)
        handle.readline()
        start = handle.tell()
        bounds = [start]
        if chunks > 1 and size - start >= 2 * MIN_CHUNK_BYTES:
            for k in range(1, chunks):
                handle.seek(start + (size - start) * k // chunks)
                handle.readline()
                if bounds[-1] < handle.tell() < size:
                    bounds.append(handle.tell())
        bounds.append(size)
        ranges, first = [], 1
        for begin, end in itertools.pairwise(bounds):
            ranges.append((begin, end, first))
            if end < size:
                handle.seek(begin)
                left = end - begin
                while left > 0:
                    block = handle.read(min(CHUNK, left))
                    left -= len(block)
                    first += block.count(b"\n")
    return start, ranges


class _Lines:
    """A byte range of a CSV file as COPY input, each line prefixed with its row number
    (``first`` onwards), with the checks :func:`copy_csv_file` makes of every chunk."""

    def __init__(self, path: Path, start: int, end: int, first: int, encoding: str, digest=None) -> None:
        self.path, self.start, self.end, self.first = path, start, end, first
        self.encoding, self.digest, self.lines = encoding, digest, 0

    def __iter__(self) -> Iterator[bytes]:
        number, run, carry = self.first, 0, b""
        with self.path.open("rb") as handle:
            handle.seek(self.start)
            left = self.end - self.start
            while left > 0 and (block := handle.read(min(CHUNK, left))):
                left -= len(block)
                if self.digest is not None:
                    self.digest.update(block)
                longest, run = _longest_line(block, run)
                if longest > MAX_RECORD_CHARS:
                    raise CopyDataError(f"{self.path}: a line longer than {MAX_RECORD_CHARS:,} bytes")
                if self.encoding == "GB18030" and _utf8_line(block):
                    raise CopyDataError(f"{self.path}: a UTF-8 line in a GB18030 file")
                block = carry + block
                cut = len(block) if left <= 0 else block.rfind(b"\n") + 1
                body, carry = block[:cut], block[cut:]
                if not body:
                    continue
                lines = body.split(b"\n")
                last = lines.pop()  # empty when the body ends with a line end
                out = b""
                if lines:
                    prefixes = [b"%d," % n for n in range(number, number + len(lines))]
                    out = b"\n".join(map(operator.add, prefixes, lines)) + b"\n"
                    number += len(lines)
                if last:  # the file's last line, without a line end
                    out += b"%d," % number + last
                    number += 1
                self.lines = number - self.first
                yield out


class _Chunk(threading.Thread):
    """One range of a file COPYed on a connection of its own, in a transaction that waits
    for the loader's word: commit (:meth:`commit`) or roll back (:meth:`abandon`)."""

    def __init__(self, connect_more: Callable[[], psycopg.Connection], statement, settings, lines: _Lines) -> None:
        super().__init__(daemon=True)
        self.connect_more, self.statement, self.settings, self.source = connect_more, statement, settings, lines
        self.rowcount, self.error, self.committed = 0, None, False
        self.copied, self.word = threading.Event(), queue.Queue()

    def run(self) -> None:
        try:
            with self.connect_more() as conn, conn.transaction():
                for name, value in self.settings:
                    conn.execute("select set_config(%s, %s, true)", (name, value))
                with conn.cursor() as cur:
                    with cur.copy(self.statement) as copy:
                        for block in self.source:
                            copy.write(block)
                    self.rowcount = cur.rowcount
                self.copied.set()
                if not self.word.get():
                    raise psycopg.Rollback
                self.committed = True  # set before the commit: a failed commit may still have landed
        except BaseException as exc:  # handed to the loader's thread
            self.error = exc
        finally:
            self.copied.set()

    def result(self) -> int:
        """Rows copied, once the range is read; the range's failure raised here."""
        self.copied.wait()
        if self.error is not None:
            raise self.error
        return self.rowcount

    def commit(self) -> None:
        self.word.put(True)
        self.join()
        if self.error is not None:
            raise self.error

    def abandon(self) -> None:
        self.word.put(False)
        self.join()


def copy_numbered(
    conn: psycopg.Connection,
    table: RawTable,
    path: Path,
    *,
    family: str,
    columns: tuple[str, ...],
    encoding: str = "UTF8",
    skip_bytes: int = 0,
    content_hash: str | None = None,
    more: Callable[[], psycopg.Connection] | None = None,
    chunks: int = 1,
) -> BatchResult:
    """Load one CSV file as one batch, each line numbered in the stream (``_row_number``:
    no row sequence, so batches of the same table load side by side).

    With ``more`` (opens another connection) and a file of at least ``2 * MIN_CHUNK_BYTES``,
    the data lines go as ``chunks`` byte ranges, each on a connection of its own, so the
    server parses them on as many cores. The batch stays whole: every range's transaction
    waits until all ranges are copied and checked, commits only when the loader says so,
    and the ledger row commits last, on ``conn``. A range that fails rolls every range back;
    rows of a range that committed when the ledger row then did not are deleted, and were
    never in a build (builds read the batches of ``ops.load_batches``); a loader killed in
    that instant leaves them to :func:`sweep_unledgered`. When a range's lines are not its
    records (a quoted line break) :class:`_LinesAreNotRecords` is raised with nothing written.

    ``content_hash``, when known (a name loaded before), skips known content before anything
    is written; else the file is hashed as it streams and the batch rolled back if it is known.
    """
    source = str(path)
    header_end, ranges = _ranges(path, skip_bytes, chunks if more is not None else 1)
    digest = hashlib.sha256() if content_hash is None else None
    statement = sql.SQL("copy {} ({}) from stdin with (format csv, encoding {})").format(
        table.ident,
        sql.SQL(", ").join(sql.Identifier(c) for c in ("_row_number", *columns)),
        sql.Literal(encoding),
    )
    helpers: list[_Chunk] = []
    batch_id: int | None = None
    known: int | None = None
    with warehouse_faults(source):
        if content_hash is not None and (seen := _loaded_batch(conn, family, content_hash)) is not None:
            return BatchResult(source, seen, 0, 0, skipped=True)
        try:
            with conn.transaction():
                batch_id = conn.execute(
                    "insert into ops.load_batches (source_family, source_uri, content_hash, rows_received,"
                    " rows_loaded) values (%s, %s, '', 0, 0) returning batch_id",
                    (family, source),
                ).fetchone()[0]
                settings = (("ttw.batch_id", str(batch_id)), ("ttw.source_file", source))
                if len(ranges) > 1:
                    conn.execute("select pg_advisory_lock(hashtext(%s), %s)", (BATCH_LOCK, batch_id))
                for name, value in settings:
                    conn.execute("select set_config(%s, %s, true)", (name, value))
                parts = [_Lines(path, *ranges[0], encoding, digest)]
                for begin, end, first in ranges[1:]:
                    parts.append(_Lines(path, begin, end, first, encoding))
                    helpers.append(_Chunk(more, statement, settings, parts[-1]))
                    helpers[-1].start()
                if digest is not None:
                    with path.open("rb") as handle:
                        digest.update(handle.read(header_end))
                try:
                    with conn.cursor() as cur:
                        with cur.copy(statement) as copy:
                            for block in parts[0]:
                                copy.write(block)
                        copied = [cur.rowcount]
                    copied += [helper.result() for helper in helpers]
                except psycopg.errors.DataError as exc:
                    raise CopyDataError(f"{source}: {_copy_error(exc)}") from None
                if copied != [part.lines for part in parts]:
                    raise _LinesAreNotRecords(source)
                if digest is not None:  # the other ranges, in file order
                    _hash_range(path, digest, ranges[1][0] if len(ranges) > 1 else path.stat().st_size)
                    content_hash = digest.hexdigest()
                # one loader at a time records a content hash (batches of a family load side by side)
                conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"content:{family}",))
                known = _loaded_batch(conn, family, content_hash)
                if known is not None:
                    raise psycopg.Rollback  # leaves the transaction, undoing the batch
                received = sum(copied)
                conn.execute(
                    "update ops.load_batches set content_hash = %s, rows_received = %s, rows_loaded = %s"
                    " where batch_id = %s",
                    (content_hash, received, received, batch_id),
                )
                for helper in helpers:
                    helper.commit()
        except BaseException:
            _undo_ranges(conn, table, batch_id, helpers, more)
            raise
        finally:
            if len(ranges) > 1 and batch_id is not None and not conn.closed:
                conn.execute("select pg_advisory_unlock(hashtext(%s), %s)", (BATCH_LOCK, batch_id))
        if known is not None:
            _undo_ranges(conn, table, batch_id, helpers, more)
            return BatchResult(source, known, 0, 0, skipped=True)
    return BatchResult(source, batch_id, received, received, skipped=False)


def _hash_range(path: Path, digest, end: int) -> None:
    """Feed the file's bytes from ``end`` on (the ranges streamed on other connections)."""
    with path.open("rb") as handle:
        handle.seek(end)
        while chunk := handle.read(CHUNK):
            digest.update(chunk)


def _undo_ranges(conn, table: RawTable, batch_id: int | None, helpers: list[_Chunk], more) -> None:
    """Roll back the ranges not committed; delete the rows of those that were."""
    for helper in helpers:
        if helper.is_alive():
            helper.abandon()
    if batch_id is None or not any(helper.committed for helper in helpers):
        return
    statement = sql.SQL("delete from {} where _batch_id = %s").format(table.ident)
    try:
        if not conn.closed and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            conn.execute(statement, (batch_id,))
        else:
            with more() as cleaner:
                cleaner.execute(statement, (batch_id,))
    except (psycopg.Error, TTWError):
        pass  # the warehouse is gone: sweep_unledgered deletes them on the next load


def sweep_unledgered(conn: psycopg.Connection, table: RawTable) -> int:
    """Delete rows of ``table`` whose batch has no ledger row and no loader holding it: a
    range of a chunked load that committed while its loader was killed (see
    :func:`copy_numbered`). Such rows were never read by a build. The rows deleted."""
    ids = conn.execute(
        sql.SQL(
            """
            with recursive ids as (
                (select _batch_id as id from {t} order by _batch_id limit 1)
                union all
                select (select _batch_id from {t} where _batch_id > ids.id order by _batch_id limit 1)
                from ids where ids.id is not null
            )
            select id from ids
            where id is not null and not exists (select from ops.load_batches where batch_id = ids.id)
            """
        ).format(t=table.ident)
    ).fetchall()
    deleted = 0
    for (batch_id,) in ids:
        if not conn.execute("select pg_try_advisory_lock(hashtext(%s), %s)", (BATCH_LOCK, batch_id)).fetchone()[0]:
            continue  # a loader is at it
        try:
            with conn.transaction():
                if conn.execute("select from ops.load_batches where batch_id = %s", (batch_id,)).fetchone() is None:
                    deleted += conn.execute(
                        sql.SQL("delete from {} where _batch_id = %s").format(table.ident), (batch_id,)
                    ).rowcount
        finally:
            conn.execute("select pg_advisory_unlock(hashtext(%s), %s)", (BATCH_LOCK, batch_id))
    return deleted


_LINE_END = re.compile(rb"[\r\n]")


def _longest_line(chunk: bytes, run: int) -> tuple[int, int]:
    """(the longest line seen in ``chunk`` with the ``run`` of bytes carried into it, the run
    carried out of it), in bytes. Lines inside a chunk are shorter than it: only those that
    cross its edges are measured, unless the limit is lowered below a chunk."""
    first = _LINE_END.search(chunk)
    if first is None:
        return run + len(chunk), run + len(chunk)
    end = max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
    longest = run + first.start()
    if len(chunk) > MAX_RECORD_CHARS:
        longest = max(longest, *map(len, _LINE_END.split(chunk[first.end() : end])))
    return longest, len(chunk) - end - 1


def _utf8_line(chunk: bytes) -> bool:
    """Whether a GB18030 file's chunk holds a line that is UTF-8 text (GB18030 decodes almost
    any bytes, so UTF-8 lines in it would load as the wrong characters; Chinese GB18030 text
    is practically never valid UTF-8)."""
    if chunk.isascii():
        return False
    for line in chunk.split(b"\n"):
        if not line.isascii():
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                continue
            return True
    return False


def _csv_text(raw: io.BufferedReader, encoding: str, errors: str) -> io.TextIOWrapper:
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_CHARS))
    return io.TextIOWrapper(raw, encoding=CSV_ENCODINGS[encoding], errors=errors, newline="")


def _csv_records(path: Path, encoding: str, skip_bytes: int) -> int:
    """Data records of a CSV file by a full parse (quoted line breaks make lines != records)."""
    with path.open("rb") as raw:
        raw.read(skip_bytes)
        return max(0, sum(1 for _ in csv.reader(_csv_text(raw, encoding, "replace"))) - 1)


_UNDECODED = re.compile("[\udc80-\udcff]")


def _record_problem(fields: list[str], columns: tuple[str, ...], encoding: str) -> tuple[str, str] | None:
    """(rule, reason) for a record COPY would refuse, or None. In a GB18030 file, a record
    whose text is UTF-8 is refused too: GB18030 would read it as other characters."""
    if len(fields) != len(columns):
        return "wrong_field_count", f"{len(fields)} fields, expected {len(columns)} ({', '.join(columns)})"
    if encoding == "GB18030" and _is_utf8("".join(fields)):
        return "invalid_encoding", "the record's text is UTF-8, not GB18030 text as the file began: mixed encodings"
    for column, value in zip(columns, fields, strict=True):
        if _UNDECODED.search(value):
            return "invalid_encoding", f"column {column} holds bytes that are not {encoding} text"
        if "\x00" in value:
            return "nul_byte", f"column {column} holds a NUL byte, which text cannot hold"
    return None


def _is_utf8(text: str) -> bool:
    """Whether text read as GB18030 was UTF-8 bytes (and not plain ASCII)."""
    if text.isascii():
        return False
    try:
        text.encode("gb18030", "surrogateescape").decode("utf-8")
    except UnicodeError:
        return False
    return True


def _lines(text: io.TextIOWrapper, oversized: dict[int, tuple[int, str]]) -> Iterator[str]:
    """The lines of ``text``, their ends kept. A line longer than ``MAX_RECORD_CHARS`` is
    read past, never held whole: it is given as an empty line, and its number, length and
    first characters are put in ``oversized``."""
    pending = ""  # a character read past a line cut at its size, to start the next one

    def line_of(size: int) -> str:
        nonlocal pending
        line, pending = pending, ""
        if not line.endswith(("\n", "\r")):
            line += text.readline(size)
        if line.endswith("\r") and len(line) >= size:  # the size may have cut a CR LF in two
            pending = text.read(1)
            if pending == "\n":
                line, pending = line + pending, ""
        return line

    number = 0
    while line := line_of(MAX_RECORD_CHARS + 1):
        number += 1
        if len(line) <= MAX_RECORD_CHARS or line.endswith(("\n", "\r")):
            yield line
            continue
        start, size = line[:KEPT_OF_A_LARGE_RECORD], len(line)
        while line and not line.endswith(("\n", "\r")):
            line = line_of(CHUNK)
            size += len(line)
        oversized[number] = (size - len(line) + len(line.rstrip("\r\n")), start)
        yield "\n"


def _printable(value: str) -> str:
    """A field as JSON can keep it: undecodable bytes and NUL as backslash escapes."""
    if _UNDECODED.search(value):
        value = value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return value.replace("\x00", "\\x00")


def copy_csv_records(
    conn: psycopg.Connection,
    table: RawTable,
    path: Path,
    *,
    family: str,
    columns: tuple[str, ...],
    encoding: str = "UTF8",
    skip_bytes: int = 0,
) -> BatchResult:
    """Load a CSV file record by record: the good records as one batch, each bad one kept in
    ``ops.load_rejects`` (row, line, reason, fields) in the same batch.

    The slow path for a file COPY refused. Python's csv module reads well-formed records as
    COPY does, with one difference: a quoted empty field loads as NULL here, as an unquoted
    one does on both paths. A stray quote may split records differently from COPY: a
    record that runs to the end of the file says so in its reason. More than
    ``MAX_RECORD_REJECTS`` bad records, or a CSV the module cannot read on, reject the file
    whole (nothing of it loads).
    """
    with path.open("rb") as handle:
        handle.seek(0, io.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - 1))
        ends_with_newline = handle.read(1) == b"\n"
    rejected: list[RejectedRow] = []
    oversized: dict[int, tuple[int, str]] = {}  # line -> (characters, the first of them)
    good = 0

    def records() -> Iterator[list[str]]:
        nonlocal good
        with path.open("rb") as raw:
            raw.read(skip_bytes)
            reader = csv.reader(_lines(_csv_text(raw, encoding, "surrogateescape"), oversized))
            next(reader, None)  # the header, already mapped to ``columns``
            line, number = reader.line_num, 0
            try:
                for fields in reader:
                    if not fields and reader.line_num not in oversized:  # a blank line holds no record
                        line = reader.line_num
                        continue
                    number += 1
                    start, line = line + 1, reader.line_num
                    large = oversized and [n for n in range(start, line + 1) if n in oversized]
                    if large:
                        size, head = oversized[large[0]]
                        problem = (
                            "record_too_large",
                            f"line {large[0]} holds {size:,} characters, more than the {MAX_RECORD_CHARS:,} a record"
                            f" may hold (only its first {KEPT_OF_A_LARGE_RECORD} are kept)",
                        )
                        fields = [head]
                    else:
                        problem = _record_problem(fields, columns, encoding)
                    if problem is None:
                        good += 1
                        yield [*fields, str(number)]
                        continue
                    rule, reason = problem
                    where = f"line {start}" if line == start else f"lines {start}-{line}"
                    rejected.append(RejectedRow(number, where, rule, reason, fields))
                    if len(rejected) > MAX_RECORD_REJECTS:
                        first = rejected[0]
                        raise TTWError(
                            f"{path}: more than {MAX_RECORD_REJECTS:,} records refused (the first: row"
                            f" {first.row_number}, {first.location}: {first.reason}); the file is rejected whole"
                        )
            except csv.Error as exc:
                raise TTWError(
                    f"{path}: line {line + 1}: the CSV cannot be read on ({exc}); the file is rejected whole"
                ) from None
        if rejected and rejected[-1].row_number == number:  # the file's last record
            last = rejected[-1]
            notes = []
            if last.location.startswith("lines "):
                notes.append("it runs on to the end of the file: a quote never closed?")
            if not ends_with_newline:
                notes.append("the file ends inside this record without a line break (a truncated delivery?)")
            if notes:
                rejected[-1] = RejectedRow(
                    last.row_number, last.location, last.rule, "; ".join([last.reason, *notes]), last.fields
                )

    return copy_batch(
        conn,
        table,
        str(path),
        family=family,
        columns=(*columns, "_row_number"),
        chunks=csv_chunks(records()),
        content_hash=file_sha256(path),
        records=lambda _copied: good,
        rejected=lambda: rejected,
    )


def _insert_rejects(
    conn: psycopg.Connection, family: str, batch_id: int, source: str, content_hash: str, rows: list[RejectedRow]
) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "insert into ops.load_rejects (source_family, batch_id, source_file, content_hash, location,"
            " rule_name, reason, row_number, payload) values (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " on conflict do nothing",
            [
                (
                    family,
                    batch_id,
                    source,
                    content_hash,
                    row.location,
                    row.rule,
                    row.reason,
                    row.row_number,
                    json.dumps({"fields": [_printable(f) for f in row.fields]}, ensure_ascii=False),
                )
                for row in rows
            ],
        )


def _loaded_batch(conn: psycopg.Connection, family: str, content_hash: str) -> int | None:
    """The live batch of ``family`` holding this content (a retracted one does not count)."""
    seen = conn.execute(
        "select batch_id from ops.load_batches where source_family = %s and content_hash = %s and retracted_at is null",
        (family, content_hash),
    ).fetchone()
    return seen[0] if seen else None


def copy_batch(
    conn: psycopg.Connection,
    table: RawTable,
    source: str,
    *,
    family: str,
    columns: tuple[str, ...],
    chunks: Iterable[bytes],
    content_hash: str | Callable[[], str],
    encoding: str = "UTF8",
    header: bool = False,
    records: Callable[[int], int] | None = None,
    rejected: Callable[[], list[RejectedRow]] | None = None,
) -> BatchResult:
    """COPY CSV ``chunks`` into ``table`` as one atomic batch recorded in ``ops.load_batches``.

    Content already loaded for ``family`` (same ``content_hash``) is skipped: before
    anything is written when the hash is given, or, when ``content_hash`` is a function
    that gives it once the stream is consumed, by rolling the batch back. ``records``,
    when given, counts the delivered records independently of COPY (called with COPY's
    count once the stream is consumed); a difference fails the batch. ``rejected``, when
    given, names the records the stream left out (called once it is consumed): they are
    kept in ``ops.load_rejects`` with the batch. Columns not in ``columns`` get the
    metadata defaults. A failure of the warehouse itself raises :class:`WarehouseFault`.
    """
    known: int | None = None
    left_out: list[RejectedRow] = []
    with warehouse_faults(source), conn.transaction():
        # One loader per raw table at a time: the row-number sequence is reset per batch.
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (table.qualified,))
        if isinstance(content_hash, str) and (seen := _loaded_batch(conn, family, content_hash)) is not None:
            return BatchResult(source, seen, 0, 0, skipped=True)
        batch_id = conn.execute(
            "insert into ops.load_batches (source_family, source_uri, content_hash, rows_received, rows_loaded)"
            " values (%s, %s, '', 0, 0) returning batch_id",
            (family, source),
        ).fetchone()[0]
        conn.execute("select set_config('ttw.batch_id', %s, true)", (str(batch_id),))
        conn.execute("select set_config('ttw.source_file', %s, true)", (source,))
        conn.execute(sql.SQL("select setval({}, 1, false)").format(sql.Literal(table.qualified + "__row_seq")))
        statement = sql.SQL("copy {table} ({columns}) from stdin with (format csv, header {header}, encoding {enc})")
        statement = statement.format(
            table=table.ident,
            columns=sql.SQL(", ").join(sql.Identifier(c) for c in columns),
            header=sql.SQL("true" if header else "false"),
            enc=sql.Literal(encoding),
        )
        try:
            with conn.cursor() as cur:
                with cur.copy(statement) as copy:
                    for chunk in chunks:
                        copy.write(chunk)
                received = cur.rowcount
        except psycopg.errors.DataError as exc:
            raise CopyDataError(f"{source}: {_copy_error(exc)}") from None
        if records is not None:
            delivered = records(received)
            if delivered != received:
                raise TTWError(
                    f"{source}: row accounting failed, the file holds {delivered} records but COPY read {received}"
                )
        # rows in raw for the batch, counted back after COPY: nothing lost between the
        # stream and the commit
        loaded = conn.execute(
            sql.SQL("select count(*) from {} where _batch_id = %s").format(table.ident), (batch_id,)
        ).fetchone()[0]
        if loaded != received:
            raise TTWError(
                f"{source}: row accounting failed, {received} rows received but {loaded} in {table.qualified}"
            )
        if not isinstance(content_hash, str):  # known only now that the stream is read
            content_hash = content_hash()
            known = _loaded_batch(conn, family, content_hash)
            if known is not None:
                raise psycopg.Rollback  # leaves the transaction, undoing the batch
        if rejected is not None:
            left_out = rejected()
            _insert_rejects(conn, family, batch_id, source, content_hash, left_out)
        conn.execute(
            "update ops.load_batches set content_hash = %s, rows_received = %s, rows_loaded = %s,"
            " rows_rejected = %s where batch_id = %s",
            (content_hash, received + len(left_out), loaded, len(left_out), batch_id),
        )
    if known is not None:
        return BatchResult(source, known, 0, 0, skipped=True)
    return BatchResult(source, batch_id, received + len(left_out), loaded, skipped=False, rejected=tuple(left_out))


_COPY_CONTEXT = re.compile(r"^COPY [^,]+, (line \d+(?:, column \w+)?)")


def copy_rows_batch(
    conn: psycopg.Connection,
    source: str,
    *,
    family: str,
    content_hash: str,
    parts: list[tuple[RawTable, list[tuple]]],
    problems: list[tuple[str, str, str]] = (),
    rejected: Iterable[RejectedRow] = (),
) -> BatchResult:
    """Load rows already read (one file's, across several raw tables) as one atomic batch.

    ``parts`` pairs each raw table with its rows (values in the table's column order);
    ``problems`` (rule, reason, location: a missing sheet, not a row) and ``rejected`` (values
    the file holds that could not be taken: counted among the rows received) go to
    ``ops.load_rejects`` in the same batch.
    Content already loaded for ``family`` (same SHA-256) is skipped. A failure of the
    warehouse itself raises :class:`WarehouseFault`.
    """
    with warehouse_faults(source), conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"family:{family}",))
        if (seen := _loaded_batch(conn, family, content_hash)) is not None:
            return BatchResult(source, seen, 0, 0, skipped=True)
        received = sum(len(rows) for _, rows in parts)
        batch_id = conn.execute(
            "insert into ops.load_batches (source_family, source_uri, content_hash, rows_received, rows_loaded)"
            " values (%s, %s, %s, %s, 0) returning batch_id",
            (family, source, content_hash, received),
        ).fetchone()[0]
        conn.execute("select set_config('ttw.batch_id', %s, true)", (str(batch_id),))
        conn.execute("select set_config('ttw.source_file', %s, true)", (source,))
        loaded = 0
        for table, rows in parts:
            conn.execute(sql.SQL("select setval({}, 1, false)").format(sql.Literal(table.qualified + "__row_seq")))
            statement = sql.SQL("copy {} ({}) from stdin").format(
                table.ident, sql.SQL(", ").join(sql.Identifier(c) for c in table.columns)
            )
            with conn.cursor() as cur, cur.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
            loaded += conn.execute(
                sql.SQL("select count(*) from {} where _batch_id = %s").format(table.ident), (batch_id,)
            ).fetchone()[0]
        if loaded != received:
            raise TTWError(f"{source}: row accounting failed, {received} rows read but {loaded} loaded")
        for rule, reason, location in problems:
            conn.execute(
                "insert into ops.load_rejects"
                " (source_family, batch_id, source_file, content_hash, location, rule_name, reason)"
                " values (%s, %s, %s, %s, %s, %s, %s) on conflict do nothing",
                (family, batch_id, source, content_hash, location, rule, reason),
            )
        rejected = tuple(rejected)
        _insert_rejects(conn, family, batch_id, source, content_hash, list(rejected))
        conn.execute(
            "update ops.load_batches set rows_received = %s, rows_loaded = %s, rows_rejected = %s where batch_id = %s",
            (received + len(rejected), loaded, len(rejected), batch_id),
        )
    return BatchResult(source, batch_id, received + len(rejected), loaded, skipped=False, rejected=rejected)


def record_file_reject(conn: psycopg.Connection, family: str, path: Path, rule: str, reason: str) -> None:
    """A file no loader could take: kept once (per content) in ops.load_rejects with why."""
    try:
        content_hash = file_sha256(path)
    except OSError:
        content_hash = ""
    with warehouse_faults(str(path)), conn.transaction():
        conn.execute(
            "insert into ops.load_rejects (source_family, source_file, content_hash, rule_name, reason)"
            " values (%s, %s, %s, %s, %s) on conflict do nothing",
            (family, str(path), content_hash, rule, reason),
        )


def _copy_error(exc: psycopg.Error) -> str:
    """PostgreSQL's COPY message plus where it happened: "line N" of the file (header = line 1)."""
    primary = exc.diag.message_primary or str(exc)
    match = _COPY_CONTEXT.match(exc.diag.context or "")
    return f"{match.group(1)}: {primary}" if match else primary
