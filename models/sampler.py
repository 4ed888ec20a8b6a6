"""Fast innovation samplers and the fused path kernel shared by every price model (numba, ``cache=True``).

Sampler
-------
Student-t variates come from Bailey's (1994) polar transform, the Box-Muller analogue of the t law: for two
independent uniforms ``U, V`` on (0, 1]::

    R = sqrt(nu (U^(-2/nu) - 1)),      T1 = R cos(2 pi V),   T2 = R sin(2 pi V)

``T1`` and ``T2`` are Student-t with ``nu`` degrees of freedom (no rejection step, one power and one sin/cos per
pair); with ``R = sqrt(-2 ln U)`` the same transform is Box-Muller for normals. Innovations are standardised to unit
variance (``T sqrt((nu - 2) / nu)``). Hansen's (1994) skewed t with asymmetry ``lam`` is drawn from the absolute
value ``|s|`` of a standardised symmetric t variate and one extra uniform ``W``::

    z = (-(1 - lam) |s| - a) / b   if W < (1 - lam) / 2,     z = ((1 + lam) |s| - a) / b   otherwise,
    a = 4 lam c (nu - 2) / (nu - 1),   b^2 = 1 + 3 lam^2 - a^2,
    c = Gamma((nu + 1) / 2) / (sqrt(pi (nu - 2)) Gamma(nu / 2)),

which reproduces Hansen's piecewise density exactly (the left branch carries mass ``(1 - lam) / 2``).

Uniforms are drawn in bulk by NumPy from the block's own generator (see :mod:`models.random`), step by step in
a fixed order, so the numbers depend only on the seed and the block, never on how steps or paths are batched.

Kernel
------
:func:`simulate_block` advances one block of paths over a range of steps. Per step ``i`` and path::

    log price   x <- c_i + phi_i x + e,   e = sd_i z                     (constant volatility)
                                          e = sqrt(h) z / 100            (GARCH / GJR, h in percent^2)
                                          e = exp(h / 2) z / 100         (EGARCH, h = ln sigma^2)
    GARCH/GJR   h <- omega + (alpha + gamma 1[e < 0]) (100 e)^2 + beta h
    EGARCH      h <- omega + alpha (|z| - sqrt(2 / pi)) + gamma z + beta h
    basis       b <- mb_i + eb_i (b - mb_i) + sb_i (rho z_n + sqrt(1 - rho^2) n),   n ~ N(0, 1)

where ``z_n`` is the price innovation mapped to a standard normal score through its own law's CDF would be costly;
the basis uses ``z`` itself (unit variance), so ``rho`` is the correlation of the two shocks. Values are recorded
(``exp(x)`` and ``exp(x - b)``) on the steps marked in ``record``. Guards (see :mod:`models.garch`): ``z`` is
clipped to ``[-z_max, z_max]`` and ``h`` to at most ``h_max`` (``ln`` of the ceiling for EGARCH); infinite bounds
switch them off.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from models.exceptions import InputError
from models.random import RngLike, iter_blocks

__all__ = [
    "DIST_CODES",
    "VOL_CONSTANT",
    "VOL_EGARCH",
    "VOL_GARCH",
    "hansen_constants",
    "simulate_block",
    "standard_t",
    "uniforms_per_step",
]

DIST_CODES: dict[str, int] = {"normal": 0, "t": 1, "skewt": 2}
VOL_CONSTANT: int = 0
VOL_GARCH: int = 1
"""GARCH(1,1) and GJR-GARCH(1,1,1) (``gamma = 0`` for GARCH)."""
VOL_EGARCH: int = 2
_TWO_PI = 2.0 * math.pi
_EGARCH_ABS_MEAN = math.sqrt(2.0 / math.pi)


def hansen_constants(nu: float, lam: float) -> tuple[float, float]:
    """Constants ``(a, b)`` of Hansen's skewed t (see the module docstring)."""
    c = math.exp(math.lgamma((nu + 1.0) / 2.0) - math.lgamma(nu / 2.0)) / math.sqrt(math.pi * (nu - 2.0))
    a = 4.0 * lam * c * (nu - 2.0) / (nu - 1.0)
    b = math.sqrt(1.0 + 3.0 * lam * lam - a * a)
    return a, b


def uniforms_per_step(n_paths: int, dist: int, basis: bool) -> int:
    """Uniforms one step of a block of ``n_paths`` consumes: 2 per pair of paths, +2 per pair for the basis,
    +1 per path for the skewed-t branch."""
    pairs = (n_paths + 1) // 2
    return 2 * pairs + (2 * pairs if basis else 0) + (n_paths if dist == 2 else 0)


@numba.njit(cache=True, nogil=True)
def _fill_t(u: np.ndarray, nu: float, out: np.ndarray) -> None:  # pragma: no cover - compiled
    n = out.shape[0]
    pairs = (n + 1) // 2
    expo = -2.0 / nu
    for k in range(pairs):
        r = math.sqrt(nu * ((1.0 - u[k]) ** expo - 1.0))
        ang = _TWO_PI * u[pairs + k]
        out[2 * k] = r * math.cos(ang)
        if 2 * k + 1 < n:
            out[2 * k + 1] = r * math.sin(ang)


