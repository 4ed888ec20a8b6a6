"""Risk metrics of a portfolio run: tables for the report, the workbook, the JSON summary and the ledger.

Every table is a labelled DataFrame; :func:`analyse` returns them with the scalar summary metrics. Definitions of
the mismatch metrics and ES contributions are in :mod:`carbonrisk.portfolios.metrics`; the levers are defined in
:func:`lever_table`.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from carbonrisk.finance.exposure import exposure_from_values
from carbonrisk.finance.instruments import Derivative, PledgeLoan
from carbonrisk.finance.monetisation import LeverFlows, lever_flows
from carbonrisk.models.units import TRADING_DAYS_PER_YEAR
from carbonrisk.portfolios.components import (
    CREDIT_COLUMNS,
    DSCR_DUE_SHARE,
    DSCR_MIN_PATHS_DUE,
    PFE_RARE_EXPOSURE,
    LoanPaths,
    components,
    dscr_rows_of,
    informative_exposure_profile,
)
from carbonrisk.portfolios.engine import TEN_DAYS, PortfolioRun, discount_factors, exposure_rows
from carbonrisk.portfolios.exceptions import InputError
from carbonrisk.portfolios.metrics import (
    MismatchMetrics,
    cash_flow_at_risk,
    es_contributions,
    mismatch_metrics,
)
from carbonrisk.portfolios.risk import var_es

__all__ = [
    "CREDIT_COLUMNS",
    "DSCR_DUE_SHARE",
    "DSCR_MIN_PATHS_DUE",
    "PFE_RARE_EXPOSURE",
    "Analysis",
    "analyse",
    "component_tables",
    "counterparty_tables",
    "credit_table",
    "dscr_rows_of",
    "informative_exposure_profile",
    "lever_table",
    "project_mismatch",
]

LEVELS = (0.95, 0.99)


@dataclass
class Analysis:
    """Tables and scalar metrics of one run."""

    tables: dict[str, pd.DataFrame]
    metrics: dict[str, Any]
    breaches: list[dict[str, Any]] = field(default_factory=list)


def _components(run: PortfolioRun) -> list[str]:
    """Component names in the order of the engine's P&L rows: positions, obligations, contracts, projects."""
    return [c.label for c in components(run.context)]


def component_tables(run: PortfolioRun) -> dict[str, pd.DataFrame]:
    """Every component's report tables (:meth:`carbonrisk.portfolios.components.Component.tables`), the rows of a table
    shared by several components (``loans``, ``dscr``, ``projects``, ``compliance_cost_at_risk``) concatenated in
    the order of the components."""
    parts: dict[str, list[pd.DataFrame]] = {}
    for comp in components(run.context):
        for key, frame in comp.tables(run.arrays, run.context).items():
            parts.setdefault(key, []).append(frame)
    out = {}
    for key, frames in parts.items():
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        frame.attrs = dict(frames[0].attrs)
        out[key] = frame
    return out


def _pnl(run: PortfolioRun, key: str) -> np.ndarray:
    """Per component and path P&L at one horizon: value at h + carried cash flows - value today (engine)."""
    return np.asarray(run.arrays[key])


def historical_exposure(run: PortfolioRun) -> tuple[float, np.ndarray]:
    """The book's CEA-equivalent exposure and its 10-day P&L by historical simulation on the price history.

    The exposure ``b`` (CNY per unit relative CEA move) is the slope of the least-squares regression of the
    simulated total 10-day P&L on the paths' 10-day relative moves of CEA and CCER (``pnl ~ a + b_1 dCEA/CEA +
    b_2 dCCER/CCER``, ``b = b_1 + b_2``: a CCER-equivalent exposure moves with CEA, since the history has no CCER
    prices). The historical P&L is ``b (exp(r_10) - 1)`` over every overlapping 10-trading-day log-return
    ``r_10`` of the history. Linear: option convexity is not carried into the historical figure.
    """
    ctx = run.context
    i10 = list(ctx.fan_rows).index(ctx.row_10d)
    cea, ccer = np.asarray(run.arrays["cea_fan"]), np.asarray(run.arrays["ccer_fan"])
    x = np.column_stack([np.ones(cea.shape[1]), cea[i10] / cea[0] - 1.0, ccer[i10] / ccer[0] - 1.0])
    total = _pnl(run, "pnl_10d").sum(axis=0)
    beta = np.linalg.lstsq(x, total, rcond=None)[0]
    exposure = float(beta[1] + beta[2])
    log_p = np.log(run.history.prices.to_numpy(dtype=float))
    r10 = log_p[TEN_DAYS:] - log_p[:-TEN_DAYS]
    return exposure, exposure * np.expm1(r10)


