"""Variational workloads (issue #13): gradients of <H> and parameter sweeps. Prints a markdown table.

    .venv/bin/python -m benchmarks.bench_variational [--quick] [--shift-params K] [--no-pennylane]

1. Gradient of ``<H>`` for a hardware-efficient ansatz: layers of ``ry`` on every qubit, ``rz``
   on every qubit and a ``cx`` chain (q, q+1); default 20 qubits x 5 layers x 2 rotations = 200
   parameters (``--quick``: 16 qubits, 100 parameters, the last layer partial). H: 40 random Pauli
   strings of weight 1-3 with normal coefficients (fixed seed), built with
   ``qsim.PauliSum.from_string`` in the indexed form (``"0.3 X2 Z7 + ..."``). Timed, each in a
   fresh single-threaded process, median of ``--reps`` (3) calls, no separate warm-up:

   * ``qsim.gradient(circuit, H, values, method="adjoint")``;
   * PennyLane ``lightning.qubit`` with ``diff_method="adjoint"``: ``qml.grad`` of a QNode that
     returns ``qml.expval(H)`` (forward pass and adjoint Jacobian; H is one ``qml.Hamiltonian``);
   * ``qsim.gradient(..., method="parameter-shift")`` on ``--shift-params`` parameters only (the
     others bound to their values), the time scaled by (all parameters / timed parameters): the
     full 2 x 200 simulations would take minutes. The row says so.

   Before timing is trusted the energies and gradients are compared: qsim qubit q is PennyLane
   wire q (both put qubit/wire 0 leftmost in the state's index); the gradients must agree to
   max |diff| < 1e-8 (qsim adjoint vs lightning; adjoint vs parameter-shift on the timed subset).

2. A sweep of a 12-qubit ansatz (4 layers of ry + cx chain, then an rz layer: 104 gates, 60
   parameters) over 1,000 random points with a 10-term H (``--quick``: 200 points):
   ``qsim.sweep(circuit, points, H)`` against, at every point, ``circuit.bind`` +
   ``qsim.simulate`` + ``H.expectation_value`` (the circuit rebuilt each time). Median of 3.

Every measurement runs in a child process (``benchmarks.bench.run_child``) with OMP / MKL /
OpenBLAS / QSIM threads pinned to 1 through the environment; lightning.qubit parallelises with
OpenMP, so it runs on one thread too. Without PennyLane (``pip install -e '.[bench]'``) its row is
skipped with a note. Targets (issue #13): qsim's adjoint gradient at most 1.0x the time of
lightning's adjoint Jacobian; adjoint at least 50x faster than parameter-shift.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from importlib import util as _importlib_util
from pathlib import Path
from typing import Any

GRAD_TOL = 1e-8
ENERGY_TOL = 1e-9
TARGET_VS_LIGHTNING = 1.0  # qsim adjoint time / lightning adjoint time must be <= this
TARGET_VS_SHIFT = 50.0  # parameter-shift time / adjoint time must be >= this


# --------------------------------------------------------------------------------------------------
# Problems (built identically in every process from the seeds)
# --------------------------------------------------------------------------------------------------


def hea_spec(n: int, num_params: int) -> list[tuple[str, tuple[int, ...], int | None]]:
    """Hardware-efficient ansatz as ``(gate, qubits, parameter index or None)``: per layer ry on
    every qubit, rz on every qubit, a cx chain; stops after ``num_params`` rotations (the last
    layer may be partial; the cx chain closes every layer)."""
    spec: list[tuple[str, tuple[int, ...], int | None]] = []
    k = 0
    while k < num_params:
        for gate in ("ry", "rz"):
            for q in range(n):
                if k < num_params:
                    spec.append((gate, (q,), k))
                    k += 1
        spec.extend(("cx", (q, q + 1), None) for q in range(n - 1))
    return spec


def sweep_spec(n: int, layers: int = 4) -> list[tuple[str, tuple[int, ...], int | None]]:
    """``layers`` x (ry on every qubit + cx chain), then rz on every qubit."""
    spec: list[tuple[str, tuple[int, ...], int | None]] = []
    k = 0
    for _ in range(layers):
        for q in range(n):
            spec.append(("ry", (q,), k))
            k += 1
        spec.extend(("cx", (q, q + 1), None) for q in range(n - 1))
    for q in range(n):
        spec.append(("rz", (q,), k))
        k += 1
    return spec


def random_terms(n: int, num_terms: int, seed: int) -> list[tuple[float, dict[int, str]]]:
    """``num_terms`` Pauli strings of weight 1-3 on random qubits, normal coefficients."""
    import numpy as np

    rng = np.random.default_rng(seed)
    terms = []
    for _ in range(num_terms):
        weight = int(rng.integers(1, 4))
        qubits = sorted(int(q) for q in rng.choice(n, size=weight, replace=False))
        terms.append((round(float(rng.normal()), 6),
                      {q: "XYZ"[int(rng.integers(3))] for q in qubits}))
    return terms


def terms_text(terms: list[tuple[float, dict[int, str]]]) -> str:
    """The indexed form ``"0.3 X2 Z7 + -1.1 Y0 + ..."`` that ``PauliSum.from_string`` parses."""
    return " + ".join(f"{c!r} " + " ".join(f"{p}{q}" for q, p in sorted(ops.items()))
                      for c, ops in terms)


def param_name(k: int) -> str:
    return f"t{k:03d}"


def qsim_circuit(n: int, spec: list) -> Any:
    import qsim

    c = qsim.Circuit(n)
    params: dict[int, Any] = {}
    for gate, qubits, k in spec:
        if k is None:
            getattr(c, gate)(*qubits)
        else:
            p = params.setdefault(k, qsim.Parameter(param_name(k)))
            getattr(c, gate)(p, *qubits)
    return c


def values_for(num_params: int, seed: int) -> Any:
    import numpy as np

    return np.random.default_rng(seed).uniform(-np.pi, np.pi, num_params)


# --------------------------------------------------------------------------------------------------
# Child tasks (one per process, threads pinned by the driver)
# --------------------------------------------------------------------------------------------------


def _timed(fn: Any, reps: int) -> tuple[list[float], Any]:
    import gc

    times, out = [], None
    for _ in range(max(1, reps)):
        out = None
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return times, out


def task_qsim_gradient(a: argparse.Namespace) -> dict:
    import numpy as np

    import qsim

    spec = hea_spec(a.qubits, a.params)
    circuit = qsim_circuit(a.qubits, spec)
    H = qsim.PauliSum.from_string(terms_text(random_terms(a.qubits, a.terms, a.seed)),
                                  num_qubits=a.qubits)
    vals = values_for(a.params, a.seed + 1)
    names = [p.name for p in circuit.parameters]
    env = {param_name(k): float(v) for k, v in enumerate(vals)}
    rec: dict[str, Any] = {"gates": len(spec), "terms": H.num_terms}
    if a.method == "adjoint":
        rec["energy"] = float(qsim.expectation(circuit, H, env))
        times, g = _timed(lambda: qsim.gradient(circuit, H, env, method="adjoint"), a.reps)
        timed_idx = list(range(a.params))
    else:
        # Parameter-shift on a subset: bind all parameters but ``shift_params`` spread evenly.
        timed_idx = sorted({int(i) for i in np.linspace(0, a.params - 1, a.shift_params)})
        keep = {param_name(k) for k in timed_idx}
        sub = circuit.bind({k: v for k, v in env.items() if k not in keep})
        sub_env = {k: v for k, v in env.items() if k in keep}
        names = [p.name for p in sub.parameters]
        times, g = _timed(lambda: qsim.gradient(sub, H, sub_env, method="parameter-shift"),
                          a.reps)
    g = np.asarray(g, dtype=float)
    by_index = np.full(a.params, np.nan)
    for name, val in zip(names, g):
        by_index[int(name[1:])] = val
    np.save(os.path.join(a.out, f"grad_qsim_{a.method}.npy"), by_index)
    rec.update(times_s=times, timed_params=len(timed_idx))
    return rec


def task_lightning_gradient(a: argparse.Namespace) -> dict:
    import numpy as np
    import pennylane as qml
    from pennylane import numpy as pnp

    spec = hea_spec(a.qubits, a.params)
    terms = random_terms(a.qubits, a.terms, a.seed)
    ops = {"X": qml.PauliX, "Y": qml.PauliY, "Z": qml.PauliZ}
    observables = [qml.prod(*[ops[p](q) for q, p in sorted(t.items())]) if len(t) > 1
                   else ops[next(iter(t.values()))](next(iter(t))) for _, t in terms]
    H = qml.Hamiltonian([c for c, _ in terms], observables)
    dev = qml.device("lightning.qubit", wires=a.qubits)
    gates = {"ry": qml.RY, "rz": qml.RZ}

    @qml.qnode(dev, diff_method="adjoint")
    def energy(x):  # noqa: ANN001, ANN202
        for gate, qubits, k in spec:
            if k is None:
                qml.CNOT(wires=list(qubits))
            else:
                gates[gate](x[k], wires=qubits[0])
        return qml.expval(H)

    x = pnp.array(values_for(a.params, a.seed + 1), requires_grad=True)
    rec: dict[str, Any] = {"energy": float(energy(x))}
    grad = qml.grad(energy)
    times, g = _timed(lambda: grad(x), a.reps)
    np.save(os.path.join(a.out, "grad_lightning.npy"), np.asarray(g, dtype=float))
    from importlib import metadata

    rec.update(times_s=times, version=metadata.version("pennylane-lightning"))
    return rec


def task_sweep(a: argparse.Namespace) -> dict:
    import numpy as np

    import qsim

    spec = sweep_spec(a.qubits)
    circuit = qsim_circuit(a.qubits, spec)
    H = qsim.PauliSum.from_string(terms_text(random_terms(a.qubits, a.terms, a.seed)),
                                  num_qubits=a.qubits)
    nparams = len(circuit.parameters)
    points = np.random.default_rng(a.seed + 2).uniform(-np.pi, np.pi, (a.points, nparams))
    names = [p.name for p in circuit.parameters]

    def loop() -> Any:
        out = np.empty(len(points))
        for i, row in enumerate(points):
            bound = circuit.bind(dict(zip(names, row.tolist())))
            out[i] = H.expectation_value(qsim.simulate(bound))
        return out

    t_sweep, v_sweep = _timed(lambda: qsim.sweep(circuit, points, H, progress=False), a.reps)
    t_loop, v_loop = _timed(loop, a.reps)
    return {"gates": len(spec), "params": nparams, "terms": H.num_terms,
            "sweep_times_s": t_sweep, "loop_times_s": t_loop,
            "max_diff": float(np.max(np.abs(np.asarray(v_sweep) - v_loop)))}


TASKS = {"qsim-gradient": task_qsim_gradient, "lightning-gradient": task_lightning_gradient,
         "sweep": task_sweep}


# --------------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------------


def _run_task(task: str, args: list[str], timeout: float) -> tuple[dict, Any]:
    """Run one task in a fresh single-threaded process; its record (or an error) and the Child."""
    from benchmarks.bench import child_env, run_child

    child = run_child([sys.executable, "-m", "benchmarks.bench_variational", "--child", task,
                       *args], env=child_env(1), timeout=timeout)
    rec: dict = {}
    for line in reversed(child.stdout.splitlines()):
        if line.startswith("{"):
            rec = json.loads(line)
            break
    if child.timed_out:
        rec = {"error": f"timed out after {timeout:.0f} s"}
    elif not rec:
        tail = (child.stderr.strip().splitlines() or ["no output"])[-1]
        rec = {"error": f"exit {child.rc}: {tail}"}
    rec["peak_rss_mib"] = child.peak_rss_mib
    rec["other_cores"] = child.other_cores
    return rec, child


def fmt_s(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x * 1e3:.3g} ms" if x < 1 else f"{x:.3g} s"


def _yes(ok: bool) -> str:
    return "**yes**" if ok else "**NO**"


def _pennylane_missing() -> str | None:
    for mod, dist in (("pennylane", "pennylane"), ("pennylane_lightning", "pennylane-lightning")):
        try:
            found = _importlib_util.find_spec(mod) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            return f"{dist} not installed (pip install -e '.[bench]')"
    return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_variational",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="16 qubits / 100 parameters for the gradient, 200 sweep points")
    p.add_argument("--qubits", type=int, default=None, help="gradient problem size")
    p.add_argument("--params", type=int, default=None, help="gradient problem parameters")
    p.add_argument("--terms", type=int, default=40, help="terms of the gradient problem's H")
    p.add_argument("--shift-params", type=int, default=None,
                   help="parameters timed with parameter-shift (scaled to all)")
    p.add_argument("--sweep-qubits", type=int, default=12)
    p.add_argument("--points", type=int, default=None, help="sweep points")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--timeout", type=float, default=600.0, help="per child process, seconds")
    p.add_argument("--no-pennylane", action="store_true", help="skip the lightning.qubit row")
    # child mode (internal)
    p.add_argument("--child", choices=sorted(TASKS), help=argparse.SUPPRESS)
    p.add_argument("--method", default="adjoint", help=argparse.SUPPRESS)
    p.add_argument("--out", default=None, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    n = a.qubits or (16 if a.quick else 20)
    nparams = a.params or (100 if a.quick else 200)
    shift_k = min(nparams, a.shift_params or (8 if a.quick else 10))
    npoints = a.points or (200 if a.quick else 1000)

    if a.child:
        a.qubits, a.params, a.shift_params, a.points = n, nparams, shift_k, npoints
        if a.child == "sweep":
            a.qubits, a.terms = a.sweep_qubits, 10
        print(json.dumps(TASKS[a.child](a)), flush=True)
        return 0

    import numpy as np

    started = time.perf_counter()
    common = ["--qubits", str(n), "--params", str(nparams), "--terms", str(a.terms),
              "--seed", str(a.seed)]
    missing = "--no-pennylane" if a.no_pennylane else _pennylane_missing()
    notes: list[str] = []

    def progress(msg: str) -> None:
        print(f"[{time.perf_counter() - started:5.0f} s] {msg}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="qsim-bench-var-") as tmp:
        def task(name: str, *extra: str, reps: int = a.reps) -> dict:
            progress(f"{name} {' '.join(extra)} ...")
            rec, _ = _run_task(name, [*common, "--out", tmp, "--reps", str(reps),
                                      "--shift-params", str(shift_k), *extra], a.timeout)
            if "error" in rec:
                progress(f"  {name}: {rec['error']}")
            else:
                rec["median_s"] = statistics.median(rec.get("times_s") or [float("nan")])
                times = rec.get("times_s") or rec.get("sweep_times_s", []) + rec.get(
                    "loop_times_s", [])
                progress(f"  {name}: {', '.join(f'{t:.3g}' for t in times)} s")
                if rec.get("other_cores") and rec["other_cores"] > 0.3:
                    label = " ".join([name, *extra[1:2]]) if name == "qsim-gradient" else name
                    notes.append(f"{label}: busy machine (other processes used "
                                 f"{rec['other_cores']:.1f} cores meanwhile)")
            return rec

        adj = task("qsim-gradient", "--method", "adjoint")
        light = {"error": f"skipped: {missing}"} if missing else task("lightning-gradient")
        shift = task("qsim-gradient", "--method", "parameter-shift", reps=1)
        sw = task("sweep", "--points", str(npoints), "--sweep-qubits", str(a.sweep_qubits),
                  "--terms", "10")

        def load(name: str) -> Any:
            path = Path(tmp) / name
            return np.load(path) if path.exists() else None

        g_adj, g_light, g_shift = (load("grad_qsim_adjoint.npy"), load("grad_lightning.npy"),
                                   load("grad_qsim_parameter-shift.npy"))

    # --- checks --------------------------------------------------------------------------------
    checks: list[str] = []
    failed = False
    d_light = d_shift = None
    if "energy" in adj and "energy" in light:
        de = abs(adj["energy"] - light["energy"])
        checks.append(f"energy <H>: qsim {adj['energy']:.12f}, lightning {light['energy']:.12f} "
                      f"(|diff| {de:.1e})")
        failed |= de > ENERGY_TOL
    if g_adj is not None and g_light is not None:
        d_light = float(np.max(np.abs(g_adj - g_light)))
        checks.append(f"gradient qsim adjoint vs lightning adjoint: max |diff| {d_light:.1e} over "
                      f"{g_adj.size} parameters ({'ok' if d_light < GRAD_TOL else 'FAILED'}, "
                      f"tolerance {GRAD_TOL:g})")
        failed |= not d_light < GRAD_TOL
    if g_adj is not None and g_shift is not None:
        mask = ~np.isnan(g_shift)
        d_shift = float(np.max(np.abs(g_adj[mask] - g_shift[mask])))
        checks.append(f"gradient qsim adjoint vs parameter-shift: max |diff| {d_shift:.1e} over "
                      f"the {int(mask.sum())} timed parameters "
                      f"({'ok' if d_shift < GRAD_TOL else 'FAILED'})")
        failed |= not d_shift < GRAD_TOL
    if "max_diff" in sw:
        checks.append(f"sweep vs bind+simulate loop: max |diff| {sw['max_diff']:.1e} over "
                      f"{npoints} points ({'ok' if sw['max_diff'] < 1e-10 else 'FAILED'})")
        failed |= not sw["max_diff"] < 1e-10

    # --- table ---------------------------------------------------------------------------------
    gates = adj.get("gates", len(hea_spec(n, nparams)))
    layers = nparams / (2 * n)
    prob = f"{n} qubits, {nparams} params ({layers:g} layers, {gates} gates), {a.terms}-term H"
    t_adj = adj.get("median_s")
    t_light = light.get("median_s")
    t_shift = None
    if "median_s" in shift:
        t_shift = shift["median_s"] * nparams / shift["timed_params"]
    rows = ["| benchmark | problem | time | ratio | target | met |",
            "|---|---|---:|---:|---|---|"]

    def err(rec: dict) -> str:
        return f" {rec['error']}" if "error" in rec else ""

    rows.append(f"| gradient, qsim adjoint | {prob} | {fmt_s(t_adj)}{err(adj)} | 1 | – | – |")
    if t_light is not None:
        label = (f"| gradient, lightning.qubit adjoint (`qml.grad`, pennylane-lightning "
                 f"{light.get('version')}) | same | {fmt_s(t_light)} |")
        if t_adj is not None:
            r = t_adj / t_light
            rows.append(f"{label} qsim / lightning = {r:.2f}x | qsim <= {TARGET_VS_LIGHTNING:g}x "
                        f"| {_yes(r <= TARGET_VS_LIGHTNING and not failed)} |")
        else:
            rows.append(f"{label} – | qsim <= {TARGET_VS_LIGHTNING:g}x | not measured |")
    else:
        rows.append(f"| gradient, lightning.qubit adjoint | same | – | – | qsim <= "
                    f"{TARGET_VS_LIGHTNING:g}x | {err(light).strip() or 'not measured'} |")
    if t_shift is not None and t_adj is not None:
        r = t_shift / t_adj
        rows.append(f"| gradient, qsim parameter-shift (est.: {shift['timed_params']} of "
                    f"{nparams} params timed, {fmt_s(shift['median_s'])}, scaled) | same | "
                    f"{fmt_s(t_shift)} (est.) | shift / adjoint = {r:,.0f}x | adjoint >= "
                    f"{TARGET_VS_SHIFT:g}x faster | {_yes(r >= TARGET_VS_SHIFT)} |")
    else:
        rows.append(f"| gradient, qsim parameter-shift | same | –{err(shift)} | – | adjoint >= "
                    f"{TARGET_VS_SHIFT:g}x faster | not measured |")
    if "sweep_times_s" in sw:
        ts, tl = statistics.median(sw["sweep_times_s"]), statistics.median(sw["loop_times_s"])
        sprob = (f"{a.sweep_qubits} qubits, {sw['gates']} gates, {sw['params']} params, "
                 f"{npoints:,} random points, {sw['terms']}-term H")
        rows.append(f"| sweep, `qsim.sweep` | {sprob} | {fmt_s(ts)} ({npoints / ts:,.0f} "
                    f"points/s) | 1 | – | – |")
        rows.append(f"| sweep, bind + `simulate` + `expectation_value` per point | same | "
                    f"{fmt_s(tl)} ({npoints / tl:,.0f} points/s) | loop / sweep = {tl / ts:.2f}x "
                    f"| – | – |")
    else:
        rows.append(f"| sweep | – | –{err(sw)} | – | – | – |")

    print()
    print("\n".join(rows))
    print()
    for line in checks:
        print(f"- {line}")
    for line in notes:
        print(f"- {line}")
    if notes:
        print("- WARNING: other processes used more than 0.3 CPU cores during some measurements; "
              "their times are not reliable.")
    print(f"\nOne thread (OMP/MKL/OpenBLAS/QSIM_NUM_THREADS=1), each row a fresh process, median "
          f"of {a.reps} calls (parameter-shift: 1 call on a subset, scaled); total "
          f"{time.perf_counter() - started:.0f} s.", flush=True)
    errors = [r for r in (adj, shift, sw) if "error" in r]
    if not missing and "error" in light:
        errors.append(light)
    return 1 if failed or errors else 0


if __name__ == "__main__":
    sys.exit(main())