def standard_t(nu: float, size: int, rng: RngLike = None) -> np.ndarray:
    """Draw ``size`` Student-t variates with ``nu`` degrees of freedom by Bailey's polar transform.

    Parameters
    ----------
    nu : float
        Degrees of freedom, > 0.
    size : int
        Number of variates.
    rng : int, numpy.random.Generator or None
        Seed; blocks of :data:`models.random.BLOCK_PATHS` variates each use their own generator.

    Returns
    -------
    numpy.ndarray
        Unstandardised t variates (variance ``nu / (nu - 2)`` when ``nu > 2``).

    Notes
    -----
    ``T = sqrt(nu (U^(-2/nu) - 1)) cos(2 pi V)`` with ``U, V`` uniform (Bailey 1994, Math. Comp. 62, 779-781).
    """
    if not (nu > 0 and math.isfinite(nu)):
        raise InputError(f"nu={nu!r} must be a finite number > 0")
    out = np.empty(int(size))
    for block in iter_blocks(int(size), rng):
        pairs = (block.size + 1) // 2
        _fill_t(block.rng.random(2 * pairs), float(nu), out[block.start : block.stop])
    return out


@numba.njit(cache=True, nogil=True)
def simulate_block(  # pragma: no cover - compiled
    u: np.ndarray,
    s0: int,
    x: np.ndarray,
    h: np.ndarray,
    b: np.ndarray,
    dist: int,
    nu: float,
    lam: float,
    vol: int,
    omega: float,
    alpha: float,
    gamma: float,
    beta: float,
    c_arr: np.ndarray,
    phi_arr: np.ndarray,
    sd_arr: np.ndarray,
    basis_on: bool,
    mb_arr: np.ndarray,
    eb_arr: np.ndarray,
    sb_arr: np.ndarray,
    rho: float,
    record: np.ndarray,
    out: np.ndarray,
    outb: np.ndarray,
    z_max: float,
    h_max: float,
) -> None:
    """Advance one block over steps ``s0 .. s0 + u.shape[0] - 1`` in place (see the module docstring)."""
    n = x.shape[0]
    pairs = (n + 1) // 2
    t_scale = math.sqrt((nu - 2.0) / nu) if dist != 0 else 1.0
    expo = -2.0 / nu if dist != 0 else 0.0
    sk_a = 0.0
    sk_b = 1.0
    if dist == 2:
        cst = math.exp(math.lgamma((nu + 1.0) / 2.0) - math.lgamma(nu / 2.0)) / math.sqrt(math.pi * (nu - 2.0))
        sk_a = 4.0 * lam * cst * (nu - 2.0) / (nu - 1.0)
        sk_b = math.sqrt(1.0 + 3.0 * lam * lam - sk_a * sk_a)
    left_mass = (1.0 - lam) / 2.0
    rho_c = math.sqrt(max(0.0, 1.0 - rho * rho))
    off_basis = 2 * pairs
    off_skew = off_basis + (2 * pairs if basis_on else 0)
    for j in range(u.shape[0]):
        i = s0 + j
        c = c_arr[i]
        phi = phi_arr[i]
        sd = sd_arr[i]
        row = record[i]
        if basis_on:
            mb = mb_arr[i]
            eb = eb_arr[i]
            sb = sb_arr[i]
        for k in range(pairs):
            u1 = 1.0 - u[j, k]
            if dist == 0:
                r = math.sqrt(-2.0 * math.log(u1))
            else:
                r = math.sqrt(nu * (u1**expo - 1.0)) * t_scale
            ang = _TWO_PI * u[j, pairs + k]
            cs = math.cos(ang)
            sn = math.sin(ang)
            if basis_on:
                rb = math.sqrt(-2.0 * math.log(1.0 - u[j, off_basis + k]))
                angb = _TWO_PI * u[j, off_basis + pairs + k]
                nb0 = rb * math.cos(angb)
                nb1 = rb * math.sin(angb)
            for q in range(2):
                p = 2 * k + q
                if p >= n:
                    break
                z = r * cs if q == 0 else r * sn
                if dist == 2:
                    az = abs(z)
                    if u[j, off_skew + p] < left_mass:
                        z = (-(1.0 - lam) * az - sk_a) / sk_b
                    else:
                        z = ((1.0 + lam) * az - sk_a) / sk_b
                if z > z_max:
                    z = z_max
                elif z < -z_max:
                    z = -z_max
                if vol == 0:
                    e = sd * z
                elif vol == 1:
                    e_pct = math.sqrt(h[p]) * z
                    a_eff = alpha + gamma if e_pct < 0.0 else alpha
                    h[p] = min(omega + a_eff * e_pct * e_pct + beta * h[p], h_max)
                    e = e_pct / 100.0
                else:
                    e = math.exp(0.5 * h[p]) * z / 100.0
                    h[p] = min(omega + alpha * (abs(z) - _EGARCH_ABS_MEAN) + gamma * z + beta * h[p], h_max)
                xp = c + phi * x[p] + e
                x[p] = xp
                if basis_on:
                    nb = nb0 if q == 0 else nb1
                    b[p] = mb + eb * (b[p] - mb) + sb * (rho * z + rho_c * nb)
                if row >= 0:
                    out[row, p] = math.exp(xp)
                    if basis_on:
                        outb[row, p] = math.exp(xp - b[p])


@numba.njit(cache=True, nogil=True)
def histogram_update(
    values: np.ndarray, counts: np.ndarray, lo: float, inv_width: float
) -> None:  # pragma: no cover - compiled
    """Add ``ln(values[r, p])`` of each row ``r`` to ``counts[r]`` (bins ``lo + k / inv_width``, clipped)."""
    n_bins = counts.shape[1]
    for r in range(values.shape[0]):
        for p in range(values.shape[1]):
            v = values[r, p]
            if v > 0.0:
                k = int((math.log(v) - lo) * inv_width)
            else:
                k = 0
            if k < 0:
                k = 0
            elif k >= n_bins:
                k = n_bins - 1
            counts[r, k] += 1