def _risk_table(run: PortfolioRun) -> tuple[pd.DataFrame, dict[str, Any]]:
    rows, summary = [], {}
    hs: np.ndarray | None = None
    if _pnl(run, "pnl_10d").shape[0] and len(run.history.prices) > TEN_DAYS + 100:
        exposure, hs = historical_exposure(run)
        summary["cea_equivalent_exposure_t"] = exposure / float(run.history.last_price)
    for horizon, key in (("10d", "pnl_10d"), ("1y", "pnl_1y")):
        pnl = _pnl(run, key)
        if pnl.shape[0] == 0:
            continue
        total = pnl.sum(axis=0)
        for level in LEVELS:
            f = var_es(total, level, horizon_days=TEN_DAYS if horizon == "10d" else TRADING_DAYS_PER_YEAR)
            hs_var = var_es(hs, level, horizon_days=TEN_DAYS).var if hs is not None and horizon == "10d" else math.nan
            rows.append(
                {
                    "horizon": horizon,
                    "level": level,
                    "var_cny": f.var,
                    "var_se_cny": f.var_se,
                    "es_cny": f.es,
                    "es_se_cny": f.es_se,
                    "hs_var_cny": hs_var,
                }
            )
            if hs is not None and horizon == "10d":
                summary[f"hs_var_{int(level * 100)}_10d_cny"] = hs_var
            summary[f"var_{int(level * 100)}_{horizon}_cny"] = f.var
            summary[f"es_{int(level * 100)}_{horizon}_cny"] = f.es
    return pd.DataFrame(rows), summary


def _contributions(run: PortfolioRun) -> tuple[pd.DataFrame, float]:
    pnl = _pnl(run, "pnl_1y")
    names = _components(run)
    if pnl.shape[0] == 0:
        return pd.DataFrame(), 0.0
    frame = es_contributions({n: -pnl[i] for i, n in enumerate(names)}, 0.99)
    return frame, float(frame.attrs["diversification_benefit"])


def _years(run: PortfolioRun) -> np.ndarray:
    return np.asarray(run.context.years)


def _portfolio_cash_flows(run: PortfolioRun) -> np.ndarray:
    """Per year and path: project cash flows minus the (hedged) compliance purchases of the obligations."""
    cf = (
        run.arrays["total_cash_flow_cny"].copy()
        if run.portfolio.projects
        else np.zeros((len(run.context.years), run.n_paths))
    )
    for i, ob in enumerate(run.portfolio.obligations):
        cf[ob.year - run.context.years[0]] -= run.arrays["obligation_cost_hedged"][i]
    return cf


def _project_tables(run: PortfolioRun, projects: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The projects table (rows of :class:`~carbonrisk.portfolios.components.ProjectComponent`) and the projects'
    contributions to the 95 % NPV shortfall."""
    a = run.arrays
    npvs = {spec.name: a.load("project_npv_cny", k) for k, spec in enumerate(run.portfolio.projects)}
    contributions = es_contributions({n: v.mean() - v for n, v in npvs.items()}, 0.95)
    contributions.index.name = "project"
    return {"projects": projects, "project_es_contributions": contributions}


@dataclass(frozen=True)
class _MismatchInputs:
    """One project's (or all projects') per-year, per-path arrays of the mismatch metrics, read once."""

    income_cny: np.ndarray
    costs_cny: np.ndarray
    credits_t: np.ndarray
    other_cny: np.ndarray


def _mismatch_inputs(run: PortfolioRun, which: int | None) -> _MismatchInputs:
    """Project ``which``'s arrays (one project's slice of the run's spill files), or the totals with ``None``."""
    a = run.arrays
    if which is None:
        income, costs = a["total_income_cny"], a["total_costs_cny"]
        credits, other = a["total_credits_t"], a["total_heat_revenue_cny"]
    else:
        income, costs = a.load("project_income", which), a.load("project_costs", which)
        credits, other = a.load("project_credits", which), a.load("project_heat_revenue", which)
    return _MismatchInputs(income, costs, credits, other)


