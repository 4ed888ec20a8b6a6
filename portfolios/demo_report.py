"""HTML report and JSON summary of the demo pipeline."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from portfolios import __version__
from portfolios.demo import DemoResult
from portfolios.html import figure_tag, page, section, table_tag, warnings_block
from portfolios.io import atomic_output_dir, write_json

__all__ = ["write_demo_files", "write_demo_outputs"]


def _fan_figure(result: DemoResult) -> str:
    fig = Figure(figsize=(10, 4.5))
    ax = fig.subplots()
    hist = result.history.prices
    ax.plot(hist.index, hist.to_numpy(), color="#1b1b1b", lw=1.0, label="CEA close (observed)")
    fan = result.fan
    x = fan.index
    ax.fill_between(x, fan["q0.05"], fan["q0.95"], color="#2b6a4f", alpha=0.18, label="5-95 %")
    ax.fill_between(x, fan["q0.25"], fan["q0.75"], color="#2b6a4f", alpha=0.35, label="25-75 %")
    ax.plot(x, fan["q0.50"], color="#2b6a4f", lw=1.5, label="median")
    ax.set_ylabel("CNY/t")
    ax.set_title(f"CEA price: history and {result.paths.n_paths:,} simulated paths ({result.fit.spec.name})")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    return figure_tag(fig, "Fan chart of the simulated CEA price (5/25/50/75/95 % quantiles).", "CEA fan chart")


def _pnl_figure(result: DemoResult) -> str:
    prices = result.paths["CEA"]
    fig = Figure(figsize=(10, 3.6))
    axes = fig.subplots(1, 2)
    for ax, horizon in zip(axes, (1, 10), strict=True):
        pnl_mcny = result.holding_t * (prices[horizon] - prices[0]) / 1e6
        ax.hist(pnl_mcny, bins=120, color="#7a9e8c")
        for figure in result.risk:
            if figure.horizon_days == horizon:
                ax.axvline(-figure.var / 1e6, color="#c0392b", ls="--", lw=1)
        ax.set_title(f"{horizon}-day P&L of the holding (million CNY); dashed: -VaR 95/99 %", fontsize=9)
    return figure_tag(fig, "Simulated profit and loss of the holding.", "P&L histograms")


def render_demo_html(result: DemoResult, run_id: str = "") -> str:
    """The demo report as a self-contained HTML page."""
    risk = result.risk_table()
    risk["level"] = [f"{lv:.0%}" for lv in risk["level"]]
    fit = result.fit
    params = fit.to_frame().reset_index(names="parameter")
    stats = pd.DataFrame(
        {
            "statistic": ["log-likelihood", "AIC", "BIC", "persistence alpha+beta", "observations"],
            "value": [fit.loglikelihood, fit.aic, fit.bic, fit.persistence, float(fit.n_obs)],
        }
    )
    fan = result.fan.iloc[[0, 1, 10, 21, 63, 125, len(result.fan) - 1]].copy()
    fan.index = [str(d.date()) for d in fan.index]
    data = result.history.summary()
    inputs = pd.DataFrame(
        {
            "input": [
                "dataset",
                "observations",
                "date range",
                "last close (CNY/t)",
                "holding (t)",
                "paths",
                "seed",
            ],
            "value": [
                data["source"],
                str(data["rows"]),
                f"{data['start']} to {data['end']}",
                f"{fit.last_price:.2f}",
                f"{result.holding_t:,.0f}",
                f"{result.paths.n_paths:,}",
                str(result.seed),
            ],
        }
    )
    body = "".join(
        [
            section(
                "Value at risk and expected shortfall (CNY, positive = loss)",
                table_tag(risk, table_id="risk"),
            ),
            section("Price fan", _fan_figure(result), table_tag(fan, index=True, table_id="fan")),
            section("Profit and loss", _pnl_figure(result)),
            section(
                f"Model: {fit.spec.name} on daily log-returns in percent",
                table_tag(params, table_id="params"),
                table_tag(stats),
            ),
            section("Inputs", table_tag(inputs)),
            section("Warnings", warnings_block(result.warnings)),
        ]
    )
    meta = f"carbonrisk {__version__} - run {run_id or 'not recorded'} - computed in {result.elapsed_s:.1f} s"
    return page("carbonrisk demo: CEA holding risk", body, meta)


def write_demo_files(result: DemoResult, folder: Path, run_id: str = "") -> None:
    """Write ``report.html`` and ``summary.json`` into ``folder`` (a staging folder)."""
    (folder / "report.html").write_text(render_demo_html(result, run_id), encoding="utf-8")
    write_json(folder / "summary.json", result.to_dict() | {"run_id": run_id})


def write_demo_outputs(result: DemoResult, out_dir: str | Path, run_id: str = "") -> Path:
    """Write ``report.html`` and ``summary.json`` atomically into ``out_dir``; return the final directory."""
    with atomic_output_dir(out_dir, run_id) as staging:
        write_demo_files(result, staging, run_id)
    return Path(out_dir).absolute()
