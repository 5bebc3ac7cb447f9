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

A 1- or 2-qubit matrix with a target inside the blocks acts there (:func:`_lane_body`): each
step loads ``_V`` = 8 consecutive reals per slot (a target on lane bit 3 or more picks another
vector of the block, like a block bit), permutes lanes for the targets on lane bits 0-2 (vector
shuffles), and sums coefficient vectors times those. numba's loop vectoriser does not produce
shuffles and its SLP vectoriser is off, so the steps are numba intrinsics that emit the LLVM
vector code. At 22 qubits this took a random circuit from 0.97 to 0.64 s (complex64, 1 thread):
no bit moves are left for it. In complex64 a 2-qubit matrix on two block bits takes the same
steps (:data:`LANE_DENSE2`): they keep the accumulators in registers, 25-40% faster in cache than
the plain loop.

Wider matrices and permutations still need their targets above the blocks (1- and 2-qubit
permutations with a target inside act there as their matrix): :func:`apply_ops_split`
keeps a map from qubit to bit position and, when such an operator needs a low qubit, exchanges
it (and every other low qubit needed sooner than a high one) with high qubits needed latest
(Belady's rule), with one pass over the state (:func:`_swap_bits`, vector copies and shuffles;
:func:`_permute_bits` for other moves); diagonals act on any bit and never move anything. At
the end the bits go back home and the blocks are interleaved again, so the caller sees the
ordinary layout.

Consecutive 1- and 2-qubit matrices whose block-bit targets are together at most ``T`` bits
(:data:`TILE_BITS`) besides the lowest :data:`TILE_LOW_BITS`, and diagonals on any bits, are
applied tile by tile (:func:`_run_ops`): a tile is the ``2**T`` blocks (half a MiB) that differ
only in those bits, and it gets the whole run while it is in L2 cache, so the run costs one trip
through memory instead of one per operator. The tile bits need not be the lowest: with 3 of them
anywhere, a tile is 8 runs of 64 KiB, and the operators on the highest qubits join runs too
(random circuits at 22 qubits: 0.56 -> 0.47 s, complex64, 1 thread).

Index arithmetic in the hot loops is unsigned: numba adds a negative-index wrap-around to every
signed array index, which stops LLVM from seeing consecutive addresses (and from vectorising).
Every amplitude is computed by the same arithmetic whatever the number of threads (work is split
by blocks, no reductions), so results do not depend on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, prange, types, uint64
from numba.core import cgutils
from numba.extending import intrinsic

from ...interrupts import check as check_interrupt
from .numba_kernels import _spread, pattern_offsets
from .split_layout import DIAG_TABLE_BITS, block_bits
from .split_layout import block_width as block_width  # (its callers import it from here)

#: Blocks per prange work item of the whole-state passes.
_CHUNK_BITS = 6
_CHUNK_BLOCKS = 1 << _CHUNK_BITS


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


# --- explicit SIMD (numba intrinsics) ----------------------------------------------------------
# LLVM's loop vectoriser does not turn lane exchanges (amplitude j of one block with amplitude
# j ^ h of another, h < 8) into vector shuffles, and numba leaves the SLP vectoriser off (a
# miscompilation, numba #8705), so these intrinsics write the vector code directly, on _V
# consecutive reals at a time. Where the code depends on a small integer (a lane bit, a step
# variant), one intrinsic emits every case behind an LLVM switch on it.
_V = 8
_LOG_V = _V.bit_length() - 1


def _vector_ptr(context, builder, arrty, arr, off):  # type: ignore[no-untyped-def]
    """Pointer to ``_V`` elements of array ``arr`` (numba type ``arrty``) from index ``off``."""
    vty = ir.VectorType(context.get_data_type(arrty.dtype), _V)
    data = context.make_array(arrty)(context, builder, arr).data
    return builder.bitcast(builder.gep(data, [off]), vty.as_pointer())


def _switch(builder, value, cases):  # type: ignore[no-untyped-def]
    """Emit ``cases[value]()`` (the last case for any other value) behind an LLVM switch."""
    end = builder.append_basic_block("switch.end")
    blocks = [builder.append_basic_block(f"switch.case{i}") for i in range(len(cases))]
    sw = builder.switch(value, blocks[-1])
    for i, (block, emit) in enumerate(zip(blocks, cases, strict=True)):
        sw.add_case(ir.Constant(value.type, i), block)
        builder.position_at_end(block)
        emit()
        builder.branch(end)
    builder.position_at_end(end)


@intrinsic
def _vcopy(typingctx, dst, i, src, k):  # type: ignore[no-untyped-def]
    """``dst[i:i+_V] = src[k:k+_V]``."""
    sig = types.void(dst, i, src, k)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        ps = _vector_ptr(context, builder, signature.args[2], args[2], args[3])
        pd = _vector_ptr(context, builder, signature.args[0], args[0], args[1])
        builder.store(builder.load(ps, align=4), pd, align=4)
        return context.get_dummy_value()
    return sig, codegen


@intrinsic
def _vswap(typingctx, a, i, k, lane):  # type: ignore[no-untyped-def]
    """Exchange lane bit ``lane`` (< log2(_V)) between ``a[i:i+_V]`` and ``a[k:k+_V]``: with
    h = 2**lane, a[i + j] <-> a[k + j - h] for every j with bit h set."""
    sig = types.void(a, i, k, lane)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        pa = _vector_ptr(context, builder, signature.args[0], args[0], args[1])
        pc = _vector_ptr(context, builder, signature.args[0], args[0], args[2])
        mty = ir.VectorType(ir.IntType(32), _V)

        def exchange(h: int) -> None:
            ma = [j if not j & h else _V + j - h for j in range(_V)]
            mc = [j + h if not j & h else _V + j for j in range(_V)]
            x = builder.load(pa, align=4)
            y = builder.load(pc, align=4)
            builder.store(builder.shuffle_vector(x, y, ir.Constant(mty, ma)), pa, align=4)
            builder.store(builder.shuffle_vector(x, y, ir.Constant(mty, mc)), pc, align=4)

        _switch(builder, args[3], [lambda h=1 << lb: exchange(h) for lb in range(_LOG_V)])
        return context.get_dummy_value()
    return sig, codegen


