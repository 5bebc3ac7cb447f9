"""The sparse-operator backend against the dense backend, dense Kronecker products and hand counts."""

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import qsim
from qsim import Circuit, CircuitError, DefinitionOp, GateDefinition, SimulationError
from qsim.backends import get_backend
from qsim.backends import sparse as S
from qsim.backends.dense import state as dense_backend
from qsim.backends.dense.kernels import apply_matrix
from qsim.gates import GATES, gate_matrix
from qsim.kron import embed, kron

GATE_NAMES = sorted(GATES)
ONE_QUBIT_GENERAL = ["h", "sx", "sxdg", "rx", "ry", "r", "u2", "u3", "u", "U"]


def random_unitary(k: int, rng: np.random.Generator) -> np.ndarray:
    a = rng.normal(size=(2**k, 2**k)) + 1j * rng.normal(size=(2**k, 2**k))
    q, r = np.linalg.qr(a)
    return q * (np.diagonal(r) / np.abs(np.diagonal(r)))


def random_state(n: int, rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=2**n) + 1j * rng.normal(size=2**n)
    return v / np.linalg.norm(v)


def random_params(name: str, rng: np.random.Generator) -> tuple[float, ...]:
    return tuple(rng.uniform(-2 * np.pi, 2 * np.pi, GATES[name].num_params))


@st.composite
def circuits(draw, max_qubits=8, max_gates=12):
    """(circuit, random initial state): any GATES gate or a random ``unitary`` on 1-3 qubits, on
    qubits in random order."""
    n = draw(st.integers(1, max_qubits))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    names = [g for g in GATE_NAMES if GATES[g].num_qubits <= n] + ["unitary"]
    c = Circuit(n)
    for _ in range(draw(st.integers(0, max_gates))):
        name = draw(st.sampled_from(names))
        order = draw(st.permutations(range(n)))
        if name == "unitary":
            k = draw(st.integers(1, min(3, n)))
            c.unitary(random_unitary(k, rng), order[:k])
        else:
            g = GATES[name]
            params = draw(st.lists(st.floats(-2 * np.pi, 2 * np.pi), min_size=g.num_params,
                                   max_size=g.num_params))
            c.append(name, order[:g.num_qubits], params)
        if draw(st.integers(0, 9)) == 0:
            c.barrier()
    return c, random_state(n, rng)


def dense_product(c: Circuit) -> np.ndarray:
    """Reference: the product of dense embedded gate matrices (qsim.kron.embed)."""
    n = c.num_qubits
    u = np.eye(2**n, dtype=complex)
    for ins in c.flatten().instructions:
        if ins.name in ("barrier", "measure"):
            continue
        m = ins.matrix if ins.matrix is not None else gate_matrix(ins.name, ins.params)
        u = embed(m, ins.qubits, n) @ u
    return u


# --- backend equals the dense backend ----------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(circuits())
def test_sparse_backend_equals_dense_backend(case):
    c, psi = case
    want = dense_backend.apply_gates(c, c.instructions, psi.copy())
    got = S.apply_gates(c, c.instructions, psi.copy())
    np.testing.assert_allclose(got, want, atol=1e-10, rtol=0)
    via_simulate = qsim.simulate(c, psi, backend="sparse")
    np.testing.assert_allclose(via_simulate.data, want, atol=1e-10, rtol=0)


@settings(max_examples=25, deadline=None)
@given(circuits(max_qubits=5))
def test_circuit_operator_equals_dense_product_and_is_unitary(case):
    c, psi = case
    u = S.circuit_operator(c)
    assert sp.issparse(u) and u.shape == (2**c.num_qubits,) * 2
    np.testing.assert_allclose(u.toarray(), dense_product(c), atol=1e-10, rtol=0)
    defect = (u.conj().T @ u - sp.identity(u.shape[0])).toarray()
    assert np.abs(defect).max() < 1e-10
    np.testing.assert_allclose(u @ psi, qsim.simulate(c, psi).data, atol=1e-10, rtol=0)


