"""The documentation site: it builds offline with zero warnings, its reference is generated, every public object
has a docstring."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("carbonrisk.models", "carbonrisk.finance", "carbonrisk.portfolios")


def _modules() -> list[str]:
    names = ["carbonrisk"]
    for package in PACKAGES:
        names.append(package)
        pkg = importlib.import_module(package)
        names += [m.name for m in pkgutil.walk_packages(pkg.__path__, prefix=f"{package}.")]
    return names


@pytest.mark.slow
def test_every_public_function_and_class_has_a_docstring() -> None:
    """Every module, and every public function and class a module defines (or lists in ``__all__``), is documented."""
    missing = []
    for name in _modules():
        module = importlib.import_module(name)
        if not (module.__doc__ or "").strip():
            missing.append(name)
        public = getattr(module, "__all__", None)
        members = public if public is not None else [n for n in vars(module) if not n.startswith("_")]
        for member in members:
            obj = getattr(module, member, None)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if getattr(obj, "__module__", None) != name:
                continue  # imported from elsewhere: checked where it is defined
            if not (inspect.getdoc(obj) or "").strip():
                missing.append(f"{name}.{member}")
    assert not missing, f"public objects without a docstring: {missing}"


@pytest.mark.slow
def test_docs_build_offline_with_zero_warnings(tmp_path: Path) -> None:
    """``make docs`` in a scratch folder: warnings are errors, no page loads anything from the network, the
    generated references list every command and every declared key, and equations use the vendored MathJax."""
    out = tmp_path / "html"
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-E", "-W", "--keep-going", "-q", "-b", "html", "docs", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "WARNING" not in proc.stderr, proc.stderr[-4000:]
    remote = re.compile(r"""(?:src|href)=["'](?:https?:)?//""")
    for page in out.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        for match in remote.finditer(text):
            line = text[match.start() : match.start() + 160]
            assert "<script" not in line and 'rel="stylesheet"' not in line, f"{page.name}: {line}"
        assert not re.search(r"<script[^>]+src=[\"']https?://", text), page.name
        assert not re.search(r"<link[^>]+href=[\"']https?://[^>]+stylesheet", text), page.name
    assert (out / "_static" / "mathjax" / "tex-chtml.js").is_file()
    assert "mathjax/tex-chtml.js" in (out / "models" / "price_models.html").read_text(encoding="utf-8")

    from carbonrisk.finance.quantities import declared_instrument_quantities
    from carbonrisk.models.quantities import declared_quantities
    from carbonrisk.portfolios.cli import build_parser

    cli = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", (out / "reference" / "cli.html").read_text(encoding="utf-8")))
    commands = next(a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    for command in commands.choices:  # type: ignore[union-attr]
        assert f"carbonrisk {command}" in cli, command
    keys = (out / "reference" / "portfolio_file.html").read_text(encoding="utf-8")
    for q in declared_quantities():
        if " " not in q.name:
            assert f">{q.key}<" in keys, q.name
    contract = (out / "reference" / "contract_file.html").read_text(encoding="utf-8")
    for q in declared_instrument_quantities():
        assert f">{q.key}<" in contract, q.name
    evidence = out / "evidence" / "generated"
    assert len(list(evidence.glob("*.html"))) > 50  # one page per test module


def test_cited_tests_exist() -> None:
    """Every ``{test}`` citation in the model documentation names a test that exists (the build also checks)."""
    sys.path.insert(0, str(ROOT / "docs" / "_ext"))
    try:
        from carbonrisk_docs import _tests_of
    finally:
        sys.path.pop(0)
    cited = 0
    for page in (ROOT / "docs").rglob("*.md"):
        for path, name in re.findall(r"\{test\}`([^`:]+)::([^`]+)`", page.read_text(encoding="utf-8")):
            cited += 1
            file = ROOT / path
            assert file.is_file(), f"{page.name}: {path}"
            assert name in {n for n, _ in _tests_of(file)}, f"{page.name}: {path}::{name}"
    assert cited >= 40
