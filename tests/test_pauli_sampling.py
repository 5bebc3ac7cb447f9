"""PauliSum.estimate: expectation values estimated from simulated shots, with their standard error,
measured in qubit-wise commuting groups (PauliSum.qwc_groups)."""

import math

import numpy as np
import pytest

from qsim import CircuitError, Statevector
from qsim.pauli import PauliError, PauliSum, _allocate_shots


def random_state(n: int, rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=2**n) + 1j * rng.normal(size=2**n)
    return v / np.linalg.norm(v)


def random_hermitian_sum(n: int, terms: int, rng: np.random.Generator) -> PauliSum:
    """Real coefficients on random strings that use X, Y and Z (and I)."""
    labels = []
    while len(labels) < terms:
        label = "".join(rng.choice(list("IXYZ"), n))
        if label != "I" * n:
            labels.append(label)
    for ch, q in zip("XYZ", rng.permutation(n)):  # every letter appears at least once
        labels[int(q) % terms] = labels[int(q) % terms][:q] + ch + labels[int(q) % terms][q + 1:]
    return PauliSum.from_terms(list(zip(rng.normal(size=terms), labels)) + [(0.7, "I" * n)])


def is_qwc(a: str, b: str) -> bool:
    return all(p == q or "I" in (p, q) for p, q in zip(a, b))


# --- (a) unbiased within its reported error ------------------------------------------------------
@pytest.mark.parametrize("n", [3, 4, 5])
@pytest.mark.parametrize("seed", range(5))
def test_estimate_within_four_standard_errors(n, seed):
    rng = np.random.default_rng(100 * n + seed)
    psi = random_state(n, rng)
    h = random_hermitian_sum(n, 3 + 2 * n, rng)
    assert set("".join(h.labels)) >= set("XYZ")
    exact = h.expectation_value(psi)
    assert isinstance(exact, float)
    for shots in (2_000, 50_000):
        est, err = h.estimate(Statevector(psi), shots, np.random.default_rng(seed))
        assert type(est) is float and type(err) is float
        assert err > 0
        assert abs(est - exact) < 4 * err, (est, exact, err)


def test_single_term_error_matches_the_binomial_formula():
    # <Z> = cos(theta): each shot is ±1, so Var = 1 - <Z>^2 and SE = c sqrt((1 - <Z>^2) / shots)
    theta = 0.9
    psi = np.kron([math.cos(theta / 2), math.sin(theta / 2)], [1, 0])
    h = PauliSum("2.5 Z0", num_qubits=2)
    for shots in (10_000, 3_000_000):             # one by one, and one multinomial (> 2**20)
        est, err = h.estimate(psi, shots, np.random.default_rng(1))
        want = 2.5 * math.sqrt((1 - math.cos(theta) ** 2) / shots)
        assert err == pytest.approx(want, rel=0.02)
        assert abs(est - 2.5 * math.cos(theta)) < 4 * err


# --- (b) the error shrinks as 1/sqrt(shots), and it is the real spread ---------------------------
H4 = PauliSum("0.8 Z0 Z1 - 0.5 X0 X2 + 0.3 Y1 Y3 + 0.6 Z2 Z3 + 0.4 X1 + 0.2 Y0 Z2 + 1.5")


def test_standard_error_scales_as_one_over_sqrt_shots():
    psi = random_state(4, np.random.default_rng(7))
    errors = [H4.estimate(psi, shots, np.random.default_rng(3))[1]
              for shots in (1_000, 16_000, 256_000)]
    for big, small in zip(errors, errors[1:]):
        assert small / big == pytest.approx(0.25, rel=0.10)


def test_reported_error_matches_spread_over_seeds():
    psi = random_state(4, np.random.default_rng(7))
    runs = np.array([H4.estimate(psi, 1_000, np.random.default_rng(s)) for s in range(200)])
    spread = runs[:, 0].std(ddof=1)
    reported = math.sqrt(np.mean(runs[:, 1] ** 2))
    assert 0.8 <= spread / reported <= 1.25
    assert abs(runs[:, 0].mean() - H4.expectation_value(psi)) < 4 * reported / math.sqrt(200)