def _mismatch(
    run: PortfolioRun,
    which: int | None,
    lever: LeverFlows | None = None,
    inputs: _MismatchInputs | None = None,
    expected_price_cny_per_t: np.ndarray | None = None,
) -> Any:
    """Mismatch metrics of one project (``which``) or of all projects, with a lever's cash flows added: its carbon
    income to the income, its financing apart, its costs to the costs and their expectation to the plan (so the
    coverage counts only unexpected losses). ``inputs`` and ``expected_price_cny_per_t`` (the CCER annual averages'
    mean by year) may be given, read once by a caller that evaluates several levers."""
    ctx = run.context
    sel = slice(None) if which is None else slice(which, which + 1)
    arrays = _mismatch_inputs(run, which) if inputs is None else inputs
    income, costs = arrays.income_cny, arrays.costs_cny
    if expected_price_cny_per_t is None:
        expected_price_cny_per_t = run.arrays["ccer_annual"].mean(axis=1)
    plan_costs = ctx.planned_costs_cny[sel].sum(axis=0)
    financing = None
    if lever is not None:
        income = income + lever.carbon_income_cny
        costs = costs + lever.costs_cny
        plan_costs = plan_costs + lever.costs_cny.mean(axis=1)
        financing = lever.financing_cny
    return mismatch_metrics(
        list(_years(run)),
        run.times_years,
        income,
        costs,
        arrays.credits_t,
        expected_price_cny_per_t,
        arrays.other_cny,
        planned_costs_cny=plan_costs,
        planned_credits_t=ctx.planned_credits_t[sel].sum(axis=0),
        financing_cny=financing,
    )


def project_mismatch(run: PortfolioRun, project: int | str | None = None) -> MismatchMetrics:
    """Mismatch metrics of one project (index or name) or, with ``None``, of all projects together."""
    if isinstance(project, str):
        names = [p.name for p in run.portfolio.projects]
        if project not in names:
            raise InputError(f"project '{project}' is not in the portfolio; projects: {', '.join(names)}")
        project = names.index(project)
    result: MismatchMetrics = _mismatch(run, project)
    return result


def lever_table(run: PortfolioRun) -> pd.DataFrame:
    r"""How each lever changes the portfolio's mismatch metrics, and its expected cost.

    The levers are :func:`carbonrisk.finance.monetisation.lever_flows` (definitions and repayment rules there) applied
    to the run's own per-path combined credits ``C_y`` of the projects, CCER annual averages ``P_y`` and capex, with the
    market curve's discount factors (the run's one discounting convention); they draw no randomness of their own.
    A lever's carbon income enters the mismatch metrics as carbon income, its financing (loan proceeds, debt
    service) apart from it (funding gap only) and its costs as costs, their expectation added to the plan.

    Columns besides the mismatch summary: ``coverage_<year>`` every fifth year from the first year with a loss,
    ``upfront_carbon_income_cny`` and ``upfront_financing_cny`` (expected, in the lever's first year),
    ``pv_financing_proceeds_cny`` and ``pv_cost_cny`` :math:`= -E[\sum_y D_y \Delta CF_y]`: **positive = the
    lever costs the project money**.
    """
    if not run.portfolio.projects:
        return pd.DataFrame()
    a = run.arrays
    disc = discount_factors(run.context)
    capex = a["total_capex_cny"]
    start = int(np.argmax(capex.sum(axis=1) > 0))
    terms = dataclasses.asdict(run.portfolio.levers)
    inputs = _mismatch_inputs(run, None)  # read once for the six rows (the spilled totals are 168 MB per 1M paths)
    price = a["ccer_annual"]
    expected_price = price.mean(axis=1)
    flows = lever_flows(inputs.credits_t, price, disc, capex, **terms)
    years = _years(run)
    rows = []
    for lever in itertools.chain([None], flows):  # one lever's arrays alive at a time
        m = _mismatch(run, None, lever, inputs, expected_price)
        if lever is None:  # coverage columns every fifth year from the first year with a loss
            counted = m.profile["coverage_probability"].notna().to_numpy()
            years = years[int(np.argmax(counted)) :: 5] if counted.any() else years[:0]
        rows.append(
            {
                "lever": "none" if lever is None else lever.name,
                **m.summary(),
                **{f"coverage_{y}": float(m.profile["coverage_probability"].loc[y]) for y in years},
                "upfront_carbon_income_cny": 0.0 if lever is None else float(lever.carbon_income_cny[start].mean()),
                "upfront_financing_cny": 0.0 if lever is None else float(lever.financing_cny[start].mean()),
                "pv_financing_proceeds_cny": 0.0 if lever is None else lever.pv_financing_proceeds_cny(disc),
                "pv_cost_cny": 0.0 if lever is None else lever.pv_cost_cny(disc),
            }
        )
        del lever, m
    frame = pd.DataFrame(rows)
    frame.attrs["sign"] = "pv_cost_cny > 0: the lever costs the project money (minus the expected PV of its flows)"
    return frame


