"""Pauli sums: parsing, algebra identities, matrices against np.kron products, expectation values
against hand-computed and closed-form values, time evolution against scipy.linalg.expm."""

import math

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp

import qsim
from qsim import CircuitError, QsimError, Statevector
from qsim.pauli import PauliError, PauliSum, evolve

MATS = {
    "I": np.eye(2),
    "X": np.array([[0, 1], [1, 0]]),
    "Y": np.array([[0, -1j], [1j, 0]]),
    "Z": np.array([[1, 0], [0, -1]]),
}


def dense(h: PauliSum) -> np.ndarray:
    """Independent reference: Σ c · P_0 ⊗ P_1 ⊗ … with np.kron, character 0 leftmost."""
    out = np.zeros((2**h.num_qubits,) * 2, dtype=complex)
    for c, label in h:
        m = np.array([[1.0]])
        for ch in label:
            m = np.kron(m, MATS[ch])
        out += c * m
    return out


def random_sum(n: int, terms: int, rng: np.random.Generator, letters: str = "IXYZ",
               real: bool = False) -> PauliSum:
    labels = ["".join(rng.choice(list(letters), n)) for _ in range(terms)]
    coeffs = rng.normal(size=terms) + (0 if real else 1j * rng.normal(size=terms))
    return PauliSum.from_terms(list(zip(coeffs, labels)))


def random_state(n: int, rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=2**n) + 1j * rng.normal(size=2**n)
    return v / np.linalg.norm(v)


def tfim(n: int, j: float, h: float) -> PauliSum:
    """Open transverse-field Ising chain H = -J Σ Z_i Z_{i+1} - h Σ X_i."""
    terms = []
    for i in range(n - 1):
        label = ["I"] * n
        label[i] = label[i + 1] = "Z"
        terms.append((-j, "".join(label)))
    for i in range(n):
        label = ["I"] * n
        label[i] = "X"
        terms.append((-h, "".join(label)))
    return PauliSum.from_terms(terms)


# --- parsing -------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("0.5*ZZI + 0.5*IZZ - 1.2*XII", [(0.5, "ZZI"), (0.5, "IZZ"), (-1.2, "XII")]),
    ("-1j*XY", [(-1j, "XY")]),
    ("2 * ZZ", [(2, "ZZ")]),
    ("  XX+YY  ", [(1, "XX"), (1, "YY")]),
    ("\tXX\n- 3*YY", [(1, "XX"), (-3, "YY")]),
    ("-XX", [(-1, "XX")]),
    ("+XX", [(1, "XX")]),
    ("(0.5-1j)*XY", [(0.5 - 1j, "XY")]),
    ("( 1 + 2J ) * Z", [(1 + 2j, "Z")]),
    ("1e-3*ZZ - 2.5E+2 * XX", [(0.001, "ZZ"), (-250, "XX")]),
    (".5 * X", [(0.5, "X")]),
    ("0.5 ZZ", [(0.5, "ZZ")]),
    ("ZZ*0.5", [(0.5, "ZZ")]),
    ("2*3*XX", [(6, "XX")]),
    ("-2*1j*Y", [(-2j, "Y")]),
    ("XX + 0.5", [(1, "XX"), (0.5, "II")]),
    ("XX + XX", [(1, "XX"), (1, "XX")]),  # kept as written; arithmetic merges
    ("XX + -YY - -2*ZZ", [(1, "XX"), (-1, "YY"), (2, "ZZ")]),
])
def test_parse(text, expected):
    h = PauliSum.from_string(text)
    assert list(h) == [(complex(c), label) for c, label in expected]
    assert PauliSum(text) == h


