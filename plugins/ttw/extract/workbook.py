"""Opening workbook deliveries safely and reading the cells they hold.

Workbooks are read with python-calamine (the Rust calamine library). It reads the cells a
sheet holds, whatever range the sheet declares in its ``<dimension>``, and it reads .xlsx
(and .xlsm), .xls (Excel 97-2003) and .ods (WPS, LibreOffice). openpyxl only writes.

Before calamine sees a file, it is checked. A zip-based workbook (xlsx, xlsm, ods) has its
archive directory checked (sizes, part count, inflate ratio), so a zip bomb is refused
without inflating it, and the prolog of every XML part is read (expat, the first 64 KiB at
most) so that a part declaring a DOCTYPE is refused: no DTD, entity or external reference
of a workbook is ever read. An .xls is a binary OLE2 file, not XML: its size is capped. An
.xlsb is refused by name. Any failure to read a workbook is a :class:`TTWError` naming the
file.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from xml.parsers import expat

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from openpyxl.utils import get_column_letter
from python_calamine import CalamineError, CalamineSheet, CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

from ttw.errors import TTWError
from ttw.sources import WORKBOOK_SUFFIXES

MAX_UNCOMPRESSED = 1 << 30  # bytes of XML in one workbook, all parts together
MAX_RATIO = 200  # inflated / compressed size of a part, for parts above RATIO_FROM
RATIO_FROM = 1 << 20
MAX_PARTS = 10_000
MAX_XLS_BYTES = 256 << 20  # an .xls (binary, not a zip) is capped by its file size
MAX_PROLOG = 1 << 16  # bytes of an XML part read to find its root element (and any DOCTYPE)
CHUNK = 1 << 16

# suffix -> the format calamine reads it as; suffixes refused by name
FORMATS = {".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xls", ".ods": "ods"}
REFUSED = {".xlsb": "Excel binary workbook"}
SUFFIXES = WORKBOOK_SUFFIXES  # what delivery folders are searched for, beside CSV (the source registry)

# what reading a damaged or hostile archive raises: zip and inflate errors, XML syntax
# errors (SyntaxError, expat's), defusedxml's refusals (ValueError), missing parts (KeyError)
READ_ERRORS = (
    OSError,
    EOFError,
    zipfile.BadZipFile,
    zlib.error,
    KeyError,
    ValueError,
    SyntaxError,
    expat.ExpatError,
    CalamineError,
)


def workbook_format(path: Path) -> str:
    """The format calamine reads ``path`` as (xlsx, xls, ods); a refused one is an error naming it."""
    suffix = path.suffix.lower()
    if suffix in REFUSED:
        raise TTWError(
            f"{path}: {suffix} ({REFUSED[suffix]}) is not accepted:"
            " save it as .xlsx (or export CSV) and deliver it again"
        )
    return FORMATS.get(suffix, "xlsx")


def check_archive(path: Path, kind: str = "xlsx") -> None:
    """Refuse a file that is not a zip, or whose parts would inflate past the limits."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise TTWError(
            f"{path}: not a readable {kind} workbook (not a zip archive, which an {kind} is: {exc})"
        ) from None
    if len(parts) > MAX_PARTS:
        raise TTWError(f"{path}: {len(parts)} parts in the archive, expected at most {MAX_PARTS} in a workbook")
    total = sum(part.file_size for part in parts)
    if total > MAX_UNCOMPRESSED:
        raise TTWError(
            f"{path}: would inflate to {total:,} bytes, more than the {MAX_UNCOMPRESSED:,} a workbook may hold"
        )
    for part in parts:
        if part.file_size > RATIO_FROM and part.file_size > MAX_RATIO * max(part.compress_size, 1):
            raise TTWError(
                f"{path}: part {part.filename} inflates {part.file_size // max(part.compress_size, 1)}-fold"
                f" ({part.compress_size:,} to {part.file_size:,} bytes): a zip bomb, not a workbook"
                f" (expected at most {MAX_RATIO}-fold)"
            )


class _Doctype(ValueError):
    pass


class _Root(Exception):
    pass


def _raise(exc: type[Exception]):
    def handler(*_args) -> None:
        raise exc

    return handler


