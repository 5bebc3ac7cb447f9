"""Operators applied to the sub-state a |0...0>-started state can occupy
(:func:`qsim.backends.dense.state.apply_ops_on_support`), against the whole-state kernels and
against ``embed(...) @ state``."""

from __future__ import annotations

import numpy as np
import pytest

import qsim
from qsim.backends.dense import DenseState
from qsim.backends.dense import state as dense_state
from qsim.backends.dense.state import apply_ops, apply_ops_on_support
from qsim.compile.fusion import FusedOp
from qsim.kron import embed


def random_unitary(k: int, rng: np.random.Generator) -> np.ndarray:
    z = rng.normal(size=(1 << k, 1 << k)) + 1j * rng.normal(size=(1 << k, 1 << k))
    q, r = np.linalg.qr(z)
    return q * (np.diag(r) / np.abs(np.diag(r)))


def random_op(n: int, rng: np.random.Generator) -> FusedOp:
    kind = rng.choice(["dense", "diag", "perm", "phase"])
    if kind == "phase":                      # a global phase: no qubits
        return FusedOp("dense", (), np.array([[np.exp(1j * rng.uniform(0, 6))]]))
    k = int(rng.integers(1, 4))
    qubits = tuple(sorted(rng.choice(n, size=k, replace=False).tolist()))
    if kind == "dense":
        return FusedOp("dense", qubits, random_unitary(k, rng))
    if kind == "diag":
        return FusedOp("diag", qubits, np.exp(1j * rng.uniform(0, 6, 1 << k)))
    return FusedOp("perm", qubits, rng.permutation(1 << k))


def as_matrix(op: FusedOp, n: int) -> np.ndarray:
    """The whole-register matrix of a fused operator, built independently of the kernels."""
    if not op.qubits:
        return op.data.reshape(-1)[0] * np.eye(1 << n)
    if op.kind == "dense":
        m = op.data
    elif op.kind == "diag":
        m = np.diag(op.data)
    else:                                     # new[i] = old[src[i]]
        m = np.zeros((op.data.size, op.data.size))
        m[np.arange(op.data.size), op.data] = 1
    return embed(m, list(op.qubits), n)


