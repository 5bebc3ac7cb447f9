"""A state vector distributed over MPI ranks (``backend="mpi"``, mpi4py; ``pip install 'qsim[mpi]'``).

Run every rank on the same program (``mpiexec -n 4 python script.py`` or ``mpiexec -n 4 qsim run
...``): each rank runs the same engine with the same seed, reads the same outcome probabilities and
so takes the same branches and draws the same samples; every rank ends with the same ``Result``.

**Layout.** With 2**k ranks (``COMM_WORLD``, duplicated for qsim's own messages) and n qubits, each
rank holds 2**(n-k) amplitudes (its *slice*). A basis index's bits are split by *physical
position*: positions 0..k-1 (most significant) are *global* (they select the slice), positions
k..n-1 are the slice's local qubits, in the dense layout (:mod:`qsim.backends.dense`). Logical
qubit q sits at position ``phys[q]``; at the start ``phys`` is the identity, so the k most
significant qubits (qubit 0 first) are global. A rank also knows which global value (``block``,
k bits, position 0 first) its slice holds; ranks may be relabelled (``owner``: block -> rank)
without moving amplitudes.

**Gates.** Fused operators (:func:`qsim.backends.dense.state.prepare_ops`, the dense backend's
fusion) are applied with the dense kernels to the slice. An operator that leaves a global qubit's
value unchanged (a diagonal, a controlled gate whose control is global; checked exactly on its
matrix) is applied with no communication at all: each rank applies the block of the operator
that its global bits select. An operator that changes a global qubit first swaps that qubit with a
local one: the rank and its partner (the rank whose slice differs in that global bit) exchange
half their slices with ``Sendrecv`` in chunks of :data:`EXCHANGE_CHUNK_BYTES` (extra memory: two
such buffers per rank, whatever the register size), and ``phys`` records the new positions instead
of swapping back. Which local qubit leaves is planned with the look-ahead of Belady's paging
algorithm over the prepared block: the one whose next use (as a changed qubit) is furthest in the
future. ``MPIState.schedule`` selects ``"belady"`` (default), ``"lazy"`` (no look-ahead: the most
significant free local qubit) or ``"swapback"`` (every exchange undone after its operator, the
classic per-gate scheme) for comparison.

**Measurement.** ``probabilities`` sums each slice locally and combines the ranks' partial sums with
one reduction to rank 0 and a broadcast, so that every rank holds bit-for-bit the same float64
array (an ``Allreduce`` may round differently on different ranks, and the engine's random draws
must not diverge). Collapse is local; a reset of a global qubit relabels the ranks (no exchange);
:meth:`MPIState.factorizes` swaps a global qubit in first.

**Memory.** :meth:`MPIState.check_memory` counts per rank: the slices, the exchange buffers and the
engine's host memory (probabilities, samples), against ``max_memory`` (per rank) or the least, over
the ranks, of the memory available on the rank's node divided by the ranks on that node; every
rank reaches the same verdict. :meth:`MPIState.to_host` gathers the whole vector on every rank
(only for ``simulate``, ``keep_state`` and the state listings) and is refused first when the whole
vector does not fit.
"""

from __future__ import annotations

import bisect
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..compile.fusion import FusedOp, FusionConfig
from ..compile.lower import LoweredOp
from ..errors import QsimError, SimulationError
from ..resources import available_memory, human_bytes
from .base import State
from .dense import kernels
from .dense.state import (
    DEFAULT_FUSION,
    DenseState,
    apply_ops,
    prepare_ops,
    split_expected,
    walked_size,
)
from .vector import collapse as vector_collapse
from .vector import marginal_probabilities
from .vector import qubit_weights as vector_qubit_weights

#: Bytes per message of a swap's exchange (two buffers of this size per rank at most).
EXCHANGE_CHUNK_BYTES = 1 << 22
#: Swap schedules (see the module docstring).
SCHEDULES = ("belady", "lazy", "swapback")
_TAG = 14


