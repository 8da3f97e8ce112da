"""Contract registry exports (docs/sources.md): header mapping, encodings, xlsx rows.

An export's header row uses either the registry's Chinese labels or the canonical
English column names. A CSV file is streamed to PostgreSQL ``COPY`` untouched apart from
the header, so for CSV this module only decides how to read it: which encoding, and which
canonical column each position holds. A workbook export (xlsx, xls, ods) is read cell by
cell into text.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ttw.errors import TTWError
from ttw.extract.workbook import NUL_REASON, SUFFIXES, Book, cell_name, check_sheet, open_workbook, sheet_rows
from ttw.sources import CSV_ENCODINGS, REGISTRY_CONTRACTS

# the export's columns, their header labels and which are required: the source registry
_FAMILY = REGISTRY_CONTRACTS
LABELS: dict[str, str] = _FAMILY.labels  # label (as exported) -> canonical column, in export order
COLUMNS: tuple[str, ...] = _FAMILY.table.columns
# columns whose value may never be empty (a foreign buyer has no credit or region code)
REQUIRED_VALUES: tuple[str, ...] = _FAMILY.required_values
# columns a file's header must name: those, and the buyer's region (which may be empty)
REQUIRED: tuple[str, ...] = _FAMILY.header_required

SNIFF_BYTES = 1 << 20
# how far into an ASCII-only start a CSV is read to find the line that decides its encoding
MAX_SNIFF_BYTES = 256 << 20
WORKBOOK_SUFFIXES = SUFFIXES
# what a delivery folder is searched for: CSV exports and workbook exports (an .xlsb found
# is rejected by name, never skipped)
PATTERNS: tuple[str, ...] = _FAMILY.landing.patterns


@dataclass(frozen=True)
class CsvLayout:
    """How to read one export: its encoding (PostgreSQL name), BOM length and column order."""

    path: Path
    encoding: str
    bom_bytes: int
    columns: tuple[str, ...]


def detect_encoding(head: bytes) -> tuple[str, int] | None:
    """(PostgreSQL encoding name, BOM length) for the first bytes of a file, or None.

    A UTF-8 byte-order mark says UTF-8. Otherwise the first line that is not plain ASCII
    and decodes decides: UTF-8 if it decodes as UTF-8, else GB18030 if it decodes as that
    (the encodings the registry is known to export); all ASCII is UTF-8. A line in neither
    (a stray byte) does not decide, nor does a line further on in another encoding: those
    are the loader's to reject, by line. None when no non-ASCII line decodes at all.
    """
    if head.startswith(codecs.BOM_UTF8):
        return "UTF8", len(codecs.BOM_UTF8)
    lines = _LINE_END.split(head)
    undecided = False
    for number, line in enumerate(lines, start=1):
        if line.isascii():
            continue
        whole = number < len(lines)  # the last line may be cut by the sniff
        for name, codec in CSV_ENCODINGS.items():
            try:
                codecs.getincrementaldecoder(codec)().decode(line, final=whole)
            except UnicodeDecodeError:
                continue
            return name, 0
        undecided = True
    return None if undecided else ("UTF8", 0)


def _encoding_sample(handle, head: bytes) -> bytes:
    """The bytes that decide a file's encoding: ``head``, or, when it is all ASCII and the
    file goes on, the lines from the first one that is not (read on in chunks, at most
    ``MAX_SNIFF_BYTES``): a GB18030 export may start with many ASCII-only records."""
    if not head.isascii() or len(head) < SNIFF_BYTES:
        return head
    tail, read = head[max(head.rfind(b"\n"), head.rfind(b"\r")) + 1 :], len(head)
    while read < MAX_SNIFF_BYTES and (chunk := handle.read(SNIFF_BYTES)):
        read += len(chunk)
        if not chunk.isascii():
            data = tail + chunk
            first = _NON_ASCII.search(data).start()
            start = max(data.rfind(b"\n", 0, first), data.rfind(b"\r", 0, first)) + 1
            return data[start:] + handle.read(SNIFF_BYTES)
        tail = chunk[max(chunk.rfind(b"\n"), chunk.rfind(b"\r")) + 1 :]
    return head


_LINE_END = re.compile(rb"\r\n|\r|\n")
_NON_ASCII = re.compile(rb"[\x80-\xff]")
# the characters of a header cell an error message shows (a cell may be a whole line of content)
CELL_SHOWN = 40


def shown_cell(cell: str) -> str:
    """A header cell as an error message quotes it: its first characters only."""
    return repr(cell if len(cell) <= CELL_SHOWN else cell[:CELL_SHOWN] + "…")


def map_header(
    path: Path,
    header: list[str],
    known: tuple[str, ...] = COLUMNS,
    required: tuple[str, ...] = REQUIRED,
    labels: dict[str, str] = LABELS,
) -> tuple[str, ...]:
    """Canonical column for each header cell; unknown cells and missing required columns are errors.

    The defaults are the contract registry's; other CSV sources pass their own columns.
    """
    by_name = {**labels, **{c: c for c in known}}
    mapped: list[str] = []
    for position, cell in enumerate(header, start=1):
        name = cell.strip().replace("（", "(").replace("）", ")")
        if name not in by_name:
            raise TTWError(
                f"{path}: header column {position} {shown_cell(cell)} is not a"
                f" {'contract registry' if labels else 'known'} column (expected a name such as {known[0]}"
                f"{' or a label such as 合同登记编号' if labels else ''})"
            )
        mapped.append(by_name[name])
    duplicated = sorted({c for c in mapped if mapped.count(c) > 1})
    if duplicated:
        raise TTWError(f"{path}: header names column {duplicated[0]!r} more than once")
    missing = [c for c in required if c not in mapped]
    if missing:
        label = next((f" ({k})" for k, v in labels.items() if v == missing[0]), "")
        raise TTWError(f"{path}: required column {missing[0]!r}{label} is missing from the header")
    return tuple(mapped)


def read_csv_layout(
    path: Path,
    *,
    known: tuple[str, ...] = COLUMNS,
    required: tuple[str, ...] = REQUIRED,
    labels: dict[str, str] = LABELS,
) -> CsvLayout:
    """Inspect a CSV export: encoding and header mapping. The file is not read past 1 MiB.
    Lines may end in CR LF, LF or CR.

    Registry exports by default; another source names its ``known`` and ``required`` columns
    and its ``labels`` (none: canonical English names only).
    """
    try:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
            sample = _encoding_sample(handle, head) if head.strip() else head
    except OSError as exc:
        raise TTWError(f"{path}: cannot read file: {exc.strerror}") from None
    if not head.strip():
        raise TTWError(f"{path}: file is empty, expected a header row")
    detected = detect_encoding(sample)
    if detected is None:
        raise TTWError(f"{path}: not UTF-8 or GB18030 text")
    encoding, bom = detected
    text = head[bom:].decode(CSV_ENCODINGS[encoding], errors="replace")
    try:  # newline="": lines may end in CR LF, LF or a lone CR (classic Mac OS)
        header = next(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise TTWError(f"{path}: line 1: the header cannot be read as CSV ({exc})") from None
    columns = map_header(path, header, known=known, required=required, labels=labels)
    return CsvLayout(path=path, encoding=encoding, bom_bytes=bom, columns=columns)


def cell_text(value: object) -> str:
    """A spreadsheet cell as the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


