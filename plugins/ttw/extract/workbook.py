"""Opening xlsx deliveries safely: defused XML, and the archive's sizes checked before parsing.

An xlsx is a zip of XML parts. openpyxl parses them with ``defusedxml`` (required: no
external entities, no entity expansion), and before that the archive's directory is
checked, so a zip bomb is refused without inflating it. Any failure to read a workbook,
at opening or while its rows are read, is a :class:`TTWError` naming the file.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import openpyxl.xml
from defusedxml import DefusedXmlException
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook

from ttw.errors import TTWError

MAX_UNCOMPRESSED = 1 << 30  # bytes of XML in one workbook, all parts together
MAX_RATIO = 200  # inflated / compressed size of a part, for parts above RATIO_FROM
RATIO_FROM = 1 << 20
MAX_PARTS = 10_000

# what reading a damaged or hostile archive raises: zip and inflate errors, XML syntax
# errors (SyntaxError), defusedxml's refusals (ValueError), missing parts (KeyError)
READ_ERRORS = (OSError, EOFError, zipfile.BadZipFile, zlib.error, KeyError, ValueError, SyntaxError)


def check_archive(path: Path) -> None:
    """Refuse a file that is not a zip, or whose parts would inflate past the limits."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise TTWError(f"{path}: not a readable xlsx workbook (not a zip archive, which an xlsx is: {exc})") from None
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


@contextmanager
def reading(path: Path) -> Iterator[None]:
    """Turn any error of reading the workbook at ``path`` into a clear TTWError."""
    try:
        yield
    except TTWError:
        raise
    except READ_ERRORS as exc:
        refused = _defused(exc)
        if refused is not None:
            raise TTWError(
                f"{path}: not a readable xlsx workbook ({type(refused).__name__}: its XML declares entities,"
                " which are refused: no external entity or entity expansion is ever read)"
            ) from None
        raise TTWError(f"{path}: not a readable xlsx workbook ({type(exc).__name__}: {exc})") from None


def _defused(exc: BaseException | None) -> DefusedXmlException | None:
    """The defusedxml refusal behind ``exc`` (openpyxl re-raises it as its own error), if any."""
    while exc is not None:
        if isinstance(exc, DefusedXmlException):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def open_workbook(path: Path) -> Workbook:
    """The workbook at ``path`` in read-only mode, once its archive passed :func:`check_archive`."""
    if not openpyxl.xml.DEFUSEDXML:
        raise TTWError("defusedxml is not installed: xlsx deliveries are only read with it")
    check_archive(path)
    with reading(path):
        return load_workbook(path, read_only=True, data_only=True)
