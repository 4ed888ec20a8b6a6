"""Render a local HTML file in headless Chromium (Debian's, driven by Playwright) and record what it requested."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from carbonrisk.portfolios.pdf import CHROMIUM_FLAGS

_ARGS = list(CHROMIUM_FLAGS)


@dataclass(frozen=True)
class Rendered:
    """What the page showed and asked for."""

    requests: list[str]
    images_loaded: int
    images_total: int
    tables: int
    text: str


def chromium_path() -> str:
    """Path of the system chromium; skip locally when absent, fail in CI (where .ci/run installs it)."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs Debian's chromium package")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return path


def render(html_file: Path) -> Rendered:
    """Open ``html_file`` headless; return the requests made and the images and tables rendered."""
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = chromium_path()
    requests: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=_ARGS)
        try:
            page = browser.new_page()
            page.on("request", lambda request: requests.append(request.url))
            page.goto(html_file.resolve().as_uri(), wait_until="load")
            loaded = page.evaluate("Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).length")
            total = page.evaluate("document.images.length")
            tables = page.evaluate("document.querySelectorAll('table').length")
            text = page.inner_text("body")
        finally:
            browser.close()
    return Rendered(requests, int(loaded), int(total), int(tables), text)


def external_requests(rendered: Rendered, page: Path) -> list[str]:
    """Requests other than the page itself and inline data: URIs."""
    own = page.resolve().as_uri()
    return [url for url in rendered.requests if url != own and not url.startswith("data:")]


@dataclass(frozen=True)
class Layout:
    """How the page lays out in a viewport of a given width."""

    viewport_width: int
    scroll_width: int
    too_wide: list[str]
    """Elements whose right edge passes the viewport (tag#id and right edge in px)."""
    first_section: str
    """``id`` of the first ``<section>`` of the body."""
    visible_text: str
    requests: list[str]
    images_loaded: int
    images_total: int


def layout(html_file: Path, width: int = 1280, height: int = 900) -> Layout:
    """Open ``html_file`` headless in a ``width`` x ``height`` viewport and measure what does not fit."""
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = chromium_path()
    requests: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.on("request", lambda request: requests.append(request.url))
            page.goto(html_file.resolve().as_uri(), wait_until="load")
            too_wide = page.evaluate(
                """() => { const w = document.documentElement.clientWidth;
                return Array.from(document.querySelectorAll('body *'))
                  .filter(e => e.getBoundingClientRect().right > w + 0.5)
                  .map(e => e.tagName.toLowerCase() + '#' + (e.id || '') + ' '
                            + Math.round(e.getBoundingClientRect().right)); }"""
            )
            scroll = page.evaluate("document.documentElement.scrollWidth")
            first = page.evaluate("(document.querySelector('body section') || {}).id || ''")
            loaded = page.evaluate("Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).length")
            total = page.evaluate("document.images.length")
            text = page.inner_text("body")
        finally:
            browser.close()
    return Layout(width, int(scroll), list(too_wide), str(first), text, requests, int(loaded), int(total))
