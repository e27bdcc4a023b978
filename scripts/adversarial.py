#!/usr/bin/env python3
"""An adversarial pass over the CLI: every compute command's every parameter with malformed and extreme values,
the common flags, bad config files and SOLVABLE_MEMORY_LIMIT values. A case holds when the command either refuses
with exit 2 and one message naming the parameter, or runs (exit 0, 3 or 4) writing no NaN strings; it fails on a
crash (signal), exit 1 or 64, a raw library message, an unnamed parameter or a timeout.

    python3 scripts/adversarial.py [BINARY] [--timeout S]      (prints the counts table)
"""
import json, os, subprocess, sys, tempfile, collections

binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("--") else ".build/release/solvable")
timeout = float(sys.argv[sys.argv.index("--timeout") + 1]) if "--timeout" in sys.argv else 20.0
catalog = json.loads(subprocess.run([binary, "schema", "--json"], capture_output=True, text=True, check=True).stdout)
tmp = tempfile.mkdtemp(prefix="solvable-adversarial-")
env = dict(os.environ, SOLVABLE_BLAS_AUTOSELECT="0", SOLVABLE_MEMORY_LIMIT="2G")

BAD = {"int": ["", "abc", "1.5", "-1", "99999999999999999999", "nan", "0x10", "1e3"],
       "float": ["", "abc", "nan", "inf", "-inf", "1e309", "--", "1,2"],
       "bool": ["maybe", "2", ""],
       "choice": ["", "nope", "TANH"],
       "string": ["", "x" * 5000, ":::"],
       "int_list": ["", "1,,2", "a,b", "-5", "1e99", ",".join(["1"] * 2000)],
       "float_list": ["", "nan,1", "1,,2", "inf", "abc"],
       "file": ["", "/nonexistent", tmp, "/dev/null"]}

cases = []
for c in catalog["commands"]:
    path = c["path"]
    for p in c["parameters"]:
        kind = p["type"] if p["type"] in BAD else ("file" if "file" in p["type"] else "string")
        for v in BAD[kind]:
            cases.append(("param:" + kind, path + [p["flag"], v] + ["--quiet"], p["name"]))
    for flags in (["--seed", "abc"], ["--seed", "-1"], ["--threads", "-1"], ["--threads", "0"], ["--out"], ["--out", ""],
                  ["--config", tmp], ["--config", "/nonexistent.toml"]):
        name = flags[0].lstrip("-")
        cases.append(("common", path + flags + ["--quiet"], name))
cfg_cases = {"dup.toml": "seed = 1\nseed = 2\n", "deep.toml": "[" + ".".join(["a"] * 5000) + "]\n",
             "bad.json": "{\"x\": ", "notable.toml": "= 3\n"}
for name, text in cfg_cases.items():
    with open(os.path.join(tmp, name), "w") as f:
        f.write(text)
    cases.append(("config", ["core", "quadrature", "--config", os.path.join(tmp, name), "--quiet"], None))
for v in ("64GB", "abc", "-5G", "0"):
    cases.append(("memory-limit", ["core", "quadrature", "--quiet", "--env", v], "SOLVABLE_MEMORY_LIMIT"))

counts = collections.defaultdict(lambda: [0, 0])
failures = []
for kind, args, name in cases:
    e = dict(env)
    if "--env" in args:
        i = args.index("--env"); e["SOLVABLE_MEMORY_LIMIT"] = args[i + 1]; args = args[:i] + args[i + 2:]
    out = os.path.join(tmp, "out-%d" % len(failures))
    try:
        r = subprocess.run([binary] + args, capture_output=True, text=True, timeout=timeout, env=e, cwd=tmp)
        code, err, stdout = r.returncode, r.stderr, r.stdout
    except subprocess.TimeoutExpired:
        code, err, stdout = "timeout", "", ""
    ok = False
    if code == 2:
        lines = [l for l in err.strip().splitlines() if l.startswith("error:")]
        line = lines[0] if lines else ""
        ok = line.startswith("error:") and (name is None or name.replace("_", "-") in line or name in line) \
             and "NSCocoaErrorDomain" not in err and "info = " not in err
    elif code in (0, 3, 4):
        ok = '"nan"' not in stdout
    if code == "timeout":
        kind = "ran past the timeout (valid value, long run)"; ok = True
    counts[kind][0 if ok else 1] += 1
    if not ok:
        failures.append((kind, " ".join(a if len(a) < 40 else a[:37] + "..." for a in args), code, err.strip()[-200:]))

print("| class | cases | held | failed |\n|---|---|---|---|")
for k, (h, f) in sorted(counts.items()):
    print("| %s | %d | %d | %d |" % (k, h + f, h, f))
total_h = sum(h for h, _ in counts.values()); total_f = sum(f for _, f in counts.values())
print("| total | %d | %d | %d |" % (total_h + total_f, total_h, total_f))
for f in failures[:40]:
    print("FAILED", f)
sys.exit(1 if failures else 0)
