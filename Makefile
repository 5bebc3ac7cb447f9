# qsim developer commands. Everything runs inside .venv, created on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BENCH_ARGS ?=

.PHONY: demo test test-mpi lint bench bench-quick bench-mpi clean

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

$(VENV)/.installed-mpi: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev,mpi]'
	touch $@ $(VENV)/.installed $(VENV)/.installed-dev

## test-mpi: install the mpi extra (mpi4py, MPICH's wheel), run tests/mpi under mpiexec with
## 1, 2, 4 and 8 ranks (oversubscribed is fine), then the tests that need mpi4py in one process
## (conformance at one rank, the command under mpiexec); each run killed after MPI_TIMEOUT s
MPI_TIMEOUT ?= 150
test-mpi: $(VENV)/.installed-mpi
	@for n in 1 2 4 8; do \
	  echo "mpiexec -n $$n: tests/mpi"; \
	  QSIM_MPI_TESTS=1 timeout -k 10 $(MPI_TIMEOUT) $(BIN)/mpiexec -n $$n \
	    $(BIN)/python -m pytest -q -p no:cacheprovider tests/mpi || exit 1; \
	done
	timeout -k 10 $(MPI_TIMEOUT) $(BIN)/python -m pytest -q -p no:cacheprovider \
	  tests/test_mpi_backend.py tests/test_backends.py -k mpi

## lint: ruff and mypy
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check qsim tests examples benchmarks
	$(BIN)/mypy qsim

## bench: install the anchors (qiskit-aer, lightning, qulacs, qsimcirq), print the simulator
## comparison table, the kernel rows (long reversible circuit, thread cliff, bandwidth, memory),
## then the QASM-parsing, sparse-backend, dynamic-circuit and variational benchmarks
bench: $(VENV)/.installed-bench
	$(BIN)/python -m benchmarks.bench $(BENCH_ARGS)
	$(BIN)/python -m benchmarks.bench_kernels $(filter --quick,$(BENCH_ARGS))
	$(BIN)/python -m benchmarks.bench_qasm_parse
	$(BIN)/python -m benchmarks.bench_sparse
	$(BIN)/python -m benchmarks.bench_dynamic
	$(BIN)/python -m benchmarks.bench_variational $(filter --quick,$(BENCH_ARGS))
	$(BIN)/python -m benchmarks.bench_noise $(filter --quick,$(BENCH_ARGS))

## bench-mpi: bytes exchanged per circuit by each swap schedule, and the overhead of
## mpiexec -n 2 against one process (24 qubits; 20 with BENCH_ARGS=--quick)
bench-mpi: $(VENV)/.installed-mpi
	$(BIN)/python -m benchmarks.bench_mpi $(BENCH_ARGS)

bench-quick:
	$(MAKE) bench BENCH_ARGS=--quick

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache .hypothesis bell_histogram.png bell_histogram_example.png
