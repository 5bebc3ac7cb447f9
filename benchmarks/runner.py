"""Run ONE benchmark measurement in this process and print it as JSON on stdout.

    python -m benchmarks.runner --simulator aer --workload qft --qubits 20 --threads 2

What is timed: the simulation of the whole, already built circuit to the final state vector in
memory (no sampling, no measurement): ``qsim.simulate(circuit)``, Aer ``run(...).result()`` (with
``save_statevector``), qulacs ``QuantumState(n)`` + ``update_quantum_state``, qsimcirq
``simulate(...)``, PennyLane ``lightning.qubit`` a QNode returning ``qml.state()``.  Building
the circuit object is not timed.  There is no separate warm-up: the median of ``--reps``
(default 3) repetitions is reported, so one cold first repetition does not decide the result
(``--rep-budget S`` stops repeating once the repetitions so far took S seconds; ``reps_done``
says how many ran; when that is two, the faster is reported, since their median would be their
mean, half decided by the cold one; the same rule for every simulator).  ``peak_rss_mib`` is
this process's ``ru_maxrss``.

The thread count goes into OMP_NUM_THREADS / MKL_NUM_THREADS / OPENBLAS_NUM_THREADS (set here
before numpy is imported), Aer's ``max_parallel_threads`` and qsimcirq's
``QSimOptions(cpu_threads=...)``.

With ``--state-dir DIR`` the final state of the last repetition is saved as
``DIR/<simulator>_<workload>.npy`` in qsim's bit order (big-endian), for the agreement check.
``--workload`` accepts a comma-separated list (one JSON line per workload).
"""

from __future__ import annotations

import argparse
import os
import sys

THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "QSIM_NUM_THREADS",
)

SIMULATORS = ("qsim", "aer", "lightning", "qulacs", "qsimcirq")
# Module whose absence means "not installed", and the pip name to suggest.
SIM_MODULES = {
    "qsim": ("qsim", "qsim (pip install -e .)"),
    "aer": ("qiskit_aer", "qiskit-aer"),
    "qulacs": ("qulacs", "qulacs"),
    "qsimcirq": ("qsimcirq", "qsimcirq"),
    "lightning": ("pennylane_lightning", "pennylane-lightning"),
}
SIM_DISTS = {"qsim": "qsim", "aer": "qiskit-aer", "qulacs": "qulacs", "qsimcirq": "qsimcirq",
             "lightning": "pennylane-lightning"}


def thread_env(threads: int) -> dict[str, str]:
    return {var: str(threads) for var in THREAD_ENV_VARS}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.runner",
                                description="One benchmark measurement.")
    p.add_argument("--simulator", required=True, choices=SIMULATORS)
    p.add_argument("--workload", required=True, help="workload name, or a comma-separated list")
    p.add_argument("--qubits", type=int, required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--precision", choices=("double", "single"), default="double")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--rep-budget", type=float, default=None,
                   help="stop repeating once the repetitions so far took this many seconds")
    p.add_argument("--state-dir", default=None,
                   help="save final states here (qsim bit order, .npy)")
    return p.parse_args(argv)


class Unsupported(Exception):
    """The simulator cannot run this configuration (e.g. qulacs in single precision)."""


