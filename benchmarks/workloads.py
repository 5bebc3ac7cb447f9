"""Benchmark workloads and converters to each simulator's circuit type.

A workload is a plain list of gate tuples ``(name, qubits, params)`` in qsim's bit order: qubit 0
is the leftmost Kronecker factor (most significant bit of the flat state index).  Gate names and
conventions:

``h``      Hadamard
``cx``     CNOT, ``qubits = (control, target)``
``cz``     controlled Z
``cp``     controlled phase ``diag(1, 1, 1, e^{i lam})``, ``params = (lam,)``
``swap``   swap
``u3``     ``[[cos(t/2), -e^{i lam} sin(t/2)], [e^{i phi} sin(t/2), e^{i(phi+lam)} cos(t/2)]]``,
           ``params = (theta, phi, lam)`` (OpenQASM 2 / Qiskit ``u``, no extra global phase)
``ry``     ``exp(-i t Y / 2)``, ``params = (t,)``
``rz``     ``exp(-i t Z / 2)``, ``params = (t,)``

Every generator is deterministic (seeded ``numpy.random.default_rng``), so each simulator and each
fresh process sees exactly the same circuit.

Bit-order notes for the converters:

* Qiskit and qulacs are little-endian: their qubit ``k`` is bit ``k`` of the state index counted
  from the least significant bit.  We map qsim qubit ``k`` to their qubit ``k`` (the circuit is the
  same) and reverse the tensor axes of their final state (:func:`little_to_big_endian`) to compare
  with qsim.
* Cirq is big-endian like qsim when the qubit order is ``LineQubit(0), ..., LineQubit(n-1)``.
* qulacs' ``RX``/``RY``/``RZ`` gates are ``exp(+i t P / 2)`` (opposite sign to Qiskit/Cirq/qsim);
  its ``RotX``/``RotY``/``RotZ`` gates use the usual ``exp(-i t P / 2)``.  We use ``RotY``/``RotZ``
  when present and negate the angle for ``RY``/``RZ`` otherwise.

Run ``python -m benchmarks.workloads --qasm-dir benchmarks/qasm --sizes 16,20`` to write OpenQASM 2
files.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

Gate = tuple[str, tuple[int, ...], tuple[float, ...]]

DEFAULT_SEED = 20240601
RANDOM_LAYERS = 20
HEA_LAYERS = 10


# --------------------------------------------------------------------------------------------------
# Generators
# --------------------------------------------------------------------------------------------------


def qft(n: int, seed: int | None = None) -> list[Gate]:
    """Quantum Fourier transform: H + controlled-phase ladder per qubit, then the final swaps."""
    del seed  # deterministic circuit
    gates: list[Gate] = []
    for j in range(n):
        gates.append(("h", (j,), ()))
        for k in range(j + 1, n):
            gates.append(("cp", (k, j), (math.pi / 2 ** (k - j),)))
    for i in range(n // 2):
        gates.append(("swap", (i, n - 1 - i), ()))
    return gates


def random_circuit(n: int, seed: int | None = None, layers: int = RANDOM_LAYERS) -> list[Gate]:
    """``layers`` layers of: a random u3 on every qubit, then CX on a random qubit pairing."""
    rng = np.random.default_rng((DEFAULT_SEED if seed is None else seed, 1, n))
    gates: list[Gate] = []
    for _ in range(layers):
        angles = rng.uniform(0.0, 2.0 * math.pi, size=(n, 3))
        angles[:, 0] /= 2.0  # theta in [0, pi)
        for q in range(n):
            gates.append(("u3", (q,), tuple(float(a) for a in angles[q])))
        perm = rng.permutation(n)
        for i in range(0, n - 1, 2):
            gates.append(("cx", (int(perm[i]), int(perm[i + 1])), ()))
    return gates


def ghz(n: int, seed: int | None = None) -> list[Gate]:
    """GHZ preparation: H on qubit 0, then a CX chain 0->1->...->n-1."""
    del seed
    gates: list[Gate] = [("h", (0,), ())]
    gates.extend(("cx", (q, q + 1), ()) for q in range(n - 1))
    return gates


def hea(n: int, seed: int | None = None, layers: int = HEA_LAYERS) -> list[Gate]:
    """Hardware-efficient ansatz: ``layers`` x (RY and RZ on every qubit, then a CZ ladder)."""
    rng = np.random.default_rng((DEFAULT_SEED if seed is None else seed, 2, n))
    gates: list[Gate] = []
    for _ in range(layers):
        angles = rng.uniform(-math.pi, math.pi, size=(n, 2))
        for q in range(n):
            gates.append(("ry", (q,), (float(angles[q, 0]),)))
        for q in range(n):
            gates.append(("rz", (q,), (float(angles[q, 1]),)))
        gates.extend(("cz", (q, q + 1), ()) for q in range(n - 1))
    return gates


WORKLOADS: dict[str, Callable[..., list[Gate]]] = {
    "qft": qft,
    "random": random_circuit,
    "ghz": ghz,
    "hea": hea,
}


def make_workload(name: str, n: int, seed: int | None = None) -> list[Gate]:
    """The gate list of workload ``name`` on ``n`` qubits."""
    try:
        gen = WORKLOADS[name]
    except KeyError:
        raise ValueError(
            f"unknown workload {name!r}; expected one of {sorted(WORKLOADS)}") from None
    if n < 2:
        raise ValueError(f"workloads need at least 2 qubits, got {n}")
    return gen(n, seed)


# --------------------------------------------------------------------------------------------------
# Matrices (reference and converters that need explicit matrices)
# --------------------------------------------------------------------------------------------------


def u3_matrix(theta: float, phi: float, lam: float) -> np.ndarray:
    c, s = math.cos(theta / 2), math.sin(theta / 2)
    return np.array(
        [
            [c, -np.exp(1j * lam) * s],
            [np.exp(1j * phi) * s, np.exp(1j * (phi + lam)) * c],
        ],
        dtype=complex,
    )


def little_to_big_endian(vec: Any, n: int) -> np.ndarray:
    """Reorder a little-endian (Qiskit/qulacs) state vector into qsim's big-endian order."""
    arr = np.asarray(vec)
    axes = tuple(range(n - 1, -1, -1))
    return np.ascontiguousarray(arr.reshape((2,) * n).transpose(axes)).ravel()