@pytest.mark.parametrize("seed", range(24))
def test_support_matches_the_whole_state(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(seed)
    n = 8
    monkeypatch.setattr(dense_state, "SUPPORT_MAX", int(rng.integers(1, 7)))
    # moving nonzero entries one by one, or writing back a fuller sub-state (SPARSE_MAX 0, 4)
    monkeypatch.setattr(dense_state, "SPARSE_MAX", [0, 4, 1 << 16][seed % 3])
    # a random state on a random support (every other qubit exactly |0>)
    support = frozenset(rng.choice(n, size=int(rng.integers(0, 4)), replace=False).tolist())
    full = rng.normal(size=1 << n) + 1j * rng.normal(size=1 << n)
    mask = np.array([all(not (i >> (n - 1 - q)) & 1 for q in range(n) if q not in support)
                     for i in range(1 << n)])
    psi = np.where(mask, full, 0)
    psi /= np.linalg.norm(psi)
    ops = [random_op(n, rng) for _ in range(int(rng.integers(1, 7)))]
    expected = psi.copy()
    for op in ops:
        expected = as_matrix(op, n) @ expected
    got, new_support = apply_ops_on_support(psi.copy(), ops, support, threads=1)
    np.testing.assert_allclose(got, expected, atol=1e-12)
    whole = apply_ops(psi.copy(), ops, threads=1)
    np.testing.assert_allclose(got, whole, atol=1e-12)
    # the new support is the old one grown by every operator's qubits (None: all of them)
    grown = set(support).union(*(op.qubits for op in ops))
    assert new_support == (None if len(grown) == n else frozenset(grown))
    outside = [q for q in range(n) if q not in grown]
    for q in outside:  # those qubits are still exactly |0>
        assert np.all(got.reshape((2,) * n).take(1, axis=q) == 0)


def test_dense_state_tracks_its_support() -> None:
    c = qsim.Circuit(6).h(1).cx(1, 4)
    state = DenseState.allocate(6, np.complex128)
    assert state.support == frozenset()
    state.apply(DenseState.prepare(list(qsim.compile.lower(c)), 6))
    assert state.support == frozenset({1, 4})
    assert state.copy().support == frozenset({1, 4})
    expected = np.zeros(64, complex)
    expected[0] = expected[0b010010] = 2 ** -0.5
    np.testing.assert_allclose(state.data, expected, atol=1e-15)
    # a state given as a vector may be nonzero anywhere
    assert DenseState.allocate(6, np.complex128, np.full(64, 0.125)).support is None


def _sizes_applied(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the states that apply_ops will get from now on (dense sub-states or the
    whole state), appended to the returned list."""
    sizes: list[int] = []
    real_apply = dense_state.apply_ops

    def spy(state, ops, **kw):  # noqa: ANN001, ANN003, ANN202
        sizes.append(state.size)
        return real_apply(state, ops, **kw)

    monkeypatch.setattr(dense_state, "apply_ops", spy)
    return sizes


@pytest.mark.parametrize("start", ["sub-state first", "permutation first"])
def test_permutations_and_diagonals_move_only_the_nonzero_entries(
        start: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the support limit, permutations and diagonals (and a global phase) act on the
    sub-state's nonzero entries: no whole-state kernel runs, and the result is the matrices'."""
    rng = np.random.default_rng(17)
    n = 10
    ops = [FusedOp("perm", tuple(range(1, 7)), rng.permutation(64)),
           FusedOp("perm", tuple(range(4, 10)), rng.permutation(64)),
           FusedOp("diag", (0, 5, 9), np.exp(1j * rng.uniform(0, 6, 8))),
           FusedOp("diag", (), np.array([np.exp(0.7j)])),
           FusedOp("perm", (2, 9), np.array([3, 0, 2, 1]))]
    if start == "sub-state first":
        ops.insert(0, FusedOp("dense", (0, 1), random_unitary(2, rng)))
        support: frozenset[int] = frozenset()
    else:
        support = frozenset({0, 3})
    psi = np.zeros(1 << n, complex)
    psi[[0, 1 << (n - 1), 1 << (n - 4), (1 << (n - 1)) | (1 << (n - 4))]] = [0.5, 0.5j, -0.5, 0.5]
    if start == "sub-state first":
        psi[:] = 0
        psi[0] = 1
    expected = psi.copy()
    for op in ops:
        expected = as_matrix(op, n) @ expected
    whole = _sizes_applied(monkeypatch)
    got, new_support = apply_ops_on_support(psi.copy(), ops, support, threads=1)
    np.testing.assert_allclose(got, expected, atol=1e-12)
    assert all(size < 1 << n for size in whole)
    assert new_support is None


@pytest.mark.parametrize("backend", ["statevector", "density"])
def test_circuits_agree_with_and_without_the_support(backend: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    n = 6
    c = qsim.Circuit(n)
    for _ in range(40):
        q = rng.choice(n, size=2, replace=False).tolist()
        c.u(*rng.uniform(0, 6, 3), int(q[0]))
        c.cx(int(q[0]), int(q[1]))
    with_support = qsim.simulate(c, backend=backend).data
    monkeypatch.setattr(dense_state, "SUPPORT_MAX", 0)
    without = qsim.simulate(c, backend=backend).data
    np.testing.assert_allclose(with_support, without, atol=1e-12)
    reference = qsim.simulate(c, backend="sparse").data
    if backend == "density":
        reference = np.outer(reference, reference.conj())
    np.testing.assert_allclose(with_support, reference, atol=1e-10)


def test_permutation_on_an_empty_support() -> None:
    """|0...0> (support empty) through a permutation wider than the sub-state limit (n - 2)
    and a diagonal: the one nonzero entry moves (the sub-state is a single amplitude)."""
    n = 5
    psi = np.zeros(1 << n, complex)
    psi[0] = 1
    src = np.arange(16)
    src[[0, 0b0101]] = [0b0101, 0]          # pattern 0101 <- 0000 on qubits 0-3
    ops = [FusedOp("perm", (0, 1, 2, 3), src),
           FusedOp("diag", (1, 4), np.array([1, 1j, -1, -1j]))]
    got, support = apply_ops_on_support(psi, ops, frozenset(), threads=1)
    expected = np.zeros(1 << n, complex)
    expected[0b01010] = -1                  # qubits 1 and 3 set; the diagonal's pattern 10
    np.testing.assert_array_equal(got, expected)
    assert support is None                  # every qubit touched


def test_a_ghz_chain_moves_two_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    """H and a CX chain fused as for the split layout (a 2-qubit block, then permutations that
    each widen the support): only the first block runs on a dense sub-state (4 amplitudes);
    the permutations move the 2 nonzero entries, and the state is the GHZ state."""
    from qsim.backends.dense.state import prepare_ops
    from qsim.compile.fusion import FusionConfig
    from qsim.compile.lower import lower

    n = 14
    c = qsim.Circuit(n).h(0)
    for q in range(n - 1):
        c.cx(q, q + 1)
    ops = prepare_ops(lower(c), FusionConfig(max_dense=2, max_diag=12))
    assert [op.kind for op in ops][:2] == ["dense", "perm"] and len(ops) > 2
    sizes = _sizes_applied(monkeypatch)
    psi = np.zeros(1 << n, complex)
    psi[0] = 1
    got, support = apply_ops_on_support(psi, ops, frozenset(), threads=1)
    assert sizes == [4]
    expected = np.zeros(1 << n, complex)
    expected[[0, -1]] = 1 / np.sqrt(2)
    np.testing.assert_allclose(got, expected, atol=1e-15)
    assert support is None
