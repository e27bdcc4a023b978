# Solvable: two commands that work on a fresh Debian machine.
#   make run    reproduce the papers' key figures at quick scale into out/report.html
#   make test   run the test suite
APT_PACKAGES := libopenblas-dev liblapacke-dev pkg-config zlib1g-dev dataset-fashion-mnist
SWIFT ?= swift

.PHONY: deps build run test test-python test-sanitizers schema bench info clean fuzz slurm-up slurm-down

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing="$$missing python3 python3-venv"; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@python3 -c 'import numpy' 2>/dev/null || python3 -m pip install -q numpy 2>/dev/null || \
		echo "note: numpy not available; the numpy round-trip test will be skipped and say so"

build: deps
	$(SWIFT) build -c release

run: build
	.build/release/solvable reproduce --out out

# The whole suite in release (its Slurm tests start a real one-node Slurm with scripts/slurm-local.sh, installing
# slurm-wlm and munge when missing, and stop it afterwards; they skip, saying why, only where that cannot be done), then the whole suite again under AddressSanitizer, and the parallel and I/O core
# (linear algebra, numerical core with checkpoints, parsers, outputs, sweeps with their kill-and-resume test, the
# DMFT thread-determinism tests) under ThreadSanitizer (the whole suite takes ~8 min under TSan on 2 cores).
TSAN_FILTER ?= --filter "LinearAlgebraTests|NumericalCoreTests|ExperimentsTests|SweepTests|DMFTDeterminismTests"
test: deps
	$(SWIFT) test -c release
	$(MAKE) --no-print-directory test-python
	$(MAKE) --no-print-directory test-sanitizers

# The Python package (python/) installed with pip into a virtual environment, with pytest, pandas, xarray and
# matplotlib (the report figures' redraw scripts) from PyPI, and its pytest suite run against the release binary
# (the one `swift test -c release` built: a `swift build` after it would recompile every module without testability).
PYTHON_VENV ?= .build/python-venv
test-python: deps
	test -x .build/release/solvable || $(SWIFT) build -c release --product solvable
	test -x $(PYTHON_VENV)/bin/python || python3 -m venv $(PYTHON_VENV)
	rm -rf python/build python/solvable.egg-info
	$(PYTHON_VENV)/bin/python -m pip install -q --disable-pip-version-check ./python pytest pandas xarray matplotlib
	SOLVABLE_BINARY=$(CURDIR)/.build/release/solvable $(PYTHON_VENV)/bin/python -m pytest -q -p no:cacheprovider python/tests

# docs/outputs.md and the Python package's catalog, generated from the commands' declarations (a test checks both).
schema: build
	.build/release/solvable schema > docs/outputs.md.tmp && mv docs/outputs.md.tmp docs/outputs.md
	.build/release/solvable schema --json > python/solvable/_catalog.json.tmp && mv python/solvable/_catalog.json.tmp python/solvable/_catalog.json

# The test suite under AddressSanitizer and ThreadSanitizer (optimized builds in their own build folders).
# Leak checking is off: Swift's process-lifetime globals are reported as leaks at exit.
test-sanitizers: deps
	ASAN_OPTIONS=detect_leaks=0 $(SWIFT) test -c release --sanitize=address --scratch-path .build-asan
	$(SWIFT) test -c release --sanitize=thread --scratch-path .build-tsan $(TSAN_FILTER)

# Side-by-side benchmarks against numpy ports (bench/bench.py). Both sides run with their best BLAS kernel:
# OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE are unset for this command only (Solvable then selects its core itself).
bench: build
	@python3 -c 'import numpy, scipy' 2>/dev/null || python3 -m pip install -q numpy scipy
	@python3 -c 'import threadpoolctl' 2>/dev/null || python3 -m pip install -q threadpoolctl || true
	.build/release/solvable bench blas
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 bench/bench.py

# A real one-node Slurm (root; installs slurm-wlm and munge when missing). The test suite starts it itself when it
# is not running (and stops it again); these targets are for trying `solvable sweep slurm` by hand.
slurm-up:
	scripts/slurm-local.sh up

slurm-down:
	scripts/slurm-local.sh down

info: build
	.build/release/solvable info

clean:
	rm -rf .build out

# Coverage-guided fuzzing of the config readers (libFuzzer + AddressSanitizer); FUZZ_SECONDS to change the budget.
FUZZ_SECONDS ?= 60
fuzz: deps
	$(SWIFT) build --package-path Fuzz -c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
	ASAN_OPTIONS=detect_leaks=0 Fuzz/.build/debug/ConfigFuzzer Fuzz/corpus -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096 -timeout=10
