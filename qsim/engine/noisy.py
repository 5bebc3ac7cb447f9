"""Noise in the engine: channel steps sampled on state vectors, readout error, and the choice
between a density matrix and noisy shots. Talks to the :class:`~qsim.backends.base.State`
protocol only.

* **Channel steps** (state vectors). A channel ``rho -> sum_i K_i rho K_i^dagger`` is sampled: a
  branch takes Kraus operator i with probability ``p_i = ||K_i psi||^2`` and continues with
  ``K_i psi / sqrt(p_i)``, which averages to the channel exactly. For a unitary mixture
  (``Channel.mixture``: Pauli channels, depolarizing, flips) ``p_i`` does not depend on the state,
  and ``K_i/sqrt(p_i)`` is the unitary ``U_i``, prepared once per run. For a general channel
  ``p_i`` is read from the state: from the outcome probabilities of the channel's qubits when every
  ``K_i^dagger K_i`` is diagonal (amplitude and phase damping, thermal relaxation, reset error), else
  ``<psi|K_i^dagger K_i|psi>`` from one scratch copy rotated into each ``K_i^dagger K_i``'s
  eigenbasis in turn. ``K_i`` itself (prepared once) is applied, not
  ``K_i / sqrt(p_i)``: the walker only ever uses relative weights (a measurement's collapse
  renormalises), so the branch's norm is left to drift and restored only when it falls below
  :data:`RENORMALISE_BELOW` (one prepared scaling, rarely), and before a state is returned.
* **Readout error** (``NoiseModel.readout_matrix(qubit)``: ``M[true][read]``). A measured
  distribution over qubits ``(q_1..q_k)`` becomes ``p_read = p_true . (M_1 (x) ... (x) M_k)``
  exactly, before sampling (no re-simulation); a mid-circuit measurement collapses the state with
  the true outcome and records a bit flipped with probability ``M[true][1 - true]``. One confusion
  matrix per measured qubit: a qubit measured into several clbits at the end is read once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..backends.base import State
from ..circuit import Instruction
from ..compile.lower import ChannelOp
from ..errors import SimulationError

#: Spawn-key offsets of branches split off at a channel step (``+ step * KRAUS_SLOTS + i``) and
#: at a readout flip (``+ 2 * step + bit``): far above the measurement keys (``2 * step +
#: outcome``) and never equal to the memory-order key (``1 << 40``).
CHANNEL_KEY = 1 << 41
READOUT_KEY = 1 << 42
KRAUS_SLOTS = 4096
#: A sampled state whose squared norm falls below this is scaled back to 1 (far above the
#: underflow of complex64).
RENORMALISE_BELOW = 1e-30


def check_noise(noise: Any) -> Any:
    """``noise`` if it is a NoiseModel (anything with ``channels_after``) or None; else
    SimulationError."""
    if noise is None:
        return None
    if not all(hasattr(noise, a) for a in ("channels_after", "readout_matrix")):
        raise SimulationError(f"noise must be a qsim.NoiseModel, got {type(noise).__name__}")
    return noise


def has_quantum_noise(model: Any) -> bool:
    return model is not None and bool(model.has_quantum_noise)


def readout_matrices(model: Any, num_qubits: int) -> list[np.ndarray | None] | None:
    """Per qubit, the 2x2 confusion matrix ``M[true][read]`` (None: perfect readout); None
    when the model has no readout error."""
    if model is None or not model.has_readout:
        return None
    out: list[np.ndarray | None] = model.readout_matrices(num_qubits)
    return out if any(m is not None for m in out) else None


def apply_readout(p: np.ndarray, qubits: Sequence[int],
                  matrices: Sequence[np.ndarray | None] | None) -> np.ndarray:
    """The distribution of the read bits: ``p`` over ``qubits`` (index bits most significant
    first) times the tensor product of their confusion matrices, one axis at a time."""
    if matrices is None or not qubits:
        return p
    k = len(qubits)
    t = np.asarray(p, dtype=np.float64).reshape((2,) * k)
    for axis, q in enumerate(qubits):
        m = matrices[q]
        if m is not None:
            t = np.moveaxis(np.tensordot(t, m, axes=([axis], [0])), -1, axis)
    return np.ascontiguousarray(t).ravel()


def _repeated_reads(deferred: Sequence[int], tail_src: Sequence[int],
                    matrices: Sequence[np.ndarray | None] | None) -> list[int]:
    """The tail bits (indices into ``tail_src``) that read a qubit already read by an earlier
    tail bit, where that qubit has a readout error: each needs its own read axis."""
    if matrices is None:
        return []
    seen: set[int] = set()
    out = []
    for j, i in enumerate(tail_src):
        if i in seen and matrices[deferred[i]] is not None:
            out.append(j)
        seen.add(i)
    return out


def read_width(deferred: Sequence[int], tail_src: Sequence[int],
               matrices: Sequence[np.ndarray | None] | None) -> int:
    """The number of bits of :func:`read_distribution`'s distribution (for the memory guard)."""
    return len(deferred) + len(_repeated_reads(deferred, tail_src, matrices))


