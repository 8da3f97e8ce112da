"""Platform API exports (docs/sources.md): paged reads with retries, into ``raw.platform_records``.

For each platform and resource the client asks for records changed after the stored
watermark (``ops.watermarks``), follows ``next_cursor`` to the end, and commits each page
as one batch together with the watermark it makes safe:

- every version received lands once (unique per platform, resource, id and
  ``updated_at``), so a record repeated across pages is loaded once and a record that
  changed while paging comes again as a newer version; tombstones (``deleted``) land too;
- the watermark moves only over data already committed, and never onto an
  ``updated_at`` that may still have records on a later page (pages are ordered by
  ``updated_at``, ties included), so a run stopped anywhere resumes without a gap.

Transient failures (429 with ``Retry-After``, 5xx, timeouts) are retried with backoff by
urllib3; an answer cut short (the connection dropped mid-body, or JSON that stops) is asked
for again a few times here; a cursor the platform no longer accepts (410, or 400 naming the
cursor) restarts the listing from the committed watermark. An invalid or revoked token, or
an answer that stays broken, stops the run with a clear message; what was committed stays.

The server is not trusted (docs/reliability.md, "Platform client"):

- a listing ends at a ``next_cursor`` of ``null`` or ``""``; a cursor given twice in one
  listing is a loop, and a run reads at most ``max_pages`` pages of a resource: both stop
  the run with a clear error. An empty page writes no batch;
- a body is JSON in UTF-8 (RFC 8259), or in the charset the answer declares when UTF-8
  cannot decode it and that charset can; anything else fails the page, naming what came;
- a record the warehouse must not take is rejected alone, kept in ``ops.load_rejects``
  with its rule, page and id and counted in its batch's ``rows_rejected``: an id that is
  not a non-empty string or an integer (ids are kept as text: 7 and "7" are one record),
  an ``updated_at`` that is not a time or lies beyond now plus ``future_tolerance``, a NUL
  character, a lone surrogate, NaN or Infinity. A rejected record never moves the watermark.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import itertools
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import psycopg
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ttw import sources
from ttw.errors import TTWError
from ttw.load import PROBLEMS_SHOWN, ensure_ops, warehouse_faults
from ttw.warehouse import Target, connect

# reads of one page whose answer came cut short, and listings restarted for an expired
# cursor without a page committed in between, before the run gives up
PAGE_ATTEMPTS = 4
CURSOR_RESTARTS = 5
# the defaults of TTW_PLATFORM_MAX_PAGES and TTW_PLATFORM_FUTURE_TOLERANCE_HOURS
MAX_PAGES = 10_000
FUTURE_TOLERANCE = dt.timedelta(days=1)
# characters of a rejected record's JSON kept in ops.load_rejects
REJECT_KEPT = 2_000

RESOURCES = sources.RESOURCES  # every platform's, as the source registry declares them
FAMILY = sources.PLATFORM_RECORDS.name

RAW_DDL = """
create schema if not exists raw;
create table if not exists raw.platform_records (
    platform text not null,
    resource text not null,
    record_id text not null,
    updated_at text not null,
    deleted text not null,
    payload jsonb not null,
    _batch_id bigint not null,
    _source_file text not null,
    _row_number bigint not null,
    _loaded_at timestamptz not null default now()
);
create unique index if not exists platform_records_one_per_version
    on raw.platform_records (platform, resource, record_id, updated_at);
"""


@dataclass
class ResourceRun:
    """What one resource's run did."""

    platform: str
    resource: str
    pages: int = 0
    received: int = 0
    loaded: int = 0
    repeated: int = 0
    rejected: int = 0
    watermark_before: dt.datetime | None = None
    watermark_after: dt.datetime | None = None
    offered: bool = True
    # the first rejected records, one line each naming page, id and reason (all are in ops.load_rejects)
    problems: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        if not self.offered:
            return f"{self.platform}/{self.resource}: not offered by this platform"
        rejected = f", {self.rejected} rejected (kept in ops.load_rejects)" if self.rejected else ""
        return (
            f"{self.platform}/{self.resource}: {self.pages} pages, {self.received} records received, "
            f"{self.loaded} loaded{rejected}, {self.repeated} already landed; watermark "
            f"{_iso(self.watermark_before)} -> {_iso(self.watermark_after)}"
        )


def _iso(value: dt.datetime | None) -> str:
    return value.isoformat() if value else "none"