def _limits(run: PortfolioRun, risk_summary: dict[str, Any]) -> list[dict[str, Any]]:
    pf, lim = run.portfolio, run.portfolio.limits
    breaches = []
    checks = [
        ("var_99_10d_cny", lim.var_99_10d_cny, risk_summary.get("var_99_10d_cny")),
        ("es_99_1y_cny", lim.es_99_1y_cny, risk_summary.get("es_99_1y_cny")),
    ]
    for name, limit, value in checks:
        if limit is not None and value is not None and value > limit:
            breaches.append({"limit": name, "limit_value": limit, "value": value, "excess": value - limit})
    for asset, limit in lim.position_t.items():
        held = sum(p.quantity_t for p in pf.positions if p.asset == asset)
        if held > limit:
            breaches.append(
                {"limit": f"position_t.{asset}", "limit_value": limit, "value": held, "excess": held - limit}
            )
    if lim.ltv_max is not None:
        for spec in pf.contracts:
            if isinstance(spec.instrument, PledgeLoan) and spec.instrument.ltv > lim.ltv_max:
                ltv = spec.instrument.ltv
                breaches.append(
                    {
                        "limit": f"ltv_max ({spec.name})",
                        "limit_value": lim.ltv_max,
                        "value": ltv,
                        "excess": ltv - lim.ltv_max,
                    }
                )
    return breaches


def credit_table(run: PortfolioRun) -> pd.DataFrame | None:
    """Credit figures of every loan that has a ``borrower_pd_1y`` or ``rating``, from the run's paths: the
    ``credit`` rows of the loans' components (:meth:`carbonrisk.portfolios.components.ContractComponent.tables`, columns
    :data:`~carbonrisk.portfolios.components.CREDIT_COLUMNS` plus ``pd_lifetime_se`` and the IFRS 9 stage reason). None
    when no loan has credit inputs."""
    return component_tables(run).get("credit")


def counterparty_tables(run: PortfolioRun) -> dict[str, pd.DataFrame]:
    """Counterparty exposure of the book's closed-form derivatives on the run's paths (issue 15).

    ``counterparty``: one row per derivative (``contract``, ``type``, ``peak_epe_cny``, ``peak_pfe_cny``,
    ``effective_epe_cny``, ``pfe_level``, ``cva_cny``, ``cva_se_cny``, ``counterparty_pd_1y``,
    ``counterparty_lgd``) and ``cpty_epe_<name>``: its profile (``epe_cny``, ``epe_se_cny``, ``ene_cny``,
    ``pfe_cny`` by date), from :func:`carbonrisk.finance.exposure.exposure_from_values` on the values the blocks kept on
    :func:`carbonrisk.portfolios.engine.exposure_rows` (no netting, no collateral; CVA with the contract's
    ``counterparty_pd_1y`` / ``counterparty_rating`` and ``counterparty_lgd``, None without them). Empty when the
    book has no such derivative.
    """
    out: dict[str, pd.DataFrame] = {}
    rows = []
    market = run.context.market.build()
    for c, contract in enumerate(run.portfolio.contracts):
        inst = contract.instrument
        key = LoanPaths.key(c, "exposure_values")
        if not isinstance(inst, Derivative) or key not in run.arrays:
            continue
        dates = pd.DatetimeIndex(run.context.dates[exposure_rows(run.context, inst)])
        exp = exposure_from_values(
            market,
            dates,
            np.asarray(run.arrays[key], dtype=float),
            counterparty_pd_1y=inst.counterparty_pd(),
            counterparty_lgd=float(inst.counterparty_lgd),
        )
        rows.append({"contract": contract.name, "type": inst.kind, **exp.summary()})
        out[f"cpty_epe_{contract.name}"[:31]] = exp.to_frame().rename_axis("date")
    if rows:
        out = {"counterparty": pd.DataFrame(rows), **out}
    return out


