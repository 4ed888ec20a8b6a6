"""Risk metrics of a portfolio run: tables for the report, the workbook, the JSON summary and the ledger.

Every table is a labelled DataFrame; :func:`analyse` returns them with the scalar summary metrics. Definitions of
the mismatch metrics and ES contributions are in :mod:`portfolios.metrics`; the levers are defined in
:func:`lever_table`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from finance.instruments import PledgeLoan, ProjectLoan
from finance.loans import pledge_credit_figures, project_credit_figures
from finance.monetisation import LeverFlows, lever_flows
from models.units import TRADING_DAYS_PER_YEAR
from portfolios.components import LoanPaths
from portfolios.engine import TEN_DAYS, PortfolioRun, discount_factors, pledge_rows
from portfolios.exceptions import InputError
from portfolios.metrics import (
    MismatchMetrics,
    cash_flow_at_risk,
    es_contributions,
    exposure_profile,
    mismatch_metrics,
)
from portfolios.risk import var_es

__all__ = ["Analysis", "analyse", "lever_table", "project_mismatch"]

LEVELS = (0.95, 0.99)


@dataclass
class Analysis:
    """Tables and scalar metrics of one run."""

    tables: dict[str, pd.DataFrame]
    metrics: dict[str, Any]
    breaches: list[dict[str, Any]] = field(default_factory=list)


def _components(run: PortfolioRun) -> list[str]:
    """Component names in the order of the engine's P&L rows: positions, obligations, contracts."""
    pf = run.portfolio
    return (
        [f"position: {p.name}" for p in pf.positions]
        + [f"obligation: {o.name}" for o in pf.obligations]
        + [f"contract: {c.name}" for c in pf.contracts]
    )


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


def _project_tables(run: PortfolioRun) -> dict[str, pd.DataFrame]:
    pf = run.portfolio
    if not pf.projects:
        return {}
    a = run.arrays
    rows, npvs = [], {}
    for k, spec in enumerate(pf.projects):
        values = a.load("project_npv_cny", k)
        at_hurdle = a.load("project_npv_hurdle_cny", k)
        npvs[spec.name] = values
        rates = a.load("project_irr", k)
        pb = a.load("project_payback_year", k)
        rows.append(
            {
                "project": spec.name,
                "npv_mean_cny": float(values.mean()),
                "npv_p05_cny": float(np.quantile(values, 0.05)),
                "npv_p50_cny": float(np.quantile(values, 0.50)),
                "npv_p95_cny": float(np.quantile(values, 0.95)),
                "hurdle_rate": pf.market.discount_rate + spec.hurdle_spread(pf.market.discount_rate),
                "npv_hurdle_mean_cny": float(at_hurdle.mean()),
                "npv_hurdle_p05_cny": float(np.quantile(at_hurdle, 0.05)),
                "npv_hurdle_p50_cny": float(np.quantile(at_hurdle, 0.50)),
                "npv_hurdle_p95_cny": float(np.quantile(at_hurdle, 0.95)),
                "irr_p05": float(np.nanquantile(rates, 0.05)) if np.isfinite(rates).any() else np.nan,
                "irr_p50": float(np.nanquantile(rates, 0.50)) if np.isfinite(rates).any() else np.nan,
                "irr_p95": float(np.nanquantile(rates, 0.95)) if np.isfinite(rates).any() else np.nan,
                "payback_year_p50": float(np.nanmedian(pb)) if np.isfinite(pb).any() else np.nan,
                "p_no_payback": float(np.mean(np.isnan(pb))),
                "credits_issued_mean_t": float(a.load("project_credits_sum_t", k).mean()),
                "carbon_income_mean_cny": float(a.load("project_income_sum_cny", k).mean()),
            }
        )
    contributions = es_contributions({n: v.mean() - v for n, v in npvs.items()}, 0.95)
    contributions.index.name = "project"
    projects = pd.DataFrame(rows)
    projects.attrs["units"] = {"hurdle_rate": "%"}
    return {"projects": projects, "project_es_contributions": contributions}


