"""Walk-forward one-day VaR backtests: Kupiec proportion of failures, Christoffersen independence and coverage.

Procedure: the model is fitted on a window of ``window`` daily returns (rolling by default, or expanding), refitted
every ``refit`` trading days (warm-started from the previous estimate, retried cold if that fails to converge, and
the optimiser's best point kept as a last resort, which the result's ``warnings`` record; ``arch``'s ``first_obs``
/ ``last_obs`` keep one model object for the whole run), and between refits its parameters are held fixed while
the one-day-ahead forecasts use the newly observed data. The ``level`` VaR of day ``t`` is the ``1 - level``
quantile of the forecast return distribution; a violation (hit) is a realised return below it.

Statistics (``x`` hits in ``n`` forecasts, ``p = 1 - level``)::

    Kupiec POF       LR_pof = -2 ln[(1 - p)^(n - x) p^x] + 2 ln[(1 - x/n)^(n - x) (x/n)^x]          ~ chi2(1)
    Christoffersen   LR_ind = -2 ln[(1 - pi)^(n00 + n10) pi^(n01 + n11)]
                              + 2 ln[(1 - pi01)^n00 pi01^n01 (1 - pi11)^n10 pi11^n11]                ~ chi2(1)
                     LR_cc  = LR_pof + LR_ind                                                        ~ chi2(2)

with ``nij`` the number of days in state ``i`` followed by state ``j``, ``pi01 = n01 / (n00 + n01)``,
``pi11 = n11 / (n10 + n11)``, ``pi = (n01 + n11) / (n00 + n01 + n10 + n11)`` and ``0 ln 0 = 0``
(Kupiec 1995, J. Derivatives 3(2); Christoffersen 1998, Int. Econ. Rev. 39(4)).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import xlogy

from carbonrisk.models.data import PriceHistory
from carbonrisk.models.exceptions import ConvergenceError, InputError
from carbonrisk.models.garch import MIN_FIT_OBS, Garch
from carbonrisk.models.meanrev import OrnsteinUhlenbeck, OUGarch, fit_ar1
from carbonrisk.models.units import PERCENT

__all__ = [
    "BACKTEST_MODELS",
    "BacktestResult",
    "LevelBacktest",
    "backtest_table",
    "backtest_var",
    "christoffersen",
    "format_backtest_table",
    "kupiec_pof",
    "rank_by_coverage",
]

BACKTEST_MODELS: tuple[tuple[str, str], ...] = tuple(
    [(m, d) for m in ("garch", "gjr", "egarch") for d in ("normal", "t", "skewt")]
    + [("garch", "empirical"), ("gjr", "empirical"), ("ou", "normal")]
    + [("ou-garch", d) for d in ("normal", "t", "skewt", "empirical")]
)
"""Every (model, dist) the catalog offers, in the order of the README's backtest table."""

Spec = Garch | OrnsteinUhlenbeck | OUGarch


def kupiec_pof(violations: int, n_obs: int, level: float) -> tuple[float, float]:
    """Kupiec proportion-of-failures likelihood ratio and its chi2(1) p-value."""
    if n_obs <= 0 or not 0 <= violations <= n_obs:
        raise InputError(f"violations={violations} and n_obs={n_obs} must satisfy 0 <= violations <= n_obs, n_obs > 0")
    p = 1.0 - level
    x, n = violations, n_obs
    ll_null = xlogy(n - x, 1.0 - p) + xlogy(x, p)
    rate = x / n
    ll_alt = xlogy(n - x, 1.0 - rate) + xlogy(x, rate)
    lr = max(0.0, float(-2.0 * (ll_null - ll_alt)))
    return lr, float(stats.chi2.sf(lr, 1))


