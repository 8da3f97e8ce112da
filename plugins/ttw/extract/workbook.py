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
SUFFIXES = (*FORMATS, *REFUSED)  # what delivery folders are searched for, beside CSV

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
_FORMULA = re.compile(rb"<(?:[\w.-]+:)?f[\s/>]")  # an xlsx <f> element, any namespace prefix


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


def unsaved_formulas(book: Book, name: str) -> list[str]:
    """Cells (``F12``) of sheet ``name`` holding a formula with no saved value, in sheet order.

    calamine reads a formula's saved value, and a workbook written by a program that never
    calculated it (a script, a converter) has none: the cell reads as empty. Only xlsx can
    hold such cells (.xls and .ods always save values); the sheet's XML is scanned for an
    ``<f>`` element and, only when it has one, parsed by expat, streaming.
    """
    if book.kind != "xlsx":
        return []
    with reading(book.path, book.kind), zipfile.ZipFile(book.path) as archive:
        part = _sheet_part(archive, name)
        if part is None or not _has_formula(archive, part):
            return []
        return _formula_cells(archive, part)


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


def _has_formula(archive: zipfile.ZipFile, part: str) -> bool:
    with archive.open(part) as stream:
        tail = b""
        while chunk := stream.read(CHUNK):
            window = tail + chunk
            # a substring test first (fast), the pattern only where it may match
            if (b"<f" in window or b":f" in window) and _FORMULA.search(window):
                return True
            tail = chunk[-32:]
    return False


def _formula_cells(archive: zipfile.ZipFile, part: str) -> list[str]:
    found: list[str] = []
    cell: dict = {}

    def start(tag: str, attrs: dict) -> None:
        local = tag.rsplit(":", 1)[-1]
        if local == "c":
            cell.clear()
            cell["r"] = attrs.get("r", "")
        elif local in ("f", "v", "is") and cell:
            cell[local] = True
            cell["open"] = local

    def text(data: str) -> None:
        if cell.get("open") == "v" and data.strip():
            cell["value"] = True

    def end(tag: str) -> None:
        local = tag.rsplit(":", 1)[-1]
        if local == "c":
            if cell.get("f") and not (cell.get("value") or cell.get("is")):
                found.append(cell["r"])
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