@pytest.mark.parametrize("text, fragment", [
    ("", "empty"),
    ("   ", "empty"),
    ("0.5*", "expected a coefficient or a Pauli label at column 5"),
    ("0.5*ZQ", "unknown Pauli 'Q' in label 'ZQ' at column 5"),
    ("XX + YYY", "label 'YYY' acts on 3 qubit(s), the sum on 2 at column 6"),
    ("0.5**XX", "unexpected '*' at column 5"),
    ("*XX", "unexpected '*' at column 1"),
    ("XX YY", "second Pauli label 'YY' in one term"),
    ("+", "expected a coefficient or a Pauli label at column 2"),
    ("XX +", "expected a coefficient or a Pauli label"),
    ("XX - - + YY", "expected a coefficient or a Pauli label at column 8"),
    ("--XX", "expected a coefficient or a Pauli label at column 2"),
    ("(1+2j*XX)", "(1+2j*XX) is not a complex number"),
    ("(1+2j*XX", "unclosed '('"),
    ("(1+2j", "unclosed '('"),
    ("XX)", "unmatched ')'"),
    ("0.5/XX", "unexpected character '/' at column 4"),
    ("(XX)*YY", "(XX) is not a complex number"),
    ("xx", "unknown Pauli 'x'"),
    ("3", "cannot tell the number of qubits"),
])
def test_malformed(text, fragment):
    with pytest.raises(PauliError) as err:
        PauliSum.from_string(text)
    assert fragment in str(err.value)
    assert isinstance(err.value, ValueError) and isinstance(err.value, QsimError)


# --- the indexed form (OpenFermion / Cirq style) -------------------------------------------------
def test_indexed_issue_example_equals_dense():
    h = PauliSum.from_string("Z0 Z1 + 0.5 X0 - 0.3 Y1 Z2")
    want = PauliSum.from_string("ZZI + 0.5 XII - 0.3 IYZ", num_qubits=3)
    assert h == want
    assert list(h) == list(want)                    # same terms, same order, not just equal
    assert h.num_qubits == 3
    assert PauliSum("Z0 Z1 + 0.5 X0 - 0.3 Y1 Z2") == want
    np.testing.assert_allclose(dense(h), dense(want))


@pytest.mark.parametrize("text, num_qubits, expected", [
    ("Z0 Z1", None, [(1, "ZZ")]),
    ("0.5*X0*Z3", None, [(0.5, "XIIZ")]),
    ("0.5 * X0 * Z3", None, [(0.5, "XIIZ")]),
    ("0.5*X0 Z3", None, [(0.5, "XIIZ")]),
    ("X0Z1", None, [(1, "XZ")]),                     # juxtaposed, as dense factors may be
    ("Z2 X0", None, [(1, "XIZ")]),                   # factor order does not matter
    ("X0 * 0.5", None, [(0.5, "X")]),                # a coefficient may come last, as in dense
    ("-X1", None, [(-1, "IX")]),
    ("X1", 4, [(1, "IXII")]),
    ("1j Z0 - 1j Z0", None, [(1j, "Z"), (-1j, "Z")]),
    ("(0.5+1j) X1 + 1J*Y0", None, [(0.5 + 1j, "IX"), (1j, "YI")]),
    ("2 * 1e-3 Y0", None, [(0.002, "Y")]),
    ("Z0 + 0.5", None, [(1, "Z"), (0.5, "I")]),      # a bare number is the identity
    ("X0 I2", None, [(1, "XII")]),                   # I is ignored but counts toward the width
    ("I0", None, [(1, "I")]),
    ("X10", None, [(1, "I" * 10 + "X")]),
    ("X007", None, [(1, "I" * 7 + "X")]),
    ("X0 + -Y1 - -2*Z2", None, [(1, "XII"), (-1, "IYI"), (2, "IIZ")]),
    ("\tZ0 Z1\n + 0.25 X1", None, [(1, "ZZ"), (0.25, "IX")]),
    ("X0.5", None, [(0.5, "X")]),                    # a letter then a decimal is dense: X * 0.5
])
def test_parse_indexed(text, num_qubits, expected):
    h = PauliSum.from_string(text, num_qubits)
    assert list(h) == [(complex(c), label) for c, label in expected]
    assert PauliSum(text, num_qubits) == h


def test_indexed_round_trips_through_dense():
    rng = np.random.default_rng(11)
    for _ in range(20):
        h = random_sum(5, 6, rng)
        parts = []
        for c, label in h:
            ops = " ".join(f"{ch}{q}" for q, ch in enumerate(label) if ch != "I")
            parts.append(f"({c.real!r}{c.imag:+}j) {ops}")
        assert PauliSum.from_string(" + ".join(parts), num_qubits=5) == h