def christoffersen(hits: np.ndarray | Sequence[bool], level: float) -> dict[str, float]:
    """Christoffersen independence and conditional-coverage likelihood ratios with p-values."""
    h = np.asarray(hits, dtype=bool)
    if h.size < 2:
        raise InputError(f"hits has {h.size} values; at least 2 are needed")
    prev, curr = h[:-1], h[1:]
    n00 = int(np.sum(~prev & ~curr))
    n01 = int(np.sum(~prev & curr))
    n10 = int(np.sum(prev & ~curr))
    n11 = int(np.sum(prev & curr))
    pi01 = n01 / (n00 + n01) if n00 + n01 > 0 else 0.0
    pi11 = n11 / (n10 + n11) if n10 + n11 > 0 else 0.0
    pi = (n01 + n11) / (n00 + n01 + n10 + n11)
    ll_null = xlogy(n00 + n10, 1.0 - pi) + xlogy(n01 + n11, pi)
    ll_alt = xlogy(n00, 1.0 - pi01) + xlogy(n01, pi01) + xlogy(n10, 1.0 - pi11) + xlogy(n11, pi11)
    lr_ind = max(0.0, float(-2.0 * (ll_null - ll_alt)))
    lr_pof, _ = kupiec_pof(int(h.sum()), int(h.size), level)
    lr_cc = lr_pof + lr_ind
    return {
        "lr_ind": lr_ind,
        "pvalue_ind": float(stats.chi2.sf(lr_ind, 1)),
        "lr_cc": lr_cc,
        "pvalue_cc": float(stats.chi2.sf(lr_cc, 2)),
        "n00": n00,
        "n01": n01,
        "n10": n10,
        "n11": n11,
    }


@dataclass(frozen=True)
class LevelBacktest:
    """Backtest statistics at one VaR level."""

    level: float
    n_obs: int
    violations: int
    expected: float
    kupiec_lr: float
    kupiec_pvalue: float
    christoffersen_independence_lr: float
    christoffersen_independence_pvalue: float
    christoffersen_cc_lr: float
    christoffersen_cc_pvalue: float

    def passes(self, size: float = 0.05) -> bool:
        """Neither the Kupiec nor the Christoffersen conditional-coverage test rejects at ``size``."""
        return self.kupiec_pvalue >= size and self.christoffersen_cc_pvalue >= size

    def to_dict(self) -> dict[str, Any]:
        """Plain values (the CLI's JSON keys)."""
        return {
            "level": self.level,
            "n_obs": self.n_obs,
            "violations": self.violations,
            "expected": self.expected,
            "kupiec_lr": self.kupiec_lr,
            "kupiec_pvalue": self.kupiec_pvalue,
            "christoffersen_independence_lr": self.christoffersen_independence_lr,
            "christoffersen_independence_pvalue": self.christoffersen_independence_pvalue,
            "christoffersen_cc_lr": self.christoffersen_cc_lr,
            "christoffersen_cc_pvalue": self.christoffersen_cc_pvalue,
        }


@dataclass
class BacktestResult:
    """Walk-forward VaR backtest of one model on one history.

    Attributes
    ----------
    forecasts : pandas.DataFrame
        Per forecast day: realised ``return_pct``, ``mean_pct``, ``vol_pct`` and ``var_<level>_pct`` (the return
        quantile, negative) and ``hit_<level>``.
    levels : list of LevelBacktest
        Statistics per VaR level.
    """

    model: str
    data: str
    window: int
    refit: int
    scheme: str
    forecasts: pd.DataFrame
    levels: list[LevelBacktest]
    n_refits: int
    warnings: list[str] = field(default_factory=list)

    def passes(self, size: float = 0.05) -> bool:
        """No level rejected by Kupiec or Christoffersen conditional coverage at ``size``."""
        return all(lv.passes(size) for lv in self.levels)

    def to_frame(self) -> pd.DataFrame:
        """One row per level with the statistics."""
        frame = pd.DataFrame([lv.to_dict() for lv in self.levels])
        frame.insert(0, "data", self.data)
        frame.insert(0, "model", self.model)
        return frame

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "model": self.model,
            "data": self.data,
            "window": self.window,
            "refit": self.refit,
            "scheme": self.scheme,
            "n_refits": self.n_refits,
            "levels": [lv.to_dict() for lv in self.levels],
            "passes_5pct": self.passes(),
            "warnings": list(self.warnings),
        }


def _check(levels: Sequence[float], window: int, refit: int, scheme: str, n_returns: int, name: str) -> None:
    for lv in levels:
        if not 0.5 < lv < 1.0:
            raise InputError(f"VaR level {lv} must lie in (0.5, 1)")
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < MIN_FIT_OBS:
        raise InputError(f"window={window} must be an integer >= {MIN_FIT_OBS}")
    if isinstance(refit, bool) or not isinstance(refit, (int, np.integer)) or refit <= 0:
        raise InputError(f"refit={refit} must be a positive integer")
    if scheme not in ("rolling", "expanding"):
        raise InputError(f"scheme='{scheme}' must be 'rolling' or 'expanding'")
    if n_returns < window + 2:
        raise InputError(f"'{name}' has {n_returns} returns; window={window} leaves fewer than 2 to forecast")


