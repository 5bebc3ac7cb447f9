"""THE measurement plan: what the engine executes, for terminal and dynamic circuits alike.

:func:`plan` turns lowered operations (:func:`qsim.compile.lower`) into :class:`Step` s: runs of
unconditional gates (``"gates"``), single conditional gates (``"gate"``), measurements and resets.

* **Deferred measurements** (``defer=True``). A measurement that no later operation can notice (no
  later gate, reset or conditional on its qubit; no later condition reading its classical bit; no
  later conditional measurement writing that bit) commutes with everything after it, so it is not
  a step: its qubit's value is sampled from the final state (``deferred``, ``tail_bits``,
  ``tail_src``). With ``zero_start``, a reset of a qubit nothing has touched yet is dropped (the
  qubit is still |0>).
* **Terminal** plans are those left with gates only: the circuit is simulated once and its final
  distribution sampled. Otherwise the engine branches on the measurement steps
  (:mod:`qsim.engine.branching`), or follows one trajectory (``defer=False``: every measurement
  and reset is a step, as :func:`qsim.simulate` and the per-shot reference run them).
* **Noise channels** (:class:`qsim.compile.lower.ChannelOp`, inserted by a noise model). With
  ``channel_steps`` (state vectors: a channel is sampled, one Kraus operator per branch) each is a
  ``"channel"`` step and a branch point; without (a density matrix applies the whole channel) it
  is one more operation of a gate run. Either way it touches its qubits, so a measurement before
  it is not deferred.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from ..circuit import Circuit
from .lower import LoweredOp, PlanOp


@dataclass(frozen=True)
class Step:
    """One step: ``kind`` is ``"gates"`` (a run of unconditional gates in ``block``), ``"gate"``
    (one conditional gate), ``"measure"`` (``qubit`` into ``clbit``), ``"reset"`` or
    ``"channel"`` (the noise channel ``block[0]``, sampled).
    ``condition`` as in :class:`qsim.Instruction`."""

    kind: str
    block: tuple[PlanOp, ...] = ()
    qubit: int = -1
    clbit: int = -1
    condition: tuple[str, int] | None = None


@dataclass(frozen=True)
class Plan:
    """A circuit compiled for the engine.

    ``steps``: what is executed. ``deferred``: the qubits sampled from each final state (order of
    first measurement); ``tail_bits[j]`` is a clbit whose final value comes from qubit
    ``deferred[tail_src[j]]``. ``branch_points``: the number of measure/reset/channel steps.
    ``terminal``: only gate runs (sampled once from the final state). ``why_dynamic``: for other
    plans, the first instruction that needs a measurement step, in words.
    """

    steps: tuple[Step, ...]
    deferred: tuple[int, ...]
    tail_bits: tuple[int, ...]
    tail_src: tuple[int, ...]
    branch_points: int
    why_dynamic: str = ""

    @property
    def terminal(self) -> bool:
        return self.branch_points == 0 and all(s.kind == "gates" for s in self.steps)

    @property
    def gates(self) -> tuple[LoweredOp, ...]:
        """All unconditional gates, in order (the whole circuit's gates for a terminal plan;
        noise channels too when planned with ``channel_steps=False``)."""
        return cast(tuple[LoweredOp, ...],
                    tuple(op for s in self.steps if s.kind == "gates" for op in s.block))

    def max_states_alive(self, shots: int) -> int:
        """Upper bound on the states alive at once while branching ``shots`` shots: one pending
        sibling per level, each level holding at most half its parent's shots."""
        return 1 + min(self.branch_points, int(shots).bit_length() - 1)


def _why(op: PlanOp, measured: set[int], touched: set[int], zero_start: bool,
         channel_steps: bool) -> str:
    if op.name == "channel" and channel_steps:
        return f"the noise channel {op} is sampled per branch"
    if op.condition is not None:
        return f"the circuit has a classically controlled instruction ({op})"
    if op.name == "reset":
        if not zero_start or op.qubits[0] in touched or op.qubits[0] in measured:
            return f"the circuit has a reset ({op})"
        return ""
    if op.name != "measure" and measured.intersection(op.qubits):
        return f"gate {op} acts after a measurement of its qubit"
    return ""