@pytest.mark.parametrize("text, num_qubits, fragment", [
    ("X0 X0", None, "qubit 0 appears twice in one term ('X0' and 'X0') at column 4"),
    ("Z0 Z1 + X2 Y3 Z2", None, "qubit 2 appears twice in one term ('X2' and 'Z2') at column 15"),
    ("X0*I0", None, "qubit 0 appears twice"),
    ("X3", 3, "qubit index 3 in 'X3' is out of range for 3 qubit(s) at column 1"),
    ("Z0 + 0.5 Y7", 4, "qubit index 7 in 'Y7' is out of range for 4 qubit(s) at column 10"),
    ("x0", None, "unknown Pauli 'x' in 'x0' (did you mean X0?)"),
    ("Z0 + 2 y1", None, "unknown Pauli 'y' in 'y1' (did you mean Y1?); use I, X, Y, Z at column 8"),
    ("A0", None, "unknown Pauli 'A' in 'A0'; use I, X, Y, Z at column 1"),
    ("Z0 + XX", None, "dense label 'XX' mixed with indexed factors such as 'Z0'"),
    ("ZZ + X0", None, "dense label 'ZZ' mixed with indexed factors such as 'X0' (write e.g. Z0 Z1) "
                      "at column 1"),
    ("Z0 + X", None, "Pauli 'X' has no qubit index (write e.g. X0) at column 6"),
    ("X99999999999999999999", None, "is too large (at most 65535)"),
    ("X65536", None, "qubit index 65536 in 'X65536' is too large"),
    ("Z0 Z1 +", None, "expected a coefficient or a Pauli label at column 8"),
    ("Z0 ** Z1", None, "unexpected '*' at column 5"),
    ("Z0 / 2", None, "unexpected character '/' at column 4"),
    ("(1+X0) Z0", None, "(1+X0) is not a complex number"),
    ("Z0 X1", 1, "out of range for 1 qubit(s)"),
])
def test_malformed_indexed(text, num_qubits, fragment):
    with pytest.raises(PauliError) as err:
        PauliSum.from_string(text, num_qubits)
    assert fragment in str(err.value)
    assert isinstance(err.value, ValueError) and isinstance(err.value, QsimError)


def test_indexed_num_qubits():
    assert PauliSum.from_string("Z1", num_qubits=3).labels == ["IZI"]
    assert PauliSum.from_string("X65535").num_qubits == 65536
    with pytest.raises(PauliError, match="2 and 3 qubits"):
        PauliSum("Z1") + PauliSum("Z2")                 # widths come from the indices
    assert PauliSum("Z1", num_qubits=3) + PauliSum("Z2") == PauliSum("IZI + IIZ")


def test_other_constructors():
    want = PauliSum.from_string("0.5*ZZI + 0.5*IZZ - 1.2*XII")
    assert PauliSum([(0.5, "ZZI"), ("IZZ", 0.5), (-1.2, "XII")]) == want
    assert PauliSum({"ZZI": 0.5, "IZZ": 0.5, "XII": -1.2}) == want
    assert PauliSum.from_string("3", num_qubits=2) == PauliSum.identity(2, 3)
    assert PauliSum(want) == want
    assert PauliSum(num_qubits=3).num_terms == 0
    with pytest.raises(PauliError, match="acts on 2 qubit"):
        PauliSum([(1, "XXX"), (1, "YY")])
    with pytest.raises(PauliError, match="not a number"):
        PauliSum([(None, "XX")])
    with pytest.raises(PauliError, match="unknown Pauli 'A'"):
        PauliSum({"XA": 1})
    with pytest.raises(PauliError, match=r"acts on 3 qubit\(s\), the sum on 4"):
        PauliSum("XXX", num_qubits=4)
    with pytest.raises(PauliError, match="acts on 3 qubit"):
        PauliSum(want, num_qubits=4)


def test_str_round_trip_and_labels():
    rng = np.random.default_rng(0)
    for text in ["0.5*ZZI + 0.5*IZZ - 1.2*XII", "-1j*XY", "(0.25-3j)*XZ + 1e-20*YY - ZZ"]:
        h = PauliSum(text)
        assert PauliSum(str(h)) == h
    h = random_sum(4, 20, rng)
    assert PauliSum(str(h)) == h
    assert PauliSum("0.5*ZZI + 0.5*IZZ - 1.2*XII").labels == ["ZZI", "IZZ", "XII"]
    assert str(PauliSum("2 * ZZ")) == "2*ZZ"
    assert str(PauliSum(num_qubits=2)) == "0*II"


