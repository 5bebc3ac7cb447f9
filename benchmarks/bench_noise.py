"""Noisy simulation: qsim's density matrix and noisy shots vs Qiskit Aer. Prints a markdown table.

    .venv/bin/python -m benchmarks.bench_noise [--quick] [--no-aer] [--aer-samples 200]

Workloads (random circuits: per layer an rx/ry/rz of a random angle on every qubit, then cx on
alternate neighbouring pairs; measured at the end):

* **density matrix**, 10 and 12 qubits, depth 20, depolarizing 1e-3 (1- and 2-qubit) after every
  gate and amplitude damping 1e-3 on every qubit of every gate, 1,000 shots:
  ``qsim.run(..., noise=..., method="density")`` vs ``AerSimulator(method="density_matrix")``
  (target: ratio <= 1.0). The final distributions are compared too (max |dp|).
* **qiskit-aer #1979**: 14 qubits, depth 20, depolarizing 1e-3 after every gate (2-qubit
  depolarizing after cx), 10,000 shots: qsim's noisy shots (``method="trajectories"``: the
  shot-branching walker) vs Aer's noisy ``method="statevector"`` run (target: ratio <= 0.2), with
  the number of branches qsim simulated. Aer runs a noisy circuit shot by shot, so its time is
  estimated from ``--aer-samples`` shots, scaled (marked "est.").

Everything runs on one thread (``threads=1``; Aer's ``max_parallel_threads=1``; the BLAS
variables). Aer's depolarizing parameter is converted: ``lam = p * 4**k / (4**k - 1)``.
``--quick``: 10 qubits only for the density matrix, 1,000 shots for the #1979 case.
"""

from __future__ import annotations

import argparse
import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS"):
    os.environ.setdefault(_var, "1")

import time  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

import qsim  # noqa: E402
from qsim import Circuit  # noqa: E402
from qsim.noise import NoiseModel, amplitude_damping, depolarizing  # noqa: E402

ROTATIONS = ("rx", "ry", "rz")


def random_circuit(n: int, depth: int, seed: int = 0) -> Circuit:
    rng = np.random.default_rng(seed)
    c = Circuit(n)
    for d in range(depth):
        for q in range(n):
            c.append(ROTATIONS[int(rng.integers(3))], [q], [float(rng.uniform(0, 2 * np.pi))])
        for q in range(d % 2, n - 1, 2):
            c.cx(q, q + 1)
    return c


def to_qiskit(c: Circuit) -> Any:
    from qiskit import QuantumCircuit

    qc = QuantumCircuit(c.num_qubits)
    for ins in c.instructions:
        getattr(qc, ins.name)(*ins.params, *ins.qubits)
    return qc


def noise_models(p: float, gamma: float) -> tuple[NoiseModel, Any]:
    """Depolarizing p after every gate (2-qubit after cx) and, when gamma > 0, amplitude damping
    on every qubit of every gate: qsim's model and Aer's."""
    ours = NoiseModel().add(depolarizing(p), gates=list(ROTATIONS)).add(
        depolarizing(p, qubits=2), gates=["cx"])
    if gamma:
        ours.add(amplitude_damping(gamma))
    from qiskit_aer import noise as aer_noise

    dep1 = aer_noise.depolarizing_error(p * 4 / 3, 1)
    dep2 = aer_noise.depolarizing_error(p * 16 / 15, 2)
    if gamma:
        amp = aer_noise.amplitude_damping_error(gamma)
        dep1, dep2 = dep1.compose(amp), dep2.compose(amp.tensor(amp))
    theirs = aer_noise.NoiseModel()
    theirs.add_all_qubit_quantum_error(dep1, list(ROTATIONS))
    theirs.add_all_qubit_quantum_error(dep2, ["cx"])
    return ours, theirs


def aer_sim(method: str, model: Any) -> Any:
    from qiskit_aer import AerSimulator

    return AerSimulator(method=method, noise_model=model, max_parallel_threads=1,
                        max_parallel_experiments=1, max_parallel_shots=1)


