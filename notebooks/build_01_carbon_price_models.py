"""Build and execute notebooks/01_carbon_price_models.ipynb (run: .venv/bin/python notebooks/build_01_...py)."""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
cells = []


def md(text: str) -> None:
    cells.append(nbformat.v4.new_markdown_cell(text))


def code(text: str) -> None:
    cells.append(nbformat.v4.new_code_cell(text))


md("""# Carbon price models: which ones do CEA and HBEA support, and what do 20 years look like?

Fit the GARCH family (GARCH, GJR, EGARCH with normal / Student-t / skewed-t errors), the mean-reverting log price
(Ornstein-Uhlenbeck) and OU with GARCH innovations to the real CEA (national ETS) and HBEA (Hubei pilot) closes,
compare them, backtest their 1-day VaR walk-forward, and simulate 20-year monthly fans under the low / mid / high
scenario curves. Everything runs `models.*`; nothing is hard-coded.""")
code("""%matplotlib inline
import warnings
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from models.backtest import backtest_var, rank_by_coverage
from models.catalog import DEFAULT_DIST, DEFAULT_MODEL, make_spec
from models.data import load_prices
from models.grid import SimulationGrid
from models.joint import BasisParams, JointCeaCcer
from models.scenarios import load_scenario

matplotlib.rcParams.update({"figure.dpi": 72, "figure.figsize": (8, 3), "axes.grid": True})
pd.options.display.float_format = "{:,.4g}".format
warnings.simplefilter("ignore")  # warnings are kept in each result's `warnings` and shown below
histories = {name: load_prices(name) for name in ("cea", "hbea")}
pd.DataFrame({n: {k: v for k, v in h.summary().items() if k in ("rows", "start", "end", "price_last_cny_per_t")}
              for n, h in histories.items()})""")
md("""## 1. Fits on both series
Log-likelihood, information criteria, persistence of the variance process (alpha + beta for GARCH, with half of
gamma for GJR, beta for EGARCH; the AR(1) coefficient of ln price for OU) and what the persistence policy did.
Both series sit on the stationarity boundary with GARCH: persistence 1.0000, so the default policy (variance
targeting at persistence 0.99) is applied to the simulation parameters and reported.""")
code("""SPECS = [(m, d) for m in ("garch", "gjr", "egarch") for d in ("normal", "t", "skewt")] + [
    ("ou", "normal"), ("ou-garch", "normal"), ("ou-garch", "t")]
fits, rows = {}, []
for data, history in histories.items():
    for model, dist in SPECS:
        res = make_spec(model, dist).fit(history)
        fits[(data, model, dist)] = res
        s = res.summary()
        rows.append({"data": data, "model": s["model"], "loglik": s["loglikelihood"], "AIC": s["aic"],
                     "BIC": s["bic"], "persistence": s["persistence"], "half-life (d)": s["half_life_days"],
                     "LB(10) p resid^2": s["diagnostics"]["pvalue_squared"],
                     "policy": s["policy_applied"].split(":")[0]})
fit_table = pd.DataFrame(rows)
fit_table""")
md("""Fat tails dominate the likelihood: on both series the Student-t and skewed-t fits gain 150 (CEA) to 450
(HBEA) log-likelihood points over the normal ones, the skew parameter adds nothing, and EGARCH-t has the lowest
AIC and BIC on both. All log-likelihoods are of daily changes in percent, so the constant-volatility OU is
directly comparable: it is the worst fit by far, and the Ljung-Box test on its squared residuals (p ~ 1e-26 and
1e-139) shows the volatility clustering it ignores. The GARCH-type fits absorb that clustering on CEA (p > 0.97);
on HBEA the Student-t fits leave a little (p ~ 0.04). Parameters of the CEA GARCH(1,1)-t fit (alpha ~ 0.25,
beta ~ 0.75, nu ~ 2.95; the `simulated` column is after the persistence policy) and of the OU fit (kappa per
year, long-run level; a 2.7-year half-life with a large standard error: 3 years of data barely identify it):""")
code("""pd.concat({"GARCH(1,1)-t": fits[("cea", "garch", "t")].to_frame(),
           "OU": fits[("cea", "ou", "normal")].to_frame()}, axis=0)""")
md("""## 2. Walk-forward VaR backtests (the default-model rule)
Rolling 500-return window, refit every 20 trading days, 1-day VaR at 95 % and 99 %; Kupiec
proportion-of-failures and Christoffersen independence / conditional-coverage p-values.""")
code("""BT_SPECS = [(m, d) for m in ("garch", "gjr", "egarch") for d in ("normal", "t")] + [
    ("ou", "normal"), ("ou-garch", "normal"), ("ou-garch", "t")]
backtests = [backtest_var(histories[data], make_spec(m, d)) for data in histories for m, d in BT_SPECS]
bt = pd.concat([b.to_frame() for b in backtests], ignore_index=True)
bt["verdict"] = np.where((bt.kupiec_pvalue >= 0.05) & (bt.christoffersen_cc_pvalue >= 0.05), "pass", "reject")
bt[["model", "data", "level", "n_obs", "violations", "expected", "kupiec_pvalue",
    "christoffersen_independence_pvalue", "christoffersen_cc_pvalue", "verdict"]]""")