def read_distribution(p: np.ndarray, deferred: Sequence[int], tail_src: Sequence[int],
                      matrices: Sequence[np.ndarray | None] | None
                      ) -> tuple[np.ndarray, Sequence[int]]:
    """The distribution of the read bits, and for each tail bit its index in it, from ``p`` over
    the ``deferred`` qubits. Every measurement has its own readout error (as in Aer): a qubit
    read into several clbits gets one independent draw per clbit, so its axis is repeated (the
    copies equal before the confusion matrices) once per extra clbit."""
    extra = _repeated_reads(deferred, tail_src, matrices)
    if not extra:
        return apply_readout(p, deferred, matrices), tail_src
    k = len(deferred)
    t = np.asarray(p, dtype=np.float64).reshape((2,) * k)
    slots = list(deferred)
    src = list(tail_src)
    for j in extra:
        axis = tail_src[j]
        # a new last axis equal to ``axis``: t'[..., a, ..., b] = t[..., a, ...] if a == b else 0
        t = t[..., None] * np.eye(2).reshape([2 if a == axis else 1 for a in range(t.ndim)] + [2])
        src[j] = len(slots)
        slots.append(deferred[axis])
    return apply_readout(t.ravel(), slots, matrices), src


def flip_probability(matrices: Sequence[np.ndarray | None] | None, qubit: int,
                     outcome: int) -> float:
    """Probability that ``qubit``'s true ``outcome`` is recorded as the other bit."""
    if matrices is None or matrices[qubit] is None:
        return 0.0
    m = matrices[qubit]
    assert m is not None
    return float(m[outcome][1 - outcome])