@pytest.mark.parametrize("name", GATE_NAMES)
def test_every_gate_operator_equals_dense_embedding(name):
    rng = np.random.default_rng(sum(map(ord, name)))
    n = 6
    for _ in range(3):
        qs = list(rng.permutation(n)[: GATES[name].num_qubits])
        params = random_params(name, rng)
        op = S.gate_operator(name, qs, n, params)
        assert op.has_canonical_format and op.has_sorted_indices
        assert np.all(op.data != 0)
        m = gate_matrix(name, params)
        np.testing.assert_allclose(op.toarray(), embed(m, qs, n), atol=1e-13, rtol=0)
        psi = random_state(n, rng)
        np.testing.assert_allclose(op @ psi, apply_matrix(psi.copy(), m, qs), atol=1e-12)
        # the local operator (projector form for controlled gates) is the gate's matrix
        np.testing.assert_allclose(S.local_operator(name, params).toarray(), m, atol=1e-14)


@pytest.mark.parametrize("name", ["h", "cx", "ch", "ccx", "rzz", "iswap", "cswap"])
def test_adjacent_targets_equal_literal_scipy_kron(name):
    n = 7
    k = GATES[name].num_qubits
    m = gate_matrix(name, random_params(name, np.random.default_rng(1)))
    for first in range(n - k + 1):
        literal = sp.kron(sp.kron(sp.identity(2**first), sp.csr_matrix(m)),
                          sp.identity(2 ** (n - first - k)))
        op = S.embed_operator(m, range(first, first + k), n)
        assert abs(op - literal).max() < 1e-15


def test_large_register_one_qubit_gate_against_dense_kernel():
    n = 18
    rng = np.random.default_rng(7)
    psi = random_state(n, rng)
    for q in (0, 9, 17):
        params = random_params("u3", rng)
        op = S.gate_operator("u3", [q], n, params)
        assert op.nnz == 2 ** (n + 1)
        want = apply_matrix(psi.copy(), gate_matrix("u3", params), [q])
        np.testing.assert_allclose(op @ psi, want, atol=1e-12)


def test_bell_operator_by_hand():
    u = S.circuit_operator(Circuit(2).h(0).cx(0, 1)).toarray()
    s = 1 / math.sqrt(2)
    hand = s * np.array([[1, 0, 1, 0], [0, 1, 0, 1], [0, 1, 0, -1], [1, 0, -1, 0]])
    np.testing.assert_allclose(u, hand, atol=1e-15)
    assert qsim.circuit_operator is S.circuit_operator


# --- structure: stored entries ------------------------------------------------------------------
@pytest.mark.parametrize("name", [g for g in GATE_NAMES
                                  if GATES[g].diagonal or GATES[g].permutation])
def test_diagonal_and_permutation_gates_store_exactly_2_to_the_n(name):
    rng = np.random.default_rng(3)
    for n in (GATES[name].num_qubits, 7):
        qs = list(rng.permutation(n)[: GATES[name].num_qubits])
        assert S.gate_operator(name, qs, n, random_params(name, rng)).nnz == 2**n


@pytest.mark.parametrize("name", ONE_QUBIT_GENERAL)
def test_general_one_qubit_gate_stores_2_to_the_n_plus_1(name):
    rng = np.random.default_rng(4)
    for n, q in ((1, 0), (5, 2), (12, 11)):
        op = S.gate_operator(name, [q], n, random_params(name, rng))
        assert op.nnz == 2 ** (n + 1)


def test_controlled_gate_counts_and_rounding_residue():
    n = 8
    # |0><0|⊗I stores one entry per row, |1><1|⊗H two: 2^(n-1) + 2 * 2^(n-1)
    assert S.gate_operator("ch", [5, 1], n).nnz == 3 * 2 ** (n - 1)
    assert S.gate_operator("cry", [0, 7], n, (0.4,)).nnz == 3 * 2 ** (n - 1)
    # three controls: only 1/8 of the rows carry the 2-entry √X rows
    assert S.gate_operator("c3sqrtx", [6, 0, 3, 2], n).nnz == 2**n + 2 ** (n - 3)
    # y and iswap are monomial: one entry per row
    assert S.gate_operator("y", [3], n).nnz == 2**n
    assert S.gate_operator("iswap", [3, 6], n).nnz == 2**n
    # ry(pi) = [[cos pi/2, -1], [1, cos pi/2]]: cos(pi/2) = 6e-17 is not stored
    assert S.gate_operator("ry", [2], n, (math.pi,)).nnz == 2**n
    assert S.gate_operator("rx", [2], n, (math.pi,)).nnz == 2**n


