"""Build and execute notebooks/03_collateral_and_loans.ipynb (run: .venv/bin/python notebooks/build_03_...py)."""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
cells = []


def md(text: str) -> None:
    cells.append(nbformat.v4.new_markdown_cell(text))


def code(text: str) -> None:
    cells.append(nbformat.v4.new_code_cell(text))


md("""# A bank assesses a CEA pledge loan and a CCER-linked geothermal project loan

Question: how much can a bank lend against carbon allowances, and how safe is a geothermal heating loan whose
income partly comes from CCER sales? Everything runs on path sets (here correlated GBM calibrated to the real CEA
history) through `carbonrisk.finance.loans`; any other price model's `PathSet` plugs into the same engines.""")
code("""%matplotlib inline
import dataclasses
import warnings

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from carbonrisk import load_prices
from carbonrisk.finance.instruments import FutureCreditMonetisation, PledgeLoan, ProjectLoan
from carbonrisk.finance.loans import (
    MCPledgeLoanEngine, MCProjectLoanEngine, average_daily_volume_t, down_barrier_hit_probability, simulate_pledge_loan,
)
from carbonrisk.finance.market import MarketEnv
from carbonrisk.finance.monetisation import MCMonetisationEngine
from carbonrisk.finance.valuation import GBMSource, path_dates
from carbonrisk.models.calendar import year_fractions
from carbonrisk.models.exceptions import DataGapWarning
from carbonrisk.models.units import TRADING_DAYS_PER_YEAR

matplotlib.rcParams.update({"figure.dpi": 72, "figure.figsize": (8, 3), "axes.grid": True})
pd.options.display.float_format = "{:,.4g}".format
warnings.simplefilter("ignore", DataGapWarning)""")
md("""## 1. Market: the real CEA history
Spot = last CEA close; volatility = annualised standard deviation of the last 250 daily log-returns; CCER at
70 CNY/t (the market average of document 003), 35 % volatility, correlation 0.6 with CEA. Discounting and financing
at a flat 1.8 % (CNY short rates in late 2024).""")
code("""cea = load_prices("cea")
vol_cea = float(cea.log_returns.tail(250).std() * np.sqrt(TRADING_DAYS_PER_YEAR))
market = MarketEnv.simple(cea.last_date, 0.018, {"CEA": cea.last_price, "CCER": 70.0},
                          {"CEA": vol_cea, "CCER": 0.35}, correlation=0.6,
                          daily_volumes_t={"CEA": cea.volume_t.to_numpy()})  # market depth of the pledge loans
adv = average_daily_volume_t(60)
print(f"valuation {cea.last_date.date()}, CEA spot {cea.last_price:.2f} CNY/t, vol {vol_cea:.1%}, "
      f"60-day average daily volume {adv:,.0f} t")""")
