"""Compiled (numba) dense state-vector kernels, used by :mod:`.state` for large states.

Same operators, layout and semantics as :mod:`.kernels` (the numpy kernels, which stay as the
fallback and as the reference these are tested against): a flat C-contiguous complex128 or
complex64 vector of length 2**n, qubit q = bit ``n - 1 - q`` of a basis index (qubit 0 most
significant), operators on sorted target qubits with their first factor on the first target.

Every kernel walks the state by *bases*: basis indices with all target bits 0, each with its
``K = 2**k`` partners (target bits set, at fixed offsets ``offs``). Consecutive bases form
contiguous runs below the lowest target, so the 1- and 2-qubit dense and the diagonal kernels
loop over such runs (``run`` elements); the k-qubit dense kernel gathers batches of
:data:`BATCH` bases into real / imaginary scratch, and the permutation kernel handles
cache-sized groups of amplitudes. Bases are independent, so groups of them are spread over
threads with ``prange``; every amplitude is computed by the same arithmetic whatever the number
of threads (no reductions), so results do not depend on it. All kernels work in place; the
scratch (allocated inside a kernel, or passed in per worker) is written before it is read.

Importing this module imports numba (about 0.3 s); the first call of each kernel loads it from
numba's cache (``cache=True``) or compiles it (once per machine and dtype), so :mod:`.state`
imports this module only for large states and long enough circuits.
"""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np
from numba import njit, prange

from . import kernels as _np_kernels

#: Amplitudes per prange work item (a group of tiles): large enough to amortise the scheduling
#: and the scratch allocation, small enough (256 KiB in double) to stay in L2.
GROUP = 1 << 14
#: Longest contiguous run the 1- and 2-qubit dense and the diagonal kernels take at once.
MAX_RUN = 256
#: Bases per batch of the dense kernel (the SIMD loop length).
BATCH = 32
#: log2 of the amplitudes per group of the wide-permutation kernel (512 KiB in double).
PERM_GROUP_BITS = 15
#: Tests set this (to NaN) to pre-fill the permutation kernel's scratch.
SCRATCH_FILL: complex | None = None


def _bits(n: int, axes: Sequence[int]) -> np.ndarray:
    """Bit positions of the sorted target qubits ``axes``, increasing (lowest bit first)."""
    return np.array(sorted(n - 1 - a for a in axes), dtype=np.int64)


def pattern_offsets(tbits: Sequence[int]) -> np.ndarray:
    """Offset of each target pattern c: target i (first = most significant bit of c) at bit
    ``tbits[i]``."""
    k = len(tbits)
    c = np.arange(1 << k, dtype=np.int64)
    off = np.zeros(1 << k, dtype=np.int64)
    for i, b in enumerate(tbits):
        off |= ((c >> (k - 1 - i)) & 1) << b
    return off


def _offsets(n: int, axes: Sequence[int]) -> np.ndarray:
    """Index offset of each target pattern c (``axes[0]`` most significant bit of c)."""
    return pattern_offsets([n - 1 - a for a in axes])


