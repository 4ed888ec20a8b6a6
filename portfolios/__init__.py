"""carbonrisk.portfolios: what a book of positions risks.

Orchestration of the joint Monte Carlo, risk metrics, reports and the ``carbonrisk`` command line. Imports point
down only: ``portfolios -> finance -> models``.
"""

__version__ = "0.1.0"