@dataclass
class PreparedChannel:
    """A channel step made ready for one backend. ``probs``: the fixed probabilities of a unitary
    mixture (None for a general channel); ``blocks[i]``: the backend's prepared ``U_i`` (None for
    the identity) of a mixture, or ``K_i`` of a general channel. A general channel's outcome
    probabilities ``<psi|G_i|psi>`` (``G_i = K_i^dagger K_i = V_i diag(w_i) V_i^dagger``) are
    read as ``weights[i] @`` the probabilities of the channel's qubits in ``G_i``'s eigenbasis:
    ``diag``: the ``w_i`` rows when every ``G_i`` is diagonal (no rotation needed), else
    ``rotations[i]``, the prepared ``V_i^dagger V_{i-1}`` that carries one scratch copy from
    ``G_{i-1}``'s eigenbasis to ``G_i``'s, with ``weights[i] = w_i``."""

    op: ChannelOp
    backend: type[State]
    num_qubits: int
    probs: np.ndarray | None
    blocks: list[Any]
    diag: np.ndarray | None
    rotations: list[Any] = field(default_factory=list)
    weights: np.ndarray | None = None

    def probabilities(self, state: State) -> np.ndarray:
        """``p_i`` of each outcome on ``state`` (normalised; the state may be unnormalised, and
        is scaled back to norm 1 when its squared norm is below :data:`RENORMALISE_BELOW`)."""
        if self.probs is not None:
            return self.probs
        qubits = list(self.op.qubits)
        if self.diag is not None:
            p = self.diag @ state.probabilities(qubits)
        else:
            assert self.weights is not None
            p = np.empty(len(self.blocks))
            t = state.copy()    # one scratch state (scratch_states counts it), rotated in turn
            for i, rotation in enumerate(self.rotations):
                t.apply(rotation)
                p[i] = float(self.weights[i] @ t.probabilities(qubits))
            del t
        p = np.clip(np.asarray(p, dtype=np.float64), 0, None)
        total = float(p.sum())  # sum_i ||K_i psi||^2 = ||psi||^2
        if 0 < total < RENORMALISE_BELOW:
            scale = np.eye(2) / np.sqrt(total)
            state.apply(self.backend.prepare([_unitary(scale, self.op.qubits[:1])],
                                             self.num_qubits))
        return p / total

    def apply(self, state: State, i: int) -> None:
        """Continue ``state`` with outcome ``i``: ``U_i`` for a mixture, ``K_i`` (unnormalised)
        for a general channel."""
        if self.blocks[i] is not None:
            state.apply(self.blocks[i])


def _unitary(m: np.ndarray, qubits: Sequence[int]) -> Instruction:
    return Instruction("unitary", tuple(qubits), matrix=np.asarray(m, dtype=complex))


def prepare_channel(backend: type[State], op: ChannelOp, num_qubits: int) -> PreparedChannel:
    """Prepare the channel step ``op`` for ``backend`` (outcomes sorted most likely first for a
    mixture)."""
    ch = op.channel
    mix = ch.mixture
    if mix is not None:
        items = sorted(((float(p), np.asarray(u, dtype=complex)) for p, u in mix if p > 0),
                       key=lambda pu: -pu[0])
        probs = np.array([p for p, _ in items])
        blocks = [None if np.array_equal(u, np.eye(u.shape[0])) else
                  backend.prepare([_unitary(u, op.qubits)], num_qubits) for _, u in items]
        return PreparedChannel(op, backend, num_qubits, probs / probs.sum(), blocks, None)
    kraus = [np.asarray(k, dtype=complex) for k in ch.kraus]
    blocks = [backend.prepare([_unitary(k, op.qubits)], num_qubits) for k in kraus]
    diag = gram_diagonals(ch)
    if diag is not None:
        return PreparedChannel(op, backend, num_qubits, None, blocks, diag)
    rotations, weights = [], []
    previous = np.eye(ch.dim, dtype=complex)
    for k in kraus:
        w, v = np.linalg.eigh(k.conj().T @ k)
        rotations.append(backend.prepare([_unitary(v.conj().T @ previous, op.qubits)],
                                         num_qubits))
        weights.append(w)
        previous = v
    return PreparedChannel(op, backend, num_qubits, None, blocks, None, rotations,
                           np.array(weights))


def gram_diagonals(channel: Any) -> np.ndarray | None:
    """The rows ``diag(K_i^dagger K_i)`` of ``channel`` when every ``K_i^dagger K_i`` is
    diagonal (outcome probabilities then follow from the channel qubits' probabilities); None
    otherwise."""
    gram = [k.conj().T @ k for k in channel.kraus]
    if all(np.allclose(g, np.diag(np.diagonal(g)), atol=1e-14) for g in gram):
        return np.array([np.diagonal(g).real for g in gram])
    return None


def sample_outcomes(rng: np.random.Generator, n: int, p: np.ndarray) -> np.ndarray:
    """Shots per outcome for ``n`` shots: a binomial draw for "not the most likely outcome",
    then a multinomial split of those over the others (one draw in the common case where no
    shot errs)."""
    top = int(np.argmax(p))
    counts = np.zeros(p.size, dtype=np.int64)
    rest = 1.0 - float(p[top])
    k = int(rng.binomial(n, min(max(rest, 0.0), 1.0))) if rest > 0 else 0
    counts[top] = n - k
    if k:
        others = np.delete(np.arange(p.size), top)
        q = p[others] / p[others].sum()
        counts[others] = rng.multinomial(k, q)
    return counts