def _spread_all(i: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """:func:`_spread` of every element of ``i`` (numpy)."""
    for p in bits:
        p = int(p)
        i = ((i >> p) << (p + 1)) | (i & ((1 << p) - 1))
    return i


def _run_len(bits: np.ndarray, cap: int) -> int:
    """Contiguous run below the lowest target bit, at most ``cap``."""
    return min(1 << int(bits[0]), cap)


@njit(cache=True, inline="always")
def _spread(i, bits):  # type: ignore[no-untyped-def]
    """``i`` with a zero bit inserted at each position in ``bits`` (increasing)."""
    for p in bits:
        i = ((i >> p) << (p + 1)) | (i & ((1 << p) - 1))
    return i


@njit(cache=True, parallel=True, nogil=True, fastmath={"contract"})
def _dense_batch(state, mr, mi, bits, offs):  # type: ignore[no-untyped-def]
    """state <- M state on the targets, M = mr + i mi. Bases go in batches of BATCH: their K
    amplitudes are gathered into real and imaginary scratch (K, BATCH), so that the products
    run along the batch as SIMD whatever the targets (contiguous or not)."""
    K = offs.size
    nbases = state.size // K
    per = max(BATCH, (GROUP // K) // BATCH * BATCH)
    ngroups = (nbases + per - 1) // per
    for g in prange(ngroups):
        vr = np.empty((K, BATCH), dtype=mr.dtype)
        vi = np.empty((K, BATCH), dtype=mr.dtype)
        ar = np.empty(BATCH, dtype=mr.dtype)
        ai = np.empty(BATCH, dtype=mr.dtype)
        base = np.empty(BATCH, dtype=np.int64)
        for t0 in range(g * per, min(nbases, (g + 1) * per), BATCH):
            nb = min(BATCH, nbases - t0)
            for j in range(nb):
                base[j] = _spread(t0 + j, bits)
            for c in range(K):
                o = offs[c]
                for j in range(nb):
                    x = state[base[j] + o]
                    vr[c, j] = x.real
                    vi[c, j] = x.imag
            for r in range(K):
                for j in range(nb):
                    ar[j] = 0.0
                    ai[j] = 0.0
                for c in range(K):
                    a = mr[r, c]
                    b = mi[r, c]
                    for j in range(nb):
                        ar[j] += a * vr[c, j] - b * vi[c, j]
                        ai[j] += a * vi[c, j] + b * vr[c, j]
                o = offs[r]
                for j in range(nb):
                    state[base[j] + o] = ar[j] + 1j * ai[j]


@njit(cache=True, parallel=True, nogil=True, fastmath={"contract"})
def _dense1(state, mat, bit):  # type: ignore[no-untyped-def]
    """One-qubit matrix on bit ``bit``: pairs (i, i + 2**bit) in runs of contiguous i."""
    half = state.size // 2
    step = 1 << bit
    run = min(step, MAX_RUN)
    ntiles = half // run
    per = max(1, GROUP // (2 * run))
    ngroups = (ntiles + per - 1) // per
    m00, m01, m10, m11 = mat[0, 0], mat[0, 1], mat[1, 0], mat[1, 1]
    for g in prange(ngroups):
        for t in range(g * per, min(ntiles, (g + 1) * per)):
            i = t * run
            i0 = ((i >> bit) << (bit + 1)) | (i & (step - 1))
            i1 = i0 + step
            for j in range(run):
                a = state[i0 + j]
                b = state[i1 + j]
                state[i0 + j] = m00 * a + m01 * b
                state[i1 + j] = m10 * a + m11 * b


@njit(cache=True, parallel=True, nogil=True, fastmath={"contract"})
def _dense2(state, mat, bits, offs, run):  # type: ignore[no-untyped-def]
    """Two-qubit matrix: the four amplitudes of a base in registers, runs of contiguous bases."""
    ntiles = (state.size // 4) // run
    per = max(1, GROUP // (4 * run))
    ngroups = (ntiles + per - 1) // per
    o1, o2, o3 = offs[1], offs[2], offs[3]
    m00, m01, m02, m03 = mat[0, 0], mat[0, 1], mat[0, 2], mat[0, 3]
    m10, m11, m12, m13 = mat[1, 0], mat[1, 1], mat[1, 2], mat[1, 3]
    m20, m21, m22, m23 = mat[2, 0], mat[2, 1], mat[2, 2], mat[2, 3]
    m30, m31, m32, m33 = mat[3, 0], mat[3, 1], mat[3, 2], mat[3, 3]
    for g in prange(ngroups):
        for t in range(g * per, min(ntiles, (g + 1) * per)):
            i = _spread(t * run, bits)
            for j in range(i, i + run):
                a0 = state[j]
                a1 = state[j + o1]
                a2 = state[j + o2]
                a3 = state[j + o3]
                state[j] = m00 * a0 + m01 * a1 + m02 * a2 + m03 * a3
                state[j + o1] = m10 * a0 + m11 * a1 + m12 * a2 + m13 * a3
                state[j + o2] = m20 * a0 + m21 * a1 + m22 * a2 + m23 * a3
                state[j + o3] = m30 * a0 + m31 * a1 + m32 * a2 + m33 * a3


@njit(cache=True, parallel=True, nogil=True)
def _perm_group(state, src, moved, bits, offs, joff, scratch):  # type: ignore[no-untyped-def]
    """Wide permutations: a *group* is the K * J amplitudes sharing all non-target bits but
    the lowest log2(J) (about 2**PERM_GROUP_BITS amplitudes, cache-sized). Per group, the moved
    target patterns (``moved``: r with src[r] != r) are gathered into the worker's scratch
    (K, J) and written back permuted; fixed patterns are not touched. ``joff[j]``: offset of
    non-target pattern j within the group; ``scratch``: (workers, K, J)."""
    K = offs.size
    J = joff.size
    ngroups = state.size // (K * J)
    workers = scratch.shape[0]
    for w in prange(workers):
        buf = scratch[w]
        for g in range(ngroups * w // workers, ngroups * (w + 1) // workers):
            base = _spread(g * J, bits)
            for c in moved:
                o = base + offs[c]
                for j in range(J):
                    buf[c, j] = state[o + joff[j]]
            for r in moved:
                o = base + offs[r]
                s = src[r]
                for j in range(J):
                    state[o + joff[j]] = buf[s, j]


@njit(cache=True, parallel=True, nogil=True, fastmath={"contract"})
def _diag_run(state, d, bits, offs, run):  # type: ignore[no-untyped-def]
    """state[base + offs[c] + j] *= d[c]: tiles of ``run`` below the lowest target."""
    K = offs.size
    ntiles = (state.size // K) // run
    per = max(1, GROUP // (K * run))
    ngroups = (ntiles + per - 1) // per
    for g in prange(ngroups):
        for t in range(g * per, min(ntiles, (g + 1) * per)):
            base = _spread(t * run, bits)
            for c in range(K):
                f = d[c]
                o = base + offs[c]
                for j in range(run):
                    state[o + j] *= f


@njit(cache=True, parallel=True, nogil=True, fastmath={"contract"})
def _diag_low(state, d, bits, offs, low):  # type: ignore[no-untyped-def]
    """Diagonal whose targets include the ``low`` lowest bits (all of them): per base and high
    pattern h, the 2**low contiguous amplitudes are multiplied by d[h * 2**low + j]. ``bits`` and
    ``offs`` describe the other (high) targets only."""
    B = 1 << low
    H = offs.size
    nbases = state.size // (H * B)
    per = max(1, GROUP // (H * B))
    ngroups = (nbases + per - 1) // per
    for g in prange(ngroups):
        for t in range(g * per, min(nbases, (g + 1) * per)):
            base = _spread(t << low, bits)
            for h in range(H):
                o = base + offs[h]
                e = h * B
                for j in range(B):
                    state[o + j] *= d[e + j]


def set_threads(threads: int) -> None:
    """numba's thread count for the next kernels: ``threads``, at most its configured limit."""
    limit = int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
    numba.set_num_threads(max(1, min(int(threads), limit)))


# --- sorted-target entry points (called by .state) --------------------------------------------
def apply_sorted_matrix(state: np.ndarray, u: np.ndarray, axes: tuple[int, ...], *,
                        threads: int = 1) -> np.ndarray:
    """:func:`apply_matrix` for targets already in increasing order (no checks)."""
    n = _np_kernels.num_qubits_of(state)
    u = np.ascontiguousarray(u, dtype=state.dtype)
    if not axes:
        state *= u.reshape(-1)[0]
        return state
    set_threads(threads)
    k = len(axes)
    bits = _bits(n, axes)
    if k == 1:
        _dense1(state, u, int(bits[0]))
    elif k == 2:
        _dense2(state, u, bits, _offsets(n, axes), _run_len(bits, MAX_RUN))
    else:
        _dense_batch(state, np.ascontiguousarray(u.real), np.ascontiguousarray(u.imag), bits,
                     _offsets(n, axes))
    return state


def apply_sorted_permutation(state: np.ndarray, src: np.ndarray, axes: tuple[int, ...], *,
                             threads: int = 1) -> np.ndarray:
    """:func:`apply_permutation` for targets already in increasing order (no checks)."""
    n = _np_kernels.num_qubits_of(state)
    if not axes:
        return state
    set_threads(threads)
    bits = _bits(n, axes)
    src = np.asarray(src, dtype=np.int64)
    k = len(axes)
    moved = np.flatnonzero(src != np.arange(src.size))
    if moved.size == 0:
        return state
    jb = max(0, min(PERM_GROUP_BITS, n) - k)
    joff = _spread_all(np.arange(1 << jb, dtype=np.int64), bits)
    workers = max(1, min(numba.get_num_threads(), state.size >> (k + jb)))
    scratch = np.empty((workers, 1 << k, 1 << jb), dtype=state.dtype)
    if SCRATCH_FILL is not None:
        scratch.fill(SCRATCH_FILL)
    _perm_group(state, src, moved, bits, _offsets(n, axes), joff, scratch)
    return state


def apply_sorted_diagonal(state: np.ndarray, d: np.ndarray, axes: tuple[int, ...], *,
                          threads: int = 1) -> np.ndarray:
    """:func:`apply_diagonal` for targets already in increasing order (no checks)."""
    n = _np_kernels.num_qubits_of(state)
    d = np.asarray(d, dtype=state.dtype)
    if not axes:
        state *= d.reshape(-1)[0]
        return state
    set_threads(threads)
    # Targets just above the lowest bits leave short runs: widen the diagonal over the lowest
    # qubits (as the numpy kernel does) so that the inner loop is >= 32 elements long.
    if 0 < n - 1 - axes[-1] < _np_kernels.DIAG_INNER:
        d, axes = _np_kernels.widen_diagonal(d, axes, n)
    d = np.ascontiguousarray(d)
    low = 0
    while low < len(axes) and axes[len(axes) - 1 - low] == n - 1 - low:
        low += 1
    if low == 0:
        bits = _bits(n, axes)
        _diag_run(state, d, bits, _offsets(n, axes), _run_len(bits, 1 << 12))
        return state
    high = axes[:len(axes) - low]
    # _diag_low spreads the base index t << low (bases come in units of 2**low contiguous
    # amplitudes) over the high targets' bit positions in the full index.
    _diag_low(state, d, _bits(n, high), _offsets(n, high) if high else np.zeros(1, np.int64),
              low)
    return state


# --- public entry points, same signatures as the numpy kernels --------------------------------
def apply_matrix(state: np.ndarray, matrix: np.ndarray, qubits: Sequence[int], *,
                 workspace: _np_kernels.Workspace | None = None, threads: int = 1) -> np.ndarray:
    """:func:`qsim.backends.dense.kernels.apply_matrix`, compiled (``workspace`` unused)."""
    n = _np_kernels.num_qubits_of(state)
    axes, order = _np_kernels._sorted_targets(qubits, n)  # noqa: SLF001
    u = np.asarray(matrix)
    if order is not None:
        u = _np_kernels.sort_matrix(u, order)
    return apply_sorted_matrix(state, u, axes, threads=threads)


def apply_permutation(state: np.ndarray, src: np.ndarray, qubits: Sequence[int], *,
                      workspace: _np_kernels.Workspace | None = None,
                      threads: int = 1) -> np.ndarray:
    """:func:`qsim.backends.dense.kernels.apply_permutation`, compiled (``workspace`` unused)."""
    n = _np_kernels.num_qubits_of(state)
    axes, order = _np_kernels._sorted_targets(qubits, n)  # noqa: SLF001
    p = np.asarray(src, dtype=np.intp)
    if order is not None:
        p = _np_kernels.sort_permutation(p, order)
    return apply_sorted_permutation(state, p, axes, threads=threads)


def apply_diagonal(state: np.ndarray, diag: np.ndarray, qubits: Sequence[int], *,
                   threads: int = 1) -> np.ndarray:
    """:func:`qsim.backends.dense.kernels.apply_diagonal`, compiled."""
    n = _np_kernels.num_qubits_of(state)
    axes, order = _np_kernels._sorted_targets(qubits, n)  # noqa: SLF001
    d = np.asarray(diag)
    if order is not None:
        d = _np_kernels.sort_vector(d, order)
    return apply_sorted_diagonal(state, d, axes, threads=threads)