def fidelity(a: np.ndarray, b: np.ndarray) -> float:
    """|<a|b>|^2 / (|a|^2 |b|^2), computed in complex128; insensitive to global phase."""
    a = np.asarray(a, dtype=np.complex128).ravel()
    b = np.asarray(b, dtype=np.complex128).ravel()
    if a.shape != b.shape:
        return 0.0
    na = np.vdot(a, a).real
    nb = np.vdot(b, b).real
    if na == 0 or nb == 0:
        return 0.0
    return float(abs(np.vdot(a, b)) ** 2 / (na * nb))


# --------------------------------------------------------------------------------------------------
# Converters
# --------------------------------------------------------------------------------------------------


def to_qsim(gates: Sequence[Gate], n: int) -> Any:
    """A ``qsim.Circuit`` built with the fluent builder (params first, then qubits)."""
    import qsim

    c = qsim.Circuit(n)
    for name, qubits, params in gates:
        method = getattr(c, name, None)
        if method is None and name == "u3":
            method = getattr(c, "u", None)
        if method is None:
            c.append(name, tuple(qubits), tuple(params))
        else:
            method(*params, *qubits)
    return c


def to_qiskit(gates: Sequence[Gate], n: int, save_statevector: bool = True) -> Any:
    """A Qiskit ``QuantumCircuit`` using only gates Aer executes natively (no transpile needed).

    qsim qubit ``k`` is Qiskit qubit ``k``; Qiskit's state is little-endian, so compare through
    :func:`little_to_big_endian`.
    """
    from qiskit import QuantumCircuit

    qc = QuantumCircuit(n)
    for name, qubits, params in gates:
        if name == "h":
            qc.h(qubits[0])
        elif name == "cx":
            qc.cx(qubits[0], qubits[1])
        elif name == "cz":
            qc.cz(qubits[0], qubits[1])
        elif name == "cp":
            qc.cp(params[0], qubits[0], qubits[1])
        elif name == "swap":
            qc.swap(qubits[0], qubits[1])
        elif name == "u3":
            qc.u(params[0], params[1], params[2], qubits[0])
        elif name == "ry":
            qc.ry(params[0], qubits[0])
        elif name == "rz":
            qc.rz(params[0], qubits[0])
        else:
            raise ValueError(f"to_qiskit: unsupported gate {name!r}")
    if save_statevector:
        qc.save_statevector()  # type: ignore[attr-defined]  # added by importing qiskit_aer
    return qc


