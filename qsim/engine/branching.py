"""Circuits with mid-circuit measurement, reset or classical control, simulated by branching.

Everything here speaks to the :class:`~qsim.backends.base.State` protocol only, on the one plan
of :mod:`qsim.compile.plan`.

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
* **Randomness per branch.** Every branch draws from its own generator, seeded from the run's
  generator and the branch's path (the step and outcome of every split above it: a
  ``SeedSequence`` spawn key). A binomial split that comes out differently (a probability that
  differs by 1e-16 between backends or precisions) therefore changes the shots of that branch's
  subtree only, never the draws of the rest of the tree.
* **Shot order.** Only when the per-shot memory list is asked for: the shot slots are filled
  branch by branch in traversal order (each final branch's shots, with their sampled deferred
  bits, in a block), then permuted once with a generator of its own. Since the per-branch counts
  are multinomial and the order a uniform random permutation, the memory list has the
  distribution of independent shots; without it, memory grows with the number of distinct
  outcomes, not of shots.
* **Memory.** At a split the branch with fewer shots is explored first, on a copy of the state;
  the other outcome reuses the original array afterwards. At most ``1 + min(B, floor(log2 shots))``
  state vectors are alive at once, where B is the number of branching measurements/resets: one
  pending sibling per level of recursion, and each level holds at most half its parent's shots.
  This number is checked with the backend's memory guard before anything is allocated; if it
  does not fit but two state vectors do, the circuit runs one trajectory per shot instead
  (:func:`run_per_shot`), else SimulationError. Transient scratch (the gate kernels', and
  one float64 per amplitude when a branch's deferred measurements are sampled) comes on top, as
  in the terminal-measurement path.

* **Noise** (channel steps of a plan made with a noise model, :mod:`qsim.engine.noisy`). At a
  channel the branch's shots are split multinomially over its Kraus outcomes (probabilities fixed
  for a unitary mixture, ``||K_i psi||^2`` for a general channel); every outcome but the one with
  most shots walks on a copy, so the bound on states alive holds. Runs of gates and mixture
  channels are crossed in one step (:class:`~qsim.engine.noisy.MixtureRuns`): the first channel
  where some shot errs is drawn directly and the gates before it applied as a few fused blocks.
  Readout error on a mid-circuit measurement splits the shots between the true and the flipped
  record (same state). Noise splits extend the branch path with keys of their own (and fold a
  long path into a digest), so noiseless runs draw exactly as before.

:func:`run_per_shot` (one trajectory per shot, from a fresh copy of the initial state) is kept as
the simple reference.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..backends.base import State
from ..bits import format_bits
from ..circuit import Circuit
from ..compile.plan import Plan
from ..errors import QsimWarning, SimulationError
from .job import Job, make_job
from .noisy import (
    CHANNEL_KEY,
    KRAUS_SLOTS,
    READOUT_KEY,
    MixtureRuns,
    flip_probability,
    read_distribution,
    sample_outcomes,
    scratch_states,
)
from .sampling import Sampled, key_counts, sample_keys
from .trajectory import condition_holds, run_trajectory

LeafHook = Callable[[np.ndarray, int, np.ndarray], None]

#: Spawn key of the generator that orders the memory list (branch paths never reach it).
_ORDER_KEY = (1 << 40,)
#: Noise splits fold a branch path longer than this into a digest marked by _FOLD_KEY.
_FOLD_AT = 16
_FOLD_KEY = 1 << 43
#: The per-shot fallback warns when its estimated run time exceeds this many seconds.
SLOW_FALLBACK_S = 10.0


def _branch_rng(root: int, path: tuple[int, ...]) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(root, spawn_key=path))


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


class _Walker:
    """Depth-first traversal of the outcome tree; collects each final branch's sampled keys."""

    def __init__(self, circuit: Circuit, plan: Plan, prepared: list[Any], root: int,
                 bit_order: str, merge_resets: bool, ordered: bool,
                 on_leaf: LeafHook | None = None,
                 readout: list[np.ndarray | None] | None = None) -> None:
        self.circuit, self.plan, self.prepared, self.root = circuit, plan, prepared, root
        self.bit_order, self.merge_resets, self.on_leaf = bit_order, merge_resets, on_leaf
        self.ordered, self.readout = ordered, readout
        self.fast: MixtureRuns | None = None
        self.key_ids: dict[str, int] = {}
        self.leaves: list[Sampled] = []  # per final branch, in traversal order
        self.stats = BranchStats()
        self.alive = 1

    def walk(self, state: State, clbits: np.ndarray, n: int, pc: int,
             path: tuple[int, ...], record: tuple[int, int, int] | None = None) -> None:
        """Run steps ``pc:`` on the branch ``path`` holding ``n`` shots; recurses on the smaller
        side of a split and continues the larger side in place. ``record``: (qubit, clbit,
        outcome) of a measurement whose bit is still to be recorded (through readout error)."""
        steps = self.plan.steps
        rng = _branch_rng(self.root, path)
        if record is not None:
            n, path, rng = self.record(state, clbits, n, pc, path, rng, *record)
        fast = self.fast
        while pc < len(steps):
            if fast is not None and fast.in_run[pc]:
                pc, counts = fast.advance(state, n, pc, rng)
                if counts is not None:
                    block = self.prepared[pc]
                    pc += 1
                    n, path, rng = self.split(state, clbits, pc, path, rng, block.probs,
                                              counts, block)
                continue
            step = steps[pc]
            block = self.prepared[pc]
            pc += 1
            if step.condition is not None and not condition_holds(self.circuit, step.condition,
                                                                  clbits):
                continue
            if step.kind in ("gates", "gate"):
                state.apply(block)
                self.stats.gate_calls += 1
                continue
            if step.kind == "channel":
                n, path, rng = self.channel(state, clbits, n, pc, path, rng, block)
                continue
            q, reset = step.qubit, step.kind == "reset"
            w0, w1 = state.qubit_weights(q)
            if reset and self.merge_resets and w0 > 0 and w1 > 0 and state.factorizes(q, w0, w1):
                state.reset(q, 0, w0)
                self.stats.merges += 1
                continue
            k1 = n if w0 <= 0 else 0 if w1 <= 0 else int(rng.binomial(n, w1 / (w0 + w1)))
            if 0 < k1 < n:
                small = 1 if k1 < n - k1 else 0
                other, sub_bits = state.copy(), clbits.copy()
                self.alive += 1
                self.stats.splits += 1
                self.stats.peak_states = max(self.stats.peak_states, self.alive)
                _project(other, q, small, w1 if small else w0, reset)
                self.walk(other, sub_bits, k1 if small else n - k1, pc,
                          path + (2 * (pc - 1) + small,),
                          None if reset else (q, step.clbit, small))
                del other
                self.alive -= 1
                outcome = 1 - small
                n -= k1 if small else n - k1
                path = path + (2 * (pc - 1) + outcome,)
                rng = _branch_rng(self.root, path)
            else:
                outcome = 1 if k1 == n else 0
            _project(state, q, outcome, w1 if outcome else w0, reset)
            if not reset:
                n, path, rng = self.record(state, clbits, n, pc, path, rng, q, step.clbit,
                                           outcome)
        self.leaf(state, clbits, n, rng)

    def _extend(self, path: tuple[int, ...], key: int) -> tuple[int, ...]:
        """``path + (key,)`` for a split made by noise; a path longer than :data:`_FOLD_AT` is
        folded into a 128-bit digest of itself (noisy branches split at many channels, and a
        generator's cost grows with its path)."""
        out = path + (key,)
        if len(out) <= _FOLD_AT:
            return out
        words = np.random.SeedSequence(self.root, spawn_key=out).generate_state(4)
        return (_FOLD_KEY, *(int(w) for w in words))

    def _spawn(self, state: State, clbits: np.ndarray, n: int, pc: int,
               path: tuple[int, ...]) -> None:
        """Walk a copy of ``state`` / ``clbits`` holding ``n`` shots from step ``pc``."""
        self.alive += 1
        self.stats.splits += 1
        self.stats.peak_states = max(self.stats.peak_states, self.alive)
        self.walk(state, clbits, n, pc, path)
        self.alive -= 1

    def record(self, state: State, clbits: np.ndarray, n: int, pc: int, path: tuple[int, ...],
               rng: np.random.Generator, q: int, clbit: int, outcome: int
               ) -> tuple[int, tuple[int, ...], np.random.Generator]:
        """Write the bit a measurement of ``q`` with true ``outcome`` records: with readout
        error, the ``n`` shots split binomially between the true and the flipped bit (the state
        is the same; the flipped side walks on a copy). Returns the shots, path and generator
        the branch continues with."""
        f = flip_probability(self.readout, q, outcome)
        kf = int(rng.binomial(n, f)) if f > 0 else 0
        if kf == 0 or kf == n:
            clbits[clbit] = outcome if kf == 0 else 1 - outcome
            return n, path, rng
        # The side with fewer shots walks on the copy (at most half the shots per level).
        flip_aside = kf <= n - kf
        sub_bits = clbits.copy()
        sub_bits[clbit] = 1 - outcome if flip_aside else outcome
        self._spawn(state.copy(), sub_bits, kf if flip_aside else n - kf, pc,
                    self._extend(path, READOUT_KEY + 2 * (pc - 1) + int(flip_aside)))
        clbits[clbit] = outcome if flip_aside else 1 - outcome
        path = self._extend(path, READOUT_KEY + 2 * (pc - 1) + int(not flip_aside))
        return (n - kf if flip_aside else kf), path, _branch_rng(self.root, path)

    def channel(self, state: State, clbits: np.ndarray, n: int, pc: int, path: tuple[int, ...],
                rng: np.random.Generator, block: Any
                ) -> tuple[int, tuple[int, ...], np.random.Generator]:
        """Split the ``n`` shots over the Kraus outcomes of a channel step (multinomially, with
        the outcome probabilities on this branch's state); every outcome but the one with most
        shots walks on a copy (so each holds at most half the shots), that one continues in
        place. Returns the shots, path and generator the branch continues with."""
        p = block.probabilities(state)
        return self.split(state, clbits, pc, path, rng, p, sample_outcomes(rng, n, p), block)

    def split(self, state: State, clbits: np.ndarray, pc: int, path: tuple[int, ...],
              rng: np.random.Generator, p: np.ndarray, counts: np.ndarray, block: Any
              ) -> tuple[int, tuple[int, ...], np.random.Generator]:
        """Continue each Kraus outcome of a channel step (``pc - 1``) with its ``counts`` shots
        (see :meth:`channel`); returns the shots, path and generator of the branch kept in
        place."""
        n = int(counts.sum())
        order = np.argsort(-counts, kind="stable")
        keep = int(order[0])
        split = False
        for i in order[1:].tolist():
            if counts[i] == 0:
                break
            split = True
            other = state.copy()
            block.apply(other, i)
            self._spawn(other, clbits.copy(), int(counts[i]), pc,
                        self._extend(path, CHANNEL_KEY + (pc - 1) * KRAUS_SLOTS + i))
            del other
        block.apply(state, keep)
        if not split:
            return n, path, rng
        path = self._extend(path, CHANNEL_KEY + (pc - 1) * KRAUS_SLOTS + keep)
        return int(counts[keep]), path, _branch_rng(self.root, path)

    def leaf(self, state: State, clbits: np.ndarray, n: int, rng: np.random.Generator) -> None:
        """Sample the deferred measurements of a final branch and record its ``n`` shots."""
        self.stats.leaves += 1
        self.stats.leaf_shots.append(n)
        if self.on_leaf is not None:
            self.on_leaf(clbits.copy(), n, state.to_host())
        plan = self.plan
        if not plan.deferred:
            key = format_bits(clbits, self.circuit.cregs, self.bit_order)
            kid = np.array([self.key_ids.setdefault(key, len(self.key_ids))], dtype=np.int64)
            self.leaves.append(Sampled(kid, np.array([n], dtype=np.int64),
                                       np.full(n, kid[0]) if self.ordered else None))
            return
        p, src = read_distribution(state.probabilities(plan.deferred), plan.deferred,
                                   plan.tail_src, self.readout)
        self.leaves.append(sample_keys(p, n, rng, clbits,
                                       plan.tail_bits, src, self.circuit.cregs,
                                       self.bit_order, self.key_ids, ordered=self.ordered))


