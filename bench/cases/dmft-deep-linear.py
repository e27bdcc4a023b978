"""dmft-deep-linear: deep linear DMFT (spec dmft.md section 5), numpy port of the published algorithm.

The straightforward researcher's implementation as the official notebooks do it (spec section 11): every sweep,
for every layer, form C (TP x T) and D (T x TP), invert the dense (TP) x (TP) matrix I - C D and the T x T matrix
I - D C with np.linalg.inv, update H^l, G^l, A^l, B^{l-1}; Euler Delta from the NTK; Gauss-Seidel over layers.
Unlike the notebooks (fixed 10 sweeps) it iterates to the same residual tolerance as Solvable, with the same
residual rho and the same damping rule (undamped, 0.5 when rho grows for more than 2L + 1 sweeps).
Data: synthetic X ~ N(0,1)^{P x D} from numpy seed 7, y = +1 / -1 halves (spec section 10), passed to Solvable in
the parameters so both sides solve the same problem.
"""
import time

import numpy as np

_P, _D = 20, 40
_rng = np.random.default_rng(7)
_X = _rng.standard_normal((_P, _D))
_y = np.where(np.arange(_P) < (_P + 1) // 2, 1.0, -1.0)

PARAMS = {"x": _X.tolist(), "y": _y.tolist(), "L": 3, "T": 100, "gamma0": 1.5, "eta": 0.025,
          "tolerance": 1e-10, "max_iterations": 500}


def euler(H, G, L, y, eta, T, P):
    """Delta(t+1) = Delta(t) - (eta/P) K[t] Delta(t), K[t] = sum_l G^{l+1}(t,t) H^l[t,.,t,.]."""
    d = y.copy()
    deltas, loss = [], []
    for t in range(T):
        deltas.append(d.copy())
        loss.append(d @ d / (2 * P))
        if t == T - 1:
            break
        K = sum(G[l + 1][t, t] * H[l][t * P:(t + 1) * P, t * P:(t + 1) * P] for l in range(L + 1))
        d = d - eta / P * K @ d
    return np.array(deltas), np.array(loss)


def solve(X, y, L, T, gamma0, eta, tol, max_iter):
    P, D = X.shape
    TP = T * P
    c0 = eta * gamma0 / P
    Kx = X @ X.T / D
    H = [np.tile(Kx, (T, T)) for _ in range(L + 1)]
    G = [None] + [np.ones((T, T)) for _ in range(L + 1)]          # G[1..L+1], G[L+1] = 1
    A = [np.zeros((TP, T)) for _ in range(L + 1)]
    B = [np.zeros((T, TP)) for _ in range(L + 1)]
    delta = np.tile(y, (T, 1))
    strict = np.tril(np.ones((T, T)), -1)                         # 1[s < t]
    row_time = np.repeat(np.arange(T), P)
    mask_C = (row_time[:, None] > np.arange(T)[None, :]).astype(float)
    alpha, growth, history, converged = 1.0, 0, [], False

    def damp(old, new):
        v = alpha * new + (1 - alpha) * old
        nrm = np.linalg.norm(v)
        return v, np.linalg.norm(v - old) / nrm if nrm > 0 else np.linalg.norm(v - old)

    for it in range(max_iter):
        new_delta, _ = euler(H, G, L, y, eta, T, P)
        rho = np.max(np.abs(new_delta - delta))
        delta = new_delta
        for l in range(1, L + 1):
            Hp, Gn = H[l - 1], G[l + 1]
            C = A[l - 1] + c0 * mask_C * (Hp.reshape(TP, T, P) * delta[None]).sum(-1)
            Dm = B[l] + c0 * (strict[:, :, None] * Gn[:, :, None] * delta[None]).reshape(T, TP)
            Mh = np.linalg.inv(np.eye(TP) - C @ Dm)
            Mg = np.linalg.inv(np.eye(T) - Dm @ C)
            Hn = Mh @ (Hp + C @ Gn @ C.T) @ Mh.T
            Gl = Mg @ (Gn + Dm @ Hp @ Dm.T) @ Mg.T
            H[l], rh = damp(H[l], Hn)
            G[l], rg = damp(G[l], Gl)
            rho = max(rho, rh, rg)
            if l < L:
                A[l], _ = damp(A[l], C @ Mg)
            if l >= 2:
                B[l - 1], _ = damp(B[l - 1], Mg @ Dm)
        history.append(rho)
        if not np.isfinite(rho):
            break
        if rho < tol:
            converged = True
            break
        growth = growth + 1 if len(history) >= 2 and rho > history[-2] else 0
        if growth >= 2 * L + 2 and alpha > 0.5:
            alpha, growth = 0.5, 0
    _, loss = euler(H, G, L, y, eta, T, P)
    return H, G, loss, len(history), converged


def numpy_run(params):
    X, y = np.array(params["x"]), np.array(params["y"])
    t0 = time.perf_counter()
    H, G, loss, iters, ok = solve(X, y, params["L"], params["T"], params["gamma0"], params["eta"],
                                  params["tolerance"], params["max_iterations"])
    seconds = time.perf_counter() - t0
    if not ok:
        raise RuntimeError(f"numpy deep-linear DMFT did not converge in {iters} sweeps")
    T, P, L = params["T"], len(y), params["L"]
    Hf = [H[l][(T - 1) * P:, (T - 1) * P:].ravel() for l in range(1, L + 1)]
    return {"loss": loss, "H_final": Hf, "G": [G[l].ravel() for l in range(1, L + 1)], "iterations": iters}, seconds


def agree(solvable, numpy_answer):
    def rel(a, b):
        a, b = np.asarray(a, float), np.asarray(b, float)
        return np.linalg.norm(a - b) / np.linalg.norm(b)
    s_loss, n_loss = np.array(solvable["loss"], float), numpy_answer["loss"]
    r_loss = np.max(np.abs(s_loss - n_loss) / np.abs(n_loss))
    r_h = max(rel(a, b) for a, b in zip(solvable["H_final"], numpy_answer["H_final"]))
    r_g = max(rel(a, b) for a, b in zip(solvable["G"], numpy_answer["G"]))
    tol = 1e-8
    ok = bool(max(r_loss, r_h, r_g) <= tol)
    return ok, (f"max rel loss {r_loss:.1e}, H^l(T,T) {r_h:.1e}, G^l {r_g:.1e} (tol {tol:g}); "
                f"sweeps {solvable['iterations']} vs {numpy_answer['iterations']}")