def to_qulacs(gates: Sequence[Gate], n: int) -> Any:
    """A qulacs ``QuantumCircuit`` (little-endian like Qiskit; qsim qubit k = qulacs qubit k).

    ``cp`` becomes a 1-qubit dense phase matrix with one control qubit (qulacs has no CPhase gate);
    ``ry``/``rz`` use ``RotY``/``RotZ`` (``exp(-i t P/2)``), not ``RY``/``RZ`` (``exp(+i t P/2)``).
    """
    import qulacs
    from qulacs import gate as qg

    circ = qulacs.QuantumCircuit(n)
    has_rot = hasattr(circ, "add_RotY_gate")
    for name, qubits, params in gates:
        if name == "h":
            circ.add_H_gate(qubits[0])
        elif name == "cx":
            circ.add_CNOT_gate(qubits[0], qubits[1])
        elif name == "cz":
            circ.add_CZ_gate(qubits[0], qubits[1])
        elif name == "swap":
            circ.add_SWAP_gate(qubits[0], qubits[1])
        elif name == "cp":
            control, target = qubits
            g = qg.DenseMatrix(target, np.diag([1.0, np.exp(1j * params[0])]))
            g.add_control_qubit(control, 1)
            circ.add_gate(g)
        elif name == "u3":
            circ.add_U3_gate(qubits[0], params[0], params[1], params[2])
        elif name == "ry":
            if has_rot:
                circ.add_RotY_gate(qubits[0], params[0])
            else:
                circ.add_RY_gate(qubits[0], -params[0])
        elif name == "rz":
            if has_rot:
                circ.add_RotZ_gate(qubits[0], params[0])
            else:
                circ.add_RZ_gate(qubits[0], -params[0])
        else:
            raise ValueError(f"to_qulacs: unsupported gate {name!r}")
    return circ


def to_cirq(gates: Sequence[Gate], n: int) -> tuple[Any, list[Any]]:
    """A Cirq circuit on ``LineQubit(0..n-1)`` (big-endian like qsim) and the qubit order to use.

    Only gates qsimcirq translates natively: H, CNOT, CZ, CZPowGate (``cp``), SWAP, Ry/Rz and
    MatrixGate (``u3``).
    """
    import cirq

    qs = cirq.LineQubit.range(n)
    ops = []
    for name, qubits, params in gates:
        q = [qs[i] for i in qubits]
        if name == "h":
            ops.append(cirq.H(q[0]))
        elif name == "cx":
            ops.append(cirq.CNOT(q[0], q[1]))
        elif name == "cz":
            ops.append(cirq.CZ(q[0], q[1]))
        elif name == "cp":
            ops.append(cirq.CZPowGate(exponent=params[0] / math.pi)(q[0], q[1]))
        elif name == "swap":
            ops.append(cirq.SWAP(q[0], q[1]))
        elif name == "u3":
            ops.append(cirq.MatrixGate(u3_matrix(*params)).on(q[0]))
        elif name == "ry":
            ops.append(cirq.ry(params[0]).on(q[0]))
        elif name == "rz":
            ops.append(cirq.rz(params[0]).on(q[0]))
        else:
            raise ValueError(f"to_cirq: unsupported gate {name!r}")
    return cirq.Circuit(ops), qs


def to_pennylane(gates: Sequence[Gate], n: int) -> Callable[[], Any]:
    """A function applying the gates as PennyLane operations on wires ``0..n-1`` (big-endian like
    qsim: wire 0 is the most significant bit of ``qml.state()``), for a QNode body."""
    import pennylane as qml

    def body() -> Any:
        for name, qubits, params in gates:
            w = list(qubits)
            if name == "h":
                qml.Hadamard(w[0])
            elif name == "cx":
                qml.CNOT(w)
            elif name == "cz":
                qml.CZ(w)
            elif name == "cp":
                qml.ControlledPhaseShift(params[0], wires=w)
            elif name == "swap":
                qml.SWAP(w)
            elif name == "u3":
                qml.U3(params[0], params[1], params[2], wires=w[0])
            elif name == "ry":
                qml.RY(params[0], wires=w[0])
            elif name == "rz":
                qml.RZ(params[0], wires=w[0])
            else:
                raise ValueError(f"to_pennylane: unsupported gate {name!r}")
        return qml.state()

    return body