def _project(state: State, q: int, outcome: int, weight: float, reset: bool) -> None:
    if reset:
        state.reset(q, outcome, weight)
    else:
        state.collapse(q, outcome, weight)


@dataclass
class BranchingRun:
    """What :func:`run_branching` returns: distinct ``keys``, the shots of each (``counts``),
    each shot's index into ``keys`` in the order the shots were taken (``shot_index``, only when
    ``memory`` was asked for, else None), and the traversal counters."""

    keys: list[str]
    counts: np.ndarray
    shot_index: np.ndarray | None
    stats: BranchStats


def branch(job: Job, shots: int, rng: np.random.Generator, bit_order: str = "big",
           on_leaf: LeafHook | None = None, memory: bool = True) -> BranchingRun:
    """Branch ``shots`` shots of ``job`` (memory already checked by the caller)."""
    plan = job.plan()
    root = int(rng.integers(1 << 63))
    prepared = job.prepared(plan)
    walker = _Walker(job.circuit, plan, prepared, root, bit_order,
                     "merge_resets" in job.backend.capabilities, memory, on_leaf, job.readout)
    if any(s.kind == "channel" for s in plan.steps):
        fast = MixtureRuns(plan.steps, prepared, job.backend, job.num_qubits)
        walker.fast = fast if fast.useful else None
    walker.walk(job.new_state(), np.zeros(job.circuit.num_clbits, dtype=np.uint8), int(shots), 0,
                ())
    counts = key_counts(walker.leaves, len(walker.key_ids))
    shot_index = None
    if memory:
        ordered = np.concatenate([s.per_shot for s in walker.leaves if s.per_shot is not None])
        shot_index = ordered[_branch_rng(root, _ORDER_KEY).permutation(int(shots))]
    return BranchingRun(list(walker.key_ids), counts, shot_index, walker.stats)


