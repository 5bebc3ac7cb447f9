"""Dense state-vector kernels: apply a k-qubit operator to an n-qubit state in place.

State layout: a flat C-contiguous complex vector (complex128 or complex64) of length 2**n;
``state.reshape((2,) * n)`` has axis q = qubit q (qubit 0 leftmost / most significant). No kernel
copies the whole state: each works through the state in chunks of about :data:`CHUNK` elements,
using two small scratch buffers (a :class:`Workspace`), so the extra memory is a few hundred KiB.

Three kinds of operator, each on any set of target qubits (the operator's first factor acts on
``qubits[0]``, as in :func:`qsim.kron.embed`):

* :func:`apply_matrix` -- a dense ``2**k x 2**k`` matrix: per chunk, the amplitudes are gathered
  into a scratch matrix whose rows (or columns) are indexed by the target bits, multiplied with one
  BLAS GEMM, and scattered back. When the targets are the lowest qubits the chunk already *is* a
  ``(rows, 2**k)`` matrix, and when they are adjacent it is a strided ``(2**k, cols)`` matrix that
  BLAS reads directly; neither needs the gather.
* :func:`apply_diagonal` -- in-place multiplication by the diagonal, broadcast over a strided view
  (the diagonal is widened over the lowest qubits so the inner loop runs over >= 32 contiguous
  elements).
* :func:`apply_permutation` -- a 0/1 permutation matrix given as an index map, done as a gather /
  row shuffle / scatter per chunk.

Chunks are independent, so with ``threads > 1`` they are split between a small pool of threads
(numpy and BLAS release the GIL); each thread has its own scratch buffers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

#: Elements per chunk (scratch buffer size). Tuned with benchmarks/dev_kernels.py.
CHUNK = 1 << 14
#: The lowest qubits a diagonal is widened over, so that its inner loop is 2**DIAG_INNER long.
DIAG_INNER = 5
#: ... but a widened diagonal has at most this many qubits (2**16 elements = 1 MiB).
DIAG_MAX_WIDE = 16
#: States smaller than this run on one thread whatever ``threads`` says.
MIN_PARALLEL = 1 << 16


def num_qubits_of(state: np.ndarray) -> int:
    return int(state.size).bit_length() - 1


def default_threads() -> int:
    """Threads for the kernels: ``QSIM_NUM_THREADS``, else ``OMP_NUM_THREADS``, else the CPUs this
    process may run on."""
    for var in ("QSIM_NUM_THREADS", "OMP_NUM_THREADS"):
        v = os.environ.get(var, "").strip()
        if v.isdigit() and int(v) > 0:
            return int(v)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class Workspace:
    """Scratch buffers for the chunked kernels: two per thread, ``size`` elements each.

    ``fill`` (e.g. ``np.nan``) pre-fills them, so a test can catch a kernel that reads scratch
    memory before writing it.
    """

    def __init__(self, dtype: Any, size: int = CHUNK, threads: int = 1,
                 fill: complex | None = None) -> None:
        self.dtype = np.dtype(dtype)
        self.size = int(size)
        self.threads = max(1, int(threads))
        self._fill = fill
        self._bufs: list[tuple[np.ndarray, np.ndarray]] = []

    def buffers(self, worker: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        """The two scratch buffers of ``worker``, at least ``size`` elements each."""
        while len(self._bufs) <= worker:
            self._bufs.append(self._new(self.size))
        a, b = self._bufs[worker]
        if a.size < size:
            a, b = self._new(size)
            self._bufs[worker] = (a, b)
        return a, b

    def _new(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = np.empty(size, self.dtype), np.empty(size, self.dtype)
        if self._fill is not None:
            a.fill(self._fill)
            b.fill(self._fill)
        return a, b


_CONTROLLER: Any = None


def _blas_controller() -> Any:
    """threadpoolctl's view of the BLAS libraries loaded in this process, found once (finding
    them walks the loaded libraries; setting their thread count afterwards is cheap)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController().select(user_api="blas")
    return _CONTROLLER


