"""The sample platform API (docs/sources.md): a real HTTP server over generated platform files.

``GET /{platform}/api/v1/{resource}?updated_since=ISO8601&cursor=C&page_size=N`` with
``Authorization: Bearer TOKEN`` answers ``{"data": [...], "next_cursor": "..." | null}``:
each record's newest version (tombstones included, ``deleted: true``) whose
``updated_at`` is after ``updated_since``, in (updated_at, id) order, keyset-paginated.
So the base URL of a platform is ``http://HOST:PORT/{platform}``.

Faults can be switched on to exercise clients: every Nth request rate-limited (429 with
``Retry-After``), a share of 5xx answers, slow answers, records repeated across pages, and
records that change while a client pages (they come again later with a newer
``updated_at``; the newest wins), answers cut short mid-body, cursors that expire, the
token revoked after a number of requests, and an outage after a number of requests.
"""

from __future__ import annotations

import base64
import bisect
import datetime as dt
import hmac
import json
import random
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from ttw.errors import TTWError

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100


@dataclass
class Faults:
    """Misbehaviour to switch on; all off by default."""

    rate_limit_every: int = 0  # every Nth data request answers 429
    retry_after: int = 1  # seconds, sent with each 429
    error_rate: float = 0.0  # share of data requests answered 500 or 503
    slow_rate: float = 0.0  # share of data requests delayed by slow_seconds
    slow_seconds: float = 2.0
    repeat: int = 0  # each next page starts this many records before the previous page ended
    change_every: int = 0  # every Nth page served, its first record changes (a newer version)
    fail_after: int = 0  # after this many data requests, answer 503 to every one (an outage)
    truncate_rate: float = 0.0  # share of data answers whose body stops halfway (connection closed)
    expire_cursor_every: int = 0  # every Nth data request that carries a cursor: it has expired (410)
    revoke_after: int = 0  # after this many data requests the token is revoked (401 to every one)
    seed: int = 0

    def __post_init__(self) -> None:
        for name in (
            "rate_limit_every",
            "retry_after",
            "repeat",
            "change_every",
            "fail_after",
            "expire_cursor_every",
            "revoke_after",
        ):
            if getattr(self, name) < 0:
                raise TTWError(f"fault {name}: expected 0 or more, got {getattr(self, name)}")
        for name in ("error_rate", "slow_rate", "truncate_rate"):
            if not 0 <= getattr(self, name) <= 1:
                raise TTWError(f"fault {name}: expected a share between 0 and 1, got {getattr(self, name)}")
        if self.slow_seconds < 0:
            raise TTWError(f"fault slow_seconds: expected 0 or more, got {self.slow_seconds}")


def parse_instant(text: str) -> dt.datetime:
    """An ISO 8601 time with a zone (``Z`` or an offset), in UTC; ValueError otherwise."""
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("no time zone")
    return value.astimezone(dt.UTC)


@dataclass
class PlatformData:
    """The newest version of every record, per platform and resource, as of ``as_of``."""

    root: Path
    as_of: dt.datetime | None = None
    _records: dict[tuple[str, str], list[tuple[dt.datetime, str, dict]]] = field(default_factory=dict)

    @classmethod
    def load(cls, data_dir: Path, as_of: dt.datetime | None = None) -> PlatformData:
        root = data_dir / "platform" if (data_dir / "platform").is_dir() else data_dir
        files = sorted(root.glob("*/*.jsonl"))
        if not files:
            raise TTWError(f"{data_dir}: no platform data (expected {{platform}}/{{resource}}.jsonl files)")
        data = cls(root=root, as_of=as_of)
        for path in files:
            newest: dict[str, tuple[dt.datetime, dict]] = {}
            with path.open(encoding="utf-8") as handle:
                for line_number, line in enumerate(handle, start=1):
                    try:
                        record = json.loads(line)
                        updated = parse_instant(record["updated_at"])
                        key = record["id"]
                    except (ValueError, KeyError) as exc:
                        raise TTWError(f"{path}, line {line_number}: not a platform record ({exc})") from None
                    if as_of is not None and updated > as_of:
                        continue
                    if key not in newest or updated >= newest[key][0]:
                        newest[key] = (updated, record)
            ordered = sorted((updated, key, record) for key, (updated, record) in newest.items())
            data._records[(path.parent.name, path.stem)] = ordered
        return data

    @property
    def resources(self) -> dict[str, list[str]]:
        table: dict[str, list[str]] = {}
        for platform, resource in sorted(self._records):
            table.setdefault(platform, []).append(resource)
        return table

    def records(self, platform: str, resource: str) -> list[tuple[dt.datetime, str, dict]] | None:
        return self._records.get((platform, resource))

    def change(self, platform: str, resource: str, key: str) -> dict:
        """A newer version of record ``key``, one second after the newest there is; returns it."""
        records = self._records[(platform, resource)]
        position = next(i for i, entry in enumerate(records) if entry[1] == key)
        _, _, record = records.pop(position)
        updated = max(records[-1][0] if records else dt.datetime.now(dt.UTC), dt.datetime.now(dt.UTC))
        updated += dt.timedelta(seconds=1)
        version = {**record, "updated_at": updated.isoformat()}
        records.append((updated, key, version))
        return version


