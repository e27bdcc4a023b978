#!/usr/bin/env python3
"""Compares two golden recordings (scripts/golden/record.sh) file by file.

.npy arrays and CSV tables are compared numerically (max absolute and relative difference), result.json numbers
recursively; wall times, dates, hosts and commits are ignored. SVG files are compared by the numbers they contain
(the plotted coordinates). Prints one line per differing file and a summary; exit 1 when anything differs.

    python3 scripts/golden/compare.py OLD NEW [--rtol 0]
"""
import csv, json, math, os, re, sys

IGNORED_KEYS = {"wall_seconds", "seconds", "elapsed_seconds", "elapsedSeconds", "date", "host", "git_commit",
                "version", "blas", "threads", "time", "started", "finished", "command_line", "blas_core", "wall_time",
                "cpu", "environment", "checkpoint_note", "out"}
NUM = re.compile(r"-?\d+\.?\d*(?:[eE][-+]?\d+)?")


def timing(key):
    return key in IGNORED_KEYS or key.endswith("_seconds") or key.endswith("seconds")


def numbers_of_json(v, path=""):
    if isinstance(v, dict):
        for k in sorted(v):
            if timing(k):
                continue
            yield from numbers_of_json(v[k], f"{path}.{k}")
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from numbers_of_json(x, f"{path}[{i}]")
    elif isinstance(v, bool) or v is None:
        yield path, v
    elif isinstance(v, (int, float)):
        yield path, float(v)
    else:
        yield path, v


def load(path):
    ext = os.path.splitext(path)[1]
    if ext == ".npy":
        import numpy as np
        a = np.load(path)
        return [("", float(x)) for x in a.ravel()], a.shape
    if ext == ".csv":
        rows = list(csv.reader(open(path)))
        skip = {c for c, h in enumerate(rows[0]) if timing(h)} if rows else set()
        out = []
        for r, row in enumerate(rows):
            for c, cell in enumerate(row):
                if c in skip:
                    continue
                try:
                    out.append((f"{r},{c}", float(cell)))
                except ValueError:
                    out.append((f"{r},{c}", cell))
        return out, (len(rows),)
    if ext == ".json":
        return list(numbers_of_json(json.load(open(path)))), None
    if ext == ".svg":
        text = open(path).read()
        return [("", float(x)) for x in NUM.findall(text)], None
    return None, None


def diff(a, b):
    worst_abs = worst_rel = 0.0
    mismatched = []
    if len(a) != len(b):
        return math.inf, math.inf, [f"{len(a)} vs {len(b)} values"]
    for (ka, va), (kb, vb) in zip(a, b):
        if isinstance(va, float) and isinstance(vb, float):
            if va == vb or (math.isnan(va) and math.isnan(vb)):
                continue
            d = abs(va - vb)
            worst_abs = max(worst_abs, d)
            worst_rel = max(worst_rel, d / max(abs(va), abs(vb), 1e-300))
        elif va != vb:
            mismatched.append(f"{ka}: {va!r} vs {vb!r}")
    return worst_abs, worst_rel, mismatched


def main():
    old, new = sys.argv[1], sys.argv[2]
    rtol = float(sys.argv[sys.argv.index("--rtol") + 1]) if "--rtol" in sys.argv else 0.0
    files = set()
    for root in (old, new):
        for d, _, fs in os.walk(root):
            for f in fs:
                if f in ("manifest.json",) or f.endswith(".html") or f.endswith(".checkpoint"):
                    continue
                files.add(os.path.relpath(os.path.join(d, f), root))
    identical = differing = 0
    for rel in sorted(files):
        pa, pb = os.path.join(old, rel), os.path.join(new, rel)
        if not os.path.exists(pa) or not os.path.exists(pb):
            print(f"{'only in new' if os.path.exists(pb) else 'only in old'}: {rel}")
            differing += 1
            continue
        a, _ = load(pa)
        b, _ = load(pb)
        if a is None:
            continue
        wa, wr, mm = diff(a, b)
        if wa == 0 and not mm:
            identical += 1
            continue
        if wr <= rtol and not mm:
            identical += 1
            continue
        differing += 1
        print(f"{rel}: max abs diff {wa:.3g}, max rel diff {wr:.3g}" + (f"; {len(mm)} non-numeric: {mm[:3]}" if mm else ""))
    print(f"{identical} files identical{' (within rtol %g)' % rtol if rtol else ''}, {differing} differ")
    sys.exit(1 if differing else 0)


if __name__ == "__main__":
    main()