def check_prologs(path: Path, kind: str = "xlsx") -> None:
    """Refuse a zip-based workbook any XML part of which declares a DOCTYPE.

    Each part that starts like XML is fed to expat until its root element starts, at most
    :data:`MAX_PROLOG` bytes: the DOCTYPE is seen before anything it declares is read.
    """
    with reading(path, kind), zipfile.ZipFile(path) as archive:
        for part in archive.infolist():
            with archive.open(part) as stream:
                head = stream.read(CHUNK)
                if not head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<") and not head.startswith(
                    (b"\xff\xfe", b"\xfe\xff")
                ):
                    continue  # not XML (an image, a binary part): calamine reads no XML from it
                parser = expat.ParserCreate()
                parser.StartDoctypeDeclHandler = _raise(_Doctype)
                parser.StartElementHandler = _raise(_Root)
                try:
                    read = 0
                    while head:
                        if read >= MAX_PROLOG:
                            raise TTWError(
                                f"{path}: not a readable {kind} workbook (part {part.filename} has no root element"
                                f" in its first {MAX_PROLOG:,} bytes)"
                            )
                        parser.Parse(head, False)
                        read += len(head)
                        head = stream.read(CHUNK)
                    parser.Parse(b"", True)  # a whole part with no root element: expat says why
                except _Root:
                    continue
                except _Doctype:
                    raise TTWError(
                        f"{path}: not a readable {kind} workbook (EntitiesForbidden: part {part.filename} declares"
                        " a DOCTYPE; no DTD or entity of a workbook is ever read)"
                    ) from None


@contextmanager
def reading(path: Path, kind: str = "xlsx") -> Iterator[None]:
    """Turn any error of reading the workbook at ``path`` into a clear TTWError."""
    try:
        yield
    except TTWError:
        raise
    except READ_ERRORS as exc:
        refused = _defused(exc)
        if refused is not None:
            raise TTWError(
                f"{path}: not a readable {kind} workbook ({type(refused).__name__}: its XML declares entities,"
                " which are refused: no external entity or entity expansion is ever read)"
            ) from None
        raise TTWError(f"{path}: not a readable {kind} workbook ({type(exc).__name__}: {exc})") from None


def _defused(exc: BaseException | None) -> DefusedXmlException | None:
    """The defusedxml refusal behind ``exc``, if any."""
    while exc is not None:
        if isinstance(exc, DefusedXmlException):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


@dataclass
class Book:
    """An open workbook: its path, format, and calamine's reader."""

    path: Path
    kind: str
    reader: CalamineWorkbook

    @property
    def sheets(self) -> list[tuple[str, bool]]:
        """(name, visible) of each worksheet, in workbook order (chart sheets left out)."""
        return [
            (meta.name, meta.visible == SheetVisibleEnum.Visible)
            for meta in self.reader.sheets_metadata
            if meta.typ == SheetTypeEnum.WorkSheet
        ]

    def sheet(self, name: str) -> CalamineSheet:
        with reading(self.path, self.kind):
            return self.reader.get_sheet_by_name(name)

    def close(self) -> None:
        self.reader.close()


def open_workbook(path: Path) -> Book:
    """The workbook at ``path``, once it passed the checks for its format."""
    kind = workbook_format(path)
    if kind == "xls":
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise TTWError(f"{path}: cannot read file: {exc.strerror}") from None
        if size > MAX_XLS_BYTES:
            raise TTWError(f"{path}: {size:,} bytes, more than the {MAX_XLS_BYTES:,} an .xls workbook may have")
    else:
        check_archive(path, kind)
        check_prologs(path, kind)
    with reading(path, kind):
        return Book(path, kind, CalamineWorkbook.from_path(path))


def sheet_rows(book: Book, sheet: CalamineSheet) -> Iterator[tuple[int, list]]:
    """(sheet row number, values from column A) of every row, from row 1 to the last holding a value.

    calamine yields rows from the first, and columns from the first holding a value: the
    missing leading columns are put back, so that index 0 is always column A.
    """
    if sheet.start is None:
        return
    lead = [""] * sheet.start[1]
    with reading(book.path, book.kind):
        for number, values in enumerate(sheet.iter_rows(), start=1):
            yield number, lead + values if lead else values


def cell_name(row: int, column: int) -> str:
    """``C12`` for sheet row 12 and column index 2 (0 = A)."""
    return f"{get_column_letter(column + 1)}{row}"


