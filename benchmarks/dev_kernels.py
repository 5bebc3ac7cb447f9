"""Dev: time each kernel (dense / perm / diag) per width and target placement, interleaved.

    python -m benchmarks.dev_kernels --qubits 20 --threads 1 [--chunk 16384]
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
    p.add_argument("--blas", type=int, default=0)
    p.add_argument("--chunks", default="16384")
    p.add_argument("--widths", default="1,2,3,4,5")
    p.add_argument("--kinds", default="dense,perm,diag")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--precision", default="double")
    a = p.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(a.blas or a.threads)
    import numpy as np

    from qsim.backends.dense import kernels

    n = a.qubits
    rng = np.random.default_rng(0)
    dt = np.complex64 if a.precision == "single" else np.complex128
    state = (rng.standard_normal(1 << n) + 1j * rng.standard_normal(1 << n)).astype(dt)
    state /= np.linalg.norm(state)
    chunks = [int(c) for c in a.chunks.split(",")]
    for kind in a.kinds.split(","):
        for m in (int(x) for x in a.widths.split(",")):
            K = 1 << m
            u = np.linalg.qr(rng.standard_normal((K, K)) + 1j * rng.standard_normal((K, K)))[0] \
                if kind == "dense" else None
            d = np.exp(1j * rng.uniform(0, 6, K))
            src = rng.permutation(K)
            placements = {
                "top": tuple(range(m)),
                "mid": tuple(range(n // 2 - m // 2, n // 2 - m // 2 + m)),
                "bottom": tuple(range(n - m, n)),
                "spread": tuple(sorted(int(x) for x in np.linspace(0, n - 1, m).round())),
                "rand": tuple(sorted(rng.choice(n, m, replace=False).tolist())),
                "rand+last": tuple(sorted(rng.choice(n - 1, m - 1, replace=False).tolist()))
                + (n - 1,),
            }
            for name, axes in placements.items():
                if len(set(axes)) != m:
                    continue
                res = {}
                for c in chunks:
                    res[c] = []
                for _ in range(a.reps):
                    for c in chunks:
                        kernels.CHUNK = c
                        ws = kernels.Workspace(dt, c, a.threads)
                        t = time.perf_counter()
                        if kind == "dense":
                            kernels.apply_sorted_matrix(state, u, axes, workspace=ws,
                                                        threads=a.threads)
                        elif kind == "perm":
                            kernels.apply_sorted_permutation(state, src, axes, workspace=ws,
                                                             threads=a.threads)
                        else:
                            kernels.apply_sorted_diagonal(state, d, axes, threads=a.threads)
                        res[c].append(time.perf_counter() - t)
                lay = kernels._layout(n, axes, chunks[0]).kind if kind != "diag" else "-"
                cols = "  ".join(f"c{c}: {statistics.median(v)*1e3:6.2f}" for c, v in res.items())
                print(f"{kind:5s} m={m} {name:9s} {lay:4s} {cols}   axes={axes}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
