"""dmft-nonlinear: nonlinear DMFT by alternating Monte Carlo (spec dmft.md section 6), numpy port.

tanh, L = 2 hidden layers, P = 10 synthetic points in D = 25 (spec section 10, Fig 1 code setting with plain tanh,
eta = 0.1, gamma0 = 1), T = 50 grid times, S = 1000 paths per layer, damping 0.7, exactly 10 iterations on both sides.
The straightforward researcher's implementation of the same algorithm: each iteration, Euler Delta from the NTK,
then per layer: sample u ~ GP(0, Phi^{l-1}), r ~ GP(0, G^{l+1}) through symmetric PSD square roots (np.linalg.eigh)
with common random numbers, the operators M = A^{l-1} + C, N = B^l + D, the forward sweep in t for all paths at once,
Phi^l = <phi phi^T>, G^l = <g g^T>, and the responses A^l = <phi'(h) J_hr>, B^{l-1} = <J_gu> from the forward
Jacobian recursions (np.matmul batched over chunks of paths); damped updates. Static kernels by Monte Carlo with
2e5 draws (their error is damped by 0.3^10 after the 10 iterations).
Draws differ from Solvable's, so the answers agree only within Monte Carlo error: the loss curves must agree to
5/sqrt(S) relative at every time (about 5 standard errors of a kernel entry; the run prints the actual maximum).
"""
import time

import numpy as np