def encode_cursor(updated: dt.datetime, key: str) -> str:
    raw = json.dumps([updated.isoformat(), key]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    """The (updated_at, id) a cursor points after; ValueError for anything this server did not issue."""
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("not a cursor") from exc
    if not (isinstance(decoded, list) and len(decoded) == 2 and all(isinstance(part, str) for part in decoded)):
        raise ValueError("not a cursor")
    return parse_instant(decoded[0]), decoded[1]


class _ApiError(Exception):
    def __init__(self, status: HTTPStatus, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


class PlatformServer(ThreadingHTTPServer):
    """Serves :class:`PlatformData` with bearer-token auth and optional faults."""

    daemon_threads = True

    def __init__(self, data: PlatformData, *, host: str, port: int, token: str, faults: Faults | None = None):
        if not token:
            raise TTWError("the platform server needs a bearer token (--token or TTW_PLATFORM_TOKEN)")
        self.data = data
        self.token = token
        self.faults = faults or Faults()
        self.requests_served = 0
        self.cursor_requests = 0
        self.pages_served = 0
        self._lock = threading.Lock()
        self._rng = random.Random(self.faults.seed)
        try:
            super().__init__((host, port), _Handler)
        except OSError as exc:
            raise TTWError(f"cannot listen on {host}:{port}: {exc.strerror}") from None

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="platform-server", daemon=True)
        thread.start()
        return thread

    def lock(self) -> threading.Lock:
        return self._lock

    def next_fault(self, *, has_cursor: bool = False) -> str | None:
        """Decide, under the lock, whether this data request misbehaves and how."""
        with self._lock:
            self.requests_served += 1
            self.cursor_requests += has_cursor
            n = self.requests_served
            faults = self.faults
            if faults.revoke_after and n > faults.revoke_after:
                return "revoked"
            if faults.fail_after and n > faults.fail_after:
                return "503"
            if faults.rate_limit_every and n % faults.rate_limit_every == 0:
                return "rate_limit"
            if faults.error_rate and self._rng.random() < faults.error_rate:
                return self._rng.choice(("500", "503"))
            if has_cursor and faults.expire_cursor_every and self.cursor_requests % faults.expire_cursor_every == 0:
                return "cursor_expired"
            if faults.truncate_rate and self._rng.random() < faults.truncate_rate:
                return "truncate"
            if faults.slow_rate and self._rng.random() < faults.slow_rate:
                return "slow"
        return None


class _Handler(BaseHTTPRequestHandler):
    server: PlatformServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        # no access log: nothing of a request (its bearer token included) is written anywhere
        return

    def do_GET(self) -> None:
        self._truncate = False
        try:
            status, body = self._route()
            self._send(status, body)
        except _ApiError as exc:
            self._send(exc.status, {"error": str(exc)}, exc.headers)

    def _send(self, status: HTTPStatus, body: dict, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self._truncate:  # the answer stops halfway and the connection drops
            self.wfile.write(payload[: len(payload) // 2])
            self.close_connection = True
            return
        self.wfile.write(payload)

    def _route(self) -> tuple[HTTPStatus, dict]:
        url = urlsplit(self.path)
        parts = [p for p in url.path.split("/") if p]
        if parts == ["healthz"]:
            return HTTPStatus.OK, {"status": "ok"}
        self._authorize()
        if not parts:
            return HTTPStatus.OK, {"platforms": self.server.data.resources}
        if len(parts) != 4 or parts[1:3] != ["api", "v1"]:
            raise _ApiError(
                HTTPStatus.NOT_FOUND, f"no such path {url.path!r}: expected /{{platform}}/api/v1/{{resource}}"
            )
        platform, resource = parts[0], parts[3]
        records = self.server.data.records(platform, resource)
        if records is None:
            raise _ApiError(HTTPStatus.NOT_FOUND, f"no resource {resource!r} on platform {platform!r}")
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        since, after, size = self._parameters(query)

        fault = self.server.next_fault(has_cursor=after is not None)
        if fault == "revoked":
            raise _ApiError(HTTPStatus.UNAUTHORIZED, "the token has been revoked", {"WWW-Authenticate": "Bearer"})
        if fault == "cursor_expired":
            raise _ApiError(HTTPStatus.GONE, "cursor: expired, start again from updated_since")
        self._truncate = fault == "truncate"
        if fault == "rate_limit":
            retry = str(self.server.faults.retry_after)
            raise _ApiError(HTTPStatus.TOO_MANY_REQUESTS, "rate limited", {"Retry-After": retry})
        if fault in ("500", "503"):
            raise _ApiError(HTTPStatus(int(fault)), "transient server error")
        if fault == "slow":
            time.sleep(self.server.faults.slow_seconds)
        with self.server.lock():
            return HTTPStatus.OK, self._page(platform, resource, records, since, after, size)

    def _authorize(self) -> None:
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        given, expected = token.strip().encode("utf-8"), self.server.token.encode("utf-8")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given, expected):
            raise _ApiError(HTTPStatus.UNAUTHORIZED, "missing or invalid bearer token", {"WWW-Authenticate": "Bearer"})

    @staticmethod
    def _parameters(query: dict[str, str]) -> tuple[dt.datetime | None, tuple[dt.datetime, str] | None, int]:
        since = after = None
        if query.get("updated_since"):
            try:
                since = parse_instant(query["updated_since"])
            except ValueError:
                raise _ApiError(
                    HTTPStatus.BAD_REQUEST, "updated_since: expected an ISO 8601 time with a zone"
                ) from None
        if query.get("cursor"):
            try:
                after = decode_cursor(query["cursor"])
            except ValueError:
                raise _ApiError(HTTPStatus.BAD_REQUEST, "cursor: not a cursor this server issued") from None
        try:
            size = int(query.get("page_size") or DEFAULT_PAGE_SIZE)
        except ValueError:
            size = 0
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise _ApiError(HTTPStatus.BAD_REQUEST, f"page_size: expected 1 to {MAX_PAGE_SIZE}")
        return since, after, size

    def _page(
        self, platform: str, resource: str, records: list, since: dt.datetime | None, after: tuple | None, size: int
    ) -> dict:
        start = 0
        if since is not None:
            start = bisect.bisect_right(records, since, key=lambda r: r[0])
        if after is not None:
            start = max(start, bisect.bisect_right(records, after, key=lambda r: (r[0], r[1])))
        page = records[start : start + size]
        self.server.pages_served += 1
        every = self.server.faults.change_every
        if every and page and self.server.pages_served % every == 0:
            # the record changes while the client pages: it comes again, newer, on a later page
            self.server.data.change(platform, resource, page[0][1])
        next_cursor = None
        if start + len(page) < len(records) and page:
            # with the repeat fault the next page begins a few records before this one ended
            back = min(self.server.faults.repeat, len(page) - 1)
            last = page[len(page) - 1 - back]
            next_cursor = encode_cursor(last[0], last[1])
        return {"data": [r[2] for r in page], "next_cursor": next_cursor}


def serve(
    data_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    token: str,
    faults: Faults | None = None,
    as_of: dt.datetime | None = None,
) -> PlatformServer:
    """A server over ``data_dir`` (the generated dataset or its ``platform/`` folder), not yet serving."""
    return PlatformServer(PlatformData.load(data_dir, as_of), host=host, port=port, token=token, faults=faults)
