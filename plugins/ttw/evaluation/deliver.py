"""Deliver a year of the center evaluation: load it once from the published marts and write
the formats asked for. The ``evaluate_centers`` DAG, ``ttw export centers`` and ``ttw report
centers`` all come through :func:`deliver`.

Formats and where each goes under the output folder (``LAYOUT``; ``paths`` puts one elsewhere):

- ``xlsx`` / ``xlsx_en``: the workbook in Chinese / in English (``centers_{year}.xlsx``,
  ``centers_{year}_en.xlsx``);
- ``csv`` / ``csv_en``: a CSV file per sheet, in Chinese (``csv/``) / in English (``csv_en/``);
- ``html``: the year report and a page per center of ``centers`` (``report/``);
- ``pdf``: the year report printed to ``centers_{year}.pdf`` beside it (needs ``html``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ttw.errors import TTWError
from ttw.evaluation import html, pdf, tables
from ttw.evaluation.data import YearEvaluation, load_year
from ttw.warehouse import Target

# format -> its place under the output folder ({year}: the evaluation year)
LAYOUT = {
    "xlsx": "centers_{year}.xlsx",
    "xlsx_en": "centers_{year}_en.xlsx",
    "csv": "csv",
    "csv_en": "csv_en",
    "html": "report",
}
# what the evaluate_centers DAG delivers
FORMATS = ("xlsx", "xlsx_en", "csv", "html", "pdf")


@dataclass
class Delivery:
    """What :func:`deliver` wrote, from which evaluation, and how long loading and writing took."""

    evaluation: YearEvaluation
    written: list[Path] = field(default_factory=list)
    load_seconds: float = 0.0
    write_seconds: float = 0.0


def table_format(fmt: str, lang: str) -> str:
    """The format of a workbook or CSV files in ``lang`` (zh or en): ``xlsx``, ``csv_en``, ..."""
    if lang not in ("zh", "en"):
        raise TTWError(f"--lang {lang!r}: expected zh or en")
    return fmt if lang == "zh" else f"{fmt}_{lang}"


def deliver(
    target: Target,
    year: int,
    out_dir: Path,
    formats: Iterable[str] = FORMATS,
    *,
    centers: str | list[str] | None = "all",
    paths: Mapping[str, Path] | None = None,
) -> Delivery:
    """Write ``formats`` of ``year`` under ``out_dir``, from one load of the published marts.

    ``centers``: the center pages of the HTML report ("all": every graded center; a list
    of codes; None: the year report only). ``paths``: format -> the file (xlsx) or folder
    (csv, html) it goes to instead of its place in ``LAYOUT``."""
    known, asked = (*LAYOUT, "pdf"), set(formats)  # known: the order they are written in, the PDF last
    unknown = sorted(asked - set(known))
    if unknown:
        raise TTWError(f"unknown deliverable format {', '.join(unknown)}: expected {', '.join(known)}")
    wanted = [fmt for fmt in known if fmt in asked]
    if "pdf" in wanted and "html" not in wanted:
        raise TTWError("the PDF prints the HTML year report: deliver html with pdf")
    where = {fmt: out_dir / place.format(year=year) for fmt, place in LAYOUT.items()} | dict(paths or {})

    started = time.perf_counter()
    delivery = Delivery(load_year(target, year))
    loaded = time.perf_counter()
    evaluation, written = delivery.evaluation, delivery.written
    for fmt in wanted:
        lang = "en" if fmt.endswith("_en") else "zh"
        if fmt.startswith("xlsx"):
            written.append(tables.write_xlsx(evaluation, where[fmt], lang))
        elif fmt.startswith("csv"):
            written += tables.write_csv(evaluation, where[fmt], lang)
        elif fmt == "html":
            written += html.write_report(evaluation, where[fmt], centers)
        elif fmt == "pdf":
            report = where["html"] / f"centers_{year}.html"
            written.append(pdf.print_pdf(report, where["html"] / f"centers_{year}.pdf"))
    delivery.load_seconds, delivery.write_seconds = loaded - started, time.perf_counter() - loaded
    return delivery
