"""Dev: time every fused operator of a workload; aggregate by (kind, width, kernel layout).

    python -m benchmarks.dev_ops --qubits 20 --threads 1 --workloads qft
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--qubits", type=int, default=20)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--blas", type=int, default=0, help="BLAS threads (default: --threads)")
    p.add_argument("--workloads", default="qft,random,ghz,hea")
    p.add_argument("--max-dense", type=int, default=0)
    a = p.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(a.blas or a.threads)
    import numpy as np

    from benchmarks import workloads as wl
    from qsim.backends.dense import kernels
    from qsim.backends.dense.state import DEFAULT_FUSION, apply_ops, circuit_gates
    from qsim.compile.fusion import FusionConfig, fuse

    cfg = DEFAULT_FUSION
    if a.max_dense:
        cfg = FusionConfig(a.max_dense, cfg.max_perm, cfg.max_diag)
    n = a.qubits
    for w in a.workloads.split(","):
        circ = wl.to_qsim(wl.make_workload(w, n), n)
        t0 = time.perf_counter()
        gates = list(circuit_gates(circ, circ.instructions, cfg.max_dense))
        t1 = time.perf_counter()
        ops = fuse(gates, cfg)
        t2 = time.perf_counter()
        state = np.zeros(1 << n, complex)
        state[0] = 1
        agg: dict[tuple, list[float]] = {}
        total = 0.0
        for op in ops:
            lay = kernels._layout(n, op.qubits, kernels.CHUNK).kind if op.kind != "diag" else "-"
            t = time.perf_counter()
            apply_ops(state, [op], threads=a.threads)
            dt = time.perf_counter() - t
            total += dt
            agg.setdefault((op.kind, len(op.qubits), lay), []).append(dt)
        print(f"{w} n={n} t={a.threads}: gates {1e3*(t1-t0):.1f} ms, fuse {1e3*(t2-t1):.1f} ms, "
              f"apply {1e3*total:.1f} ms, {len(ops)} ops")
        for k, v in sorted(agg.items()):
            print(f"   {k[0]:5s} m={k[1]:2d} {k[2]:5s} n_ops={len(v):3d} total {1e3*sum(v):7.1f} ms"
                  f"  mean {1e3*sum(v)/len(v):6.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