def error_rate(channel: Any) -> float:
    """Upper bound on the probability that a shot leaves the most likely Kraus outcome of
    ``channel`` (state-independent for mixtures; for a general channel ``1 - min eig K^dag K``
    of its largest Kraus operator)."""
    mix = channel.mixture
    if mix is not None:
        return 1.0 - max(float(p) for p, _ in mix)
    best = max(channel.kraus, key=lambda k: float(np.trace(k.conj().T @ k).real))
    return float(1.0 - np.linalg.eigvalsh(best.conj().T @ best).min())


def prefer_density(num_qubits: int, ops: Sequence[Any], shots: int) -> bool:
    """Whether a density matrix is cheaper than noisy shots. Per operation, the density matrix
    costs about ``4**n`` amplitude updates and noisy shots ``2**n`` per branch, plus a fixed
    overhead per call (:data:`OP_OVERHEAD`, in amplitude updates); the expected number of branches
    is ``1 + shots * (1 - exp(-sum of error rates))``, each running on average half the circuit."""
    lam = sum(error_rate(op.channel) for op in ops if isinstance(op, ChannelOp))
    branches = 1 + 0.5 * shots * (1.0 - np.exp(-lam))
    return float(4**num_qubits) + OP_OVERHEAD <= branches * (float(2**num_qubits) + OP_OVERHEAD)


#: The fixed cost of one backend call, in amplitude updates (a few microseconds of Python).
OP_OVERHEAD = 4096


def truncated_binomial(rng: np.random.Generator, n: int, q: float) -> int:
    """A draw of Binomial(n, q) conditioned on being at least 1 (``0 < q <= 1``)."""
    p_any = -np.expm1(n * np.log1p(-q)) if q < 1 else 1.0
    if p_any > 0.25:  # rejection: at most a few draws
        while True:
            k = int(rng.binomial(n, q))
            if k:
                return k
    # Inverse CDF over k = 1, 2, ...: the mean is small here, so the walk is short.
    u = rng.random() * p_any
    log_pmf = np.log(n) + np.log(q) + (n - 1) * np.log1p(-q)
    pmf, cum, k = float(np.exp(log_pmf)), 0.0, 1
    while True:
        cum += pmf
        if cum >= u or k >= n:
            return k
        pmf *= (n - k) / (k + 1) * q / (1 - q)
        k += 1


#: Largest aligned run of gate steps fused into one prepared block (2**MAX_LEVEL steps): bounds
#: the cached blocks to about MAX_LEVEL + 1 times the plan's own prepared blocks.
MAX_LEVEL = 6


