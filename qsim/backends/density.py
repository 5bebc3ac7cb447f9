"""Density-matrix backend (``backend="density"``): rho of n qubits held as a 2n-qubit vector.

Layout: ``data`` is the flat, C-contiguous, row-major ``vec(rho)`` of length 4**n, so index
``(r << n) | c`` holds ``rho[r, c]``; as a 2n-qubit "state" its qubits 0..n-1 are the row index and
n..2n-1 the column index (qubit 0 most significant in both). Then

* a gate U on qubits Q is ``rho -> U rho U^dagger``: U on Q and conj(U) on Q + n, i.e. two gates of
  a 2n-qubit state vector, applied by the dense backend's fused in-place kernels
  (:func:`qsim.backends.dense.state.prepare_ops` / ``apply_ops``);
* a channel with Kraus operators K_i on k qubits Q is its superoperator
  ``S = sum_i K_i (x) conj(K_i)`` (4**k x 4**k) on the 2k qubits Q + (Q + n): one more dense
  operator of at most 4 qubits for one- and two-qubit channels, fused with its neighbours like any
  gate. No 4**n x 4**n matrix and no second copy of rho are ever formed. (Applying the Kraus sum
  term by term needs a copy of rho per term; one superoperator pass was faster at every size we
  measured, see ``benchmarks/bench_noise.py``.)

Probabilities are read from the diagonal; ``collapse`` / ``reset`` project rows and columns. Memory
is 16 * 4**n bytes in double precision (8 * 4**n in single), checked before allocating.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from ..circuit import Instruction
from ..compile.lower import Body, ChannelOp, DefinedGate, LoweredOp, PlanOp
from ..errors import SimulationError
from ..gates import GATES, gate_matrix
from ..resources import human_bytes, memory_limit, memory_limit_description
from .base import State
from .vector import marginalize


def density_bytes(num_qubits: int, itemsize: int = 16) -> int:
    """Bytes of an n-qubit density matrix: ``itemsize * 4**n``."""
    return itemsize << (2 * num_qubits)


class _Conjugator:
    """Lowered ops turned into their complex conjugates on the column qubits (``q + n``); a
    definition body is conjugated once per prepare call, keeping its nesting."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.bodies: dict[int, Body] = {}

    def instruction(self, ins: Instruction, qubits: tuple[int, ...]) -> Instruction:
        if ins.name == "unitary":
            m = np.asarray(ins.matrix, dtype=complex).conj()
        else:
            m = gate_matrix(ins.name, ins.params).conj()
        return Instruction("unitary", qubits, matrix=m)

    def body(self, body: Body) -> Body:
        # Iterative: definitions nest thousands deep in real files.
        stack = [body]
        while stack:
            b = stack[-1]
            if id(b) in self.bodies:
                stack.pop()
                continue
            missing = [op.body for op in b.ops
                       if isinstance(op, DefinedGate) and id(op.body) not in self.bodies]
            if missing:
                stack.extend(missing)
                continue
            ops: list[Instruction | DefinedGate] = []
            for op in b.ops:
                if isinstance(op, DefinedGate):
                    ops.append(DefinedGate(self.bodies[id(op.body)], op.qubits, op.source))
                elif not _is_identity(op):
                    ops.append(self.instruction(op, op.qubits))
            self.bodies[id(b)] = Body(b.name + "*", b.params, b.num_qubits, tuple(ops), b.size)
            stack.pop()
        return self.bodies[id(body)]

    def op(self, op: LoweredOp) -> LoweredOp:
        shifted = tuple(q + self.n for q in op.qubits)
        if isinstance(op, DefinedGate):
            return DefinedGate(self.body(op.body), shifted, op.source)
        return self.instruction(op, shifted)


def _is_identity(ins: Instruction) -> bool:
    g = GATES.get(ins.name)
    return g is not None and g.diagonal and g.permutation


def doubled_ops(ops: Sequence[PlanOp], num_qubits: int) -> list[LoweredOp]:
    """The 2n-qubit operations that act on ``vec(rho)`` as ``ops`` act on rho: each gate U on Q
    followed by conj(U) on Q + n, each channel as its superoperator on Q + (Q + n). Measurements,
    resets and conditions are the engine's (``ops`` are a run of gates)."""
    conj = _Conjugator(num_qubits)
    out: list[LoweredOp] = []
    for op in ops:
        if isinstance(op, ChannelOp):
            qs = tuple(op.qubits) + tuple(q + num_qubits for q in op.qubits)
            out.append(Instruction("unitary", qs, matrix=op.channel.superoperator_matrix))
            continue
        if op.name in ("measure", "reset"):
            raise SimulationError(f"the density backend cannot prepare {op.name} as a gate")
        if isinstance(op, Instruction) and _is_identity(op):
            continue
        out.append(op)
        out.append(conj.op(op))
    return out


def diagonal_probabilities(rho_vec: np.ndarray, n: int, qubits: Sequence[int]) -> np.ndarray:
    """Outcome probabilities of ``qubits`` from the diagonal of the row-major ``vec(rho)``
    (float64, length 2**len(qubits), index bits in the order given)."""
    return marginalize(rho_vec.reshape(1 << n, 1 << n).diagonal().real.astype(np.float64),
                       qubits)


