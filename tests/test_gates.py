"""Every library gate: unitary, and equal to its definition written out by hand here.

Matrices are in qsim's order (first qubit = leftmost factor / most significant bit), transcribed from
the OpenQASM 2 paper (Cross et al. 2017, qelib1.inc) and Qiskit's gate documentation (whose
little-endian matrices are re-ordered to big-endian by hand where the gate is not symmetric).
"""

import cmath
import math
from functools import reduce

import numpy as np
import pytest
from scipy.linalg import expm

from qsim import CircuitError
from qsim.gates import GATES, QELIB1_2017, QISKIT_QELIB1_EXTRA, gate_matrix, inverse_of

e = cmath.exp
c8, s8 = math.cos(0.35), math.sin(0.35)  # half of the test angle 0.7
A, B, C, D = 0.7, -1.3, 2.1, 0.4
r2 = 1 / math.sqrt(2)


def U(t, p, l):  # noqa: E743 - textbook name
    return [[math.cos(t / 2), -e(1j * l) * math.sin(t / 2)],
            [e(1j * p) * math.sin(t / 2), e(1j * (p + l)) * math.cos(t / 2)]]


def ctrl(u):
    u = np.asarray(u)
    m = np.eye(2 * len(u), dtype=complex)
    m[len(u):, len(u):] = u
    return m


HAND = {
    ("id", ()): [[1, 0], [0, 1]],
    ("x", ()): [[0, 1], [1, 0]],
    ("y", ()): [[0, -1j], [1j, 0]],
    ("z", ()): [[1, 0], [0, -1]],
    ("h", ()): [[r2, r2], [r2, -r2]],
    ("s", ()): [[1, 0], [0, 1j]],
    ("sdg", ()): [[1, 0], [0, -1j]],
    ("t", ()): [[1, 0], [0, r2 + 1j * r2]],
    ("tdg", ()): [[1, 0], [0, r2 - 1j * r2]],
    ("sx", ()): [[(1 + 1j) / 2, (1 - 1j) / 2], [(1 - 1j) / 2, (1 + 1j) / 2]],
    ("sxdg", ()): [[(1 - 1j) / 2, (1 + 1j) / 2], [(1 + 1j) / 2, (1 - 1j) / 2]],
    ("rx", (0.7,)): [[c8, -1j * s8], [-1j * s8, c8]],
    ("ry", (0.7,)): [[c8, -s8], [s8, c8]],
    ("rz", (0.7,)): [[e(-0.35j), 0], [0, e(0.35j)]],
    ("p", (0.7,)): [[1, 0], [0, e(0.7j)]],
    ("u1", (0.7,)): [[1, 0], [0, e(0.7j)]],
    ("u0", (0.7,)): [[1, 0], [0, 1]],
    ("u2", (B, C)): U(math.pi / 2, B, C),
    ("u3", (A, B, C)): U(A, B, C),
    ("u", (A, B, C)): U(A, B, C),
    ("U", (A, B, C)): U(A, B, C),
    ("r", (A, B)): [[math.cos(A / 2), -1j * e(-1j * B) * math.sin(A / 2)],
                    [-1j * e(1j * B) * math.sin(A / 2), math.cos(A / 2)]],
    ("cx", ()): [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]],
    ("CX", ()): [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]],
    ("cy", ()): [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, -1j], [0, 0, 1j, 0]],
    ("cz", ()): np.diag([1, 1, 1, -1]),
    ("ch", ()): [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, r2, r2], [0, 0, r2, -r2]],
    ("cs", ()): np.diag([1, 1, 1, 1j]),
    ("csdg", ()): np.diag([1, 1, 1, -1j]),
    ("csx", ()): ctrl([[(1 + 1j) / 2, (1 - 1j) / 2], [(1 - 1j) / 2, (1 + 1j) / 2]]),
    ("swap", ()): [[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]],
    ("iswap", ()): [[1, 0, 0, 0], [0, 0, 1j, 0], [0, 1j, 0, 0], [0, 0, 0, 1]],
    # dcx = cx(0,1) then cx(1,0): |ab> -> |a, a^b> -> |a^(a^b), a^b> = |b, a^b>
    ("dcx", ()): [[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 1, 0, 0]],
    ("cp", (0.7,)): np.diag([1, 1, 1, e(0.7j)]),
    ("cu1", (0.7,)): np.diag([1, 1, 1, e(0.7j)]),
    ("crx", (0.7,)): ctrl([[c8, -1j * s8], [-1j * s8, c8]]),
    ("cry", (0.7,)): ctrl([[c8, -s8], [s8, c8]]),
    ("crz", (0.7,)): np.diag([1, 1, e(-0.35j), e(0.35j)]),
    ("cu3", (A, B, C)): ctrl(U(A, B, C)),
    ("cu", (A, B, C, D)): ctrl(e(1j * D) * np.array(U(A, B, C))),
    ("rxx", (0.7,)): [[c8, 0, 0, -1j * s8], [0, c8, -1j * s8, 0], [0, -1j * s8, c8, 0],
                      [-1j * s8, 0, 0, c8]],
    ("ryy", (0.7,)): [[c8, 0, 0, 1j * s8], [0, c8, -1j * s8, 0], [0, -1j * s8, c8, 0],
                      [1j * s8, 0, 0, c8]],
    ("rzz", (0.7,)): np.diag([e(-0.35j), e(0.35j), e(0.35j), e(-0.35j)]),
    # Z on the first (control-like) qubit, X on the second: blocks rx(θ) and rx(-θ).
    ("rzx", (0.7,)): [[c8, -1j * s8, 0, 0], [-1j * s8, c8, 0, 0], [0, 0, c8, 1j * s8],
                      [0, 0, 1j * s8, c8]],
    # Qiskit's ECR matrix (1/√2)[[0,1,0,i],[1,0,-i,0],[0,i,0,1],[-i,0,1,0]] is little-endian
    # with qubit 0 the "control"; reordered to big-endian with that qubit first:
    ("ecr", ()): np.array([[0, 0, 1, 1j], [0, 0, 1j, 1], [1, -1j, 0, 0], [-1j, 1, 0, 0]]) * r2,
}

