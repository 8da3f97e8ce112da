"""Print an HTML deliverable to PDF (or a PNG screenshot) with headless Chromium.

Debian's ``chromium`` (``.ci/run`` installs it with ``fonts-noto-cjk``, so Chinese text
is drawn with real glyphs). The page's print stylesheet (A4, a page per section, rows
kept whole, headers repeated) decides the layout.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from ttw.errors import TTWError

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run")


def find_browser() -> str:
    for name in BROWSERS:
        if found := shutil.which(name):
            return found
    raise TTWError("headless Chromium is needed to print the report: apt-get install chromium fonts-noto-cjk")


def _run(args: list[str], done: Path, timeout: float) -> None:
    with tempfile.TemporaryDirectory(prefix="ttw-chromium-") as profile:
        result = subprocess.run(
            [find_browser(), *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    if result.returncode != 0 or not done.exists() or done.stat().st_size == 0:
        tail = (result.stderr or "").strip().splitlines()[-3:]
        raise TTWError(f"chromium could not write {done} (exit {result.returncode}): {' | '.join(tail)}")


def print_pdf(html: Path, pdf: Path, *, timeout: float = 180) -> Path:
    """``html`` printed to ``pdf`` (A4, no browser header or footer)."""
    pdf.parent.mkdir(parents=True, exist_ok=True)
    pdf.unlink(missing_ok=True)
    _run(["--no-pdf-header-footer", f"--print-to-pdf={pdf}", html.resolve().as_uri()], pdf, timeout)
    return pdf


def screenshot(html: Path, png: Path, *, width: int = 1000, height: int = 2600, timeout: float = 180) -> Path:
    """The top ``width`` by ``height`` pixels of ``html`` as a PNG."""
    png.parent.mkdir(parents=True, exist_ok=True)
    png.unlink(missing_ok=True)
    _run([f"--window-size={width},{height}", f"--screenshot={png}", html.resolve().as_uri()], png, timeout)
    return png
