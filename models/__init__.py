"""carbonrisk.models: what the future may look like.

Price histories (:mod:`carbonrisk.models.data`), stochastic carbon-price models fitted on them, reproducible path sets
(:mod:`carbonrisk.models.paths`, :mod:`carbonrisk.models.random`), and geothermal emission-reduction and credit-volume
models. ``models`` imports neither ``finance`` nor ``portfolios``.
"""

from carbonrisk.models.cachedirs import ensure_writable_caches

# before any cache=True kernel is decorated or matplotlib imported (carbonrisk.models.cachedirs)
ensure_writable_caches()

from carbonrisk.models.data import PriceHistory, load_prices  # noqa: E402
from carbonrisk.models.paths import PathSet  # noqa: E402

__all__ = ["PathSet", "PriceHistory", "load_prices"]
