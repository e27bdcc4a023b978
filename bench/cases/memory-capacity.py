"""Benchmark case 3 (issue 8): sequence-capacity estimation of the polynomial DenseNet, d = 1 and 2, N = 100 and 200.

Protocol (both sides, spec §1-§3 and §6 of shared/models/sequence-memory.md): for each (d, N) and each P of a fixed
grid around P_50 (from `solvable memory capacity`), s(P) = fraction of `trials` independent random sequences (P i.i.d.
Rademacher patterns) whose P periodic transitions xi^mu -> xi^{mu+1} are all correct after one synchronous update from
the stored pattern, f(m) = m^d of the self-excluded overlap m_i^mu = sum_{j != i} xi_j^mu S_j / (N - 1); a tie
h_i = 0 is an error. (The full spec §6 bisection to 1 % evaluates ~12 P per (d, N); with the numpy port at ~2 s per
sequence at N = 200, P = 670 that is ~40 minutes, so the benchmark uses the fixed grid; the answer is the same
success-fraction curve the search samples.)

The numpy port is what a researcher would naturally write (like the official JAX notebooks, with blocking): patterns
as a float64 (P, N) array X of +-1, successors Xn = roll(X, -1); for a block of states S (the stored patterns), the
overlaps G = S @ X.T, the self-excluded overlaps R = G[:, :, None] - X[None] * S[:, None, :] as a (B, P, N) tensor (in
unnormalized integer units: the normalization (N-1)^-d does not change the sign, and the fields stay exact integers so
ties are exact zeros), h = einsum('bpn,pn->bn', R**d, Xn) and the check all(h * Xn_block > 0), stopping at the
first block with an error. For d = 1 the SeqNet has a weight matrix: J = Xn.T @ X with zero diagonal, h = S @ J.T.

The timing covers the draws and the checks (not the import or the interpreter start).

The two sides draw different random numbers, so `agree` checks, at every (d, N, P), that the Clopper-Pearson 95 %
intervals of the two success fractions overlap.
"""
import time

import numpy as np
from scipy.stats import beta as _beta

PARAMS = {"combos": [[1, 100, [9, 11, 13]], [1, 200, [15, 18, 21]], [2, 100, [170, 200, 230]], [2, 200, [670]]],
          "trials": 100, "seed": 1}

BLOCK_ELEMENTS = 4_000_000   # (B, P, N) tensor elements per block (32 MB of float64)


def clopper_pearson(k, n):
    lo = 0.0 if k == 0 else _beta.ppf(0.025, k, n - k + 1)
    hi = 1.0 if k == n else _beta.ppf(0.975, k + 1, n - k)
    return lo, hi


def sequence_recalled(X, d):
    """All P periodic transitions correct (ties are errors)."""
    P, N = X.shape
    Xn = np.roll(X, -1, axis=0)
    if d == 1:
        J = Xn.T @ X
        np.fill_diagonal(J, 0)
        H = X @ J.T
        return bool(np.all(H * Xn > 0))
    B = max(1, BLOCK_ELEMENTS // (P * N))
    for s in range(0, P, B):
        S = X[s:s + B]
        G = S @ X.T                                       # (b, P) overlaps
        R = G[:, :, None] - X[None, :, :] * S[:, None, :]  # self-excluded, times (N - 1)
        h = np.einsum('bpn,pn->bn', R ** d, Xn)
        if not np.all(h * Xn[s:s + B] > 0):
            return False
    return True


def successes(rng, N, P, d, trials):
    k = 0
    for _ in range(trials):
        X = 2.0 * rng.integers(0, 2, size=(P, N)) - 1.0
        k += sequence_recalled(X, d)
    return k


def numpy_run(p):
    trials = p["trials"]
    rng = np.random.default_rng(p["seed"])
    out = []
    t0 = time.perf_counter()
    for d, N, grid in p["combos"]:
        for P in grid:
            out.append({"degree": d, "neurons": N, "patterns": P, "successes": successes(rng, N, P, d, trials), "trials": trials})
    return out, time.perf_counter() - t0


def agree(sv, npy):
    ok, parts = len(sv) == len(npy), []
    for a, b in zip(sv, npy):
        same = (a["degree"], a["neurons"], a["patterns"], a["trials"]) == (b["degree"], b["neurons"], b["patterns"], b["trials"])
        (alo, ahi), (blo, bhi) = clopper_pearson(a["successes"], a["trials"]), clopper_pearson(b["successes"], b["trials"])
        ok &= same and alo <= bhi and blo <= ahi
        parts.append(f"d={a['degree']} N={a['neurons']} P={a['patterns']}: {a['successes']} vs {b['successes']}")
    return ok, f"success counts out of {sv[0]['trials']}, Clopper-Pearson 95% intervals overlap; " + ", ".join(parts)
