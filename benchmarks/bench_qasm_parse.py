"""Parse speed of the OpenQASM 2 front end: gate statements per second.

    python -m benchmarks.bench_qasm_parse [--gates 200000] [--qubits 20] [--reps 3] [--json]

Generates one OpenQASM 2 file of ``--gates`` gate statements on ``--qubits`` qubits (a mix of
``h``, ``cx``, ``rz(<random angle>)``, ``u(pi/2, 0, <angle>)``-style expressions and a few
``measure``), then times ``qsim.loads_qasm`` on it (median of ``--reps``; the text is built once,
not timed).  If Qiskit is importable, ``qiskit.qasm2.loads`` (with its
``LEGACY_CUSTOM_INSTRUCTIONS``, so that it knows ``u`` and ``cp``) is timed on the same text and
the ratio is printed.  The target is at least 200,000 statements per second.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time


def generate(num_gates: int, num_qubits: int = 20, seed: int = 1) -> str:
    """An OpenQASM 2 program with ``num_gates`` gate statements (deterministic for a seed)."""
    rng = random.Random(seed)
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', f"qreg q[{num_qubits}];",
             f"creg c[{num_qubits}];"]
    append = lines.append
    for _ in range(num_gates):
        k = rng.random()
        a, b = rng.sample(range(num_qubits), 2)
        if k < 0.35:
            append(f"h q[{a}];")
        elif k < 0.65:
            append(f"cx q[{a}],q[{b}];")
        elif k < 0.85:
            append(f"rz({rng.uniform(-3.2, 3.2):.12g}) q[{a}];")
        elif k < 0.95:
            append(f"u(pi/2,{rng.choice(['0', 'pi/4', '-pi/2'])},pi) q[{a}];")
        else:
            append(f"cp(pi/{rng.choice([2, 4, 8, 16])}) q[{a}],q[{b}];")
    for i in range(num_qubits):
        append(f"measure q[{i}] -> c[{i}];")
    return "\n".join(lines) + "\n"


def _median_times(fn, text: str, reps: int) -> tuple[float, float]:
    """Median wall-clock and median CPU time (this process) of ``fn(text)`` over ``reps`` runs.

    CPU time is reported too because wall-clock time is unreliable on a shared, loaded machine.
    """
    wall, cpu = [], []
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        fn(text)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def main(argv: list[str] | None = None) -> dict[str, float | int | None]:
    """Run the benchmark; print a summary (or JSON) and return the figures."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_qasm_parse",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--gates", type=int, default=200_000)
    ap.add_argument("--qubits", type=int, default=20)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json", action="store_true", help="print one JSON line")
    args = ap.parse_args(argv)

    from qsim.qasm import loads_qasm

    text = generate(args.gates, args.qubits)
    statements = args.gates + args.qubits
    circuit = loads_qasm(text)
    assert len(circuit.instructions) == statements
    t_qsim, cpu_qsim = _median_times(loads_qasm, text, args.reps)
    out: dict[str, float | int | None] = {
        "statements": statements,
        "bytes": len(text),
        "qsim_s": t_qsim,
        "qsim_cpu_s": cpu_qsim,
        "qsim_statements_per_s": statements / t_qsim,
        "qiskit_s": None,
        "qiskit_cpu_s": None,
        "qiskit_statements_per_s": None,
        "qsim_over_qiskit_time": None,
    }
    try:
        import qiskit.qasm2
    except ImportError:
        qiskit = None
    else:
        def qiskit_loads(text: str) -> object:
            # Qiskit's extended qelib1 gates (u, cp, ...) need its legacy instruction table.
            return qiskit.qasm2.loads(
                text, custom_instructions=qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS
            )

        t_qk, cpu_qk = _median_times(qiskit_loads, text, args.reps)
        out.update(qiskit_s=t_qk, qiskit_cpu_s=cpu_qk, qiskit_statements_per_s=statements / t_qk,
                   qsim_over_qiskit_time=t_qsim / t_qk)
    if args.json:
        print(json.dumps(out))
        return out
    print(f"{statements} statements, {len(text) / 1e6:.1f} MB of OpenQASM 2")
    print(f"qsim.loads_qasm:     {t_qsim:8.3f} s wall ({cpu_qsim:.3f} s CPU)  "
          f"{statements / t_qsim:12,.0f} statements/s  ({statements / cpu_qsim:,.0f} per CPU s)")
    if out["qiskit_s"] is not None:
        t_qk, cpu_qk = out["qiskit_s"], out["qiskit_cpu_s"]
        print(f"qiskit.qasm2.loads:  {t_qk:8.3f} s wall ({cpu_qk:.3f} s CPU)  "
              f"{statements / t_qk:12,.0f} statements/s  ({statements / cpu_qk:,.0f} per CPU s)")
        print(f"qsim takes {t_qsim / t_qk:.2f}x Qiskit's wall time ({cpu_qsim / cpu_qk:.2f}x its "
              "CPU time)")
    else:
        print("qiskit not installed: no comparison")
    return out


if __name__ == "__main__":
    main()