_P, _D = 10, 25
_rng = np.random.default_rng(11)
_X = _rng.standard_normal((_P, _D))
_y = np.where(np.arange(_P) < (_P + 1) // 2, 1.0, -1.0)

PARAMS = {"x": _X.tolist(), "y": _y.tolist(), "L": 2, "T": 50, "S": 1000, "iterations": 10, "gamma0": 1.0,
          "eta": 0.1, "beta": 1.0, "damping": 0.7, "seed": 1}


def phi(h): return np.tanh(h)
def dphi(h): return 1 - np.tanh(h) ** 2
def ddphi(h): t = np.tanh(h); return -2 * t * (1 - t * t)


def psd_sqrt(K):
    w, V = np.linalg.eigh(K)
    return (V * np.sqrt(np.maximum(w, 0))) @ V.T


def solve(X, y, L, T, S, iters, gamma0, eta, alpha, seed, chunk=50):
    rng = np.random.default_rng(seed)
    P, D = X.shape
    n, tn = P, T * P
    c0 = eta * gamma0 / P
    Kx = X @ X.T / D
    # static kernels (Monte Carlo, many draws)
    big = np.random.default_rng(seed + 1).standard_normal((200000, n))
    prev, phis, dds = Kx, [], []
    for l in range(L):
        u = big @ psd_sqrt(prev)
        phis.append(phi(u).T @ phi(u) / len(u)); dds.append(dphi(u).T @ dphi(u) / len(u)); prev = phis[-1]
    gs, nxt = [None] * L, np.ones((n, n))
    for l in range(L - 1, -1, -1):
        gs[l] = dds[l] * nxt; nxt = gs[l]
    tile = lambda K: np.tile(K, (T, T))
    Phi = [tile(Kx)] + [tile(K) for K in phis]                     # Phi[0..L]
    G = [None] + [tile(K) for K in gs] + [np.ones((tn, tn))]       # G[1..L+1]
    A = [np.zeros((tn, tn)) for _ in range(L + 1)]
    B = [np.zeros((tn, tn)) for _ in range(L + 1)]
    xiU = [None] + [rng.standard_normal((S, n if l == 1 else tn)) for l in range(1, L + 1)]
    xiR = [None] + [rng.standard_normal((S, 1 if l == L else tn)) for l in range(1, L + 1)]
    time_of = np.repeat(np.arange(T), n)
    strict = (time_of[:, None] > time_of[None, :]).astype(float)   # 1[s < t] on the (t mu, s nu) grid
    causal = (time_of[:, None] >= time_of[None, :]).astype(float)

    def euler():
        d, loss, ds = y.copy(), [], []
        for t in range(T):
            ds.append(d.copy()); loss.append(d @ d / (2 * P))
            if t == T - 1:
                break
            blk = slice(t * n, (t + 1) * n)
            K = sum(G[l + 1][blk, blk] * Phi[l][blk, blk] for l in range(L + 1))
            d = d - eta / P * K @ d
        return np.array(ds), np.array(loss)

    for it in range(iters):
        delta, _ = euler()
        dflat = delta.reshape(-1)                                  # index s n + nu
        for l in range(1, L + 1):
            u = np.tile(xiU[1] @ psd_sqrt(Kx), (1, T)) if l == 1 else xiU[l] @ psd_sqrt(Phi[l - 1])
            r = np.repeat(xiR[L], tn, axis=1) if l == L else xiR[l] @ psd_sqrt(G[l + 1])
            M = A[l - 1] + c0 * strict * Phi[l - 1] * dflat[None, :]
            N = B[l] + c0 * strict * G[l + 1] * dflat[None, :]
            h, z = u.copy(), r.copy()
            ph, g = np.zeros((S, tn)), np.zeros((S, tn))
            for t in range(T):
                rows = slice(t * n, (t + 1) * n)
                h[:, rows] += g[:, :t * n] @ M[rows, :t * n].T
                ph[:, rows] = phi(h[:, rows])
                z[:, rows] += ph[:, :(t + 1) * n] @ N[rows, :(t + 1) * n].T
                g[:, rows] = dphi(h[:, rows]) * z[:, rows]
            Phi[l] = alpha * (ph.T @ ph / S) + (1 - alpha) * Phi[l]
            G[l] = alpha * (g.T @ g / S) + (1 - alpha) * G[l]
            if L >= 2:
                for mode, want in (("r", l < L), ("u", l >= 2)):
                    if not want:
                        continue
                    acc = np.zeros((tn, tn))
                    for c in range(0, S, chunk):
                        d1 = dphi(h[c:c + chunk]); d2 = ddphi(h[c:c + chunk]) * z[c:c + chunk]
                        m = len(d1)
                        Jh = np.zeros((m, tn, tn)); Jg = np.zeros((m, tn, tn)); dJ = np.zeros((m, tn, tn))
                        eye = np.eye(tn)
                        for t in range(T):
                            rows = slice(t * n, (t + 1) * n)
                            Jh[:, rows] = 0 if mode == "r" else eye[rows]
                            if t > 0:
                                Jh[:, rows] += M[rows, :t * n] @ Jg[:, :t * n]
                            dJ[:, rows] = d1[:, rows, None] * Jh[:, rows]
                            Jz = (eye[rows] if mode == "r" else 0) + N[rows, :(t + 1) * n] @ dJ[:, :(t + 1) * n]
                            Jg[:, rows] = d2[:, rows, None] * Jh[:, rows] + d1[:, rows, None] * Jz
                        acc += (dJ * strict).sum(0) if mode == "r" else (Jg * causal).sum(0)
                    if mode == "r":
                        A[l] = alpha * acc / S + (1 - alpha) * A[l]
                    else:
                        B[l - 1] = alpha * acc / S + (1 - alpha) * B[l - 1]
    _, loss = euler()
    return loss, Phi


def numpy_run(params):
    X, y = np.array(params["x"]), np.array(params["y"])
    t0 = time.perf_counter()
    loss, Phi = solve(X, y, params["L"], params["T"], params["S"], params["iterations"], params["gamma0"],
                      params["eta"], params["damping"], params["seed"])
    seconds = time.perf_counter() - t0
    T, P = params["T"], len(y)
    last = slice((T - 1) * P, T * P)
    return {"loss": loss, "Phi_final": [K[last, last].ravel() for K in Phi[1:]], "S": params["S"]}, seconds


def agree(solvable, numpy_answer):
    s_loss = np.array(solvable["loss"], float)
    n_loss = numpy_answer["loss"]
    r = np.max(np.abs(s_loss - n_loss) / n_loss)
    rphi = max(np.linalg.norm(np.array(a) - b) / np.linalg.norm(b) for a, b in zip(solvable["Phi_final"], numpy_answer["Phi_final"]))
    tol = 5 / np.sqrt(numpy_answer["S"])
    return bool(r <= tol), (f"Monte Carlo: max rel loss diff {r:.1e} (tol 5/sqrt(S) = {tol:.2f}); Phi^l(T,T) rel {rphi:.1e}; "
                            f"final loss {s_loss[-1]:.4g} vs {n_loss[-1]:.4g}")
