"""The GARCH family's component objects (volatility processes, innovation laws) and the frozen fitted results.

Independent checks of the laws' moments: numerical integration of the densities (``scipy.stats``, ``arch``'s
``SkewStudent.pdf``) against the closed forms the components use; Hansen's skewed t reduces to the standardised
Student t at ``lambda = 0`` (Hansen 1994, eq. 10). Integration error is far below the tolerances used (1e-8).
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from carbonrisk.models.catalog import fit_model
from carbonrisk.models.data import PriceHistory, load_prices
from carbonrisk.models.garch import DISTRIBUTIONS, VOLATILITIES, Garch
from carbonrisk.models.innovations import LAWS, NORMAL, SKEWT, STUDENT_T
from carbonrisk.models.interface import PriceModelResult
from carbonrisk.models.joint import BasisParams, JointCeaCcer
from carbonrisk.models.sampler import DIST_CODES, VOL_EGARCH, VOL_GARCH
from carbonrisk.models.volatility import PROCESSES


@pytest.fixture(scope="module")
def cea() -> PriceHistory:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_prices("cea")


def _t_pdf(nu: float):  # standardised Student t (unit variance)
    scale = math.sqrt((nu - 2.0) / nu)
    return lambda z: stats.t.pdf(z / scale, nu) / scale


def _moment(pdf, g, lo: float = -np.inf, hi: float = np.inf) -> float:
    return float(integrate.quad(lambda z: g(z) * pdf(z), lo, hi, epsabs=1e-13, epsrel=1e-12, limit=200)[0])


@pytest.mark.parametrize("nu", [4.5, 6.0, 12.0])
def test_student_t_moments_match_numerical_integration(nu: float) -> None:
    pdf = _t_pdf(nu)
    params = pd.Series({"nu": nu})
    kappa, m4, m4_neg = STUDENT_T.moments(params)
    assert STUDENT_T.abs_mean(params) == pytest.approx(_moment(pdf, abs), rel=1e-8)
    assert kappa == pytest.approx(_moment(pdf, lambda z: z * z, hi=0.0), rel=1e-8)
    assert m4 == pytest.approx(_moment(pdf, lambda z: z**4), rel=1e-6)
    assert m4_neg == pytest.approx(_moment(pdf, lambda z: z**4, hi=0.0), rel=1e-6)


def test_skew_t_reduces_to_student_t_at_zero_lambda_and_matches_its_density() -> None:
    from arch.univariate.distribution import SkewStudent

    sym = pd.Series({"nu": 7.0, "lambda": 0.0})
    assert SKEWT.moments(sym) == pytest.approx(STUDENT_T.moments(sym), rel=1e-10)
    assert SKEWT.abs_mean(sym) == pytest.approx(STUDENT_T.abs_mean(sym), rel=1e-10)
    skew = pd.Series({"nu": 7.0, "lambda": -0.3})
    shape = np.array([7.0, -0.3])

    def pdf(z: float) -> float:
        return float(np.exp(SkewStudent().loglikelihood(shape, np.array([z]), np.ones(1), individual=True)[0]))

    kappa, m4, m4_neg = SKEWT.moments(skew)
    assert SKEWT.abs_mean(skew) == pytest.approx(_moment(pdf, abs), rel=1e-7)
    assert kappa == pytest.approx(_moment(pdf, lambda z: z * z, hi=0.0), rel=1e-7)
    assert m4 == pytest.approx(_moment(pdf, lambda z: z**4), rel=1e-6)
    assert m4_neg == pytest.approx(_moment(pdf, lambda z: z**4, hi=0.0), rel=1e-6)


def test_normal_moments_are_the_textbook_values() -> None:
    empty = pd.Series(dtype=float)
    assert NORMAL.moments(empty) == (0.5, 3.0, 1.5)
    assert NORMAL.abs_mean(empty) == pytest.approx(_moment(stats.norm.pdf, abs), rel=1e-10)


def test_components_carry_the_kernel_codes_and_the_names() -> None:
    assert tuple(LAWS) == DISTRIBUTIONS and tuple(PROCESSES) == VOLATILITIES
    for name, law in LAWS.items():
        assert law.code == DIST_CODES[name] and law.name == name
    assert PROCESSES["garch"].code == PROCESSES["gjr"].code == VOL_GARCH and PROCESSES["egarch"].code == VOL_EGARCH
    assert LAWS["empirical"].bootstraps and not PROCESSES["egarch"].offers_bootstrap


@pytest.mark.parametrize("vol", VOLATILITIES)
@pytest.mark.parametrize("dist", ["normal", "t", "skewt"])
def test_fitted_parameters_are_labelled_by_the_components(cea: PriceHistory, vol: str, dist: str) -> None:
    spec = Garch(vol=vol, dist=dist)  # type: ignore[arg-type]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = spec.fit(cea)
    assert tuple(res.params.index) == spec.parameter_names
    assert spec.name == f"{spec.process.label}-{dist}"


@pytest.mark.parametrize(("model", "dist"), [("garch", "empirical"), ("ou", "normal"), ("ou-garch", "t")])
def test_fitted_results_are_frozen_and_offer_the_interface(cea: PriceHistory, model: str, dist: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_model(cea, model, dist)
    joint = JointCeaCcer(res, BasisParams())
    for obj in (res, joint):
        assert isinstance(obj, PriceModelResult)
        assert obj.summary()["model"] == obj.name
        with pytest.raises(dataclasses.FrozenInstanceError):
            obj.last_date = pd.Timestamp("2030-01-01")  # type: ignore[misc]
