"""dmft-network-training: finite-width network training (spec dmft.md sections 1 and 9), numpy port.

Deep linear network, mean-field parameterization, L = 3 hidden layers of width N = 2048, P = 20 synthetic points in
D = 40 (spec section 10, Fig 2 setting: eta = 0.025, gamma0 = 1.5), T = 100 grid times of full-batch gradient
descent with learning rate eta gamma0^2 N; features and gradient fields recorded before each update; kernels
Phi^l = F^T F / N over the (t, mu) grid at the end.
Initial weights: both sides train the SAME network. This module draws X, W^0 (N x D), W^1, W^2 (N x N) and the
readout (N) with numpy's default_rng(2026) (in that order, standard normals) and writes them as .npy files to a
temporary folder passed to Solvable as `data_dir`, so the answers must agree to rounding (tolerance 1e-8 relative).
"""
import atexit, os, shutil, tempfile, time

import numpy as np

_N, _P, _D, _L = 2048, 20, 40, 3
_dir = tempfile.mkdtemp(prefix="dmft-bench-")
atexit.register(shutil.rmtree, _dir, True)
_rng = np.random.default_rng(2026)
np.save(os.path.join(_dir, "x.npy"), _rng.standard_normal((_P, _D)))
np.save(os.path.join(_dir, "y.npy"), np.where(np.arange(_P) < (_P + 1) // 2, 1.0, -1.0))
np.save(os.path.join(_dir, "w0.npy"), _rng.standard_normal((_N, _D)))
for _l in range(1, _L):
    np.save(os.path.join(_dir, f"w{_l}.npy"), _rng.standard_normal((_N, _N)))
np.save(os.path.join(_dir, "readout.npy"), _rng.standard_normal(_N))

PARAMS = {"data_dir": _dir, "N": _N, "L": _L, "T": 100, "gamma0": 1.5, "eta": 0.025}


def train(X, y, W0, Ws, w, T, gamma0, eta):
    P, D = X.shape
    N, L = W0.shape[0], len(Ws) + 1
    W0, Ws, w = W0.copy(), [W.copy() for W in Ws], w.copy()
    feats = [[] for _ in range(L)]
    grads = [[] for _ in range(L)]
    loss = []
    f0 = None
    c = eta * gamma0 / P
    for t in range(T):
        hs = [W0 @ X.T / np.sqrt(D)]
        for l in range(L - 1):
            hs.append(Ws[l] @ hs[-1] / np.sqrt(N))                 # linear: phi(h) = h
        f = w @ hs[-1] / (gamma0 * N)
        if f0 is None:
            f0 = f
        delta = y - (f - f0)
        loss.append(delta @ delta / (2 * P))
        gs = [None] * L
        gs[L - 1] = np.repeat(w[:, None], P, axis=1)               # phi' = 1
        for l in range(L - 2, -1, -1):
            gs[l] = Ws[l].T @ gs[l + 1] / np.sqrt(N)
        for l in range(L):
            feats[l].append(hs[l])
            grads[l].append(gs[l])
        if t == T - 1:
            break
        w += c * hs[-1] @ delta
        for l in range(L - 1):
            Ws[l] += c / np.sqrt(N) * (gs[l + 1] * delta) @ hs[l].T
        W0 += c / np.sqrt(D) * (gs[0] * delta) @ X
    Phi = [np.hstack(F).T @ np.hstack(F) / N for F in feats]       # (TP) x (TP), index t P + mu
    Gk = [np.hstack(F).T @ np.hstack(F) / N for F in grads]
    return np.array(loss), Phi, Gk


def numpy_run(params):
    d = params["data_dir"]
    X, y = np.load(os.path.join(d, "x.npy")), np.load(os.path.join(d, "y.npy"))
    W0 = np.load(os.path.join(d, "w0.npy"))
    Ws = [np.load(os.path.join(d, f"w{l}.npy")) for l in range(1, params["L"])]
    w = np.load(os.path.join(d, "readout.npy"))
    T, P = params["T"], len(y)
    t0 = time.perf_counter()
    loss, Phi, Gk = train(X, y, W0, Ws, w, T, params["gamma0"], params["eta"])
    seconds = time.perf_counter() - t0
    last = slice((T - 1) * P, T * P)
    first = slice(0, P)
    align = [np.sum(K[last, last] * K[first, first]) / (np.linalg.norm(K[last, last]) * np.linalg.norm(K[first, first]))
             for K in Phi]
    return {"loss": loss, "Phi_final": [K[last, last].ravel() for K in Phi],
            "G_final": [K[last, last].ravel() for K in Gk], "alignment": np.array(align)}, seconds


def agree(solvable, numpy_answer):
    def rel(a, b):
        a, b = np.asarray(a, float), np.asarray(b, float)
        return np.linalg.norm(a - b) / np.linalg.norm(b)
    r_loss = np.max(np.abs(np.array(solvable["loss"], float) - numpy_answer["loss"]) / numpy_answer["loss"])
    r_phi = max(rel(a, b) for a, b in zip(solvable["Phi_final"], numpy_answer["Phi_final"]))
    r_g = max(rel(a, b) for a, b in zip(solvable["G_final"], numpy_answer["G_final"]))
    r_al = rel(solvable["alignment"], numpy_answer["alignment"])
    tol = 1e-8
    ok = bool(max(r_loss, r_phi, r_g, r_al) <= tol)
    return ok, (f"same initial weights: max rel loss {r_loss:.1e}, Phi^l(T,T) {r_phi:.1e}, G^l(T,T) {r_g:.1e}, "
                f"alignment {r_al:.1e} (tol {tol:g}); final loss {numpy_answer['loss'][-1]:.4g}")