def best_of(f: Any, repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t0)
    return best, out


def bench_density(n: int, shots: int, use_aer: bool) -> dict[str, Any]:
    c = random_circuit(n, 20, seed=n)
    ours, theirs = noise_models(1e-3, 1e-3)
    cm = c.copy().measure_all()
    repeat = 3 if n <= 10 else 1
    t_q, res = best_of(lambda: qsim.run(cm, shots=shots, seed=1, noise=ours, method="density",
                                        threads=1), repeat)
    row = {"case": f"density matrix, {n} qubits, depth 20, {shots:,} shots", "qsim": t_q,
           "aer": None, "est": False, "target": 1.0, "branches": res.branches, "check": ""}
    if use_aer:
        qc = to_qiskit(c)
        qc.measure_all()
        sim = aer_sim("density_matrix", theirs)
        row["aer"], _ = best_of(lambda: sim.run(qc, shots=shots, seed_simulator=1).result(),
                                repeat)
        qp = to_qiskit(c)
        qp.save_probabilities()
        p_aer = np.asarray(sim.run(qp, shots=1).result().data()["probabilities"])
        # Aer's index: qubit 0 least significant; reverse the bits to qsim's order.
        idx = np.array([int(format(i, f"0{n}b")[::-1], 2) for i in range(1 << n)])
        p_ours = qsim.simulate(c, noise=ours, backend="density").probabilities_array()
        row["check"] = f"max dp {np.abs(p_ours - p_aer[idx]).max():.1e}"
    return row


def bench_trajectories(shots: int, aer_samples: int, use_aer: bool) -> dict[str, Any]:
    c = random_circuit(14, 20, seed=14)
    ours, theirs = noise_models(1e-3, 0.0)
    cm = c.copy().measure_all()
    t_q, res = best_of(lambda: qsim.run(cm, shots=shots, seed=1, noise=ours,
                                        method="trajectories", threads=1), 1)
    t_ideal, _ = best_of(lambda: qsim.run(cm, shots=shots, seed=1, threads=1), 1)
    row = {"case": f"noisy shots (aer #1979), 14 qubits, depth 20, {shots:,} shots",
           "qsim": t_q, "aer": None, "est": False, "target": 0.2, "branches": res.branches,
           "check": f"ideal {t_ideal:.2f} s"}
    if use_aer:
        qc = to_qiskit(c)
        qc.measure_all()
        sim = aer_sim("statevector", theirs)
        k = min(shots, aer_samples)
        t_a, _ = best_of(lambda: sim.run(qc, shots=k, seed_simulator=1).result(), 1)
        row["aer"], row["est"] = t_a * shots / k, k < shots
    return row


def fmt(x: float | None, est: bool = False) -> str:
    if x is None:
        return "-"
    return f"{x:.3f} s" + (" (est.)" if est else "")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="10 qubits only; 1,000 noisy shots")
    ap.add_argument("--no-aer", action="store_true", help="skip Qiskit Aer")
    ap.add_argument("--aer-samples", type=int, default=300,
                    help="shots Aer's noisy state-vector run is timed on (scaled to the total)")
    args = ap.parse_args(argv)
    use_aer = not args.no_aer
    if use_aer:
        try:
            import qiskit_aer  # noqa: F401
        except ImportError:
            print("qiskit-aer is not installed: qsim timings only")
            use_aer = False
    rows = [bench_density(n, 1000, use_aer) for n in ((10,) if args.quick else (10, 12))]
    rows.append(bench_trajectories(1000 if args.quick else 10000, args.aer_samples, use_aer))
    print("\n### Noise: qsim vs Qiskit Aer (one thread)\n")
    print("| case | qsim | Aer | qsim / Aer | target | branches | check |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        ratio = "-" if r["aer"] is None else f"{r['qsim'] / r['aer']:.3f}"
        print(f"| {r['case']} | {fmt(r['qsim'])} | {fmt(r['aer'], r['est'])} | {ratio} | "
              f"<= {r['target']} | {r['branches']:,} | {r['check']} |")


if __name__ == "__main__":
    main()
