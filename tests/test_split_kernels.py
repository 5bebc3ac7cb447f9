"""The blocked split layout (qsim/backends/dense/split_kernels.py) against the numpy kernels and
against ``embed(matrix, qubits, n) @ state``: random runs of dense, diagonal and permutation
operators on every kind of target (inside the blocks, above them, mixed), the layout passes on
their own, the bit-moving planner, thread-count independence, and the dispatch in
:func:`qsim.backends.dense.state.apply_ops`."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba")

import qsim  # noqa: E402
from qsim.backends.dense import kernels  # noqa: E402
from qsim.backends.dense import numba_kernels as nk  # noqa: E402
from qsim.backends.dense import split_kernels as sk  # noqa: E402
from qsim.backends.dense import state as dense_state  # noqa: E402
from qsim.compile.fusion import FusedOp, FusionConfig  # noqa: E402
from qsim.compile.lower import lower  # noqa: E402
from qsim.kron import embed  # noqa: E402

DTYPES = [np.complex128, np.complex64]
TOL = {np.complex128: 1e-12, np.complex64: 3e-6}


def _state(rng: np.random.Generator, n: int, dtype: type) -> np.ndarray:
    v = rng.standard_normal(1 << n) + 1j * rng.standard_normal(1 << n)
    return (v / np.linalg.norm(v)).astype(dtype)


def _op(rng: np.random.Generator, n: int, kind: str, qubits: tuple[int, ...]) -> FusedOp:
    K = 1 << len(qubits)
    if kind == "dense":
        a = rng.standard_normal((K, K)) + 1j * rng.standard_normal((K, K))
        return FusedOp("dense", qubits, np.linalg.qr(a)[0])
    if kind == "diag":
        return FusedOp("diag", qubits, np.exp(1j * rng.uniform(0, 2 * np.pi, K)))
    return FusedOp("perm", qubits, rng.permutation(K))


def _random_ops(rng: np.random.Generator, n: int, count: int, max_k: int = 4) -> list[FusedOp]:
    ops = []
    for _ in range(count):
        kind = str(rng.choice(["dense", "dense", "diag", "perm"]))
        k = int(rng.integers(0 if kind == "diag" else 1, max_k + 1))
        qubits = tuple(sorted(int(q) for q in rng.choice(n, size=k, replace=False)))
        ops.append(_op(rng, n, kind, qubits))
    return ops


def _reference(psi: np.ndarray, ops: list[FusedOp]) -> np.ndarray:
    """The obviously correct route: each operator as a 2**n x 2**n matrix (complex128)."""
    n = psi.size.bit_length() - 1
    out = psi.astype(np.complex128)
    for op in ops:
        if op.kind == "dense":
            m = op.data
        elif op.kind == "diag":
            m = np.diag(op.data)
        else:
            m = np.eye(op.data.size)[op.data]  # (P x)[i] = x[src[i]]
        out = embed(m, list(op.qubits), n) @ out if op.qubits else m.reshape(-1)[0] * out
    return out


def _numpy_route(psi: np.ndarray, ops: list[FusedOp]) -> np.ndarray:
    """The numpy kernels, operator by operator (for states too large for :func:`_reference`)."""
    ref = psi.copy()
    for op in ops:
        if op.kind == "diag":
            kernels.apply_sorted_diagonal(ref, op.data, op.qubits)
        elif op.kind == "perm":
            kernels.apply_sorted_permutation(ref, op.data, op.qubits)
        else:
            kernels.apply_sorted_matrix(ref, op.data, op.qubits)
    return ref


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [7, 8, 10, 11])
def test_random_operators_match_the_matrix_route(dtype: type, n: int) -> None:
    rng = np.random.default_rng(n)
    psi = _state(rng, n, dtype)
    ops = _random_ops(rng, n, 30, max_k=min(4, n - sk.block_bits(dtype)))
    out = psi.copy()
    sk.apply_ops_split(out, ops)
    np.testing.assert_allclose(out, _reference(psi, ops), atol=TOL[dtype], rtol=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(4))
def test_long_runs_match_the_numpy_kernels(dtype: type, seed: int) -> None:
    """Many operators, so that qubits move in and out of the blocks again and again."""
    rng = np.random.default_rng(100 + seed)
    n = 13
    psi = _state(rng, n, dtype)
    ops = _random_ops(rng, n, 150)
    ref = _numpy_route(psi, ops)
    out = psi.copy()
    passes = sk.apply_ops_split(out, ops)
    assert passes > 0  # the low qubits were moved out (and back) along the way
    np.testing.assert_allclose(out, ref, atol=TOL[dtype] * 10, rtol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_wide_diagonals_in_runs(dtype: type, monkeypatch: pytest.MonkeyPatch) -> None:
    """Diagonals on 6-12 qubits, inside the blocks and above, between 1- and 2-qubit matrices:
    factor tables (in the tiled runs) up to DIAG_TABLE_BITS targets above the blocks, the gather
    kernel beyond."""
    calls = {"table": 0, "gather": 0}
    table, gather = sk.diagonal_table, sk._diag  # noqa: SLF001

    def spy_table(*a: object) -> np.ndarray:
        calls["table"] += 1
        return table(*a)  # type: ignore[arg-type]

    def spy_gather(*a: object) -> None:
        calls["gather"] += 1
        gather(*a)  # type: ignore[arg-type]

    monkeypatch.setattr(sk, "diagonal_table", spy_table)
    monkeypatch.setattr(sk, "_diag", spy_gather)
    n = 16
    rng = np.random.default_rng(16)
    ops = []
    for i in range(40):
        if i % 3 == 0:
            k = int(rng.integers(6, 13))
            qubits = sorted(rng.choice(n, size=k, replace=False).tolist())
            if i % 2 == 0:  # 9 targets above the blocks (qubits < 10), 2 inside: gather
                qubits = sorted(rng.choice(10, size=9, replace=False).tolist() + [n - 2, n - 1])
            ops.append(_op(rng, n, "diag", tuple(qubits)))
        else:
            k = int(rng.integers(1, 3))
            ops.append(_op(rng, n, "dense", tuple(sorted(rng.choice(n, size=k,
                                                                    replace=False).tolist()))))
    psi = _state(rng, n, dtype)
    out = psi.copy()
    sk.apply_ops_split(out, ops)
    np.testing.assert_allclose(out, _numpy_route(psi, ops), atol=4 * TOL[dtype], rtol=0)
    assert calls["table"] > 0 and calls["gather"] > 0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("table_bits", [sk.DIAG_TABLE_BITS, -1])
def test_every_target_position_one_and_two_qubits(dtype: type, table_bits: int,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Each qubit (inside a block or above) and each pair, as dense, diagonal and permutation;
    diagonals with targets inside the blocks as factor tables and (table_bits -1) through the
    gather kernel."""
    monkeypatch.setattr(sk, "DIAG_TABLE_BITS", table_bits)
    n = 9
    rng = np.random.default_rng(5)
    psi = _state(rng, n, dtype)
    targets = [(q,) for q in range(n)] + [(a, b) for a in range(n) for b in range(a + 1, n)]
    for qubits in targets:
        for kind in ("dense", "diag", "perm"):
            op = _op(rng, n, kind, qubits)
            out = psi.copy()
            sk.apply_ops_split(out, [op])
            np.testing.assert_allclose(out, _reference(psi, [op]), atol=TOL[dtype], rtol=0,
                                       err_msg=f"{kind} on {qubits}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_in_block_matrices_move_nothing(dtype: type) -> None:
    """1- and 2-qubit matrices (and permutations, as their matrices) with a target inside the
    blocks act there, by vector shuffles (_lane_body), without moving bits: every qubit and
    every pair with one inside, which takes every step variant, in tiled runs (block targets
    below T) and alone (above)."""
    n = 12
    B = sk.block_bits(dtype)
    rng = np.random.default_rng(12)
    inside = range(n - B, n)  # qubit q is at bit n - 1 - q
    targets = [(q,) for q in inside] + [(a, b) for a in range(n) for b in range(a + 1, n)
                                        if b in inside]
    ops = [_op(rng, n, kind, qubits) for qubits in targets for kind in ("dense", "perm")]
    variants = {sk.lane_layout([n - 1 - q for q in op.qubits], B)[0][0] for op in ops}
    assert variants == set(range(len(sk.LANE_VARIANTS)))
    psi = _state(rng, n, dtype)
    out = psi.copy()
    assert sk.apply_ops_split(out, ops) == 0
    np.testing.assert_allclose(out, _numpy_route(psi, ops), atol=4 * TOL[dtype], rtol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_block_bit_pairs_take_the_vector_steps_in_complex64(
        dtype: type, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 2-qubit matrix with both targets above the blocks runs as vector steps (variant
    (4, (0,))) in complex64 and as the plain loop in complex128, in tiled runs and alone (pairs
    reaching above the tiles); both match the numpy kernels on every pair of block bits."""
    n = 12
    B = sk.block_bits(dtype)
    monkeypatch.setattr(sk, "TILE_BITS", 3)
    seen: list[int] = []
    real_run = sk._run_ops

    def spy(v, W, S, kinds, *rest):  # noqa: ANN001, ANN202
        seen.extend(kinds.tolist())
        return real_run(v, W, S, kinds, *rest)

    monkeypatch.setattr(sk, "_run_ops", spy)
    rng = np.random.default_rng(21)
    high = range(n - B)
    ops = [_op(rng, n, "dense", (a, b)) for a in high for b in high if a < b]
    psi = _state(rng, n, dtype)
    out = psi.copy()
    assert sk.apply_ops_split(out, ops) == 0
    np.testing.assert_allclose(out, _numpy_route(psi, ops), atol=4 * TOL[dtype], rtol=0)
    want = sk._T_LANE if dtype == np.complex64 else sk._T_DENSE2
    assert set(seen) == {want} and len(seen) == len(ops)


@pytest.mark.parametrize("dtype", DTYPES)
def test_wide_permutations_inside_the_blocks_are_one_gather(dtype: type) -> None:
    """A permutation on 3-8 qubits with targets inside the blocks (and above, in any order) is
    one gather pass (permutation_table) and moves no bit; it equals the permutation matrix."""
    n = 10
    B = sk.block_bits(dtype)
    rng = np.random.default_rng(31)
    psi = _state(rng, n, dtype)
    inside = list(range(n - B, n))
    ops = []
    for k in range(3, 9):
        for _ in range(3):
            low = int(rng.integers(1, min(k, B) + 1))
            qs = [*rng.choice(inside, low, replace=False).tolist(),
                  *rng.choice(n - B, min(k - low, n - B), replace=False).tolist()]
            ops.append(FusedOp("perm", tuple(sorted(qs)), rng.permutation(1 << len(qs))))
    assert max(len(op.qubits) for op in ops) >= 6
    out = psi.copy()
    assert sk.apply_ops_split(out, ops) == 0
    np.testing.assert_allclose(out, _reference(psi, ops), atol=TOL[dtype], rtol=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("T", [2, 3, 5])
def test_tiled_run_equals_whole_state_passes(dtype: type, T: int) -> None:
    """A run of 1- and 2-qubit matrices and diagonals on block bits below T, tile by tile, gives
    the same bits as the same operators applied one whole-state pass each."""
    n = 14
    B, W = sk.block_bits(dtype), sk.block_width(dtype)
    rng = np.random.default_rng(40 + T)
    real = np.float32 if dtype == np.complex64 else np.float64
    v = rng.standard_normal(2 << n).astype(real)
    expected = v.copy()
    run = sk._Run(v, W, T)
    kinds = []
    for _ in range(25):
        kind = int(rng.integers(1, 4))
        kinds.append(kind)
        if kind == 3:                   # a diagonal on 1-3 block bits anywhere above the blocks
            hb = sorted(int(b) for b in rng.choice(n - B, int(rng.integers(1, 4)), replace=False))
            d = np.exp(1j * rng.uniform(0, 6, 1 << len(hb))).astype(dtype)
            hw = [1 << (len(hb) - 1 - t) for t in range(len(hb))]
            sk._diag(expected, W, np.array(hb), np.array(hw), np.zeros(W, np.int64),
                     d.real.copy(), d.imag.copy())
            run.add(sk._T_DIAGH, [len(hb), *hb, *hw], d.real, d.imag)
            continue
        tb = [int(b) for b in rng.choice(T, kind, replace=False)]
        m = _op(rng, n, "dense", tuple(range(kind))).data.astype(dtype)
        mr, mi = np.ascontiguousarray(m.real), np.ascontiguousarray(m.imag)
        bits = np.array(sorted(tb))
        if kind == 1:
            sk._dense1(expected, W, tb[0], mr, mi)
        else:
            sk._dense2(expected, W, bits, sk.pattern_offsets(tb), mr, mi)
        run.add(kind, tb if kind == 1 else [*bits.tolist(), *sk.pattern_offsets(tb).tolist()],
                m.real, m.imag)
    assert set(kinds) == {1, 2, 3}
    run.flush()
    assert not run.kinds            # flushed
    np.testing.assert_array_equal(v, expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("tile_bits", "low_bits"), [(2, 7), (4, 7), (4, 1), (5, 2)])
def test_tiled_runs_match_the_numpy_kernels(dtype: type, tile_bits: int, low_bits: int,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """With small tiles, a long random circuit splits into many runs (each on at most
    ``tile_bits`` block bits, the lowest ``low_bits`` of them always, the others anywhere: tiles
    of scattered blocks) between moves; the result is the numpy kernels'."""
    monkeypatch.setattr(sk, "TILE_BITS", tile_bits)
    monkeypatch.setattr(sk, "TILE_LOW_BITS", low_bits)
    lengths: list[int] = []
    scattered: list[int] = []
    real_run = sk._run_ops

    def spy(v, W, tmask, kinds, ints, ioff, omask, *rest):  # noqa: ANN001, ANN202
        T = int(tmask).bit_count()
        for m in omask:
            assert int(m) & ~int(tmask) == 0     # every operator's targets are tile bits
        if len(kinds) > 1:                      # a tiled run (else one whole-state operator)
            assert T == min(tile_bits, n - sk.block_bits(dtype) - 3)
            low = (1 << min(low_bits, T)) - 1
            assert int(tmask) & low == low
            lengths.append(len(kinds))
            scattered.append(int(tmask) != (1 << T) - 1)
        return real_run(v, W, tmask, kinds, ints, ioff, omask, *rest)

    monkeypatch.setattr(sk, "_run_ops", spy)
    rng = np.random.default_rng(7 + tile_bits)
    n = 13
    psi = _state(rng, n, dtype)
    ops = _random_ops(rng, n, 200, max_k=2)
    out = psi.copy()
    sk.apply_ops_split(out, ops)
    assert len(lengths) > 5 and max(lengths) > 2      # runs of several operators were tiled
    assert any(scattered) == (low_bits < min(tile_bits, n - sk.block_bits(dtype) - 3))
    np.testing.assert_allclose(out, _numpy_route(psi, ops), atol=TOL[dtype] * 10, rtol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_ops_above_the_blocks_move_nothing(dtype: type) -> None:
    n = 12
    high = n - sk.block_bits(dtype)  # qubits 0 .. high-1 have their bits above the blocks
    rng = np.random.default_rng(8)
    ops = [_op(rng, n, "dense", (0, high - 1)), _op(rng, n, "perm", (1, 2)),
           _op(rng, n, "diag", (0, n - 1)), _op(rng, n, "dense", (2,))]
    psi = _state(rng, n, dtype)
    out = psi.copy()
    assert sk.apply_ops_split(out, ops) == 0
    np.testing.assert_allclose(out, _reference(psi, ops), atol=TOL[dtype], rtol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_layout_passes(dtype: type) -> None:
    """_split stores each block of W amplitudes as W reals then W imaginaries; _join undoes it
    bit for bit."""
    W = sk.block_width(dtype)
    psi = _state(np.random.default_rng(1), 10, dtype)
    real = np.float32 if dtype == np.complex64 else np.float64
    v = psi.copy().view(real)
    sk._split(v, W)  # noqa: SLF001
    blocks = psi.reshape(-1, W)
    expect = np.concatenate([blocks.real, blocks.imag], axis=1).reshape(-1)
    np.testing.assert_array_equal(v, expect)
    sk._join(v, W)  # noqa: SLF001
    np.testing.assert_array_equal(v.view(dtype), psi)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("exchanges", [True, False])
def test_bit_moves_relabel_qubits(dtype: type, exchanges: bool) -> None:
    """A pass that moves qubit q from bit pos[q] to new[q] equals the numpy transpose of the
    state's 2 x ... x 2 tensor (the split layout is undone around the move): 1 to 6 exchanges of
    a lane bit with a block bit through the vector-shuffle kernel (_swap_bits), and the same
    moves, plus moves that are not exchanges, through the general table (_permute_bits)."""
    n = 12
    B, W = sk.block_bits(dtype), sk.block_width(dtype)
    real = np.float32 if dtype == np.complex64 else np.float64
    rng = np.random.default_rng(3)
    psi = _state(rng, n, dtype)
    for trial in range(24):
        v = psi.copy().view(real)
        place = sk._Placement(v, n, B, [])  # noqa: SLF001
        place.exchanges = exchanges
        new = list(place.pos)
        low = [q for q in range(n) if new[q] < B]
        high = [q for q in range(n) if new[q] >= B]
        m = 1 + trial % B
        for a, b in zip(rng.permutation(low)[:m], rng.permutation(high)[:m], strict=False):
            new[a], new[b] = new[b], new[a]
        if not exchanges and trial % 3 == 0:  # a 3-cycle through two lane bits: not exchanges
            a, b, c = rng.permutation(low)[:2].tolist() + [int(rng.choice(high))]
            new[a], new[b], new[c] = new[b], new[c], new[a]
        assert (sk.exchange_plan(place.pos, new, B) is not None) == (exchanges or trial % 3 != 0)
        sk._split(v, W)  # noqa: SLF001
        place.move(new)
        sk._join(v, W)  # noqa: SLF001
        # amplitude at bit pattern x (bit new[q] holds qubit q's value) == psi at the pattern
        # with qubit q's value at its home bit n - 1 - q
        x = np.arange(1 << n)
        home_index = np.zeros_like(x)
        for q in range(n):
            home_index |= ((x >> new[q]) & 1) << (n - 1 - q)
        np.testing.assert_array_equal(v.view(dtype), psi[home_index])


@pytest.mark.parametrize("dtype", DTYPES)
def test_same_bits_at_every_thread_count(dtype: type) -> None:
    rng = np.random.default_rng(9)
    n = 14
    psi = _state(rng, n, dtype)
    ops = _random_ops(rng, n, 40)
    out = []
    for t in (1, 2, 3):
        nk.set_threads(t)
        x = psi.copy()
        sk.apply_ops_split(x, ops)
        out.append(x)
    nk.set_threads(1)
    np.testing.assert_array_equal(out[1], out[0])
    np.testing.assert_array_equal(out[2], out[0])


def test_usable() -> None:
    ops = [FusedOp("dense", (0, 1, 2), np.eye(8)), FusedOp("diag", tuple(range(10)), np.ones(1024))]
    assert sk.usable(ops, 9, np.complex128)       # 9 - 5 = 4 bits above the blocks
    assert not sk.usable(ops, 8, np.complex64)    # 8 - 6 = 2 < 3
    assert sk.usable(ops[1:], 8, np.complex64)    # diagonals fit anywhere


def test_apply_ops_dispatch(monkeypatch: pytest.MonkeyPatch) -> None:
    """auto: the split layout for >= SPLIT_MIN_OPS matrices on >= SPLIT_MIN_QUBITS qubits (once
    numba is loaded), the per-operator kernels otherwise; forced numba: whenever usable."""
    calls: list[int] = []
    real = sk.apply_ops_split
    monkeypatch.setattr(sk, "apply_ops_split", lambda s, o: calls.append(len(o)) or real(s, o))
    monkeypatch.setattr(dense_state, "_NUMBA", nk)
    rng = np.random.default_rng(4)
    n = dense_state.SPLIT_MIN_QUBITS
    ops = _random_ops(rng, n, dense_state.SPLIT_MIN_OPS * 2, max_k=2)
    ops += [_op(rng, n, "dense", (q,)) for q in range(dense_state.SPLIT_MIN_OPS)]
    perms = [_op(rng, n, "perm", (q % (n - 1), q % (n - 1) + 1))
             for q in range(dense_state.SPLIT_MIN_OPS * 2)]
    few = [FusedOp("dense", (0,), np.eye(2))] * (dense_state.SPLIT_MIN_OPS - 1)
    psi = _state(rng, n, np.complex128)
    ref = kernels.apply_sorted_matrix(psi.copy(), np.eye(2), (0,))
    monkeypatch.setattr(dense_state, "KERNELS", "auto")
    out = dense_state.apply_ops(psi.copy(), ops, threads=1)
    assert calls == [len(ops)]
    np.testing.assert_allclose(out, _numpy_route(psi, ops), atol=1e-12, rtol=0)
    dense_state.apply_ops(psi.copy(), few, threads=1)
    assert calls == [len(ops)]                        # too few: per-operator kernels
    dense_state.apply_ops(psi.copy(), perms, threads=1)
    assert calls == [len(ops)]                        # permutations: per-operator kernels
    small = _state(rng, 10, np.complex128)
    dense_state.apply_ops(small, few, threads=1)
    assert calls == [len(ops)]
    monkeypatch.setattr(dense_state, "KERNELS", "numba")
    out = dense_state.apply_ops(small.copy(), few, threads=1)
    assert calls == [len(ops), len(few)]
    np.testing.assert_allclose(out, small, atol=1e-12)
    np.testing.assert_allclose(ref, psi, atol=1e-12)


def test_prepare_picks_the_cheaper_fusion(monkeypatch: pytest.MonkeyPatch) -> None:
    """For the split layout the fusion with the lower estimated cost is used: a hardware-efficient
    layer (rotations, then a CZ ladder) keeps its diagonals apart (max_dense=1), a brick of u3 +
    CX folds the rotations into the CX (max_dense=2)."""
    n = dense_state.SPLIT_MIN_QUBITS
    monkeypatch.setattr(dense_state, "KERNELS", "auto")
    monkeypatch.setattr(dense_state, "_NUMBA", nk)  # loaded: any batch may use it
    hea = qsim.Circuit(n)
    brick = qsim.Circuit(n)
    for layer in range(3):
        for q in range(n):
            hea.ry(0.1 * q + layer, q).rz(0.2 * q, q)
            brick.u3(0.1 * q, 0.2, 0.3 * layer, q)
        for q in range(n - 1):
            hea.cz(q, q + 1)
        for q in range(layer % 2, n - 1, 2):
            brick.cx(q, q + 1)
    for circ in (hea, brick):
        low = list(lower(circ))
        chosen = dense_state.prepare_ops(low, num_qubits=n)
        tried = [dense_state.prepare_ops(low, cfg) for cfg in dense_state.SPLIT_FUSIONS]
        cheaper = min(tried, key=dense_state.split_cost)
        # the same operators (its wide diagonals may then be split: split_mixed_diagonals)
        assert ([(op.kind, op.qubits) for op in chosen if op.kind != "diag"]
                == [(op.kind, op.qubits) for op in cheaper if op.kind != "diag"])
    hea_ops = dense_state.prepare_ops(list(lower(hea)), num_qubits=n)
    assert max(len(op.qubits) for op in hea_ops if op.kind == "dense") == 1
    brick_ops = dense_state.prepare_ops(list(lower(brick)), num_qubits=n)
    assert max(len(op.qubits) for op in brick_ops if op.kind == "dense") == 2
    # the brick has no diagonal on 2+ qubits: 1-qubit blocks cannot win, one plan is made
    plans: list[tuple[FusionConfig, int]] = []
    plan_blocks = dense_state.plan_blocks

    def spy(gates: list, cfg: FusionConfig) -> list:
        plans.append((cfg, len(gates)))
        return plan_blocks(gates, cfg)

    monkeypatch.setattr(dense_state, "plan_blocks", spy)
    brick_gates = len(list(dense_state.lowered_gates(list(lower(brick)), 2)))
    dense_state.prepare_ops(list(lower(brick)), num_qubits=n)
    assert plans == [(dense_state.SPLIT_FUSIONS[0], brick_gates)]
    # the hea tries both on its first gates, then plans the whole with the cheaper only
    plans.clear()
    hea_gates = len(list(dense_state.lowered_gates(list(lower(hea)), 2)))
    dense_state.prepare_ops(list(lower(hea)), num_qubits=n)
    head = max(dense_state.SPLIT_TRY_HEAD, hea_gates // dense_state.SPLIT_TRY_PART)
    assert head < hea_gates
    assert plans == [(cfg, head) for cfg in dense_state.SPLIT_FUSIONS] + [
        (dense_state.SPLIT_FUSIONS[1], hea_gates)]
    # a short circuit is planned whole both ways
    plans.clear()
    monkeypatch.setattr(dense_state, "SPLIT_TRY_HEAD", hea_gates)
    dense_state.prepare_ops(list(lower(hea)), num_qubits=n)
    assert plans == [(cfg, hea_gates) for cfg in dense_state.SPLIT_FUSIONS]
    monkeypatch.setattr(dense_state, "plan_blocks", plan_blocks)
    # without the split layout (numpy kernels, or numba not worth loading yet) the default
    # fusion stays: a 4-qubit block is allowed again
    low = list(lower(brick))
    default = dense_state.prepare_ops(low, FusionConfig())
    assert max(len(op.qubits) for op in default if op.kind == "dense") > 2
    monkeypatch.setattr(dense_state, "KERNELS", "numpy")
    assert not dense_state.split_expected(n, len(low))
    assert len(dense_state.prepare_ops(low, num_qubits=n)) == len(default)
    monkeypatch.setattr(dense_state, "KERNELS", "auto")
    monkeypatch.setattr(dense_state, "_NUMBA", None)
    assert not dense_state.split_expected(n, len(low))   # 2**16 x ~100 gates < NUMBA_MIN_WORK
    assert len(dense_state.prepare_ops(low, num_qubits=n)) == len(default)


@pytest.mark.parametrize("precision", ["double", "single"])
def test_wide_mixed_diagonals_split_instead_of_a_gather(precision: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A diagonal block with targets inside the blocks and more than DIAG_TABLE_BITS above them
    is planned as two diagonals (the gates touching a qubit inside, the others): neither needs
    the gather kernel, and the state is the numpy kernels'."""
    assert dense_state.SPLIT_DIAG_TABLE_BITS == sk.DIAG_TABLE_BITS
    assert set(dense_state.SPLIT_LOW_QUBITS) == {sk.block_bits(np.complex64),
                                                 sk.block_bits(np.complex128)}
    n = dense_state.SPLIT_MIN_QUBITS
    monkeypatch.setattr(dense_state, "KERNELS", "auto")
    monkeypatch.setattr(dense_state, "_NUMBA", nk)
    rng = np.random.default_rng(4)
    c = qsim.Circuit(n)
    for q in range(n):
        c.h(q)
    chain = [*range(9), n - 3, n - 2, n - 1]  # 9 qubits above the blocks, 3 inside
    for a, b in zip(chain, chain[1:]):
        c.cz(a, b)
    for q in chain:
        c.append("unitary", [q], matrix=np.diag(np.exp(1j * rng.uniform(0, 6, 2))))
    for q in range(n):
        c.ry(0.3 + 0.1 * q, q)
    low = list(lower(c))
    ops = dense_state.prepare_ops(low, num_qubits=n)
    wide = [op for op in ops if op.kind == "diag" and len(op.qubits) > 1]
    assert len(wide) == 2
    for op in wide:
        inside = [q for q in op.qubits if q >= n - 6]
        above = [q for q in op.qubits if q < n - 5]
        assert not inside or len(above) <= sk.DIAG_TABLE_BITS
    gathers: list[int] = []
    real_diag = sk._diag
    monkeypatch.setattr(sk, "_diag", lambda *a: gathers.append(1) or real_diag(*a))
    got = qsim.simulate(c, precision=precision).data
    monkeypatch.setattr(dense_state, "KERNELS", "numpy")
    want = qsim.simulate(c, precision=precision).data
    assert not gathers
    np.testing.assert_allclose(got, want, atol=1e-5 if precision == "single" else 1e-12)


@pytest.mark.parametrize("precision", ["double", "single"])
def test_simulate_through_the_split_layout(precision: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A whole circuit at 16 qubits: forced numba (split layout) against the numpy kernels."""
    rng = np.random.default_rng(12)
    n = 16
    c = qsim.Circuit(n)
    for layer in range(4):
        for q in range(n):
            c.u3(*rng.uniform(0, 3, 3), q)
        for q in range(layer % 2, n - 1, 2):
            c.cx(q, q + 1)
        c.ccx(0, n // 2, n - 1).cp(0.3, 1, n - 2).swap(2, n - 3).rzz(0.4, 4, n - 1)
    out = {}
    for ks in ("numpy", "numba"):
        monkeypatch.setattr(dense_state, "KERNELS", ks)
        out[ks] = qsim.simulate(c, precision=precision).data
    tol = 1e-12 if precision == "double" else 2e-6
    np.testing.assert_allclose(out["numba"], out["numpy"], atol=tol, rtol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_an_interrupt_between_kernels_leaves_the_ordinary_layout(
        dtype: type, monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernels run in queued batches; a KeyboardInterrupt in one of them (a dropped Ctrl-C
    raised by qsim.interrupts.check) moves the bits home from where the passes made so far left
    them: bit for bit back, whether the move queued for a 3-qubit matrix ran or not."""
    n = 12
    B = sk.block_bits(dtype)
    rng = np.random.default_rng(2)
    psi = _state(rng, n, dtype)
    low = tuple(range(n - 3, n))                        # three qubits inside the blocks
    assert all(q >= n - B for q in low)

    def boom(*args):  # noqa: ANN002, ANN202
        raise KeyboardInterrupt

    # the first kernel raises (the move never ran), or the matrix after the move does
    for ops, kernel in (([_op(rng, n, "dense", (0,)), _op(rng, n, "dense", low)], "_run_ops"),
                        ([_op(rng, n, "dense", low), _op(rng, n, "dense", (0,))], "_densek")):
        with monkeypatch.context() as m:
            m.setattr(sk, kernel, boom)
            out = psi.copy()
            with pytest.raises(KeyboardInterrupt):
                sk.apply_ops_split(out, ops)
        np.testing.assert_array_equal(out, psi)
