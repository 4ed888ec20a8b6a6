"""carbonrisk.finance: what a contract is worth.

Instruments hold contract terms only; pricing engines hold the method (QuantLib analytic where a closed form
exists, Monte Carlo on a :class:`models.paths.PathSet` otherwise). ``finance`` may import ``models`` but never
``portfolios``.
"""
