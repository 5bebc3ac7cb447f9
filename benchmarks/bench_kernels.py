"""Kernel benchmarks of issue #11: long reversible circuits, the BLAS thread cliff, effective
bandwidth of the fused passes, and peak memory.

    python -m benchmarks.bench_kernels [--quick] [--rows hwb,cliff,bandwidth,memory]

Rows (each in fresh processes, ratios from this one run):

* ``hwb``: a 20-qubit reversible circuit of 171,000 x / cx / ccx gates (the shape of Qiskit's
  ``hwb12`` benchmark file: 10 % x, 45 % cx, 45 % ccx on random distinct qubits, seeded), qsim
  against Aer, both on 1 thread; ``--quick``: 8,550 gates. Aer's time grows faster than
  linearly with the gate count here (1,710 gates 7.5 s, 5,130 gates 30 s on the 2-core dev
  machine), so at 171,000 gates it usually hits ``--timeout`` (reported as a lower bound).
* ``cliff``: ``qsim run rand12.qasm --seed 1`` (12 qubits, 3,600 gates: 200 layers of u3 on
  every qubit + a brick of cx), as a user would run it (no thread environment variables), while
  one spinning process per CPU keeps every core busy; against the same run with
  ``OPENBLAS_NUM_THREADS=1``. Target: within 1.2x.
* ``bandwidth``: the random and qft workloads at 24 (and 26) qubits as ``simulate`` runs them
  (the split layout's tiled runs), complex128, 1 thread: the passes over the state (each
  tiled run of operators, bit move, gather or layout change reads and writes it once) and the
  time per pass as a fraction of ``a *= c`` on the same state (1.0 = memory bound).
* ``memory``: peak RSS of ``qsim.simulate`` (random workload, complex128) at 26 qubits (24 with
  ``--quick``) against 1.25 x the state + 150 MiB.

Results are printed and written to ``benchmarks/results_kernels.md`` (and .json).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.bench import BUSY_CORES, REPO, run_child
from benchmarks.runner import THREAD_ENV_VARS, thread_env

HERE = Path(__file__).resolve().parent
HWB_QUBITS = 20
HWB_GATES = 171_000
HWB_SEED = 12


def reversible_gates(n: int, m: int, seed: int) -> list[tuple[str, tuple[int, ...]]]:
    """``m`` seeded random x / cx / ccx gates (10 / 45 / 45 %) on distinct random qubits."""
    import numpy as np

    rng = np.random.default_rng(seed)
    kinds = rng.choice(3, size=m, p=[0.1, 0.45, 0.45])
    names = ("x", "cx", "ccx")
    out = []
    for k in kinds:
        qs = rng.choice(n, size=int(k) + 1, replace=False)
        out.append((names[k], tuple(int(q) for q in qs)))
    return out


# --- child-process entry points (python -m benchmarks.bench_kernels --child ...) ---------------
def _child_hwb(sim: str, m: int) -> dict[str, Any]:
    gates = reversible_gates(HWB_QUBITS, m, HWB_SEED)
    n = HWB_QUBITS
    t0 = time.perf_counter()
    if sim == "qsim":
        import qsim

        c = qsim.Circuit(n)
        for name, qs in gates:
            getattr(c, name)(*qs)
        build = time.perf_counter() - t0
        t0 = time.perf_counter()
        data = qsim.simulate(c, threads=1).data
        import numpy as np

        nz = int(np.flatnonzero(np.abs(data) > 0.5)[0])
    else:
        from qiskit import QuantumCircuit
        from qiskit_aer import AerSimulator

        qc = QuantumCircuit(n)
        for name, qs in gates:
            getattr(qc, name)(*qs)
        qc.save_statevector()  # type: ignore[attr-defined]
        build = time.perf_counter() - t0
        backend = AerSimulator(method="statevector", max_parallel_threads=1)
        t0 = time.perf_counter()
        res = backend.run(qc, shots=1).result()
        import numpy as np

        vec = np.asarray(res.get_statevector())
        little = int(np.flatnonzero(np.abs(vec) > 0.5)[0])
        nz = int(format(little, f"0{n}b")[::-1], 2)  # to qsim's bit order
    return {"sim": sim, "gates": m, "build_s": build, "time_s": time.perf_counter() - t0,
            "basis_state": nz}


def _child_bandwidth(n: int, workload: str, threads: int) -> dict[str, Any]:
    import numpy as np

    from benchmarks import workloads as wl
    from qsim.backends.dense import split_kernels as sk
    from qsim.backends.dense import state as dense
    from qsim.compile.lower import lower

    c = wl.to_qsim(wl.make_workload(workload, n), n)
    ops = dense.prepare_ops(lower(c, list(c.instructions)), num_qubits=n)  # as simulate plans
    psi = np.full(1 << n, 1 / np.sqrt(2.0**n), dtype=complex)  # no zeros: every pass does work

    def best(f: Any, reps: int = 3) -> float:
        ts = []
        for _ in range(reps):
            t = time.perf_counter()
            f()
            ts.append(time.perf_counter() - t)
        return min(ts)

    def scale() -> None:
        psi.__imul__(1.0)  # ``a *= c``: one read and one write of the state, like a fused pass

    # Each call of these kernels is one pass over the state (a tiled run of operators, a bit
    # move or gather, a layout change); count them once, outside the timing.
    passes: dict[str, int] = {}
    run_ops: list[int] = []
    real = {name: getattr(sk, name) for name in
            ("_run_ops", "_relayout", "_permute_bits", "_perm", "_swap_bits", "_densek")}

    def counted(name: str) -> Any:
        def f(*a: Any) -> Any:
            passes[name] = passes.get(name, 0) + 1
            if name == "_run_ops":
                run_ops.append(len(a[3]))
            return real[name](*a)
        return f

    dense.apply_ops(psi, ops, threads=threads)  # load numba and its kernels
    for name in real:
        setattr(sk, name, counted(name))
    dense.apply_ops(psi, ops, threads=threads)
    for name, f in real.items():
        setattr(sk, name, f)
    total = best(lambda: dense.apply_ops(psi, ops, threads=threads), reps=2)
    base = best(scale)
    npasses = sum(passes.values())
    return {"n": n, "workload": workload, "threads": threads, "scale_s": base,
            "operators": len(ops), "passes": npasses, "total_s": total,
            "kinds": passes, "tiled_runs": len(run_ops),
            "operators_per_run": statistics.mean(run_ops) if run_ops else 0.0,
            "fraction": base * npasses / total}


def _child(argv: list[str]) -> int:
    what = argv[0]
    if what == "hwb":
        rec = _child_hwb(argv[1], int(argv[2]))
    else:
        rec = _child_bandwidth(int(argv[1]), argv[2], int(argv[3]))
    print(json.dumps(rec), flush=True)
    return 0


# --- rows ---------------------------------------------------------------------------------------
def _py(args: list[str], env: dict[str, str], timeout: float) -> tuple[dict[str, Any] | None, Any]:
    child = run_child([sys.executable, "-m", "benchmarks.bench_kernels", "--child", *args],
                      env=env, timeout=timeout)
    rec = None
    if child.rc == 0 and child.stdout.strip():
        rec = json.loads(child.stdout.strip().splitlines()[-1])
    return rec, child


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in THREAD_ENV_VARS}
    env.update(extra)
    return env


def row_hwb(quick: bool, timeout: float, say: Any) -> dict[str, Any]:
    m = HWB_GATES // 20 if quick else HWB_GATES
    out: dict[str, Any] = {"gates": m}
    for sim in ("qsim", "aer"):
        rec, child = _py(["hwb", sim, str(m)], {**_env(), **thread_env(1)}, timeout)
        busy = child.other_cores is not None and child.other_cores > BUSY_CORES
        out[sim] = rec["time_s"] if rec else None
        out[f"{sim}_timed_out"] = child.timed_out
        out[f"{sim}_state"] = rec["basis_state"] if rec else None
        out[f"{sim}_busy"] = child.other_cores if busy else None
        say(f"hwb12-shaped, {HWB_QUBITS} qubits, {m} gates, 1 thread: {sim} "
            + (f"{rec['time_s']:.2f} s (circuit built in {rec['build_s']:.2f} s)" if rec
               else f"failed or timed out after {timeout:.0f} s")
            + (f" [busy machine: {child.other_cores:.1f} other cores]" if busy else ""))
    if out["qsim"] and out["aer"] is None and out["aer_timed_out"]:
        out["ratio_at_most"] = out["qsim"] / timeout
        say(f"  qsim / Aer < {out['ratio_at_most']:.2f} (Aer did not finish in {timeout:.0f} s; "
            f"target <= 1.0: met)")
    if out["qsim"] and out["aer"]:
        out["ratio"] = out["qsim"] / out["aer"]
        same = out["qsim_state"] == out["aer_state"]
        say(f"  qsim / Aer = {out['ratio']:.2f} (target <= 1.0: "
            f"{'met' if out['ratio'] <= 1.0 else 'NOT met'}); same final basis state: {same}")
    return out


def _spinners(k: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(k)]


def row_cliff(reps: int, timeout: float, say: Any) -> dict[str, Any]:
    from benchmarks import workloads as wl

    n, layers = 12, 200
    gates = wl.random_circuit(n, layers=layers)
    tmp = Path(tempfile.mkdtemp(prefix="qsim-cliff-"))
    path = tmp / "rand12.qasm"
    path.write_text(wl.to_qasm(gates, n))
    exe = str(Path(sys.executable).with_name("qsim"))
    cmd = [exe, "run", str(path), "--seed", "1"]
    cpus = len(os.sched_getaffinity(0))
    spin = _spinners(cpus)
    times: dict[str, list[float]] = {"no thread variables": [], "OPENBLAS_NUM_THREADS=1": []}
    try:
        time.sleep(0.5)
        for _ in range(reps):  # interleaved, so both see the same machine
            for label, env in (("no thread variables", _env()),
                               ("OPENBLAS_NUM_THREADS=1", _env(OPENBLAS_NUM_THREADS="1"))):
                child = run_child(cmd, env=env, timeout=timeout)
                times[label].append(child.wall_s if child.rc == 0 else float("nan"))
    finally:
        for p in spin:
            p.kill()
            p.wait()
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med["no thread variables"] / med["OPENBLAS_NUM_THREADS=1"]
    say(f"thread cliff: qsim run rand12.qasm ({len(gates)} gates, 12 qubits) with {cpus} "
        f"spinning processes keeping every core busy, median of {reps}: no thread variables "
        f"{med['no thread variables']:.2f} s, OPENBLAS_NUM_THREADS=1 "
        f"{med['OPENBLAS_NUM_THREADS=1']:.2f} s, ratio {ratio:.2f} (target <= 1.2: "
        f"{'met' if ratio <= 1.2 else 'NOT met'})")
    return {"gates": len(gates), "times_s": times, "median_s": med, "ratio": ratio}


def row_bandwidth(sizes: list[int], timeout: float, say: Any) -> list[dict[str, Any]]:
    out = []
    for n in sizes:
        for w in ("random", "qft"):
            rec, child = _py(["bw", str(n), w, "1"], {**_env(), **thread_env(1)}, timeout)
            if rec is None:
                say(f"bandwidth {w} n={n}: failed ({child.stderr.strip()[-200:]})")
                continue
            busy = child.other_cores is not None and child.other_cores > BUSY_CORES
            parts = ", ".join(f"{k.strip('_')} {v}" for k, v in rec["kinds"].items())
            say(f"bandwidth {w} n={n}, 1 thread: {rec['operators']} fused operators in "
                f"{rec['passes']} passes over the state ({parts}; "
                f"{rec['operators_per_run']:.1f} operators per tiled run) in "
                f"{rec['total_s']:.3f} s, a *= c {rec['scale_s'] * 1e3:.1f} ms; per pass, "
                f"as a fraction of a *= c: {rec['fraction']:.2f}"
                + (f" [busy machine: {child.other_cores:.1f} other cores]" if busy else ""))
            out.append(rec)
    return out


def row_memory(n: int, timeout: float, say: Any) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.runner", "--simulator", "qsim", "--workload",
           "random", "--qubits", str(n), "--reps", "1"]
    child = run_child(cmd, env={**_env(), **thread_env(1)}, timeout=timeout)
    state_mib = (1 << n) * 16 / 2**20
    limit = 1.25 * state_mib + 150
    ok = child.rc == 0
    say(f"peak memory, qsim.simulate random n={n} complex128: "
        + (f"{child.peak_rss_mib:.0f} MiB; state {state_mib:.0f} MiB, limit 1.25 x state + 150 "
           f"= {limit:.0f} MiB ({'met' if child.peak_rss_mib <= limit else 'NOT met'})" if ok
           else "failed"))
    return {"n": n, "peak_rss_mib": child.peak_rss_mib if ok else None, "limit_mib": limit}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        return _child(argv[1:])
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_kernels")
    p.add_argument("--quick", action="store_true",
                   help="8,550 hwb gates, bandwidth at 22 qubits, memory at 24")
    p.add_argument("--rows", default="hwb,cliff,bandwidth,memory")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--timeout", type=float, default=900.0)
    p.add_argument("--output-dir", default=str(HERE))
    a = p.parse_args(argv)
    rows = a.rows.split(",")
    lines: list[str] = []

    def say(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    res: dict[str, Any] = {}
    if "cliff" in rows:
        res["cliff"] = row_cliff(a.reps, a.timeout, say)
    if "bandwidth" in rows:
        res["bandwidth"] = row_bandwidth([22] if a.quick else [24, 26], a.timeout, say)
    if "memory" in rows:
        res["memory"] = row_memory(24 if a.quick else 26, a.timeout, say)
    if "hwb" in rows:
        res["hwb"] = row_hwb(a.quick, a.timeout, say)
    out = Path(a.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results_kernels.json").write_text(json.dumps(res, indent=1) + "\n")
    cmd = "python -m benchmarks.bench_kernels " + " ".join(argv)
    (out / "results_kernels.md").write_text(
        "# qsim kernel benchmarks (issue #11)\n\n"
        f"Generated by `{cmd.strip()}` on {time.strftime('%Y-%m-%d %H:%M %Z')}.\n\n"
        "```\n" + "\n".join(lines) + "\n```\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["REPO", "reversible_gates"]