def session(token: str, *, retries: int = 8, backoff: float = 0.5) -> requests.Session:
    """A requests session with the bearer token and urllib3 retries honouring Retry-After."""
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff,
        backoff_max=30,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    http = requests.Session()
    http.mount("http://", HTTPAdapter(max_retries=retry))
    http.mount("https://", HTTPAdapter(max_retries=retry))
    http.headers["Authorization"] = f"Bearer {token}"
    return http


def catalogue(seed_csv: Path) -> dict[str, list[str]]:
    """Platform -> the resources it offers, from the ``platforms`` seed (one list for dbt and Airflow)."""
    with seed_csv.open(encoding="utf-8", newline="") as handle:
        return {row["platform"]: row["resources"].split() for row in csv.DictReader(handle)}


def connection_id(platform: str) -> str:
    """The Airflow connection holding a platform's endpoint and token (``AIRFLOW_CONN_PLATFORM_<NAME>``)."""
    return f"platform_{platform}"


def endpoint_from_connection(conn) -> tuple[str, str]:
    """(base URL, token) from an Airflow connection such as ``http://:TOKEN@host:8765/tech_market``:
    scheme from the type, the path from ``schema``, the bearer token from the password."""
    if not conn.host or not conn.password:
        raise TTWError(f"connection {conn.conn_id!r} needs a host and the token as its password")
    scheme = "https" if conn.conn_type == "https" else "http"
    port = f":{conn.port}" if conn.port else ""
    path = f"/{conn.schema.strip('/')}" if conn.schema else ""
    return f"{scheme}://{conn.host}{port}{path}", conn.password


def platform_name(base_url: str) -> str:
    """The platform a base URL names: its last path segment (…/tech_market -> tech_market)."""
    path = urlsplit(base_url).path.rstrip("/")
    name = path.rsplit("/", 1)[-1]
    if not name:
        raise TTWError(f"--base-url {base_url!r}: name the platform, e.g. http://host:8765/tech_market")
    return name


class _Rejected(Exception):
    """A record the warehouse does not take: ``rule`` and the reason."""

    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(reason)
        self.rule = rule


@dataclass(frozen=True)
class _Vetted:
    """A page's record as judged: its id as text and ``updated_at`` in UTC, or why it is rejected."""

    number: int  # its position on the page, from 1
    record: dict
    key: str = ""
    stamp: dt.datetime | None = None
    rule: str = ""
    reason: str = ""

    @property
    def location(self) -> str:
        shown = repr(self.record["id"]) if "id" in self.record else "without an id"
        return f"record {shown[:80]}"


def _vet(record: dict, number: int, now: dt.datetime, tolerance: dt.timedelta) -> _Vetted:
    try:
        _storable(record)
        return _Vetted(number, record, _record_key(record), _parse_instant(record.get("updated_at"), now, tolerance))
    except _Rejected as exc:
        return _Vetted(number, record, rule=exc.rule, reason=str(exc))


def _record_key(record: dict) -> str:
    """A record's id as text: a non-empty string, or an integer (7 and "7" are one record)."""
    if "id" not in record:
        raise _Rejected("invalid_record_id", "the record has no id")
    value = record["id"]
    if isinstance(value, bool) or not isinstance(value, str | int) or (isinstance(value, str) and not value.strip()):
        raise _Rejected("invalid_record_id", f"id {value!r} is not a non-empty string or an integer")
    return str(value)


def _parse_instant(text: object, now: dt.datetime, tolerance: dt.timedelta) -> dt.datetime:
    """A record's ``updated_at`` in UTC, no later than ``now`` plus ``tolerance``."""
    if not isinstance(text, str):
        raise _Rejected("invalid_timestamp", f"updated_at {text!r} is not an ISO 8601 time")
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        value = parsed.astimezone(dt.UTC) if parsed.tzinfo else None
    except (ValueError, OverflowError):  # not a time, or a year outside 1..9999 (in UTC)
        reason = f"updated_at {text!r} is not an ISO 8601 time in years 1 to 9999"
        raise _Rejected("invalid_timestamp", reason) from None
    if value is None:
        raise _Rejected("invalid_timestamp", f"updated_at {text!r} has no time zone")
    if value > now + tolerance:
        raise _Rejected(
            "future_timestamp",
            f"updated_at {text} is later than now plus {_span(tolerance)} ({now.isoformat(timespec='seconds')}):"
            " a clock or data error; taken, it would stop the watermark past every later change",
        )
    return value