def test_permutation_and_diagonal_circuit_operator_stays_at_2_to_the_n():
    n = 12
    rng = np.random.default_rng(5)
    c = Circuit(n)
    kinds = [g for g in GATE_NAMES if GATES[g].diagonal or GATES[g].permutation]
    for _ in range(60):
        name = kinds[rng.integers(len(kinds))]
        qs = list(rng.permutation(n)[: GATES[name].num_qubits])
        c.append(name, qs, random_params(name, rng))
    u = S.circuit_operator(c)
    assert u.nnz == 2**n
    psi = random_state(n, rng)
    np.testing.assert_allclose(u @ psi, qsim.simulate(c, psi).data, atol=1e-10)


def test_gates_that_cancel_leave_the_identity():
    c = Circuit(6).h(2).rx(0.3, 4).cx(2, 4).cx(2, 4).rx(-0.3, 4).h(2)
    u = S.circuit_operator(c)
    assert u.nnz == 2**6
    np.testing.assert_allclose(u.toarray(), np.eye(2**6), atol=1e-14)


# --- memory limits -------------------------------------------------------------------------------
def test_memory_limit_error_says_how_much_is_needed():
    c = Circuit(8)
    for q in range(8):
        c.h(q)
    full = S.circuit_operator(c)
    assert full.nnz == 4**8                      # H^⊗8 is dense: every entry ±2^-4
    size = full.data.nbytes + full.indices.nbytes + full.indptr.nbytes
    with pytest.raises(SimulationError, match=r"needs up to .* memory limit") as err:
        S.circuit_operator(c, max_memory=size // 2)
    assert err.value.bytes_needed > size // 2
    # just below the final size: gates 1-7 fit, the last product is refused, and the estimate
    # (product bound + the operands held during the product) covers the real result
    with pytest.raises(SimulationError, match=r"after gate 8 of 8 \(h q7\)") as err:
        S.circuit_operator(c, max_memory=size - 1)
    assert err.value.bytes_needed >= size
    assert S.circuit_operator(c, max_memory=4 * size).nnz == 4**8


def test_huge_registers_refused_before_allocating():
    with pytest.raises(SimulationError) as err:
        S.circuit_operator(Circuit(40).h(0))
    assert err.value.bytes_needed >= 2**40 * 16
    with pytest.raises(SimulationError, match="needs"):
        S.gate_operator("h", [0], 40)
    with pytest.raises(SimulationError):
        S.gate_operator("h", [0], 10, max_memory=1000)


# --- backend contract ------------------------------------------------------------------------------
def test_registered_and_returns_the_same_array():
    assert get_backend("sparse") is S.SparseState
    state = np.zeros(4, dtype=complex)
    state[0] = 1
    c = Circuit(2).h(0).cx(0, 1)
    out = S.apply_gates(c, c.instructions, state)
    assert out is state
    np.testing.assert_allclose(state, np.array([1, 0, 0, 1]) / math.sqrt(2), atol=1e-15)


def test_single_precision():
    rng = np.random.default_rng(11)
    c = Circuit(5)
    for q in range(5):
        c.u3(*random_params("u3", rng), q)
    c.cx(0, 4).ccx(1, 2, 3).cp(0.7, 4, 1)
    single = qsim.simulate(c, backend="sparse", precision="single")
    assert single.data.dtype == np.complex64
    np.testing.assert_allclose(single.data, qsim.simulate(c).data, atol=1e-6)
    op = S.circuit_operator(c, precision="single")
    assert op.dtype == np.complex64
    with pytest.raises(SimulationError, match="precision"):
        S.circuit_operator(c, precision="half")


def test_definitions_are_expanded():
    c = Circuit(3)
    c.define(GateDefinition("bellpair", (), ("a", "b"),
                            (DefinitionOp("h", (), (0,)), DefinitionOp("cx", (), (0, 1)))))
    c.append("bellpair", [2, 0])
    sv = qsim.simulate(c, backend="sparse")
    hand = np.zeros(8)
    hand[0b000] = hand[0b101] = 1 / math.sqrt(2)   # H on q2, then CX q2 -> q0
    np.testing.assert_allclose(sv.data, hand, atol=1e-15)
    np.testing.assert_allclose(S.circuit_operator(c) @ np.eye(8)[0], hand, atol=1e-15)


def test_mid_circuit_measurement_same_trajectory_as_dense():
    c = Circuit(3, 3).h(0).cx(0, 1).measure(0, 0).x(2).c_if("c", 1).ry(0.4, 1).measure(1, 1)
    for seed in range(5):
        a = qsim.simulate(c, seed=seed, backend="sparse")
        b = qsim.simulate(c, seed=seed, backend="statevector")
        np.testing.assert_allclose(a.data, b.data, atol=1e-12)
    ra = qsim.run(c, shots=300, seed=9, backend="sparse")
    rb = qsim.run(c, shots=300, seed=9, backend="statevector")
    assert ra.counts == rb.counts


def test_cache_is_bounded_and_reused():
    cache = S.OperatorCache(max_entries=3)
    c = Circuit(4).h(0).h(1).h(2).h(3).h(0)
    state = np.zeros(16, dtype=complex)
    state[0] = 1
    S.apply_gates(c, c.instructions, state, cache=cache)
    assert len(cache) == 3 and cache.misses == 5 and cache.hits == 0  # h(0) was evicted
    S.apply_gates(c, c.instructions[3:], state, cache=cache)          # h(3), h(0) are cached
    assert cache.hits == 2
    ins = c.instructions[1]
    assert cache.operator(ins, 4) is cache.operator(ins, 4)
    tiny = S.OperatorCache(max_bytes=10)
    op = tiny.operator(ins, 4)
    assert len(tiny) == 0 and tiny.nbytes == 0
    np.testing.assert_allclose(op.toarray(), embed(gate_matrix("h"), [1], 4))


def test_circuit_operator_refuses_non_unitary_circuits():
    with pytest.raises(CircuitError, match="reset"):
        S.circuit_operator(Circuit(2).h(0).reset(0))
    with pytest.raises(CircuitError, match="classically controlled"):
        S.circuit_operator(Circuit(2, 1).h(0).x(1).c_if("c", 1))
    with pytest.raises(CircuitError, match="after a measurement"):
        S.circuit_operator(Circuit(2, 1).h(0).measure(0, 0).x(0))
    terminal = Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1])
    np.testing.assert_allclose(S.circuit_operator(terminal).toarray(),
                               S.circuit_operator(Circuit(2).h(0).cx(0, 1)).toarray())