class MixtureRuns:
    """Fast path of the walker through runs of steps that are unconditional gate runs and
    unconditional unitary-mixture channels with an identity outcome.

    A branch of n shots in such a run does not visit the channels one by one: the first channel
    at which some shot leaves the identity is drawn at once (the chance that all n shots stay
    through channels c..j is ``prod p_stay**n``, read from a prefix sum of logs), the gates up to
    it are applied as a few prepared blocks of aligned, power-of-two runs of gate steps (fused
    once, on first use), and the number of erring shots there is drawn conditioned on being at
    least one. The outcome is distributed exactly as channel-by-channel sampling."""

    def __init__(self, steps: Sequence[Any], prepared: Sequence[Any], backend: type[State],
                 num_qubits: int) -> None:
        self.steps, self.prepared = steps, prepared
        self.backend, self.num_qubits = backend, num_qubits
        size = len(steps)
        self.in_run = [False] * size
        self.stay: dict[int, int] = {}
        gate_steps: list[int] = []
        chan_steps: list[int] = []
        logs: list[float] = []
        for i, (s, b) in enumerate(zip(steps, prepared)):
            if s.condition is not None:
                continue
            if s.kind == "gates":
                self.in_run[i] = True
                gate_steps.append(i)
            elif s.kind == "channel" and b.probs is not None:
                ident = [j for j, blk in enumerate(b.blocks) if blk is None]
                if ident and b.probs[ident[0]] > 0:
                    self.in_run[i] = True
                    self.stay[i] = ident[0]
                    chan_steps.append(i)
                    logs.append(float(np.log(b.probs[ident[0]])))
        self.gate_steps, self.chan_steps = gate_steps, chan_steps
        self.neg_cum = np.concatenate([[0.0], -np.cumsum(logs)])
        # run_end[i]: the first step at or after i that is not in a run.
        self.run_end = [size] * (size + 1)
        for i in range(size - 1, -1, -1):
            self.run_end[i] = self.run_end[i + 1] if self.in_run[i] else i
        self.gates_before = np.searchsorted(gate_steps, np.arange(size + 1)).tolist()
        self.chans_before = np.searchsorted(chan_steps, np.arange(size + 1)).tolist()
        self.blocks: dict[tuple[int, int], Any] = {}

    @property
    def useful(self) -> bool:
        return bool(self.chan_steps)

    def _block(self, level: int, k: int) -> Any:
        if level == 0:
            return self.prepared[self.gate_steps[k]]
        key = (level, k)
        blk = self.blocks.get(key)
        if blk is None:
            lo = k << level
            ops = [op for g in self.gate_steps[lo:lo + (1 << level)] for op in self.steps[g].block]
            blk = self.blocks[key] = self.backend.prepare(ops, self.num_qubits)
        return blk

    def apply_gates(self, state: State, lo: int, hi: int) -> None:
        """Apply gate steps ``lo..hi-1`` (indices among the gate steps) as aligned blocks."""
        while lo < hi:
            level = 0
            while (level < MAX_LEVEL and lo % (2 << level) == 0
                   and lo + (2 << level) <= hi):
                level += 1
            state.apply(self._block(level, lo >> level))
            lo += 1 << level

    def advance(self, state: State, n: int, pc: int, rng: np.random.Generator
                ) -> tuple[int, np.ndarray | None]:
        """Run the branch's ``n`` shots from step ``pc`` (in a run) to the first channel where a
        shot errs, or to the end of the run. Returns that step and the shots per outcome there
        (None at the end of the run); the gates before it are applied."""
        end = self.run_end[pc]
        c0, c_end = self.chans_before[pc], self.chans_before[end]
        stop, counts = end, None
        if c0 < c_end:
            u = 1.0 - rng.random()  # in (0, 1]
            thr = self.neg_cum[c0] - np.log(u) / n
            j = int(np.searchsorted(self.neg_cum, thr, side="right")) - 1
            if j < c_end:
                stop = self.chan_steps[j]
                counts = self._error_counts(rng, n, stop)
        self.apply_gates(state, self.gates_before[pc], self.gates_before[stop])
        return stop, counts

    def _error_counts(self, rng: np.random.Generator, n: int, step: int) -> np.ndarray:
        p = self.prepared[step].probs
        s = self.stay[step]
        q = float(1.0 - p[s])
        k = truncated_binomial(rng, n, min(q, 1.0))
        counts = np.zeros(p.size, dtype=np.int64)
        counts[s] = n - k
        others = np.delete(np.arange(p.size), s)
        counts[others] = rng.multinomial(k, p[others] / p[others].sum())
        return counts


def scratch_states(plan: Any) -> int:
    """States a walk of ``plan`` needs beyond its branches: 1 when some channel step is a general
    channel whose ``K_i^dagger K_i`` are not all diagonal (its outcome probabilities are read from
    a copy), else 0."""
    for s in plan.steps:
        if s.kind != "channel":
            continue
        ch = s.block[0].channel
        if ch.mixture is None and gram_diagonals(ch) is None:
            return 1
    return 0