# Excel's own sheet grid: no sheet has a row or column past these
MAX_SHEET_ROWS = 1_048_576
MAX_SHEET_COLUMNS = 16_384  # XFD
SCAN_CHUNK = 1 << 20
# why a cell holding NUL (calamine decodes ``_x0000_`` to it) is refused: PostgreSQL text cannot hold it
NUL_REASON = "holds a NUL character (\\x00), which no text may hold"
MAX_TAG = 1 << 20  # bytes of one XML tag of a sheet (a real one is well under 1 KiB)
# the places a sheet names, any namespace prefix, attributes quoted either way
_ROW_TAG = re.compile(rb"<(?:[\w.-]+:)?row\b([^>]*)>")
_CELL_REF = re.compile(rb"<(?:[\w.-]+:)?c\s[^>]*?\br\s*=\s*[\"']([A-Za-z]{1,8})(\d{1,20})[\"']")
_MERGE_REF = re.compile(rb"<(?:[\w.-]+:)?mergeCell\s[^>]*?\bref\s*=\s*[\"']([^\"']*)[\"']")
_ROW_NUMBER = re.compile(rb"\br\s*=\s*[\"'](\d{1,20})[\"']")
_MARK = re.compile(rb"<(?:[\w.-]+:)?f[\s/>]|\bt\s*=\s*[\"']e[\"']")  # a formula, or a cell holding an error
# the same for the XML spreadsheet programs write (no prefix, r="A1" after a space): literal
# patterns, many times faster; a piece of XML in which anything else may be is read the slow way
_FAST = {
    "row": re.compile(rb"<row\b([^>]*)>"),
    "cell": re.compile(rb' r="([A-Za-z]{1,8})(\d{1,20})"'),
    "merge": re.compile(rb'<mergeCell ref="([^"]*)"'),
    "number": re.compile(rb' r="(\d{1,20})"'),
}
_FAST_ROWS = re.compile(rb'<row r="(\d{1,20})"')
_FAST_LETTERS = re.compile(rb' r="([A-Za-z]{1,8})\d')
_FAST_DIGITS = re.compile(rb' r="[A-Za-z]{1,8}(\d{1,20})"')
_SLOW = {"row": _ROW_TAG, "cell": _CELL_REF, "merge": _MERGE_REF, "number": _ROW_NUMBER}
_ODD_PREFIX = re.compile(rb":(?:row|c|f|mergeCell)[\s/>]")
_ODD_ATTR = re.compile(rb"r(?:\s+=|=\s|=')")
_ODD_TEXT = (b"\tr=", b"\nr=", b"\rr=")


def _odd(data: bytes) -> bool:
    """Whether a piece of a sheet's XML may name a place other than as programs write it."""
    spaced = b"\t" in data or b"\n" in data or b"\r" in data  # programs write a sheet on one line
    if spaced and any(text in data for text in _ODD_TEXT):
        return True
    return bool(_ODD_PREFIX.search(data) or _ODD_ATTR.search(data))


_REF = re.compile(r"([A-Za-z]{1,8})(\d{1,20})")
# every element of a sheet that names a place, in document order (for the message of a refusal)
_PLACE = re.compile(rb"<(?:[\w.-]+:)?(row|c|mergeCell)(?=[\s/>])([^>]*)>")


@dataclass(frozen=True)
class MarkedCell:
    """A cell calamine reads as empty though it holds something: a formula never saved, or an
    error value (``#DIV/0!``)."""

    cell: str  # F12
    row: int
    error: str | None  # the error value, or None for a formula with no saved value


def column_number(letters: str) -> int:
    """1 for column A, 16,384 for XFD."""
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    return number


def check_sheet(book: Book, name: str, max_cells: int) -> list[MarkedCell]:
    """Refuse sheet ``name`` if it names a place past Excel's grid, spans more than
    ``max_cells`` cells (its highest row times its highest column) or holds a row twice;
    else the cells calamine would read as empty though they hold a formula or an error.

    Run before calamine reads the sheet, which allocates the whole grid a sheet names: its
    XML part is scanned in chunks for every ``<row r>``, ``<c r>`` and ``<mergeCell ref>``.
    Only xlsx is scanned: an .xls is bounded by its file size and an .ods by calamine's own
    cell cap.
    """
    if book.kind != "xlsx":
        return []
    with reading(book.path, book.kind), zipfile.ZipFile(book.path) as archive:
        part = _sheet_part(archive, name)
        if part is None:
            return []
        marked = _scan_bounds(archive, part, f"{book.path}: sheet {name}", max_cells)
        return _marked_cells(archive, part) if marked else []