# --- (c) identity terms are exact ----------------------------------------------------------------
def test_identity_only_sums_have_zero_error():
    psi = random_state(3, np.random.default_rng(0))
    assert PauliSum("3.5*III").estimate(psi, 10, np.random.default_rng(0)) == (3.5, 0.0)
    assert PauliSum("I0 + 2", num_qubits=3).estimate(psi, 1, 0) == (3.0, 0.0)
    assert PauliSum("XXI - XXI + 1.25", num_qubits=3).estimate(psi, 5, 0) == (1.25, 0.0)
    assert PauliSum(num_qubits=3).estimate(psi, 5, 0) == (0.0, 0.0)


# --- (d) eigenstates give zero variance ----------------------------------------------------------
def test_eigenstate_term_has_zero_variance():
    rest = random_state(2, np.random.default_rng(5))
    psi = np.kron([1, 0], rest)                      # qubit 0 in |0>, the others random
    assert PauliSum("0.7 Z0", num_qubits=3).estimate(psi, 1_000, 1) == (0.7, 0.0)
    est, err = PauliSum("0.7 Z0 - 0.2", num_qubits=3).estimate(psi, 1_000, 1)
    assert err == 0.0 and est == pytest.approx(0.5, abs=1e-15)
    est, err = PauliSum("0.7 Z0 + 0.4 Z0 X1 X2", num_qubits=3).estimate(psi, 1_000, 1)
    assert err > 0                                   # Z0 X1 X2 is not fixed by this state
    _, err = PauliSum("0.7 Z0 + 0.3 X1", num_qubits=3).estimate(psi, 1_000, 1)
    assert err > 0


def test_x_and_y_eigenstates_check_the_basis_rotations():
    # |0>|+>|+i>: Z0 = +1, X1 = +1, Y2 = +1 exactly; |1>|->|-i> flips all three
    for label, sign in (("0+r", 1), ("1-l", -1)):
        psi = Statevector.from_label(label)
        for text, want in (("Z0", sign), ("X1", sign), ("Y2", sign), ("X1 Y2", 1),
                           ("Z0 X1 Y2", sign), ("0.3 Z0 + 0.7 X1 Y2 - 0.2 Y2", 0.1 * sign + 0.7)):
            h = PauliSum(text, num_qubits=3)
            assert h.expectation_value(psi) == pytest.approx(want, abs=1e-12)
            est, err = h.estimate(psi, 500, np.random.default_rng(2))
            assert err == 0.0
            assert est == pytest.approx(want, abs=1e-12)
    # Bell state: ZZ, XX, YY are all exact (-1 for YY), each in its own group
    bell = np.array([1, 0, 0, 1]) / math.sqrt(2)
    h = PauliSum("0.5 ZZ + 0.25 XX + 2 YY")
    assert len(h.qwc_groups()) == 3
    est, err = h.estimate(bell, 300, np.random.default_rng(0))
    assert err == 0.0 and est == pytest.approx(0.5 + 0.25 - 2, abs=1e-12)


# --- (e) reproducible ----------------------------------------------------------------------------
def test_same_seed_same_estimate():
    psi = random_state(4, np.random.default_rng(9))
    a = H4.estimate(psi, 5_000, np.random.default_rng(42))
    b = H4.estimate(Statevector(psi), 5_000, np.random.default_rng(42))
    assert a == b
    assert H4.estimate(psi, 5_000, 42) == a               # a seed works as well as a Generator
    assert H4.estimate(psi, 5_000, np.random.default_rng(43)) != a
    big = H4.estimate(psi, 2_000_000, np.random.default_rng(42))   # the multinomial path
    assert H4.estimate(psi, 2_000_000, np.random.default_rng(42)) == big


def test_single_precision_state():
    psi = random_state(3, np.random.default_rng(4))
    h = PauliSum("X0 Y1 + 0.5 Z2 - 0.3 Y0")
    est, err = h.estimate(Statevector(psi.astype(np.complex64)), 20_000, 0)
    assert abs(est - h.expectation_value(psi)) < 4 * err