# 3+ qubit gates: permutations / controlled blocks written by index.
def _perm(n, f):
    m = np.zeros((2**n, 2**n))
    for i in range(2**n):
        m[f(i), i] = 1
    return m


HAND[("ccx", ())] = _perm(3, lambda i: i ^ 1 if i >> 1 == 0b11 else i)
HAND[("ccz", ())] = np.diag([1] * 7 + [-1])
HAND[("cswap", ())] = _perm(3, lambda i: {0b101: 0b110, 0b110: 0b101}.get(i, i))
HAND[("c3x", ())] = _perm(4, lambda i: i ^ 1 if i >> 1 == 0b111 else i)
HAND[("c4x", ())] = _perm(5, lambda i: i ^ 1 if i >> 1 == 0b1111 else i)
_c3sx = np.eye(16, dtype=complex)
_c3sx[14:, 14:] = [[(1 + 1j) / 2, (1 - 1j) / 2], [(1 - 1j) / 2, (1 + 1j) / 2]]
HAND[("c3sqrtx", ())] = _c3sx
# rccx (Margolus): Toffoli up to relative phases; Qiskit documents the matrix
# diag-blocks: |000>..|011> identity-like except |010>,|011> get phase; reordered big-endian.
_rccx = np.zeros((8, 8), dtype=complex)
for i, v in {0: 1, 1: 1, 2: 1, 3: 1, 4: 1, 5: -1}.items():
    _rccx[i, i] = v
_rccx[7, 6] = 1j  # |110> -> i|111>
_rccx[6, 7] = -1j  # |111> -> -i|110>
HAND[("rccx", ())] = _rccx


@pytest.mark.parametrize("key", sorted(HAND), ids=lambda k: k[0])
def test_matrix_equals_hand_definition(key):
    name, params = key
    np.testing.assert_allclose(gate_matrix(name, params), np.asarray(HAND[key], dtype=complex),
                               atol=1e-12)


def test_every_gate_has_a_hand_written_check_or_is_rc3x():
    # rc3x is checked through its defining property below.
    assert {k[0] for k in HAND} | {"rc3x"} == set(GATES)


def test_rc3x_is_c3x_up_to_relative_phases():
    m = gate_matrix("rc3x")
    # |magnitudes| form the C3X permutation: only phases differ.
    np.testing.assert_allclose(np.abs(m), HAND[("c3x", ())], atol=1e-12)
    # Margolus-style relative phases are ±1, ±i.
    nz = m[np.abs(m) > 0.5]
    np.testing.assert_allclose(np.abs(nz**4 - 1), 0, atol=1e-12)