def analyse(run: PortfolioRun) -> Analysis:
    """Every table and metric of the report."""
    pf, a = run.portfolio, run.arrays
    tables: dict[str, pd.DataFrame] = {}
    metrics: dict[str, Any] = {"n_paths": run.n_paths, "seed": pf.seed}
    risk, risk_summary = _risk_table(run)
    tables["var_es"] = risk
    metrics |= risk_summary
    contrib, benefit = _contributions(run)
    if not contrib.empty:
        tables["es_contributions_1y_99"] = contrib
        metrics["diversification_benefit_1y_99_cny"] = benefit
    fan_dates = run.context.dates[list(run.context.fan_rows)]
    for factor, key in (("CEA", "cea_fan"), ("CCER", "ccer_fan")):
        q = np.quantile(a[key], [0.05, 0.25, 0.5, 0.75, 0.95], axis=1).T
        tables[f"fan_{factor}"] = pd.DataFrame(
            q, index=pd.Index(fan_dates, name="date"), columns=["p05", "p25", "p50", "p75", "p95"]
        )
    years = list(_years(run))
    if pf.projects or pf.obligations:
        tables["cash_flow_at_risk"] = cash_flow_at_risk(_portfolio_cash_flows(run), years, 0.95)
    own = component_tables(run)
    if pf.projects:
        tables |= _project_tables(run, own.pop("projects"))
        m = _mismatch(run, None)
        metrics["mismatch"] = m.summary()
        tables["mismatch_profile"] = m.profile
        per_project = []
        for k, spec in enumerate(pf.projects):
            per_project.append({"project": spec.name, **_mismatch(run, k).summary()})
        per_project.append({"project": "portfolio", **m.summary()})
        tables["mismatch"] = pd.DataFrame(per_project)
        tables["levers"] = lever_table(run)
    for key in ("compliance_cost_at_risk", "loans"):
        if key in own:
            tables[key] = own.pop(key)
    dscr = own.pop("dscr", None)
    tables |= own  # exposure_<loan> profiles
    credit = own.pop("credit", None)
    if credit is not None:
        tables["credit"] = credit
    tables |= counterparty_tables(run)
    if dscr is not None:
        tables["dscr"] = dscr
    if pf.contracts:
        pv = a["contract_pv"]
        regs = run.context.regressions
        nan = float("nan")
        tables["contracts"] = pd.DataFrame(
            {
                "contract": [c.name for c in pf.contracts],
                "type": [c.instrument.kind for c in pf.contracts],
                "value_cny": pv.mean(axis=1),
                "value_se_cny": [
                    0.0 if r is None else float(pv[c].std(ddof=1) / np.sqrt(pv.shape[1])) for c, r in enumerate(regs)
                ],
                "revaluation": [
                    "closed form per path"
                    if r is None
                    else ("pathwise (settled by 1y)" if r[1].exact else "regression on pilot set")
                    for r in regs
                ],
                "regression_residual_sd_10d_cny": [nan if r is None else r[0].residual_sd for r in regs],
                "regression_residual_sd_1y_cny": [nan if r is None else r[1].residual_sd for r in regs],
                "delta_CEA": [
                    dict(d).get("CEA", 0.0 if r is None else nan) for d, r in zip(run.context.deltas, regs, strict=True)
                ],
                "delta_CCER": [
                    dict(d).get("CCER", 0.0 if r is None else nan)
                    for d, r in zip(run.context.deltas, regs, strict=True)
                ],
            }
        )
    breaches = _limits(run, risk_summary)
    tables["limit_breaches"] = pd.DataFrame(breaches, columns=["limit", "limit_value", "value", "excess"])
    metrics["limit_breaches"] = len(breaches)
    return Analysis(tables=tables, metrics=metrics, breaches=breaches)
