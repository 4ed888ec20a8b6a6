"""Build and execute notebooks/04_portfolio_risk_report.ipynb (run: .venv/bin/python notebooks/build_04_...py)."""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
cells = []


def md(text: str) -> None:
    cells.append(nbformat.v4.new_markdown_cell(text))


def code(text: str) -> None:
    cells.append(nbformat.v4.new_code_cell(text))


md("""# Portfolio risk report: a geothermal developer, its bank and a compliance buyer

Question: for a book that holds carbon inventories, a CEA pledge loan, a CCER-linked geothermal project loan,
three geothermal projects and an emitter's compliance obligation, what are the risk figures a credit committee asks
for, and how far apart are the projects' early risks and their late carbon income?

We build the demo portfolio in Python (the same text as `portfolios/data/demo_portfolio.toml`, with fewer paths so
that the notebook runs in a few seconds), run it, read the tables back from the written report, and explain the
mismatch metrics on one project.""")
code("""%matplotlib inline
import json
import tempfile
from importlib import resources
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from carbonrisk import Ledger, analyse_book, portfolio_from_text, run_portfolio, run_report

pd.set_option("display.width", 160)
pd.set_option("display.float_format", lambda x: f"{x:,.4g}")
text = resources.files("carbonrisk.portfolios").joinpath("data").joinpath("demo_portfolio.toml").read_text()
text = text.replace("n_paths = 4000", "n_paths = 1500")
portfolio = portfolio_from_text(text, "notebook portfolio", ".")
print(portfolio.name, "|", len(portfolio.positions), "positions,", len(portfolio.contracts), "contracts,",
      len(portfolio.projects), "projects,", len(portfolio.obligations), "obligation")""")
md("""## 1. Run it and write the report
`run_report` simulates, computes every metric, writes one report per book (`bank/`, `developer/`, `emitter/`: each
`report.html`, `report.xlsx`, `paths_summary.parquet`, `summary.json`) and `index.html` linking them, atomically,
and records the run in a ledger (here a temporary one). Each book's figures are computed on its own components.""")
code("""workdir = Path(tempfile.mkdtemp())
result = run_report(portfolio, workdir / "report", ledger=Ledger(workdir / "ledger.sqlite"))
print("run", result.run_id, f"in {result.run.elapsed_s:.1f} s;", "files:", sorted(p.name for p in result.out_dir.iterdir()))
print("books:", {name: sorted(p.name for p in (result.out_dir / name).iterdir()) for name in result.books})
for warning in result.run.warnings:
    print("warning:", warning)""")
md("""### The first screen: the executive summary
The report opens with the executive summary (risk against limits with utilisation bars, the worst stress scenario,
the funding gap and when carbon income covers the early losses, the model and its backtest, the loans' credit
figures, the warnings that matter), then a table of contents. Below is the page as headless Chromium renders it at
1280 x 900 px (`carbonrisk.portfolios.pdf.screenshot`; without a Chromium the cell says so). The stress section
(`carbonrisk stress`'s scenarios, reverse stress and ladders, on the run's own fitted model) is part of the report.""")
code("""from IPython.display import Image, display

from carbonrisk.portfolios.pdf import screenshot

png = workdir / "summary.png"
reason = screenshot(result.out_dir / "bank" / "report.html", png, width=1280, height=900)
if reason is None:
    display(Image(data=png.read_bytes(), format="png", width=960))
else:
    print(reason)
print("stress section computed in", f"{sum(result.stress.timings_s.values()):.1f} s:", result.stress.timings_s)""")
md("""## 2. Read the tables back
Every table of a book's report is a sheet of its `report.xlsx` (after the front sheets Summary, Inputs,
Assumptions, Warnings and Run) and a list of records in its `summary.json`.""")
code("""sheets = pd.read_excel(result.out_dir / "bank" / "report.xlsx", sheet_name=None)
print(list(sheets))
sheets["var_es"]""")
code("""summary = json.loads((result.out_dir / "bank" / "summary.json").read_text())
pd.DataFrame(summary["tables"]["loans"]).set_index("loan")""")
code("""emitter = json.loads((result.out_dir / "emitter" / "summary.json").read_text())
pd.DataFrame(emitter["tables"]["compliance_cost_at_risk"])""")
md("""The hedge (300 000 t bought forward at 100 CNY/t) lowers the emitter's cost-at-risk: the hedged tonnes no longer
depend on the 2025 price, only the rest of the shortfall does.

## 3. The mismatch on one project
Take the Hebei cascade project (start of operation 2026, wells and plant built in 2025). Per year we compare:

* the **expected carbon income** `E[credits issued x CCER price]`;
* the **downside**: each year's contribution to the 95 % expected shortfall of the project's losses from capex,
  drilling and volume risk (costs above their expectation plus credits below theirs, valued at the expected price).""")
