"""Compare qsim with Qiskit on a directory of real-world OpenQASM 2 files (a development tool).

Usage::

    .venv/bin/python benchmarks/conformance_realworld.py DIR [--timeout 60] [--max-qubits 22]
                                                         [--json out.json] [--no-cli] [-v]

Needs ``qiskit`` and ``qiskit-aer`` (not qsim dependencies; nothing in the test suite imports
this file).  Every ``*.qasm`` under DIR is checked in its own subprocess, with a timeout:

* qsim loads it with :func:`qsim.load_qasm` (a :class:`qsim.QasmError` is reported, any other
  exception is a crash); Qiskit loads it with ``qiskit.qasm2.load`` and the legacy custom
  instructions (``QuantumCircuit.from_qasm_file``'s behaviour), falling back to the default
  loader.  Legacy mode puts Qiskit's own gate in place of a file's definition of ``sx``, ``cu``,
  ``rzz``, ... (qsim, like the default loader, runs the file's definition): where the two modes
  disagree on a terminal circuit, the default mode decides and ``legacy_differs`` says so;
* OpenQASM 3 files must be refused by qsim with a QasmError that mentions the version;
* circuits whose measurements are all terminal: the exact distribution of the classical bits
  (qsim's state just before the measurements, marginalised with qsim's measurement map) must
  equal Qiskit's (``Statevector`` of the circuit without its final measurements, marginalised
  with Qiskit's measurement map), to 1e-6 in total variation; the pre-measurement states must
  also agree up to a global phase (fidelity 1 - 1e-6).  ``qsim.run(..., bit_order="little")``
  keys must all be keys of Qiskit's distribution (same formatting as Qiskit's counts);
* dynamic circuits (mid-circuit measurement, reset, ``if``): ``qsim.run`` counts against
  ``AerSimulator`` counts, within a total-variation tolerance that shrinks with the shots;
* circuits over ``--max-qubits`` are only loaded, and ``qsim run FILE --max-memory 1M`` must
  fail cleanly with exit code 3;
* unless ``--no-cli``: ``qsim run FILE --shots 16 --seed 1 --format json`` must exit 0 with
  valid JSON (for files both loaders accept and that are small enough to simulate).

Status per file: ``pass``, ``both-reject`` (neither loader accepts it: fine), ``qiskit-reject``
(qsim accepts what Qiskit refuses: listed, not a failure), ``qiskit-error`` (Qiskit loads it but
cannot simulate it, qsim does: listed), ``qasm3-ok``, ``large-ok``, or a
failure: ``qsim-reject``, ``qsim-crash``, ``mismatch``, ``cli-fail``, ``qasm3-bad``,
``timeout``.  Exit status 1 when any file fails.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import traceback
from typing import Any

FAILURES = {"qsim-reject", "qsim-crash", "mismatch", "cli-fail", "qasm3-bad", "timeout",
            "large-bad", "worker-error"}
_QASM3 = re.compile(r"^\s*(?://[^\n]*\n\s*|/\*.*?\*/\s*)*OPENQASM\s+3", re.S)
# An OpenQASM 3 program without a version line: its standard library or a qubit declaration.
_QASM3_BODY = re.compile(r'"stdgates\.inc"|^\s*qubit\b', re.M)
_QASM2_HEADER = re.compile(r"^\s*(?://[^\n]*\n\s*|/\*.*?\*/\s*)*OPENQASM\s+2", re.S)


# --- worker (one file, in a subprocess) ------------------------------------------------------------

def _qiskit_load(path: str) -> tuple[Any, Any, str | None]:
    """(legacy-mode circuit or None, default-mode circuit or None, the first error or None).

    Legacy mode (``LEGACY_CUSTOM_INSTRUCTIONS``, what ``QuantumCircuit.from_qasm_file`` does)
    makes Qiskit's extra gates available without ``include`` and puts Qiskit's own gate in place
    of a file's definition of the same name; the default mode follows the OpenQASM 2 text (as
    qsim does).  Both are tried."""
    import qiskit.qasm2 as qasm2

    include_path = [os.path.dirname(os.path.abspath(path))]
    legacy = default = None
    error = None
    try:
        legacy = qasm2.load(path, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS,
                            include_path=include_path)
    except Exception as exc:  # noqa: BLE001 - any refusal counts
        error = f"{type(exc).__name__}: {exc}"
    try:
        default = qasm2.load(path, include_path=include_path)
    except Exception as exc:  # noqa: BLE001
        error = error or f"{type(exc).__name__}: {exc}"
    return legacy, default, error


def _qiskit_is_dynamic(qc: Any) -> bool:
    """Whether the Qiskit circuit has anything but gates, barriers and terminal measurements."""
    measured: set[Any] = set()
    for inst in qc.data:
        op = inst.operation
        name = op.name
        if getattr(op, "condition", None) is not None or name in ("if_else", "while_loop",
                                                                  "for_loop", "switch_case"):
            return True
        if name == "barrier":
            continue
        if name == "measure":
            measured.update(inst.qubits)
            continue
        if name == "reset":
            return True
        if any(q in measured for q in inst.qubits):
            return True
    return False


def _qiskit_terminal(qc: Any) -> tuple[Any, dict[int, int]]:
    """The circuit without measurements, and {clbit index: qubit index} of the last writer."""
    from qiskit import QuantumCircuit

    bare = QuantumCircuit(*qc.qregs, *qc.cregs, global_phase=qc.global_phase)
    for q in qc.qubits:
        if q not in bare.qubits:  # pragma: no cover - loose bits do not occur in QASM 2
            bare.add_bits([q])
    writer: dict[int, int] = {}
    for inst in qc.data:
        if inst.operation.name == "measure":
            writer[qc.find_bit(inst.clbits[0]).index] = qc.find_bit(inst.qubits[0]).index
        elif inst.operation.name != "barrier":
            bare.append(inst)
    return bare, writer


def _unroll_custom(qc: Any) -> Any:
    """Decompose gates that are not Qiskit's standard gates of that name (file definitions)."""
    from qiskit.circuit.library import get_standard_gate_name_mapping

    std = get_standard_gate_name_mapping()
    keep = {"measure", "reset", "barrier", "if_else", "delay"}
    for _ in range(50):
        names = {i.operation.name for i in qc.data
                 if i.operation.name not in keep and (
                     i.operation.name not in std
                     or type(i.operation) is not type(std[i.operation.name]))}
        if not names:
            break
        qc = qc.decompose(gates_to_decompose=sorted(names))
    return qc