def _mismatch(run: PortfolioRun, which: int | None, lever: LeverFlows | None = None) -> Any:
    """Mismatch metrics of one project (``which``) or of all projects, with a lever's cash flows added: its carbon
    income to the income, its financing apart, its costs to the costs and their expectation to the plan (so the
    coverage counts only unexpected losses)."""
    a = run.arrays
    ctx = run.context
    sel = slice(None) if which is None else slice(which, which + 1)
    if which is None:
        income, costs = a["total_income_cny"], a["total_costs_cny"]
        credits, other = a["total_credits_t"], a["total_heat_revenue_cny"]
    else:  # one project's arrays, read from the run's spill files
        income, costs = a.load("project_income", which), a.load("project_costs", which)
        credits, other = a.load("project_credits", which), a.load("project_heat_revenue", which)
    expected_price = a["ccer_annual"].mean(axis=1)
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
        credits,
        expected_price,
        other,
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

    The levers are :func:`finance.monetisation.lever_flows` (definitions and repayment rules there) applied to the
    run's own per-path combined credits ``C_y`` of the projects, CCER annual averages ``P_y`` and capex, with the
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
    flows = lever_flows(a["total_credits_t"], a["ccer_annual"], disc, capex, **terms)
    years = _years(run)
    rows = []
    for lever in (None, *flows):
        m = _mismatch(run, None, lever)
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


CREDIT_COLUMNS: tuple[str, ...] = (
    "pd_lifetime",
    "lgd",
    "ead_cny",
    "ecl_12m_cny",
    "ecl_lifetime_cny",
    "ifrs9_stage",
    "ecl_allowance_cny",
    "irb_pd_1y",
    "irb_risk_weight",
    "irb_capital_cny",
    "rwa_cny",
    "standardised_risk_weight",
    "standardised_capital_cny",
    "carbon_collateral_recognised",
)
"""Columns of the report's credit table (the keys of :meth:`finance.credit.LoanCreditFigures.to_dict`)."""


def credit_table(run: PortfolioRun) -> pd.DataFrame | None:
    """Credit figures of every loan that has a ``borrower_pd_1y`` or ``rating``, from the run's paths.

    One row per loan: :data:`CREDIT_COLUMNS` from :func:`finance.loans.pledge_credit_figures` /
    :func:`finance.loans.project_credit_figures` on the run's merged per-path default times, losses and EADs
    (the same paths as the P&L), plus ``pd_lifetime_se`` and the IFRS 9 stage reason. None when no loan has
    credit inputs.
    """
    rows = []
    a = run.arrays
    market = run.context.market.build()
    for c, contract in enumerate(run.portfolio.contracts):
        inst = contract.instrument
        if not isinstance(inst, PledgeLoan | ProjectLoan) or (inst.borrower_pd_1y is None and inst.rating is None):
            continue
        loan = LoanPaths.read(a, c)
        assert loan.default_time_years is not None and loan.ead_cny is not None
        if isinstance(inst, PledgeLoan):
            figs = pledge_credit_figures(
                inst, market, default_time_years=loan.default_time_years, loss_cny=loan.loss_cny, ead_cny=loan.ead_cny
            )
        else:
            figs = project_credit_figures(inst, market, loan.default_time_years, loan.loss_cny, loan.ead_cny)
        assert figs is not None
        d = figs.to_dict()
        row: dict[str, object] = {"loan": contract.name}
        row.update({k: d[k] for k in CREDIT_COLUMNS})
        row["pd_lifetime_se"] = d["pd_lifetime_se"]
        row["ifrs9_stage_reason"] = d["ifrs9_stage_reason"]
        rows.append(row)
    return pd.DataFrame(rows) if rows else None


DSCR_DUE_SHARE = 0.10
"""A period's debt service counts as *due* on a path when it is at least this share of the loan's full-period debt
service (the largest per-period median over the paths with debt service)."""
DSCR_MIN_PATHS_DUE = 0.5
"""Share of paths on which debt service must be due for a period's DSCR quantiles to be shown (N/A below)."""


