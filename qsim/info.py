"""A circuit summary: registers, gate counts, depth and the memory a state vector needs.

>>> from qsim import Circuit
>>> circuit_info(Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1]))["depth"]
3
"""

from __future__ import annotations

from typing import Any

from .circuit import Circuit
from .compile.plan import plan
from .resources import human_bytes, state_bytes

_NON_GATES = ("measure", "reset", "barrier")


def measurement_kind(circuit: Circuit) -> str:
    """``"none"``, ``"terminal"`` (sampled once from the final state) or ``"mid-circuit"`` (a
    measurement followed by an operation on its qubit, a reset, or a classical condition)."""
    terminal = plan(circuit, circuit.instructions).terminal
    if not circuit.has_measurements():
        return "none" if terminal else "mid-circuit"
    return "terminal" if terminal else "mid-circuit"


def circuit_info(circuit: Circuit) -> dict[str, Any]:
    """Summary of ``circuit`` as plain data (JSON-ready).

    Keys: ``name``, ``qubits``, ``clbits``, ``qregs`` / ``cregs`` (lists of ``{"name", "size"}`` in
    declaration order), ``instructions``, ``gates`` (unitary operations, not counting measure,
    reset and barrier), ``gate_counts`` (instructions per name, most frequent first), ``depth``
    (:meth:`Circuit.depth`), ``measurements`` (:func:`measurement_kind`), ``conditional``
    (instructions with a classical condition), ``definitions`` (user gate names, opaque ones
    marked), ``memory`` (bytes one state vector needs: ``{"double": ..., "single": ...}``).
    """
    counts = circuit.count_ops()
    return {
        "name": circuit.name,
        "qubits": circuit.num_qubits,
        "clbits": circuit.num_clbits,
        "qregs": [{"name": r, "size": s} for r, s in circuit.qregs],
        "cregs": [{"name": r, "size": s} for r, s in circuit.cregs],
        "instructions": len(circuit.instructions),
        "gates": sum(v for k, v in counts.items() if k not in _NON_GATES),
        "gate_counts": counts,
        "depth": circuit.depth(),
        "measurements": measurement_kind(circuit),
        "conditional": sum(1 for i in circuit.instructions if i.condition is not None),
        "definitions": [d.name + (" (opaque)" if d.body is None else "")
                        for d in circuit.definitions.values()],
        "memory": {"double": state_bytes(circuit.num_qubits, 16),
                   "single": state_bytes(circuit.num_qubits, 8)},
    }


def format_info(info: dict[str, Any], source: str | None = None) -> str:
    """:func:`circuit_info` as aligned ``key: value`` lines (no final newline)."""
    regs = ", ".join(f"{r['name']}[{r['size']}]" for r in info["qregs"]) or "-"
    cregs = ", ".join(f"{r['name']}[{r['size']}]" for r in info["cregs"]) or "-"
    counts = ", ".join(f"{k}: {v}" for k, v in info["gate_counts"].items()) or "-"
    mem = info["memory"]
    rows = []
    if source is not None:
        rows.append(("file", source))
    if info.get("name"):
        rows.append(("name", info["name"]))
    rows += [
        ("qubits", f"{info['qubits']}  ({regs})"),
        ("clbits", f"{info['clbits']}  ({cregs})"),
        ("instructions", str(info["instructions"])),
        ("gates", str(info["gates"])),
        ("gate counts", counts),
        ("depth", str(info["depth"])),
        ("measurements", info["measurements"]
         + (f", {info['conditional']} conditional" if info["conditional"] else "")),
    ]
    if info["definitions"]:
        rows.append(("gate definitions", ", ".join(info["definitions"])))
    rows.append(("state vector", f"{human_bytes(mem['double'])} (complex128), "
                                 f"{human_bytes(mem['single'])} (complex64)"))
    pad = max(len(k) for k, _ in rows) + 1
    return "\n".join(f"{(k + ':').ljust(pad)} {v}" for k, v in rows)
