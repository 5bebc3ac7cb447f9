"""Sparse-operator backend: every gate becomes an explicit ``scipy.sparse`` CSR operator on n qubits.

This is the dense backend's independent cross-check: a gate ``G`` on ``targets`` becomes
``I⊗…⊗G⊗…⊗I`` (conjugated by the qubit permutation that moves the targets into place), the state
is advanced by one sparse matrix-vector product per gate, and :func:`circuit_operator` multiplies
the gate operators into the operator of the whole circuit. No dense ``2**n x 2**n`` matrix is ever
formed.

Bit order: qubit 0 is the leftmost Kronecker factor, i.e. the most significant bit of a basis
index (bit position ``n - 1 - q`` holds qubit ``q``); ``targets[0]`` is the leftmost factor of G.

Structure is kept exactly: a diagonal or permutation gate gives ``2**n`` stored entries, a general
one-qubit gate ``2**(n+1)``, a controlled gate ``2**n - 2**(n-c) + nnz(U) * 2**(n-k)``
(``Σ projector ⊗ U``), and entries below 1e-14 in magnitude (rounding residue of exact zeros,
e.g. ``cos(π/2)``) are not stored.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from ..circuit import Circuit, Instruction
from ..compile.lower import LoweredOp, expand_all, lower
from ..compile.plan import plan
from ..errors import CircuitError, SimulationError
from ..gates import GATES, gate_matrix
from ..resources import available_memory, human_bytes
from .base import precision_dtype
from .vector import VectorState

#: Entries of a gate matrix at most this large in magnitude are treated as exact zeros.
ZERO_TOL = 1e-14
#: Default byte budget of the per-run operator cache.
DEFAULT_CACHE_BYTES = 256 * 2**20


# --- sizes -------------------------------------------------------------------------------------
def _index_dtype(n: int, nnz: int) -> type:
    return np.int32 if max(nnz, 1 << n) < 2**31 else np.int64


def csr_nbytes(nnz: int, num_qubits: int, dtype: Any = np.complex128) -> int:
    """Bytes of a ``2**num_qubits`` square CSR matrix with ``nnz`` stored entries of ``dtype``
    (data + column indices + row pointers, with scipy's index width)."""
    idx = np.dtype(_index_dtype(num_qubits, nnz)).itemsize
    return int(nnz) * (np.dtype(dtype).itemsize + idx) + ((1 << num_qubits) + 1) * idx


def _check_memory(need: int, max_memory: int | None, what: str) -> None:
    # Cheap for small sizes: /proc/meminfo is read only when the request is large.
    if max_memory is None and need < 2**26:
        return
    limit = available_memory() if max_memory is None else int(max_memory)
    if need > limit:
        kind = "memory available" if max_memory is None else "memory limit"
        raise SimulationError(
            f"{what} needs {human_bytes(need)} ({need:,} bytes), more than the {kind} of "
            f"{human_bytes(limit)} ({limit:,} bytes)", bytes_needed=need)


# --- the local (k-qubit) operator of a gate ----------------------------------------------------
def _pruned_csr(m: Any) -> sp.csr_matrix:
    out = sp.csr_matrix(m, dtype=np.complex128, copy=True)
    out.data[np.abs(out.data) <= ZERO_TOL] = 0
    out.eliminate_zeros()
    out.sum_duplicates()
    out.sort_indices()
    return out


def local_operator(name: str, params: Sequence[float] = (),
                   matrix: np.ndarray | None = None) -> sp.csr_matrix:
    """The ``2**k`` square sparse operator of one gate (``targets[0]`` = leftmost factor).

    Dispatches on the gate's flags: diagonal gates store only their diagonal, permutation gates a
    single 1 per row, controlled gates are built as ``Σ_{b≠1…1} |b><b|⊗I + |1…1><1…1|⊗U`` from
    projectors (U = the target block). ``name == "unitary"`` takes ``matrix``. Entries below
    :data:`ZERO_TOL` are dropped.
    """
    if name == "unitary":
        if matrix is None:
            raise CircuitError("a 'unitary' instruction needs its matrix")
        return _pruned_csr(np.asarray(matrix))
    g = GATES.get(name)
    if g is None:
        raise CircuitError(f"unknown gate {name!r}")
    m = gate_matrix(name, params)
    dim = m.shape[0]
    if g.diagonal:
        return _pruned_csr(sp.diags(np.diagonal(m), format="csr"))
    if g.permutation:
        cols = np.argmax(np.abs(m), axis=1)
        return sp.csr_matrix((np.ones(dim, dtype=np.complex128), cols, np.arange(dim + 1)),
                             shape=(dim, dim))
    if g.num_controls:
        d = dim >> g.num_controls                      # dimension of the target block
        p_rest = sp.diags(np.r_[np.ones(dim // d - 1), 0.0])  # Σ_{b != 1..1} |b><b|
        p_all = sp.diags(np.r_[np.zeros(dim // d - 1), 1.0])  # |1..1><1..1|
        u = _pruned_csr(m[dim - d:, dim - d:])
        return _pruned_csr(sp.kron(p_rest, sp.identity(d)) + sp.kron(p_all, u))
    return _pruned_csr(m)


# --- embedding: I⊗…⊗G⊗…⊗I on n qubits --------------------------------------------------------
def _check_targets(targets: Sequence[int], n: int, k: int) -> tuple[int, ...]:
    t = tuple(int(q) for q in targets)
    if len(t) != k:
        raise CircuitError(f"a {k}-qubit operator was given {len(t)} target(s): {list(t)}")
    if len(set(t)) != k:
        raise CircuitError(f"duplicate target qubits {list(t)}")
    bad = [q for q in t if not 0 <= q < n]
    if bad:
        raise CircuitError(f"target qubit {bad[0]} out of range for {n} qubit(s)")
    return t


def _spread(values: np.ndarray, positions: Sequence[int]) -> np.ndarray:
    """Deposit bit ``k-1-j`` of each value (j = 0 is the most significant of k) at bit
    ``positions[j]`` of the result."""
    k = len(positions)
    out = np.zeros_like(values)
    for j, p in enumerate(positions):
        out |= ((values >> (k - 1 - j)) & 1) << p
    return out


def embed_operator(local: Any, targets: Sequence[int], num_qubits: int, *,
                   dtype: Any = np.complex128, max_memory: int | None = None) -> sp.csr_matrix:
    """``I⊗…⊗G⊗…⊗I``: the ``2**k`` operator ``local`` acting on ``targets`` of ``num_qubits``.

    The result is the Kronecker product ``G ⊗ I_{2**(n-k)}`` conjugated by the qubit permutation
    that puts ``targets`` in place, written straight into CSR form: global row ``i`` whose target
    bits read ``r`` holds, for every stored ``G[r, c]``, the entry at column ``i`` with its target
    bits replaced by ``c``. ``nnz = Σ_r nnz(G[r]) * 2**(n-k)``; time and memory O(nnz), canonical
    (sorted, no duplicates, no zeros). Raises SimulationError if it would not fit in
    ``max_memory`` (default: the memory available).
    """
    loc = _pruned_csr(local)
    dim = loc.shape[0]
    k = dim.bit_length() - 1
    if loc.shape != (dim, dim) or 1 << k != dim:
        raise CircuitError(f"operator of shape {loc.shape} is not 2**k square")
    n = int(num_qubits)
    t = _check_targets(targets, n, k)
    big_n = 1 << n
    counts = np.diff(loc.indptr)
    c = int(counts.max()) if dim else 0
    nnz_padded = big_n * c
    _check_memory(csr_nbytes(nnz_padded, n, dtype), max_memory,
                  f"the {n}-qubit operator of a {k}-qubit gate ({nnz_padded:,} entries)")
    idx = _index_dtype(n, nnz_padded)

    # Local tables, one row per local row r, entries sorted by the global position of their column.
    pos = [n - 1 - q for q in t]
    spread = _spread(np.arange(dim, dtype=np.int64), pos)
    lrow = np.repeat(np.arange(dim), counts)
    slot = np.arange(loc.nnz) - loc.indptr[lrow]
    key = spread[loc.indices]
    order = np.lexsort((key, lrow))              # within each row, by global column offset
    col_off = np.zeros((dim, c), dtype=np.int64)
    vals = np.zeros((dim, c), dtype=np.complex128)
    col_off[lrow, slot] = key[order]
    vals[lrow, slot] = loc.data[order]

    # Index tensor: axes = runs of non-target qubits and single target qubits, MSB first.
    shape: list[int] = []
    tax: dict[int, int] = {}
    run = 0
    for q in range(n):
        if q in t:
            if run:
                shape.append(1 << run)
                run = 0
            tax[q] = len(shape)
            shape.append(2)
        else:
            run += 1
    if run:
        shape.append(1 << run)
    target_axes = set(tax.values())
    rest_shape = [s for a, s in enumerate(shape) if a not in target_axes]
    # R: the basis index restricted to the non-target qubits (target bits zero).
    r_idx: np.ndarray = np.zeros(rest_shape, dtype=idx)
    bit = n
    ra = 0
    for a, s in enumerate(shape):
        bit -= s.bit_length() - 1
        if a in target_axes:
            continue
        view = [1] * len(rest_shape)
        view[ra] = s
        r_idx += (np.arange(s, dtype=idx) << bit).reshape(view)
        ra += 1

    data = np.empty(nnz_padded, dtype=dtype)
    cols: np.ndarray = np.empty(nnz_padded, dtype=idx)
    dview = data.reshape(shape + [c])
    cview = cols.reshape(shape + [c])
    for r in range(dim):
        sel: list[Any] = [slice(None)] * len(shape)
        for j, q in enumerate(t):
            sel[tax[q]] = (r >> (k - 1 - j)) & 1
        for e in range(c):
            full = (*sel, e, Ellipsis)  # Ellipsis: a 0-d view even when k == n
            dview[full] = vals[r, e]
            np.add(r_idx, idx(col_off[r, e]), out=cview[full])
    indptr: np.ndarray = (np.arange(0, nnz_padded + 1, c, dtype=idx) if c
                          else np.zeros(big_n + 1, idx))
    out = sp.csr_matrix((data, cols, indptr), shape=(big_n, big_n), copy=False)
    if c and counts.min() < c:
        out.eliminate_zeros()                     # drop the padding of shorter local rows
    out.has_sorted_indices = True
    out.has_canonical_format = True
    return out


def gate_operator(name: str, qubits: Sequence[int], num_qubits: int,
                  params: Sequence[float] = (), *, matrix: np.ndarray | None = None,
                  dtype: Any = np.complex128, max_memory: int | None = None) -> sp.csr_matrix:
    """The ``2**n x 2**n`` CSR operator of gate ``name(params)`` on ``qubits`` (``qubits[0]`` =
    the gate's leftmost factor) of an n-qubit register; ``name="unitary"`` takes ``matrix``.

    >>> gate_operator("cx", [2, 0], 3).nnz    # permutation: exactly 2**3 entries
    8
    """
    return embed_operator(local_operator(name, params, matrix), qubits, num_qubits, dtype=dtype,
                          max_memory=max_memory)


# --- per-run cache ---------------------------------------------------------------------------
class OperatorCache:
    """A bounded LRU cache of gate operators keyed by (gate, params, targets, n, dtype).

    Holds at most ``max_entries`` operators and ``max_bytes`` bytes; an operator larger than
    ``max_bytes`` is built but not kept. ``apply_gates`` and ``circuit_operator`` make a fresh one per
    run unless one is passed in.
    """

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES, max_entries: int = 256) -> None:
        self.max_bytes = int(max_bytes)
        self.max_entries = int(max_entries)
        self.nbytes = 0
        self.hits = 0
        self.misses = 0
        self._ops: OrderedDict[tuple, tuple[sp.csr_matrix, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._ops)

    @staticmethod
    def key(ins: Instruction, num_qubits: int, dtype: Any) -> tuple:
        extra: Any = ins.params
        if ins.name == "unitary":
            m = np.ascontiguousarray(ins.matrix, dtype=np.complex128)
            extra = (m.shape, m.tobytes())
        return ins.name, extra, tuple(ins.qubits), int(num_qubits), np.dtype(dtype).str

    def operator(self, ins: Instruction, num_qubits: int, dtype: Any = np.complex128,
                 max_memory: int | None = None) -> sp.csr_matrix:
        """The operator of a library-gate or ``unitary`` instruction, built on a miss."""
        key = self.key(ins, num_qubits, dtype)
        hit = self._ops.get(key)
        if hit is not None:
            self._ops.move_to_end(key)
            self.hits += 1
            return hit[0]
        self.misses += 1
        op = gate_operator(ins.name, ins.qubits, num_qubits, ins.params, matrix=ins.matrix,
                           dtype=dtype, max_memory=max_memory)
        size = op.data.nbytes + op.indices.nbytes + op.indptr.nbytes
        if size <= self.max_bytes and self.max_entries > 0:
            self._ops[key] = (op, size)
            self.nbytes += size
            while self.nbytes > self.max_bytes or len(self._ops) > self.max_entries:
                _, (_, s) = self._ops.popitem(last=False)
                self.nbytes -= s
        return op


# --- backend ---------------------------------------------------------------------------------
def _gate_instructions(ops: Iterable[LoweredOp]) -> Iterable[Instruction]:
    return expand_all(list(ops))


def apply_gates(circuit: Circuit, instructions: Iterable[Instruction], state: np.ndarray, *,
                cache: OperatorCache | None = None) -> np.ndarray:
    """Apply unitary instructions (gates, ``unitary``, definitions, barriers) to ``state`` (flat,
    2**n) by one sparse matrix-vector product per gate.

    Definitions are lowered (:func:`qsim.compile.lower`) and walked down to library gates;
    measurement, reset and conditions are the engine's job. Operators are built in
    ``state.dtype`` (complex64 for single precision) and cached per run. Returns ``state`` (the
    same array, updated).
    """
    n = int(state.size).bit_length() - 1
    return _apply(state, list(_gate_instructions(lower(circuit, list(instructions)))), n,
                  OperatorCache() if cache is None else cache)


def _apply(state: np.ndarray, gates: Sequence[Instruction], n: int,
           cache: OperatorCache) -> np.ndarray:
    cur = state
    for ins in gates:
        cur = cache.operator(ins, n, state.dtype) @ cur
    if cur is not state:
        state[...] = cur
    return state


class SparseState(VectorState):
    """The sparse-operator backend (``backend="sparse"``): each gate an explicit CSR operator on
    the whole register, applied by a sparse matrix-vector product. Copies of a state share one
    operator cache."""

    name: ClassVar[str] = "sparse"

    def __init__(self, data: np.ndarray, cache: OperatorCache | None = None) -> None:
        super().__init__(data)
        self.cache = OperatorCache() if cache is None else cache

    @classmethod
    def prepare(cls, ops: Sequence[LoweredOp], num_qubits: int) -> tuple[Instruction, ...]:
        return tuple(_gate_instructions(ops))

    def apply(self, prepared: Any) -> None:
        _apply(self.data, prepared, self.num_qubits, self.cache)
        if self.dtype == np.complex64 and prepared:
            # One rounding per gate in single precision: tens of thousands of gates drift the
            # norm past 1e-4. Renormalise once per block (a global factor, nothing observable).
            r = self.data.view(np.float32)
            norm = float(np.sqrt(np.einsum("i,i->", r, r, dtype=np.float64)))
            if norm > 0:
                self.data *= np.float32(1 / norm)

    def copy(self) -> SparseState:
        out = SparseState(self.data.copy(), self.cache)
        out.threads = self.threads
        return out


# --- the operator of a whole circuit ---------------------------------------------------------
def _product_nnz_bound(g: sp.csr_matrix, u: sp.csr_matrix) -> int:
    """Upper bound on nnz(g @ u): per row, the sum of nnz of the rows of u that g's row reaches,
    capped at the row length."""
    row_nnz = np.diff(u.indptr).astype(np.float64)
    rows = np.repeat(np.arange(g.shape[0]), np.diff(g.indptr))
    reach = np.bincount(rows, weights=row_nnz[g.indices], minlength=g.shape[0])
    return int(np.minimum(reach, u.shape[1]).sum())


def circuit_operator(circuit: Circuit, *, precision: str = "double",
                     max_memory: int | None = None, atol: float = 1e-14,
                     cache: OperatorCache | None = None) -> sp.csr_matrix:
    """The ``2**n x 2**n`` unitary of a circuit as a CSR matrix: ``G_m … G_2 G_1``.

    Built by sparse products of the gate operators, so it stays as sparse as the circuit is: runs of
    permutation and diagonal gates keep exactly ``2**n`` entries. After each product, entries with
    magnitude ``<= atol`` (rounding residue of cancellations) are dropped. Terminal measurements
    and barriers are ignored; resets, conditions and mid-circuit measurements raise CircuitError.
    Before each product the growth of nnz is bounded; SimulationError (with ``bytes_needed``)
    if the operator could exceed ``max_memory`` bytes (default: the memory available).

    >>> circuit_operator(Circuit(2).h(0).cx(0, 1)).nnz
    8
    """
    dtype = precision_dtype(precision)
    n = circuit.num_qubits
    big_n = 1 << n
    # Any input state, not only |0...0>: a reset is never dropped.
    p = plan(circuit, lower(circuit), zero_start=False)
    if not p.terminal:
        raise CircuitError(f"circuit_operator: {p.why_dynamic}; only unitary circuits have an "
                           "operator")
    gates = list(_gate_instructions(p.gates))
    limit = available_memory() if max_memory is None else int(max_memory)
    kind = "memory available" if max_memory is None else "memory limit"

    def check(nnz: int, extra: int, where: str) -> None:
        need = csr_nbytes(nnz, n, dtype) + extra
        if need > limit:
            raise SimulationError(
                f"the operator of this {n}-qubit circuit needs up to {human_bytes(need)} "
                f"({need:,} bytes) {where}: up to {nnz:,} stored entries as {np.dtype(dtype)} "
                f"CSR, more than the {kind} of {human_bytes(limit)} ({limit:,} bytes); "
                "simulate the state instead (qsim.simulate(circuit, backend='sparse'))",
                bytes_needed=need)

    check(big_n, 0, "to start (the identity)")
    u = sp.identity(big_n, dtype=dtype, format="csr")
    cache = OperatorCache() if cache is None else cache
    for step, ins in enumerate(gates, 1):
        g = cache.operator(ins, n, dtype, max_memory=limit)
        bound = _product_nnz_bound(g, u)
        held = csr_nbytes(u.nnz, n, dtype) + csr_nbytes(g.nnz, n, dtype)
        check(bound, held, f"after gate {step} of {len(gates)} ({ins})")
        u = (g @ u).tocsr()
        if atol > 0:
            small = np.abs(u.data) <= atol
            if small.any():
                u.data[small] = 0
                u.eliminate_zeros()
    u.sort_indices()
    return u