class DensityState(State):
    """An n-qubit density matrix as the flat row-major ``vec(rho)`` ``data`` (length 4**n)."""

    name: ClassVar[str] = "density"
    # "channels": noise channels are applied whole (gates of a run), not sampled.
    # "density_matrix": to_host() is vec(rho), not a state vector.
    capabilities: ClassVar[frozenset[str]] = frozenset(
        {"channels", "density_matrix", "host_memory"})

    def __init__(self, data: np.ndarray, num_qubits: int) -> None:
        self.data = data
        self.num_qubits = num_qubits
        self.dtype = data.dtype
        #: Qubits of the 2n-qubit vector that may be 1 in a nonzero entry (None: unknown); see
        #: :func:`qsim.backends.dense.state.apply_ops_on_support`. Projections keep it.
        self.support: frozenset[int] | None = None

    @classmethod
    def check_memory(cls, num_qubits: int, dtype: Any, max_memory: int | None = None,
                     copies: int = 1, extra: int = 0, extra_what: str = "") -> int:
        """SimulationError (with ``bytes_needed``) unless ``copies`` density matrices of
        ``itemsize * 4**n`` bytes each, plus ``extra`` bytes, fit; returns the bytes of one."""
        dt = np.dtype(dtype)
        one = density_bytes(num_qubits, dt.itemsize)
        need = one * copies + max(0, int(extra))
        if max_memory is None:
            limit, source = memory_limit()
            what = memory_limit_description(source)
        else:
            limit, what = int(max_memory), "memory limit"
        if need > limit:
            if copies == 1:
                head = f"a {num_qubits}-qubit density matrix needs {human_bytes(one)}"
            else:
                head = (f"{copies} density matrices of {num_qubits} qubits "
                        f"({human_bytes(one)} each) need {human_bytes(one * copies)}")
            tail = f" and {human_bytes(extra)} for {extra_what}" if extra > 0 else ""
            exact = f" ({need:,} bytes as {dt.name})" if need < 2**100 else ""
            raise SimulationError(
                f"{head}{tail}{exact}, more than the {what} of {human_bytes(limit)}"
                f"{f' ({limit:,} bytes)' if limit >= 1024 else ''}; use the state-vector "
                "backend (noisy shots) for this register", bytes_needed=need)
        return one

    @classmethod
    def allocate(cls, num_qubits: int, dtype: Any, initial: np.ndarray | None = None
                 ) -> DensityState:
        """|0..0><0..0|, or |psi><psi| of a state vector ``initial`` (length 2**n), or a copy of
        ``initial`` when it holds 4**n entries (a density matrix)."""
        size = 1 << (2 * num_qubits)
        if initial is None:
            data = np.zeros(size, dtype=dtype)
            data[0] = 1
        else:
            v = np.asarray(initial).ravel()
            if v.size == size and num_qubits > 0:
                data = np.array(v, dtype=dtype, copy=True)
            else:
                data = np.outer(v, v.conj()).astype(dtype, copy=False).ravel()
        state = cls(data, num_qubits)
        state.support = frozenset() if initial is None else None
        return state

    @classmethod
    def prepare(cls, ops: Sequence[Any], num_qubits: int) -> Any:
        from .dense.state import prepare_ops

        return prepare_ops(doubled_ops(ops, num_qubits))

    def apply(self, prepared: Any) -> None:
        from .dense.state import apply_ops_on_support

        self.data, self.support = apply_ops_on_support(self.data, prepared, self.support,
                                                       threads=self.threads)

    def probabilities(self, qubits: Sequence[int]) -> np.ndarray:
        return diagonal_probabilities(self.data, self.num_qubits, qubits)

    def _blocks(self, qubit: int) -> np.ndarray:
        """``data`` viewed as (above, row bit, middle, column bit, below) for ``qubit``."""
        n, q = self.num_qubits, qubit
        return self.data.reshape(1 << q, 2, 1 << (n - 1), 2, 1 << (n - 1 - q))

    def collapse(self, qubit: int, outcome: int, weight: float) -> None:
        self._project(qubit, outcome, outcome, weight)

    def reset(self, qubit: int, outcome: int, weight: float) -> None:
        self._project(qubit, outcome, 0, weight)

    def _project(self, qubit: int, outcome: int, to: int, weight: float) -> None:
        """Keep the (outcome, outcome) block of ``qubit``'s row and column bits, scaled by
        1/weight, at (to, to); zero the rest (in place, no temporary)."""
        v = self._blocks(qubit)
        np.multiply(v[:, outcome, :, outcome, :], 1 / weight, out=v[:, to, :, to, :])
        for r, c in ((0, 1), (1, 0), (1 - to, 1 - to)):
            v[:, r, :, c, :] = 0

    def copy(self) -> DensityState:
        out = DensityState(self.data.copy(), self.num_qubits)
        out.threads = self.threads
        out.support = self.support
        return out

    def to_host(self) -> np.ndarray:
        return self.data

    @property
    def nbytes(self) -> int:
        return int(self.data.nbytes)
