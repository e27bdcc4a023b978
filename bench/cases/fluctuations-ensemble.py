"""Benchmark case 5 (issue 8): an ensemble of E two-layer tanh networks, width N, P = 1, trained by full-batch GD.

Protocol (both sides): mean-field parameterization f = w.phi(W x / sqrt(D)) / (gamma0 N), phi(h) = tanh(a h)/a with
a = 0.4, W_ij ~ N(0, 1), w_i ~ N(0, 1), one input with |x|^2/D = 1, target y, centered output (train on f - f(0)),
loss (1/2)(f - f(0) - y)^2, learning rate eta gamma0^2 N, T grid times (T - 1 GD steps), E independent members.
Recorded per member: Delta(t) = y - (f(t) - f(0)) and the NTK K(t) = (1/N) sum_i [phi_i^2 + (phi'_i w_i)^2 |x|^2/D].

The numpy port is what a researcher would naturally write: every member and neuron vectorized at once, weights as one
float64 array W of shape (E, N, D) and readouts w of shape (E, N); h = W @ x, rank-1 GD updates by broadcasting.
The timing covers the draws, the training and the statistics (not the import or the interpreter start), like Solvable's.

The two sides draw different random numbers, so `agree` compares the ensemble mean and N Var of Delta and K at a few
times within their combined standard errors (4 s.e.; standard errors of N Var from the fourth moment).
"""
import time

import numpy as np

PARAMS = {"width": 512, "members": 1000, "steps": 100, "input_dimension": 10,
          "gamma0": 1.0, "eta": 0.05, "y": 1.0, "tanh_scale": 0.4, "seed": 1, "times": [1, 10, 50, 99]}


def _stats(x, N):
    """Mean, s.e. of the mean, N Var (unbiased) and its s.e. from the fourth moment, over axis 0 (members)."""
    E = x.shape[0]
    m = x.mean(0)
    d = x - m
    s2 = (d ** 2).sum(0) / (E - 1)
    m4 = (d ** 4).mean(0)
    se_var = np.sqrt(np.maximum(m4 - (E - 3) / (E - 1) * s2 ** 2, 0) / E)
    return m, np.sqrt(s2 / E), N * s2, N * se_var


def numpy_run(p):
    E, N, D, T = p["members"], p["width"], p["input_dimension"], p["steps"]
    g0, eta, y, a = p["gamma0"], p["eta"], p["y"], p["tanh_scale"]
    t0 = time.perf_counter()
    rng = np.random.default_rng(p["seed"])
    x = rng.standard_normal(D)
    x *= np.sqrt(D) / np.linalg.norm(x)          # |x|^2 / D = 1
    kx = x @ x / D
    W = rng.standard_normal((E, N, D))
    w = rng.standard_normal((E, N))
    sD = np.sqrt(D)
    h = W @ x / sD                                # (E, N)
    f0 = (w * np.tanh(a * h) / a).sum(1) / (g0 * N)
    delta = np.empty((T, E))
    kernel = np.empty((T, E))
    for t in range(T):
        th = np.tanh(a * h)
        ph = th / a
        g = (1 - th ** 2) * w                     # phi'(h) w
        f = (w * ph).sum(1) / (g0 * N)
        d = y - (f - f0)
        delta[t] = d
        kernel[t] = (ph ** 2 + kx * g ** 2).mean(1)
        if t + 1 == T:
            break
        # GD with learning rate eta gamma0^2 N on (1/2)(f - f0 - y)^2
        W += (eta * g0 / sD) * (d[:, None] * g)[:, :, None] * x[None, None, :]
        w += eta * g0 * d[:, None] * ph
        h = W @ x / sD
    out = {}
    for name, arr in (("delta", delta), ("kernel", kernel)):
        m, sem, v, sev = _stats(arr.T, N)
        ts = p["times"]
        out[name] = {"mean": m[ts].tolist(), "mean_se": sem[ts].tolist(), "n_var": v[ts].tolist(), "n_var_se": sev[ts].tolist()}
    return out, time.perf_counter() - t0


def agree(sv, npy, z=4.0):
    worst = 0.0
    where = ""
    for name in ("delta", "kernel"):
        for stat, se in (("mean", "mean_se"), ("n_var", "n_var_se")):
            for k, (a, b, sa, sb) in enumerate(zip(sv[name][stat], npy[name][stat], sv[name][se], npy[name][se])):
                s = (sa * sa + sb * sb) ** 0.5
                r = abs(a - b) / s if s > 0 else (0.0 if a == b else float("inf"))
                if r > worst:
                    worst, where = r, f"{stat} {name} at time index {k}"
    return worst <= z, (f"ensemble mean and N Var of Delta, K at t = {PARAMS['times']} within {z:g} combined s.e. "
                        f"(independent draws); worst {worst:.2f} s.e. ({where})")
