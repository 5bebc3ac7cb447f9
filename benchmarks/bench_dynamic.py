"""Dynamic circuits: branching vs one trajectory per shot vs Qiskit Aer. Prints a markdown table.

    .venv/bin/python -m benchmarks.bench_dynamic [--no-aer] [--per-shot-samples 300,2]

Workloads: teleportation of u3(1.2, 0.7, -0.4)|0> (3 qubits, 2 mid-circuit measurements, 2
conditional corrections, 100,000 shots) and a 20-qubit circuit with one mid-circuit measurement
(ry layer, cx chain, measure q0, x q1 if it read 1, ry layer, cx chain, measure all; 10,000 shots).

What is timed: ``qsim.engine.branching.run_branching`` (what ``qsim.run`` calls for these circuits) and
the counts made from its per-shot indices; the
per-shot reference ``run_per_shot`` on a few shots, scaled to the full shot count; Aer's
``AerSimulator(method="statevector").run(qc, shots=...).result()`` (default options: Aer runs
circuits with mid-circuit measurements shot by shot). When a full per-shot or Aer run would take
too long it is estimated from ``--per-shot-samples`` / ``--aer-samples`` shots (marked "est.").
Everything runs on one thread (OMP/MKL/OpenBLAS variables and Aer's ``max_parallel_threads``).
For teleportation the table also gives the total-variation distance between qsim's and Aer's
counts, next to the distance expected from shot noise alone.
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

from qsim import Circuit  # noqa: E402
from qsim.compile import lower, plan  # noqa: E402
from qsim.engine.branching import run_branching, run_per_shot  # noqa: E402


def teleport_circuit() -> Circuit:
    """Teleport u3(1.2, 0.7, -0.4)|0> to q2, undo the preparation there, measure q2 into r."""
    c = Circuit(3)
    for name in ("m0", "m1", "r"):
        c.add_creg(name, 1)
    c.u3(1.2, 0.7, -0.4, 0).h(1).cx(1, 2).cx(0, 1).h(0).measure(0, 0).measure(1, 1)
    c.x(2).c_if("m1", 1)
    c.z(2).c_if("m0", 1)
    c.u3(-1.2, 0.4, -0.7, 2).measure(2, 2)
    return c


def mid_circuit(n: int = 20, seed: int = 0) -> Circuit:
    """ry layer, cx chain, measure q0 -> m, x q1 if m == 1, ry layer, cx chain, measure all."""
    rng = np.random.default_rng(seed)
    c = Circuit(n)
    c.add_creg("m", 1)

    def layer() -> None:
        for q in range(n):
            c.ry(float(rng.uniform(0, 3)), q)
        for q in range(n - 1):
            c.cx(q, q + 1)

    layer()
    c.measure(0, 0).x(1).c_if("m", 1)
    layer()
    c.measure_all()
    return c


def to_qiskit(c: Circuit) -> Any:
    """The same circuit for Qiskit (registers by name; conditions as ``if_test``)."""
    from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister

    qregs = [QuantumRegister(size, name) for name, size in c.qregs]
    cregs = {name: ClassicalRegister(size, name) for name, size in c.cregs}
    qc = QuantumCircuit(*qregs, *cregs.values())
    names = {"u3": "u"}
    for ins in c.instructions:
        def emit(ins: Any = ins) -> None:
            if ins.name == "measure":
                qc.measure(ins.qubits[0], ins.clbits[0])
            elif ins.name == "reset":
                qc.reset(ins.qubits[0])
            else:
                getattr(qc, names.get(ins.name, ins.name))(*ins.params, *ins.qubits)

        if ins.condition is None:
            emit()
        else:
            with qc.if_test((cregs[ins.condition[0]], ins.condition[1])):
                emit()
    return qc


def aer_counts(qc: Any, shots: int, seed: int) -> tuple[float, dict[str, int]]:
    from qiskit_aer import AerSimulator

    sim = AerSimulator(method="statevector", max_parallel_threads=1)
    t0 = time.perf_counter()
    counts = sim.run(qc, shots=shots, seed_simulator=seed).result().get_counts()
    return time.perf_counter() - t0, dict(counts)


def tvd(a: dict[str, int], b: dict[str, int]) -> float:
    na, nb = sum(a.values()), sum(b.values())
    return 0.5 * sum(abs(a.get(k, 0) / na - b.get(k, 0) / nb) for k in set(a) | set(b))


def bench(name: str, c: Circuit, shots: int, per_shot_samples: int, aer_samples: int | None,
          use_aer: bool, reps: int) -> dict[str, Any]:
    row: dict[str, Any] = {"name": name, "qubits": c.num_qubits, "shots": shots}
    times = []
    for r in range(reps):
        t0 = time.perf_counter()
        run = run_branching(c, shots, np.random.default_rng(r + 1), bit_order="little")
        hist = np.bincount(run.shot_index, minlength=len(run.keys))
        counts = {k: int(v) for k, v in zip(run.keys, hist) if v}
        times.append(time.perf_counter() - t0)
    row["qsim"] = float(np.median(times))
    row["branches"], row["gate_calls"] = run.stats.leaves, run.stats.gate_calls
    row["branch_points"] = plan(c, lower(c)).branch_points
    k = min(per_shot_samples, shots)
    t0 = time.perf_counter()
    run_per_shot(c, k, np.random.default_rng(1))
    row["per_shot"] = (time.perf_counter() - t0) * shots / k
    row["per_shot_est"] = k < shots
    row["aer"] = None
    if use_aer:
        qc = to_qiskit(c)
        aer_counts(qc, 1, 0)  # first call loads Aer's libraries: not timed
        k = shots if aer_samples is None else min(aer_samples, shots)
        t, aer_counts_ = aer_counts(qc, k, 1)
        row["aer"], row["aer_est"] = t * shots / k, k < shots
        if k == shots:
            row["tvd"] = tvd(counts, aer_counts_)
            # Shot noise alone: E[TVD] between two samples ~ sum_k sqrt(p_k (1/n + 1/n) / (2 pi)).
            p = np.array(list(aer_counts_.values())) / shots
            row["tvd_noise"] = float(np.sum(np.sqrt(p * (1 - p) * 2 / shots / (2 * np.pi))))
    return row


def fmt_s(x: float, est: bool = False) -> str:
    s = f"{x:.3g} s" if x < 1000 else f"{x:,.0f} s"
    return s + (" (est.)" if est else "")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_dynamic")
    p.add_argument("--no-aer", action="store_true", help="skip the Qiskit Aer comparison")
    p.add_argument("--per-shot-samples", default="300,2",
                   help="shots timed on the per-shot path, per workload (teleport,20-qubit)")
    p.add_argument("--aer-samples", default="all,2",
                   help="shots timed on Aer, per workload ('all' = the full run)")
    p.add_argument("--qubits", type=int, default=20, help="size of the mid-circuit workload")
    args = p.parse_args(argv)

    use_aer, why = not args.no_aer, "--no-aer"
    if use_aer:
        try:
            import qiskit_aer  # noqa: F401
        except ImportError:
            use_aer, why = False, "qiskit-aer not installed"
    per = [int(x) for x in args.per_shot_samples.split(",")]
    aer = [None if x == "all" else int(x) for x in args.aer_samples.split(",")]
    rows = [
        bench("teleportation", teleport_circuit(), 100_000, per[0], aer[0], use_aer, reps=3),
        bench(f"{args.qubits} qubits, 1 mid-circuit measurement", mid_circuit(args.qubits), 10_000,
              per[1], aer[1], use_aer, reps=1),
    ]
    print("| workload | qubits | shots | qsim (branching) | branches | per-shot "
          "| per-shot / qsim | Aer | Aer / qsim | TVD qsim vs Aer (noise) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        if r["aer"] is None:
            aer_cells = f"skipped ({why}) | – | –"
        else:
            tv = f"{r['tvd']:.4f} ({r['tvd_noise']:.4f})" if "tvd" in r else "–"
            aer_cells = (f"{fmt_s(r['aer'], r['aer_est'])} | {r['aer'] / r['qsim']:.3g}x"
                         f" | {tv}")
        print(f"| {r['name']} | {r['qubits']} | {r['shots']:,} | {fmt_s(r['qsim'])} "
              f"| {r['branches']} | {fmt_s(r['per_shot'], r['per_shot_est'])} "
              f"| {r['per_shot'] / r['qsim']:,.0f}x | {aer_cells} |")
    print()
    print("qsim: median of 3 runs (teleportation) / 1 run (mid-circuit), one thread. per-shot: "
          f"{per[0]} and {per[1]} shots timed and scaled. Aer: default options (shot by shot "
          "for dynamic circuits); a ratio > 1 means qsim is faster.")


if __name__ == "__main__":
    main()