def _robust_fit(
    spec: Garch,
    data: pd.Series,
    name: str,
    first: int,
    last: int,
    start_values: np.ndarray | None,
    notes: list[str],
) -> Any:
    """Warm-started fit; when the optimiser reports failure, retry cold, then accept its best point (noted).

    Within a backtest a refit that stops on a line-search problem (SLSQP exit mode 8) usually sits at the optimum
    already; the walk-forward keeps going with that estimate and records it, instead of aborting the whole run.
    """
    if last - first < MIN_FIT_OBS:
        raise InputError(f"'{name}' window of {last - first} returns; {spec.name} needs at least {MIN_FIT_OBS}")
    model = spec.arch_model(data)
    res = None
    for starts in (start_values, None):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = model.fit(
                disp="off",
                show_warning=False,
                first_obs=first,
                last_obs=last,
                starting_values=starts,
                options={"maxiter": spec.max_iter},
            )
        if res.convergence_flag == 0:
            return res
        if starts is None:
            break
    assert res is not None
    if not np.isfinite(res.loglikelihood):
        raise ConvergenceError(
            f"{spec.name} refit on '{name}' up to {data.index[last - 1].date()} failed: "
            f"{res.optimization_result.message}"
        )
    notes.append(
        f"{spec.name} refit up to {data.index[last - 1].date()}: optimiser stopped with "
        f"'{res.optimization_result.message}'; its estimate was used"
    )
    return res


def _garch_forecasts(
    spec: Garch,
    r_pct: pd.Series,
    name: str,
    refit_points: list[int],
    window: int,
    refit: int,
    expanding: bool,
    notes: list[str],
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], Any, list[np.ndarray]]:
    """Mean and variance forecasts (percent) for days ``refit_points[0]..``, the parameters in force each day, the
    fitted distribution and each day's window of standardised residuals (for filtered historical simulation)."""
    n = len(r_pct)
    mean = np.full(n, np.nan)
    var = np.full(n, np.nan)
    params: list[np.ndarray] = []
    resids: list[np.ndarray] = []
    start_values: np.ndarray | None = None
    dist = spec.arch_model(r_pct.iloc[:MIN_FIT_OBS]).distribution
    for i in refit_points:
        first = 0 if expanding else i - window
        res = _robust_fit(spec, r_pct, name, first, i, start_values, notes)
        start_values = np.asarray(res.params)
        stop = min(i + refit, n)
        fc = res.forecast(horizon=1, start=i - 1, reindex=False)
        mean[i:stop] = fc.mean.iloc[: stop - i, 0].to_numpy()
        var[i:stop] = fc.variance.iloc[: stop - i, 0].to_numpy()
        params.extend([start_values] * (stop - i))
        resids.extend([_window_resid(res)] * (stop - i))
    return mean, var, params, dist, resids


def _window_resid(res: Any) -> np.ndarray:
    """Finite standardised residuals of a fit (its estimation window)."""
    z = np.asarray(res.std_resid, dtype=float)
    return z[np.isfinite(z)]


def _fhs_quantiles(resids: list[np.ndarray], level: float, window: int) -> np.ndarray:
    """Per forecast day, the ``1 - level`` empirical quantile of the window's standardised residuals."""
    cache: dict[int, float] = {}
    qs = []
    for z in resids:
        key = id(z)
        if key not in cache:
            cache[key] = float(np.quantile(z, 1.0 - level))
        qs.append(cache[key])
    return np.concatenate([np.full(window, np.nan), qs])


