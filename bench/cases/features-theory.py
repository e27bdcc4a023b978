"""features-theory: the structured-features ridge learning curve eps_g(P), numpy/scipy port (spec structured-features.md §4-5).

The straightforward researcher's implementation of the spec's algorithm: for each P, an outer Brent root-find
(scipy.optimize.brentq) of the master equation in d, each evaluation making one inner Brent root-find of
df1_S(kappa) = d in ln kappa per non-isotropic spectrum (vectorized numpy sums over the 10^4 eigenvalues); then the
error formulas of §4.3. Same model and P grid as Solvable's `features-theory` case.
"""
import time

import numpy as np
from scipy.optimize import brentq

PARAMS = {
    "n0": 10000, "widths": [10000, 8000], "lambda": 0.01, "points": 100, "p_min": 10, "p_max": 100000,
    "data_exponent": 1.0, "first_layer_power": 1.0, "hidden_exponent": 0.7, "target_exponent": 0.25, "noise": 0.1,
}


def power_law(n, nu):
    v = np.arange(1, n + 1, dtype=float) ** -nu
    return v * n / v.sum()


def kappa_of_d(s, d):
    """kappa > 0 with sum s/(s+kappa) = d (Brent on t = ln kappa); 0 < d < len(s)."""
    f = lambda t: np.sum(s / (s + np.exp(t))) - d
    hi = np.log(s.sum() / d)
    lo = hi
    while f(lo) < 0:
        lo -= np.log(2.0)
    return np.exp(brentq(f, lo, hi, xtol=1e-14, rtol=1e-14))


def chi_of(s, kappa, d):
    a = kappa * np.sum(s / (s + kappa) ** 2)
    df2 = np.sum((s / (s + kappa)) ** 2)
    return df2 / a


def point(P, lam, c1, beta2, s2, n1, n2, eta2):
    dmax = min(P, len(c1), n1, n2)

    def g(d):
        k1 = kappa_of_d(c1, d)
        k2 = kappa_of_d(s2, d)
        log_pi2 = np.log(k2 * d / (n1 - d))
        log_pi3 = 0.0                          # isotropic readout, c = 1
        return (np.log(k1) + np.log1p(-d / P) + np.log1p(-d / n1) + np.log1p(-d / n2)
                + log_pi2 + log_pi3 - np.log(lam))

    lo, hi = 1e-10 * dmax, dmax * (1 - 1e-13)
    while g(lo) < 0:
        lo *= 1e-10
    d = brentq(g, lo, hi, xtol=1e-14 * dmax, rtol=1e-15, maxiter=300)
    k1, k2 = kappa_of_d(c1, d), kappa_of_d(s2, d)
    chi = [chi_of(c1, k1, d), chi_of(s2, k2, d), d / (n2 - d)]
    Lam = 1 + sum(chi)
    b1 = k1 * np.sum(beta2 / (c1 + k1))
    b2 = k1 ** 2 * np.sum(beta2 / (c1 + k1) ** 2)
    gamma = (1 + chi[0]) / Lam
    B = gamma * b2 + (1 - gamma) * b1
    e_test = (B + eta2) / (1 - (d / P) * (1 - 1 / Lam))
    return e_test - eta2, (1 - d / P) ** 2 * e_test, d


def numpy_run(params):
    t0 = time.perf_counter()
    n0 = params["n0"]
    n1, n2 = params["widths"]
    s0 = power_law(n0, params["data_exponent"])
    c1 = s0 * s0 ** params["first_layer_power"]            # C1 = Sigma0^{1/2} Sigma1 Sigma0^{1/2}, Sigma1 = Sigma0^p
    w2 = np.arange(1, n0 + 1, dtype=float) ** (-2 * params["target_exponent"])
    beta2 = s0 * w2 / np.sum(s0 * w2)                       # beta_i^2 = sigma0_i theta_i^2, s = 1
    s2 = power_law(int(n1), params["hidden_exponent"])
    Ps = np.exp(np.linspace(np.log(params["p_min"]), np.log(params["p_max"]), params["points"]))
    out = [point(P, params["lambda"], c1, beta2, s2, n1, n2, params["noise"]) for P in Ps]
    seconds = time.perf_counter() - t0
    eg, tr, d = map(np.array, zip(*out))
    return {"samples": Ps, "eps_g": eg, "e_train": tr, "d": d}, seconds


def agree(solvable, numpy_answer):
    s_eg = np.array(solvable["eps_g"], dtype=float)
    s_d = np.array(solvable["d"], dtype=float)
    n_eg, n_d = numpy_answer["eps_g"], numpy_answer["d"]
    if not (np.all(np.isfinite(s_eg)) and np.all(np.isfinite(n_eg))):
        return False, "non-finite eps_g"
    rel_eg = np.max(np.abs(s_eg - n_eg) / np.abs(n_eg))
    rel_d = np.max(np.abs(s_d - n_d) / np.abs(n_d))
    tol = 1e-9
    return bool(rel_eg <= tol and rel_d <= tol), f"max rel diff eps_g {rel_eg:.1e}, d {rel_d:.1e} over {len(n_eg)} P (tol {tol:g})"
