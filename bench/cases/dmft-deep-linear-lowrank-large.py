"""dmft-deep-linear-lowrank-large: P = 200, T = 200, L = 3 (gamma0 = 1.5, eta = 0.025, D = 40, tolerance 1e-10).

The dense form needs 12.8 GB per kernel (T P = 40000): Solvable's dense solver refuses it, and the authors' solver
(bench/dmft_official.py) would hold ~10 such arrays. Solvable side: `LowRankDeepLinearDMFT.solveFactored`.
numpy side: the official solver on the first 10 grid times (exact by causality, compared with Solvable's answer)
and its time for the full problem EXTRAPOLATED from one sweep at T = 5, 10, 15 (see `dmft_official.large_case`).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import dmft_official as official  # noqa: E402

PARAMS, numpy_run, agree = official.large_case(P=200, D=40, T=200, L=3)