def per_shot(job: Job, shots: int, rng: np.random.Generator, bit_order: str = "big",
             warn_after: float | None = None) -> tuple[list[str], np.ndarray]:
    """One trajectory per shot from a copy of the initial state (memory already checked); each
    shot's key index in shot order. With ``warn_after`` (seconds), a QsimWarning gives the
    estimated run time, measured on the first shot, when it exceeds that."""
    plan = job.plan(defer=False)
    prepared = job.prepared(plan)
    start = job.new_state()
    circuit = job.circuit
    key_ids: dict[str, int] = {}
    shot_index = np.empty(shots, dtype=np.int64)
    for s in range(shots):
        t0 = time.perf_counter()
        clbits = np.zeros(circuit.num_clbits, dtype=np.uint8)
        run_trajectory(circuit, plan, prepared, start.copy(), rng, clbits, job.readout)
        key = format_bits(clbits, circuit.cregs, bit_order)
        shot_index[s] = key_ids.setdefault(key, len(key_ids))
        if s == 0 and warn_after is not None:
            estimate = (time.perf_counter() - t0) * shots
            if estimate > warn_after:
                warnings.warn(
                    f"the mid-circuit measurements branch into more states than fit in memory, "
                    f"so each of the {shots:,} shots runs the circuit again: about "
                    f"{_duration(estimate)} in all (allow more memory with max_memory / "
                    "--max-memory, or take fewer shots)", QsimWarning, stacklevel=4)
    return list(key_ids), shot_index


