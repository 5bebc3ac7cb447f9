"""Dev: qsim vs Aer vs qulacs in ONE process, repetitions interleaved round-robin.

    python -m benchmarks.dev_compare --qubits 20 --threads 1 --workloads qft,random

The official numbers come from ``make bench`` (fresh processes); this is a quicker side-by-side
check whose ratios are less sensitive to the load of a shared machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--qubits", type=int, default=20)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--workloads", default="qft,random,ghz,hea")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--sims", default="qsim,aer,qulacs")
    a = p.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "QSIM_NUM_THREADS"):
        os.environ[var] = str(a.threads)
    from benchmarks import runner

    n = a.qubits
    sims = a.sims.split(",")
    for w in a.workloads.split(","):
        gates = __import__("benchmarks.workloads", fromlist=["x"]).make_workload(w, n)
        del gates
        runs = {}
        for s in sims:
            try:
                runs[s] = runner._prepare(s, __import__("benchmarks.workloads", fromlist=["x"])
                                          .make_workload(w, n), n, a.threads, "double")[0]
            except Exception as exc:  # noqa: BLE001
                print(f"{s}: {exc}")
        times: dict[str, list[float]] = {s: [] for s in runs}
        for _ in range(a.reps):
            for s, run in runs.items():
                t = time.perf_counter()
                r = run()
                times[s].append(time.perf_counter() - t)
                del r
        med = {s: statistics.median(v) for s, v in times.items()}
        line = "  ".join(f"{s} {med[s]*1e3:8.1f}" for s in med)
        ratios = ""
        if "qsim" in med:
            ratios = "  ".join(f"qsim/{s} {med['qsim']/med[s]:.2f}" for s in med if s != "qsim")
        print(f"{w:7s} n={n} t={a.threads}  {line}   {ratios}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