#: The (slots, lane permutations) of the in-block matrix steps: a target on a lane bit below
#: log2(_V) doubles the permutations (j ^ 2**bit), any other target (a block bit, or a lane bit
#: that selects a vector inside the block) doubles the slots. :func:`_lane_step`'s ``var``
#: indexes this.
LANE_VARIANTS = ((2, (0,)), (1, (0, 1)), (1, (0, 2)), (1, (0, 4)),
                 (4, (0,)), (2, (0, 1)), (2, (0, 2)), (2, (0, 4)),
                 (1, (0, 1, 2, 3)), (1, (0, 1, 4, 5)), (1, (0, 2, 4, 6)))


@intrinsic
def _lane_step(typingctx, var, v, W, o0, o1, o2, o3, cr, ci):  # type: ignore[no-untyped-def]
    """One step of a matrix with targets inside the blocks, variant ``var`` = (nslots, rs) of
    :data:`LANE_VARIANTS`. Slot s (< nslots) is the ``_V`` reals at ``v[o_s:]`` and their
    imaginary parts ``W`` further; the step sets slot s to the sum over slots s' and r = rs[ri]
    of the coefficient vector ``C[s, s', ri]`` times slot s' with its lanes permuted
    j -> j ^ r. ``C[s, s', ri]`` is ``cr + i ci`` at ``((s * nslots + s') * len(rs) + ri) *
    _V``; unused offsets are ignored."""
    sig = types.void(var, v, W, o0, o1, o2, o3, cr, ci)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        vt, ct = signature.args[1], signature.args[7]
        i64 = ir.IntType(64)
        vty = ir.VectorType(context.get_data_type(vt.dtype), _V)
        mty = ir.VectorType(ir.IntType(32), _V)
        name = f"llvm.fma.v{_V}{'f32' if vt.dtype == types.float32 else 'f64'}"
        fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vty, [vty] * 3),
                                             name)
        W_ = args[2]

        def emit(nslots: int, rs: tuple[int, ...]) -> None:
            nr = len(rs)
            ptrs = [(_vector_ptr(context, builder, vt, args[1], o),
                     _vector_ptr(context, builder, vt, args[1], builder.add(o, W_)))
                    for o in args[3:3 + nslots]]
            xs, ys, nys = [], [], []
            for pr, pi in ptrs:
                x = builder.load(pr, align=4)
                y = builder.load(pi, align=4)
                perm = [ir.Constant(mty, [j ^ r for j in range(_V)]) for r in rs]
                xs.append([builder.shuffle_vector(x, x, m) if r else x for r, m in zip(rs, perm)])
                ys.append([builder.shuffle_vector(y, y, m) if r else y for r, m in zip(rs, perm)])
                nys.append([builder.fneg(y) for y in ys[-1]])
            out = []
            for so in range(nslots):
                accr = acci = None
                for si in range(nslots):
                    for ri in range(nr):
                        at = ir.Constant(i64, ((so * nslots + si) * nr + ri) * _V)
                        a = builder.load(_vector_ptr(context, builder, ct, args[7], at), align=4)
                        b = builder.load(_vector_ptr(context, builder, ct, args[8], at), align=4)
                        x, y = xs[si][ri], ys[si][ri]
                        if accr is None:
                            accr, acci = builder.fmul(a, x), builder.fmul(a, y)
                        else:
                            accr = builder.call(fma, [a, x, accr])
                            acci = builder.call(fma, [a, y, acci])
                        accr = builder.call(fma, [b, nys[si][ri], accr])
                        acci = builder.call(fma, [b, x, acci])
                out.append((accr, acci))
            for (pr, pi), (accr, acci) in zip(ptrs, out, strict=True):  # after every load
                builder.store(accr, pr, align=4)
                builder.store(acci, pi, align=4)

        _switch(builder, args[0], [lambda ns=ns, rs=rs: emit(ns, rs) for ns, rs in LANE_VARIANTS])
        return context.get_dummy_value()
    return sig, codegen


# --- operators (targets: block bits, i.e. bit position - B) ---------------------------------------
# Each operator has a body that works on the groups of one tile (a group is the 2**k blocks one
# k-qubit matrix combines; a tile is the blocks whose bits outside a mask of block bits are
# fixed), with its coefficients in flat row-major arrays. A body gets ``M``, the tile's block bits
# that are not the operator's targets, ``tbase``, the tile's fixed bits, and ``G``, its groups in
# the tile: the first block of each group is ``lb | tbase`` for every ``lb`` whose bits lie in
# ``M``, enumerated in increasing order (``lb = ((lb | ~M) + 1) & M``). :func:`_run_ops` runs one
# operator's body over small tiles of the whole state in parallel, or the bodies of a sequence of
# operators tile by tile, so that the sequence makes one pass through memory. One compiled
# function for both keeps the first-use compile time down (each parallel kernel costs 1-4 s of
# compiling, once per machine and precision).
@njit(cache=True, nogil=True, inline="always")
def _next_in(lb, M):  # type: ignore[no-untyped-def]
    """The next value after ``lb`` whose bits all lie in mask ``M`` (uint64)."""
    return ((lb | ~M) + uint64(1)) & M


