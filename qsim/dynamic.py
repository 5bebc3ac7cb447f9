"""Circuits with mid-circuit measurement, reset or classical control, simulated by branching.

:func:`run_dynamic` walks the tree of measurement outcomes depth-first instead of simulating every
shot. All ``shots`` start in one branch. At a measurement (or a reset) of qubit q the branch's
shots are split between the outcomes with one binomial draw, ``k1 ~ Binomial(n, p1)``; each outcome
that received shots continues once, with the collapsed state. The product of the binomial splits
gives each final branch a multinomial number of shots, exactly as independent shots would. The
work therefore grows with the number of distinct branches, not with ``shots``.

* **Deferred measurements.** A measurement that no later operation can notice (no later gate,
  reset or conditional on its qubit; no later condition reading its classical bit; no later
  conditional measurement writing that bit) is not branched on: the qubit's value is sampled from
  each final branch's distribution, like the terminal-measurement path of :func:`qsim.run`. So a
  circuit whose only mid-circuit measurement is followed by gates and a final ``measure_all`` costs
  about two simulations whatever the number of shots.
* **Merging.** A reset of a qubit that is not entangled with the rest (the |0> and |1> branches
  give the same state up to a global phase) continues as one branch without a random draw.
* **Shot order.** The shot slots are filled branch by branch in traversal order (each final
  branch's shots, with their sampled deferred bits, in a block), then permuted once with
  ``rng.permutation(shots)``. Every random draw (binomial splits, deferred samples, the final
  permutation) comes from ``rng`` in a fixed order, so the memory list is a deterministic function
  of the seed; and since the per-branch counts are multinomial and the order a uniform random
  permutation, the memory list has the distribution of independent shots.
* **Memory.** At a split the branch with fewer shots is explored first, on a copy of the state;
  the other outcome reuses the original array afterwards. At most ``1 + min(B, floor(log2 shots))``
  state vectors are alive at once, where B is the number of branching measurements/resets: one
  pending sibling per level of recursion, and each level holds at most half its parent's shots.
  This number is checked with :func:`qsim.resources.check_state_memory` before anything is
  allocated; if it does not fit but two state vectors do, the circuit runs one trajectory per shot
  instead (:func:`run_per_shot`), else SimulationError. Transient scratch (the gate kernels', and
  one float64 per amplitude when a branch's deferred measurements are sampled) comes on top, as
  in the terminal-measurement path.

:func:`run_per_shot` (one trajectory per shot, from a fresh copy of the initial state) is kept as
the simple reference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .backends import BackendFn, get_backend
from .circuit import Circuit, Instruction
from .errors import SimulationError
from .resources import check_state_memory
from .result import format_bits
from .sampling import collapse, marginal_probabilities, qubit_weights, sample_keys
from .simulator import _dtype, condition_holds, initial_state_vector, run_trajectory

LeafHook = Callable[[np.ndarray, int, np.ndarray], None]

#: Overlap tolerance (1 - fidelity) under which the two outcomes of a reset are merged.
_MERGE_TOL = {np.dtype(np.complex128): 1e-12, np.dtype(np.complex64): 1e-5}


@dataclass(frozen=True)
class Step:
    """One step of a branching walk.

    ``kind``: ``"gates"`` (a run of unconditional gates in ``block``), ``"gate"`` (one conditional
    gate), ``"measure"`` (qubit into clbit) or ``"reset"``. ``condition`` as in
    :class:`qsim.Instruction`.
    """

    kind: str
    block: tuple[Instruction, ...] = ()
    qubit: int = -1
    clbit: int = -1
    condition: tuple[str, int] | None = None


@dataclass(frozen=True)
class DynamicPlan:
    """A dynamic circuit compiled for :func:`run_branching`.

    ``steps``: what the walk executes. ``deferred``: the qubits whose deferred measurements are
    sampled at the end of each branch (order of first measurement). ``tail_bits[j]`` is a clbit
    whose final value comes from deferred qubit ``deferred[tail_src[j]]``. ``branch_points``:
    the number of measure/reset steps (an upper bound on the splits along any path).
    """

    steps: tuple[Step, ...]
    deferred: tuple[int, ...]
    tail_bits: tuple[int, ...]
    tail_src: tuple[int, ...]
    branch_points: int


@dataclass
class BranchStats:
    """Counters of one branching run: ``leaves`` (distinct final branches), ``splits`` (states
    copied because both outcomes had shots), ``merges`` (resets continued as one branch),
    ``gate_calls`` (backend calls), ``peak_states`` (most state vectors alive at once)."""

    leaves: int = 0
    splits: int = 0
    merges: int = 0
    gate_calls: int = 0
    peak_states: int = 1
    leaf_shots: list[int] = field(default_factory=list)


def plan_dynamic(circuit: Circuit) -> DynamicPlan:
    """Compile ``circuit``: find the deferrable measurements and group unconditional gates.

    A measurement is deferred when it is unconditional and no later instruction other than a
    measurement acts on its qubit, no later condition reads its register, and no later conditional
    measurement writes its bit. Such a measurement commutes with everything after it, so its value
    can be sampled from the final state of its branch.
    """
    ins = circuit.instructions
    deferred_at = [False] * len(ins)
    touched: set[int] = set()  # qubits acted on later by something other than a measurement
    read: set[int] = set()  # clbits read by a later condition
    cond_written: set[int] = set()  # clbits written by a later conditional measurement
    for i in range(len(ins) - 1, -1, -1):
        x = ins[i]
        if x.name == "barrier":
            continue
        if x.name == "measure":
            q, b = x.qubits[0], x.clbits[0]
            if x.condition is None:
                deferred_at[i] = q not in touched and b not in read and b not in cond_written
            else:
                cond_written.add(b)
        else:
            touched.update(x.qubits)
        if x.condition is not None:
            read.update(circuit.creg_indices(x.condition[0]))

    steps: list[Step] = []
    gates: list[Instruction] = []
    deferred: list[int] = []
    last_writer: dict[int, int] = {}  # clbit -> index of the last measurement writing it
    for i, x in enumerate(ins):
        if x.name == "measure":
            last_writer[x.clbits[0]] = i
            if deferred_at[i]:
                if x.qubits[0] not in deferred:
                    deferred.append(x.qubits[0])
                continue
        unitary = x.name not in ("measure", "reset") and x.condition is None
        if unitary:
            if x.name != "barrier":
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
        else:
            steps.append(Step("gate", (x,), condition=x.condition))
    if gates:
        steps.append(Step("gates", tuple(gates)))
    # Only deferred qubits whose value survives in some bit are sampled.
    tail = sorted((b, ins[i].qubits[0]) for b, i in last_writer.items() if deferred_at[i])
    used = {q for _, q in tail}
    deferred = [q for q in deferred if q in used]
    return DynamicPlan(tuple(steps), tuple(deferred), tuple(b for b, _ in tail),
                       tuple(deferred.index(q) for _, q in tail),
                       sum(s.kind in ("measure", "reset") for s in steps))


def max_states_alive(plan: DynamicPlan, shots: int) -> int:
    """Upper bound on the state vectors alive at once during :func:`run_branching`."""
    return 1 + min(plan.branch_points, int(shots).bit_length() - 1)


def _separable(state: np.ndarray, q: int, w0: float, w1: float) -> bool:
    """Whether the |0> and |1> halves of qubit q are the same state up to phase and norm
    (``|<a|b>|**2 = w0 * w1`` within the tolerance), computed without temporary copies."""
    n = int(state.size).bit_length() - 1
    r = state.view(state.real.dtype).reshape(1 << q, 2, 1 << (n - q - 1), 2)
    a, b = r[:, 0], r[:, 1]  # (re, im) pairs of the two halves
    re = np.einsum("ijk,ijk->", a, b, dtype=np.float64)
    im = (np.einsum("ij,ij->", a[..., 0], b[..., 1], dtype=np.float64)
          - np.einsum("ij,ij->", a[..., 1], b[..., 0], dtype=np.float64))
    return bool(1 - (re * re + im * im) / (w0 * w1) < _MERGE_TOL.get(state.dtype, 1e-12))


class _Walker:
    """Depth-first traversal of the outcome tree; collects (clbit rows, per-shot row index)."""

    def __init__(self, circuit: Circuit, plan: DynamicPlan, rng: np.random.Generator,
                 apply: BackendFn, bit_order: str, on_leaf: LeafHook | None = None) -> None:
        self.circuit, self.plan, self.rng, self.apply = circuit, plan, rng, apply
        self.bit_order, self.on_leaf = bit_order, on_leaf
        self.key_ids: dict[str, int] = {}
        self.blocks: list[np.ndarray] = []  # per leaf: key index of each of its shots
        self.stats = BranchStats()
        self.alive = 1

    def walk(self, state: np.ndarray, clbits: np.ndarray, n: int, pc: int) -> None:
        """Run steps ``pc:`` on a branch holding ``n`` shots; recurses on the smaller side of a
        split and continues the larger side in place."""
        steps = self.plan.steps
        while pc < len(steps):
            step = steps[pc]
            pc += 1
            if step.condition is not None and not condition_holds(self.circuit, step.condition, clbits):
                continue
            if step.kind in ("gates", "gate"):
                state = self.apply(self.circuit, step.block, state)
                if not state.flags.c_contiguous:
                    state = np.ascontiguousarray(state)
                self.stats.gate_calls += 1
                continue
            q, reset = step.qubit, step.kind == "reset"
            w0, w1 = qubit_weights(state, q)
            if reset and w0 > 0 and w1 > 0 and _separable(state, q, w0, w1):
                collapse(state, q, 0, w0, True)
                self.stats.merges += 1
                continue
            k1 = n if w0 <= 0 else 0 if w1 <= 0 else int(self.rng.binomial(n, w1 / (w0 + w1)))
            if 0 < k1 < n:
                small = 1 if k1 < n - k1 else 0
                other, sub_bits = state.copy(), clbits.copy()
                self.alive += 1
                self.stats.splits += 1
                self.stats.peak_states = max(self.stats.peak_states, self.alive)
                collapse(other, q, small, w1 if small else w0, reset)
                if not reset:
                    sub_bits[step.clbit] = small
                self.walk(other, sub_bits, k1 if small else n - k1, pc)
                del other
                self.alive -= 1
                outcome = 1 - small
                n -= k1 if small else n - k1
            else:
                outcome = 1 if k1 == n else 0
            collapse(state, q, outcome, w1 if outcome else w0, reset)
            if not reset:
                clbits[step.clbit] = outcome
        self.leaf(state, clbits, n)

    def leaf(self, state: np.ndarray, clbits: np.ndarray, n: int) -> None:
        """Sample the deferred measurements of a final branch and record its ``n`` shots."""
        self.stats.leaves += 1
        self.stats.leaf_shots.append(n)
        if self.on_leaf is not None:
            self.on_leaf(clbits.copy(), n, state)
        plan = self.plan
        if not plan.deferred:
            key = format_bits(clbits, self.circuit.cregs, self.bit_order)
            self.blocks.append(np.full(n, self.key_ids.setdefault(key, len(self.key_ids)),
                                       dtype=np.int64))
            return
        self.blocks.append(sample_keys(marginal_probabilities(state, plan.deferred), n, self.rng,
                                       clbits, plan.tail_bits, plan.tail_src,
                                       self.circuit.cregs, self.bit_order, self.key_ids))


@dataclass
class BranchingRun:
    """What :func:`run_branching` returns: distinct ``keys``, each shot's index into ``keys``
    (in the order the shots were taken), and the traversal counters."""

    keys: list[str]
    shot_index: np.ndarray
    stats: BranchStats


def run_branching(circuit: Circuit, shots: int, rng: np.random.Generator, *,
                  backend: str = "statevector", precision: str = "double",
                  bit_order: str = "big", initial_state: Any = None,
                  max_memory: int | None = None, on_leaf: LeafHook | None = None
                  ) -> BranchingRun:
    """Simulate ``shots`` shots of a dynamic circuit by branching (see the module docstring).

    ``on_leaf(clbits, n, state)``, if given, is called once per final branch, before its deferred
    measurements are sampled: its classical bits (uint8, flat order, deferred bits not yet
    written), its number of shots and its state (read it, do not keep or modify it). Raises
    SimulationError, before allocating, when ``max_states_alive`` state vectors would not fit in
    ``max_memory`` bytes (default: the memory available).

    >>> from qsim import Circuit
    >>> c = Circuit(1, 2).h(0).measure(0, 0).h(0).measure(0, 1)
    >>> run = run_branching(c, 1000, np.random.default_rng(1))
    >>> run.stats.leaves, int(run.shot_index.size)
    (2, 1000)
    """
    plan = plan_dynamic(circuit)
    itemsize = np.dtype(_dtype(precision)).itemsize
    check_state_memory(circuit.num_qubits, itemsize, max_memory,
                       copies=max_states_alive(plan, shots))
    state = initial_state_vector(circuit.num_qubits, initial_state, precision=precision,
                                 max_memory=max_memory)
    walker = _Walker(circuit, plan, rng, get_backend(backend), bit_order, on_leaf)
    walker.walk(state, np.zeros(circuit.num_clbits, dtype=np.uint8), int(shots), 0)
    del state
    ordered = np.concatenate(walker.blocks)
    shot_index = ordered[rng.permutation(int(shots))]
    return BranchingRun(list(walker.key_ids), shot_index, walker.stats)


def run_dynamic(circuit: Circuit, shots: int, rng: np.random.Generator, *,
                backend: str = "statevector", precision: str = "double", bit_order: str = "big",
                initial_state: Any = None, max_memory: int | None = None
                ) -> tuple[list[str], np.ndarray]:
    """Sample ``shots`` shots of a circuit with mid-circuit measurement, reset or classical
    control; return the distinct keys and, per shot (in order), the index of its key.

    Branching (:func:`run_branching`) when its states fit in memory, else one trajectory per shot
    (:func:`run_per_shot`, two state vectors) when that fits, else SimulationError.
    """
    itemsize = np.dtype(_dtype(precision)).itemsize
    copies = max_states_alive(plan_dynamic(circuit), shots)
    if copies > 2:
        try:
            check_state_memory(circuit.num_qubits, itemsize, max_memory, copies=copies)
        except SimulationError:
            return run_per_shot(circuit, shots, rng, backend=backend, precision=precision,
                                bit_order=bit_order, initial_state=initial_state,
                                max_memory=max_memory)
    run = run_branching(circuit, shots, rng, backend=backend, precision=precision,
                        bit_order=bit_order, initial_state=initial_state, max_memory=max_memory)
    return run.keys, run.shot_index


def run_per_shot(circuit: Circuit, shots: int, rng: np.random.Generator, *,
                 backend: str = "statevector", precision: str = "double", bit_order: str = "big",
                 initial_state: Any = None, max_memory: int | None = None
                 ) -> tuple[list[str], np.ndarray]:
    """Reference path: each shot runs every instruction on a fresh copy of the initial state,
    measurements collapsing it with the Born rule. Cost grows with ``shots``; two state vectors
    alive (the initial state and the working copy)."""
    check_state_memory(circuit.num_qubits, np.dtype(_dtype(precision)).itemsize, max_memory,
                       copies=2)
    start = initial_state_vector(circuit.num_qubits, initial_state, precision=precision,
                                 max_memory=max_memory)
    key_ids: dict[str, int] = {}
    shot_index = np.empty(shots, dtype=np.int64)
    for s in range(shots):
        clbits = np.zeros(circuit.num_clbits, dtype=np.uint8)
        run_trajectory(circuit, start.copy(), rng, clbits, backend)
        key = format_bits(clbits, circuit.cregs, bit_order)
        shot_index[s] = key_ids.setdefault(key, len(key_ids))
    return list(key_ids), shot_index
