#!/usr/bin/env python3
"""Side-by-side benchmarks: Solvable vs a straightforward numpy implementation of the same algorithm.

Each case in bench/cases/<name>.py defines
    PARAMS: dict                      parameters given to both sides (same problem, same protocol)
    def numpy_run(params) -> (answer, seconds)   the numpy port; seconds covers the computation only
    def agree(solvable_answer, numpy_answer) -> (bool, str)   the tolerance check, with a detail string
and Solvable's side is `solvable bench case <name> --params JSON` (Sources/Experiments/<Model>/<Model>Bench.swift).
Both run in this one invocation; the table prints their ratio, achieved GFLOP/s and the fraction of this machine's
dgemm peak measured in the same run. Nothing here is a test: timings never decide a test outcome.

Usage: python3 bench/bench.py [--only NAME[,NAME]] [--solvable PATH] [--threads N]
"""
import argparse, importlib.util, json, os, subprocess, sys, time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def solvable_cmd(args, binary, threads):
    out = subprocess.run([binary] + args + (["--threads", str(threads)] if threads else []),
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"solvable {' '.join(args)} failed ({out.returncode}): {out.stderr.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def dgemm_peak(binary, threads, n=2000):
    """dgemm GFLOP/s of numpy and of Solvable (its selected core), each best of 3, in this run."""
    a = np.random.default_rng(0).standard_normal((n, n))
    b = np.random.default_rng(1).standard_normal((n, n))
    best = 1e9
    for _ in range(3):
        t = time.perf_counter(); a @ b; best = min(best, time.perf_counter() - t)
    numpy_gflops = 2 * n ** 3 / best / 1e9
    w = subprocess.run([binary, "bench", "dgemm-worker", "--size", str(n), "--repeats", "3", "--threads", str(threads or os.cpu_count())],
                       capture_output=True, text=True)
    s = json.loads(w.stdout)
    return numpy_gflops, s["gflops"], s["core"]


def load_case(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="")
    ap.add_argument("--solvable", default=str(ROOT / ".build" / "release" / "solvable"))
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    only = set(filter(None, args.only.split(",")))
    try:
        from threadpoolctl import threadpool_info
        numpy_blas = ", ".join(f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')}" for i in threadpool_info())
    except Exception:
        numpy_blas = "unknown (pip install threadpoolctl to see numpy's BLAS kernel)"
    np_peak, sv_peak, core = dgemm_peak(args.solvable, args.threads)
    peak = max(np_peak, sv_peak)
    print(f"dgemm 2000^3 peak this run: numpy {np_peak:.1f} GFLOP/s ({numpy_blas}); Solvable {sv_peak:.1f} GFLOP/s (OpenBLAS core {core})")
    print(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    header = f"{'case':<28} {'size':<34} {'Solvable s':>10} {'numpy s':>10} {'ratio':>8} {'GFLOP/s':>8} {'% peak':>7}  agree"
    print(header)
    print("-" * len(header))
    failures = 0
    for path in sorted((ROOT / "bench" / "cases").glob("*.py")):
        if only and path.stem not in only:
            continue
        case = load_case(path)
        params = dict(case.PARAMS)
        try:
            sv = solvable_cmd(["bench", "case", path.stem, "--params", json.dumps(params)], args.solvable, args.threads)["result"]
            np_answer, np_seconds = case.numpy_run(params)
            ok, detail = case.agree(sv["answer"], np_answer)
        except Exception as e:  # a broken case is reported, the others still run
            print(f"{path.stem:<28} ERROR: {e}")
            failures += 1
            continue
        gflops = sv["flops"] / sv["seconds"] / 1e9 if sv.get("flops") else None
        g = f"{gflops:8.1f}" if gflops else f"{'-':>8}"
        pk = f"{100 * gflops / peak:6.0f}%" if gflops else f"{'-':>7}"
        print(f"{path.stem:<28} {sv['size']:<34} {sv['seconds']:10.4f} {np_seconds:10.4f} {np_seconds / sv['seconds']:7.1f}x {g} {pk}  {'yes' if ok else 'NO'} ({detail})")
        failures += 0 if ok else 1
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
