"""Speed and memory of the sparse-operator backend, printed as a markdown table.

    .venv/bin/python -m benchmarks.bench_sparse [--reps 2] [--gate-qubits 22] ...

Three measurements, each compared side by side in this one process (best of ``--reps`` runs):

1. The 2**n x 2**n operator of one general one-qubit gate (u3 on the middle qubit of 22): time,
   nnz, size and the peak memory traced while building it (no dense intermediate), next to the
   literal ``scipy.sparse.kron(I, G, I)``.
2. A 20-qubit, 200-term Pauli sum (a disordered long-range transverse-field Ising model: 180 random
   ZZ couplings + 20 X fields) to CSR, against Qiskit's ``SparsePauliOp.to_matrix(sparse=True)``
   (skipped, with the reason, when qiskit is not installed). A random 200-term sum would have
   200 distinct X masks, i.e. 2e8 stored entries (~4 GB): not a laptop benchmark.
3. A 20-qubit circuit (layers of u3, a CX ladder and rz) on the sparse backend against the dense
   state-vector backend.

Runs in well under a minute on one core. Thread counts are the libraries' defaults (qsim and
scipy.sparse are single-threaded; Qiskit's Rust code uses its own thread pool).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

import qsim
from qsim.backends.sparse import gate_operator
from qsim.gates import gate_matrix
from qsim.pauli import PauliSum


def best_of(fn: Callable[[], Any], reps: int) -> tuple[float, Any]:
    """(best wall time in seconds, last result) of ``reps`` calls."""
    best, out = float("inf"), None
    for _ in range(reps):
        out = None  # free the previous result before timing the next
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def traced_peak(fn: Callable[[], Any]) -> int:
    """Peak bytes allocated (numpy buffers included) while ``fn`` runs."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def mib(b: float) -> str:
    return f"{b / 2**20:,.1f} MiB"


def ms(t: float) -> str:
    return f"{t * 1e3:,.0f} ms"


def csr_bytes(m: sp.csr_matrix) -> int:
    return m.data.nbytes + m.indices.nbytes + m.indptr.nbytes


def bench_gate_operator(n: int, reps: int) -> list[tuple[str, ...]]:
    q = n // 2
    params = (0.3, 0.2, 0.1)
    t_qsim, op = best_of(lambda: gate_operator("u3", [q], n, params), reps)
    nnz, size = op.nnz, csr_bytes(op)
    del op
    peak = traced_peak(lambda: gate_operator("u3", [q], n, params))
    g = sp.csr_matrix(gate_matrix("u3", params))

    def literal() -> sp.csr_matrix:
        left = sp.identity(1 << q, dtype=complex, format="csr")
        right = sp.identity(1 << (n - q - 1), dtype=complex, format="csr")
        return sp.kron(sp.kron(left, g), right, format="csr")

    t_kron, ref = best_of(literal, reps)
    same = abs(ref - gate_operator("u3", [q], n, params)).max() == 0
    del ref
    diag = gate_operator("rz", [q], n, (0.4,)).nnz
    perm = gate_operator("cx", [n - 1, 0], n).nnz
    return [
        (f"u3 operator, {n} qubits (qubit {q})", ms(t_qsim), f"scipy kron(I,G,I): {ms(t_kron)}",
         f"{t_qsim / t_kron:.2f}",
         f"nnz {nnz:,} = 2^{n + 1}; {mib(size)}; peak traced {mib(peak)}; equal: {same}"),
        (f"rz / cx(q{n - 1},q0) operators, {n} qubits", "", "", "",
         f"nnz {diag:,} / {perm:,} (2^{n} = {1 << n:,})"),
    ]


def ising_terms(n: int, n_zz: int, rng: np.random.Generator) -> list[tuple[float, str]]:
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    chosen = rng.choice(len(pairs), size=n_zz, replace=False)
    terms = []
    for s in chosen:
        label = ["I"] * n
        i, j = pairs[s]
        label[i] = label[j] = "Z"
        terms.append((float(rng.normal()), "".join(label)))
    for i in range(n):
        label = ["I"] * n
        label[i] = "X"
        terms.append((float(rng.normal()), "".join(label)))
    return terms


def bench_pauli(n: int, n_terms: int, reps: int, rng: np.random.Generator
                ) -> list[tuple[str, ...]]:
    terms = ising_terms(n, n_terms - n, rng)
    h = PauliSum.from_terms(terms)
    t_qsim, m = best_of(h.to_sparse, reps)
    row = [f"{n_terms}-term Pauli sum to CSR, {n} qubits", ms(t_qsim)]
    try:
        from qiskit import __version__ as qiskit_version
        from qiskit.quantum_info import SparsePauliOp
    except ImportError as exc:
        return [tuple(row + ["qiskit: skipped", "", f"qiskit not installed ({exc}); "
                             f"nnz {m.nnz:,}"])]
    op = SparsePauliOp([lab for _, lab in terms], [c for c, _ in terms])
    t_qk, ref = best_of(lambda: op.to_matrix(sparse=True), max(1, reps - 1))
    diff = abs(ref - m).max() if ref.shape == m.shape else float("nan")
    return [tuple(row + [f"Qiskit {qiskit_version} to_matrix(sparse=True): {ms(t_qk)}",
                         f"{t_qsim / t_qk:.2f}",
                         f"nnz {m.nnz:,}; max abs difference {diff:.1e}"])]


def layered_circuit(n: int, layers: int, rng: np.random.Generator) -> qsim.Circuit:
    c = qsim.Circuit(n)
    for _ in range(layers):
        for q in range(n):
            c.u3(*rng.uniform(0, np.pi, 3), q)
        for q in range(n - 1):
            c.cx(q, q + 1)
        for q in range(n):
            c.rz(float(rng.uniform(0, np.pi)), q)
    return c


def bench_simulation(n: int, layers: int, reps: int, rng: np.random.Generator
                     ) -> list[tuple[str, ...]]:
    c = layered_circuit(n, layers, rng)
    t_dense, a = best_of(lambda: qsim.simulate(c, backend="statevector"), reps)
    t_sparse, b = best_of(lambda: qsim.simulate(c, backend="sparse"), reps)
    diff = float(np.abs(a.data - b.data).max())
    return [(f"simulate {len(c)} gates, {n} qubits", f"sparse: {ms(t_sparse)}",
             f"dense statevector: {ms(t_dense)}", f"{t_sparse / t_dense:.2f}",
             f"{t_sparse / len(c) * 1e3:.1f} ms/gate; max abs difference {diff:.1e}")]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gate-qubits", type=int, default=22)
    p.add_argument("--pauli-qubits", type=int, default=20)
    p.add_argument("--pauli-terms", type=int, default=200)
    p.add_argument("--sim-qubits", type=int, default=20)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--reps", type=int, default=2)
    p.add_argument("--seed", type=int, default=2024)
    args = p.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    rows = bench_gate_operator(args.gate_qubits, args.reps)
    rows += bench_pauli(args.pauli_qubits, args.pauli_terms, args.reps, rng)
    rows += bench_simulation(args.sim_qubits, args.layers, args.reps, rng)
    header = ("measurement", "qsim", "reference", "ratio (qsim / reference)", "notes")
    print(f"qsim {qsim.__version__} sparse backend; numpy {np.__version__}, scipy "
          f"{sp.__name__ and __import__('scipy').__version__}; {os.cpu_count()} CPU(s); "
          f"best of {args.reps}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print(f"\ntotal {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