def _marginal(probs: Any, n: int, writer: dict[int, int], nclbits: int, little: bool
              ) -> dict[tuple[int, ...], float]:
    """{clbit tuple (c_0, ..., c_{m-1}): probability} from basis probabilities over n qubits.

    ``little``: basis index bit k is qubit k (Qiskit); otherwise qubit 0 is the most significant
    bit (qsim)."""
    import numpy as np

    probs = np.asarray(probs, dtype=float)
    idx = np.nonzero(probs > 1e-14)[0]
    out: dict[tuple[int, ...], float] = {}
    for i, p in zip(idx.tolist(), probs[idx].tolist()):
        bits = [0] * nclbits
        for c, q in writer.items():
            shift = q if little else n - 1 - q
            bits[c] = (i >> shift) & 1
        key = tuple(bits)
        out[key] = out.get(key, 0.0) + p
    return out


def _qsim_writer(circuit: Any) -> dict[int, int]:
    writer: dict[int, int] = {}
    for ins in circuit.instructions:
        if ins.name == "measure":
            writer[ins.clbits[0]] = ins.qubits[0]
    return writer


def _qiskit_key(bits: tuple[int, ...], cregs: list[tuple[str, int]]) -> str:
    """Qiskit's counts key: each register reversed, registers in reverse order, space-joined."""
    parts = []
    offset = 0
    for _, size in cregs:
        parts.append("".join(str(b) for b in reversed(bits[offset:offset + size])))
        offset += size
    return " ".join(reversed(parts))


def _tv(p: dict[Any, float], q: dict[Any, float]) -> float:
    return 0.5 * sum(abs(p.get(k, 0.0) - q.get(k, 0.0)) for k in set(p) | set(q))


def _cli(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "qsim.cli", *args], capture_output=True,
                          text=True, timeout=timeout)


