"""carbonrisk.models: what the future may look like.

Price histories (:mod:`models.data`), stochastic carbon-price models fitted on them, reproducible path sets
(:mod:`models.paths`, :mod:`models.random`), and geothermal emission-reduction and credit-volume models.
``models`` imports neither ``finance`` nor ``portfolios``.
"""

from models.data import PriceHistory, load_prices
from models.paths import PathSet

__all__ = ["PathSet", "PriceHistory", "load_prices"]