@njit(cache=True, nogil=True, inline="always")
def _bit_count(x):  # type: ignore[no-untyped-def]
    """The set bits of ``x`` (uint64)."""
    n = 0
    while x:
        x &= x - uint64(1)
        n += 1
    return n


@njit(cache=True, nogil=True, inline="always")
def _deposit(x, mask):  # type: ignore[no-untyped-def]
    """The bits of ``x``, lowest first, placed at the set bits of ``mask`` (uint64)."""
    out = uint64(0)
    m = uint64(mask)
    xx = uint64(x)
    while m:
        low = m & (uint64(0) - m)
        if xx & uint64(1):
            out |= low
        xx >>= uint64(1)
        m ^= low
    return out


@njit(cache=True, nogil=True, fastmath={"contract"}, inline="always")
def _d1_body(v, W, tb, mr, mi, M, tbase, G):  # type: ignore[no-untyped-def]
    """2x2 matrix mr + i mi (flat, row-major) on block bit ``tb``, the tile's groups."""
    Wu = uint64(W)
    W2 = uint64(2 * W)
    step = (uint64(1) << uint64(tb)) * W2
    r00, r01, r10, r11 = mr[0], mr[1], mr[2], mr[3]
    i00, i01, i10, i11 = mi[0], mi[1], mi[2], mi[3]
    lb = uint64(0)
    for _ in range(G):
        f0 = (lb | tbase) * W2
        f1 = f0 + step
        lb = _next_in(lb, M)
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
def _d2_body(v, W, boff, mr, mi, M, tbase, G):  # type: ignore[no-untyped-def]
    """4x4 matrix (flat, row-major) on two block bits (``boff[c]``: block offset of target
    pattern c), the tile's groups."""
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
    lb = uint64(0)
    for _ in range(G):
        f0 = (lb | tbase) * W2
        lb = _next_in(lb, M)
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


@njit(cache=True, nogil=True, inline="always")
def _weighted_bits(b, hbits, hweight):  # type: ignore[no-untyped-def]
    """The sum over t of bit ``hbits[t]`` of block index ``b`` times ``hweight[t]``: the part of
    a diagonal's (or its table's) index that the block's bits give."""
    c = 0
    for t in range(hbits.size):
        c += ((b >> uint64(hbits[t])) & uint64(1)) * hweight[t]
    return c


@njit(cache=True, nogil=True, fastmath={"contract"}, inline="always")
def _diag_body(v, W, hbits, hweight, lowc, dr, di, M, tbase, G):  # type: ignore[no-untyped-def]
    """Diagonal d = dr + i di on any targets, the tile's blocks: amplitude (block b, offset j) is
    multiplied by d[c], c = sum over high targets of bit hbits[t] of b times hweight[t], plus
    lowc[j] (the low targets' part of c, per offset in the block)."""
    Wu = uint64(W)
    W2 = uint64(2 * W)
    lb = uint64(0)
    for _ in range(G):
        b = lb | tbase
        lb = _next_in(lb, M)
        ch = _weighted_bits(b, hbits, hweight)
        f = b * W2
        for j in range(Wu):
            k = uint64(ch + lowc[j])
            x = v[f + j]
            y = v[f + Wu + j]
            v[f + j] = dr[k] * x - di[k] * y
            v[f + Wu + j] = dr[k] * y + di[k] * x


@njit(cache=True, nogil=True, fastmath={"contract"}, inline="always")
def _diagh_body(v, W, hbits, hweight, dr, di, M, tbase, G):  # type: ignore[no-untyped-def]
    """:func:`_diag_body` without low targets: one factor per block (a plain SIMD loop)."""
    Wu = uint64(W)
    W2 = uint64(2 * W)
    lb = uint64(0)
    for _ in range(G):
        b = lb | tbase
        lb = _next_in(lb, M)
        ch = _weighted_bits(b, hbits, hweight)
        f = b * W2
        a = dr[ch]
        c = di[ch]
        for j in range(Wu):
            x = v[f + j]
            y = v[f + Wu + j]
            v[f + j] = a * x - c * y
            v[f + Wu + j] = a * y + c * x


@njit(cache=True, nogil=True, fastmath={"contract"}, inline="always")
def _diagt_body(v, W, hbits, tr, ti, M, tbase, G):  # type: ignore[no-untyped-def]
    """Diagonal with targets inside the blocks, as a table of factor blocks: amplitude (block b,
    offset j) is multiplied by ``tr + i ti`` at ``h * W + j``, h the pattern of b's bits
    ``hbits`` (first = least significant). Contiguous in j: a plain SIMD loop, no gather."""
    Wu = uint64(W)
    W2 = uint64(2 * W)
    lb = uint64(0)
    for _ in range(G):
        b = lb | tbase
        lb = _next_in(lb, M)
        h = uint64(0)
        for t in range(hbits.size):
            h |= ((b >> uint64(hbits[t])) & uint64(1)) << uint64(t)
        f = b * W2
        e = uint64(h) * Wu
        for j in range(Wu):
            a = tr[e + j]
            c = ti[e + j]
            x = v[f + j]
            y = v[f + Wu + j]
            v[f + j] = a * x - c * y
            v[f + Wu + j] = a * y + c * x