def check_file(path: str, max_qubits: int, cli: bool, shots: int) -> dict[str, Any]:
    import qsim
    from qsim.info import measurement_kind

    res: dict[str, Any] = {"file": path}
    with open(path, "rb") as f:
        head = f.read(4096).decode("utf-8", errors="replace").lstrip("\ufeff")
    qasm3 = bool(_QASM3.match(head)) or (not _QASM2_HEADER.match(head)
                                         and bool(_QASM3_BODY.search(head)))
    t0 = time.perf_counter()
    try:
        c = qsim.load_qasm(path)
        q_err = None
    except qsim.QasmError as exc:
        c, q_err = None, str(exc)
    except Exception:  # noqa: BLE001
        res.update(status="qsim-crash", detail=traceback.format_exc(limit=6))
        return res
    res["qsim_load_s"] = round(time.perf_counter() - t0, 3)
    if qasm3:
        ok = q_err is not None and "version" in q_err.lower()
        res.update(status="qasm3-ok" if ok else "qasm3-bad", detail=q_err or "accepted")
        return res
    legacy, default, k_err = _qiskit_load(path)
    # The reference: legacy mode when it loads the file, the default mode otherwise; where both
    # load, a terminal circuit is also checked against the default mode (see below).
    qc = legacy if legacy is not None else default
    res["qiskit_loader"] = "legacy" if legacy is not None else "default" if default else ""
    if c is None and qc is None:
        res.update(status="both-reject", detail=f"qsim: {q_err} | qiskit: {k_err}")
        return res
    if c is None:
        res.update(status="qsim-reject", detail=f"qsim: {q_err}")
        return res
    if qc is None:
        res.update(status="qiskit-reject", detail=f"qiskit: {k_err}")
        return res
    res["qubits"] = c.num_qubits
    res["clbits"] = c.num_clbits
    if (c.num_qubits, c.num_clbits) != (qc.num_qubits, qc.num_clbits):
        res.update(status="mismatch", detail=f"qsim {c.num_qubits} qubits/{c.num_clbits} "
                   f"clbits, qiskit {qc.num_qubits}/{qc.num_clbits}")
        return res
    if c.num_qubits > max_qubits:
        if not cli:
            res.update(status="large-ok", detail="loaded (not simulated)")
            return res
        r = _cli(["run", path, "--max-memory", "1M", "--shots", "1"], 120)
        lines = r.stderr.strip().splitlines()
        ok = r.returncode == 3 and len(lines) == 1 and "qsim: internal" not in r.stderr
        res.update(status="large-ok" if ok else "large-bad",
                   detail=f"exit {r.returncode}: {r.stderr.strip()[:300]}")
        return res

    q_dynamic = measurement_kind(c) == "mid-circuit"
    k_dynamic = _qiskit_is_dynamic(qc)
    res["dynamic"] = q_dynamic or k_dynamic
    cregs = [(r.name, r.size) for r in qc.cregs]
    if not (q_dynamic or k_dynamic):
        import numpy as np
        from qiskit.quantum_info import Statevector as QStatevector

        try:
            sv = qsim.simulate(c)
        except Exception:  # noqa: BLE001
            res.update(status="qsim-crash", detail=traceback.format_exc(limit=6))
            return res
        bare, k_writer = _qiskit_terminal(qc)
        try:
            ksv = QStatevector(bare)
        except Exception as exc:  # noqa: BLE001 - the reference cannot run it: not a qsim failure
            res.update(status="qiskit-error", detail=f"qsim simulated it; Qiskit's Statevector: "
                       f"{type(exc).__name__}: {str(exc)[:200]}")
            return res
        n = c.num_qubits
        # qsim's state in Qiskit's index order: reverse the qubit axes.
        amps = np.asarray(sv.data).reshape([2] * n).transpose(list(range(n))[::-1]).ravel() \
            if n else np.asarray(sv.data)
        fid = float(abs(np.vdot(ksv.data, amps)) ** 2)
        res["fidelity"] = fid
        q_writer = _qsim_writer(c)
        if not k_writer and not q_writer:  # no measurement: all qubits
            k_writer = q_writer = {i: i for i in range(n)}
            nclb = n
            cregs_eff = [("meas", n)]
        else:
            nclb = c.num_clbits
            cregs_eff = cregs
        pq = _marginal(np.abs(np.asarray(sv.data)) ** 2, n, q_writer, nclb, little=False)
        pk = _marginal(ksv.probabilities(), n, k_writer, nclb, little=True)
        tv = _tv(pq, pk)
        if tv > 1e-6 and legacy is not None and default is not None:
            # Legacy mode replaced one of the file's own gate definitions with Qiskit's gate of
            # that name; the default mode runs the file's definitions, as qsim does.
            dbare, dwriter = _qiskit_terminal(default)
            dsv = QStatevector(dbare)
            dtv = _tv(pq, _marginal(dsv.probabilities(), n, dwriter or k_writer, nclb,
                                    little=True))
            if dtv <= 1e-6:
                res["legacy_differs"] = f"TV {tv:.3g} against legacy mode, 0 against default"
                tv, ksv = dtv, dsv
                fid = float(abs(np.vdot(dsv.data, amps)) ** 2)
                res["fidelity"] = fid
        res["tv"] = tv
        problems = []
        if tv > 1e-6:
            problems.append(f"distribution differs: TV {tv:.3g}")
        if fid < 1 - 1e-6:
            problems.append(f"state fidelity {fid:.9f}")
        if not problems:
            run = qsim.run(c, shots=64, seed=1, bit_order="little")
            kkeys = {_qiskit_key(k, cregs_eff) for k, p in pk.items() if p > 1e-12}
            bad = [k for k in run.counts if k not in kkeys]
            if bad:
                problems.append(f"qsim.run keys not in Qiskit's distribution: {bad[:3]} "
                                f"(Qiskit's e.g. {sorted(kkeys)[:3]})")
        if problems:
            res.update(status="mismatch", detail="; ".join(problems))
            return res
    else:
        from qiskit import transpile
        from qiskit_aer import AerSimulator

        sim = AerSimulator(method="statevector")
        # Unroll to u/cx first: Aer rejects file-defined gates that reuse a library name (for
        # example QASMBench's parameterless `gate cu c,t`).
        try:
            qres = qsim.run(c, shots=shots, seed=7, bit_order="little")
        except Exception:  # noqa: BLE001
            res.update(status="qsim-crash", detail=traceback.format_exc(limit=6))
            return res
        try:
            flat = transpile(_unroll_custom(qc),
                             basis_gates=["u", "cx", "measure", "reset", "if_else"],
                             optimization_level=0)
            kc = sim.run(flat, shots=shots, seed_simulator=7).result().get_counts()
        except Exception as exc:  # noqa: BLE001 - the reference cannot run it
            res.update(status="qiskit-error", detail=f"qsim ran it; Aer: {type(exc).__name__}: "
                       f"{str(exc)[:200]}")
            return res
        pk = {k: v / shots for k, v in kc.items()}
        pq = {k: v / shots for k, v in qres.counts.items()}
        tv = _tv(pq, pk)
        support = len(set(pk) | set(pq))
        tol = 0.03 + 1.5 * (support / shots) ** 0.5
        res["tv"] = tv
        res["tv_tol"] = tol
        if tv > tol:
            top_k = sorted(pk.items(), key=lambda kv: -kv[1])[:4]
            top_q = sorted(pq.items(), key=lambda kv: -kv[1])[:4]
            res.update(status="mismatch", detail=f"dynamic: TV {tv:.3f} > {tol:.3f}; qiskit "
                       f"{top_k}; qsim {top_q}")
            return res
    if cli:
        r = _cli(["run", path, "--shots", "16", "--seed", "1", "--format", "json"], 120)
        try:
            ok = r.returncode == 0 and isinstance(json.loads(r.stdout)["counts"], dict)
        except (ValueError, KeyError):
            ok = False
        if not ok:
            res.update(status="cli-fail", detail=f"exit {r.returncode}: "
                       f"{(r.stderr or r.stdout).strip()[:300]}")
            return res
    res["status"] = "pass"
    return res