def plan(circuit: Circuit, ops: Sequence[PlanOp], *, defer: bool = True,
         zero_start: bool = True, channel_steps: bool = True) -> Plan:
    """Plan the lowered ``ops`` of ``circuit`` (see the module docstring). ``zero_start``: the
    state starts in |0...0> (so resets of untouched qubits can be dropped when deferring).
    ``channel_steps``: noise channels are steps of their own (else gates of a run).

    The plan reads only names, qubits, clbits and conditions, so ``circuit.instructions`` can be
    planned unlowered too (what :func:`qsim.info.measurement_kind` does: no definition needed)."""
    n = len(ops)
    deferred_at = [False] * n
    if defer:
        later_touched: set[int] = set()  # qubits acted on later by something other than a measure
        read: set[int] = set()  # clbits read by a later condition
        cond_written: set[int] = set()  # clbits written by a later conditional measurement
        for i in range(n - 1, -1, -1):
            x = ops[i]
            if x.name == "barrier":
                continue
            if x.name == "measure":
                q, b = x.qubits[0], x.clbits[0]
                if x.condition is None:
                    deferred_at[i] = (q not in later_touched and b not in read
                                      and b not in cond_written)
                else:
                    cond_written.add(b)
            else:
                later_touched.update(x.qubits)
            if x.condition is not None:
                read.update(circuit.creg_indices(x.condition[0]))

    steps: list[Step] = []
    gates: list[PlanOp] = []
    first_measured: dict[int, int] = {}  # deferred qubit -> order of first measurement
    last_writer: dict[int, int] = {}  # clbit -> index of the last measurement writing it
    touched: set[int] = set()
    measured: set[int] = set()
    why = ""
    for i, x in enumerate(ops):
        if x.name == "barrier":  # only unlowered instructions have them (e.g. from `qsim info`)
            continue
        if not why:
            why = _why(x, measured, touched, zero_start, channel_steps)
        if x.name == "measure":
            last_writer[x.clbits[0]] = i
            measured.add(x.qubits[0])
            if deferred_at[i]:
                first_measured.setdefault(x.qubits[0], len(first_measured))
                continue
        elif x.name == "reset" and defer and zero_start and x.condition is None and not (
                x.qubits[0] in touched or x.qubits[0] in measured):
            continue  # still |0>: nothing to do
        else:
            touched.update(x.qubits)
        is_step = x.name == "channel" and channel_steps
        if x.name not in ("measure", "reset") and x.condition is None and not is_step:
            gates.append(x)
            continue
        if gates:
            steps.append(Step("gates", tuple(gates)))
            gates = []
        if x.name == "measure":
            steps.append(Step("measure", qubit=x.qubits[0], clbit=x.clbits[0],
                              condition=x.condition))
        elif x.name == "reset":
            steps.append(Step("reset", qubit=x.qubits[0], condition=x.condition))
        elif is_step:
            steps.append(Step("channel", (x,), condition=x.condition))
        else:
            steps.append(Step("gate", (x,), condition=x.condition))
    if gates:
        steps.append(Step("gates", tuple(gates)))
    branch_points = sum(s.kind in ("measure", "reset", "channel") for s in steps)
    tail = sorted((b, ops[i].qubits[0]) for b, i in last_writer.items() if deferred_at[i])
    deferred = list(first_measured)
    if branch_points or any(s.kind != "gates" for s in steps):
        # Only deferred qubits whose value survives in some bit are sampled.
        used = {q for _, q in tail}
        deferred = [q for q in deferred if q in used]
    # A terminal plan samples every measured qubit, as it always has (same draws for a seed).
    position = {q: i for i, q in enumerate(deferred)}
    return Plan(tuple(steps), tuple(deferred), tuple(b for b, _ in tail),
                tuple(position[q] for _, q in tail), branch_points, why)
