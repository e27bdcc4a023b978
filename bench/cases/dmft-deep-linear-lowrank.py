"""dmft-deep-linear-lowrank: deep linear DMFT on factors vs the dense solver vs the authors' algorithm in numpy.

Problem: Fig 2 panel b setting (spec dmft.md section 10): synthetic X ~ N(0,1)^{P x D} from numpy seed 7, P = 20,
D = 40, y = +1 / -1 halves, L = 3, gamma0 = 1.5, eta = 0.025, T = 100, both sides to residual tolerance 1e-10.
Solvable side: `LowRankDeepLinearDMFT.solveFactored` (docs/theory/dmft-low-rank.md), timed; in the same process the
dense `DeepLinearDMFT.solve` solves the same problem (its time, and the largest relative differences of the two in
loss, Delta, every H^l entry, G^l and the NTK, are printed in the detail column).
numpy side: the authors' solver (`solve_kernels_full` of Linear_DMFT.ipynb, Pehlevan-Group/dmft_wide_networks),
ported in bench/dmft_official.py: Jacobi sweeps with dense (TP) x (TP) inverses, iterated to the same residual.
"""
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import dmft_official as official  # noqa: E402

_P, _D = 20, 40
_rng = np.random.default_rng(7)
_X = _rng.standard_normal((_P, _D))
_y = np.where(np.arange(_P) < (_P + 1) // 2, 1.0, -1.0)

PARAMS = {"x": _X.tolist(), "y": _y.tolist(), "L": 3, "T": 100, "gamma0": 1.5, "eta": 0.025,
          "tolerance": 1e-10, "max_iterations": 500, "compare_dense": 1}


def numpy_run(params):
    X, y = np.array(params["x"]), np.array(params["y"])
    L, T = params["L"], params["T"]
    Kx = X @ X.T / X.shape[1]
    t0 = time.perf_counter()
    H, G, Delta, hist = official.solve(Kx, y, L, params["eta"], params["gamma0"], T, params["tolerance"])
    seconds = time.perf_counter() - t0
    ans = official.answer(H, G, Delta, hist, len(y), T, L, params["tolerance"])
    if not ans["converged"]:
        raise RuntimeError(f"the official deep linear solver did not reach {params['tolerance']} in {len(hist)} sweeps")
    return ans, seconds


def agree(solvable, numpy_answer):
    r_loss = float(np.max(np.abs(np.array(solvable["loss"]) - numpy_answer["loss"]) / np.abs(numpy_answer["loss"])))
    r_h = max(official.rel(a, b) for a, b in zip(solvable["H_final"], numpy_answer["H"]))
    r_g = max(official.rel(a, b) for a, b in zip(solvable["G"], numpy_answer["G"]))
    tol = 1e-8
    ok = max(r_loss, r_h, r_g) <= tol
    detail = (f"vs numpy: loss {r_loss:.1e}, H^l(T,T) {r_h:.1e}, G^l {r_g:.1e} (tol {tol:g}); sweeps: official "
              f"{numpy_answer['iterations']}, low-rank verification {solvable['iterations']}; ranks H {solvable['kernel_ranks']} "
              f"G {solvable['gradient_ranks']}, sources {solvable['sources']}; forward {solvable['forward_seconds']:.3f} s "
              f"{solvable['forward_flops'] / 1e9:.2f} GFLOP, verification {solvable['verification_seconds']:.3f} s")
    if "dense_seconds" in solvable:
        d = solvable["vs_dense"]
        worst = max(d.values())
        ok = ok and solvable["dense_converged"] and worst <= 1e-9
        detail += (f"; dense Solvable {solvable['dense_seconds']:.2f} s ({solvable['dense_iterations']} sweeps, "
                   f"{solvable['dense_seconds'] / solvable['lowrank_seconds']:.0f}x the low-rank time), low-rank vs dense: "
                   f"loss {d['loss']:.1e} Delta {d['delta']:.1e} H {d['H']:.1e} G {d['G']:.1e} NTK {d['ntk']:.1e}")
    return ok, detail
