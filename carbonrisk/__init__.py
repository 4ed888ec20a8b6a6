"""carbonrisk: carbon-finance and portfolio risk engine.

One import name, three layers that import downwards only (``portfolios -> finance -> models``):

:mod:`carbonrisk.models`
    What the future may look like: price histories, stochastic carbon-price models, reproducible path sets,
    geothermal emission-reduction and credit-volume models.
:mod:`carbonrisk.finance`
    What a contract is worth: instruments and their pricing engines.
:mod:`carbonrisk.portfolios`
    What a book risks: the joint Monte Carlo, risk metrics, reports, the run ledger and the ``carbonrisk`` command.

The repository keeps the three layers in its top-level folders ``models/``, ``finance/`` and ``portfolios/``; a
wheel installs them inside this package (setuptools ``package-dir`` in ``pyproject.toml``). In a checkout (an
editable install, ``PYTHONPATH`` pointing at the repository, a ``git worktree``), a finder maps the three names,
and only them, to the folders beside this one, so ``carbonrisk.models`` is always the ``models/`` of this file's
own tree.

The public API below is imported on first use (``import carbonrisk`` alone loads no numerical library), and each
name is the object of its home module, documented there:

========================  ==================================================================================
``load_prices``           a price history, embedded (``"cea"``, ``"hbea"``) or from a CSV file
``fit_model``             fit a price model (default GARCH(1,1) with filtered historical simulation)
``load_contract_file``    a TOML contract file: instruments and their market
``load_example``          one of the shipped contract examples (``carbonrisk value --list-examples``)
``value_all``             value instruments on one shared path set, with standard errors and sensitivities
``load_portfolio``        a portfolio file (TOML, CSV or XLSX positions, books, limits)
``portfolio_from_text``   a portfolio from TOML text (a notebook's or a test's own book)
``run_portfolio``         its joint Monte Carlo: values and cash flows per date and path
``analyse_book``          the risk metrics of one book of that run
``run_report``            Monte Carlo, analysis, the HTML / Excel report and its ledger record
``Ledger``                the audit trail of every run (``carbonrisk runs``)
========================  ==================================================================================

Examples
--------
>>> import carbonrisk
>>> history = carbonrisk.load_prices("cea")
>>> fit = carbonrisk.fit_model(history)
>>> paths = fit.simulate(250, 1_000, rng=20241031)  # 250 trading days, 1 000 paths
>>> contract = carbonrisk.load_example("pledge_loan")
>>> (loan,) = carbonrisk.value_all(contract.instruments, contract.market, n_paths=20_000, rng=1)
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAYERS = ("models", "finance", "portfolios")


class _CheckoutFinder(importlib.abc.MetaPathFinder):
    """Finds ``carbonrisk.models`` / ``.finance`` / ``.portfolios`` in the folders beside this package (a checkout)."""

    def __init__(self, root: Path) -> None:
        self.folders = {f"{__name__}.{layer}": root / layer for layer in _LAYERS}

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        """The layer's package spec, or None for every other name."""
        folder = self.folders.get(fullname)
        if folder is None:
            return None
        return importlib.util.spec_from_file_location(
            fullname, folder / "__init__.py", submodule_search_locations=[str(folder)]
        )


_HERE = Path(__file__).resolve().parent
if not (_HERE / "models").is_dir() and (_HERE.parent / "models" / "__init__.py").is_file():
    sys.meta_path.insert(0, _CheckoutFinder(_HERE.parent))  # a checkout: the layers are the folders beside this one

_EXPORTS = {
    "load_prices": "carbonrisk.models.data",
    "fit_model": "carbonrisk.models.catalog",
    "load_contract_file": "carbonrisk.finance.contracts",
    "load_example": "carbonrisk.finance.contracts",
    "value_all": "carbonrisk.finance.valuation",
    "load_portfolio": "carbonrisk.portfolios.portfolio",
    "portfolio_from_text": "carbonrisk.portfolios.portfolio",
    "run_portfolio": "carbonrisk.portfolios.engine",
    "analyse_book": "carbonrisk.portfolios.books",
    "run_report": "carbonrisk.portfolios.runner",
    "Ledger": "carbonrisk.portfolios.ledger",
}

__all__ = [
    "Ledger",
    "__version__",
    "analyse_book",
    "fit_model",
    "load_contract_file",
    "load_example",
    "load_portfolio",
    "load_prices",
    "portfolio_from_text",
    "run_portfolio",
    "run_report",
    "value_all",
]

if TYPE_CHECKING:
    from carbonrisk.finance.contracts import load_contract_file, load_example
    from carbonrisk.finance.valuation import value_all
    from carbonrisk.models.catalog import fit_model
    from carbonrisk.models.data import load_prices
    from carbonrisk.portfolios.books import analyse_book
    from carbonrisk.portfolios.engine import run_portfolio
    from carbonrisk.portfolios.ledger import Ledger
    from carbonrisk.portfolios.portfolio import load_portfolio, portfolio_from_text
    from carbonrisk.portfolios.runner import run_report


def __getattr__(name: str) -> Any:
    """The public API's objects, imported from their home modules on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'carbonrisk' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's names and the public API's."""
    return sorted({*globals(), *_EXPORTS})
