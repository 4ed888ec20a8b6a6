"""report.pdf: the report page printed by headless Chromium (A4, page numbers and run id in every footer).

The page's own print stylesheet (:func:`carbonrisk.portfolios.html.page`) sets the A4 size, the page breaks between
sections and the footer (CSS page-margin boxes, which Chromium renders since version 131); Chromium's own header and
footer are switched off. When no Chromium is installed the report is written without a PDF and the run says so in one
warning line; nothing else changes. The browser runs with a fresh profile in a temporary folder, with networking
features off (the page is self-contained and requests nothing).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from carbonrisk.portfolios.exceptions import OutputError

__all__ = ["CHROMIUM_FLAGS", "chromium_executable", "print_pdf", "screenshot"]

CHROMIUM_FLAGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
)
"""Headless Chromium with its own network features off (a closed network refuses them); also used by the tests."""
_FLAGS = (*CHROMIUM_FLAGS, "--no-pdf-header-footer")
_TIMEOUT_S = 120.0


def chromium_executable() -> str | None:
    """The Chromium to print with: ``$CARBONRISK_CHROMIUM`` (empty disables), else ``chromium`` on the PATH."""
    chosen = os.environ.get("CARBONRISK_CHROMIUM")
    if chosen is not None:
        return shutil.which(chosen) if chosen else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def print_pdf(html_file: Path, pdf_file: Path) -> str | None:
    """Print ``html_file`` to ``pdf_file``; return ``None``, or a one-line reason why no PDF was written.

    Raises
    ------
    OutputError
        Chromium ran but failed or produced no PDF (its last stderr line is in the message).
    """
    executable = chromium_executable()
    if executable is None:
        return "no Chromium found to print report.pdf (install Debian's 'chromium', or set CARBONRISK_CHROMIUM)"
    with tempfile.TemporaryDirectory(prefix="carbonrisk-chromium-") as profile:
        command = [
            executable,
            *_FLAGS,
            f"--user-data-dir={profile}",
            f"--print-to-pdf={pdf_file}",
            html_file.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise OutputError(f"Chromium did not print '{html_file.name}' within {_TIMEOUT_S:.0f} s") from None
    if done.returncode != 0 or not pdf_file.is_file() or pdf_file.stat().st_size == 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        last = lines[-1].strip() if lines else f"exit code {done.returncode}"
        raise OutputError(f"Chromium could not print '{html_file.name}' to PDF: {last}")
    return None


def screenshot(html_file: Path, png_file: Path, *, width: int = 1280, height: int = 900) -> str | None:
    """Save the first ``width`` x ``height`` pixels of ``html_file`` as rendered by headless Chromium to
    ``png_file`` (the summary screenshot of notebook 04); return ``None``, or a one-line reason why there is none.

    Raises
    ------
    OutputError
        Chromium ran but failed or produced no image.
    """
    executable = chromium_executable()
    if executable is None:
        return "no Chromium found to take the screenshot (install Debian's 'chromium', or set CARBONRISK_CHROMIUM)"
    with tempfile.TemporaryDirectory(prefix="carbonrisk-chromium-") as profile:
        command = [
            executable,
            *CHROMIUM_FLAGS,
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            f"--screenshot={png_file}",
            html_file.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise OutputError(f"Chromium did not render '{html_file.name}' within {_TIMEOUT_S:.0f} s") from None
    if done.returncode != 0 or not png_file.is_file() or png_file.stat().st_size == 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        last = lines[-1].strip() if lines else f"exit code {done.returncode}"
        raise OutputError(f"Chromium could not take a screenshot of '{html_file.name}': {last}")
    return None