code("""ranking = rank_by_coverage(backtests)
print("models passing both tests at both levels on both series:", list(ranking.model[ranking.passes_all]) or "none")
print("default model (catalog):", make_spec(DEFAULT_MODEL, DEFAULT_DIST).name)
ranking""")
md("""**No model passes** Kupiec and Christoffersen conditional coverage at 5 % at both levels on both series. CEA
is illiquid (about 23 % of its days have a zero return), so every fat-tailed fit puts its 95 % VaR too close to
zero (twice the expected violations), while on HBEA every Gaussian model is rejected at 99 % (too many large
losses). As the rule says, the default is then the best by conditional coverage (largest smallest
conditional-coverage p-value over the four series x level cells): GARCH(1,1) with normal innovations, the
first row above, which is what `carbonrisk fit/backtest/simulate` use when `--model` is not given. It is a near
tie with OU-GARCH(1,1)-normal (0.0115 against 0.0125; each is rejected by conditional coverage in one cell), so
for long horizons, where mean reversion matters more than one-day coverage, OU-GARCH is the better choice
(section 3).""")
md("""## 3. Twenty years, three scenarios
Monthly grid to 2044 (daily SSE sub-steps for the GARCH-type models), 20 000 paths, fixed seed. With a scenario
the median moves from the last close (104 CNY/t) onto the curve over two years and then follows it; the spread
comes from the fitted dynamics. Left: the default model (a random walk with GARCH volatility: the band widens
like the square root of time); right: the mean-reverting OU-GARCH (the band stabilises).""")
code("""grid = SimulationGrid.build(histories["cea"].last_date, "20y", "M")
curves = {name: load_scenario(name) for name in ("low", "mid", "high")}
models = {"default " + fits[("cea", DEFAULT_MODEL, DEFAULT_DIST)].name: fits[("cea", DEFAULT_MODEL, DEFAULT_DIST)],
          fits[("cea", "ou-garch", "t")].name: fits[("cea", "ou-garch", "t")]}
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharey=True)
colours = {"low": "tab:green", "mid": "tab:blue", "high": "tab:red"}
medians = {}
for ax, (label, res) in zip(axes, models.items()):
    for name, curve in curves.items():
        s = res.simulate_summary(grid, 20_000, rng=2026, scenario=curve)
        q = s.quantiles["CEA"]
        medians[(label, name)] = q["q0.50"]
        ax.fill_between(q.index, q["q0.05"], q["q0.95"], color=colours[name], alpha=0.15)
        ax.plot(q.index, q["q0.50"], color=colours[name], lw=1.5, label=f"{name}: median, 5-95 %")
        ax.plot(q.index, curve.price_at(q.index), color=colours[name], lw=0.8, ls="--")
        assert s.n_nonfinite == 0
    ax.set_title(label, fontsize=10)
    ax.set_yscale("log")
axes[0].set_ylabel("CEA, CNY/t (log scale)")
axes[0].legend(fontsize=8, loc="upper left")
plt.tight_layout()""")
code("""late = grid.dates >= grid.start + pd.DateOffset(years=2)
pd.DataFrame({f"{label} / {name}": [float((m[late] / curves[name].price_at(m.index[late]) - 1).abs().max())]
              for (label, name), m in medians.items()}, index=["max |median / scenario - 1| from year 2"]).T""")
md("""## 4. CEA and CCER together
CCER = CEA x exp(-basis), the basis mean-reverting around ln(89.66 / 70) (CCER traded around 70 CNY/t while CEA
averaged 89.66 CNY/t in 2024), half-life about 4 months, correlation 0.3 with CEA shocks (documented defaults).""")
code("""joint = JointCeaCcer(fits[("cea", "ou-garch", "t")], BasisParams())
s = joint.simulate_summary(SimulationGrid.build(histories["cea"].last_date, "5y", "Y"), 20_000, rng=7,
                           scenario=curves["mid"])
pd.concat({name: q for name, q in s.quantiles.items()}, axis=1)""")
md("""Reproduce from the command line: `carbonrisk fit cea --model garch --dist t`, `carbonrisk backtest hbea
--model egarch --dist t`, `carbonrisk simulate cea --model ou-garch --dist t --scenario mid --horizon 20y --freq M
--paths 100000 --seed 2026 --ccer --json`.""")

nb = nbformat.v4.new_notebook()
nb["cells"] = cells
nb["metadata"]["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(HERE.parent)}}).execute()
out = HERE / "01_carbon_price_models.ipynb"
nbformat.write(nb, out)
print(out, out.stat().st_size)