# --- the communicator ---------------------------------------------------------------------------
class _Comm:
    """mpi4py's MPI module, qsim's duplicate of COMM_WORLD, and the ranks on this rank's node."""

    def __init__(self) -> None:
        try:
            from mpi4py import MPI
        except (ImportError, RuntimeError, OSError) as exc:  # no mpi4py, or no MPI library
            raise SimulationError(f"the mpi backend needs mpi4py and an MPI library: pip install "
                                  f"'qsim[mpi]' ({exc})") from None
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD.Dup()  # collective: every rank's first use of the backend
        self.rank = int(self.comm.Get_rank())
        self.size = int(self.comm.Get_size())
        node = self.comm.Split_type(MPI.COMM_TYPE_SHARED)
        self.node_size = int(node.Get_size())
        node.Free()

    def allreduce_min(self, value: int) -> int:
        return int(self.comm.allreduce(int(value), op=self.MPI.MIN))

    def sum_same(self, arr: np.ndarray) -> np.ndarray:
        """Sum ``arr`` (float64, same shape on every rank) over the ranks, in place; every rank
        gets the same bits (reduced on rank 0, then broadcast)."""
        if self.size == 1:
            return arr
        if self.rank == 0:
            self.comm.Reduce(self.MPI.IN_PLACE, arr, op=self.MPI.SUM, root=0)
        else:
            self.comm.Reduce(arr, None, op=self.MPI.SUM, root=0)
        self.comm.Bcast(arr, root=0)
        return arr


_COMM: _Comm | None = None


def communicator() -> _Comm:
    """The backend's communicator (MPI is initialised on first use; SimulationError without
    mpi4py)."""
    global _COMM
    if _COMM is None:
        _COMM = _Comm()
    return _COMM


def _ranks(num_qubits: int) -> tuple[_Comm, int]:
    """The communicator and k = log2(ranks); SimulationError unless 2**k ranks, 2**k <= 2**n."""
    c = communicator()
    size = c.size
    if size & (size - 1):
        raise SimulationError(f"the mpi backend needs a power of two of MPI ranks (1, 2, 4, 8, "
                              f"...), got {size}")
    k = size.bit_length() - 1
    if k > num_qubits:
        raise SimulationError(f"{size} MPI ranks are more than the 2**{num_qubits} = "
                              f"{1 << num_qubits} amplitudes of a {num_qubits}-qubit register; "
                              f"use at most {1 << num_qubits} ranks")
    return c, k


# --- exchange statistics ----------------------------------------------------------------------------
@dataclass
class ExchangeStats:
    """What this rank sent since the last :func:`reset_exchange_stats`: ``bytes`` and ``swaps``
    (a swap sends half the rank's slice), and ``seconds`` spent in the exchanges (wall time)."""

    bytes: int = 0
    swaps: int = 0
    seconds: float = 0.0


STATS = ExchangeStats()


def reset_exchange_stats() -> None:
    STATS.bytes = 0
    STATS.swaps = 0
    STATS.seconds = 0.0


# --- prepared blocks and the swap planner -------------------------------------------------------------
def changed_qubits(op: FusedOp) -> tuple[int, ...]:
    """The qubits whose value ``op`` can change (exactly: a qubit is *passive* when no nonzero
    matrix entry links basis states that differ in it). A passive qubit may stay global."""
    m = len(op.qubits)
    if op.kind == "diag" or m == 0:
        return ()
    out = []
    if op.kind == "perm":
        i = np.arange(1 << m)
        src = np.asarray(op.data)
        for t in range(m):
            b = m - 1 - t
            if np.any(((i >> b) & 1) != ((src >> b) & 1)):
                out.append(op.qubits[t])
        return tuple(out)
    a = np.asarray(op.data).reshape((2,) * (2 * m))
    for t in range(m):
        v = np.moveaxis(a, (t, m + t), (0, 1))
        if np.any(v[0, 1] != 0) or np.any(v[1, 0] != 0):
            out.append(op.qubits[t])
    return tuple(out)


