"""carbonrisk.portfolios: what a book of positions risks.

Orchestration of the joint Monte Carlo, risk metrics, reports and the ``carbonrisk`` command line. Imports point
down only: ``portfolios -> finance -> models``.
"""

from carbonrisk import __version__

__all__ = ["__version__"]
