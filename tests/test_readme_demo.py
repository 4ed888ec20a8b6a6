"""README figures are generated (issue 16): the README's demo block is what ``make demo`` prints today.

``benchmarks/readme_demo.py`` regenerates the block; this test runs the demo once (the default 4 000 paths, as
``make demo``) and compares, exactly when the installed packages match ``requirements.lock`` (pip-freeze
versions against the pins, :func:`carbonrisk.portfolios.ledger.environment_versions`), otherwise within the relative
tolerance of ``carbonrisk runs rerun`` (:data:`carbonrisk.portfolios.ledger.RERUN_RTOL`) or one unit of the last printed
digit. The run id and the seconds on the ``run id:`` line never compare.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from carbonrisk.portfolios.ledger import RERUN_RTOL, environment_versions

ROOT = Path(__file__).resolve().parents[1]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("readme_demo", ROOT / "benchmarks" / "readme_demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["readme_demo"] = module
    spec.loader.exec_module(module)
    return module


readme_demo = _script()


def test_the_docs_show_the_embedded_demo_portfolio() -> None:
    """The portfolio-file reference includes the demo file itself (so it cannot show a stale copy)."""
    page = (ROOT / "docs" / "reference" / "portfolio_file.md").read_text(encoding="utf-8")
    assert "```{literalinclude} ../../portfolios/data/demo_portfolio.toml" in page
    assert (ROOT / "portfolios" / "data" / "demo_portfolio.toml").is_file()


def test_the_comparison_catches_a_changed_figure() -> None:
    shown = "│ bank │ 4.1 │ 26.9 │\nrun id: 20261201T221249-308d3098 (92.7 s)\n"
    same = "│ bank │ 4.1 │ 26.9 │\nrun id: 20261202T000000-00000000 (13.0 s)\n"
    assert readme_demo.compare(shown, same, exact=True, rtol=0.0) == []
    rounded = same.replace("26.9", "27.0")  # one unit of the last printed digit: a rounding flip
    assert readme_demo.compare(shown, rounded, exact=True, rtol=0.0) != []
    assert readme_demo.compare(shown, rounded, exact=False, rtol=RERUN_RTOL) == []
    moved = same.replace("26.9", "27.1")
    assert readme_demo.compare(shown, moved, exact=False, rtol=RERUN_RTOL) == ["line 1: README 26.9 != demo 27.1"]
    assert readme_demo.compare(shown, same.replace("bank", "bonk"), exact=False, rtol=RERUN_RTOL) != []


@pytest.mark.slow
def test_readme_demo_block_is_what_make_demo_prints(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    printed = readme_demo.run_demo(tmp_path)  # numba's own cache: warm after the first run
    exact = environment_versions()["matches_lock"] == "yes"
    problems = readme_demo.compare(readme_demo.readme_output(readme), printed.stdout, exact=exact, rtol=RERUN_RTOL)
    assert problems == [], "README.md is stale: run `python benchmarks/readme_demo.py`\n" + "\n".join(problems)
