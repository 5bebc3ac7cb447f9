"""Dense state-vector backend: applies a circuit's gates to a state vector in place.

The gates are first fused (:mod:`qsim.compile.fusion`) into few dense, diagonal and permutation
operators on at most a handful of qubits; each is then applied with one in-place pass: a chunked
numpy kernel (:mod:`.kernels`) or, for large states where it was measured faster, a compiled numba
kernel (:mod:`.numba_kernels`, imported only then; see :data:`KERNELS`). The 2**n x 2**n operator
is never formed and the state is never copied: the extra memory is a few scratch buffers of
:data:`kernels.CHUNK` elements (numba kernels: a few hundred KiB per thread).

A defined gate (a :class:`qsim.compile.DefinedGate`) on at most ``FusionConfig.max_dense`` qubits
is simulated as one gate: its matrix is computed once per lowered body; a wider one is walked, its
narrow sub-definitions again taken whole.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar, cast

import numpy as np

from ...circuit import Circuit, Instruction
from ...compile.fusion import (
    FusedOp,
    FusionConfig,
    Gate,
    block_op,
    build_plan,
    classify,
    fuse,
    plan_blocks,
)
from ...compile.lower import Body, DefinedGate, LoweredOp, lower
from ...errors import SimulationError
from ...gates import GATES, gate_matrix
from ...interrupts import check as check_interrupt
from ..vector import VectorState
from . import kernels
from .split_layout import DIAG_TABLE_BITS, block_bits

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


#: Kernel set: ``"auto"`` (numba for states of at least :data:`NUMBA_MIN_SIZE` amplitudes, once
#: loaded (see :data:`NUMBA_MIN_WORK`), on the operators where it was measured faster; numpy
#: otherwise), ``"numpy"`` or ``"numba"`` (every operator, every size: for tests and benchmarks). ``None``: the ``QSIM_KERNELS`` environment variable,
#: else ``"auto"``.
KERNELS: str | None = None
_KERNEL_SETS = ("auto", "numpy", "numba")
#: States of at least this many amplitudes may use the numba kernels (below it the numpy ones
#: run, and numba is not even imported: ``import qsim`` and small circuits stay as fast as
#: without it): per operator, the gain is below the cost of a call.
NUMBA_MIN_SIZE = 1 << 14
#: ... and numba is first imported only for a batch of operators whose work (amplitudes x
#: operators) is at least this: the first use in a process costs ~0.5 s (numba's import and
#: loading the cached kernels; ~7 s when they are compiled), which the split-layout kernels
#: win back at about 3 ns per amplitude and 2-qubit operator (benchmarks/dev_split.py).
NUMBA_MIN_WORK = 1 << 27
_NUMBA: Any = None  # the numba_kernels module once imported; False when numba is unavailable


def kernel_set() -> str:
    """The kernel set in force: :data:`KERNELS`, else ``$QSIM_KERNELS``, else ``"auto"``."""
    k = KERNELS if KERNELS is not None else os.environ.get("QSIM_KERNELS", "").strip().lower()
    if not k:
        return "auto"
    if k not in _KERNEL_SETS:
        raise SimulationError(f"QSIM_KERNELS must be one of {', '.join(_KERNEL_SETS)}, not {k!r}")
    return k


def numba_kernels() -> Any:
    """The numba kernel module, imported on first use; ``None`` when numba is not importable."""
    global _NUMBA
    if _NUMBA is None:
        try:
            from . import numba_kernels as nk
        except ImportError:  # no numba wheel here: the numpy kernels do everything
            _NUMBA = False
        else:
            _NUMBA = nk
    return _NUMBA or None


def _use_numba(op: FusedOp, n: int) -> bool:
    """Whether the numba kernel beats the numpy one for ``op`` (benchmarks/dev_numba.py at 22
    qubits): dense on 1-2 qubits (numpy's GEMM wins from 3 qubits on), diagonals whose lowest
    target leaves a run of 2**5..2**11 contiguous amplitudes (numpy is at memory bandwidth on
    longer runs and widens shorter ones), permutations on non-adjacent targets (numpy needs a
    gather there; on adjacent ones it permutes strided views directly and is as fast)."""
    qs = op.qubits
    if op.kind == "dense":
        return len(qs) <= 2
    if op.kind == "diag":
        return kernels.DIAG_INNER <= n - 1 - qs[-1] < 12
    return qs[-1] - qs[0] >= len(qs)


#: A batch of operators goes through the blocked split layout (:mod:`.split_kernels`, SIMD
#: kernels; needs numba) when the state has at least this many qubits and the batch at least
#: :data:`SPLIT_MIN_OPS` dense matrices: the layout costs about four passes over the
#: state (in, out, and the bits that come home), each 2-qubit matrix then saves about two.
SPLIT_MIN_QUBITS = 16
SPLIT_MIN_OPS = 8
#: Estimated cost of an operator in the split layout, in units of a 2-qubit matrix pass
#: (benchmarks/dev_split.py at 20 qubits): dense by width, then diagonal and permutation. A
#: diagonal mostly joins a tiled run; a permutation never does, and needs its targets above the
#: blocks (a bit move when one is inside), where 1-2-qubit matrices do not. These picked the
#: faster of the two fusions on 13 of 14 circuits at 20 qubits (random, hea, qft, and H/CX and
#: swap/CX mixes, both precisions), the one miss within 3%.
SPLIT_DENSE_COST = (0.0, 0.57, 1.0, 3.1, 5.3)
SPLIT_DIAG_COST = 0.45
SPLIT_PERM_COST = 1.0


#: Qubits inside the blocks of the split layout (its ``B`` in complex128 and complex64; the last
#: qubits, whose home bits are the lowest), and the most targets above the blocks that a
#: diagonal with targets inside them may have to run as a table of factor blocks (beyond it a
#: gather, 3-5x slower per amplitude).
SPLIT_LOW_QUBITS = (block_bits(np.complex128), block_bits(np.complex64))
SPLIT_DIAG_TABLE_BITS = DIAG_TABLE_BITS


def split_mixed_diagonals(plan: Sequence[tuple[str, tuple[int, ...], list[int]]],
                          gates: Sequence[Gate], num_qubits: int
                          ) -> list[tuple[str, tuple[int, ...], list[int]]]:
    """A fusion plan for the split layout with each diagonal block that has targets inside the
    blocks and more than :data:`SPLIT_DIAG_TABLE_BITS` above them split in two commuting
    diagonals: its gates that touch a qubit inside the blocks, and the others (a wide CZ ladder
    with RZs: one multiply per block, and one small factor table, instead of a gather)."""
    # (the precision is not known here: inside in either, above in either)
    low, high = num_qubits - max(SPLIT_LOW_QUBITS), num_qubits - min(SPLIT_LOW_QUBITS)
    out: list[tuple[str, tuple[int, ...], list[int]]] = []
    for kind, qs, idx in plan:
        if kind == "diag" and qs[-1] >= low and sum(q < high for q in qs) > SPLIT_DIAG_TABLE_BITS:
            inside = [i for i in idx if max(gates[i].qubits) >= low]
            above = [i for i in idx if max(gates[i].qubits) < low]
            if above:
                for part in (inside, above):
                    out.append(("diag", tuple(sorted({q for i in part for q in gates[i].qubits})),
                                part))
                continue
        out.append((kind, qs, idx))
    return out


def _split_op_cost(kind: str, width: int) -> float:
    if kind == "diag":
        return SPLIT_DIAG_COST
    if kind == "perm":
        return SPLIT_PERM_COST
    return SPLIT_DENSE_COST[width] if width < len(SPLIT_DENSE_COST) else 1.5 * 2.0 ** width


def _plan_cost(plan: Sequence[tuple[str, tuple[int, ...], list[int]]]) -> float:
    """:func:`split_cost` of a :func:`plan_blocks` plan, before any matrix is built."""
    return sum(_split_op_cost(kind, len(qs)) for kind, qs, _ in plan)


def split_cost(ops: Sequence[FusedOp]) -> float:
    """Estimated cost of ``ops`` in the split layout (2-qubit matrix passes)."""
    return sum(_split_op_cost(op.kind, len(op.qubits)) for op in ops)


def numba_worth(size: int, count: int) -> bool:
    """Whether a batch of ``count`` operators on ``size`` amplitudes may use numba in ``"auto"``:
    once it is loaded, or when the batch repays loading it (:data:`NUMBA_MIN_WORK`)."""
    return _NUMBA is not False and (_NUMBA is not None or size * count >= NUMBA_MIN_WORK)


def split_expected(num_qubits: int, gates: int) -> bool:
    """Whether ``gates`` gates on ``num_qubits`` qubits will run in the split layout (numba
    installed, not switched off, worth loading: :func:`numba_worth`): :func:`prepare_ops` then
    fuses for it (narrow matrices: its cost per amplitude doubles with every qubit, where the
    numpy GEMM's does not)."""
    global _NUMBA_SPEC
    which = kernel_set()
    if num_qubits < SPLIT_MIN_QUBITS or which == "numpy" or _NUMBA is False:
        return False
    if which == "auto" and not numba_worth(1 << num_qubits, gates):
        return False
    if _NUMBA_SPEC is None:
        import importlib.util
        _NUMBA_SPEC = importlib.util.find_spec("numba") is not None
    return _NUMBA_SPEC


_NUMBA_SPEC: bool | None = None


def _use_split(ops: list[FusedOp], n: int, dtype: Any, force: bool) -> bool:
    if dtype not in (np.complex64, np.complex128):
        return False
    from . import split_kernels
    if not split_kernels.usable(ops, n, dtype):
        return False
    # Counted: dense matrices only. Runs of permutations (reversible circuits) stay on the
    # interleaved permutation kernels, which move only the permuted amplitudes: an 8,550-gate
    # x/cx/ccx circuit at 20 qubits took 7.5 s in the split layout against 6.4 s there.
    return force or (n >= SPLIT_MIN_QUBITS
                     and sum(op.kind == "dense" for op in ops) >= SPLIT_MIN_OPS)


def apply_ops(state: np.ndarray, ops: Iterable[FusedOp], *, threads: int | None = None,
              workspace: kernels.Workspace | None = None) -> np.ndarray:
    """Apply fused operators (qubits increasing) to ``state`` in place; returns the state (a
    contiguous copy if ``state`` was not C-contiguous).

    Large states go through the compiled numba kernels where they are faster (see
    :data:`KERNELS`), the rest through the numpy kernels. With ``threads > 1`` (large states
    only) the work of each operator is split between threads; the result does not depend on
    the number. BLAS is limited to one thread throughout (restored afterwards): the kernels call
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
    ops = ops if isinstance(ops, list) else list(ops)
    which = kernel_set()
    nk = None
    if which == "numba":
        nk = numba_kernels()
    elif which == "auto" and state.size >= NUMBA_MIN_SIZE and numba_worth(state.size, len(ops)):
        nk = numba_kernels()
    force = which == "numba"
    n = kernels.num_qubits_of(state)
    if nk is not None:
        if _use_split(ops, n, state.dtype, force):
            from . import split_kernels
            with _NUMBA_LOCK:
                nk.set_threads(t)
                split_kernels.apply_ops_split(state, ops)
            return state
    ws = workspace or kernels.Workspace(state.dtype, kernels.CHUNK, t)  # numpy kernels' scratch
    for op in ops:
        if nk is not None:
            check_interrupt()  # a Ctrl-C that numba dropped while compiling (qsim.interrupts)
        if not op.qubits:  # global phase
            state *= op.data.reshape(-1)[0]
        elif nk is not None and (force or _use_numba(op, n)):
            with _NUMBA_LOCK:  # concurrent launches are unsafe with numba's workqueue layer
                if op.kind == "diag":
                    nk.apply_sorted_diagonal(state, op.data, op.qubits, threads=t)
                elif op.kind == "perm":
                    nk.apply_sorted_permutation(state, op.data, op.qubits, threads=t)
                else:
                    nk.apply_sorted_matrix(state, op.data, op.qubits, threads=t)
        elif op.kind == "diag":
            kernels.apply_sorted_diagonal(state, op.data, op.qubits, threads=t)
        elif op.kind == "perm":
            kernels.apply_sorted_permutation(state, op.data, op.qubits, workspace=ws, threads=t)
        else:
            kernels.apply_sorted_matrix(state, op.data, op.qubits, workspace=ws, threads=t)
    return state


_NUMBA_LOCK = threading.Lock()


#: Largest sub-state, in qubits, that :func:`apply_ops_on_support` gathers (2**20 amplitudes:
#: 16 MiB in complex128, within the fixed overhead the memory guard allows for); it also stays
#: at most a quarter of the state.
SUPPORT_MAX = 20


def _support_view(state: np.ndarray, axes: Sequence[int], n: int) -> np.ndarray:
    """The view of ``state`` where every qubit not in ``axes`` (sorted) is 0: a strided array
    whose C order is the sub-state on ``axes`` (qubit ``axes[0]`` most significant)."""
    inside = [False] * n
    for a in axes:
        inside[a] = True
    shape: list[int] = []
    index: list[Any] = []
    i = 0
    while i < n:        # runs of adjacent qubits all inside or all outside (few dimensions)
        j = i
        while j < n and inside[j] == inside[i]:
            j += 1
        shape.append(1 << (j - i))
        index.append(slice(None) if inside[i] else 0)
        i = j
    return state.reshape(shape)[tuple(index) + (Ellipsis,)]  # (a 0-d view if all are 0)


#: Most nonzero amplitudes :func:`apply_ops_on_support` moves one by one (its index arrays stay
#: under 1 MiB); a fuller sub-state is written back and the operators act on the whole state.
SPARSE_MAX = 1 << 16


def _support_index(i: np.ndarray, axes: Sequence[int], n: int) -> np.ndarray:
    """Full-state index of sub-state entries ``i`` on ``axes`` (sorted; qubit ``axes[0]`` the
    most significant bit of the sub-state index; qubit q is bit n - 1 - q of the full index)."""
    m = len(axes)
    i = np.asarray(i, dtype=np.int64)
    out = np.zeros_like(i)
    for t, q in enumerate(axes):
        out |= ((i >> (m - 1 - t)) & 1) << (n - 1 - q)
    return out


def _sparse_ops(index: np.ndarray, values: np.ndarray, ops: Sequence[FusedOp], n: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """Permutations and diagonals applied to the amplitudes ``values`` at full-state indices
    ``index`` (all others zero): a permutation moves each entry (``(P x)[i] = x[src[i]]``, so
    the entry at pattern c goes to the pattern i with src[i] = c), a diagonal scales it."""
    index, values = index.copy(), values.copy()
    for op in ops:
        k = len(op.qubits)
        c = np.zeros_like(index)
        for t, q in enumerate(op.qubits):
            c |= ((index >> (n - 1 - q)) & 1) << (k - 1 - t)
        if op.kind == "diag":
            values *= np.asarray(op.data, dtype=values.dtype).reshape(-1)[c]
            continue
        src = np.asarray(op.data, dtype=np.int64)
        inv = np.empty_like(src)
        inv[src] = np.arange(src.size)
        new = inv[c]
        for t, q in enumerate(op.qubits):
            b = n - 1 - q
            index = (index & ~(1 << b)) | (((new >> (k - 1 - t)) & 1) << b)
    return index, values


def apply_ops_on_support(state: np.ndarray, ops: Sequence[FusedOp],
                         support: frozenset[int] | None, *, threads: int | None = None
                         ) -> tuple[np.ndarray, frozenset[int] | None]:
    """:func:`apply_ops` for a state whose qubits outside ``support`` are exactly |0> (every
    amplitude with one of them 1 is zero; None: no such knowledge). Returns (state, the new
    support).

    An operator on qubits Q maps that subspace into the one of ``support | Q``, so while the
    support stays small (at most :data:`SUPPORT_MAX` qubits and a quarter of the state), the
    operators are applied to the gathered sub-state only: a circuit that starts from |0...0>
    spends its first blocks on 2**k amplitudes instead of 2**n (a GHZ chain, the first layers
    of any circuit). Permutations and diagonals never add a nonzero amplitude: where one
    would widen the support and the sub-state has few nonzero entries (at most
    :data:`SPARSE_MAX`), it and the permutations and diagonals after it move and scale those
    entries one by one, whatever qubits they touch (a GHZ chain is 2 entries moved through its
    permutations, instead of a sub-state of 2**20)."""
    n = kernels.num_qubits_of(state)
    if support is None:
        return apply_ops(state, ops, threads=threads), None
    grown = set(support)
    limit = min(SUPPORT_MAX, n - 2)
    sparse_ok = True  # (false once the entries were found too many)
    i = 0
    while i < len(ops) and len(grown) <= limit:
        # ops[i:j] on the dense sub-state: the support stays within the limit, and j stops at a
        # permutation or diagonal that widens it (from there the entries may go one by one)
        k, g, stop, g_stop = i, set(grown), None, set(grown)
        while k < len(ops):
            wider = g.union(ops[k].qubits)
            if len(wider) > limit:
                break
            if (sparse_ok and stop is None and ops[k].kind in ("perm", "diag")
                    and len(wider) > len(g)):
                stop, g_stop = k, set(g)
            g = wider
            k += 1
        j, gj = (stop, g_stop) if stop is not None else (k, g)
        j2 = j  # then ops[j:j2], permutations and diagonals: on the nonzero entries
        while j2 < len(ops) and ops[j2].kind in ("perm", "diag"):
            j2 += 1
        if j2 == i:
            break  # a dense operator that would widen the support beyond the limit
        axes = sorted(gj)
        view = _support_view(state, axes, n)
        sub = np.ascontiguousarray(view).reshape(-1)  # may be the state itself
        if j > i:
            pos = {q: t for t, q in enumerate(axes)}
            sub = apply_ops(sub, [FusedOp(op.kind, tuple(pos[q] for q in op.qubits), op.data)
                                  for op in ops[i:j]], threads=1)
        # (nonzero real and imaginary parts: twice the nonzero amplitudes at most, and a count
        # over the float view is cheaper than over the complex one)
        keep = (np.flatnonzero(sub) if sparse_ok and j2 > j and np.count_nonzero(
            sub.view(sub.real.dtype)) <= 2 * SPARSE_MAX else None)
        if keep is not None and keep.size <= SPARSE_MAX:
            at, values = _sparse_ops(_support_index(keep, axes, n), sub[keep], ops[j:j2], n)
            view[...] = 0  # the entries move (sub may be this very memory: values are copies)
            state[at] = values
            grown = gj.union(*(op.qubits for op in ops[j:j2]))
            i = j2
            continue
        view[...] = sub.reshape(view.shape)
        grown, i = gj, j
        if stop is None:
            break  # the sub-state went as far as the limit allows
        sparse_ok = False  # the entries are many: the dense sub-state goes on past ops[j]
    if i < len(ops):
        state = apply_ops(state, ops[i:], threads=threads)
        for op in ops[i:]:
            grown.update(op.qubits)
    return state, (None if len(grown) >= n else frozenset(grown))


#: Fusion settings tried for the split layout (the cheaper result by :func:`split_cost` wins)...
SPLIT_FUSIONS = (FusionConfig(max_dense=2, max_diag=12), FusionConfig(max_dense=1, max_diag=12))
#: ... for circuits of at most this many gates (each try costs a planning pass, ~10 us a gate);
#: longer ones take the first, and so do circuits without a diagonal gate on 2 or more qubits
#: (1-qubit blocks win through the wide diagonals they leave, e.g. a CZ ladder's).
SPLIT_TRY_GATES = 50_000
#: Circuits longer than :data:`SPLIT_TRY_HEAD` gates are tried on their first fifth (at least
#: that many gates), and only the cheaper fusion plans the whole (planning is ~1/5 of a 20-qubit
#: run's time at 2 threads).
SPLIT_TRY_HEAD = 100
SPLIT_TRY_PART = 5


def prepare_ops(ops: Sequence[LoweredOp], fusion: FusionConfig | None = None,
                num_qubits: int | None = None) -> list[FusedOp]:
    """Fuse lowered gates into the operators :func:`apply_ops` applies. Without ``fusion``, for
    ``num_qubits`` large enough to run in the split layout (:func:`split_expected`), the fusion
    is chosen for that layout."""
    size = walked_size(ops) if fusion is None and num_qubits is not None else 0
    if fusion is None and num_qubits is not None and split_expected(num_qubits, size):
        gates = list(lowered_gates(ops, max(cfg.max_dense for cfg in SPLIT_FUSIONS)))
        tries: tuple[FusionConfig, ...] = SPLIT_FUSIONS
        if size > SPLIT_TRY_GATES or not any(g.kind == "diag" and len(g.qubits) > 1
                                             for g in gates):
            tries = SPLIT_FUSIONS[:1]
        if len(tries) > 1:  # decided on the first gates, then planned once
            head = gates[:max(SPLIT_TRY_HEAD, len(gates) // SPLIT_TRY_PART)]
            if len(head) < len(gates):
                tries = (min(tries, key=lambda cfg: _plan_cost(plan_blocks(head, cfg))),)
        # plan each (no matrices), build only the cheaper plan
        best = min((plan_blocks(gates, cfg) for cfg in tries), key=_plan_cost)
        return build_plan(gates, split_mixed_diagonals(best, gates, num_qubits))
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
        return prepare_ops(ops, num_qubits=num_qubits)

    #: Qubits that may be 1 in a nonzero amplitude (all others are exactly |0>); None: unknown.
    #: Known from allocation at |0...0>, grown by each operator's qubits, kept by collapse and
    #: reset (they never make a zero amplitude nonzero); lets the first blocks of a circuit work
    #: on a small sub-state (:func:`apply_ops_on_support`).
    support: frozenset[int] | None = None

    @classmethod
    def allocate(cls, num_qubits: int, dtype: Any, initial: np.ndarray | None = None
                 ) -> DenseState:
        state = cast(DenseState, super().allocate(num_qubits, dtype, initial))
        state.support = frozenset() if initial is None else None
        return state

    def copy(self) -> DenseState:
        out = cast(DenseState, super().copy())
        out.support = self.support
        return out

    def apply(self, prepared: Any) -> None:
        self.data, self.support = apply_ops_on_support(self.data, prepared, self.support,
                                                       threads=self.threads)