def _duration(seconds: float) -> str:
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def run_dynamic(job: Job, shots: int, rng: np.random.Generator, bit_order: str = "big",
                memory: bool = False, extra: int = 0, stats: BranchStats | None = None
                ) -> tuple[list[str], np.ndarray, np.ndarray | None]:
    """Sample ``shots`` shots of a dynamic circuit: branching when its states (and ``extra``
    bytes of sampling memory) fit, else one trajectory per shot (two states) when that fits, else
    SimulationError. Returns the keys, their counts and, with ``memory``, each shot's key index
    in shot order. ``stats``, if given, receives the branching counters (``leaves``: the
    branches simulated; per shot: one per shot)."""
    # A general channel whose outcome probabilities need K_i psi computed takes one scratch copy.
    scratch = scratch_states(job.plan())
    copies = job.plan().max_states_alive(shots) + scratch
    what = "sampling"
    try:
        job.check_memory(copies, extra, what)
    except SimulationError:
        if copies <= 2 + scratch:
            raise
        job.check_memory(2 + scratch, extra, what)
        keys, idx = per_shot(job, shots, rng, bit_order, warn_after=SLOW_FALLBACK_S)
        if stats is not None:
            stats.leaves = shots
        return keys, np.bincount(idx, minlength=len(keys)), idx if memory else None
    run = branch(job, shots, rng, bit_order, memory=memory)
    if stats is not None:
        stats.__dict__.update(run.stats.__dict__)
    return run.keys, run.counts, run.shot_index


