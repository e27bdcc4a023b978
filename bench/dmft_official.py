"""The authors' deep linear DMFT solver, ported to numpy, for the dmft-deep-linear-lowrank* benchmark cases.

Ports `solve_kernels_full` and `get_Delta` of Linear_DMFT.ipynb in Pehlevan-Group/dmft_wide_networks (the deep linear
DMFT with the response functions A, B, Bordelon & Pehlevan, NeurIPS 2022, eqs. 11-12), the solver a user of the paper
would run:
  * Jacobi sweeps: every layer is updated from the previous sweep's kernels, then all are replaced together;
  * per layer, the dense (TP) x (TP) inverse of I - C D and the T x T inverse of I - D C (np.linalg.inv), then
    H^l = Minv H^{l-1} Minv^T + A G^{l+1} A^T with A = Minv C, and G^l = Minv_DC G^{l+1} Minv_DC^T + B H^{l-1} B^T
    with B = Minv_DC D;
  * Delta by the Euler recursion Delta(t+1) = Delta(t) - (eta/P) K(t) Delta(t), K(t) = sum_l G^{l+1}(t,t) H^l(t,t).
Changes, none of which alters the arithmetic of a sweep: jax.numpy -> numpy (CPU, float64); the einsums over
[T, P, T, P] tensors are written as the equivalent (TP) x (TP) matrix products (jnp.einsum maps these contractions
to the same BLAS products); instead of the notebook's fixed num_steps = 10 the sweeps continue until Solvable's
residual rho (max |Delta change|, relative Frobenius changes of H^l and G^l) is below the tolerance, because 10 sweeps
are not converged in these settings.
"""
import time

import numpy as np


def get_delta(H, G, Kx, y, eta, T, P, L):
    """Delta (T x P) from the kernels; H[l], G[l] hold layer l + 1, G^{L+1} = 1."""
    d = np.zeros((T, P))
    d[0] = y
    for t in range(T - 1):
        K = G[0][t, t] * Kx
        for l in range(L):
            K = K + (G[l + 1][t, t] if l < L - 1 else 1.0) * H[l][t * P:(t + 1) * P, t * P:(t + 1) * P]
        d[t + 1] = d[t] - eta / P * K @ d[t]
    return d


def solve(Kx, y, L, eta, gamma, T, tol, max_sweeps=500, sweeps=None):
    """Jacobi sweeps until rho < tol (or exactly `sweeps` sweeps). Returns H, G, Delta, residual history."""
    P = Kx.shape[0]
    TP = T * P
    H0 = np.tile(Kx, (T, T))
    H = [H0.copy() for _ in range(L)]
    G = [np.ones((T, T)) for _ in range(L)]
    A = [np.zeros((TP, T)) for _ in range(L - 1)]
    B = [np.zeros((T, TP)) for _ in range(L - 1)]
    eg = gamma * eta
    rowt = np.repeat(np.arange(T), P)
    mask = (rowt[:, None] > np.arange(T)[None, :]).astype(float)       # 1[s < t] on (t, mu) x s
    history, delta_old = [], None
    for n in range(sweeps or max_sweeps):
        Delta = get_delta(H, G, Kx, y, eta, T, P, L)
        new_H, new_G, new_A, new_B = [], [], [], []
        for l in range(L):
            Hm = H0 if l == 0 else H[l - 1]
            Am = np.zeros((TP, T)) if l == 0 else A[l - 1]
            Gp = np.ones((T, T)) if l == L - 1 else G[l + 1]
            Bl = np.zeros((T, TP)) if l == L - 1 else B[l]
            H_delt = mask * (Hm.reshape(TP, T, P) * Delta[None]).sum(-1)            # (TP) x T
            G_delt = (np.tril(Gp, -1)[:, :, None] * Delta[None]).reshape(T, TP)     # T x (TP)
            C = Am + eg / P * H_delt
            D = Bl + eg / P * G_delt
            inv_cd = np.linalg.inv(np.eye(TP) - C @ D)
            A_new = inv_cd @ C
            new_H.append(inv_cd @ Hm @ inv_cd.T + A_new @ Gp @ A_new.T)
            inv_dc = np.linalg.inv(np.eye(T) - D @ C)
            B_new = inv_dc @ D
            new_G.append(inv_dc @ Gp @ inv_dc.T + B_new @ Hm @ B_new.T)
            if l < L - 1:
                new_A.append(A_new)
            if l > 0:
                new_B.append(B_new)
        rho = 0.0 if delta_old is None else float(np.max(np.abs(Delta - delta_old)))
        for l in range(L):
            rho = max(rho, np.linalg.norm(new_H[l] - H[l]) / np.linalg.norm(new_H[l]),
                      np.linalg.norm(new_G[l] - G[l]) / np.linalg.norm(new_G[l]))
        H, G, A, B, delta_old = new_H, new_G, new_A, new_B, Delta
        history.append(rho)
        if not np.isfinite(rho):
            break
        if sweeps is None and n > 0 and rho < tol:
            break
    return H, G, get_delta(H, G, Kx, y, eta, T, P, L), history


def answer(H, G, Delta, history, P, T, L, tol, check=None):
    """The numbers compared with Solvable: loss, equal-time blocks H^l(k, k) at k = T - 1 (or `check`), G^l."""
    k = T - 1 if check is None else check
    loss = (Delta ** 2).sum(1) / (2 * P)
    return {"loss": loss, "H": [H[l][k * P:(k + 1) * P, k * P:(k + 1) * P].ravel() for l in range(L)],
            "G": [G[l].ravel() for l in range(L)], "iterations": len(history),
            "converged": bool(history and history[-1] < tol)}