md("""## 2. The pledge loan
2 Mt of CEA pledged for one year at 4.5 %, LTV 60 %: margin call when coverage (collateral value / principal) falls
below 135 %, forced sale below 115 %. The borrower meets a margin call with probability 70 %. The lender sells at
most 10 % of the average daily volume per day (the thin-market constraint, real volumes), for at most 30 trading
days, with an 8 % haircut; what is left is sold in a block on the last day.""")
code("""loan = PledgeLoan(collateral="CEA", quantity_t=2_000_000, ltv=0.6, rate=0.045, tenor_years=1.0,
                  maintenance_ratio=1.35, liquidation_ratio=1.15, monitoring="daily", top_up=0.7,
                  liquidation_share_of_adv=0.1, max_liquidation_days=30, haircut=0.08, target_loss_probability=0.01)
paths = GBMSource().simulate(market, path_dates([loan], market.valuation_date), 20_000, 20241031)
res = MCPledgeLoanEngine().calculate(loan, market=market, paths=paths)
pd.Series({k: v for k, v in res.extras.items() if not isinstance(v, (list, dict))}, name="pledge loan").to_frame()""")
md("""The loan loses money only when the price falls through the liquidation line *and* keeps falling while 2 Mt are
sold 45 000 t a day: the exposure at default is the full principal plus accrued interest, the loss given default is
small, so the break-even spread (PV of expected loss / PV of the principal outstanding) is a few basis points.

## 3. Check against a closed form
Under GBM, daily monitoring and no top-up, the margin-call probability is the probability that the price touches
135 % x 60 % of spot on a trading day. The Broadie-Glasserman-Kou correction turns the continuous first-passage
formula into the discrete one by shifting the barrier by exp(-0.5826 sigma sqrt(dt)).""")
code("""never = dataclasses.replace(loan, top_up="never", target_loss_probability=None)
chk = MCPledgeLoanEngine().calculate(never, market=market, paths=paths).extras
mon = never.monitoring_dates(market.valuation_date)
T = float(year_fractions(market.valuation_date, mon[-1:])[0]); dt = T / len(mon)
s0, carry = market.spot("CEA"), market.curve("CEA").carry
rows = []
for key, ratio in (("p_margin_call", never.maintenance_ratio), ("p_liquidation", never.liquidation_ratio)):
    b = ratio * never.ltv * s0
    rows.append({"event": key, "Monte Carlo": chk[key], "s.e.": chk[key + "_se"],
                 "BGK discrete": down_barrier_hit_probability(s0, b, vol_cea, carry, T, dt),
                 "continuous": down_barrier_hit_probability(s0, b, vol_cea, carry, T, 0.0)})
tab = pd.DataFrame(rows).set_index("event"); tab["z"] = (tab["Monte Carlo"] - tab["BGK discrete"]) / tab["s.e."]; tab""")
md("""## 4. How loss probability moves with LTV
Same paths for every LTV (common random numbers), ratios held fixed. The answer to "how much can we lend for a
1 % loss probability" is the engine's `max_ltv_for_target` (bisection on the same paths).""")
code("""grid = np.round(np.arange(0.30, 0.735, 0.03), 2)
rows = []
for ltv in grid:
    e = MCPledgeLoanEngine().calculate(dataclasses.replace(loan, ltv=float(ltv), target_loss_probability=None),
                                       market=market, paths=paths).extras
    rows.append({"ltv": ltv, "p_margin_call": e["p_margin_call"], "p_liquidation": e["p_liquidation"],
                 "p_loss": e["p_loss"], "p_loss_se": e["p_loss_se"], "break_even_bp": 1e4 * e["break_even_spread"]})
by_ltv = pd.DataFrame(rows).set_index("ltv")
fig, ax = plt.subplots()
ax.errorbar(by_ltv.index, 100 * by_ltv["p_loss"], yerr=200 * by_ltv["p_loss_se"], marker="o", label="P(loss) +- 2 s.e.")
ax.plot(by_ltv.index, 100 * by_ltv["p_liquidation"], marker=".", label="P(liquidation)")
ax.axhline(1.0, color="grey", ls=":"); ax.axvline(res.extras["max_ltv_for_target"], color="tab:red", ls="--",
                                               label=f"max LTV for 1 %: {res.extras['max_ltv_for_target']:.3f}")
ax.set_xlabel("loan-to-value"); ax.set_ylabel("%"); ax.legend(fontsize=8)
by_ltv""")
md("""### The same loan on another price model
Engines read path sets, not models: here the foundation's GARCH(1,1)-t fitted to the CEA history (real-world
measure, Student-t innovations, volatility clustering) drives the same `PledgeLoan` through the same engine.
Nothing in the instrument or the engine changes. (The fit sits on the stationarity boundary, which the warning
below reports; over one year this matters little.)""")
code("""from carbonrisk.models.garch import Garch
fit = Garch(dist="t").fit(cea)
gpaths = fit.simulate(len(loan.fixing_dates(market.valuation_date)), 20_000, 20241031)
g = MCPledgeLoanEngine().calculate(loan, market=market, paths=gpaths).extras
keys = ["p_margin_call", "p_liquidation", "p_loss", "expected_loss_cny", "loss_given_default", "break_even_spread",
        "max_ltv_for_target"]
vol0 = np.sqrt(fit.next_variance_pct2 * TRADING_DAYS_PER_YEAR) / 100
print(f"GARCH-t: daily mean {fit.params['mu']:.3f} %, nu {fit.params['nu']:.2f}, "
      f"starting conditional volatility {vol0:.1%} a year (GBM uses {vol_cea:.1%})")
pd.DataFrame({"GBM (risk-neutral)": {k: res.extras[k] for k in keys}, "GARCH(1,1)-t (fitted)": {k: g[k] for k in keys}})""")
md("""The GARCH paths start from a calm market (the conditional volatility printed above is far below the 250-day
realised volatility the GBM uses) and their Student-t innovations of about 3 degrees of freedom make most days
quiet and a few violent: breaches are rarer, but when a forced sale starts the price tends to keep falling, so the
loss given default is several times larger. Which model and measure a credit
committee uses is a policy choice; the engine makes the comparison a one-line change.

""")
md("""Liquidation probability rises steeply with LTV because the liquidation line moves towards the spot; the loss
probability follows it, scaled by the chance that prices keep falling during the slow sale.

## 5. The CCER-linked geothermal project loan
The Hebei case of document 001 delivers about 62 400 tCO2 a year (DOMAIN 3, static factors); here every tonne
becomes a CCER sold at the yearly average price. Other net cash flow (heat sales less operating costs) 16 million
CNY a year; loan 120 million CNY at 4.2 % over 10 years, a half-year debt-service reserve and a 25 % cash sweep.
Volumes are a plain schedule: the emissions model's per-path volumes (an (n_years, n_paths) array) plug in as is.""")
code("""project = ProjectLoan(principal_cny=120e6, rate=0.042, start_date="2025-01-02", tenor_years=10,
                      carbon_volumes_t=[62_400] * 10, other_cash_flows_cny=[16e6] * 10, underlying="CCER",
                      amortisation="annuity", reserve_periods=0.5, cash_sweep_share=0.25, recovery_rate=0.4)
ppaths = GBMSource().simulate(market, path_dates([project], market.valuation_date), 20_000, 7)
rows = {}
for method in ("equal", "annuity", "sculpted"):
    r = MCProjectLoanEngine().calculate(dataclasses.replace(project, amortisation=method), market=market, paths=ppaths)
    rows[method] = {k: r.extras[k] for k in ("p_dscr_below_1_0", "p_dscr_below_1_2", "p_default",
                                             "expected_loss_cny", "loss_given_default", "min_dscr_median")}
    rows[method]["lender_npv_cny"] = r.value
# stress: heat income 25 % lower (a warm decade, or a lost customer), annuity repayment
stressed = dataclasses.replace(project, other_cash_flows_cny=[12e6] * 10)
r = MCProjectLoanEngine().calculate(stressed, market=market, paths=ppaths)
rows["annuity, heat income -25 %"] = {k: r.extras[k] for k in rows["annuity"] if k != "lender_npv_cny"}
rows["annuity, heat income -25 %"]["lender_npv_cny"] = r.value
pd.DataFrame(rows).T""")
code("""r = MCProjectLoanEngine().calculate(project, market=market, paths=ppaths)
dscr = pd.DataFrame(r.extras["dscr_by_period"]).set_index("date")
fig, ax = plt.subplots()
ax.fill_between(dscr.index, dscr["dscr_p05"], dscr["dscr_p95"], alpha=0.3, label="P5-P95")
ax.plot(dscr.index, dscr["dscr_p50"], marker="o", label="median")
ax.axhline(1.0, color="tab:red", ls=":"); ax.axhline(1.2, color="grey", ls=":")
ax.set_ylabel("DSCR"); ax.legend(fontsize=8); plt.xticks(rotation=45, fontsize=7)
dscr""")
md("""Equal principal repayments put the heaviest debt service in the first years; sculpting to 1.3 on the base case
leaves no cushion for a price below the forward, so DSCR falls under 1.2 on most paths in some year; level
(annuity) debt service is the most robust here. Carbon income is about a fifth of the cash flow, so the CCER
price moves DSCR by a few tenths: enough to breach a 1.2 covenant in bad years, rarely enough to default unless
the heat business weakens too (stress row: the reserve and the carbon income no longer cover the debt service
on the low-price paths).

## 6. Moving carbon income earlier
What the sponsor can raise today on the 2026-2035 vintages, valued on the same kind of paths: a prepaid forward
sale (10 % chance a vintage is not issued, shortfall settled at market plus 20 %), a sold floor at 60 CNY/t, and a
pledge at 50 % of the credits' present value.""")
code("""mon_inst = FutureCreditMonetisation(first_year=2026, issued_volumes_t=[62_400] * 10, underlying="CCER",
                                    floor_cny_per_t=60.0)
mpaths = GBMSource().simulate(market, path_dates([mon_inst], market.valuation_date), 20_000, 11)
m = MCMonetisationEngine().calculate(mon_inst, market=market, paths=mpaths).extras
print(f"fair prepayment {m['fair_prepayment_price_cny_per_t']:.2f} +- {m['fair_prepayment_price_cny_per_t_se']:.2f} "
      f"CNY/t, {m['discount_to_spot']:.1%} below spot")
pd.DataFrame({"PV income in first 3 years, share": m["early_income_share"],
              "moved into first 3 years (CNY)": {"baseline": 0.0, **m["moved_into_early_years_cny"]}})""")