@dataclass
class Prepared:
    """A prepared run of gates: the fused operators, the qubits each changes, and for each qubit
    the (sorted) indices of the operators that change it (the planner's look-ahead)."""

    ops: list[FusedOp]
    changed: list[tuple[int, ...]]
    uses: dict[int, list[int]] = field(default_factory=dict)

    def next_use(self, qubit: int, after: int) -> int:
        """Index of the first operator after ``after`` that changes ``qubit`` (len(ops) if none)."""
        u = self.uses.get(qubit, [])
        j = bisect.bisect_right(u, after)
        return u[j] if j < len(u) else len(self.ops)


def fusion_config(local_qubits: int) -> FusionConfig:
    """The dense backend's fusion, with dense and permutation blocks no wider than the local
    qubits (a block's changed qubits must all be local at once)."""
    w = max(1, local_qubits)
    d = DEFAULT_FUSION
    return FusionConfig(max_dense=min(d.max_dense, w), max_perm=min(d.max_perm, w),
                        max_diag=d.max_diag)


def prepare_distributed(ops: Sequence[LoweredOp], num_qubits: int, k: int) -> Prepared:
    """Fuse ``ops`` for 2**k ranks; SimulationError when a gate changes more qubits than are
    local."""
    local = num_qubits - k
    if local >= DEFAULT_FUSION.max_perm and split_expected(num_qubits, walked_size(ops)):
        # the dense backend's choice for the split layout (its blocks fit the local qubits), so
        # that the fused operators, and at one rank the state bit for bit, are the same
        return prepared_from_ops(prepare_ops(ops, num_qubits=num_qubits), num_qubits, k)
    return prepared_from_ops(prepare_ops(ops, fusion_config(local)), num_qubits, k)


def prepared_from_ops(fused: Sequence[FusedOp], num_qubits: int, k: int) -> Prepared:
    """A :class:`Prepared` block of fused operators (qubits increasing) for 2**k ranks."""
    local = num_qubits - k
    changed = [changed_qubits(op) for op in fused]
    uses: dict[int, list[int]] = {}
    for i, ch in enumerate(changed):
        if len(ch) > local:
            raise SimulationError(
                f"a gate changes {len(ch)} qubits at once, but with {1 << k} MPI ranks only "
                f"{local} of the {num_qubits} qubits are local to a rank; use at most "
                f"{1 << max(0, num_qubits - len(ch))} ranks")
        for q in ch:
            uses.setdefault(q, []).append(i)
    return Prepared(list(fused), changed, uses)


class Layout:
    """Where each logical qubit is (``phys``: qubit -> position, ``log``: position -> qubit), for
    n qubits of which the first k positions are global, and which global value each rank holds
    (``owner``: block -> rank). Plans swaps without touching amplitudes, so a dry run
    (:func:`count_swaps`) plans exactly what :class:`MPIState` executes."""

    def __init__(self, n: int, k: int) -> None:
        self.n, self.k = n, k
        self.phys = list(range(n))
        self.log = list(range(n))
        self.owner = list(range(1 << k))
        #: When each qubit was last changed (operators counted over the state's life): ties of
        #: the look-ahead (qubits not used again in the block) evict the least recently used.
        self.last_use = [0] * n
        self.tick = 0

    def copy(self) -> Layout:
        out = object.__new__(Layout)
        out.n, out.k = self.n, self.k
        out.phys, out.log, out.owner = list(self.phys), list(self.log), list(self.owner)
        out.last_use, out.tick = list(self.last_use), self.tick
        return out

    def touch(self, changed: Sequence[int]) -> None:
        """Record that an operator changed the qubits ``changed``."""
        self.tick += 1
        for q in changed:
            self.last_use[q] = self.tick

    def is_global(self, q: int) -> bool:
        return self.phys[q] < self.k

    def swap(self, g: int, pos: int) -> None:
        """Record the swap of positions ``g`` (global) and ``pos`` (local)."""
        a, b = self.log[g], self.log[pos]
        self.log[g], self.log[pos] = b, a
        self.phys[a], self.phys[b] = pos, g

    def victim(self, keep: set[int], prepared: Prepared | None, index: int,
               schedule: str) -> int:
        """The local position to send away: not holding a qubit of ``keep``; with ``"belady"``
        the one whose qubit is next changed furthest in the future (ties: the least recently
        used, then the most significant position, whose halves are the longest contiguous
        runs); otherwise the most significant free position."""
        free = [p for p in range(self.k, self.n) if self.log[p] not in keep]
        if not free:  # prepare_distributed refuses such operators
            raise SimulationError("no local qubit is free for a swap")
        if schedule != "belady" or prepared is None:
            return free[0]
        last = self.last_use
        return max(free, key=lambda p: (prepared.next_use(self.log[p], index),
                                        -last[self.log[p]], -p))

    def plan(self, changed: Sequence[int], prepared: Prepared | None, index: int,
             schedule: str) -> list[tuple[int, int]]:
        """Swaps that make every qubit of ``changed`` local, recorded in the layout."""
        swaps = []
        keep = set(changed)
        for q in sorted((q for q in changed if self.is_global(q)), key=self.phys.__getitem__):
            g = self.phys[q]
            pos = self.victim(keep, prepared, index, schedule)
            self.swap(g, pos)
            swaps.append((g, pos))
        return swaps