def run_branching(circuit: Circuit, shots: int, rng: np.random.Generator, *,
                  backend: str = "statevector", precision: str = "double",
                  bit_order: str = "big", initial_state: Any = None,
                  max_memory: int | None = None, on_leaf: LeafHook | None = None,
                  memory: bool = True) -> BranchingRun:
    """Simulate ``shots`` shots of a dynamic circuit by branching (see the module docstring).

    ``on_leaf(clbits, n, state)``, if given, is called once per final branch, before its deferred
    measurements are sampled: its classical bits (uint8, flat order, deferred bits not yet
    written), its number of shots and its state as a host vector (read it, do not keep or modify
    it). Raises SimulationError, before allocating, when ``max_states_alive`` states would not fit
    in ``max_memory`` bytes (default: the memory available).

    >>> from qsim import Circuit
    >>> c = Circuit(1, 2).h(0).measure(0, 0).h(0).measure(0, 1)
    >>> run = run_branching(c, 1000, np.random.default_rng(1))
    >>> run.stats.leaves, int(run.shot_index.size)
    (2, 1000)
    """
    job = make_job(circuit, backend=backend, precision=precision, initial_state=initial_state,
                   max_memory=max_memory)
    job.check_memory(job.plan().max_states_alive(shots))
    return branch(job, shots, rng, bit_order, on_leaf, memory)


def run_per_shot(circuit: Circuit, shots: int, rng: np.random.Generator, *,
                 backend: str = "statevector", precision: str = "double", bit_order: str = "big",
                 initial_state: Any = None, max_memory: int | None = None
                 ) -> tuple[list[str], np.ndarray]:
    """Reference path: each shot runs every instruction on a fresh copy of the initial state,
    measurements collapsing it with the Born rule. Cost grows with ``shots``; two states alive
    (the initial state and the working copy)."""
    job = make_job(circuit, backend=backend, precision=precision, initial_state=initial_state,
                   max_memory=max_memory)
    job.check_memory(2)
    return per_shot(job, shots, rng, bit_order)