def _prepare(sim: str, gates: list, n: int, threads: int, precision: str):  # noqa: ANN202
    """Return (run, to_state): run() simulates and returns a result object; to_state(result) is the
    final state as an ndarray in qsim's bit order."""
    import numpy as np

    from benchmarks import workloads as wl

    if sim == "qsim":
        import qsim

        circuit = wl.to_qsim(gates, n)

        def run():  # noqa: ANN202
            return qsim.simulate(circuit, precision=precision).data

        return run, lambda data: data

    if sim == "aer":
        from qiskit_aer import AerSimulator

        backend = AerSimulator(method="statevector", precision=precision,
                               max_parallel_threads=threads)
        qc = wl.to_qiskit(gates, n, save_statevector=True)

        def run():  # noqa: ANN202
            return backend.run(qc, shots=1).result()

        def to_state(result):  # noqa: ANN202
            if not result.success:
                raise RuntimeError(f"Aer failed: {result.status}")
            return wl.little_to_big_endian(result.get_statevector(), n)

        return run, to_state

    if sim == "lightning":
        import pennylane as qml

        # lightning.qubit threads with OpenMP (OMP_NUM_THREADS, pinned by main()); c64 is
        # selectable but the comparison is with qsim in double.
        dev = qml.device("lightning.qubit", wires=n,
                         c_dtype=np.complex64 if precision == "single" else np.complex128)
        node = qml.QNode(wl.to_pennylane(gates, n), dev)

        def run():  # noqa: ANN202
            return node()

        return run, lambda vec: np.asarray(vec)

    if sim == "qulacs":
        if precision != "double":
            raise Unsupported("qulacs (CPU build) is double precision only")
        from qulacs import QuantumState

        circ = wl.to_qulacs(gates, n)

        def run():  # noqa: ANN202
            state = QuantumState(n)
            circ.update_quantum_state(state)
            return state

        return run, lambda state: wl.little_to_big_endian(state.get_vector(), n)

    if sim == "qsimcirq":
        if precision != "single":
            raise Unsupported("qsimcirq computes in single precision (complex64) only")
        import qsimcirq

        circuit, qubits = wl.to_cirq(gates, n)
        simulator = qsimcirq.QSimSimulator(qsim_options=qsimcirq.QSimOptions(cpu_threads=threads))

        def run():  # noqa: ANN202
            return simulator.simulate(circuit, qubit_order=qubits).final_state_vector

        return run, lambda vec: vec

    raise Unsupported(f"unknown simulator {sim!r}")


def _version(sim: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(SIM_DISTS[sim])
    except metadata.PackageNotFoundError:
        return None


def measure(sim: str, workload: str, n: int, threads: int, precision: str, reps: int,
            state_dir: str | None, rep_budget: float | None = None) -> dict:
    import gc
    import resource
    import statistics
    import time

    from benchmarks import workloads as wl

    rec: dict = {
        "simulator": sim, "workload": workload, "qubits": n, "threads": threads,
        "precision": precision, "reps": reps, "version": _version(sim),
    }
    try:
        t0 = time.perf_counter()
        gates = wl.make_workload(workload, n)
        run, to_state = _prepare(sim, gates, n, threads, precision)
        rec["build_s"] = time.perf_counter() - t0
        rec["num_gates"] = len(gates)
        times: list[float] = []
        result = None
        for _ in range(max(1, reps)):
            if times and rep_budget is not None and sum(times) >= rep_budget:
                break
            result = None  # never hold two states while the next one is being computed
            gc.collect()
            t = time.perf_counter()
            result = run()
            times.append(time.perf_counter() - t)
        rec["reps_done"] = len(times)
        rec["times_s"] = times
        # of two, the median is the mean and the cold first would decide half of it
        rec["median_s"] = min(times) if len(times) == 2 else statistics.median(times)
        rec["min_s"] = min(times)
        if state_dir is not None:
            import numpy as np

            state = np.asarray(to_state(result))
            rec["state_dtype"] = str(state.dtype)
            path = os.path.join(state_dir, f"{sim}_{workload}.npy")
            np.save(path, state)
            rec["state_path"] = path
        del result
        rec["status"] = "ok"
    except ImportError as exc:
        rec["status"] = "not installed"
        rec["error"] = f"not installed ({exc})"
    except Unsupported as exc:
        rec["status"] = "unsupported"
        rec["error"] = str(exc)
    except MemoryError as exc:
        rec["status"] = "error"
        rec["error"] = f"MemoryError: {exc}"
    except Exception as exc:  # noqa: BLE001 - report, never crash the driver
        rec["status"] = "error"
        rec["error"] = f"{type(exc).__name__}: {exc}"
    rec["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return rec


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    # Before numpy (or any simulator) is imported: pin the thread pools.
    os.environ.update(thread_env(args.threads))
    import json

    status = 0
    for workload in args.workload.split(","):
        rec = measure(args.simulator, workload, args.qubits, args.threads, args.precision,
                      args.reps, args.state_dir, args.rep_budget)
        print(json.dumps(rec), flush=True)
        if rec["status"] == "error":
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
