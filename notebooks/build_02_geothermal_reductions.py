"""Build and execute notebooks/02_geothermal_reductions.ipynb (run: .venv/bin/python notebooks/build_02_...py)."""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
cells = []


def md(text: str) -> None:
    cells.append(nbformat.v4.new_markdown_cell(text))


def code(text: str) -> None:
    cells.append(nbformat.v4.new_code_cell(text))


md("""# Geothermal emission reductions, CCER credits and project risk

Question: how many tonnes does a geothermal heating project really deliver, and when do they turn into credits?
Sources: document 000 (AM0072 / CM-022-V01, Table 1 of 12 sedimentary basins) and document 001 (the Hebei cascade
case, dynamic emission factors). Everything below runs `carbonrisk.models.geothermal`.""")
code("""%matplotlib inline
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from carbonrisk.models.geothermal import (
    emission_factor_trajectory, hebei_project, run_project, simulate_project, table1, basin_portfolio,
    simulate_portfolio,
)
from matplotlib.ticker import MaxNLocator
matplotlib.rcParams.update({"figure.dpi": 72, "figure.figsize": (8, 3), "axes.grid": True})
pd.options.display.float_format = "{:,.4g}".format""")
md("""## 1. Table 1 of document 000 reproduced
BE = H_CAP x 87.3 / 0.85, PE = 8 % of BE, ER = BE - PE. Every row matches the printed values to 3 significant
figures except Songliao, whose printed BE (2.06e6) is 100 times too small for its own heat input; the printed
totals already use the consistent value.""")
code("""t1 = table1()
t1.rows[["basin", "h_cap_tj_per_a", "be_t_per_a", "printed_be_t_per_a", "er_t_per_a", "printed_er_t_per_a", "consistent"]]""")
code("""print(f"total ER {t1.totals['er_t_per_a']:.3g} tCO2/a, revenue at 60 CNY/t {t1.totals['revenue_cny_per_a'] / 1e9:.0f} billion CNY/a")
for flag in t1.flags:
    print("flag:", flag)""")
md("""## 2. The Hebei case hour by hour: a week in January
Heat load follows the indoor-outdoor temperature difference (eq. 1); the plate exchanger carries it, and on days
whose minimum temperature falls below the threshold the heat pump adds its rated output (eq. 4).""")
code("""base = run_project(hebei_project("mid", "dynamic"))
s = base.season.summary
print(f"heat {s['heat_twh']:.3f} TWh, stages {s['stage1_share']:.2%} / {s['stage2_share']:.2%}, "
      f"heat-pump hours {s['hp_hours']}, electricity {s['electricity_gwh']:.2f} GWh")
print({k: round(v, 4) for k, v in s["electricity_shares"].items()})
week = base.season.hourly.loc["2024-01-15":"2024-01-21"]
fig, (a1, a2) = plt.subplots(2, 1, figsize=(8, 4.5), sharex=True)
a1.plot(week.index, week["temperature_c"], color="tab:blue"); a1.set_ylabel("outdoor C")
a1.axhline(base.project.plant.hp_threshold_c, color="grey", ls=":", label="heat-pump threshold"); a1.legend(loc="upper right")
a2.stackplot(week.index, week["stage1_mwh"], week["stage2_mwh"], labels=["stage 1 plate exchanger", "stage 2 heat pump"])
a2.plot(week.index, week["electricity_mwh"] * 10, color="k", lw=1, label="electricity x 10")
a2.set_ylabel("MW"); a2.legend(loc="upper right", fontsize=8)
fig.tight_layout()""")
md("""## 3. Static vs linear vs dynamic emission factors
Static holds the 2022 factors, linear draws a straight line to 2060, dynamic front-loads the decline (a higher
carbon price electrifies heat faster). Published: static overstates by 30.49-47.98 %, linear by 8.31-21.18 %.""")
code("""rows = []
for sc in ("low", "mid", "high"):
    tot = {f: run_project(hebei_project(sc, f)).annual["reductions_t"].sum() for f in ("static", "linear", "dynamic")}
    rows.append({"scenario": sc, **{f"{k}_Mt": v / 1e6 for k, v in tot.items()},
                 "static_over": tot["static"] / tot["dynamic"] - 1, "linear_over": tot["linear"] / tot["dynamic"] - 1})
pd.DataFrame(rows).set_index("scenario")""")
code("""fig, ax = plt.subplots()
for sc, c in zip(("low", "mid", "high"), ("tab:green", "tab:orange", "tab:red")):
    for form, ls in (("linear", "--"), ("dynamic", "-")):
        f = emission_factor_trajectory(sc, form).to_frame()
        ax.plot(f.index, f["heat_ef_t_per_mwh"], ls=ls, color=c, label=f"{sc} {form}")
ax.set_ylabel("heat EF tCO2/MWh"); ax.legend(ncol=3, fontsize=8); fig.tight_layout()""")
md("""## 4. Credits issued vs reductions
Registration in 2025 and a 10-year crediting period: reductions before registration and after 2034 are never
credited; 5 % is withheld for monitoring uncertainty; credits arrive 6 months after each monitoring year.""")
code("""cr = base.issuance.credits_by_year.reindex(range(2021, 2042), fill_value=0)
fig, ax = plt.subplots()
ax.bar(base.annual.index - 0.2, base.annual["reductions_t"], width=0.4, label="reductions (operating year)")
ax.bar(cr.index + 0.2, cr.values, width=0.4, label="credits issued (issue year)")
ax.set_ylabel("tCO2"); ax.legend(); ax.xaxis.set_major_locator(MaxNLocator(integer=True)); fig.tight_layout()
{k: v for k, v in base.issuance.summary().items() if k.endswith("_t")}""")
md("""## 5. A fan of volumes per path
Drilling failures (re-drill cost and delay), capex overrun, availability and weather, 1000 paths; the engine draws
in 4096-path blocks so the same seed gives the same fan whatever the chunking.""")
code("""paths = simulate_project(hebei_project("mid"), 1000, rng=2024)
q = paths.quantiles("reductions_t", (0.05, 0.25, 0.5, 0.75, 0.95)).loc[2021:2040]
fig, ax = plt.subplots()
ax.fill_between(q.index, q["q0.05"], q["q0.95"], alpha=0.25, label="5-95 %")
ax.fill_between(q.index, q["q0.25"], q["q0.75"], alpha=0.4, label="25-75 %")
ax.plot(q.index, q["q0.5"], label="median"); ax.plot(base.annual.index, base.annual["reductions_t"], "k--", lw=1, label="deterministic")
ax.set_ylabel("reductions tCO2"); ax.legend(fontsize=8); ax.xaxis.set_major_locator(MaxNLocator(integer=True)); fig.tight_layout()
print(f"capex P5/P50/P95: {np.percentile(paths.capex_cny[0], [5, 50, 95]) / 1e6} million CNY; "
      f"paths with a start-up delay: {(paths.startup_delay_months > 0).mean():.0%}")""")
md("""## 6. A small portfolio across basins, weather correlated by distance""")
code("""projects = [p.with_changes(life_years=10) for p in basin_portfolio(basins=["North China Plain", "Fenwei Basin", "Songliao Basin"])]
port = simulate_portfolio(projects, 300, rng=7)
print(pd.DataFrame(port.correlation, index=[p.name for p in projects], columns=[p.name for p in projects]).round(2))
port.to_frame().loc[2025:2036, ["heat_mwh", "reductions_t", "credits_issued_t", "capex_cny"]]""")

nb = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(HERE.parent)}}).execute()
out = HERE / "02_geothermal_reductions.ipynb"
nbformat.write(nb, out)
print(out, out.stat().st_size)