def count_swaps(prepared: Prepared, n: int, k: int, schedule: str = "belady",
                layout: Layout | None = None) -> int:
    """Swaps :class:`MPIState` makes to apply ``prepared`` on 2**k ranks from ``layout`` (default:
    the initial one; updated), without any amplitudes (a planning dry run)."""
    lay = layout or Layout(n, k)
    total = 0
    for i, ch in enumerate(prepared.changed):
        if any(lay.is_global(q) for q in ch):
            swaps = lay.plan(ch, prepared, i, schedule)
            total += len(swaps)
            if schedule == "swapback":
                for g, pos in reversed(swaps):
                    lay.swap(g, pos)
                total += len(swaps)
        lay.touch(ch)
    return total


def swap_lower_bound(prepared: Prepared, n: int, k: int) -> int:
    """A lower bound on the swaps any schedule needs for ``prepared`` from the initial layout:
    the larger of (a) the qubits that start global and are ever changed (each must come in once)
    and (b) the number of windows of consecutive operators, cut greedily, that together change
    n-k+1 distinct qubits (with n-k local positions, the local set must change within each
    window, and windows overlap in one operator only, so their swaps are distinct)."""
    initial = sum(1 for q in range(min(k, n)) if prepared.uses.get(q))
    windows = 0
    seen: set[int] = set()
    for ch in prepared.changed:
        if len(seen.union(ch)) > n - k:
            windows += 1
            seen = set(ch)
        else:
            seen.update(ch)
    return max(initial, windows)


# --- small operator algebra ------------------------------------------------------------------------
def restrict(op: FusedOp, layout: Layout, block: int) -> FusedOp | None:
    """The part of ``op`` this rank applies to its slice: its global qubits (passive) fixed at
    the rank's values, its local ones renamed to slice qubits (sorted, data reordered to match).
    None when nothing is left to do."""
    k = layout.k
    qs = op.qubits
    m = len(qs)
    if m == 0:
        return op
    pos = [layout.phys[q] for q in qs]
    lo = [t for t in range(m) if pos[t] >= k]
    idx: list[Any] = [slice(None)] * m
    for t in range(m):
        if pos[t] < k:
            idx[t] = (block >> (k - 1 - pos[t])) & 1
    order = sorted(range(len(lo)), key=lambda j: pos[lo[j]])
    targets = tuple(pos[lo[j]] - k for j in order)
    L = len(lo)
    data = np.asarray(op.data)
    if op.kind == "diag":
        d = data.reshape((2,) * m)[tuple(idx)]
        d = kernels.sort_vector(d, order) if L else np.asarray(d).reshape(1)
        return FusedOp("diag", targets, np.ascontiguousarray(d))
    if op.kind == "perm":
        full = np.arange(1 << m).reshape((2,) * m)[tuple(idx)]
        s = data[np.asarray(full).ravel()]
        sub = np.zeros(1 << L, dtype=np.intp)
        for j, t in enumerate(lo):
            sub |= ((s >> (m - 1 - t)) & 1) << (L - 1 - j)
        if L == 0 or np.array_equal(sub, np.arange(1 << L)):
            return None
        return FusedOp("perm", targets, kernels.sort_permutation(sub, order))
    mat = data.reshape((2,) * (2 * m))[tuple(idx) + tuple(idx)]
    if L == 0:
        return FusedOp("diag", (), np.asarray(mat).reshape(1))
    return FusedOp("dense", targets, np.ascontiguousarray(kernels.sort_matrix(mat, order)))