def dscr_rows_of(name: str, inst: ProjectLoan, loan: LoanPaths) -> list[dict[str, Any]]:
    r"""The DSCR table rows of one project loan: per period, P5 / P50 / P95 of the DSCR where debt service is due.

    A DSCR ``CFADS_y / DS_y`` is a statement about the borrower's ability to pay only where debt service is due.
    After the cash sweep has repaid most of the balance, the last period's debt service is a small residual and the
    ratio explodes (the demo's final period showed a P95 of 197). So on each path the period counts when
    :math:`DS_{y} \ge` :data:`DSCR_DUE_SHARE` :math:`\times \max_k \operatorname{median}(DS_k \mid DS_k > 0)`;
    the quantiles are over those paths, and N/A when fewer than :data:`DSCR_MIN_PATHS_DUE` of the paths have debt
    service due (the column ``p_debt_service_due`` says how many do). ``p_below_1_0`` / ``p_below_1_2`` are over
    all paths (a path without debt service due is not below). Runs without the per-path debt service (older
    arrays) keep every finite DSCR.
    """
    assert loan.dscr is not None
    dscr = np.asarray(loan.dscr, dtype=float)
    finite = np.isfinite(dscr)
    if loan.debt_service_cny is not None:
        ds = np.asarray(loan.debt_service_cny, dtype=float)
        medians = [float(np.median(row[row > 0])) if (row > 0).any() else 0.0 for row in ds]
        due = finite & (ds >= DSCR_DUE_SHARE * max(medians, default=0.0)) & (ds > 0)
    else:
        due = finite
    sched = inst.schedule()
    rows = []
    for y in range(dscr.shape[0]):
        share = float(due[y].mean())
        d = dscr[y][due[y]]
        shown = d.size > 0 and share >= DSCR_MIN_PATHS_DUE
        rows.append(
            {
                "loan": name,
                "period_end": str(sched[y + 1].date()),
                "p_debt_service_due": share,
                "dscr_p05": float(np.quantile(d, 0.05)) if shown else np.nan,
                "dscr_p50": float(np.quantile(d, 0.50)) if shown else np.nan,
                "dscr_p95": float(np.quantile(d, 0.95)) if shown else np.nan,
                "p_below_1_0": float(np.mean(np.nan_to_num(dscr[y], nan=np.inf) < 1.0)),
                "p_below_1_2": float(np.mean(np.nan_to_num(dscr[y], nan=np.inf) < 1.2)),
            }
        )
    return rows


PFE_RARE_EXPOSURE = 0.05
"""Below this share of paths with exposure at every date, the 95 % PFE is zero by construction: 99 % is shown."""