def _span(span: dt.timedelta) -> str:
    hours = span.total_seconds() / 3600
    if hours % 24 == 0:
        days = int(hours // 24)
        return f"{days} day" if days == 1 else f"{days} days"
    return f"{hours:g} hours"


def _storable(value: object, where: str = "") -> None:
    """Reject what JSON or the warehouse cannot hold: NUL, a lone surrogate, NaN, Infinity."""
    if isinstance(value, str):
        what = where or "a key"
        if "\x00" in value:
            raise _Rejected("unstorable_value", f"{what} holds a NUL character (\\u0000), which text cannot hold")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise _Rejected("unstorable_value", f"{what} holds a lone surrogate, which is no character") from None
    elif isinstance(value, float) and not math.isfinite(value):
        shown = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        raise _Rejected("unstorable_value", f"{where} is {shown}, which JSON does not allow")
    elif isinstance(value, dict):
        for key, item in value.items():
            _storable(key, where)
            _storable(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _storable(item, f"{where}[{index}]")


def _deleted(value: object) -> str:
    """A record's ``deleted`` flag as 'true' / 'false' (booleans or their text)."""
    return "true" if value is True or str(value).strip().lower() in ("true", "1") else "false"


def ensure_platform_tables(conn: psycopg.Connection) -> None:
    ensure_ops(conn)
    conn.execute(RAW_DDL)


def read_watermark(conn: psycopg.Connection, platform: str, resource: str) -> dt.datetime | None:
    row = conn.execute(
        "select updated_since from ops.watermarks where platform = %s and resource = %s", (platform, resource)
    ).fetchone()
    return row[0] if row else None


def ingest_resource(
    target: Target,
    http: requests.Session,
    base_url: str,
    resource: str,
    *,
    platform: str | None = None,
    page_size: int = 500,
    timeout: float = 30.0,
    max_pages: int = MAX_PAGES,
    future_tolerance: dt.timedelta = FUTURE_TOLERANCE,
) -> ResourceRun:
    """Read one resource from its watermark to the end, a committed batch per page.

    ``max_pages``: the pages read in this run before it stops with an error (a listing that
    never ends); ``future_tolerance``: how far past now a record's ``updated_at`` may lie."""
    platform = platform or platform_name(base_url)
    url = f"{base_url.rstrip('/')}/api/v1/{resource}"
    # autocommit: each page's ``transaction()`` is a real commit, not a savepoint inside a
    # transaction left open by an earlier read
    with connect(target, autocommit=True) as conn:
        ensure_platform_tables(conn)
        since = read_watermark(conn, platform, resource)
        run = ResourceRun(platform, resource, watermark_before=since, watermark_after=since)
        cursor: str | None = None
        safe = since
        seen_max: dt.datetime | None = None
        restarts = 0
        given: set[str] = set()  # the cursors this listing gave: one given again is a loop
        read = 0
        while True:
            if read == max_pages:
                raise TTWError(
                    f"{url}: stopped after {max_pages} pages in this run, the cap (TTW_PLATFORM_MAX_PAGES):"
                    " the listing does not end; pages committed before stay loaded"
                )
            read += 1
            params: dict[str, str | int] = {"page_size": page_size}
            if since is not None:
                params["updated_since"] = since.isoformat()
            if cursor:
                params["cursor"] = cursor
            page_url = f"{url}?{urlencode(params)}"
            try:
                body = _get_page(http, url, params, timeout, page_url)
            except _CursorExpired as exc:
                restarts += 1
                if restarts > CURSOR_RESTARTS:
                    raise TTWError(f"{page_url}: the platform refused {restarts} cursors in a row ({exc})") from None
                # everything up to the watermark is committed: list again from there
                cursor, since = None, safe
                given.clear()
                continue
            if body is None:
                run.offered = False
                return run
            records, cursor = body
            if cursor in given:
                raise TTWError(
                    f"{page_url}: the platform gave cursor {cursor!r} again in the same listing, a loop;"
                    " this page is not taken, pages committed before stay loaded"
                )
            if cursor is not None:
                given.add(cursor)
            now = dt.datetime.now(dt.UTC)
            vetted = [_vet(record, number, now, future_tolerance) for number, record in enumerate(records, start=1)]
            stamps = [v.stamp for v in vetted if v.stamp is not None]
            if any(later < earlier for earlier, later in itertools.pairwise(stamps)):
                raise TTWError(f"{page_url}: records are not in updated_at order; cannot keep a safe watermark")
            if stamps:
                seen_max = max(stamps[-1], seen_max) if seen_max else stamps[-1]
            if cursor is None:
                # the end: everything up to the newest stamp seen is committed with this page
                safe = max(seen_max, safe) if safe and seen_max else (seen_max or safe)
            elif stamps:
                # the last updated_at of this page may continue on the next one: only what
                # is strictly before it is complete
                complete = [s for s in stamps if s < stamps[-1]]
                if complete:
                    safe = max([*complete, safe] if safe else complete)
            if not records and cursor is not None:
                continue  # an empty page in the middle: keep following the cursor
            with warehouse_faults(page_url):
                loaded, rejected = _commit_page(conn, platform, resource, page_url, vetted, safe)
            if loaded or safe != run.watermark_after:
                restarts = 0  # progress since the last restart
            run.pages += bool(records)
            run.received += len(records)
            run.loaded += loaded
            run.rejected += rejected
            run.repeated += len(records) - loaded - rejected
            for v in vetted:
                if v.rule and len(run.problems) < PROBLEMS_SHOWN:
                    run.problems.append(f"{page_url}: {v.location}: {v.reason}")
            run.watermark_after = safe
            if cursor is None:
                return run


class _CursorExpired(Exception):
    """The platform no longer accepts the cursor it gave (410, or 400 naming the cursor)."""


class _CutShort(Exception):
    """The answer stopped before its end: the body or the JSON is incomplete."""


def _get_page(
    http: requests.Session, url: str, params: dict, timeout: float, page_url: str
) -> tuple[list[dict], str | None] | None:
    """One page's records and next cursor; None when the platform does not offer the resource.

    An answer cut short is asked for again, up to ``PAGE_ATTEMPTS`` reads in all."""
    for attempt in range(1, PAGE_ATTEMPTS + 1):
        try:
            return _read_page(http, url, params, timeout, page_url)
        except _CutShort as exc:
            if attempt == PAGE_ATTEMPTS:
                raise TTWError(f"{page_url}: the answer came cut short {attempt} times ({exc})") from None
            time.sleep(0.2 * attempt)
    raise AssertionError("unreachable")


def _read_page(
    http: requests.Session, url: str, params: dict, timeout: float, page_url: str
) -> tuple[list[dict], str | None] | None:
    try:
        response = http.get(url, params=params, timeout=timeout)
    except requests.exceptions.RetryError as exc:
        raise TTWError(f"{page_url}: still failing after retries ({exc.__context__ or exc})") from None
    except requests.exceptions.ChunkedEncodingError as exc:
        raise _CutShort(f"connection dropped mid-answer: {exc}") from None
    except requests.exceptions.RequestException as exc:
        raise TTWError(f"{page_url}: {type(exc).__name__}: {exc}") from None
    if response.status_code == 404 and "no resource" in response.text:
        return None
    if response.status_code == 401:
        raise TTWError(
            f"{page_url}: the platform refused the token (401), it is invalid or revoked: check --token /"
            " TTW_PLATFORM_TOKEN or the connection's password; pages committed before stay loaded"
        )
    if "cursor" in params and (
        response.status_code == 410 or (response.status_code == 400 and "cursor" in response.text)
    ):
        raise _CursorExpired(f"HTTP {response.status_code}: {response.text[:200]}")
    if response.status_code != 200:
        raise TTWError(f"{page_url}: HTTP {response.status_code} after retries: {response.text[:200]}")
    text = _page_text(response.content, response.headers.get("Content-Type", ""), page_url)
    try:
        body = json.loads(text)
    except ValueError as exc:
        if text.lstrip().startswith("{"):
            raise _CutShort(f"the JSON stops or is broken: {exc}") from None
        media = response.headers.get("Content-Type", "").split(";")[0].strip() or "no content type"
        raise TTWError(f"{page_url}: expected JSON, got {media}: {' '.join(text.split())[:80]}") from None
    try:
        records, cursor = body["data"], body.get("next_cursor")
    except (KeyError, TypeError, AttributeError):
        raise TTWError(
            f"{page_url}: the answer is not a page (expected {{'data': [...], 'next_cursor': ...}})"
        ) from None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise TTWError(f"{page_url}: 'data' must be a list of records (JSON objects)")
    if cursor is not None and not isinstance(cursor, str):
        raise TTWError(f"{page_url}: next_cursor {cursor!r} is neither a string nor null")
    return records, cursor or None  # an empty cursor ends the listing, as null does


def _page_text(body: bytes, content_type: str, page_url: str) -> str:
    """The answer as text: UTF-8 (RFC 8259), or the charset it declares when only that one decodes it.

    Never decoded with replacement characters: a body neither decodes fails the page."""
    try:
        return body.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data":  # stopped inside a character
            raise _CutShort(f"the answer stops inside a UTF-8 character at byte {exc.start}") from None
        failure = exc
    params = [p.strip() for p in content_type.split(";")[1:]]
    declared = next((p.split("=", 1)[1].strip('"') for p in params if p.lower().startswith("charset=")), "")
    if declared:
        try:
            return body.decode(declared)
        except (LookupError, UnicodeDecodeError):
            also = f"nor in the charset it declares ({declared})"
    else:
        also = "and it declares no other charset"
    raise TTWError(
        f"{page_url}: the answer is not UTF-8 (byte 0x{body[failure.start]:02x} at offset {failure.start}), as JSON"
        f" must be, {also}; nothing of the page was stored"
    )


def _commit_page(
    conn: psycopg.Connection,
    platform: str,
    resource: str,
    page_url: str,
    vetted: list[_Vetted],
    watermark: dt.datetime | None,
) -> tuple[int, int]:
    """Land a page's records, keep its rejected ones and move the watermark, in one
    transaction; (rows newly loaded, records newly rejected). A record already landed, or
    already rejected in the same form on the same page, counts as repeated."""
    if not vetted:  # nothing new arrived: only the watermark moves
        if watermark is not None:
            with conn.transaction():
                _advance(conn, platform, resource, watermark)
        return 0, 0
    with conn.transaction():
        batch_id = conn.execute(
            "insert into ops.load_batches (source_family, source_uri, content_hash, rows_received, rows_loaded)"
            " values (%s, %s, '', %s, 0) returning batch_id",
            (FAMILY, page_url, len(vetted)),
        ).fetchone()[0]
        rows = [
            (
                platform,
                resource,
                v.key,
                v.stamp.isoformat(),
                _deleted(v.record.get("deleted", False)),
                json.dumps(v.record, ensure_ascii=False, sort_keys=True),
                batch_id,
                page_url,
                v.number,
            )
            for v in vetted
            if v.stamp is not None
        ]
        kept = [
            (FAMILY, batch_id, page_url, _sha256(text), v.location, v.rule, v.reason, v.number, _kept(text))
            for v in vetted
            if v.rule
            # ASCII escapes: a NUL or a lone surrogate is kept as the text the server sent
            for text in [json.dumps(v.record, sort_keys=True)]
        ]
        with conn.cursor() as cur:
            cur.executemany(
                "insert into raw.platform_records (platform, resource, record_id, updated_at, deleted, payload,"
                " _batch_id, _source_file, _row_number) values (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " on conflict (platform, resource, record_id, updated_at) do nothing",
                rows,
            )
            loaded = cur.rowcount if rows else 0
            cur.executemany(
                "insert into ops.load_rejects (source_family, batch_id, source_file, content_hash, location,"
                " rule_name, reason, row_number, payload) values (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " on conflict do nothing",
                kept,
            )
            rejected = cur.rowcount if kept else 0
        conn.execute(
            "update ops.load_batches set rows_loaded = %s, rows_rejected = %s, rows_skipped = %s where batch_id = %s",
            (loaded, rejected, len(vetted) - loaded - rejected, batch_id),
        )
        if watermark is not None:
            _advance(conn, platform, resource, watermark)
    return loaded, rejected


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _kept(text: str) -> str:
    """A rejected record as kept in ops.load_rejects: its JSON text, the first characters of a large one."""
    return json.dumps({"record": text[:REJECT_KEPT]})


def _advance(conn: psycopg.Connection, platform: str, resource: str, watermark: dt.datetime) -> None:
    """Move the watermark forward (never back: an overlapping run cannot undo another)."""
    conn.execute(
        "insert into ops.watermarks (platform, resource, updated_since) values (%s, %s, %s)"
        " on conflict (platform, resource) do update"
        " set updated_since = greatest(ops.watermarks.updated_since, excluded.updated_since), advanced_at = now()",
        (platform, resource, watermark),
    )
