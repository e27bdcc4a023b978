"""features-simulation: ridge regression on deep structured Gaussian features, numpy/scipy port (spec §6).

The straightforward researcher's implementation of the spec's protocol, per (P, trial): draw G_1, G_2, form
F = Sigma1^{1/2} G_1 Sigma2^{1/2} G_2 / sqrt(n1 n2) (spec §6 step 1), draw X = N(0,1) diag(sqrt sigma0) and the noise,
y = X theta* + xi, Z = X F; fit the ridge readout by Cholesky (scipy.linalg.cho_factor/cho_solve) on the primal system
when n_L <= P, else on the dual; exact test error eps_g = sum sigma0 (F v - theta*)^2. numpy's default generator
(PCG64), float64, OpenBLAS through numpy/scipy.

The two sides draw different random numbers, so `agree` compares each side's mean eps_g with the theory (carried in
Solvable's answer) and the two sides' means with each other, within their standard errors.
"""
import time

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.stats import t as student_t

PARAMS = {
    "n0": 1000, "widths": [1500, 1250], "samples": [200, 500, 800, 1750], "trials": 8, "lambda": 0.01, "seed": 1,
    "data_exponent": 1.0, "first_layer_power": 1.0, "hidden_exponent": 0.7, "target_exponent": 0.25, "noise": 0.1,
}


def power_law(n, nu):
    v = np.arange(1, n + 1, dtype=float) ** -nu
    return v * n / v.sum()


def numpy_run(params):
    t0 = time.perf_counter()
    n0 = params["n0"]
    n1, n2 = map(int, params["widths"])
    lam, eta2 = params["lambda"], params["noise"]
    s0 = power_law(n0, params["data_exponent"])
    s1 = s0 ** params["first_layer_power"]
    s2 = power_law(n1, params["hidden_exponent"])
    w2 = np.arange(1, n0 + 1, dtype=float) ** (-2 * params["target_exponent"])
    theta = np.sqrt(w2 / np.sum(s0 * w2))                  # theta*^T Sigma0 theta* = 1
    rng = np.random.default_rng(params["seed"])
    eg_all, tr_all = [], []
    for P in params["samples"]:
        eg, tr = [], []
        for _ in range(params["trials"]):
            G1 = rng.standard_normal((n0, n1))
            G2 = rng.standard_normal((n1, n2))
            F = (np.sqrt(s1)[:, None] * G1 / np.sqrt(n1)) @ (np.sqrt(s2)[:, None] * G2 / np.sqrt(n2))
            X = rng.standard_normal((P, n0)) * np.sqrt(s0)
            y = X @ theta + np.sqrt(eta2) * rng.standard_normal(P)
            Z = X @ F
            if n2 <= P:
                K = Z.T @ Z / P + lam * np.eye(n2)
                v = cho_solve(cho_factor(K), Z.T @ y / P)
            else:
                K = Z @ Z.T / P + lam * np.eye(P)
                v = Z.T @ cho_solve(cho_factor(K), y / P)
            delta = F @ v - theta
            eg.append(np.sum(s0 * delta ** 2))
            tr.append(np.mean((y - Z @ v) ** 2))
        eg_all.append(eg)
        tr_all.append(tr)
    seconds = time.perf_counter() - t0
    eg_all, tr_all = np.array(eg_all), np.array(tr_all)
    k = eg_all.shape[1]
    return {"eps_g_mean": eg_all.mean(1), "eps_g_se": eg_all.std(1, ddof=1) / np.sqrt(k),
            "e_train_mean": tr_all.mean(1), "e_train_se": tr_all.std(1, ddof=1) / np.sqrt(k), "trials": k}, seconds


def agree(solvable, numpy_answer, systematic=0.03, family_wise=0.01):
    """Per P: |sim - theory| <= t*se + 3 % of theory for each side (the finite-size bias at n0 = 1000 is a few
    percent at most, spec §6), and |Solvable - numpy| <= t*sqrt(se_S^2 + se_N^2). t is the two-sided Student-t
    quantile (8 trials: 7 dof; Welch-free bound with 7 dof for the difference) at 1 % family-wise false alarm over
    all comparisons (Bonferroni)."""
    s_m, s_se = np.array(solvable["eps_g_mean"], float), np.array(solvable["eps_g_se"], float)
    th = np.array(solvable["eps_g_theory"], float)
    n_m, n_se = numpy_answer["eps_g_mean"], numpy_answer["eps_g_se"]
    trials = min(int(solvable["trials"]), numpy_answer["trials"])
    comparisons = 3 * len(th)
    tq = student_t.ppf(1 - family_wise / (2 * comparisons), trials - 1)
    z_s = np.abs(s_m - th) / (tq * s_se + systematic * th)
    z_n = np.abs(n_m - th) / (tq * n_se + systematic * th)
    z_sn = np.abs(s_m - n_m) / (tq * np.hypot(s_se, n_se))
    worst = max(z_s.max(), z_n.max(), z_sn.max())
    pts = ", ".join(f"P={int(P)}: th {t:.4f} S {a:.4f}±{b:.4f} N {c:.4f}±{d:.4f}"
                    for P, t, a, b, c, d in zip(solvable["samples"], th, s_m, s_se, n_m, n_se))
    detail = (f"different random draws: each side's mean eps_g vs theory within t*se + {systematic:.0%}, and Solvable vs numpy "
              f"means within t*sqrt(se_S^2+se_N^2), t = {tq:.2f} (Student-t, {trials - 1} dof, 1% family-wise over "
              f"{comparisons}); worst ratio to bound {worst:.2f}; {pts}")
    return bool(worst <= 1), detail