# --- algebra -------------------------------------------------------------------------------------
def test_single_qubit_products():
    x, y, z, i = (PauliSum(p) for p in "XYZI")
    assert x * y == 1j * z and y * z == 1j * x and z * x == 1j * y
    assert y * x == -1j * z and z * y == -1j * x and x * z == -1j * y
    assert x * y * z == 1j * i
    for p in (x, y, z, i):
        assert p * p == i
        assert p @ i == p


def test_anticommutation_and_commutation():
    paulis = [PauliSum(p) for p in "XYZ"]
    for a in paulis:
        for b in paulis:
            anti = a * b + b * a
            if a == b:
                assert anti == 2 * PauliSum("I")
            else:
                assert anti.num_terms == 0          # {σa, σb} = 2δ_ab I
    xx, zz, xi, zi = PauliSum("XX"), PauliSum("ZZ"), PauliSum("XI"), PauliSum("ZI")
    assert xx * zz == zz * xx                       # two anticommuting sites commute
    assert xi * zi == -(zi * xi)
    assert xx * zz == -PauliSum("YY")               # (XZ)⊗(XZ) = (-iY)⊗(-iY)


def test_every_two_qubit_string_squares_to_identity():
    for a in "IXYZ":
        for b in "IXYZ":
            p = PauliSum(a + b)
            assert p * p == PauliSum("II")
            assert p**2 == PauliSum("II") and p**3 == p and p**0 == PauliSum("II")


def test_products_match_matrix_products():
    rng = np.random.default_rng(1)
    for n in (1, 2, 3):
        a, b = random_sum(n, 6, rng), random_sum(n, 5, rng)
        np.testing.assert_allclose(dense(a * b), dense(a) @ dense(b), atol=1e-12)
        np.testing.assert_allclose(dense(a @ b), dense(a) @ dense(b), atol=1e-12)
        np.testing.assert_allclose(dense(a + b), dense(a) + dense(b), atol=1e-12)
        np.testing.assert_allclose(dense(a - 2 * b), dense(a) - 2 * dense(b), atol=1e-12)
        np.testing.assert_allclose(dense(a.adjoint()), dense(a).conj().T, atol=1e-12)
        np.testing.assert_allclose(dense(a**3), np.linalg.matrix_power(dense(a), 3), atol=1e-10)


def test_scalars_and_simplify():
    h = PauliSum("XX + XX - 0.5*ZZ + 0.5*ZZ")
    assert h.num_terms == 4
    assert h.simplify().to_dict() == {"XX": 2}
    assert (h - h).num_terms == 0
    assert 2 * h == h * 2 == h + h == h / 0.5
    assert np.float64(3) * PauliSum("X") == PauliSum("3*X")
    assert sum([PauliSum("X"), PauliSum("Y")]) == PauliSum("X + Y")
    assert PauliSum("X") + 1 == PauliSum("X + I")
    assert 1 - PauliSum("Z") == PauliSum("I - Z")
    assert -PauliSum("Z") == PauliSum("-Z")
    assert PauliSum("1e-13*XX + YY").simplify(atol=1e-12).to_dict() == {"YY": 1}
    with pytest.raises(PauliError, match="2 and 3 qubits"):
        PauliSum("XX") + PauliSum("XXX")


def test_hermiticity():
    rng = np.random.default_rng(2)
    a = random_sum(3, 8, rng)
    herm = a + a.adjoint()
    assert herm.is_hermitian()
    np.testing.assert_allclose(dense(herm), dense(herm).conj().T, atol=1e-12)
    assert not PauliSum("1j*XZ").is_hermitian()
    assert PauliSum("1j*XZ + -1j*XZ + ZZ").is_hermitian()        # the imaginary parts cancel
    assert (PauliSum("X") * PauliSum("Y")).adjoint() == PauliSum("Y") * PauliSum("X")
    assert random_sum(4, 10, rng, real=True).is_hermitian()


# --- matrices ------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 3, 5, 6])
def test_to_sparse_matches_kron_products(n):
    rng = np.random.default_rng(n)
    cases = [random_sum(n, 3, rng), random_sum(n, 40, rng),
             random_sum(n, 3 * n + 2, rng, letters="IZ"),          # one large diagonal group
             random_sum(n, 3 * n + 2, rng, letters="IX", real=True)]
    for h in cases:
        m = h.to_sparse()
        assert m.has_sorted_indices and m.has_canonical_format
        assert np.all(m.data != 0)
        np.testing.assert_allclose(m.toarray(), dense(h), atol=1e-12)


