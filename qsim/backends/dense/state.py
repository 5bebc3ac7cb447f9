"""Dense state-vector backend: applies a circuit's gates to a state vector in place.

The gates are first fused (:mod:`qsim.compile.fusion`) into few dense, diagonal and permutation
operators on at most a handful of qubits; each is then applied with one pass of a chunked in-place
kernel (:mod:`.kernels`). The 2**n x 2**n operator is never formed and the state is never copied:
the extra memory is a few scratch buffers of :data:`kernels.CHUNK` elements.

A defined gate (a :class:`qsim.compile.DefinedGate`) on at most ``FusionConfig.max_dense`` qubits
is simulated as one gate: its matrix is computed once per lowered body; a wider one is walked, its
narrow sub-definitions again taken whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar

import numpy as np

from ...circuit import Circuit, Instruction
from ...compile.fusion import FusedOp, FusionConfig, Gate, block_op, classify, fuse
from ...compile.lower import Body, DefinedGate, LoweredOp, lower
from ...gates import GATES, gate_matrix
from ..vector import VectorState
from . import kernels

#: Fusion settings used by :class:`DenseState` (chosen with ``make bench``).
DEFAULT_FUSION = FusionConfig()


def _library_gate(ins: Instruction) -> Gate | None:
    if ins.name == "unitary":
        m = np.asarray(ins.matrix, dtype=complex)
        return Gate(classify(m), ins.qubits, m)
    g = GATES[ins.name]
    if g.diagonal and g.permutation:  # identity (id, u0)
        return None
    kind = "diag" if g.diagonal else "perm" if g.permutation else "dense"
    return Gate(kind, ins.qubits, gate_matrix(ins.name, ins.params))


class _BodyMatrices:
    """Matrices of lowered definition bodies, computed once each (iteratively: bodies nest
    thousands deep in real files)."""

    def __init__(self) -> None:
        self.cache: dict[Body, tuple[str, np.ndarray]] = {}

    def get(self, body: Body) -> tuple[str, np.ndarray]:
        stack = [body]
        while stack:
            b = stack[-1]
            if b in self.cache:
                stack.pop()
                continue
            missing = [op.body for op in b.ops
                       if isinstance(op, DefinedGate) and op.body not in self.cache]
            if missing:
                stack.extend(missing)
                continue
            self.cache[b] = self._compute(b)
            stack.pop()
        return self.cache[body]

    def _compute(self, body: Body) -> tuple[str, np.ndarray]:
        """The matrix of ``body`` (its sub-bodies' matrices already cached) and its kind."""
        gates: list[Gate] = []
        for op in body.ops:
            if isinstance(op, DefinedGate):
                kind, m = self.cache[op.body]
                gates.append(Gate(kind, op.qubits, m))
            else:
                g = _library_gate(op)
                if g is not None:
                    gates.append(g)
        k = body.num_qubits
        m = np.array(block_op("dense", range(k), gates).data if gates else np.eye(1 << k),
                     dtype=complex)
        # A body used twice per level squares its parent's matrix, which doubles its rounding
        # error at every level (h applied 2**64 times came out as a random rotation). Entries
        # within 1e-13 of 0 or +-1 are snapped (h.h is then exactly the identity, t.t exactly s),
        # and a matrix that has left the unitaries is projected back (its polar factor).
        for part in (m.real, m.imag):
            near = np.round(part)
            snap = (np.abs(part - near) < 1e-13) & (np.abs(near) <= 1)
            part[snap] = near[snap]
        if np.abs(m.conj().T @ m - np.eye(1 << k)).max() > 1e-12:
            w, _, vh = np.linalg.svd(m)
            m = w @ vh
        return classify(m), m


def lowered_gates(ops: Iterable[LoweredOp], max_definition: int = DEFAULT_FUSION.max_dense
                  ) -> Iterator[Gate]:
    """Lowered unitary operations as :class:`Gate` s: library gates, ``unitary`` matrices, and
    defined gates (one gate when on at most ``max_definition`` qubits, else walked)."""
    bodies = _BodyMatrices()
    stack: list[tuple[Iterator[LoweredOp], tuple[int, ...] | None]] = [(iter(ops), None)]
    while stack:
        it, qmap = stack[-1]
        op = next(it, None)
        if op is None:
            stack.pop()
            continue
        qubits = op.qubits if qmap is None else tuple(qmap[q] for q in op.qubits)
        if isinstance(op, DefinedGate):
            if op.body.num_qubits <= max_definition:
                kind, m = bodies.get(op.body)
                yield Gate(kind, qubits, m)
            else:
                stack.append((iter(op.body.ops), qubits))
            continue
        g = _library_gate(op)
        if g is not None:
            yield g if qmap is None else Gate(g.kind, qubits, g.matrix)


def circuit_gates(circuit: Circuit, instructions: Iterable[Instruction] | None = None,
                  max_definition: int = DEFAULT_FUSION.max_dense) -> Iterator[Gate]:
    """The unitary instructions of ``circuit`` (default: all of them) as :class:`Gate` s."""
    ins = None if instructions is None else list(instructions)
    return lowered_gates(lower(circuit, ins), max_definition)


def apply_ops(state: np.ndarray, ops: Iterable[FusedOp], *, threads: int | None = None,
              workspace: kernels.Workspace | None = None) -> np.ndarray:
    """Apply fused operators (qubits increasing) to ``state`` in place; returns the state (a
    contiguous copy if ``state`` was not C-contiguous).

    With ``threads > 1`` (large states only) the chunks of each operator are split between a pool
    of threads. BLAS is limited to one thread throughout (restored afterwards): the kernels call
    GEMM on small chunks, where BLAS threads only fight the kernels' own threads and every other
    process for the cores."""
    if not state.flags.c_contiguous:  # the kernels work on reshaped views of the state
        state = np.ascontiguousarray(state)
    t = kernels.default_threads() if threads is None else threads
    if t > 1 and state.size < kernels.MIN_PARALLEL:
        t = 1
    with kernels.single_threaded_blas():
        return _apply_ops(state, ops, t, workspace)


def _apply_ops(state: np.ndarray, ops: Iterable[FusedOp], t: int,
               workspace: kernels.Workspace | None) -> np.ndarray:
    ws = workspace or kernels.Workspace(state.dtype, kernels.CHUNK, t)
    for op in ops:
        if not op.qubits:  # global phase
            state *= op.data.reshape(-1)[0]
        elif op.kind == "diag":
            kernels.apply_sorted_diagonal(state, op.data, op.qubits, threads=t)
        elif op.kind == "perm":
            kernels.apply_sorted_permutation(state, op.data, op.qubits, workspace=ws, threads=t)
        else:
            kernels.apply_sorted_matrix(state, op.data, op.qubits, workspace=ws, threads=t)
    return state


def prepare_ops(ops: Sequence[LoweredOp], fusion: FusionConfig | None = None) -> list[FusedOp]:
    """Fuse lowered gates into the operators :func:`apply_ops` applies."""
    cfg = fusion or DEFAULT_FUSION
    return fuse(lowered_gates(ops, cfg.max_dense), cfg)


def apply_gates(circuit: Circuit, instructions: Iterable[Instruction], state: np.ndarray, *,
                fusion: FusionConfig | None = None, threads: int | None = None,
                workspace: kernels.Workspace | None = None) -> np.ndarray:
    """Apply unitary instructions of ``circuit`` (gates, ``unitary``, definitions, barriers) to
    ``state``: a flat C-contiguous complex128/complex64 vector of length 2**n (qubit 0 leftmost),
    updated in place and returned. Measurement, reset and conditions are the engine's job."""
    ops = prepare_ops(lower(circuit, list(instructions)), fusion)
    return apply_ops(state, ops, threads=threads, workspace=workspace)


def walked_size(ops: Sequence[LoweredOp], max_definition: int = DEFAULT_FUSION.max_dense) -> int:
    """Gates :func:`lowered_gates` yields for ``ops``: a call on at most ``max_definition``
    qubits counts one (its matrix is built once per body), a wider one what its body yields.
    Counted per body, so exponentially nested definitions cost nothing to count."""
    memo: dict[Body, int] = {}

    def walked(body: Body) -> int:
        stack = [body]
        while stack:
            b = stack[-1]
            wide = [op.body for op in b.ops if isinstance(op, DefinedGate)
                    and op.body.num_qubits > max_definition and op.body not in memo]
            if wide:
                stack.extend(wide)
                continue
            memo[b] = sum(memo[op.body] if isinstance(op, DefinedGate)
                          and op.body.num_qubits > max_definition else 1 for op in b.ops)
            stack.pop()
        return memo[body]

    return sum(walked(op.body) if isinstance(op, DefinedGate)
               and op.body.num_qubits > max_definition else op.name not in ("measure", "reset")
               for op in ops)


class DenseState(VectorState):
    """The dense state-vector backend (``backend="statevector"``): fused gates applied in place
    by the chunked kernels."""

    name: ClassVar[str] = "statevector"

    @classmethod
    def work(cls, ops: Sequence[LoweredOp]) -> int:
        return walked_size(ops)

    @classmethod
    def prepare(cls, ops: Sequence[LoweredOp], num_qubits: int) -> list[FusedOp]:
        return prepare_ops(ops)

    def apply(self, prepared: Any) -> None:
        self.data = apply_ops(self.data, prepared, threads=self.threads)