def test_bad_targets():
    with pytest.raises(CircuitError):
        S.embed_operator(gate_matrix("cx"), [0, 0], 3)
    with pytest.raises(CircuitError):
        S.embed_operator(gate_matrix("cx"), [0, 3], 3)
    with pytest.raises(CircuitError):
        S.embed_operator(gate_matrix("cx"), [0], 3)
    with pytest.raises(CircuitError):
        S.gate_operator("nope", [0], 3)


# --- the seed's sparse Kronecker examples ------------------------------------------------------------
def test_kron_of_sparse_identities_stays_sparse():
    big = kron(sp.identity(1000, format="csr"), sp.identity(1000, format="csr"))
    assert big.shape == (10**6, 10**6)
    assert big.nnz == 10**6


def laplacian_1d(m: int) -> sp.csr_matrix:
    return sp.diags([-np.ones(m - 1), 2 * np.ones(m), -np.ones(m - 1)], [-1, 0, 1], format="csr")


def test_2d_laplacian_dense_for_small_sparse_for_large():
    m = 6
    k = laplacian_1d(m)
    lap = kron(k, sp.identity(m)) + kron(sp.identity(m), k)
    kd = k.toarray()
    dense = np.kron(kd, np.eye(m)) + np.kron(np.eye(m), kd)
    np.testing.assert_array_equal(lap.toarray(), dense)
    # 5-point stencil by hand: 4 on the diagonal, -1 for each grid neighbour
    grid = np.arange(m * m).reshape(m, m)
    assert lap[grid[2, 3], grid[2, 3]] == 4
    assert lap[grid[2, 3], grid[1, 3]] == lap[grid[2, 3], grid[2, 4]] == -1
    m = 1000
    k = laplacian_1d(m)
    big = kron(k, sp.identity(m)) + kron(sp.identity(m), k)
    assert big.shape == (m * m, m * m)
    assert big.nnz == 5 * m * m - 4 * m          # 2m(3m-2) entries, the m^2 diagonals overlap