# --- 7. treasury view: pledge, repo or lend the inventory (issue 18) ---------------------------------------------
md("""## 7. Treasury view: finance a CEA inventory by pledge, by repo, or lend it out
A compliance company holds 1 Mt of CEA it will not surrender for a year and wants to put it to work. Three routes,
valued on the same 20 000 paths (`carbonrisk.finance.carbon_financing` for the repo and the lending):

* **pledge** (质押): borrow 60 % of the value at 4.5 %, margin call below 135 % coverage, top-up to 1/LTV;
* **repo** (售出回购): sell at spot x (1 - 20 %) and buy back in a year at the sale price x (1 + 4 %); margin
  called below 110 % coverage (value / amount owed) and met in tonnes; title passes to the bank, which on a default
  sells straight away (no enforcement delay) in the thin market;
* **lend it out** (借碳): lend the tonnes to a BB-rated trader for a 3 % fee, against cash collateral of 110 % of
  their value; on the trader's default the company buys the tonnes back in the thin market (10 % of the daily
  volume a day), keeps the collateral and recovers 40 % of the rest. A trader short allowances weakens when the
  price rises, so the default hazard follows the price (`pd_price_elasticity = 1`, wrong-way).

In the pledge and the repo the counterparty risk is the bank's (a BB borrower / seller, the company); in the
lending it is the company's. The margin columns are the liquidity a route can demand: tonnes the company must find
when the price falls (they come back at the end), assuming it always meets the call. The "cash raised" of the
lending is the collateral the borrower posts (returned at the end).""")
code("""from carbonrisk.finance.carbon_financing import MCLendingEngine, MCRepoEngine
from carbonrisk.finance.instruments import CarbonLending, CarbonRepo

q = 1_000_000
pledge = PledgeLoan(collateral="CEA", quantity_t=q, ltv=0.6, rate=0.045, tenor_years=1.0, maintenance_ratio=1.35,
                    liquidation_ratio=1.15, top_up="always", rating="BB", liquidation_share_of_adv=0.1,
                    max_liquidation_days=30, haircut=0.08)
repo = CarbonRepo(asset="CEA", quantity_t=q, haircut=0.2, repo_rate=0.04, tenor_years=1.0, maintenance_ratio=1.1,
                  top_up="always", rating="BB", pd_price_elasticity=-1.0, liquidation_share_of_adv=0.1,
                  max_liquidation_days=30, sale_discount=0.02, target_expected_loss_cny=0.0)
lend = CarbonLending(asset="CEA", quantity_t=q, tenor_years=1.0, fee_rate=0.03, collateral_ratio=1.1,
                     recovery_rate=0.4, buy_in_premium=0.02, rating="BB", pd_price_elasticity=1.0,
                     liquidation_share_of_adv=0.1, max_liquidation_days=30)
tpaths = GBMSource().simulate(market, path_dates([pledge, repo, lend], market.valuation_date), 20_000, 18)
rp = MCPledgeLoanEngine().calculate(pledge, market=market, paths=tpaths)
rr = MCRepoEngine().calculate(repo, market=market, paths=tpaths)
rl = MCLendingEngine().calculate(lend, market=market, paths=tpaths)

# pledge top-ups in tonnes (the engine's rule with top_up = always): below 135 % coverage, back to 1/LTV
s = tpaths["CEA"][1 : 1 + len(pledge.monitoring_dates(market.valuation_date))]
principal = rp.extras["principal_cny"]
qty = np.full(s.shape[1], float(q))
for row in s:
    call = qty * row < pledge.maintenance_ratio * principal
    qty[call] = principal / pledge.ltv / row[call]
pledge_margin_t = qty - q
value0 = q * market.spot("CEA")
table = pd.DataFrame({
    "pledge": {"cash raised today (CNY)": principal, "tonnes usable during the term": 0,
               "cost (+) / income (-) a year, CNY": principal * pledge.rate,
               "cost rate on cash raised": pledge.rate,
               "P(margin call)": rp.extras["p_margin_call"],
               "expected margin, t": pledge_margin_t.mean(), "P95 margin, t": np.quantile(pledge_margin_t, 0.95),
               "whose credit risk": "bank's", "expected credit loss (CNY)": rp.extras["expected_loss_cny"]},
    "repo": {"cash raised today (CNY)": rr.extras["cash_lent_cny"], "tonnes usable during the term": 0,
             "cost (+) / income (-) a year, CNY": rr.extras["cash_lent_cny"] * repo.repo_rate,
             "cost rate on cash raised": rr.extras["seller_cost_of_funds_rate"],
             "P(margin call)": rr.extras["p_margin_call"],
             "expected margin, t": rr.extras["expected_margin_t"], "P95 margin, t": rr.extras["margin_t_p95"],
             "whose credit risk": "bank's", "expected credit loss (CNY)": rr.extras["expected_loss_cny"]},
    "lend out": {"cash raised today (CNY)": lend.collateral_ratio * value0, "tonnes usable during the term": 0,
                 "cost (+) / income (-) a year, CNY": -lend.fee_rate * value0,
                 "cost rate on cash raised": float("nan"), "P(margin call)": 0.0,
                 "expected margin, t": 0.0, "P95 margin, t": 0.0,
                 "whose credit risk": "company's", "expected credit loss (CNY)": rl.extras["expected_loss_cny"]},
})
table""")
code("""print(f"repo: break-even rate for the bank {rr.extras['break_even_repo_rate']:.3%} "
      f"(curve {rr.extras['curve_rate_simple']:.3%}); seller pays {rr.extras['spread_over_curve']:.2%} over the curve")
print(f"lending: fair fee for the company {rl.extras['break_even_fee_rate']:.3%} a year against "
      f"{lend.fee_rate:.1%} charged; P(default) {rl.extras['p_default']:.2%}, "
      f"exposure at default {rl.extras['exposure_at_default_cny']:,.0f} CNY")
flat = MCLendingEngine().calculate(dataclasses.replace(lend, pd_price_elasticity=0.0), market=market, paths=tpaths)
print(f"lending with a price-independent PD: fair fee {flat.extras['break_even_fee_rate']:.3%}, "
      f"expected loss {flat.extras['expected_loss_cny']:,.0f} CNY (wrong-way: {rl.extras['expected_loss_cny']:,.0f})")
fig, ax = plt.subplots()
ax.hist(pledge_margin_t / 1e3, bins=60, alpha=0.5, label="pledge top-ups")
ax.hist(rr.samples["margin_t"] / 1e3, bins=60, alpha=0.5, label="repo margin")
ax.set_xlabel("tonnes delivered on margin calls over the year (kt)"); ax.set_yscale("log"); ax.legend(fontsize=8)""")
md("""Reading the table as a treasurer. The **repo** raises a third more cash than the pledge (80 % of the value
against 60 %) at a lower rate: the bank holds title and sells on the default day, so even with a wrong-way seller
its expected loss is a rounding error and its break-even rate is the curve. The price is liquidity: the tonnes
are gone for the year (the pledge encumbers them too: neither leaves them usable for compliance), and margin is
called after a smaller fall (about 12 % against about 19 % for the pledge), more often and for more tonnes (the
P95 column). A treasury that chooses the repo must hold, or be able to borrow, several hundred thousand tonnes
(or their cash value) in reserve. **Lending the tonnes out** turns the financing cost into income and brings in
cash collateral, liquidity the company may use only if the agreement lets it reinvest the collateral, and which it
returns at the end; no margin is called on the company. The credit risk moves to the company and is wrong-way:
the trader fails when the price has risen and the tonnes cost most to buy back, so the expected loss is higher
than with a price-independent PD; with 110 % collateral it stays far below the fee, which is mostly margin.""")

nb = nbformat.v4.new_notebook(
    cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
)
NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()
nbformat.write(nb, HERE / "03_collateral_and_loans.ipynb")
