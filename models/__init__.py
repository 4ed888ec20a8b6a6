"""carbonrisk.models: what the future may look like.

Price histories (:mod:`models.data`), stochastic carbon-price models fitted on them, reproducible path sets
(:mod:`models.paths`, :mod:`models.random`), and geothermal emission-reduction and credit-volume models.
``models`` imports neither ``finance`` nor ``portfolios``.
"""

from models.cachedirs import ensure_writable_caches

ensure_writable_caches()  # before any cache=True kernel is decorated or matplotlib imported (models.cachedirs)

from models.data import PriceHistory, load_prices  # noqa: E402
from models.paths import PathSet  # noqa: E402

__all__ = ["PathSet", "PriceHistory", "load_prices"]