_QASM_NAMES = {"h": "h", "cx": "cx", "cz": "cz", "cp": "cu1", "swap": "swap", "u3": "u3",
               "ry": "ry", "rz": "rz"}


def to_qasm(gates: Sequence[Gate], n: int, comment: str | None = None) -> str:
    """OpenQASM 2 text: 2017 ``qelib1.inc`` gates (``cp`` is written as ``cu1``) plus ``swap``
    (defined in Qiskit's ``qelib1.inc``).

    Angles are written with ``repr`` so they round-trip exactly.  ``q[k]`` is qsim qubit ``k``.
    """
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";']
    if comment:
        lines.insert(0, f"// {comment}")
    lines.append(f"qreg q[{n}];")
    for name, qubits, params in gates:
        qn = _QASM_NAMES.get(name)
        if qn is None:
            raise ValueError(f"to_qasm: unsupported gate {name!r}")
        args = ",".join(f"q[{i}]" for i in qubits)
        if params:
            lines.append(f"{qn}({','.join(repr(float(p)) for p in params)}) {args};")
        else:
            lines.append(f"{qn} {args};")
    return "\n".join(lines) + "\n"


def write_qasm(directory: str | os.PathLike[str], workload: str, n: int) -> Path:
    """Write ``<directory>/<workload>_<n>.qasm`` and return its path."""
    path = Path(directory) / f"{workload}_{n}.qasm"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = to_qasm(make_workload(workload, n), n,
                   comment=f"qsim benchmark workload {workload}, {n} qubits")
    path.write_text(text)
    return path


def reference_state(gates: Sequence[Gate], n: int) -> np.ndarray:
    """Slow, obviously correct reference: apply each gate matrix with tensordot (small n only)."""
    h = np.array([[1, 1], [1, -1]], dtype=complex) / math.sqrt(2)
    x = np.array([[0, 1], [1, 0]], dtype=complex)
    psi = np.zeros((2,) * n, dtype=complex)
    psi[(0,) * n] = 1.0

    def apply(m: np.ndarray, qubits: tuple[int, ...]) -> None:
        nonlocal psi
        k = len(qubits)
        t = m.reshape((2,) * (2 * k))
        psi = np.tensordot(t, psi, axes=(list(range(k, 2 * k)), list(qubits)))
        psi = np.moveaxis(psi, list(range(k)), list(qubits))

    for name, qubits, params in gates:
        if name == "h":
            m = h
        elif name == "cx":
            m = np.block([[np.eye(2), np.zeros((2, 2))], [np.zeros((2, 2)), x]])
        elif name == "cz":
            m = np.diag([1, 1, 1, -1]).astype(complex)
        elif name == "cp":
            m = np.diag([1, 1, 1, np.exp(1j * params[0])])
        elif name == "swap":
            m = np.eye(4, dtype=complex)[[0, 2, 1, 3]]
        elif name == "u3":
            m = u3_matrix(*params)
        elif name == "ry":
            c, s = math.cos(params[0] / 2), math.sin(params[0] / 2)
            m = np.array([[c, -s], [s, c]], dtype=complex)
        elif name == "rz":
            m = np.diag([np.exp(-0.5j * params[0]), np.exp(0.5j * params[0])])
        else:
            raise ValueError(name)
        apply(m, tuple(qubits))
    return psi.ravel()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.workloads",
                                description="Write the benchmark workloads as OpenQASM 2 files.")
    p.add_argument("--qasm-dir", default=str(Path(__file__).parent / "qasm"))
    p.add_argument("--sizes", default="16,20,22,24,26")
    p.add_argument("--workloads", default=",".join(WORKLOADS))
    args = p.parse_args(argv)
    for w in args.workloads.split(","):
        for n in (int(s) for s in args.sizes.split(",")):
            print(write_qasm(args.qasm_dir, w, n))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