def _default_threads(node_size: int) -> int:
    """Kernel threads per rank when none were asked for: the CPUs shared between the ranks of the
    node (QSIM_NUM_THREADS / OMP_NUM_THREADS still win, as in the dense backend)."""
    for var in ("QSIM_NUM_THREADS", "OMP_NUM_THREADS"):
        v = os.environ.get(var, "").strip()
        if v.isdigit() and int(v) > 0:
            return int(v)
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return max(1, cpus // max(1, node_size))


# --- the state --------------------------------------------------------------------------------------
class MPIState(State):
    """A state vector split over 2**k MPI ranks: this rank's ``local`` slice of 2**(n-k) amplitudes
    (see the module docstring). ``bytes_exchanged``: bytes this rank sent for this state (and
    the states it was copied from); ``swaps``: the swaps they made."""

    name: ClassVar[str] = "mpi"
    capabilities: ClassVar[frozenset[str]] = frozenset({"merge_resets"})
    #: Swap schedule: "belady", "lazy" or "swapback" (see the module docstring).
    schedule: ClassVar[str] = "belady"
    #: ``max_memory`` of the last :meth:`check_memory` (the engine checks, then allocates): the
    #: limit :meth:`to_host` applies to the gathered vector.
    _last_limit: ClassVar[int | None] = None

    def __init__(self, local: np.ndarray, num_qubits: int, layout: Layout, block: int,
                 max_memory: int | None) -> None:
        self.comm = communicator()
        self.local = local
        self.num_qubits = num_qubits
        self.dtype = local.dtype
        self.layout = layout
        self.block = block
        self.max_memory = max_memory
        self.bytes_exchanged = 0
        self.swaps = 0

    # --- class side ------------------------------------------------------------------------------
    @classmethod
    def check_memory(cls, num_qubits: int, dtype: Any, max_memory: int | None = None,
                     copies: int = 1, extra: int = 0, extra_what: str = "") -> int:
        c, k = _ranks(num_qubits)
        cls._last_limit = max_memory
        if c.size == 1:
            return super().check_memory(num_qubits, dtype, max_memory, copies, extra, extra_what)
        itemsize = np.dtype(dtype).itemsize
        one = itemsize << (num_qubits - k)
        need = one * copies + extra + 2 * min(EXCHANGE_CHUNK_BYTES, one // 2)
        limit, kind = _limit(c, max_memory)
        if need > limit:
            states = "the state" if copies == 1 else f"{copies} states"
            also = f" and {human_bytes(extra)} for {extra_what}" if extra > 0 else ""
            raise SimulationError(
                f"a {num_qubits}-qubit state vector split over {c.size} MPI ranks needs "
                f"{human_bytes(need)} per rank ({need:,} bytes: {states} of {human_bytes(one)} "
                f"per rank{also}, exchange buffers included; {human_bytes(need * c.size)} in "
                f"all), more than the {kind} of {human_bytes(limit)} per rank; use more ranks "
                f"or nodes", bytes_needed=need)
        return one

    @classmethod
    def work(cls, ops: Sequence[LoweredOp]) -> int:
        return DenseState.work(ops)

    @classmethod
    def allocate(cls, num_qubits: int, dtype: Any, initial: np.ndarray | None = None
                 ) -> MPIState:
        c, k = _ranks(num_qubits)
        size = 1 << (num_qubits - k)
        layout = Layout(num_qubits, k)
        block = c.rank  # the initial owner map is the identity
        if initial is None:
            local = np.zeros(size, dtype=dtype)
            if block == 0:
                local[0] = 1
        else:
            flat = np.asarray(initial).ravel()
            local = np.array(flat[block * size:(block + 1) * size], dtype=dtype, copy=True)
        return cls(local, num_qubits, layout, block, cls._last_limit)

    @classmethod
    def prepare(cls, ops: Sequence[LoweredOp], num_qubits: int) -> Prepared:
        _, k = _ranks(num_qubits)
        return prepare_distributed(ops, num_qubits, k)

    # --- gates -------------------------------------------------------------------------------------
    def _threads(self) -> int:
        return self.threads if self.threads is not None else _default_threads(
            self.comm.node_size)

    def _flush(self, pending: list[FusedOp]) -> None:
        if pending:
            self.local = apply_ops(self.local, pending, threads=self._threads())
            pending.clear()

    def apply(self, prepared: Any) -> None:
        lay = self.layout
        schedule = type(self).schedule
        if schedule not in SCHEDULES:
            raise SimulationError(f"unknown swap schedule {schedule!r}; choose one of "
                                  f"{', '.join(SCHEDULES)}")
        pending: list[FusedOp] = []
        for i, op in enumerate(prepared.ops):
            ch = prepared.changed[i]
            swaps: list[tuple[int, int]] = []
            if any(lay.is_global(q) for q in ch):
                self._flush(pending)
                swaps = lay.plan(ch, prepared, i, schedule)
                for g, pos in swaps:
                    self._exchange(g, pos)
            lay.touch(ch)
            r = restrict(op, lay, self.block)
            if r is not None:
                pending.append(r)
            if schedule == "swapback" and swaps:
                self._flush(pending)
                for g, pos in reversed(swaps):
                    lay.swap(g, pos)
                    self._exchange(g, pos)
        self._flush(pending)

    def _exchange(self, g: int, pos: int) -> None:
        """Move the amplitudes for the swap of global position ``g`` and local position ``pos``
        (already recorded in the layout): send the half of the slice whose local bit differs from
        this rank's global bit to the partner rank, receive the partner's into it. Chunks of
        EXCHANGE_CHUNK_BYTES; strided halves are packed into a send buffer first."""
        t0 = time.perf_counter()
        c, k, n = self.comm, self.layout.k, self.num_qubits
        shift = k - 1 - g
        a = (self.block >> shift) & 1
        partner = self.layout.owner[self.block ^ (1 << shift)]
        lq = pos - k
        nl = n - k
        v = self.local.reshape(1 << lq, 2, 1 << (nl - lq - 1))[:, 1 - a, :]
        rows, run = v.shape
        chunk = max(1, EXCHANGE_CHUNK_BYTES // self.local.itemsize)
        half = rows * run
        recv = np.empty(min(chunk, half), dtype=self.local.dtype)
        comm = c.comm
        if run >= chunk:
            for r in range(rows):
                for s in range(0, run, chunk):
                    piece = v[r, s:s + chunk]
                    buf = recv[:piece.size]
                    comm.Sendrecv(piece, partner, _TAG, buf, partner, _TAG)
                    piece[...] = buf
        else:
            per = chunk // run
            send = np.empty(min(chunk, half), dtype=self.local.dtype)
            for r0 in range(0, rows, per):
                piece = v[r0:r0 + per]
                cnt = piece.size
                sb = send[:cnt].reshape(piece.shape)
                rb = recv[:cnt].reshape(piece.shape)
                np.copyto(sb, piece)
                comm.Sendrecv(send[:cnt], partner, _TAG, recv[:cnt], partner, _TAG)
                piece[...] = rb
        sent = half * self.local.itemsize
        self.bytes_exchanged += sent
        self.swaps += 1
        STATS.bytes += sent
        STATS.swaps += 1
        STATS.seconds += time.perf_counter() - t0

    def _make_local(self, q: int) -> None:
        """Swap qubit ``q`` into the slice if it is global (no look-ahead here)."""
        if self.layout.is_global(q):
            for g, pos in self.layout.plan([q], None, 0, "lazy"):
                self._exchange(g, pos)

    # --- measurement --------------------------------------------------------------------------------
    def _bit(self, position: int) -> int:
        k = self.layout.k
        return (self.block >> (k - 1 - position)) & 1

    def probabilities(self, qubits: Sequence[int]) -> np.ndarray:
        qs = [int(q) for q in qubits]
        m = len(qs)
        k = self.layout.k
        phys = self.layout.phys
        lo = [t for t in range(m) if phys[qs[t]] >= k]
        out = np.zeros(1 << m, dtype=np.float64)
        part = marginal_probabilities(self.local, [phys[qs[t]] - k for t in lo])
        idx = tuple(slice(None) if phys[q] >= k else self._bit(phys[q]) for q in qs)
        out.reshape((2,) * m)[idx] = part.reshape((2,) * len(lo))
        return self.comm.sum_same(out)

    def qubit_weights(self, qubit: int) -> tuple[float, float]:
        """Squared norms of the qubit's 0 and 1 parts. Weights within a few ulps of each other
        are returned equal: the distributed sums round differently from one process, and the
        engine's binomial draw jumps at p = 1/2 (numpy draws Bin(n, 1-p) for p > 1/2), so an
        exact 50/50 split (a Hadamard, a Bell pair) must stay exactly 1/2 to draw as on one
        process."""
        lay = self.layout
        p = lay.phys[qubit]
        if p >= lay.k:  # the dense backend's sum, on the slice (one rank: bit for bit the same)
            w = np.array(vector_qubit_weights(self.local, p - lay.k), dtype=np.float64)
        else:
            w = np.zeros(2, dtype=np.float64)
            r = self.local.view(self.local.real.dtype)
            w[self._bit(p)] = np.einsum("i,i->", r, r, dtype=np.float64)
        w = self.comm.sum_same(w)
        w0, w1 = float(w[0]), float(w[1])
        if self.comm.size > 1 and abs(w0 - w1) <= 8 * np.finfo(np.float64).eps * (w0 + w1):
            w0 = w1 = (w0 + w1) / 2
        return w0, w1

    def collapse(self, qubit: int, outcome: int, weight: float) -> None:
        self._project(qubit, outcome, weight, reset=False)

    def reset(self, qubit: int, outcome: int, weight: float) -> None:
        self._project(qubit, outcome, weight, reset=True)

    def _project(self, qubit: int, outcome: int, weight: float, reset: bool) -> None:
        lay = self.layout
        p = lay.phys[qubit]
        if p >= lay.k:
            vector_collapse(self.local, p - lay.k, outcome, weight, reset=reset)
            return
        if self._bit(p) == outcome:
            self.local *= 1 / np.sqrt(weight)
        else:
            self.local[...] = 0
        if reset and outcome:
            # The kept part moves to qubit value 0: relabel the ranks, no amplitude moves.
            bit = 1 << (lay.k - 1 - p)
            owner = lay.owner
            lay.owner = [owner[b ^ bit] for b in range(len(owner))]
            self.block ^= bit

    def factorizes(self, qubit: int, w0: float, w1: float) -> bool:
        self._make_local(qubit)
        k = self.layout.k
        q = self.layout.phys[qubit] - k
        nl = self.num_qubits - k
        r = self.local.view(self.local.real.dtype).reshape(1 << q, 2, 1 << (nl - q - 1), 2)
        a, b = r[:, 0], r[:, 1]
        sums = np.array([
            np.einsum("ijk,ijk->", a, b, dtype=np.float64),
            np.einsum("ij,ij->", a[..., 0], b[..., 1], dtype=np.float64)
            - np.einsum("ij,ij->", a[..., 1], b[..., 0], dtype=np.float64)])
        re, im = self.comm.sum_same(sums)
        tol = 1e-12 if self.dtype == np.complex128 else 1e-5
        return bool(1 - (re * re + im * im) / (w0 * w1) < tol)

    # --- copies and output ----------------------------------------------------------------------------
    def copy(self) -> MPIState:
        out = type(self)(self.local.copy(), self.num_qubits, self.layout.copy(), self.block,
                         self.max_memory)
        out.threads = self.threads
        out.bytes_exchanged, out.swaps = self.bytes_exchanged, self.swaps
        return out

    def to_host(self) -> np.ndarray:
        """The whole vector in logical order (qubit 0 most significant), on every rank: gathered,
        then put in order by swapping qubit axes in place. One rank: the slice itself."""
        c = self.comm
        if c.size == 1:
            return self.local
        n = self.num_qubits
        full = self.dtype.itemsize << n
        limit, kind = _limit(c, self.max_memory)
        if full + self.nbytes > limit:
            raise SimulationError(
                f"gathering the {n}-qubit state vector on every rank needs {human_bytes(full)} "
                f"per rank ({full:,} bytes) besides the rank's slice, more than the {kind} of "
                f"{human_bytes(limit)} per rank", bytes_needed=full + self.nbytes)
        out = np.empty(1 << n, dtype=self.dtype)
        size = self.local.size
        rank_block = [0] * c.size
        for b, r in enumerate(self.layout.owner):
            rank_block[r] = b
        mpitype = c.MPI.C_DOUBLE_COMPLEX if self.dtype.itemsize == 16 else c.MPI.C_FLOAT_COMPLEX
        c.comm.Allgatherv(self.local, [out, [size] * c.size, [b * size for b in rank_block],
                                       mpitype])
        cur = list(self.layout.log)  # qubit on each axis of ``out``
        swap = np.array([0, 2, 1, 3], dtype=np.intp)
        for q in range(n):
            if cur[q] != q:
                j = cur.index(q)
                kernels.apply_permutation(out, swap, [q, j])
                cur[q], cur[j] = cur[j], cur[q]
        return out

    @property
    def nbytes(self) -> int:
        """Bytes of this rank's slice."""
        return int(self.local.nbytes)


def _limit(c: _Comm, max_memory: int | None) -> tuple[int, str]:
    """Bytes one rank may use, the same on every rank: ``max_memory`` (per rank), else the least
    over the ranks of the node's available memory shared by the ranks on that node."""
    if max_memory is not None:
        return int(max_memory), "memory limit"
    return c.allreduce_min(available_memory() // max(1, c.node_size)), "memory available"


# --- the command line ---------------------------------------------------------------------------------
_CLI_ACTIVE = False


def cli_rank() -> bool:
    """Start an MPI run of the ``qsim`` command: every rank computes, only rank 0 prints and
    writes (the other ranks' stdout and stderr go to /dev/null). Returns whether this is rank 0."""
    global _CLI_ACTIVE
    c = communicator()
    _CLI_ACTIVE = True
    if c.rank != 0:
        sys.stdout.flush()
        sys.stderr.flush()
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 1)
            os.dup2(null, 2)
        finally:
            os.close(null)
    return c.rank == 0


def cli_exit_code(exc: BaseException | None) -> int | None:
    """At the end of an MPI run of the command (after :func:`cli_rank`): the exit code every rank
    must end with when it differs from this rank's own, else None (also outside such a run, and
    with one rank).

    ``exc``: what ended the command on this rank (None: success; click's ``Exit`` carries the
    original exception as its ``__context__``). A qsim error (the same on every rank: input and
    memory checks are collective) or an output error (rank 0 only, after the simulation) is
    settled by one reduction: the largest code wins. Anything else (MemoryError, an interrupt, a
    bug) may have left other ranks waiting inside a collective, so it aborts the whole job with
    its code instead of hanging."""
    global _CLI_ACTIVE
    if not _CLI_ACTIVE:
        return None
    _CLI_ACTIVE = False
    code = 0
    cause: BaseException | None = exc
    if exc is not None:
        given = getattr(exc, "exit_code", None)
        if isinstance(given, int):
            code, cause = given, exc.__context__
        elif isinstance(exc, SystemExit):
            code = exc.code if isinstance(exc.code, int) else 1
        else:
            code = 1
    c = communicator()
    if c.size == 1:
        return None
    if cause is not None and not isinstance(cause, (QsimError, OSError)) and code:
        sys.stdout.flush()
        sys.stderr.flush()
        c.MPI.COMM_WORLD.Abort(int(code))
    agreed = int(c.comm.allreduce(int(code), op=c.MPI.MAX))
    return None if agreed == code else agreed
