"""A noise model applied when lowering: the circuit stays plain, its lowered operations gain
channel operations (:class:`qsim.compile.lower.ChannelOp`).

* **After gates.** Every lowered operation (a library gate, ``unitary``, a call of a defined gate,
  ``measure``, ``reset``) is followed by the channels ``model.channels_after(name, qubits)`` names,
  at the level the user wrote it: a defined gate gets the rule for its own name, never the rules of
  the gates in its body. A channel after a conditional operation carries the same condition (it
  acts only when the operation ran), as Qiskit Aer does for conditional gates.
* **Idle noise.** With ``model.idle_channel``, the operations are scheduled as soon as possible
  into layers (moments); an operation waits for the earlier operations on its qubits and on the
  classical bits it writes or reads, so reordering never changes what a condition sees.
  Terminal measurements (nothing after them depends on them) form one last layer of their own,
  as if a barrier preceded them (Qiskit's ``measure_all``), so measuring at the end adds no idle
  noise to what :func:`qsim.simulate` shows. After each layer, every qubit that layer leaves idle
  gets the idle channel, unless the qubit is done: its last operation was a measurement in an
  earlier layer (noise on a measured, never-used-again qubit changes no outcome, and would turn
  its terminal measurement into a mid-circuit one). Qubits waiting for their first gate are idle
  too (as in Cirq's noise models).

Readout error is not inserted here: the engine applies it to measured distributions and
recorded bits (:mod:`qsim.engine.noisy`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..circuit import Circuit
from ..compile.lower import ChannelOp, LoweredOp, PlanOp

if TYPE_CHECKING:
    from .model import NoiseModel


def _after(op: LoweredOp, model: NoiseModel) -> list[ChannelOp]:
    return [ChannelOp(ch, tuple(qs), op.condition)
            for ch, qs in model.channels_after(op.name, tuple(op.qubits))]


def apply_noise(circuit: Circuit, ops: Sequence[LoweredOp], model: NoiseModel) -> list[PlanOp]:
    """``ops`` (lowered from ``circuit``) with the channels of ``model`` inserted (see the module
    docstring). CircuitError (from the model) when a rule's channel width does not match the
    gate it follows."""
    idle = model.idle_channel
    if idle is None:
        out: list[PlanOp] = []
        for op in ops:
            out.append(op)
            out.extend(_after(op, model))
        return out
    return _with_idle(circuit, ops, model, idle)


def _final_measurements(ops: Sequence[LoweredOp]) -> list[bool]:
    """Per operation: a measurement that nothing after it depends on (no later operation on its
    qubit, no later condition, no later measurement into its clbit)."""
    final = [False] * len(ops)
    touched: set[int] = set()
    written: set[int] = set()
    conditional_later = False
    for i in range(len(ops) - 1, -1, -1):
        op = ops[i]
        if (op.name == "measure" and op.condition is None and not conditional_later
                and op.qubits[0] not in touched and op.clbits[0] not in written):
            final[i] = True
        touched.update(op.qubits)
        written.update(op.clbits)
        conditional_later = conditional_later or op.condition is not None
    return final


def _with_idle(circuit: Circuit, ops: Sequence[LoweredOp], model: NoiseModel,
               idle: object) -> list[PlanOp]:
    n = circuit.num_qubits
    level_q = [0] * n
    level_c = [0] * circuit.num_clbits
    final = _final_measurements(ops)
    layer_of: list[int] = []
    for op, last in zip(ops, final):
        if last:
            layer_of.append(-1)  # placed in the final layer below
            continue
        bits = list(op.clbits)
        if op.condition is not None:
            bits.extend(circuit.creg_indices(op.condition[0]))
        layer = 1 + max([level_q[q] for q in op.qubits] + [level_c[b] for b in bits] + [0])
        for q in op.qubits:
            level_q[q] = layer
        for b in bits:
            level_c[b] = layer
        layer_of.append(layer)
    depth = max(layer_of, default=0)
    if any(final):
        # Terminal measurements form one last layer, after every gate (like a barrier before
        # measure_all): run(c + measure_all) then sees the idle noise of simulate(c).
        depth += 1
        layer_of = [depth if last else layer for layer, last in zip(layer_of, final)]
    # A qubit is done after its last operation when that operation is a measurement.
    done_after = [depth + 1] * n
    for op, layer in zip(ops, layer_of):
        for q in op.qubits:
            done_after[q] = layer if op.name == "measure" else depth + 1
    by_layer: list[list[LoweredOp]] = [[] for _ in range(depth + 1)]
    for op, layer in zip(ops, layer_of):
        by_layer[layer].append(op)
    out: list[PlanOp] = []
    for layer in range(1, depth + 1):
        busy: set[int] = set()
        for op in by_layer[layer]:
            out.append(op)
            out.extend(_after(op, model))
            busy.update(op.qubits)
        out.extend(ChannelOp(idle, (q,)) for q in range(n)
                   if q not in busy and layer < done_after[q])
    return out