# cells an export sheet may span (highest row x highest column): a full sheet of the 22
# registry columns (1,048,576 x 22) is well within it
MAX_EXPORT_CELLS = 50_000_000
NUL = "\x00"


def read_xlsx_rows(
    path: Path, rejected: list[tuple[int, str, list[str]]] | None = None
) -> tuple[tuple[str, ...], Iterator[tuple[int, list[str]]]]:
    """The canonical columns of a workbook export (xlsx, xls, ods) and its data rows as text.

    The export is the first visible sheet whose header (its first non-empty row) is a
    registry header; a hidden sheet is never read. A data row's number is its sheet row
    minus the header's (so row 1 is the first row under the header, as in a CSV export).
    Empty rows are skipped; a value outside the header's columns is an error naming its
    cell, and so is a formula whose value was never saved or a cell holding an error value
    (``#REF!``): the file is rejected whole (a workbook never calculated has every formula
    unsaved). Before a sheet is read, it is checked (:func:`check_sheet`): past
    :data:`MAX_EXPORT_CELLS` cells, or a row held twice, the file is refused.

    A row with a NUL character in a cell is left out: appended to ``rejected`` as (row
    number, sheet cell, fields) when given, else an error.
    """
    book = open_workbook(path)
    tried: list[str] = []
    for name, visible in book.sheets:
        if not visible:
            continue
        try:
            marked = check_sheet(book, name, MAX_EXPORT_CELLS)
        except TTWError:
            book.close()
            raise
        rows = sheet_rows(book, book.sheet(name))
        header_row, header = next(
            ((n, [cell_text(v) for v in values]) for n, values in rows if any(v not in (None, "") for v in values)),
            (0, []),
        )
        while header and header[-1] == "":
            header.pop()
        if not header:
            tried.append(f"sheet {name} is empty")
            continue
        try:
            columns = map_header(path, header)
        except TTWError as exc:
            tried.append(f"sheet {name}: {str(exc).removeprefix(f'{path}: ')}")
            continue
        if marked:
            book.close()
            first = marked[0]
            what = (
                "a formula with no saved value: open and save it in Excel or WPS"
                if first.error is None
                else f"the error {first.error}: correct it and save the workbook again"
            )
            raise TTWError(
                f"{path}: cell {name}!{first.cell} holds {what}"
                f" ({len(marked)} such cell{'s' if len(marked) > 1 else ''}; the file is rejected whole)"
            )
        return columns, _data_rows(book, name, rows, header_row, columns, rejected)
    book.close()
    sheets = ", ".join(name if visible else f"{name} (hidden)" for name, visible in book.sheets) or "none"
    raise TTWError(
        f"{path}: no visible sheet holds a contract registry header (the workbook's sheets: {sheets})"
        + (f"; {'; '.join(tried)}" if tried else "")
    )


def _data_rows(
    book: Book,
    name: str,
    rows: Iterator[tuple[int, list]],
    header_row: int,
    columns: tuple[str, ...],
    rejected: list[tuple[int, str, list[str]]] | None,
) -> Iterator[tuple[int, list[str]]]:
    """The data rows under the header as text, numbered from the header; the book closed after."""
    try:
        for sheet_row, values in rows:
            texts = [cell_text(v) for v in values]
            if not any(texts):
                continue
            extra = [i for i, text in enumerate(texts) if text and i >= len(columns)]
            if extra:
                cell = cell_name(sheet_row, extra[0])
                raise TTWError(f"{book.path}: cell {name}!{cell} holds a value outside the header's columns")
            texts = (texts + [""] * len(columns))[: len(columns)]
            nul = next((i for i, text in enumerate(texts) if NUL in text), None)
            if nul is not None:
                cell = f"{name}!{cell_name(sheet_row, nul)}"
                if rejected is None:
                    raise TTWError(f"{book.path}: cell {cell} {NUL_REASON}")
                rejected.append((sheet_row - header_row, cell, texts))
                continue
            yield sheet_row - header_row, texts
    finally:
        book.close()