# --- driver -----------------------------------------------------------------------------------

def _files(root: str) -> list[str]:
    if os.path.isfile(root):
        return [root]
    out = []
    for d, _, names in os.walk(root):
        out += [os.path.join(d, n) for n in names if n.endswith(".qasm")]
    return sorted(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("directory")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per file (default 60)")
    ap.add_argument("--max-qubits", type=int, default=22,
                    help="simulate files with at most this many qubits (default 22)")
    ap.add_argument("--shots", type=int, default=20000, help="shots for dynamic circuits")
    ap.add_argument("--no-cli", action="store_true", help="skip the `qsim run` checks")
    ap.add_argument("--json", help="write every file's result to this file")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every file")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.one:
        try:
            res = check_file(args.one, args.max_qubits, not args.no_cli, args.shots)
        except Exception:  # noqa: BLE001
            res = {"file": args.one, "status": "worker-error",
                   "detail": traceback.format_exc(limit=8)}
        print("@@RESULT@@" + json.dumps(res))
        return 0

    results = []
    files = _files(args.directory)
    for path in files:
        cmd = [sys.executable, os.path.abspath(__file__), args.directory, "--one", path,
               "--max-qubits", str(args.max_qubits), "--shots", str(args.shots)]
        if args.no_cli:
            cmd.append("--no-cli")
        t0 = time.perf_counter()
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
            line = next((ln for ln in p.stdout.splitlines() if ln.startswith("@@RESULT@@")),
                        None)
            if line is None:
                res = {"file": path, "status": "worker-error",
                       "detail": (p.stderr or p.stdout)[-600:]}
            else:
                res = json.loads(line[len("@@RESULT@@"):])
        except subprocess.TimeoutExpired:
            res = {"file": path, "status": "timeout", "detail": f"> {args.timeout:g} s"}
        res["wall_s"] = round(time.perf_counter() - t0, 2)
        results.append(res)
        rel = os.path.relpath(path, args.directory) if os.path.isdir(args.directory) else path
        if args.verbose or res["status"] not in ("pass", "both-reject", "qasm3-ok", "large-ok"):
            detail = str(res.get("detail", "")).strip().replace("\n", " | ")
            print(f"{res['status']:14} {rel}  {detail[:400]}", flush=True)

    tally: dict[str, int] = {}
    for r in results:
        tally[r["status"]] = tally.get(r["status"], 0) + 1
    failed = sum(v for k, v in tally.items() if k in FAILURES)
    print(f"\n{len(results)} files: " + ", ".join(f"{k} {v}" for k, v in sorted(tally.items()))
          + f"; {failed} failing")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
