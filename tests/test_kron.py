"""The Kronecker toolkit against hand-computed products and textbook identities."""

import numpy as np
import pytest
import scipy.sparse as sp

import qsim
from qsim import CircuitError, bell, bra, controlled, embed, ghz, ket, kron, kron_apply, proj
from qsim.gates import gate_matrix

X = np.array([[0, 1], [1, 0]])
Y = np.array([[0, -1j], [1j, 0]])
Z = np.array([[1, 0], [0, -1]])
I2 = np.eye(2)


def test_two_by_two_example():
    a = np.array([[1, 2], [3, 4]])
    b = np.array([[0, 5], [6, 7]])
    expected = np.array([[0, 5, 0, 10], [6, 7, 12, 14], [0, 15, 0, 20], [18, 21, 24, 28]])
    np.testing.assert_array_equal(kron(a, b), expected)


def test_non_commutative():
    assert not np.allclose(kron(X, Y), kron(Y, X))
    # ... but X⊗Y and Y⊗X are related by the swap: SWAP (X⊗Y) SWAP = Y⊗X.
    sw = gate_matrix("swap")
    np.testing.assert_allclose(sw @ kron(X, Y) @ sw, kron(Y, X))


def test_nary_and_list_forms():
    np.testing.assert_array_equal(kron(X, Z, I2), np.kron(np.kron(X, Z), I2))
    np.testing.assert_array_equal(kron([X, Z]), np.kron(X, Z))
    with pytest.raises(ValueError):
        kron()


def test_sparse_in_sparse_out():
    big = kron(sp.identity(1000, format="csr"), sp.identity(1000, format="csr"))
    assert sp.issparse(big)
    assert big.shape == (10**6, 10**6)
    assert big.nnz == 10**6
    mixed = kron(sp.csr_matrix(X), Z)
    assert sp.issparse(mixed)
    np.testing.assert_array_equal(mixed.toarray(), np.kron(X, Z))


def test_kets_and_labels():
    np.testing.assert_array_equal(ket("0"), [1, 0])
    np.testing.assert_array_equal(ket("01"), [0, 1, 0, 0])  # index 0b01
    np.testing.assert_array_equal(ket("10"), [0, 0, 1, 0])
    np.testing.assert_allclose(ket("+"), np.array([1, 1]) / np.sqrt(2))
    np.testing.assert_allclose(ket("-"), np.array([1, -1]) / np.sqrt(2))
    np.testing.assert_allclose(ket("r"), np.array([1, 1j]) / np.sqrt(2))
    np.testing.assert_allclose(ket("l"), np.array([1, -1j]) / np.sqrt(2))
    assert abs(bra("r") @ ket("l")) < 1e-15
    assert abs(bra("+-") @ ket("+-") - 1) < 1e-15
    np.testing.assert_allclose(proj("1"), [[0, 0], [0, 1]])
    with pytest.raises(ValueError, match="'x'"):
        ket("0x")


def test_bell_and_ghz_from_circuits():
    # kron(ket0, ket0) + kron(ket1, ket1), normalised, is the H+CX circuit's state.
    phi = (kron(ket("0"), ket("0")) + kron(ket("1"), ket("1"))) / np.sqrt(2)
    np.testing.assert_allclose(qsim.simulate(qsim.Circuit(2).h(0).cx(0, 1)).data, phi,
                               atol=1e-15)
    np.testing.assert_allclose(bell("phi+"), phi)
    np.testing.assert_allclose(bell("phi-"), np.array([1, 0, 0, -1]) / np.sqrt(2))
    np.testing.assert_allclose(bell("psi+"), np.array([0, 1, 1, 0]) / np.sqrt(2))
    np.testing.assert_allclose(bell("psi-"), np.array([0, 1, -1, 0]) / np.sqrt(2))
    np.testing.assert_allclose(qsim.simulate(qsim.Circuit(2).x(0).h(0).x(1).cx(0, 1)).data,
                               bell("psi-"), atol=1e-15)
    g = ghz(4)
    assert g[0] == g[15] == pytest.approx(1 / np.sqrt(2))
    np.testing.assert_allclose(qsim.simulate(qsim.Circuit(4).h(0).cx(0, 1).cx(1, 2).cx(2, 3))
                               .data, g, atol=1e-15)


def test_cnot_from_projectors():
    cnot = kron(proj("0"), I2) + kron(proj("1"), X)
    np.testing.assert_array_equal(cnot, gate_matrix("cx"))
    np.testing.assert_array_equal(controlled(X), cnot)
    # CNOT|10> = |11> with qubit 0 (leftmost) the control.
    np.testing.assert_array_equal(cnot @ ket("10"), ket("11"))
    np.testing.assert_array_equal(cnot @ ket("01"), ket("01"))
    # Two controls: the Toffoli.
    np.testing.assert_array_equal(controlled(X, 2), gate_matrix("ccx"))


def test_embed_known_cases():
    np.testing.assert_array_equal(embed(X, [0], 2), kron(X, I2))
    np.testing.assert_array_equal(embed(X, [1], 2), kron(I2, X))
    np.testing.assert_array_equal(embed(X, [1], 3), kron(I2, X, I2))
    # reversed targets: U = Z⊗X on (1, 0) is X⊗Z on (0, 1)
    np.testing.assert_array_equal(embed(kron(Z, X), [1, 0], 2), kron(X, Z))
    # CNOT with control 2, target 0 on 3 qubits, from projectors.
    expected = kron(I2, I2, proj("0")) + kron(X, I2, proj("1"))
    np.testing.assert_array_equal(embed(gate_matrix("cx"), [2, 0], 3), expected)
    s = embed(gate_matrix("cx"), [2, 0], 3, sparse=True)
    assert sp.issparse(s)
    np.testing.assert_array_equal(s.toarray(), expected)


def test_embed_errors():
    with pytest.raises(CircuitError, match="out of range"):
        embed(X, [3], 3)
    with pytest.raises(CircuitError, match="duplicate"):
        embed(np.eye(4), [1, 1], 3)
    with pytest.raises(CircuitError, match="target"):
        embed(np.eye(4), [1], 3)


@pytest.mark.parametrize("targets", [(0,), (2,), (3, 1), (0, 4, 2), (4, 3, 2, 1)])
def test_kron_apply_equals_embed(targets):
    rng = np.random.default_rng(len(targets))
    k = len(targets)
    u = rng.normal(size=(2**k, 2**k)) + 1j * rng.normal(size=(2**k, 2**k))
    psi = rng.normal(size=32) + 1j * rng.normal(size=32)
    before = psi.copy()
    out = kron_apply(u, targets, psi)
    np.testing.assert_allclose(out, embed(u, targets, 5) @ psi, atol=1e-12)
    np.testing.assert_array_equal(psi, before)  # input untouched