@njit(cache=True, nogil=True, fastmath={"contract"}, inline="always")
def _lane_body(v, W, ints, cr, ci, M, tbase, G):  # type: ignore[no-untyped-def]
    """A 1- or 2-qubit matrix with a target inside the blocks, the tile's groups, in steps of
    :func:`_lane_step`: ``ints`` = variant (index in :data:`LANE_VARIANTS`), the number h of
    block-bit targets and their bits (increasing), the number of targets on vector-selecting
    lane bits and their bits minus log2(_V) (increasing), then the 4 slot offsets (reals, from
    the step's first real); coefficient vectors ``cr + i ci``."""
    var = ints[0]
    nh = ints[1]
    nvb = ints[2 + nh]
    vb = ints[3 + nh:3 + nh + nvb]
    e = 3 + nh + nvb
    d0, d1, d2, d3 = uint64(ints[e]), uint64(ints[e + 1]), uint64(ints[e + 2]), uint64(ints[e + 3])
    Wu = uint64(W)
    W2 = uint64(2 * W)
    Vu = uint64(_V)
    nu = (W // _V) >> nvb
    lb = uint64(0)
    for _ in range(G):
        base = (lb | tbase) * W2
        lb = _next_in(lb, M)
        for uu in range(nu):
            o = base + uint64(_spread(uu, vb)) * Vu
            _lane_step(var, v, Wu, o + d0, o + d1, o + d2, o + d3, cr, ci)


#: Operator kinds of :func:`_run_ops`.
_T_DENSE1, _T_DENSE2, _T_DIAGH, _T_DIAG, _T_LANE, _T_DIAGT = 1, 2, 3, 4, 5, 6


@njit(cache=True, nogil=True, inline="always")
def _op_body(v, W, k, ints, fr, fi, M, tbase, G):  # type: ignore[no-untyped-def]
    """Operator of kind ``k`` (integers ``ints``, coefficients ``fr``, ``fi``: see
    :func:`_run_ops`) on the groups of one tile."""
    if k == _T_DENSE1:
        _d1_body(v, W, ints[0], fr, fi, M, tbase, G)
    elif k == _T_DENSE2:
        _d2_body(v, W, ints[2:], fr, fi, M, tbase, G)
    elif k == _T_LANE:
        _lane_body(v, W, ints, fr, fi, M, tbase, G)
    elif k == _T_DIAGT:
        _diagt_body(v, W, ints, fr, fi, M, tbase, G)
    elif k == _T_DIAGH:
        nh = ints[0]
        _diagh_body(v, W, ints[1:1 + nh], ints[1 + nh:1 + 2 * nh], fr, fi, M, tbase, G)
    else:
        nh = ints[0]
        _diag_body(v, W, ints[1:1 + nh], ints[1 + nh:1 + 2 * nh], ints[1 + 2 * nh:], fr, fi,
                   M, tbase, G)


@njit(cache=True, parallel=True, nogil=True, fastmath={"contract"})
def _run_ops(v, W, tmask, kinds, ints, ioff, omask, fr, fi, foff):  # type: ignore[no-untyped-def]
    """Operators in sequence, tile by tile: a tile is the 2**T blocks that differ only in the T
    block bits of ``tmask``, which holds every matrix's block-bit targets (``omask[i]``:
    operator i's; diagonals act on any bits, with none in their mask), so the tiles are
    independent and work item t gives tile t (its other bits: the bits of t) the whole sequence
    while it sits in cache. A single operator runs the same way, over small tiles.

    Operator i: kind ``kinds[i]``; integers ``ints[ioff[i]:ioff[i+1]]`` (dense 1: the bit;
    dense 2: the two bits increasing, then the four block offsets; diagonal: the number h of
    targets above the blocks, their bits, their weights, and, for :data:`_T_DIAG` (low targets
    too), the W-entry low table; diagonal as a factor table (:data:`_T_DIAGT`): the bits;
    in-block matrix: see :func:`_lane_body`); coefficients ``fr + i fi`` at
    ``[foff[i]:foff[i+1]]`` (matrix row-major, the diagonal or its table, or the in-block
    matrix's coefficient vectors)."""
    nblocks = v.size // (2 * W)
    tm = uint64(tmask)
    rest = uint64(nblocks - 1) & ~tm
    T = _bit_count(tm)
    nitems = nblocks >> T
    for t in prange(nitems):
        tbase = _deposit(t, rest)
        for i in range(kinds.size):
            om = uint64(omask[i])
            _op_body(v, W, kinds[i], ints[ioff[i]:ioff[i + 1]], fr[foff[i]:foff[i + 1]],
                     fi[foff[i]:foff[i + 1]], tm & ~om, tbase, 1 << (T - _bit_count(om)))


def _one(v: np.ndarray, W: int, kind: int, ints: Sequence[int], fr: np.ndarray,
         fi: np.ndarray, queue: _Queue | None = None) -> None:
    """One operator of :func:`_run_ops` on the whole state (tiles of its target bits and the
    lowest others, 2**6 blocks at least: parallel work items); queued on ``queue`` if given."""
    nb = (v.size // (2 * W)).bit_length() - 1
    ints = list(ints)
    run = _Run(v, W, max(min(_CHUNK_BITS, nb), op_mask(kind, ints).bit_count()), queue=queue)
    run.add(kind, ints, fr, fi)
    run.flush()


def op_mask(kind: int, ints: Sequence[int]) -> int:
    """The block-bit targets of an operator of :func:`_run_ops`, as a mask (diagonals: none)."""
    if kind == _T_DENSE1:
        return 1 << ints[0]
    if kind == _T_DENSE2:
        return (1 << ints[0]) | (1 << ints[1])
    if kind == _T_LANE:
        return sum(1 << b for b in ints[2:2 + ints[1]])
    return 0


def tile_mask(mask: int, T: int, nb: int) -> int:
    """``mask`` with the lowest other bits below ``nb`` added until it has ``T`` bits."""
    b = 0
    while mask.bit_count() < T and b < nb:
        mask |= 1 << b
        b += 1
    return mask


_LANE_INDEX = {variant: i for i, variant in enumerate(LANE_VARIANTS)}
_lane_layouts: dict[tuple[tuple[int, ...], int], tuple[list[int], np.ndarray, np.ndarray]] = {}


def lane_layout(tpos: Sequence[int], B: int) -> tuple[list[int], np.ndarray, np.ndarray]:
    """A 1- or 2-qubit matrix whose targets are at bit positions ``tpos`` (the matrix's first
    qubit first; a position below ``B`` is inside the blocks): the integers of
    :func:`_lane_body`, and the row and column of the matrix entry behind each coefficient
    lane (arrays (slots, slots, permutations, _V)). Cached by layout."""
    key = (tuple(tpos), B)
    got = _lane_layouts.get(key)
    if got is not None:
        return got
    k = len(tpos)
    shuffle = sorted(p for p in tpos if p < _LOG_V)
    other = [t for t in range(k) if tpos[t] >= _LOG_V]
    nslots = 1 << len(other)
    rs = tuple(sum(1 << shuffle[i] for i in range(len(shuffle)) if ri >> i & 1)
               for ri in range(1 << len(shuffle)))
    W2 = 2 << B
    deltas = []
    for sl in range(nslots):
        d = 0
        for i, t in enumerate(other):
            if sl >> (len(other) - 1 - i) & 1:
                p = tpos[t]
                d += (1 << (p - B)) * W2 if p >= B else (1 << (p - _LOG_V)) * _V
        deltas.append(d)
    hb = sorted(p - B for p in tpos if p >= B)
    vb = sorted(p - _LOG_V for p in tpos if _LOG_V <= p < B)
    ints = [_LANE_INDEX[(nslots, rs)], len(hb), *hb, len(vb), *vb,
            *(deltas + [0] * (4 - nslots))]
    so, si, ri, j = np.meshgrid(np.arange(nslots), np.arange(nslots), np.arange(len(rs)),
                                np.arange(_V), indexing="ij")
    jr = j ^ np.asarray(rs)[ri]

    def index(slot: np.ndarray, lane: np.ndarray) -> np.ndarray:
        c = np.zeros_like(slot)
        for t in range(k):
            if tpos[t] < _LOG_V:
                bit = (lane >> tpos[t]) & 1
            else:
                bit = (slot >> (len(other) - 1 - other.index(t))) & 1
            c |= bit << (k - 1 - t)
        return c

    got = (ints, index(so, j), index(si, jr))
    _lane_layouts[key] = got
    return got


def diagonal_table(d: np.ndarray, tpos: Sequence[int], B: int) -> np.ndarray:
    """The factor table of :func:`_diagt_body` for diagonal ``d`` on bit positions ``tpos``
    (the first target is the most significant bit of the index into ``d``): row h, column j is
    the factor of offset j in a block whose bits above the blocks (the targets' there, in the
    order of ``tpos``, first = least significant bit of h) are h."""
    k = len(tpos)
    W = 1 << B
    high = [t for t in range(k) if tpos[t] >= B]
    h = np.arange(1 << len(high))[:, None]
    j = np.arange(W)[None, :]
    idx = np.zeros((h.size, W), dtype=np.int64)
    for t in range(k):
        bit = (h >> high.index(t)) & 1 if tpos[t] >= B else (j >> tpos[t]) & 1
        idx |= bit << (k - 1 - t)
    return np.ascontiguousarray(d[idx].reshape(-1))


def lane_coefficients(m: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The coefficient vectors of :func:`_lane_step` for matrix ``m`` (complex, flat)."""
    return m[rows, cols].reshape(-1)


def _dense1(v: np.ndarray, W: int, tb: int, mr: np.ndarray, mi: np.ndarray,
            queue: _Queue | None = None) -> None:
    """2x2 matrix mr + i mi on block bit ``tb``, the whole state."""
    _one(v, W, _T_DENSE1, [int(tb)], mr, mi, queue)


def _dense2(v: np.ndarray, W: int, bits: np.ndarray, boff: np.ndarray, mr: np.ndarray,
            mi: np.ndarray, queue: _Queue | None = None) -> None:
    """4x4 matrix on block bits ``bits`` (increasing; ``boff[c]``: block offset of target
    pattern c, c's most significant bit the matrix's first qubit), the whole state."""
    _one(v, W, _T_DENSE2, [*map(int, bits), *map(int, boff)], mr, mi, queue)


def _diag(v: np.ndarray, W: int, hbits: np.ndarray, hweight: np.ndarray, lowc: np.ndarray,
          dr: np.ndarray, di: np.ndarray, queue: _Queue | None = None) -> None:
    """Diagonal on any targets (see :func:`_diag_body`), the whole state."""
    ints = [len(hbits), *map(int, hbits), *map(int, hweight)]
    if np.any(lowc):
        _one(v, W, _T_DIAG, [*ints, *map(int, lowc)], dr, di, queue)
    else:
        _one(v, W, _T_DIAGH, ints, dr, di, queue)


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


def permutation_table(src: np.ndarray, tpos: Sequence[int], B: int
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arguments ``hbits, hoff, table`` of :func:`_permute_bits` for the permutation
    ``(P x)[c] = x[src[c]]`` on the qubits at bit positions ``tpos`` (the first the most
    significant bit of c; some inside the blocks): one gather pass, with no bit moved."""
    k = len(tpos)
    W = 1 << B
    high = sorted(p - B for p in tpos if p >= B)
    t_of = {b: t for t, b in enumerate(high)}
    S = 1 << len(high)
    e = np.arange(S * W, dtype=np.int64)
    h, j = e >> B, e & (W - 1)

    def field(at: int) -> tuple[np.ndarray, int]:  # the bit array that holds position `at`
        return (j, at) if at < B else (h, t_of[at - B])

    c = np.zeros_like(e)
    for t, at in enumerate(tpos):
        arr, b = field(at)
        c |= ((arr >> b) & 1) << (k - 1 - t)
    ci = np.asarray(src, dtype=np.int64)[c]
    hs, js = h.copy(), j.copy()
    for t, at in enumerate(tpos):
        bit = (ci >> (k - 1 - t)) & 1
        if at < B:
            js = (js & ~(1 << at)) | (bit << at)
        else:
            b = t_of[at - B]
            hs = (hs & ~(1 << b)) | (bit << b)
    table = (hs * (2 * W) + js).astype(np.int32)
    return np.array(high, dtype=np.int64), pattern_offsets(high[::-1]), table


# --- bit moves by exchanges ----------------------------------------------------------------------
@njit(cache=True, parallel=True, nogil=True)
def _swap_bits(v, W, sbits, boff, vsrc, lanes, gbits):  # type: ignore[no-untyped-def]
    """Exchange bits in place: groups of S = boff.size blocks (blocks that differ only in block
    bits ``sbits``, increasing; ``boff[p]``: block offset of group pattern p). Vector e (``_V``
    reals; ``2W / _V`` per block) of the moved group is read from offset ``vsrc[e]`` (in reals,
    from the group's first block) of the group before the exchanges of block bits with lane bits >= log2(_V), which are thus done by addressing;
    then each exchange of lane bit ``lanes[t]`` (< log2(_V)) with group-pattern bit ``gbits[t]``
    is a sweep of vector shuffles over the group in scratch (in L1 cache)."""
    S = boff.size
    nblocks = v.size // (2 * W)
    ngroups = nblocks // S
    per = max(1, _CHUNK_BLOCKS // S)
    nchunks = (ngroups + per - 1) // per
    W2 = uint64(2 * W)
    Vu = uint64(_V)
    nv = W2 // Vu
    for c in prange(nchunks):
        s = np.empty(S * 2 * W, dtype=v.dtype)
        for g in range(c * per, min(ngroups, (c + 1) * per)):
            base = uint64(_spread(g, sbits))
            b0 = base * W2
            for e in range(uint64(S) * nv):
                _vcopy(s, e * Vu, v, b0 + uint64(vsrc[e]))
            for t in range(lanes.size):
                gb = uint64(1) << uint64(gbits[t])
                lb = lanes[t]
                for p in range(uint64(S)):
                    if p & gb:
                        continue
                    fa = p * W2
                    fc = (p | gb) * W2
                    for u in range(nv):
                        _vswap(s, fa + u * Vu, fc + u * Vu, lb)
            for p in range(uint64(S)):
                f = (base + uint64(boff[p])) * W2
                o = p * W2
                for u in range(nv):
                    _vcopy(v, f + u * Vu, s, o + u * Vu)


def exchange_plan(pos: Sequence[int], new: Sequence[int], B: int):  # type: ignore[no-untyped-def]
    """Arguments of :func:`_swap_bits` for the move ``pos -> new`` (bit of each qubit), or None
    when it is not a set of exchanges of a lane bit (< B) with a block bit."""
    pairs = {}
    for q, at in enumerate(pos):
        if new[q] != at:
            pairs[at] = new[q]
    if not pairs or any(pairs.get(b) != a for a, b in pairs.items()) or any(
            (a < B) == (b < B) for a, b in pairs.items()):
        return None
    ex = sorted(((a, b - B) for a, b in pairs.items() if a < B), key=lambda x: x[1])
    sbits = np.array([b for _, b in ex], dtype=np.int64)
    m = len(ex)
    S = 1 << m
    p = np.arange(S, dtype=np.int64)
    boff = np.zeros(S, dtype=np.int64)
    for t, b in enumerate(sbits):
        boff |= ((p >> t) & 1) << int(b)
    W = 1 << B
    nv = 2 * W // _V
    e = np.arange(S * nv, dtype=np.int64)
    pe, u = e // nv, e % nv
    src_p, src_u = pe.copy(), u.copy()
    lanes, gbits = [], []
    for t, (lane, _) in enumerate(ex):
        if lane < _LOG_V:
            lanes.append(lane)
            gbits.append(t)
            continue
        ub = lane - _LOG_V  # the lane bit's bit in u (the same in the real and imaginary halves)
        bp, bu = (pe >> t) & 1, (u >> ub) & 1
        src_p ^= (bp ^ bu) << t
        src_u ^= (bp ^ bu) << ub
    return (sbits, boff, boff[src_p] * (2 * W) + src_u * _V, np.array(lanes, dtype=np.int64),
            np.array(gbits, dtype=np.int64))


# --- the executor ------------------------------------------------------------------------------
_NEVER = 1 << 62


def usable(ops: Sequence[Any], n: int, dtype: Any) -> bool:
    """Whether :func:`apply_ops_split` can run ``ops`` on an ``n``-qubit state: every matrix and
    permutation fits above the block bits."""
    free = n - block_bits(dtype)
    return free >= 1 and all(op.kind == "diag" or len(op.qubits) <= free for op in ops)


def needs_high(op: Any) -> bool:
    """Whether operator ``op`` needs its targets above the blocks: matrices on 3 or more qubits
    (1- and 2-qubit ones also act inside the blocks; a permutation with targets inside is one
    gather pass, :func:`permutation_table`, the 1- and 2-qubit ones as their matrix; diagonals
    act anywhere)."""
    return op.kind == "dense" and len(op.qubits) > 2


class _Queue:
    """Kernel calls of :func:`apply_ops_split`, made in batches after the Python that prepares
    them: between two kernels that sweep the state, that Python finds its own data evicted from
    the caches and runs about twice as slow (random 20 qubits: 3.4 ms of preparation took 7.3 ms
    interleaved with the kernels). ``done_pos``: the bit positions the passes made so far left."""

    #: A batch is made once it holds this many calls or this many bytes of arguments.
    CALLS = 64
    BYTES = 4 << 20

    def __init__(self, v: np.ndarray, pos: list[int]) -> None:
        self.v = v
        self.items: list[tuple[Any, tuple[Any, ...], list[int] | None]] = []
        self.bytes = 0
        self.done_pos = list(pos)

    def push(self, kernel: Any, *args: Any, pos: list[int] | None = None) -> None:
        """Queue ``kernel(*args)``; ``pos``: the bit positions after it, for a bit move."""
        self.items.append((kernel, args, pos))
        self.bytes += sum(a.nbytes for a in args if isinstance(a, np.ndarray) and a is not self.v)
        if len(self.items) >= self.CALLS or self.bytes >= self.BYTES:
            self.run()

    def run(self) -> None:
        """Make the queued calls, in order."""
        items, self.items, self.bytes = self.items, [], 0
        for kernel, args, pos in items:
            check_interrupt()  # a Ctrl-C that numba dropped while compiling (qsim.interrupts)
            kernel(*args)
            if pos is not None:
                self.done_pos = pos


class _Placement:
    """Bit position of each qubit (home: ``n - 1 - q``) and the passes that move them."""

    def __init__(self, v: np.ndarray, n: int, B: int, ops: Sequence[Any],
                 queue: _Queue | None = None) -> None:
        self.v, self.n, self.B, self.W = v, n, B, 1 << B
        #: where the passes go (None: made at once)
        self.queue = queue
        self.pos = [n - 1 - q for q in range(n)]
        self.uses: list[list[int]] = [[] for _ in range(n)]
        for i, op in enumerate(ops):
            if needs_high(op):
                for q in op.qubits:
                    self.uses[q].append(i)
        self.ptr = [0] * n
        self.passes = 0
        #: moves that only exchange lane bits with block bits go through :func:`_swap_bits`
        #: (False: every move through the general table, :func:`_permute_bits`; for tests)
        self.exchanges = True

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
        plan = exchange_plan(pos, new, B) if self.exchanges else None
        if plan is not None:
            self._pass(new, _swap_bits, self.v, W, *plan)
            return
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
        self._pass(new, _permute_bits, self.v, W, hbits, pattern_offsets(high[::-1]), offs)

    def _pass(self, new: list[int], kernel: Any, *args: Any) -> None:
        if self.queue is None:
            kernel(*args)
        else:
            self.queue.push(kernel, *args, pos=list(new))
        self.pos = list(new)
        self.passes += 1


#: The real type in which a 2-qubit matrix with both targets above the blocks also goes through
#: the vector steps of :func:`_lane_body` (variant (4, (0,))): they load the four slots, then
#: sum coefficient vectors times them, and in complex64 that runs at 0.40 ns per amplitude in
#: cache against 0.55-0.70 for the loop of :func:`_d2_body` (whose vectorised body LLVM guards
#: with runtime alias checks on every 64-amplitude group). In complex128 the 8-wide vectors
#: are two registers each, they spill, and the loop is as fast (1.02 against 1.04-1.09 ns).
LANE_DENSE2: type = np.float32

#: log2 of the blocks per tile of :func:`_run_ops`: 2**10 blocks of 512 bytes, half a MiB, so
#: that a tile stays in a core's L2 cache while a run of operators works on it.
TILE_BITS = 10
#: The lowest block bits every tile of a run holds: the tile is then 2**(TILE_BITS -
#: TILE_LOW_BITS) = 8 runs of 64 KiB, which an 8-way L2 cache holds even when they are a large
#: power of two apart (tiles of single blocks 32 KiB apart thrashed it: a hardware-efficient
#: ansatz at 22 qubits was 24% slower).
TILE_LOW_BITS = 7


class _Run:
    """Consecutive operators whose block-bit targets together are at most ``T`` bits
    (diagonals: any block bits, none counted), collected for one :func:`_run_ops` pass over
    tiles of ``T`` block bits: those, and the lowest others."""

    def __init__(self, v: np.ndarray, W: int, T: int, low: int = 0,
                 queue: _Queue | None = None) -> None:
        self.v, self.W, self.T, self.queue = v, W, T, queue
        self.nb = (v.size // (2 * W)).bit_length() - 1
        #: the lowest ``low`` block bits are always tile bits (long contiguous runs of blocks)
        self.union = self.base = (1 << max(0, min(low, T, self.nb))) - 1
        self.kinds: list[int] = []
        self.ints: list[list[int]] = []
        self.masks: list[int] = []
        self.fr: list[np.ndarray] = []
        self.fi: list[np.ndarray] = []

    def fits(self, mask: int) -> bool:
        """Whether an operator with block-bit targets ``mask`` may join the run."""
        return (self.union | mask).bit_count() <= self.T

    def takes(self, mask: int) -> bool:
        """Whether an operator with block-bit targets ``mask`` fits in a run of its own."""
        return (self.base | mask).bit_count() <= self.T

    def add(self, kind: int, ints: list[int], fr: np.ndarray, fi: np.ndarray) -> None:
        """Operator of ``kind`` with integers ``ints`` and coefficients ``fr + i fi`` (of one
        size: :func:`_run_ops` slices both with the same offsets); it must fit."""
        assert np.size(fr) == np.size(fi)
        mask = op_mask(kind, ints)
        assert self.fits(mask)
        self.union |= mask
        self.kinds.append(kind)
        self.ints.append(ints)
        self.masks.append(mask)
        self.fr.append(np.reshape(fr, -1))
        self.fi.append(np.reshape(fi, -1))

    def flush(self) -> None:
        if not self.kinds:
            return
        ioff = np.cumsum([0] + [len(x) for x in self.ints], dtype=np.int64)
        foff = np.cumsum([0] + [x.size for x in self.fr], dtype=np.int64)
        ints = np.array([i for x in self.ints for i in x], dtype=np.int64)
        args = (self.v, self.W, tile_mask(self.union, self.T, self.nb),
                np.array(self.kinds, dtype=np.int64), ints, ioff,
                np.array(self.masks, dtype=np.int64),
                np.ascontiguousarray(np.concatenate(self.fr), dtype=self.v.dtype),
                np.ascontiguousarray(np.concatenate(self.fi), dtype=self.v.dtype), foff)
        if self.queue is None:
            _run_ops(*args)
        else:
            self.queue.push(_run_ops, *args)
        self.union = self.base
        self.kinds, self.ints, self.masks, self.fr, self.fi = [], [], [], [], []


@lru_cache(maxsize=4096)
def _dense2_offsets(a: int, b: int) -> tuple[int, ...]:
    """Block offsets of the four target patterns of a 2-qubit matrix on block bits a, b."""
    return tuple(pattern_offsets([a, b]).tolist())


def apply_ops_split(state: np.ndarray, ops: Sequence[Any]) -> int:
    """Apply fused operators (:class:`qsim.compile.fusion.FusedOp`, qubits increasing) to the
    flat C-contiguous complex64/complex128 ``state`` in place, through the blocked split layout
    (numba's thread count as set by the caller). Requires :func:`usable`. Returns the number of
    bit-moving passes made (for tests and benchmarks).

    Consecutive 1- and 2-qubit matrices on at most ``T`` block bits together (:data:`TILE_BITS`,
    fewer on small states; the lowest :data:`TILE_LOW_BITS` always among them) and diagonals on
    block bits are applied together, tile by tile (:func:`_run_ops`). Other operators (a diagonal
    with many targets inside and above the blocks: its gather does not vectorise inside the run),
    and bit moves, make their own pass."""
    n = state.size.bit_length() - 1
    B = block_bits(state.dtype)
    W = 1 << B
    T = min(TILE_BITS, n - B - 3)
    real = np.float32 if state.dtype == np.complex64 else np.float64
    v = state.view(real)
    place = _Placement(v, n, B, ops)
    queue = place.queue = _Queue(v, place.pos)
    run = _Run(v, W, T, TILE_LOW_BITS, queue)
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
                if len(hb) <= DIAG_TABLE_BITS:
                    table = diagonal_table(d, [pos[q] for q in qubits], B)
                    if T >= 2:
                        run.add(_T_DIAGT, hb, table.real, table.imag)
                    else:
                        run.flush()
                        _one(v, W, _T_DIAGT, hb, table.real, table.imag, queue)
                    continue
                lowc = np.zeros(W, dtype=np.int64)
                jj = np.arange(W, dtype=np.int64)
                for t, q in enumerate(qubits):
                    if pos[q] < B:
                        lowc += ((jj >> pos[q]) & 1) << (k - 1 - t)
                run.flush()
                _diag(v, W, np.array(hb, dtype=np.int64), np.array(hw, dtype=np.int64), lowc,
                      np.ascontiguousarray(d.real), np.ascontiguousarray(d.imag), queue)
                continue
            if any(place.pos[q] < B for q in qubits) or (k == 2 and op.kind == "dense"
                                                          and real is LANE_DENSE2):
                if op.kind == "perm" and k > 2:
                    run.flush()
                    queue.push(_permute_bits, v, W, *permutation_table(
                        np.asarray(op.data), [place.pos[q] for q in qubits], B))
                    continue
                if not needs_high(op):
                    ints, rows, cols = lane_layout([place.pos[q] for q in qubits], B)
                    if op.kind == "perm":  # (P x)[i] = x[src[i]]: row i of P is e_src[i]
                        m = np.eye(1 << k, dtype=state.dtype)[np.asarray(op.data)]
                    else:
                        m = np.asarray(op.data, dtype=state.dtype)
                    c = lane_coefficients(m, rows, cols)
                    mask = op_mask(_T_LANE, ints)
                    if run.takes(mask):
                        if not run.fits(mask):
                            run.flush()
                        run.add(_T_LANE, ints, c.real, c.imag)
                    else:
                        run.flush()
                        _one(v, W, _T_LANE, ints, c.real, c.imag, queue)
                    continue
                run.flush()
                place.make_room(i, qubits)
            tb = [place.pos[q] - B for q in qubits]
            mask = sum(1 << b for b in tb)
            if op.kind != "perm" and k <= 2 and run.takes(mask):
                m = np.asarray(op.data, dtype=state.dtype)
                if not run.fits(mask):
                    run.flush()
                if k == 1:
                    run.add(_T_DENSE1, tb, m.real, m.imag)
                else:
                    run.add(_T_DENSE2, [*sorted(tb), *_dense2_offsets(*tb)], m.real, m.imag)
                continue
            boff = pattern_offsets(tb)
            bits = np.array(sorted(tb), dtype=np.int64)
            run.flush()
            if op.kind == "perm":
                src = np.asarray(op.data, dtype=np.int64)
                moved = np.flatnonzero(src != np.arange(src.size))
                if moved.size:
                    queue.push(_perm, v, W, bits, boff, src, moved)
                continue
            m = np.asarray(op.data, dtype=state.dtype)
            mr, mi = np.ascontiguousarray(m.real), np.ascontiguousarray(m.imag)
            if k == 1:
                _dense1(v, W, tb[0], mr, mi, queue)
            elif k == 2:
                _dense2(v, W, bits, boff, mr, mi, queue)
            else:
                queue.push(_densek, v, W, bits, boff, mr, mi)
        run.flush()
        place.restore()
        queue.run()
    except BaseException:
        # back to the ordinary layout from where the passes made so far left the bits
        queue.items.clear()
        place.queue = None
        place.pos = queue.done_pos
        place.restore()
        raise
    finally:
        _join(v, W)
    return place.passes
