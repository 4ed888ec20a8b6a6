"""Build and execute notebooks/05_bank_credit_file.ipynb (run: .venv/bin/python notebooks/build_05_...py)."""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
cells = []


def md(text: str) -> None:
    cells.append(nbformat.v4.new_markdown_cell(text))


def code(text: str) -> None:
    cells.append(nbformat.v4.new_code_cell(text))


md("""# A bank's credit file: the demo's CEA pledge loan and CCER-linked geothermal loan

Question of the credit committee: what happens to these two loans in the crashes we have seen and in a policy
shock, at which price do they start to lose money, and what do they cost in impairment (IFRS 9 / CAS 22 expected
credit loss) and in capital (Basel IRB and the NFRA 2023 standardised approach)?

The loans are those of the demo portfolio (`portfolios/data/demo_portfolio.toml`): a 1-year CEA pledge loan
(1 Mt pledged at LTV 0.6, margin call below 135 % coverage, forced sale below 115 %, the borrower rated BB and
topping up less often the further the price has fallen: the *wrong-way* top-up model) and a 10-year
120 million CNY loan to the Hebei geothermal project, repaid from heat revenue and CCER sales (the project
company's own one-year PD 2 %). Everything runs on the engine's paths (`carbonrisk.portfolios.stress`: one fit of the demo's
GARCH(1,1)-FHS model, 2 048 Monte Carlo paths, common random numbers).""")
code("""import warnings

import pandas as pd

from carbonrisk import load_portfolio
from carbonrisk.finance.loans import MCPledgeLoanEngine, MCProjectLoanEngine
from carbonrisk.finance.stress_scenarios import embedded_scenarios
from carbonrisk.portfolios.stress import prepare_stress, run_reverse_stress, run_scenarios

warnings.simplefilter("ignore")
pd.set_option("display.float_format", lambda v: f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.0f}")
portfolio = load_portfolio()          # the embedded demo portfolio
base = prepare_stress(portfolio)      # fit, grid, 2 048 paths of CEA and CCER, project paths, the project plan
pledge, project = (c for c in portfolio.contracts if c.instrument.kind in ("pledge_loan", "project_loan"))
print(f"valuation date {base.market.valuation_date.date()}, CEA {base.market.spot('CEA'):.2f}, "
      f"CCER {base.market.spot('CCER'):.2f} CNY/t")""")
md("""## 1. Expected credit loss and capital

A loan *defaults* on a path when its collateral or its cash flow falls short (the pledge is liquidated; the project
cannot pay its debt service from cash flow and reserve) or when the borrower defaults for its own reasons (the
rating's or the given one-year PD, a constant hazard independent of carbon prices). On each path the engine records
when, how much was owed (EAD) and how much was lost after selling the collateral in a thin market. From that:

- **PD over the life** = share of paths that default before maturity; **LGD** = loss / EAD over those paths;
- **ECL** (IFRS 9 5.5.17): per quarter, marginal PD x LGD x EAD, discounted at the loan's effective interest rate;
  the 12-month ECL counts the defaults of the next year, the lifetime ECL all of them; stage 1 books the first,
  stages 2 and 3 the second (stage 2 if the lifetime PD has more than doubled since origination or the coverage is
  below the maintenance ratio);
- **IRB capital** (Basel corporate formula, para 272): K(PD 1y of the borrower, LGD from the paths, M) x EAD,
  RWA = 12.5 K EAD;
- **standardised** (NFRA 2023, 权重法): 100 % for a general corporate; the CEA / CCER pledge is *not* in the rules'
  list of eligible collateral, so we assume it does not reduce RWA (it lowers the LGD only).""")
code("""market = base.market
pl = MCPledgeLoanEngine().calculate(pledge.instrument, market=market, paths=base.paths, quick=True).extras
proj_inst = base.projects.loan_inputs(project.project, project.instrument)
pj = MCProjectLoanEngine().calculate(proj_inst, market=market, paths=base.paths).extras
keys = ["pd_lifetime", "lgd", "ead_cny", "ecl_12m_cny", "ecl_lifetime_cny", "ifrs9_stage", "irb_pd_1y",
        "irb_risk_weight", "irb_capital_cny", "rwa_cny", "standardised_risk_weight", "standardised_capital_cny",
        "carbon_collateral_recognised"]
credit = pd.DataFrame({pledge.name: {k: pl[k] for k in keys}, project.name: {k: pj[k] for k in keys}})
credit""")
md("""Reading it: the pledge loan rarely loses money even when it defaults (the collateral covers most of the amount
owed; an LGD of a percent or two), so its ECL and IRB capital are small; the standardised approach, which ignores
the carbon pledge, asks for tens of times more capital than IRB. The project loan's life is ten years and its
defaults are mostly the borrower's own plus the low-price paths: lifetime ECL is much larger than the 12-month ECL
(the loan is drawn in 2027, so the next 12 months carry almost no default), which is what a move to stage 2 would
cost.""")
md("""## 2. Stress scenarios

Each historical and policy scenario is applied from the valuation date to the whole book, deterministically
(today's prices times the scenario's relative path; projects at their plan). For the loans: did the borrower get a
margin call, was the pledge sold, what was lost, how low did the coverage go and how high the LTV.""")
code("""tables = run_scenarios(base, embedded_scenarios())
loans = tables["scenario_loans"]
loans.pivot(index="scenario", columns="loan", values="expected_loss_cny")""")
code("""cols = ["scenario", "p_margin_call", "p_liquidation", "expected_loss_cny", "min_coverage", "peak_ltv"]
loans[loans["loan"] == pledge.name][cols].set_index("scenario")""")
code("""tables["scenario_breaches"]""")
md("""The pledge loan survives the CEA launch drawdown (-29 %) and CEA's worst year (-16 %) without a loss: the first
brings margin calls, which the wrong-way borrower meets only part of the time, but the coverage stays above the
115 % liquidation line. An EU-sized crash (2008-09, -73 %) or Hubei's worst year (-61 %) forces the sale, and a
sale of 1 Mt at 10 % of the daily volume takes weeks while the price keeps falling: that is where the loss comes
from. The project loan hardly notices the allowance price: its default rate comes from the borrower's own PD and
the CCER income is a minority of its cash flow; the policy scenarios that delay issuance or cut the heat emission
factor barely move its expected loss (compare with the base row).""")
md("""## 3. Reverse stress: where does each loan break?

The price level (an instantaneous move of the whole path set from tomorrow) at which the lender's NPV of the loan
turns negative, by bisection on common random numbers (1 024 paths, at most 10 steps: a bracket of about
0.1 CNY/t), and the closed-form level at which the coverage breaches the maintenance ratio.""")
code("""rev = pd.DataFrame([r.row() for r in run_reverse_stress(base)])
rev[["target", "question", "variable", "threshold", "precision", "note"]]""")
md("""The pledge loan starts losing money if CEA falls by roughly a third at once (the threshold above): the
collateral then sells below the amount owed after the liquidation haircut and the weeks a forced sale takes. The
margin call comes much earlier (coverage 135 % = 0.81 x today's price). The project loan does not turn negative
even with CCER near zero: heat revenue carries the debt service, carbon income is the cushion. For the book, a
fall of both prices at once by the shock in the VaR row (a tenth or so) breaches the 10-day VaR limit: the pledge
then sits close to its margin-call line, and its liquidation losses enter the 10-day tail.""")

nb = nbformat.v4.new_notebook(
    cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
)
NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()
nbformat.write(nb, HERE / "05_bank_credit_file.ipynb")
