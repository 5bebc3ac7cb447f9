"""Dev: the blocked split layout's kernels, in ns per amplitude (median of repetitions), next to
``a *= c`` on the same state, and each benchmark workload run through the split layout with
both candidate fusions (the cost table in qsim/backends/dense/state.py comes from here).

    python -m benchmarks.dev_split --qubits 20 --threads 1 [--precision single]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial
from typing import Any


def _ns(f: Callable[[], Any], size: int, reps: int) -> float:
    import numpy as np

    f()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts)) / size * 1e9


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--qubits", type=int, default=20)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--precision", choices=["double", "single"], default="double")
    p.add_argument("--reps", type=int, default=9)
    a = p.parse_args(argv)

    import numpy as np

    from benchmarks import workloads as wl
    from qsim.backends.dense import numba_kernels as nk
    from qsim.backends.dense import split_kernels as sk
    from qsim.backends.dense import state as st
    from qsim.compile.lower import lower

    nk.set_threads(a.threads)
    n = a.qubits
    dt = np.complex64 if a.precision == "single" else np.complex128
    real = np.float32 if a.precision == "single" else np.float64
    B, W = sk.block_bits(dt), sk.block_width(dt)
    rng = np.random.default_rng(0)
    v = rng.standard_normal(2 << n).astype(real)
    size = 1 << n
    print(f"{n} qubits, {a.precision}, {a.threads} thread(s), W = {W}: ns per amplitude")
    c = dt(1.0)
    print(f"  a *= c                 {_ns(lambda: v.view(dt).__imul__(c), size, a.reps):6.3f}")
    print(f"  split / join           {_ns(lambda: sk._split(v, W), size, a.reps):6.3f} / "
          f"{_ns(lambda: sk._join(v, W), size, a.reps):6.3f}")
    for k in range(1, 6):
        K = 1 << k
        m = np.linalg.qr(rng.standard_normal((K, K)) + 1j * rng.standard_normal((K, K)))[0]
        m = m.astype(dt)
        tb = list(range(1, 1 + 2 * k, 2))
        boff, bits = sk.pattern_offsets(tb), np.array(sorted(tb))
        mr, mi = np.ascontiguousarray(m.real), np.ascontiguousarray(m.imag)
        kernel = sk._dense2 if k == 2 else sk._densek
        args = (v, W, tb[0], mr, mi) if k == 1 else (v, W, bits, boff, mr, mi)
        f = partial(sk._dense1 if k == 1 else kernel, *args)
        print(f"  dense {k}                {_ns(f, size, a.reps):6.3f}")
    d = np.exp(1j * rng.uniform(0, 6, 4)).astype(dt)
    dr, di = np.ascontiguousarray(d.real), np.ascontiguousarray(d.imag)
    hb, hw = np.array([1, 5]), np.array([2, 1])
    print(f"  diagonal 2 (high)      "
          f"{_ns(lambda: sk._diag(v, W, hb, hw, np.zeros(W, np.int64), dr, di), size, a.reps):6.3f}")
    lowc = (np.arange(W) >> 2) & 1
    print(f"  diagonal 2 (one low)   "
          f"{_ns(lambda: sk._diag(v, W, hb[:1], hw[:1], lowc, dr, di), size, a.reps):6.3f}")
    src = np.array([0, 1, 3, 2])
    pb = np.array([1, 5])
    print(f"  permutation 2 (CX)     "
          f"{_ns(lambda: sk._perm(v, W, pb, sk.pattern_offsets([1, 5]), src, src[2:]), size, a.reps):6.3f}")
    for s in (1, 3, B):
        place = sk._Placement(v, n, B, [])
        new = list(place.pos)
        lows = [q for q in range(n) if new[q] < B][:s]
        highs = [q for q in range(n) if new[q] >= B][:s]
        for x, y in zip(lows, highs, strict=True):
            new[x], new[y] = new[y], new[x]
        back = list(place.pos)

        def there_and_back(new: list[int] = new, back: list[int] = back,
                           place: Any = place) -> None:
            place.move(new)
            place.move(back)

        print(f"  move {s} low <-> high     {_ns(there_and_back, size, a.reps) / 2:6.3f}")
    print("workloads through the split layout (s; operators, bit-moving passes):")
    for name in ("qft", "random", "ghz", "hea"):
        low = list(lower(wl.to_qsim(wl.make_workload(name, n), n)))
        row = []
        for cfg in st.SPLIT_FUSIONS:
            ops = st.prepare_ops(low, cfg)
            passes = 0

            def run(ops: list[Any] = ops) -> None:
                nonlocal passes
                psi = np.zeros(size, dt)
                psi[0] = 1
                passes = sk.apply_ops_split(psi, ops)

            secs = _ns(run, size, 3) * size * 1e-9
            row.append(f"max_dense={cfg.max_dense}: {secs:.3f} s ({len(ops)} ops, "
                       f"{passes} passes, cost {st.split_cost(ops):.0f})")
        print(f"  {name:7s} " + " | ".join(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
