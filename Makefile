# qsim developer commands. Everything runs inside .venv, created on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BENCH_ARGS ?=

.PHONY: demo test lint bench bench-quick clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	touch $@ $(VENV)/.installed $(VENV)/.installed-dev

## demo: install, run the Bell circuit, print its counts and write bell_histogram.png
demo: $(VENV)/.installed
	$(BIN)/qsim run circuits/bell.qasm --shots 1000 --seed 7 --plot bell_histogram.png
	@echo "histogram written to bell_histogram.png"

## test: install the dev extras, lint with ruff, run the test suite
test: $(VENV)/.installed-dev
	$(BIN)/ruff check qsim tests examples benchmarks
	$(BIN)/python -m pytest -q

## lint: ruff and mypy
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check qsim tests examples benchmarks
	$(BIN)/mypy qsim

## bench: install the anchors (qiskit-aer, qulacs, qsimcirq), print the simulator comparison
## table, then the QASM-parsing, sparse-backend, dynamic-circuit and variational benchmarks
bench: $(VENV)/.installed-bench
	$(BIN)/python -m benchmarks.bench $(BENCH_ARGS)
	$(BIN)/python -m benchmarks.bench_qasm_parse
	$(BIN)/python -m benchmarks.bench_sparse
	$(BIN)/python -m benchmarks.bench_dynamic
	$(BIN)/python -m benchmarks.bench_variational $(filter --quick,$(BENCH_ARGS))

bench-quick:
	$(MAKE) bench BENCH_ARGS=--quick

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache .hypothesis bell_histogram.png bell_histogram_example.png