def backtest_var(
    history: PriceHistory,
    spec: Spec,
    *,
    levels: Sequence[float] = (0.95, 0.99),
    window: int = 500,
    refit: int = 20,
    scheme: Literal["rolling", "expanding"] = "rolling",
) -> BacktestResult:
    """Walk-forward one-day VaR backtest of ``spec`` on ``history`` (see the module docstring).

    Parameters
    ----------
    history : PriceHistory
        Daily prices.
    spec : Garch, OrnsteinUhlenbeck or OUGarch
        Model specification (refitted along the way).
    levels : sequence of float
        VaR confidence levels, each in (0.5, 1).
    window : int
        Returns per estimation window (>= 100).
    refit : int
        Trading days between refits.
    scheme : {"rolling", "expanding"}
        Rolling window of ``window`` returns, or all returns up to the forecast day.
    """
    x = np.log(history.prices.to_numpy())
    r_pct = history.log_returns * PERCENT
    n = len(r_pct)
    _check(levels, window, refit, scheme, n, history.name)
    expanding = scheme == "expanding"
    refit_points = list(range(window, n, refit))
    q_std: dict[float, np.ndarray] = {}
    notes: list[str] = []
    if isinstance(spec, Garch):
        mean, var, params, dist, resids = _garch_forecasts(
            spec, r_pct, history.name, refit_points, window, refit, expanding, notes
        )
        k = dist.num_params
        for lv in levels:
            if spec.law.bootstraps:
                q_std[lv] = _fhs_quantiles(resids, lv, window)
                continue
            qs = [float(dist.ppf(1.0 - lv, p[len(p) - k :] if k else None)) for p in params]
            q_std[lv] = np.concatenate([np.full(window, np.nan), qs])
    else:
        mean = np.full(n, np.nan)
        var = np.full(n, np.nan)
        garch_params: list[np.ndarray] = []
        garch_resids: list[np.ndarray] = []
        start_values: np.ndarray | None = None
        dist = None
        for i in refit_points:
            first = 0 if expanding else i - window
            ar = fit_ar1(x[first : i + 1], history.name, require_reversion=False)
            stop = min(i + refit, n)
            mean[i:stop] = (ar.c + (ar.phi - 1.0) * x[i:stop]) * PERCENT
            if isinstance(spec, OrnsteinUhlenbeck):
                var[i:stop] = (ar.sigma_e * PERCENT) ** 2
                continue
            resid = pd.Series((x[1:] - ar.c - ar.phi * x[:-1]) * PERCENT, index=r_pct.index)
            inner = Garch(dist=spec.garch.dist, vol=spec.garch.vol, mean="zero", max_iter=spec.garch.max_iter)
            res = _robust_fit(inner, resid, history.name, first, i, start_values, notes)
            start_values = np.asarray(res.params)
            dist = res.model.distribution
            fc = res.forecast(horizon=1, start=i - 1, reindex=False)
            var[i:stop] = fc.variance.iloc[: stop - i, 0].to_numpy()
            garch_params.extend([start_values] * (stop - i))
            garch_resids.extend([_window_resid(res)] * (stop - i))
        for lv in levels:
            if isinstance(spec, OUGarch) and spec.garch.law.bootstraps:
                q_std[lv] = _fhs_quantiles(garch_resids, lv, window)
            elif dist is None:
                q_std[lv] = np.full(n, float(stats.norm.ppf(1.0 - lv)))
            else:
                k = dist.num_params
                qs = [float(dist.ppf(1.0 - lv, p[len(p) - k :] if k else None)) for p in garch_params]
                q_std[lv] = np.concatenate([np.full(window, np.nan), qs])
    sl = slice(window, n)
    frame = pd.DataFrame(
        {"return_pct": r_pct.to_numpy()[sl], "mean_pct": mean[sl], "vol_pct": np.sqrt(var[sl])},
        index=r_pct.index[sl],
    )
    results = []
    for lv in levels:
        threshold = frame["mean_pct"].to_numpy() + frame["vol_pct"].to_numpy() * q_std[lv][sl]
        hits = frame["return_pct"].to_numpy() < threshold
        frame[f"var_{lv:g}_pct"] = threshold
        frame[f"hit_{lv:g}"] = hits
        pof_lr, pof_p = kupiec_pof(int(hits.sum()), len(hits), lv)
        ch = christoffersen(hits, lv)
        results.append(
            LevelBacktest(
                level=float(lv),
                n_obs=len(hits),
                violations=int(hits.sum()),
                expected=len(hits) * (1.0 - lv),
                kupiec_lr=pof_lr,
                kupiec_pvalue=pof_p,
                christoffersen_independence_lr=ch["lr_ind"],
                christoffersen_independence_pvalue=ch["pvalue_ind"],
                christoffersen_cc_lr=ch["lr_cc"],
                christoffersen_cc_pvalue=ch["pvalue_cc"],
            )
        )
    label = spec.name
    if not math.isfinite(float(np.nanmax(frame["vol_pct"].to_numpy()))):
        raise InputError(f"{label} backtest on '{history.name}' produced non-finite volatility forecasts")
    return BacktestResult(
        model=label,
        data=history.name,
        window=int(window),
        refit=int(refit),
        scheme=scheme,
        forecasts=frame,
        levels=results,
        n_refits=len(refit_points),
        warnings=notes,
    )