# --- (f) grouping --------------------------------------------------------------------------------
def test_qwc_groups_by_hand():
    assert PauliSum("Z0 Z1 + X0 + X1").qwc_groups() == [[0], [1, 2]]
    assert len(PauliSum("Z0 Z1 + X0 + X1").qwc_groups()) == 2
    assert PauliSum("ZZ + XX + YY").qwc_groups() == [[0], [1], [2]]
    assert PauliSum("XI + IX + XX").qwc_groups() == [[0, 1, 2]]
    assert PauliSum("II + ZI + 3").qwc_groups() == [[1]]            # identities in no group
    # largest |coeff| first: Z0 opens the first group, Z0 Z1 joins it, X0 opens another
    assert PauliSum("0.1 X0 + Z0 Z1 - 2 Z0").qwc_groups() == [[1, 2], [0]]
    assert PauliSum(num_qubits=2).qwc_groups() == []


def test_qwc_groups_partition_into_commuting_sets():
    rng = np.random.default_rng(12)
    for n in (2, 4, 6):
        h = PauliSum.from_terms([(rng.normal(), "".join(rng.choice(list("IXYZ"), n)))
                                 for _ in range(25)])
        groups = h.qwc_groups()
        labels = h.labels
        flat = sorted(t for g in groups for t in g)
        assert flat == [t for t, lab in enumerate(labels) if lab != "I" * n]
        for g in groups:
            assert g == sorted(g)
            for a in g:
                for b in g:
                    assert is_qwc(labels[a], labels[b])
                    pa, pb = PauliSum(labels[a]), PauliSum(labels[b])
                    assert pa * pb == pb * pa
        # greedy: a later group's first-placed term did not fit any earlier group
        for j, g in enumerate(groups[1:], 1):
            lead = max(g, key=lambda t: (abs(h.coeffs[t]), -t))
            rank = {t: (abs(h.coeffs[t]), -t) for t in range(len(h))}
            for earlier in groups[:j]:
                assert not all(is_qwc(labels[lead], labels[t]) for t in earlier
                               if rank[t] > rank[lead])


# --- shot allocation and refusals ----------------------------------------------------------------
def test_shot_allocation():
    alloc = _allocate_shots(1_000, np.array([3.0, 1.0, 0.5]))
    assert alloc.sum() == 1_000 and np.all(alloc >= 1)
    np.testing.assert_allclose(alloc, 1 + 997 * np.array([3, 1, 0.5]) / 4.5, atol=1)
    np.testing.assert_array_equal(_allocate_shots(3, np.array([100.0, 1e-9, 1e-9])), [1, 1, 1])
    np.testing.assert_array_equal(_allocate_shots(4, np.array([1.0, 1.0])), [2, 2])
    with pytest.raises(ValueError, match="3 qubit-wise commuting groups"):
        PauliSum("ZZ + XX + YY").estimate(np.array([1, 0, 0, 0]), 2, 0)


def test_one_shot_groups_report_the_bound():
    psi = random_state(2, np.random.default_rng(3))
    est, err = PauliSum("0.5 ZZ + 0.25 XX - YY").estimate(psi, 3, 0)
    assert err == pytest.approx(math.sqrt(0.5**2 + 0.25**2 + 1))
    assert abs(est) <= 1.75


def test_refusals():
    psi = random_state(2, np.random.default_rng(0))
    with pytest.raises(PauliError, match="non-Hermitian"):
        PauliSum("1j*XZ + ZZ").estimate(psi, 100, 0)
    assert PauliSum("1j*XZ - 1j*XZ + ZZ").estimate(psi, 100, 0)[1] > 0   # cancels: Hermitian
    with pytest.raises(CircuitError, match="does not match"):
        PauliSum("ZZZ").estimate(psi, 100, 0)
    for bad in (0, -5, 1.5, True, None):
        with pytest.raises(ValueError, match="shots"):
            PauliSum("ZZ").estimate(psi, bad, 0)
    with pytest.raises(CircuitError, match="zero vector"):
        PauliSum("ZZ").estimate(np.zeros(4), 100, 0)