def test_to_sparse_structure_by_hand():
    # XX + YY = 2(|01><10| + |10><01|): the |00><11| and |11><00| entries cancel
    m = PauliSum("XX + YY").to_sparse()
    assert m.nnz == 2
    np.testing.assert_array_equal(m.toarray(), [[0, 0, 0, 0], [0, 0, 2, 0], [0, 2, 0, 0],
                                                [0, 0, 0, 0]])
    # ZZI + IZZ vanishes unless bit 0 == bit 2: 4 of 8 diagonal entries, each ±2
    m = PauliSum("ZZI + IZZ").to_sparse()
    assert m.nnz == 4
    np.testing.assert_array_equal(m.diagonal(), [2, 0, -2, 0, 0, -2, 0, 2])
    # Y on qubit 0 of two: -i at (0b00, 0b10), i at (0b10, 0b00)
    m = PauliSum("YI").to_sparse()
    assert m[0b00, 0b10] == -1j and m[0b10, 0b00] == 1j and m.nnz == 4
    assert PauliSum(num_qubits=3).to_sparse().nnz == 0
    assert PauliSum("XZ").to_sparse(dtype=np.complex64).dtype == np.complex64


def test_to_sparse_12_qubits_against_sparse_kron_terms():
    h = tfim(12, 0.9, 1.1) + PauliSum.from_terms([(0.3, "XY" + "I" * 9 + "Z"),
                                                  (-0.7, "Y" * 12)])
    ref = sp.csr_matrix((2**12, 2**12), dtype=complex)
    for c, label in h:
        ref = ref + c * qsim.kron(*[sp.csr_matrix(MATS[ch]) for ch in label])
    m = h.to_sparse()
    assert abs(m - ref).max() < 1e-12
    assert m.nnz == ref.nnz


def test_to_sparse_refuses_what_does_not_fit():
    with pytest.raises(qsim.SimulationError):
        PauliSum("X" * 40).to_sparse()
    with pytest.raises(qsim.SimulationError):
        PauliSum("XI + IX").to_sparse(max_memory=10)


def test_to_sparse_equals_qiskit():
    quantum_info = pytest.importorskip("qiskit.quantum_info")
    rng = np.random.default_rng(3)
    h = random_sum(5, 30, rng)
    terms = list(h)
    ref = quantum_info.SparsePauliOp([lab for _, lab in terms],
                                     [c for c, _ in terms]).to_matrix(sparse=True)
    assert abs(h.to_sparse() - ref).max() < 1e-12


# --- expectation values --------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["statevector", "sparse"])
def test_bell_and_ghz_expectations_by_hand(backend):
    bell = qsim.simulate(qsim.Circuit(2).h(0).cx(0, 1), backend=backend)
    hand = {"ZZ": 1, "XX": 1, "YY": -1, "ZI": 0, "IZ": 0, "XY": 0, "II": 1}
    for label, value in hand.items():
        got = bell.expectation(PauliSum(label))
        assert isinstance(got, float)
        assert got == pytest.approx(value, abs=1e-12)
    assert bell.expectation(PauliSum("0.5*ZZ - 2*YY + 3")) == pytest.approx(0.5 + 2 + 3)
    ghz = qsim.simulate(qsim.Circuit(3).h(0).cx(0, 1).cx(1, 2), backend=backend)
    assert ghz.expectation(PauliSum("XXX")) == pytest.approx(1)
    assert ghz.expectation(PauliSum("YYX")) == pytest.approx(-1)
    assert ghz.expectation(PauliSum("ZIZ")) == pytest.approx(1)
    assert ghz.expectation(PauliSum("ZII")) == pytest.approx(0, abs=1e-12)
    assert ghz.expectation(PauliSum("1j*ZZI")) == pytest.approx(1j)


def test_expectation_paths_agree_with_dense_matrix():
    rng = np.random.default_rng(4)
    for n in (1, 3, 6):
        for h in (random_sum(n, 12, rng), random_sum(n, 4 * n, rng, letters="IZ"),
                  random_sum(n, 3, rng, real=True)):
            psi = random_state(n, rng)
            want = np.vdot(psi, dense(h) @ psi)
            masks = h.expectation_value(Statevector(psi))
            via_sparse = h.expectation_value(psi, method="sparse")
            assert masks == pytest.approx(want, abs=1e-12)
            assert via_sparse == pytest.approx(want, abs=1e-12)
            assert isinstance(masks, float) == h.is_hermitian()
    psi = random_state(3, rng)
    single = Statevector(psi.astype(np.complex64))
    h = random_sum(3, 5, rng, real=True)
    assert single.expectation(h) == pytest.approx(np.vdot(psi, dense(h) @ psi).real, abs=1e-5)
    with pytest.raises(CircuitError, match="does not match"):
        h.expectation_value(np.ones(4))
    with pytest.raises(ValueError, match="method"):
        h.expectation_value(psi, method="dense")


