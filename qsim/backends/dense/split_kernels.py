"""Compiled kernels on a *blocked split* layout, for long runs of operators on large states.

The numba kernels of :mod:`.numba_kernels` work on the interleaved complex vector, where LLVM
cannot vectorise the complex arithmetic; they run scalar, at about 3 ns per amplitude for a
2-qubit matrix. Here the state is first rearranged, in place, so that every block of ``W``
consecutive amplitudes is stored as its ``W`` real parts followed by its ``W`` imaginary parts
(``W`` = :func:`block_width`: 64 in complex64, 32 in complex128). A gate whose targets all lie
above the lowest ``B = log2(W)`` bits then combines whole blocks: the innermost loop runs over
``W`` contiguous reals and imaginaries with the same matrix entries, which LLVM turns into AVX
FMAs (about 0.75 ns per amplitude for a 2-qubit matrix in complex64 and 1.5 ns in complex128 at
20-22 qubits, measured with benchmarks/dev_numba.py; 4x and 2.4x the interleaved kernels).

Qubits whose bit lies in the lowest ``B`` (inside a block) are moved out before a matrix or
permutation acts on them: :func:`apply_ops_split` keeps a map from qubit to bit position and,
when an operator needs a low qubit, exchanges it (and every other low qubit needed sooner than a
high one) with high qubits needed latest (Belady's rule), with one pass over the state
(:func:`_permute_bits`); diagonals act on any bit and never move anything. At the end the bits
go back home and the blocks are interleaved again, so the caller sees the ordinary layout.

Consecutive 1- and 2-qubit matrices whose targets lie in the next ``T`` bits above the blocks, and
diagonals on bits above the blocks, are applied tile by tile (:func:`_run_ops`): each tile of
``2**T`` blocks (half a MiB) gets the whole run while it is in L2 cache, so the run costs one trip
through memory instead of one per operator.

Index arithmetic in the hot loops is unsigned: numba adds a negative-index wrap-around to every
signed array index, which stops LLVM from seeing consecutive addresses (and from vectorising).
Every amplitude is computed by the same arithmetic whatever the number of threads (work is split
by blocks, no reductions), so results do not depend on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numba import njit, prange, uint64

from .numba_kernels import _spread, pattern_offsets

#: Blocks per prange work item of the whole-state passes.
_CHUNK_BITS = 6
_CHUNK_BLOCKS = 1 << _CHUNK_BITS


def block_bits(dtype: Any) -> int:
    """``B``: log2 of the block width for a complex dtype (complex64: 6, complex128: 5)."""
    return 6 if np.dtype(dtype) == np.complex64 else 5


def block_width(dtype: Any) -> int:
    """``W = 2**B`` amplitudes per block."""
    return 1 << block_bits(dtype)


# --- layout --------------------------------------------------------------------------------------
@njit(cache=True, parallel=True, nogil=True)
def _relayout(v, W, to_split):  # type: ignore[no-untyped-def]
    """``to_split``: interleaved (re, im, re, im, ...) -> per block of W amplitudes: W re, then
    W im; else the inverse. Each block goes through a 2W scratch."""
    nblocks = v.size // (2 * W)
    nchunks = (nblocks + _CHUNK_BLOCKS - 1) // _CHUNK_BLOCKS
    Wu = uint64(W)
    two = uint64(2)
    for c in prange(nchunks):
        tmp = np.empty(2 * W, dtype=v.dtype)
        for b in range(c * _CHUNK_BLOCKS, min(nblocks, (c + 1) * _CHUNK_BLOCKS)):
            f = uint64(b) * uint64(2 * W)
            for j in range(uint64(2 * W)):
                tmp[j] = v[f + j]
            if to_split:
                for j in range(Wu):
                    v[f + j] = tmp[two * j]
                    v[f + Wu + j] = tmp[two * j + uint64(1)]
            else:
                for j in range(Wu):
                    v[f + two * j] = tmp[j]
                    v[f + two * j + uint64(1)] = tmp[Wu + j]


def _split(v: np.ndarray, W: int) -> None:
    """Interleaved -> blocked split, in place (``v``: the state's real view)."""
    _relayout(v, W, True)


def _join(v: np.ndarray, W: int) -> None:
    """Blocked split -> interleaved, in place."""
    _relayout(v, W, False)


# --- operators (targets: block bits, i.e. bit position - B) ---------------------------------------
# Each operator has a body that works on a range of its groups (``g0 <= g < g1``; a group is the
# 2**k blocks one k-qubit matrix combines), with its coefficients in flat row-major arrays.
# :func:`_run_ops` runs one operator's body over chunks of the whole state in parallel, or the
# bodies of a sequence of operators tile by tile, so that the sequence makes one pass through
# memory. One compiled function for both keeps the first-use compile time down (each parallel
# kernel costs 1-4 s of compiling, once per machine and precision).
@njit(cache=True, nogil=True, fastmath={"contract"}, inline="always")
def _d1_body(v, W, tb, mr, mi, g0, g1):  # type: ignore[no-untyped-def]
    """2x2 matrix mr + i mi (flat, row-major) on block bit ``tb``, groups [g0, g1)."""
    Wu = uint64(W)
    W2 = uint64(2 * W)
    step = uint64(1 << tb)
    r00, r01, r10, r11 = mr[0], mr[1], mr[2], mr[3]
    i00, i01, i10, i11 = mi[0], mi[1], mi[2], mi[3]
    for g in range(g0, g1):
        b0 = uint64(((g >> tb) << (tb + 1)) | (g & ((1 << tb) - 1)))
        f0 = b0 * W2
        f1 = (b0 + step) * W2
        for j in range(Wu):
            x0 = v[f0 + j]
            y0 = v[f0 + Wu + j]
            x1 = v[f1 + j]
            y1 = v[f1 + Wu + j]
            v[f0 + j] = r00 * x0 - i00 * y0 + r01 * x1 - i01 * y1
            v[f0 + Wu + j] = r00 * y0 + i00 * x0 + r01 * y1 + i01 * x1
            v[f1 + j] = r10 * x0 - i10 * y0 + r11 * x1 - i11 * y1
            v[f1 + Wu + j] = r10 * y0 + i10 * x0 + r11 * y1 + i11 * x1


@njit(cache=True, nogil=True, fastmath={"contract"}, inline="always")
def _d2_body(v, W, bits, boff, mr, mi, g0, g1):  # type: ignore[no-untyped-def]
    """4x4 matrix (flat, row-major) on block bits ``bits`` (increasing; ``boff[c]``: block offset
    of target pattern c), groups [g0, g1)."""
    Wu = uint64(W)
    W2 = uint64(2 * W)
    o1, o2, o3 = uint64(boff[1]) * W2, uint64(boff[2]) * W2, uint64(boff[3]) * W2
    r00, r01, r02, r03 = mr[0], mr[1], mr[2], mr[3]
    r10, r11, r12, r13 = mr[4], mr[5], mr[6], mr[7]
    r20, r21, r22, r23 = mr[8], mr[9], mr[10], mr[11]
    r30, r31, r32, r33 = mr[12], mr[13], mr[14], mr[15]
    i00, i01, i02, i03 = mi[0], mi[1], mi[2], mi[3]
    i10, i11, i12, i13 = mi[4], mi[5], mi[6], mi[7]
    i20, i21, i22, i23 = mi[8], mi[9], mi[10], mi[11]
    i30, i31, i32, i33 = mi[12], mi[13], mi[14], mi[15]
    for g in range(g0, g1):
        f0 = uint64(_spread(g, bits)) * W2
        f1 = f0 + o1
        f2 = f0 + o2
        f3 = f0 + o3
        for j in range(Wu):
            x0 = v[f0 + j]
            x1 = v[f1 + j]
            x2 = v[f2 + j]
            x3 = v[f3 + j]
            y0 = v[f0 + Wu + j]
            y1 = v[f1 + Wu + j]
            y2 = v[f2 + Wu + j]
            y3 = v[f3 + Wu + j]
            v[f0 + j] = (r00 * x0 - i00 * y0 + r01 * x1 - i01 * y1
                         + r02 * x2 - i02 * y2 + r03 * x3 - i03 * y3)
            v[f0 + Wu + j] = (r00 * y0 + i00 * x0 + r01 * y1 + i01 * x1
                              + r02 * y2 + i02 * x2 + r03 * y3 + i03 * x3)
            v[f1 + j] = (r10 * x0 - i10 * y0 + r11 * x1 - i11 * y1
                         + r12 * x2 - i12 * y2 + r13 * x3 - i13 * y3)
            v[f1 + Wu + j] = (r10 * y0 + i10 * x0 + r11 * y1 + i11 * x1
                              + r12 * y2 + i12 * x2 + r13 * y3 + i13 * x3)
            v[f2 + j] = (r20 * x0 - i20 * y0 + r21 * x1 - i21 * y1
                         + r22 * x2 - i22 * y2 + r23 * x3 - i23 * y3)
            v[f2 + Wu + j] = (r20 * y0 + i20 * x0 + r21 * y1 + i21 * x1
                              + r22 * y2 + i22 * x2 + r23 * y3 + i23 * x3)
            v[f3 + j] = (r30 * x0 - i30 * y0 + r31 * x1 - i31 * y1
                         + r32 * x2 - i32 * y2 + r33 * x3 - i33 * y3)
            v[f3 + Wu + j] = (r30 * y0 + i30 * x0 + r31 * y1 + i31 * x1
                              + r32 * y2 + i32 * x2 + r33 * y3 + i33 * x3)


@njit(cache=True, parallel=True, nogil=True, fastmath={"contract"})
def _densek(v, W, bits, boff, mr, mi):  # type: ignore[no-untyped-def]
    """K x K matrix (K = boff.size, any k): the K blocks of a group are copied to scratch, then
    each output block is accumulated over the inputs along the block (SIMD)."""
    K = boff.size
    Ku = uint64(K)
    nblocks = v.size // (2 * W)
    ngroups = nblocks // K
    per = max(1, _CHUNK_BLOCKS // K)
    nchunks = (ngroups + per - 1) // per
    Wu = uint64(W)
    W2 = uint64(2 * W)
    for c in prange(nchunks):
        sr = np.empty(K * W, dtype=v.dtype)
        si = np.empty(K * W, dtype=v.dtype)
        ar = np.empty(W, dtype=v.dtype)
        ai = np.empty(W, dtype=v.dtype)
        for g in range(c * per, min(ngroups, (c + 1) * per)):
            base = uint64(_spread(g, bits))
            for q in range(Ku):
                f = (base + uint64(boff[q])) * W2
                s = q * Wu
                for j in range(Wu):
                    sr[s + j] = v[f + j]
                    si[s + j] = v[f + Wu + j]
            for r in range(Ku):
                for j in range(Wu):
                    ar[j] = 0.0
                    ai[j] = 0.0
                for q in range(Ku):
                    a = mr[r, q]
                    b = mi[r, q]
                    s = q * Wu
                    for j in range(Wu):
                        ar[j] += a * sr[s + j] - b * si[s + j]
                        ai[j] += a * si[s + j] + b * sr[s + j]
                f = (base + uint64(boff[r])) * W2
                for j in range(Wu):
                    v[f + j] = ar[j]
                    v[f + Wu + j] = ai[j]


@njit(cache=True, nogil=True, fastmath={"contract"}, inline="always")
def _diag_body(v, W, hbits, hweight, lowc, dr, di, b0, b1):  # type: ignore[no-untyped-def]
    """Diagonal d = dr + i di on any targets, blocks [b0, b1): amplitude (block b, offset j) is
    multiplied by d[c], c = sum over high targets of bit hbits[t] of b times hweight[t], plus
    lowc[j] (the low targets' part of c, per offset in the block)."""
    Wu = uint64(W)
    W2 = uint64(2 * W)
    nh = hbits.size
    for b in range(b0, b1):
        ch = 0
        for t in range(nh):
            ch += ((b >> hbits[t]) & 1) * hweight[t]
        f = uint64(b) * W2
        for j in range(Wu):
            k = uint64(ch + lowc[j])
            x = v[f + j]
            y = v[f + Wu + j]
            v[f + j] = dr[k] * x - di[k] * y
            v[f + Wu + j] = dr[k] * y + di[k] * x


@njit(cache=True, nogil=True, fastmath={"contract"}, inline="always")
def _diagh_body(v, W, hbits, hweight, dr, di, b0, b1):  # type: ignore[no-untyped-def]
    """:func:`_diag_body` without low targets: one factor per block (a plain SIMD loop)."""
    Wu = uint64(W)
    W2 = uint64(2 * W)
    nh = hbits.size
    for b in range(b0, b1):
        ch = 0
        for t in range(nh):
            ch += ((b >> hbits[t]) & 1) * hweight[t]
        f = uint64(b) * W2
        a = dr[ch]
        c = di[ch]
        for j in range(Wu):
            x = v[f + j]
            y = v[f + Wu + j]
            v[f + j] = a * x - c * y
            v[f + Wu + j] = a * y + c * x


#: Operator kinds of :func:`_run_ops`.
_T_DENSE1, _T_DENSE2, _T_DIAGH, _T_DIAG = 1, 2, 3, 4


@njit(cache=True, nogil=True, inline="always")
def _op_body(v, W, k, ints, fr, fi, g0, g1):  # type: ignore[no-untyped-def]
    """Operator of kind ``k`` (integers ``ints``, coefficients ``fr``, ``fi``: see
    :func:`_run_ops`) on its groups [g0, g1)."""
    if k == _T_DENSE1:
        _d1_body(v, W, ints[0], fr, fi, g0, g1)
    elif k == _T_DENSE2:
        _d2_body(v, W, ints[:2], ints[2:], fr, fi, g0, g1)
    elif k == _T_DIAGH:
        nh = ints[0]
        _diagh_body(v, W, ints[1:1 + nh], ints[1 + nh:1 + 2 * nh], fr, fi, g0, g1)
    else:
        nh = ints[0]
        _diag_body(v, W, ints[1:1 + nh], ints[1 + nh:1 + 2 * nh], ints[1 + 2 * nh:], fr, fi,
                   g0, g1)


@njit(cache=True, nogil=True, inline="always")
def _group_blocks(k):  # type: ignore[no-untyped-def]
    """Blocks per group of an operator of kind ``k``."""
    return 2 if k == _T_DENSE1 else 4 if k == _T_DENSE2 else 1


@njit(cache=True, parallel=True, nogil=True, fastmath={"contract"})
def _run_ops(v, W, S, kinds, ints, ioff, fr, fi, foff):  # type: ignore[no-untyped-def]
    """Operators in sequence, span by span: a span is 2**S consecutive blocks, and work item t
    applies every operator to its groups [t * G, (t + 1) * G), G = 2**S / (blocks per group).
    With every matrix's targets below block bit S (diagonals: anywhere) those are the groups
    inside span t, so the spans are independent and each gets the whole sequence while it sits
    in cache (a tile). A single operator may have any targets: its work items are then just
    chunks of its groups.

    Operator i: kind ``kinds[i]``; integers ``ints[ioff[i]:ioff[i+1]]`` (dense 1: the bit;
    dense 2: the two bits increasing, then the four block offsets; diagonal: the number h of
    targets above the blocks, their bits, their weights, and, for :data:`_T_DIAG` (low targets
    too), the W-entry low table); coefficients ``fr/fi[foff[i]:foff[i+1]]`` (matrix
    row-major, or the diagonal)."""
    nblocks = v.size // (2 * W)
    span = 1 << S
    nitems = nblocks >> S
    for t in prange(nitems):
        for i in range(kinds.size):
            k = kinds[i]
            G = span // _group_blocks(k)
            _op_body(v, W, k, ints[ioff[i]:ioff[i + 1]], fr[foff[i]:foff[i + 1]],
                     fi[foff[i]:foff[i + 1]], t * G, (t + 1) * G)


def _one(v: np.ndarray, W: int, kind: int, ints: Sequence[int], fr: np.ndarray,
         fi: np.ndarray) -> None:
    """One operator of :func:`_run_ops` on the whole state (spans of 2**6 blocks: parallel
    chunks of its groups)."""
    nb = (v.size // (2 * W)).bit_length() - 1
    run = _Run(v, W, min(_CHUNK_BITS, nb))
    run.add(kind, list(ints), fr, fi)
    run.flush()


def _dense1(v: np.ndarray, W: int, tb: int, mr: np.ndarray, mi: np.ndarray) -> None:
    """2x2 matrix mr + i mi on block bit ``tb``, the whole state."""
    _one(v, W, _T_DENSE1, [int(tb)], mr, mi)


def _dense2(v: np.ndarray, W: int, bits: np.ndarray, boff: np.ndarray, mr: np.ndarray,
            mi: np.ndarray) -> None:
    """4x4 matrix on block bits ``bits`` (increasing; ``boff[c]``: block offset of target
    pattern c, c's most significant bit the matrix's first qubit), the whole state."""
    _one(v, W, _T_DENSE2, [*map(int, bits), *map(int, boff)], mr, mi)


def _diag(v: np.ndarray, W: int, hbits: np.ndarray, hweight: np.ndarray, lowc: np.ndarray,
          dr: np.ndarray, di: np.ndarray) -> None:
    """Diagonal on any targets (see :func:`_diag_body`), the whole state."""
    ints = [len(hbits), *map(int, hbits), *map(int, hweight)]
    if np.any(lowc):
        _one(v, W, _T_DIAG, [*ints, *map(int, lowc)], dr, di)
    else:
        _one(v, W, _T_DIAGH, ints, dr, di)


@njit(cache=True, parallel=True, nogil=True)
def _perm(v, W, bits, boff, src, moved):  # type: ignore[no-untyped-def]
    """Permutation new[pattern r] = old[pattern src[r]] of whole blocks; ``moved``: the r with
    src[r] != r (only those are copied)."""
    K = boff.size
    nblocks = v.size // (2 * W)
    ngroups = nblocks // K
    per = max(1, _CHUNK_BLOCKS // K)
    nchunks = (ngroups + per - 1) // per
    W2 = uint64(2 * W)
    for c in prange(nchunks):
        s = np.empty(K * 2 * W, dtype=v.dtype)
        for g in range(c * per, min(ngroups, (c + 1) * per)):
            base = uint64(_spread(g, bits))
            for q in moved:
                f = (base + uint64(boff[q])) * W2
                o = uint64(q) * W2
                for j in range(W2):
                    s[o + j] = v[f + j]
            for r in moved:
                f = (base + uint64(boff[r])) * W2
                o = uint64(src[r]) * W2
                for j in range(W2):
                    v[f + j] = s[o + j]


@njit(cache=True, parallel=True, nogil=True)
def _permute_bits(v, W, hbits, hoff, table):  # type: ignore[no-untyped-def]
    """Move amplitudes within groups of S = hoff.size blocks (blocks that differ only in block
    bits ``hbits``, increasing; ``hoff[h]``: block offset of group pattern h). The group is
    copied to scratch (block h at h * 2W); then the real part of the amplitude at offset j of
    block h is scratch[table[h * W + j]], its imaginary part W further."""
    S = hoff.size
    nblocks = v.size // (2 * W)
    ngroups = nblocks // S
    per = max(1, _CHUNK_BLOCKS // S)
    nchunks = (ngroups + per - 1) // per
    Wu = uint64(W)
    W2 = uint64(2 * W)
    for c in prange(nchunks):
        s = np.empty(S * 2 * W, dtype=v.dtype)
        for g in range(c * per, min(ngroups, (c + 1) * per)):
            base = uint64(_spread(g, hbits))
            for h in range(S):
                f = (base + uint64(hoff[h])) * W2
                o = uint64(h) * W2
                for j in range(W2):
                    s[o + j] = v[f + j]
            for h in range(S):
                f = (base + uint64(hoff[h])) * W2
                e0 = uint64(h) * Wu
                for j in range(Wu):
                    o = uint64(table[e0 + j])
                    v[f + j] = s[o]
                    v[f + Wu + j] = s[o + Wu]


# --- the executor ------------------------------------------------------------------------------
_NEVER = 1 << 62


def usable(ops: Sequence[Any], n: int, dtype: Any) -> bool:
    """Whether :func:`apply_ops_split` can run ``ops`` on an ``n``-qubit state: every matrix and
    permutation fits above the block bits."""
    free = n - block_bits(dtype)
    return free >= 1 and all(op.kind == "diag" or len(op.qubits) <= free for op in ops)


class _Placement:
    """Bit position of each qubit (home: ``n - 1 - q``) and the passes that move them."""

    def __init__(self, v: np.ndarray, n: int, B: int, ops: Sequence[Any]) -> None:
        self.v, self.n, self.B, self.W = v, n, B, 1 << B
        self.pos = [n - 1 - q for q in range(n)]
        self.uses: list[list[int]] = [[] for _ in range(n)]
        for i, op in enumerate(ops):
            if op.kind != "diag":
                for q in op.qubits:
                    self.uses[q].append(i)
        self.ptr = [0] * n
        self.passes = 0

    def next_use(self, q: int, i: int) -> int:
        """The first operator at or after ``i`` that needs qubit ``q`` above the block bits."""
        u, p = self.uses[q], self.ptr[q]
        while p < len(u) and u[p] < i:
            p += 1
        self.ptr[q] = p
        return u[p] if p < len(u) else _NEVER

    def make_room(self, i: int, qubits: Sequence[int]) -> None:
        """Move the low qubits of operator ``i`` above the block bits, with every other low qubit
        needed before some high one, in exchange for the high qubits needed latest: one pass."""
        pos, B = self.pos, self.B
        need = [q for q in qubits if pos[q] < B]
        inside = set(qubits)
        far = sorted((q for q in range(self.n) if pos[q] >= B and q not in inside),
                     key=lambda q: -self.next_use(q, i))
        near = sorted((q for q in range(self.n) if pos[q] < B and q not in inside),
                      key=lambda q: self.next_use(q, i))
        new = list(pos)
        k = 0
        for q in need + near:
            if k == len(far):
                break
            if q not in inside and self.next_use(q, i) >= self.next_use(far[k], i):
                break
            new[q], new[far[k]] = pos[far[k]], pos[q]
            k += 1
        self.move(new)

    def restore(self) -> None:
        """Every qubit back to its home bit (a few passes)."""
        n, B = self.n, self.B
        home = [n - 1 - q for q in range(n)]
        while self.pos != home:
            pos = self.pos
            at = {p: q for q, p in enumerate(pos)}
            new = list(pos)
            low_out = [q for q in range(n) if pos[q] < B <= home[q]]
            if low_out:  # low qubits whose home is high go home; its occupant comes down
                for q in low_out:
                    r = at[home[q]]
                    new[q], new[r] = home[q], pos[q]
            else:
                stray = [q for q in range(n) if B <= pos[q] != home[q]]
                if stray:  # a high qubit away from home (all low ones are low-born): bring down
                    q = stray[0]
                    r = at[0]
                    new[q], new[r] = 0, pos[q]
                else:  # only the low bits are permuted
                    new = home
            self.move(new)

    def move(self, new: list[int]) -> None:
        """One pass: qubit q moves from bit ``pos[q]`` to ``new[q]`` (only the low bits and the
        high bits that change take part)."""
        pos, B, W = self.pos, self.B, self.W
        high = sorted({p - B for q, p in enumerate(pos) if p >= B and new[q] != p})
        t_of = {b: t for t, b in enumerate(high)}
        S = 1 << len(high)
        e = np.arange(S * W, dtype=np.int64)
        h, j = e >> B, e & (W - 1)
        src = np.zeros_like(e)
        for q in range(self.n):
            if new[q] < B:
                bit = (j >> new[q]) & 1
            elif new[q] - B in t_of:
                bit = (h >> t_of[new[q] - B]) & 1
            else:
                continue
            old = pos[q]
            src |= bit << old if old < B else bit << (B + t_of[old - B])
        hbits = np.array(high, dtype=np.int64)
        # scratch offset of each source element's real part: its block's times 2W, plus j
        offs = ((src >> B) * (2 * W) + (src & (W - 1))).astype(np.int32)
        _permute_bits(self.v, W, hbits, pattern_offsets(high[::-1]), offs)
        self.pos = list(new)
        self.passes += 1


#: log2 of the blocks per tile of :func:`_run_ops`: 2**10 blocks of 512 bytes, half a MiB, so
#: that a tile stays in a core's L2 cache while a run of operators works on it.
TILE_BITS = 10


class _Run:
    """Consecutive operators whose targets lie below block bit ``T`` (diagonals: any block
    bits), collected for one :func:`_run_ops` pass."""

    def __init__(self, v: np.ndarray, W: int, T: int) -> None:
        self.v, self.W, self.T = v, W, T
        self.kinds: list[int] = []
        self.ints: list[list[int]] = []
        self.fr: list[np.ndarray] = []
        self.fi: list[np.ndarray] = []

    def add(self, kind: int, ints: list[int], fr: np.ndarray, fi: np.ndarray) -> None:
        """Operator of ``kind`` with integers ``ints`` and coefficients ``fr + i fi``."""
        self.kinds.append(kind)
        self.ints.append(ints)
        self.fr.append(np.reshape(fr, -1))
        self.fi.append(np.reshape(fi, -1))

    def flush(self) -> None:
        if not self.kinds:
            return
        ioff = np.cumsum([0] + [len(x) for x in self.ints], dtype=np.int64)
        foff = np.cumsum([0] + [x.size for x in self.fr], dtype=np.int64)
        ints = np.array([i for x in self.ints for i in x], dtype=np.int64)
        _run_ops(self.v, self.W, self.T, np.array(self.kinds, dtype=np.int64), ints, ioff,
                 np.ascontiguousarray(np.concatenate(self.fr), dtype=self.v.dtype),
                 np.ascontiguousarray(np.concatenate(self.fi), dtype=self.v.dtype), foff)
        self.kinds, self.ints, self.fr, self.fi = [], [], [], []


def apply_ops_split(state: np.ndarray, ops: Sequence[Any]) -> int:
    """Apply fused operators (:class:`qsim.compile.fusion.FusedOp`, qubits increasing) to the
    flat C-contiguous complex64/complex128 ``state`` in place, through the blocked split layout
    (numba's thread count as set by the caller). Requires :func:`usable`. Returns the number of
    bit-moving passes made (for tests and benchmarks).

    Consecutive 1- and 2-qubit matrices on block bits below ``T`` (:data:`TILE_BITS`, fewer on
    small states) and diagonals on block bits are applied together, tile by tile
    (:func:`_run_ops`): at 22 qubits that takes a hardware-efficient ansatz from 0.66 to 0.50 s
    (complex64, 1 thread). Other operators (a diagonal on bits inside the blocks too: its
    gather does not vectorise inside the run), and bit moves, make their own pass."""
    n = state.size.bit_length() - 1
    B = block_bits(state.dtype)
    W = 1 << B
    T = min(TILE_BITS, n - B - 3)
    real = np.float32 if state.dtype == np.complex64 else np.float64
    v = state.view(real)
    place = _Placement(v, n, B, ops)
    run = _Run(v, W, T)
    _split(v, W)
    try:
        for i, op in enumerate(ops):
            qubits = op.qubits
            k = len(qubits)
            if op.kind == "diag" or not qubits:
                d = np.asarray(op.data, dtype=state.dtype).reshape(-1)
                pos = place.pos
                hb = [pos[q] - B for q in qubits if pos[q] >= B]
                hw = [1 << (k - 1 - t) for t, q in enumerate(qubits) if pos[q] >= B]
                if T >= 2 and len(hb) == k:
                    run.add(_T_DIAGH, [k, *hb, *hw], d.real, d.imag)
                    continue
                lowc = np.zeros(W, dtype=np.int64)
                jj = np.arange(W, dtype=np.int64)
                for t, q in enumerate(qubits):
                    if pos[q] < B:
                        lowc += ((jj >> pos[q]) & 1) << (k - 1 - t)
                run.flush()
                _diag(v, W, np.array(hb, dtype=np.int64), np.array(hw, dtype=np.int64), lowc,
                      np.ascontiguousarray(d.real), np.ascontiguousarray(d.imag))
                continue
            if any(place.pos[q] < B for q in qubits):
                run.flush()
                place.make_room(i, qubits)
            tb = [place.pos[q] - B for q in qubits]
            boff = pattern_offsets(tb)
            bits = np.array(sorted(tb), dtype=np.int64)
            if op.kind != "perm" and k <= 2 and max(tb) < T:
                m = np.asarray(op.data, dtype=state.dtype)
                if k == 1:
                    run.add(_T_DENSE1, tb, m.real, m.imag)
                else:
                    run.add(_T_DENSE2, [*bits.tolist(), *boff.tolist()], m.real, m.imag)
                continue
            run.flush()
            if op.kind == "perm":
                src = np.asarray(op.data, dtype=np.int64)
                moved = np.flatnonzero(src != np.arange(src.size))
                if moved.size:
                    _perm(v, W, bits, boff, src, moved)
                continue
            m = np.asarray(op.data, dtype=state.dtype)
            mr, mi = np.ascontiguousarray(m.real), np.ascontiguousarray(m.imag)
            if k == 1:
                _dense1(v, W, tb[0], mr, mi)
            elif k == 2:
                _dense2(v, W, bits, boff, mr, mi)
            else:
                _densek(v, W, bits, boff, mr, mi)
        run.flush()
    finally:
        place.restore()
        _join(v, W)
    return place.passes