code("""from carbonrisk.portfolios.analysis import project_mismatch

run = result.run
hebei = project_mismatch(run, "Hebei cascade (2.3 million m2)")
profile = hebei.profile
fig, ax = plt.subplots(figsize=(10, 3.5))
years = profile.index.to_numpy()
ax.bar(years - 0.2, profile["downside_es_contribution_cny"] / 1e6, width=0.4, color="#c0392b", label="downside (ES contribution)")
ax.bar(years + 0.2, profile["expected_income_cny"] / 1e6, width=0.4, color="#2b6a4f", label="expected carbon income")
ax.set_ylabel("million CNY"); ax.legend(); ax.set_title("Hebei cascade: early risk vs late income")
pd.Series(hebei.summary())""")
md("""* **Gap** = income-weighted mean time minus risk-weighted mean time: the carbon income arrives about ten years
  after the risk was taken.
* **Peak funding gap**: the deepest point of the cumulative cash flow (capex first, heat and carbon income later),
  at the median path and at the 95th percentile, and the year it is reached.
* **Coverage probability** by year: the share of paths on which cumulative carbon income has paid for what the
  early risks cost relative to the plan (capex overrun, re-drilling, delays, volume shortfall).""")
code("""profile[["coverage_probability"]].T""")
md("""## 4. What each lever changes
Selling part of the future vintages forward fixes the price but not the timing; a prepaid forward or a pledge of
future credits moves money to the construction year; a CCER-linked loan funds the capex directly. The table shows
each lever's effect on the gap, the peak funding gap and the coverage, and its expected present-value cost.""")
code("""levers = result.books["developer"].analysis.tables["levers"].set_index("lever")
levers[["gap_years", "peak_funding_gap_p50_cny", "peak_funding_gap_p95_cny", "pv_cost_cny"]]""")
md("""The report says the same in words: what each lever buys and what it costs, against no lever (a lower funding
gap or downside and a higher coverage are bought; the expected PV given up, `pv_cost_cny` > 0, is the cost).""")
code("""from carbonrisk.portfolios.advice import lever_advice

with pd.option_context("display.max_colwidth", None):
    display(lever_advice(result.books["developer"].analysis.tables["levers"]).set_index("lever"))""")
md("""## 5. Reproducible by construction
The same portfolio and seed give the same numbers whatever the grouping of path blocks (and on any number of
Dask workers: `run_portfolio(..., workers=2)`); the ledger's `rerun` relies on that.""")
code("""again = run_portfolio(portfolio, blocks_per_task=2)
print("identical:", all(np.array_equal(run.arrays[k], again.arrays[k], equal_nan=True) for k in run.arrays))
print("bank ES 99 % 1y:", f"{analyse_book(again, 'bank')[1].metrics['es_99_1y_cny']:,.0f}", "vs", f"{result.books['bank'].analysis.metrics['es_99_1y_cny']:,.0f}")""")

nb = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()
nbformat.write(nb, HERE / "04_portfolio_risk_report.ipynb")