@pytest.mark.parametrize("name", sorted(GATES))
def test_unitary_and_flags(name):
    g = GATES[name]
    rng = np.random.default_rng(len(name))
    m = gate_matrix(name, rng.uniform(-3, 3, g.num_params))
    assert m.shape == (2**g.num_qubits,) * 2
    np.testing.assert_allclose(m.conj().T @ m, np.eye(len(m)), atol=1e-12)
    if g.diagonal:
        np.testing.assert_allclose(m, np.diag(np.diagonal(m)), atol=1e-15)
    if g.permutation:
        assert set(np.unique(np.round(m.real, 12))) <= {0.0, 1.0}
    if g.num_controls:
        k = 2**g.num_controls
        d = len(m) // k
        np.testing.assert_allclose(m[: len(m) - d, : len(m) - d], np.eye(len(m) - d),
                                   atol=1e-12)
    assert not m.flags.writeable


@pytest.mark.parametrize("name", sorted(GATES))
def test_inverse_table(name):
    g = GATES[name]
    params = tuple(np.random.default_rng(3).uniform(-3, 3, g.num_params))
    inv = inverse_of(name, params)
    if inv is None:
        return
    m = gate_matrix(name, params) @ gate_matrix(*inv)
    np.testing.assert_allclose(m, np.eye(len(m)), atol=1e-12)


def test_qelib_name_sets():
    assert QELIB1_2017 <= set(GATES)
    assert QISKIT_QELIB1_EXTRA <= set(GATES)
    assert not QELIB1_2017 & QISKIT_QELIB1_EXTRA
    assert {"U", "CX"} <= set(GATES)


def test_qelib_name_sets_are_read_from_the_records():
    assert QELIB1_2017 == {
        "u3", "u2", "u1", "cx", "id", "x", "y", "z", "h", "s", "sdg", "t", "tdg", "rx", "ry",
        "rz", "cz", "cy", "ch", "ccx", "crz", "cu1", "cu3"}
    assert QISKIT_QELIB1_EXTRA == {
        "u0", "u", "p", "sx", "sxdg", "swap", "cswap", "crx", "cry", "cp", "csx", "cu", "rxx",
        "rzz", "rccx", "rc3x", "c3x", "c3sqrtx", "c4x"}
    assert {n for n, g in GATES.items() if g.library == "builtin"} == {"U", "CX"}


@pytest.mark.parametrize("name", sorted(GATES))
def test_record_is_consistent(name):
    g = GATES[name]
    assert g.name == name and g.label
    # The exporter writes a gate either by name (some qelib1 or the language has it) or through
    # the record's definition, never both.
    assert (g.library is None) == (g.qasm_body is not None)
    if g.qasm_body is not None:
        assert len(g.qasm_body.params) == g.num_params
        assert len(g.qasm_body.qubits) == g.num_qubits
        assert set(g.qasm_body.uses) <= {n for n, h in GATES.items() if h.qasm_body is not None}
    if g.draw_style == "controlled":
        assert 0 < g.num_controls < g.num_qubits


PAULI = {"I": np.eye(2), "X": np.array([[0, 1], [1, 0]]), "Y": np.array([[0, -1j], [1j, 0]]),
         "Z": np.diag([1, -1])}


def test_generators_are_the_pauli_rotations():
    assert {n: g.generator for n, g in GATES.items() if g.generator is not None} == {
        "rx": "X", "ry": "Y", "rz": "Z", "rxx": "XX", "ryy": "YY", "rzz": "ZZ", "rzx": "ZX"}


@pytest.mark.parametrize("name", sorted(n for n, g in GATES.items() if g.generator is not None))
@pytest.mark.parametrize("theta", [0.7, -1.3, math.pi, 2.9])
def test_rotation_is_exp_of_its_generator(name, theta):
    g = GATES[name]
    assert g.num_params == 1 and len(g.generator) == g.num_qubits
    p = reduce(np.kron, [PAULI[c] for c in g.generator])  # first qubit leftmost
    np.testing.assert_allclose(gate_matrix(name, [theta]), expm(-1j * theta / 2 * p),
                               atol=1e-12)


def test_u_family_relations():
    # u2(φ,λ) = U(π/2,φ,λ); u1(λ) = U(0,0,λ); rz differs from u1 by the global phase e^{-iλ/2}.
    np.testing.assert_allclose(gate_matrix("u2", (B, C)), gate_matrix("U", (math.pi / 2, B, C)))
    np.testing.assert_allclose(gate_matrix("u1", (C,)), gate_matrix("U", (0, 0, C)), atol=1e-15)
    np.testing.assert_allclose(gate_matrix("rz", (C,)), e(-0.5j * C) * gate_matrix("u1", (C,)))


def test_errors():
    with pytest.raises(CircuitError, match="unknown gate 'foo'"):
        gate_matrix("foo")
    with pytest.raises(CircuitError, match="rx.*1 parameter"):
        gate_matrix("rx", ())