class _Bounds:
    """The highest row and column a sheet names so far, and the rows it holds."""

    def __init__(self, where: str, max_cells: int) -> None:
        self.where, self.max_cells = where, max_cells
        self.rows, self.columns, self.last_row = 0, 0, 0
        self.seen = bytearray(MAX_SHEET_ROWS // 8 + 1)

    def row(self, attrs: bytes) -> None:
        found = _ROW_NUMBER.search(attrs)
        number = int(found[1]) if found else self.last_row + 1  # a row with no r follows the last
        self.last_row = number
        self.place(f"row {number}", number, 0)
        if self.seen[number >> 3] >> (number & 7) & 1:
            raise TTWError(
                f"{self.where} holds row {number} twice (a row would be lost): the file is not read",
                rule="duplicate_row",
            )
        self.seen[number >> 3] |= 1 << (number & 7)

    def place(self, what: str, row: int, column: int) -> None:
        if row > MAX_SHEET_ROWS:
            raise TTWError(
                f"{self.where} names {what}, past row {MAX_SHEET_ROWS:,}, the last row a sheet has",
                rule="too_many_cells",
            )
        if column > MAX_SHEET_COLUMNS:
            raise TTWError(
                f"{self.where} names {what}, past column XFD, the last column a sheet has", rule="too_many_cells"
            )
        self.rows, self.columns = max(self.rows, row), max(self.columns, column)
        if self.rows * self.columns > self.max_cells:
            raise TTWError(
                f"{self.where} names {what}, a grid of {self.rows:,} rows by {self.columns:,} columns:"
                f" more than the {self.max_cells:,} cells a sheet may span",
                rule="too_many_cells",
            )

    def element(self, tag: bytes, attrs: bytes) -> None:
        """One ``<row>``, ``<c>`` or ``<mergeCell>``, checked alone."""
        if tag == b"row":
            self.row(attrs)
            return
        refs = (_CELL_REF if tag == b"c" else _MERGE_REF).findall(b"<" + tag + b" " + attrs + b">")
        text = b"".join(r if isinstance(r, bytes) else b"".join(r) for r in refs[:1]).decode("ascii", "replace")
        for letters, digits in _REF.findall(text):
            self.place(f"the range {text}" if tag != b"c" else f"cell {text}", int(digits), column_number(letters))

    def text(self, data: bytes) -> None:
        """Every place a piece of the sheet's XML names; fast when all are within bounds."""
        fast = not _odd(data)
        patterns = _FAST if fast else _SLOW
        rows, columns, last = self.rows, self.columns, self.last_row
        marked: list[int] = []  # rows first seen in this piece
        numbers = _FAST_ROWS.findall(data) if fast else []
        if len(numbers) == data.count(b"<row"):  # every row as programs write it: <row r="12"
            numbered = map(int, numbers)
        else:
            found = (patterns["number"].search(attrs) for attrs in patterns["row"].findall(data))
            numbered = (int(f[1]) if f else None for f in found)
        seen = self.seen
        for number in numbered:
            if number is None:
                number = self.last_row + 1  # a row with no r follows the one before
            if number > MAX_SHEET_ROWS or seen[number >> 3] >> (number & 7) & 1:
                break
            seen[number >> 3] |= 1 << (number & 7)
            marked.append(number)
            self.last_row = number
        else:
            rows = max(rows, *marked) if marked else rows
            if fast:
                letters, digits = set(_FAST_LETTERS.findall(data)), set(_FAST_DIGITS.findall(data))
            else:
                cells = patterns["cell"].findall(data)
                letters, digits = {c for c, _ in cells}, {d for _, d in cells}
            if letters:
                columns = max(columns, *(column_number(c.decode()) for c in letters))
                rows = max(rows, *(int(d) for d in digits))
            for ref in patterns["merge"].findall(data) if b"mergeCell" in data else ():
                for col, row in _REF.findall(ref.decode("ascii", "replace")):
                    rows, columns = max(rows, int(row)), max(columns, column_number(col))
            if rows <= MAX_SHEET_ROWS and columns <= MAX_SHEET_COLUMNS and rows * columns <= self.max_cells:
                self.rows, self.columns = rows, columns
                return
        # out of bounds: the same piece again, element by element, to name the first place
        for number in marked:
            self.seen[number >> 3] &= ~(1 << (number & 7)) & 0xFF
        self.last_row = last
        for element in _PLACE.finditer(data):
            self.element(element[1], element[2])
        self.rows, self.columns = max(self.rows, rows), max(self.columns, columns)


def _marks(data: bytes) -> bool:
    """Whether a piece of a sheet's XML may hold a formula or an error value (a substring test
    first, the pattern only where it may match)."""
    return (b"<f" in data or b":f" in data or b'"e"' in data or b"'e'" in data) and _MARK.search(data) is not None


def _scan_bounds(archive: zipfile.ZipFile, part: str, where: str, max_cells: int) -> bool:
    """Check the places sheet ``part`` names (see :func:`check_sheet`); True if it holds a
    formula or an error value."""
    bounds = _Bounds(where, max_cells)
    marked = False
    with archive.open(part) as stream:
        tail = b""
        while chunk := stream.read(SCAN_CHUNK):
            window = tail + chunk
            cut = window.rfind(b"<")  # the last tag may go on in the next chunk
            cut = len(window) if cut < 0 else cut
            piece, tail = window[:cut], window[cut:]
            if len(tail) > MAX_TAG:
                raise TTWError(f"{where}: an XML tag of more than {MAX_TAG:,} bytes: not a worksheet")
            bounds.text(piece)
            marked = marked or _marks(piece)
        bounds.text(tail)
        marked = marked or _marks(tail)
    return marked


def _sheet_part(archive: zipfile.ZipFile, name: str) -> str | None:
    """The archive part holding sheet ``name``, by xl/workbook.xml and its relationships."""
    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    rel_id = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    workbook = fromstring(archive.read("xl/workbook.xml"))
    ids = [s.get(rel_id) for s in workbook.iter(f"{main}sheet") if s.get("name") == name]
    if not ids:
        return None
    relations = fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    for relation in relations:
        if relation.get("Id") == ids[0]:
            target = relation.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
            return path
    return None


def _marked_cells(archive: zipfile.ZipFile, part: str) -> list[MarkedCell]:
    """The cells of ``part`` holding a formula with no saved value or an error value, by
    expat, streaming. A cell with no ``r`` follows the cell before it in its row, and a row
    with no ``r`` the row before it."""
    found: list[MarkedCell] = []
    cell: dict = {}
    place = {"row": 0, "column": 0}

    def start(tag: str, attrs: dict) -> None:
        local = tag.rsplit(":", 1)[-1]
        if local == "row":
            number = attrs.get("r", "")
            place["row"] = int(number) if number.isdigit() else place["row"] + 1
            place["column"] = 0
        elif local == "c":
            cell.clear()
            ref = _REF.fullmatch(attrs.get("r", ""))
            if ref:
                place["column"], row = column_number(ref[1]), int(ref[2])
            else:
                place["column"], row = place["column"] + 1, place["row"]
            cell.update(row=row, name=cell_name(row, place["column"] - 1), error=attrs.get("t") == "e", text=[])
        elif local in ("f", "v", "is") and cell:
            cell[local] = True
            cell["open"] = local

    def text(data: str) -> None:
        if cell.get("open") == "v":
            cell["text"].append(data)

    def end(tag: str) -> None:
        local = tag.rsplit(":", 1)[-1]
        if local == "c" and cell:
            value = "".join(cell["text"]).strip()
            if cell["error"]:
                found.append(MarkedCell(cell["name"], cell["row"], value or "#N/A"))
            elif cell.get("f") and not (value or cell.get("is")):
                found.append(MarkedCell(cell["name"], cell["row"], None))
            cell.clear()
        elif cell:
            cell["open"] = None

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _raise(_Doctype)  # checked already; never read one here either
    parser.StartElementHandler = start
    parser.CharacterDataHandler = text
    parser.EndElementHandler = end
    with archive.open(part) as stream:
        while chunk := stream.read(CHUNK):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    return found
