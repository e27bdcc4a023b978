"""dmft-deep-linear-lowrank-paper: the paper's P = 100 setting (Fig 3 caption; L = 5, gamma0 = 1.5, eta = 0.025,
T = 100, D = 40), tolerance 1e-10.

Dense kernels of T P = 10000 (0.8 GB each; the authors' solver inverts 10000 x 10000 matrices per layer and sweep).
Solvable side: `LowRankDeepLinearDMFT.solveFactored`. numpy side: the official solver on the first 10 grid times
(exact by causality, compared with Solvable's answer) and its time for the full problem EXTRAPOLATED from one sweep
at T = 5, 10, 20 (see `dmft_official.large_case`).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import dmft_official as official  # noqa: E402

PARAMS, numpy_run, agree = official.large_case(P=100, D=40, T=100, L=5, fit_T=(5, 10, 20))
