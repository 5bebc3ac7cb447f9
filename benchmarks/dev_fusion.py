"""Dev: time qsim's dense backend on the benchmark workloads under several fusion settings.

    python -m benchmarks.dev_fusion --qubits 20 --threads 1 --configs 3,10,12 4,10,12 5,10,12

Variants run interleaved in one process (repeats round-robin, median reported), so they see the
same machine load. Also prints the number of fused operators per kind and the planning time.
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
    p.add_argument("--configs", nargs="+", default=["4,10,12"])
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--precision", default="double")
    p.add_argument("--chunk", type=int, default=0)
    a = p.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "QSIM_NUM_THREADS"):
        os.environ[var] = str(a.threads)
    import numpy as np

    from benchmarks import workloads as wl
    from qsim.backends.dense import kernels
    from qsim.backends.dense.state import apply_ops, circuit_gates
    from qsim.compile.fusion import FusionConfig, fuse

    if a.chunk:
        kernels.CHUNK = a.chunk
    dtype = np.complex64 if a.precision == "single" else np.complex128
    n = a.qubits
    for w in a.workloads.split(","):
        circ = wl.to_qsim(wl.make_workload(w, n), n)
        plans = {}
        for c in a.configs:
            cfg = FusionConfig(*(int(x) for x in c.split(",")))
            t = time.perf_counter()
            ops = fuse(circuit_gates(circ, circ.instructions, cfg.max_dense), cfg)
            plan_s = time.perf_counter() - t
            kinds = {}
            for op in ops:
                kinds[(op.kind, len(op.qubits))] = kinds.get((op.kind, len(op.qubits)), 0) + 1
            plans[c] = (ops, plan_s, kinds)
        times: dict[str, list[float]] = {c: [] for c in a.configs}
        warm = np.zeros(1 << n, dtype)
        for c in a.configs:  # numba's import and kernel loading are not timed
            apply_ops(warm, plans[c][0], threads=a.threads)
        del warm
        for _ in range(a.reps):
            for c in a.configs:
                state = np.zeros(1 << n, dtype)
                state[0] = 1
                t = time.perf_counter()
                apply_ops(state, plans[c][0], threads=a.threads)
                times[c].append(time.perf_counter() - t)
                del state
        for c in a.configs:
            ops, plan_s, kinds = plans[c]
            ks = " ".join(f"{k[0][:2]}{k[1]}:{v}" for k, v in sorted(kinds.items()))
            print(f"{w:7s} n={n} t={a.threads} cfg={c:9s} {statistics.median(times[c])*1e3:8.1f} ms"
                  f"  plan {plan_s*1e3:6.1f} ms  ops {len(ops):4d}  [{ks}]", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
