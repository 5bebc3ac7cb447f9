"""Dev: numba vs numpy kernels per kind, width and target placement (seconds per pass).

    python -m benchmarks.dev_numba --qubits 22 --threads 1 [--precision single]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any


def _pair(kind: str, state: Any, axes: tuple[int, ...], rng: Any, ws: Any, t: int
          ) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """(numpy call, numba call) applying one random operator of ``kind`` on ``axes``."""
    import numpy as np

    from qsim.backends.dense import kernels
    from qsim.backends.dense import numba_kernels as nk

    K = 1 << len(axes)
    if kind == "dense":
        u = np.linalg.qr(rng.standard_normal((K, K)) + 1j * rng.standard_normal((K, K)))[0]
        return (lambda: kernels.apply_sorted_matrix(state, u, axes, workspace=ws, threads=t),
                lambda: nk.apply_sorted_matrix(state, u, axes, threads=t))
    if kind == "perm":
        src = rng.permutation(K)
        return (lambda: kernels.apply_sorted_permutation(state, src, axes, workspace=ws,
                                                         threads=t),
                lambda: nk.apply_sorted_permutation(state, src, axes, threads=t))
    d = np.exp(1j * rng.uniform(0, 6, K))
    return (lambda: kernels.apply_sorted_diagonal(state, d, axes, threads=t),
            lambda: nk.apply_sorted_diagonal(state, d, axes, threads=t))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--qubits", type=int, default=22)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--widths", default="1,2,3,4,5")
    p.add_argument("--kinds", default="dense,perm,diag")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--precision", default="double")
    a = p.parse_args(argv)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    import numpy as np

    from qsim.backends.dense import kernels

    n = a.qubits
    rng = np.random.default_rng(0)
    dt = np.complex64 if a.precision == "single" else np.complex128
    state = (rng.standard_normal(1 << n) + 1j * rng.standard_normal(1 << n)).astype(dt)
    ws = kernels.Workspace(dt, kernels.CHUNK, a.threads)
    t0 = time.perf_counter()
    state *= 1.0001
    for _ in range(a.reps):
        state *= 1.0001
    bw = (time.perf_counter() - t0) / (a.reps + 1)
    print(f"n={n} {a.precision} threads={a.threads}: a *= c {bw * 1e3:.2f} ms")
    for kind in a.kinds.split(","):
        for m in (int(x) for x in a.widths.split(",")):
            places = {"low": tuple(range(n - m, n)), "high": tuple(range(m)),
                      "mid": tuple(range(n // 2, n // 2 + m)),
                      "spread": tuple(sorted({int(x) for x in np.linspace(0, n - 1, m)}))}
            for pname, axes in places.items():
                fa, fb = _pair(kind, state, axes, rng, ws, a.threads)
                res = []
                for f in (fa, fb):
                    f()
                    ts = []
                    for _ in range(a.reps):
                        t0 = time.perf_counter()
                        f()
                        ts.append(time.perf_counter() - t0)
                    res.append(min(ts))
                print(f"{kind:5} k={m} {pname:6} numpy {res[0] * 1e3:7.2f} ms  numba {res[1] * 1e3:7.2f} ms"
                      f"  ratio {res[1] / res[0]:.2f}  (x bw {res[1] / bw:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
