"""carbonrisk.finance: what a contract is worth.

Instruments hold contract terms only; pricing engines hold the method (QuantLib analytic where a closed form
exists, Monte Carlo on a :class:`carbonrisk.models.paths.PathSet` otherwise). ``finance`` may import ``models`` but
never ``portfolios``.

Modules
-------
market
    ``DiscountCurve`` (QuantLib flat or deposit / IRS bootstrap), ``ForwardCurve`` (carry or quotes), ``MarketEnv``.
instruments
    Contract terms: forwards, European and Asian options, guaranteed-price contracts, carbon swaps and swaptions,
    CEA / CCER exchange options, pledge loans, project loans, early monetisation of future credits, green
    structured deposits, carbon-linked bonds.
engines, loans, monetisation, structured
    Pricing engines; each ``calculate(instrument, *, market, paths=None, rng=None, quick=False) -> PricingResult``.
valuation
    Path sources (``GBMSource``, ``FixedPaths``), the engines of each instrument, ``value_all`` with
    bump-and-revalue sensitivities on common random numbers.
contracts
    TOML contract files and the sample files in ``finance/examples``.
results, schedules, exceptions
    ``PricingResult``; SSE fixing days and QuantLib payment schedules; the package's errors.
"""
