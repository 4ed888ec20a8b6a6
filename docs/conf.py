"""Sphinx configuration of the carbonrisk documentation (``make docs``; offline, warnings are errors)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "docs" / "_ext")]

import shutil  # noqa: E402

from carbonrisk import __version__  # noqa: E402

# autosummary writes its pages into the source tree: start from none, so a removed module leaves no stale page
shutil.rmtree(ROOT / "docs" / "reference" / "generated", ignore_errors=True)

project = "carbonrisk"
author = "the carbonrisk developers"
copyright = "2026, the carbonrisk developers"
release = version = __version__

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # vendored MathJax 3: equations render with no network access
    "carbonrisk_docs",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
numpydoc_show_class_members = False
numpydoc_validation_checks: set[str] = set()
suppress_warnings = ["autosummary.import_cycle"]

html_theme = "alabaster"
html_title = f"carbonrisk {release}"
html_static_path: list[str] = []
html_theme_options = {"page_width": "1180px", "sidebar_width": "240px", "fixed_sidebar": True}
nitpicky = False
smartquotes = False  # option names such as --out stay two hyphens