@pytest.mark.parametrize("j, h", [(1.0, 1.0), (1.0, 0.5), (0.3, 2.0), (1.5, 0.4)])
def test_two_spin_ising_ground_energy_closed_form(j, h):
    ham = tfim(2, j, h)
    assert ham == PauliSum(f"-{j}*ZZ - {h}*XI - {h}*IX")
    energies, vectors = np.linalg.eigh(ham.to_sparse().toarray())
    e0 = -math.sqrt(j * j + 4 * h * h)
    assert energies[0] == pytest.approx(e0, abs=1e-12)
    assert Statevector(vectors[:, 0]).expectation(ham) == pytest.approx(e0, abs=1e-12)


def test_three_spin_ising_ground_energy():
    # critical chain (J = h = 1): free-fermion modes 2 sin((2k-1)π/(2(2N+1))), N = 3
    e0 = -2 * sum(math.sin((2 * k - 1) * math.pi / 14) for k in (1, 2, 3))
    assert e0 == pytest.approx(-3.4939592074349, abs=1e-12)
    energies = np.linalg.eigvalsh(tfim(3, 1, 1).to_sparse().toarray())
    assert energies[0] == pytest.approx(e0, abs=1e-12)
    # any (J, h): E0 = -Σ singular values of the bidiagonal matrix (h on the diagonal, J above)
    for j, h in [(0.7, 1.3), (1.5, 0.4)]:
        b = np.diag([h] * 3) + np.diag([j] * 2, 1)
        e0 = -np.linalg.svd(b, compute_uv=False).sum()
        ham = tfim(3, j, h)
        energies, vectors = np.linalg.eigh(ham.to_sparse().toarray())
        assert energies[0] == pytest.approx(e0, abs=1e-12)
        assert Statevector(vectors[:, 0]).expectation(ham) == pytest.approx(e0, abs=1e-12)


# --- time evolution --------------------------------------------------------------------------------
def test_evolve_closed_forms():
    for t in (0.0, 0.3, math.pi / 2, 2.0):
        # exp(-iXt)|0> = cos t|0> - i sin t|1>
        out = evolve(Statevector.from_label("0"), PauliSum("X"), t)
        np.testing.assert_allclose(out.data, [math.cos(t), -1j * math.sin(t)], atol=1e-12)
        # exp(-iZt)|+> = (e^{-it}|0> + e^{it}|1>)/√2
        out = evolve(Statevector.from_label("+"), PauliSum("Z"), t)
        want = np.array([np.exp(-1j * t), np.exp(1j * t)]) / math.sqrt(2)
        np.testing.assert_allclose(out.data, want, atol=1e-12)
    assert qsim.evolve is evolve


def test_evolve_matches_expm_and_conserves_energy():
    rng = np.random.default_rng(5)
    h = random_sum(4, 10, rng, real=True)
    psi = random_state(4, rng)
    for t in (0.1, 1.7):
        out = evolve(psi, h, t)
        want = scipy.linalg.expm(-1j * t * dense(h)) @ psi
        np.testing.assert_allclose(out.data, want, atol=1e-10)
        assert out.norm() == pytest.approx(1, abs=1e-12)
        assert out.expectation(h) == pytest.approx(Statevector(psi).expectation(h), abs=1e-10)
        back = evolve(out, h, -t)
        np.testing.assert_allclose(back.data, psi, atol=1e-10)
    np.testing.assert_allclose(evolve(psi, h.to_sparse(), 0.4).data, evolve(psi, h, 0.4).data,
                               atol=1e-12)
    np.testing.assert_allclose(evolve(psi, dense(h), 0.4).data, evolve(psi, h, 0.4).data,
                               atol=1e-12)
    with pytest.raises(CircuitError, match="does not act"):
        evolve(psi, PauliSum("XX"), 1.0)