def per_sweep_seconds(Kx, y, L, eta, gamma, T):
    """Seconds of one sweep at T grid times (the cost per sweep is independent of the iterate)."""
    t0 = time.perf_counter()
    solve(Kx, y, L, eta, gamma, T, tol=0, sweeps=1)
    return time.perf_counter() - t0


def extrapolate(sizes, seconds, target):
    """Power law through the two largest measured (TP, seconds) pairs, evaluated at `target`. The local exponent is
    below the asymptotic 3 of the (TP)^3 inverses and products at these sizes, so the extrapolation is a lower bound."""
    (n1, s1), (n2, s2) = sorted(zip(sizes, seconds))[-2:]
    b = float(np.log(s2 / s1) / np.log(n2 / n1))
    return float(s2 * (target / n2) ** b), b


def rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def large_case(P, D, T, L, gamma0=1.5, eta=0.025, tol=1e-10, check=9, fit_T=(5, 10, 15), seed=7):
    """(PARAMS, numpy_run, agree) of a case too large for the official solver.

    Data (numpy seed `seed`) go to Solvable as x.npy / y.npy in a temporary folder (too long for a command line).
    numpy side: (1) the official solver on the first `check` + 1 grid times, to the tolerance: by causality these are
    exactly the first grid times of the full problem, so agree() compares Solvable's loss, H^l(check, check) and the
    leading block of G^l with it; (2) one sweep at T in `fit_T`, a power law in TP through the two largest per-sweep
    times (`extrapolate`), and the extrapolated time of the full problem = (per-sweep time at T P) x max(10, sweeps
    used in (1)) -- 10 is the
    notebook's fixed count, a lower bound (at P = 20, T = 100 reaching 1e-10 takes ~24). The dense arrays the
    official solver holds (~10 of (TP)^2 doubles) are reported; the extrapolated time is printed as numpy's.
    """
    import atexit, os, shutil, tempfile
    d = tempfile.mkdtemp(prefix="dmft-lowrank-bench-")
    atexit.register(shutil.rmtree, d, True)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((P, D))
    y = np.where(np.arange(P) < (P + 1) // 2, 1.0, -1.0)
    np.save(os.path.join(d, "x.npy"), X)
    np.save(os.path.join(d, "y.npy"), y)
    params = {"data_dir": d, "L": L, "T": T, "gamma0": gamma0, "eta": eta, "tolerance": tol, "max_iterations": 500,
              "check_time": check}

    def numpy_run(p):
        Kx = X @ X.T / D
        K = check + 1
        t0 = time.perf_counter()
        H, G, Delta, hist = solve(Kx, y, L, eta, gamma0, K, tol)
        prefix_seconds = time.perf_counter() - t0
        ans = answer(H, G, Delta, hist, P, K, L, tol)
        sizes = [Tf * P for Tf in fit_T]
        secs = [per_sweep_seconds(Kx, y, L, eta, gamma0, Tf) for Tf in fit_T]
        per_sweep, exponent = extrapolate(sizes, secs, T * P)
        sweeps = max(10, len(hist))
        ans.update({"prefix_seconds": prefix_seconds, "fit_sizes": sizes, "fit_seconds": secs, "exponent": exponent,
                    "sweeps_assumed": sweeps, "per_sweep_seconds": per_sweep,
                    "dense_bytes": 10 * 8 * (T * P) ** 2})
        return ans, per_sweep * sweeps

    def agree(solvable, numpy_answer):
        K = check + 1
        r_loss = float(np.max(np.abs(np.array(solvable["loss"][:K]) - numpy_answer["loss"]) / np.abs(numpy_answer["loss"])))
        r_h = max(rel(a, b) for a, b in zip(solvable["H_check"], numpy_answer["H"]))
        r_g = max(rel(a, b) for a, b in zip(solvable["G_check"], numpy_answer["G"]))
        ok = numpy_answer["converged"] and max(r_loss, r_h, r_g) <= 1e-8 and solvable["residual"] < tol
        fit = ", ".join(f"{s:.2f} s at TP={n}" for n, s in zip(numpy_answer["fit_sizes"], numpy_answer["fit_seconds"]))
        detail = (f"numpy time EXTRAPOLATED: one sweep {fit} -> TP^{numpy_answer['exponent']:.2f}, "
                  f"{numpy_answer['per_sweep_seconds']:.3g} s/sweep at TP={T * P} x {numpy_answer['sweeps_assumed']} sweeps "
                  f"(needs ~{numpy_answer['dense_bytes'] / 1e9:.0f} GB); first {K} grid times vs official "
                  f"({numpy_answer['prefix_seconds']:.1f} s, {numpy_answer['iterations']} sweeps): loss {r_loss:.1e}, "
                  f"H^l({check},{check}) {r_h:.1e}, G^l {r_g:.1e}; Solvable residual {solvable['residual']:.1e} after "
                  f"{solvable['iterations']} sweep(s), ranks H {solvable['kernel_ranks']} G {solvable['gradient_ranks']}, "
                  f"sources {solvable['sources']}, forward {solvable['forward_seconds']:.2f} s "
                  f"({solvable['forward_flops'] / 1e9:.1f} GFLOP), verification {solvable['verification_seconds']:.2f} s")
        return ok, detail

    return params, numpy_run, agree