class single_threaded_blas:  # noqa: N801 - used as a context manager
    """Context manager: BLAS (OpenBLAS, MKL, BLIS, ...) runs single-threaded inside, restored on
    exit. The kernels call GEMM on chunks of :data:`CHUNK` elements, too small for BLAS threads
    to help, and BLAS threads there fight the kernels' own pool and other processes for cores."""

    def __enter__(self) -> single_threaded_blas:
        self._limit = _blas_controller().limit(limits=1)
        return self

    def __exit__(self, *exc: object) -> None:
        self._limit.restore_original_limits()


_POOL: ThreadPoolExecutor | None = None


def _pool(workers: int) -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None or _POOL._max_workers < workers:  # noqa: SLF001
        _POOL = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="qsim")
    return _POOL


def _run(work: Callable[[int, Sequence[Any]], None], items: Sequence[Any], threads: int) -> None:
    """``work(worker, items_part)`` over ``items`` split into ``threads`` contiguous parts."""
    t = min(threads, len(items))
    if t <= 1:
        work(0, items)
        return
    bounds = [len(items) * i // t for i in range(t + 1)]
    futures = [_pool(t - 1).submit(work, i, items[bounds[i]:bounds[i + 1]]) for i in range(1, t)]
    work(0, items[bounds[0]:bounds[1]])
    for f in futures:
        f.result()


# --- layouts ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Layout:
    """How to walk a state in chunks for an operator on sorted target ``axes``.

    ``kind``: ``"row"`` (chunk is a contiguous ``(rows, K)`` matrix), ``"col"`` (chunk is a strided
    ``(..., K, cols)`` matrix BLAS reads directly), ``"grow"`` / ``"gcol"`` (gather the chunk into
    scratch as ``(cols, K)`` / ``(K, cols)``). ``shape``: the view of the state that chunk
    indices (:meth:`index`) apply to: integers on the ``outer`` dims (position, log2 size),
    ``split_len``-long slices on dim ``split``, whole other dims. ``perm``/``inv``/``tshape``:
    sub-view -> scratch transposition; ``torder``: the targets' order in the scratch when not
    increasing.
    """

    kind: str
    shape: tuple[int, ...]
    outer: tuple[tuple[int, int], ...]
    split: int
    split_len: int
    perm: tuple[int, ...]
    inv: tuple[int, ...]
    tshape: tuple[int, ...]
    size: int
    torder: tuple[int, ...] | None = None

    @property
    def nchunks(self) -> int:
        return (self.shape[self.split] // self.split_len) << sum(b for _, b in self.outer)

    def index(self, c: int) -> tuple[Any, ...]:
        """The index tuple of chunk ``c`` (0 <= c < nchunks) into the ``shape`` view."""
        idx: list[Any] = [slice(None)] * len(self.shape)
        nsl = self.shape[self.split] // self.split_len
        st = (c % nsl) * self.split_len
        idx[self.split] = slice(st, st + self.split_len)
        c //= nsl
        for pos, bits in reversed(self.outer):
            idx[pos] = c & ((1 << bits) - 1)
            c >>= bits
        return tuple(idx)


def _gaps(n: int, axes: Sequence[int]) -> list[int]:
    """log2 sizes of the runs of non-target axes before, between and after the sorted targets."""
    g = [axes[0]]
    g += [axes[i + 1] - axes[i] - 1 for i in range(len(axes) - 1)]
    g.append(n - 1 - axes[-1])
    return g


@lru_cache(maxsize=1024)
def _layout(n: int, axes: tuple[int, ...], chunk: int) -> _Layout:
    m = len(axes)
    K = 1 << m
    cl = max(chunk.bit_length() - 1, m)
    cb = min(cl - m, n - m)  # log2 of the non-target elements per chunk
    g = _gaps(n, axes)
    if axes == tuple(range(n - m, n)):  # lowest qubits: rows of a contiguous matrix
        rows = 1 << cb
        return _Layout("row", (1 << (n - m), K), (), 0, rows, (), (), (rows, K), rows * K)
    if axes == tuple(range(axes[0], axes[0] + m)) and g[m] >= 4:  # adjacent, long runs
        shape3 = (1 << g[0], K, 1 << g[m])
        if g[m] >= cb:
            w = 1 << cb
            return _Layout("col", shape3, ((0, g[0]),), 2, w, (), (), (K, w), K * w)
        b = 1 << (cb - g[m])
        return _Layout("col", shape3, (), 0, b, (), (), (b, K, 1 << g[m]), b * K << g[m])
    shape: list[int] = []
    for i in range(m):
        shape += [1 << g[i], 2]
    shape.append(1 << g[m])
    # Split gap dim j: the gap dims after it are taken whole, those before it are indexed.
    s = 0
    j = m
    while j > 0 and s + g[j] < cb:
        s += g[j]
        j -= 1
    length = 1 << min(g[j], cb - s)
    outer = tuple((2 * i, g[i]) for i in range(j))
    # Sub-view dims: t_0 .. t_{j-1}, g_j, t_j, g_{j+1}, ..., t_{m-1}, g_m.
    tpos = list(range(j)) + [j + 1 + 2 * (i - j) for i in range(j, m)]
    gpos = [j] + [j + 2 + 2 * (i - j) for i in range(j, m)]
    sub_shape = [2] * j + [length]
    for i in range(j, m):
        sub_shape += [2, 1 << g[i + 1]]
    # Scratch layout. numpy copies a strided view with the destination's innermost axis as the
    # inner loop, and its cost is mostly per inner loop, so the scratch's innermost axis should
    # be long: either the largest run of non-target axes (scratch (K, cols), "gcol"; columns
    # may come in any order) or the longest run of adjacent targets (scratch (cols, K),
    # "grow"; the targets' order is then changed, and the operator's with it).
    glog = [length.bit_length() - 1] + [g[i] for i in range(j + 1, m + 1)]
    gaps_sorted = [gpos[i] for i in sorted(range(len(gpos)), key=lambda i: glog[i])]
    runs: list[list[int]] = [[0]]
    for i in range(1, m):
        if axes[i] == axes[i - 1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    longest = max(range(len(runs)), key=lambda r: (len(runs[r]), r))
    torder = [t for r, run in enumerate(runs) if r != longest for t in run] + runs[longest]
    if len(runs[longest]) > max(glog):
        kind, perm = "grow", gaps_sorted + [tpos[t] for t in torder]
    else:
        kind, perm, torder = "gcol", tpos + gaps_sorted, list(range(m))
    inv = [0] * len(perm)
    for a, p in enumerate(perm):
        inv[p] = a
    tshape = tuple(sub_shape[p] for p in perm)
    size = K << cb
    order = None if torder == list(range(m)) else tuple(torder)
    return _Layout(kind, tuple(shape), outer, 2 * j, length, tuple(perm), tuple(inv), tshape,
                   size, order)


def _sorted_targets(qubits: Sequence[int], n: int) -> tuple[tuple[int, ...], list[int] | None]:
    qs = tuple(int(q) for q in qubits)
    if len(set(qs)) != len(qs) or any(not 0 <= q < n for q in qs):
        raise ValueError(f"invalid target qubits {list(qs)} for {n} qubit(s)")
    order = sorted(range(len(qs)), key=qs.__getitem__)
    if order == list(range(len(qs))):
        return qs, None
    return tuple(qs[i] for i in order), order


def sort_matrix(matrix: np.ndarray, order: Sequence[int]) -> np.ndarray:
    """``matrix`` with its qubit factors reordered: factor i of the result is factor order[i]."""
    m = len(order)
    t = np.asarray(matrix).reshape((2,) * (2 * m))
    return t.transpose(list(order) + [m + o for o in order]).reshape(1 << m, 1 << m)


def sort_vector(vec: np.ndarray, order: Sequence[int]) -> np.ndarray:
    """A diagonal (or any per-basis-state vector) with its qubit factors reordered."""
    return np.asarray(vec).reshape((2,) * len(order)).transpose(list(order)).ravel()


def sort_permutation(src: np.ndarray, order: Sequence[int]) -> np.ndarray:
    """An index map ``new[i] = old[src[i]]`` with its qubit factors reordered."""
    m = len(order)
    pmap = np.arange(1 << m).reshape((2,) * m).transpose(list(order)).ravel()
    pinv = np.empty_like(pmap)
    pinv[pmap] = np.arange(1 << m)
    return pinv[np.asarray(src)[pmap]]


# --- dense ------------------------------------------------------------------------------------
def apply_matrix(state: np.ndarray, matrix: np.ndarray, qubits: Sequence[int], *,
                 workspace: Workspace | None = None, threads: int = 1) -> np.ndarray:
    """Apply ``matrix`` (2**k square, ``qubits[0]`` leftmost factor) to ``state`` in place.

    Returns ``state``. Equivalent to ``embed(matrix, qubits, n) @ state`` without forming the
    2**n x 2**n operator. ``matrix`` need not be unitary.
    """
    n = num_qubits_of(state)
    axes, order = _sorted_targets(qubits, n)
    u = np.asarray(matrix)
    if order is not None:
        u = sort_matrix(u, order)
    return apply_sorted_matrix(state, u, axes, workspace=workspace, threads=threads)


def apply_sorted_matrix(state: np.ndarray, u: np.ndarray, axes: tuple[int, ...], *,
                        workspace: Workspace | None = None, threads: int = 1) -> np.ndarray:
    """:func:`apply_matrix` for targets already in increasing order (no checks)."""
    n = num_qubits_of(state)
    u = np.ascontiguousarray(u, dtype=state.dtype)
    if not axes:  # a 1x1 matrix: a scalar
        state *= u.reshape(-1)[0]
        return state
    lay = _layout(n, axes, CHUNK)
    ws = workspace or Workspace(state.dtype, lay.size, threads)
    view = state.reshape(lay.shape)
    if lay.torder is not None:
        u = sort_matrix(u, lay.torder)
    if lay.kind in ("row", "grow"):
        u = np.ascontiguousarray(u.T)
    K = u.shape[0]

    def work(worker: int, chunks: Sequence[int]) -> None:
        b1, b2 = ws.buffers(worker, lay.size)
        kind = lay.kind
        index = lay.index
        if kind == "row":
            out = b1[:lay.size].reshape(lay.tshape)
            for c in chunks:
                sub = view[index(c)]
                np.matmul(sub, u, out=out)
                sub[...] = out
        elif kind == "col":
            out = b1[:lay.size].reshape(lay.tshape)
            for c in chunks:
                sub = view[index(c)]
                np.matmul(u, sub, out=out)
                sub[...] = out
        else:
            g = b1[:lay.size].reshape(lay.tshape)
            o = b2[:lay.size].reshape(lay.tshape)
            if kind == "gcol":
                gm, om = g.reshape(K, -1), o.reshape(K, -1)
            else:
                gm, om = g.reshape(-1, K), o.reshape(-1, K)
            back = o.transpose(lay.inv)
            for c in chunks:
                sub = view[index(c)]
                np.copyto(g, sub.transpose(lay.perm))
                if kind == "gcol":
                    np.matmul(u, gm, out=om)
                else:
                    np.matmul(gm, u, out=om)
                sub[...] = back

    _run(work, range(lay.nchunks), threads if state.size >= MIN_PARALLEL else 1)
    return state


# --- permutation ------------------------------------------------------------------------------
def apply_permutation(state: np.ndarray, src: np.ndarray, qubits: Sequence[int], *,
                      workspace: Workspace | None = None, threads: int = 1) -> np.ndarray:
    """Permute the amplitudes of the target qubits in place: ``new[i] = old[src[i]]`` where i and
    src[i] are basis indices of the targets (``qubits[0]`` most significant).

    A permutation matrix P acts this way with ``src[i] = argmax(P[i])``.
    """
    n = num_qubits_of(state)
    axes, order = _sorted_targets(qubits, n)
    p = np.asarray(src, dtype=np.intp)
    if order is not None:
        p = sort_permutation(p, order)
    return apply_sorted_permutation(state, p, axes, workspace=workspace, threads=threads)


def apply_sorted_permutation(state: np.ndarray, src: np.ndarray, axes: tuple[int, ...], *,
                             workspace: Workspace | None = None, threads: int = 1) -> np.ndarray:
    """:func:`apply_permutation` for targets already in increasing order (no checks)."""
    n = num_qubits_of(state)
    if not axes:
        return state
    src = np.asarray(src, dtype=np.intp)
    lay = _layout(n, axes, CHUNK)
    ws = workspace or Workspace(state.dtype, lay.size, threads)
    view = state.reshape(lay.shape)
    if lay.torder is not None:
        src = sort_permutation(src, lay.torder)
    K = src.size
    kind = lay.kind
    # Axis of the scratch (or direct chunk) that the target index runs along.
    axis = {"row": 1, "grow": -1, "col": -2, "gcol": 0}[kind]

    def work(worker: int, chunks: Sequence[int]) -> None:
        b1, b2 = ws.buffers(worker, lay.size)
        index = lay.index
        if kind in ("row", "col"):
            out = b1[:lay.size].reshape(lay.tshape)
            for c in chunks:
                sub = view[index(c)]
                np.take(sub, src, axis=axis, out=out, mode="clip")
                sub[...] = out
            return
        g = b1[:lay.size].reshape(lay.tshape)
        o = b2[:lay.size].reshape(lay.tshape)
        gm, om = (g.reshape(K, -1), o.reshape(K, -1)) if kind == "gcol" else (
            g.reshape(-1, K), o.reshape(-1, K))
        back = o.transpose(lay.inv)
        for c in chunks:
            sub = view[index(c)]
            np.copyto(g, sub.transpose(lay.perm))
            np.take(gm, src, axis=axis, out=om, mode="clip")
            sub[...] = back

    _run(work, range(lay.nchunks), threads if state.size >= MIN_PARALLEL else 1)
    return state


# --- diagonal ---------------------------------------------------------------------------------
def apply_diagonal(state: np.ndarray, diag: np.ndarray, qubits: Sequence[int], *,
                   threads: int = 1) -> np.ndarray:
    """Multiply ``state`` in place by the diagonal operator with diagonal ``diag`` (length 2**k,
    ``qubits[0]`` most significant)."""
    n = num_qubits_of(state)
    axes, order = _sorted_targets(qubits, n)
    d = np.asarray(diag)
    if order is not None:
        d = sort_vector(d, order)
    return apply_sorted_diagonal(state, d, axes, threads=threads)


def widen_diagonal(d: np.ndarray, axes: tuple[int, ...], n: int,
                   inner: int = DIAG_INNER) -> tuple[np.ndarray, tuple[int, ...]]:
    """The diagonal ``d`` on sorted ``axes`` extended (by repetition) over the lowest qubits, so
    that the in-place multiplication runs over >= 2**inner contiguous elements per inner loop;
    returns (diagonal, new axes). Unchanged when the qubits below the targets already give such
    runs; the result has at most max(len(axes), DIAG_MAX_WIDE) qubits."""
    if not axes or n - 1 - axes[-1] >= inner:
        return d, axes
    cap = max(len(axes), DIAG_MAX_WIDE)
    new_axes = axes
    for lo in range(max(0, n - inner), n):
        cand = tuple(sorted(set(axes).union(range(lo, n))))
        if len(cand) <= cap:
            new_axes = cand
            break
    if new_axes == axes:
        return d, axes
    m2 = len(new_axes)
    shape = [2 if a in axes else 1 for a in new_axes]
    full = np.broadcast_to(np.asarray(d).reshape(shape), (2,) * m2)
    return np.ascontiguousarray(full).ravel(), new_axes


def apply_sorted_diagonal(state: np.ndarray, d: np.ndarray, axes: tuple[int, ...], *,
                          threads: int = 1) -> np.ndarray:
    """:func:`apply_diagonal` for targets already in increasing order (no checks)."""
    n = num_qubits_of(state)
    if not axes:
        state *= np.asarray(d).reshape(-1)[0]
        return state
    d, axes = widen_diagonal(np.asarray(d, dtype=state.dtype), axes, n)
    m = len(axes)
    g = _gaps(n, axes)
    shape: list[int] = []
    dshape: list[int] = []
    for i in range(m):
        shape += [1 << g[i], 2]
        dshape += [1, 2]
    shape.append(1 << g[m])
    dshape.append(1)
    view = state.reshape(shape)
    dv = d.reshape(dshape)
    t = threads if state.size >= MIN_PARALLEL else 1
    if t <= 1:
        view *= dv
        return state
    # Split along the first dimension of size > 1 (a gap or a target axis).
    ax = next(i for i, s in enumerate(shape) if s > 1)
    size = shape[ax]
    parts = [(size * i // t, size * (i + 1) // t) for i in range(t)]
    items = [p for p in parts if p[1] > p[0]]

    def work(worker: int, part: Sequence[tuple[int, int]]) -> None:
        for lo, hi in part:
            sl = (slice(None),) * ax + (slice(lo, hi),)
            if dshape[ax] == 1:
                view[sl] *= dv
            else:
                view[sl] *= dv[sl]

    _run(work, items, t)
    return state