def informative_exposure_profile(exposure_cny: np.ndarray, dates: list[Any]) -> pd.DataFrame:
    """EPE and PFE of a pledge loan per date, the PFE at a level that says something, and the share of paths
    with exposure (``p_exposure``).

    The PFE at level ``c`` is the ``c`` quantile of ``max(E, 0)``: zero wherever fewer than ``1 - c`` of the paths
    have exposure, while the EPE is already positive. The level is 95 %, or 99 % when fewer than
    :data:`PFE_RARE_EXPOSURE` of the paths have exposure at every date; ``attrs["note"]`` says which and why (and
    that a zero PFE beside a positive EPE means that fewer than ``1 - c`` of the paths are exposed).
    """
    e = np.maximum(np.asarray(exposure_cny, dtype=float), 0.0)
    share = (e > 0).mean(axis=1)
    peak = float(share.max()) if share.size else 0.0
    level = 0.95 if peak >= PFE_RARE_EXPOSURE else 0.99
    frame = exposure_profile(e, dates, level)
    frame["p_exposure"] = share
    why = (
        f"at most {100 * peak:.2f} % of the paths are exposed on any date (fewer than {100 * PFE_RARE_EXPOSURE:.0f} "
        "%), so the 95 % PFE would be zero everywhere; "
        if level == 0.99
        else ""
    )
    frame.attrs["note"] = (
        f"PFE at {100 * level:.0f} % ({why}the {100 * level:.0f} % quantile of the exposure over the paths). A PFE "
        f"of 0 beside a positive EPE means fewer than {100 * (1 - level):.0f} % of the paths are exposed on that "
        "date: the EPE is the "
        "average over all paths, P(exposure) the share exposed. Exposure = loan balance with interest minus the "
        "collateral value after haircut, before top-ups and liquidations."
    )
    return frame


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
    if pf.projects:
        tables |= _project_tables(run)
        m = _mismatch(run, None)
        metrics["mismatch"] = m.summary()
        tables["mismatch_profile"] = m.profile
        per_project = []
        for k, spec in enumerate(pf.projects):
            per_project.append({"project": spec.name, **_mismatch(run, k).summary()})
        per_project.append({"project": "portfolio", **m.summary()})
        tables["mismatch"] = pd.DataFrame(per_project)
        tables["levers"] = lever_table(run)
    if pf.obligations:
        rows = []
        for i, ob in enumerate(pf.obligations):
            for label, key in (("unhedged", "obligation_cost_unhedged"), ("hedged", "obligation_cost_hedged")):
                cost = a[key][i]
                rows.append(
                    {
                        "obligation": ob.name,
                        "year": ob.year,
                        "case": label,
                        "expected_cost_cny": float(cost.mean()),
                        "p95_cost_cny": float(np.quantile(cost, 0.95)),
                        "cost_at_risk_95_cny": float(np.quantile(cost, 0.95) - cost.mean()),
                    }
                )
        tables["compliance_cost_at_risk"] = pd.DataFrame(rows)
    loan_rows, dscr_rows = [], []
    for c, contract in enumerate(pf.contracts):
        inst = contract.instrument
        spec_name = contract.name
        if isinstance(inst, (PledgeLoan, ProjectLoan)):
            loan = LoanPaths.read(a, c)
            loss = loan.loss_cny
        if isinstance(inst, PledgeLoan):
            assert loan.margin_call is not None and loan.liquidated is not None and loan.exposure_cny is not None
            loan_rows.append(
                {
                    "loan": spec_name,
                    "p_margin_call": float(loan.margin_call.mean()),
                    "p_liquidation": float(loan.liquidated.mean()),
                    "p_loss": float((loss > 1e-9).mean()),
                    "expected_loss_cny": float(loss.mean()),
                    "expected_loss_se_cny": float(loss.std(ddof=1) / np.sqrt(loss.size)),
                }
            )
            dates = run.context.dates[pledge_rows(run.context, inst)]
            tables[f"exposure_{spec_name}"[:31]] = informative_exposure_profile(loan.exposure_cny, list(dates))
        if isinstance(inst, ProjectLoan):
            assert loan.default is not None and loan.min_dscr is not None and loan.dscr is not None
            default = loan.default
            loan_rows.append(
                {
                    "loan": spec_name,
                    "p_default": float(default.mean()),
                    "p_loss": float((loss > 1e-9).mean()),
                    "expected_loss_cny": float(loss.mean()),
                    "expected_loss_se_cny": float(loss.std(ddof=1) / np.sqrt(loss.size)),
                    "p_min_dscr_below_1_0": float((loan.min_dscr < 1.0).mean()),
                    "p_min_dscr_below_1_2": float((loan.min_dscr < 1.2).mean()),
                }
            )
            dscr_rows += dscr_rows_of(spec_name, inst, loan)
    if loan_rows:
        tables["loans"] = pd.DataFrame(loan_rows)
    credit = credit_table(run)
    if credit is not None:
        tables["credit"] = credit
    if dscr_rows:
        tables["dscr"] = pd.DataFrame(dscr_rows)
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