def rank_by_coverage(results: Sequence[BacktestResult], size: float = 0.05) -> pd.DataFrame:
    """Rank models by their backtests on several series (the default-model rule).

    Per model: ``passes_all`` (no Kupiec or conditional-coverage rejection at ``size`` in any series and level),
    ``min_cc_pvalue`` (smallest Christoffersen conditional-coverage p-value), ``n_rejections``. Sorted by
    ``passes_all`` then ``min_cc_pvalue``, both descending: the first row is the model to choose.
    """
    rows: dict[str, dict[str, Any]] = {}
    for res in results:
        row = rows.setdefault(
            res.model, {"model": res.model, "passes_all": True, "min_cc_pvalue": 1.0, "n_rejections": 0}
        )
        for lv in res.levels:
            row["passes_all"] = row["passes_all"] and lv.passes(size)
            row["min_cc_pvalue"] = min(row["min_cc_pvalue"], lv.christoffersen_cc_pvalue)
            row["n_rejections"] += int(not lv.passes(size))
    frame = pd.DataFrame(list(rows.values()))
    return frame.sort_values(["passes_all", "min_cc_pvalue"], ascending=[False, False]).reset_index(drop=True)


def backtest_table(
    series: Sequence[str] = ("cea", "hbea"),
    models: Sequence[tuple[str, str]] = BACKTEST_MODELS,
    *,
    levels: Sequence[float] = (0.95, 0.99),
    window: int = 500,
    refit: int = 20,
) -> pd.DataFrame:
    """Backtest every ``(model, dist)`` on every embedded series: one row per model, series and level.

    Columns ``model_key`` (``garch-normal``...), ``model``, ``data``, ``level``, ``n_obs``, ``violations``,
    ``expected``, ``kupiec_pvalue``, ``cc_pvalue``, ``passes`` (neither rejects at 5 %).
    """
    from carbonrisk.models.catalog import make_spec
    from carbonrisk.models.data import load_prices

    rows = []
    for name in series:
        history = load_prices(name)
        for model, dist in models:
            res = backtest_var(history, make_spec(model, dist), levels=levels, window=window, refit=refit)
            for lv in res.levels:
                rows.append(
                    {
                        "model_key": f"{model}-{dist}",
                        "model": res.model,
                        "data": name,
                        "level": lv.level,
                        "n_obs": lv.n_obs,
                        "violations": lv.violations,
                        "expected": lv.expected,
                        "kupiec_pvalue": lv.kupiec_pvalue,
                        "cc_pvalue": lv.christoffersen_cc_pvalue,
                        "passes": lv.passes(),
                    }
                )
    return pd.DataFrame(rows)


def format_backtest_table(table: pd.DataFrame, size: float = 0.05) -> str:
    """The README's Markdown table of a :func:`backtest_table` frame, best model first (the default-model rule).

    Each cell: violations / expected, Kupiec p-value, Christoffersen conditional-coverage p-value; a cross marks a
    rejection at ``size`` by either test. Rows sorted by ``passes_all`` then the smallest conditional-coverage
    p-value, as :func:`rank_by_coverage`.
    """
    series = list(dict.fromkeys(table["data"]))
    levels = sorted(set(table["level"]))
    rows = []
    for _key, g in table.groupby("model_key", sort=False):
        cells = []
        for name in series:
            for lv in levels:
                r = g[(g["data"] == name) & (g["level"] == lv)].iloc[0]
                ok = r["kupiec_pvalue"] >= size and r["cc_pvalue"] >= size
                cells.append(
                    f"{int(r['violations'])} / {r['expected']:.1f}, {r['kupiec_pvalue']:.3f}, {r['cc_pvalue']:.3f}"
                    + ("" if ok else " ✗")
                )
        passes = bool(((g["kupiec_pvalue"] >= size) & (g["cc_pvalue"] >= size)).all())
        rows.append((not passes, -float(g["cc_pvalue"].min()), str(g["model"].iloc[0]), cells))
    rows.sort(key=lambda r: (r[0], r[1]))
    head = ["model"] + [f"{n.upper()} {lv:.0%}" for n in series for lv in levels] + ["min cc p"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _failed, neg_min, model, cells in rows:
        lines.append(f"| {model} | " + " | ".join(cells) + f" | {-neg_min:.4f} |")
    return "\n".join(lines)
