"""One import name (issue 17): a wheel built from the repository installs exactly one top-level package,
``carbonrisk``, holding the three folders as ``carbonrisk.models``, ``carbonrisk.finance`` and
``carbonrisk.portfolios``; no code, notebook or document imports the folders under their old top-level names."""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import carbonrisk

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("models", "finance", "portfolios")
OLD_IMPORT = re.compile(r"^\s*(?:from|import)\s+(?:models|finance|portfolios)\b", re.MULTILINE)


def _tracked() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        pytest.skip("not a git checkout")
    return out.stdout.split()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built (pip, isolated build) from a copy of the tracked files, so the checkout gains no build/."""
    src = tmp_path_factory.mktemp("src")
    for name in _tracked():
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(src)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    (built,) = out.glob("carbonrisk-*.whl")
    return built


@pytest.mark.slow
def test_wheel_holds_exactly_one_top_level_package_with_every_module(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"carbonrisk"}
    expected = {"carbonrisk/__init__.py", "carbonrisk/py.typed"}
    for layer in LAYERS:
        for path in (ROOT / layer).rglob("*.py"):
            rel = path.relative_to(ROOT / layer)
            if "__pycache__" not in rel.parts and rel.parts[0] != "data":
                expected.add(f"carbonrisk/{layer}/{rel.as_posix()}")
    assert expected <= set(names), sorted(expected - set(names))
    for data in (
        "carbonrisk/models/data/cea_daily.csv",
        "carbonrisk/models/data/hbea_daily.csv",
        "carbonrisk/finance/examples/pledge_loan.toml",
        "carbonrisk/portfolios/data/demo_portfolio.toml",
    ):
        assert data in names
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    assert "carbonrisk = carbonrisk.portfolios.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


@pytest.mark.slow
def test_installed_wheel_imports_as_carbonrisk_only(wheel: Path, tmp_path: Path) -> None:
    """Unpacked into a folder of its own (no checkout on the path): the layers load from the wheel, the embedded
    prices load, and the old top-level names are not importable."""
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    script = (
        "import importlib.util, carbonrisk, carbonrisk.models.data as d;"
        "print(d.__file__);"
        "print(float(carbonrisk.load_prices('cea').prices.iloc[-1]));"
        "print([n for n in ('models', 'finance', 'portfolios') if importlib.util.find_spec(n) is not None])"
    )
    proc = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", script],
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    module_file, last_close, old_names = proc.stdout.splitlines()
    assert Path(module_file).is_relative_to(target)
    assert float(last_close) == pytest.approx(104.01)  # CEA close on 2024-10-31, models/data/cea_daily.csv
    assert old_names == "[]"


def test_nothing_imports_the_folders_by_their_old_top_level_names() -> None:
    offenders = []
    for name in _tracked():
        if name.endswith((".py", ".ipynb", ".md")):
            text = (ROOT / name).read_text(encoding="utf-8")
            if name.endswith(".ipynb"):
                text = text.replace('\\n",', "\n").replace('"', "")
            offenders += [f"{name}: {m.group(0).strip()}" for m in OLD_IMPORT.finditer(text)]
    assert offenders == []


def test_checkout_maps_the_three_names_to_the_folders_beside_the_facade() -> None:
    for layer in LAYERS:
        module = importlib.import_module(f"carbonrisk.{layer}")
        assert Path(module.__file__ or "").parent == ROOT / layer


def test_public_api_names_the_home_modules_objects_and_loads_nothing_on_import() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "import sys, carbonrisk; print(sorted(m for m in ('numpy', 'pandas') if m in sys.modules))"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stderr
    from carbonrisk import _EXPORTS

    assert set(carbonrisk.__all__) == {"__version__", *_EXPORTS}
    for name, home in _EXPORTS.items():
        assert getattr(carbonrisk, name) is getattr(importlib.import_module(home), name)
        assert (getattr(carbonrisk, name).__doc__ or "").strip()
    assert set(_EXPORTS) <= set(dir(carbonrisk))
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        _ = carbonrisk.nonsense  # type: ignore[attr-defined]
