"""Dense state-vector backend: applies a circuit's gates to a state vector in place.

The gates are first fused (:mod:`qsim.backends.fusion`) into few dense, diagonal and permutation
operators on at most a handful of qubits; each is then applied with one pass of a chunked in-place
kernel (:mod:`qsim.backends.kernels`). The 2**n x 2**n operator is never formed and the state is
never copied: the extra memory is a few scratch buffers of :data:`kernels.CHUNK` elements.

A gate defined in the circuit (``circuit.definitions``) on at most ``FusionConfig.max_dense``
qubits is simulated as one gate: its matrix is computed once per parameter set.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from ..circuit import Circuit, Instruction
from ..gates import GATES, gate_matrix
from . import kernels
from .fusion import FusedOp, FusionConfig, Gate, block_op, classify, fuse

#: Fusion settings used by :func:`apply_gates` (chosen with ``make bench``).
DEFAULT_FUSION = FusionConfig()


def _library_gate(ins: Instruction) -> Gate | None:
    g = GATES[ins.name]
    if g.diagonal and g.permutation:  # identity (id, u0)
        return None
    kind = "diag" if g.diagonal else "perm" if g.permutation else "dense"
    return Gate(kind, ins.qubits, gate_matrix(ins.name, ins.params))


def circuit_gates(circuit: Circuit, instructions: Iterable[Instruction],
                  max_definition: int = DEFAULT_FUSION.max_dense) -> Iterator[Gate]:
    """The unitary instructions as :class:`Gate` s: library gates, ``unitary`` matrices, and
    definitions (one gate per call when on at most ``max_definition`` qubits, else expanded)."""
    cache: dict[tuple[str, tuple[float, ...]], tuple[str, np.ndarray]] = {}
    for ins in instructions:
        name = ins.name
        if name == "barrier":
            continue
        d = circuit.definitions.get(name)
        if d is not None:
            if d.body is not None and len(ins.qubits) <= max_definition:
                key = (name, tuple(float(p) for p in ins.params))
                if key not in cache:
                    cache[key] = _definition_matrix(circuit, ins)
                kind, m = cache[key]
                yield Gate(kind, ins.qubits, m)
                continue
            for sub in circuit.expand(ins):
                g = _library_gate(sub)
                if g is not None:
                    yield g
        elif name == "unitary":
            m = np.asarray(ins.matrix, dtype=complex)
            yield Gate(classify(m), ins.qubits, m)
        else:
            g = _library_gate(ins)
            if g is not None:
                yield g


def _definition_matrix(circuit: Circuit, ins: Instruction) -> tuple[str, np.ndarray]:
    k = len(ins.qubits)
    local = Instruction(ins.name, tuple(range(k)), ins.params)
    gates = [g for g in (_library_gate(s) for s in circuit.expand(local)) if g is not None]
    if not gates:
        m = np.eye(1 << k, dtype=complex)
    else:
        m = block_op("dense", range(k), gates).data
    return classify(m), m


def apply_ops(state: np.ndarray, ops: Iterable[FusedOp], *, threads: int | None = None,
              workspace: kernels.Workspace | None = None) -> np.ndarray:
    """Apply fused operators (qubits increasing) to ``state`` in place; returns the state (a
    contiguous copy if ``state`` was not C-contiguous).

    With ``threads > 1`` (large states only) the chunks of each operator are split between a pool
    of threads, and OpenBLAS is set to one thread for the duration (restored afterwards)."""
    if not state.flags.c_contiguous:  # the kernels work on reshaped views of the state
        state = np.ascontiguousarray(state)
    t = kernels.default_threads() if threads is None else threads
    if t > 1 and state.size >= kernels.MIN_PARALLEL:
        with kernels.single_threaded_blas():
            return _apply_ops(state, ops, t, workspace)
    return _apply_ops(state, ops, 1, workspace)


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


def apply_gates(circuit: Circuit, instructions: Iterable[Instruction], state: np.ndarray, *,
                fusion: FusionConfig | None = None, threads: int | None = None,
                workspace: kernels.Workspace | None = None) -> np.ndarray:
    """Apply unitary instructions (gates, ``unitary``, definitions, barriers) to ``state``.

    ``state``: flat C-contiguous complex128/complex64 vector of length 2**n (qubit 0 leftmost),
    updated in place and returned. Measurement, reset and conditions are the caller's job (see
    :mod:`qsim.simulator`). ``fusion``: block sizes (default :data:`DEFAULT_FUSION`);
    ``threads``: default :func:`kernels.default_threads`.
    """
    cfg = fusion or DEFAULT_FUSION
    ops = fuse(circuit_gates(circuit, instructions, cfg.max_dense), cfg)
    return apply_ops(state, ops, threads=threads, workspace=workspace)
