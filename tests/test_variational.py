"""qsim.expectation and qsim.sweep against textbook values and against binding + simulating each
point on the independent sparse backend."""

from __future__ import annotations

import numpy as np
import pytest

import qsim
from qsim import Circuit, CircuitError
from qsim.expr import cos, sin

theta, phi = qsim.Parameter("theta"), qsim.Parameter("phi")


def test_expectation_textbook_values() -> None:
    c = Circuit(1).ry(theta, 0)
    for t in (0.0, 0.4, 2.0):
        assert qsim.expectation(c, "Z0", {theta: t}) == pytest.approx(np.cos(t), abs=1e-12)
        assert qsim.expectation(c, "X0", [t]) == pytest.approx(np.sin(t), abs=1e-12)
    bell = Circuit(2).h(0).cx(0, 1)
    assert qsim.expectation(bell, "Z0 Z1") == pytest.approx(1.0)
    assert qsim.expectation(bell, "ZI") == pytest.approx(0.0, abs=1e-12)
    # A dense matrix observable: Z (x) Z.
    zz = np.diag([1.0, -1.0, -1.0, 1.0])
    assert qsim.expectation(bell, zz) == pytest.approx(1.0)


def test_expectation_ignores_terminal_measurements_and_refuses_dynamic_ones() -> None:
    c = Circuit(1, 1).ry(theta, 0).measure(0, 0)
    assert qsim.expectation(c, "Z0", [0.5]) == pytest.approx(np.cos(0.5))
    dyn = Circuit(1, 1).h(0).measure(0, 0).x(0)
    with pytest.raises(CircuitError, match="after a measurement"):
        qsim.expectation(dyn, "Z0")


def random_ansatz(rng: np.random.Generator, n: int) -> Circuit:
    c = Circuit(n)
    for layer in range(3):
        for q in range(n):
            c.ry(theta * (q + 1) - 0.2 * layer, q)
            c.rz(sin(phi) + layer, q)
            c.u3(float(rng.uniform(0, 3)), phi, theta, q)
        for q in range(n - 1):
            c.cx(q, q + 1)
        c.crx(theta * phi, 0, n - 1).cp(cos(theta), 1, 0).h(n - 1)
        c.unitary(np.linalg.qr(rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4)))[0],
                  [n - 1, 0])
    return c


def test_sweep_equals_binding_each_point_on_the_sparse_backend() -> None:
    rng = np.random.default_rng(5)
    c = random_ansatz(rng, 4)
    H = qsim.PauliSum.from_string("Z0 Z1 + 0.5 X0 - 0.3 Y1 Z2 + 0.2 X3", num_qubits=4)
    ts, ps = np.linspace(-1, 2, 4), np.array([0.1, 0.7, 1.3])
    grid = qsim.sweep(c, {theta: ts, phi: ps}, H)
    assert grid.shape == (4, 3)
    for i, t in enumerate(ts):
        for j, p in enumerate(ps):
            psi = qsim.simulate(c.bind({theta: t, phi: p}), backend="sparse")
            assert grid[i, j] == pytest.approx(H.expectation_value(psi).real, abs=1e-10)
    # zip walks the lists together; an array of points is rows in circuit.parameters order.
    zipped = qsim.sweep(c, {theta: ts[:3], phi: ps}, H, zip=True)
    np.testing.assert_allclose(zipped, [grid[0, 0], grid[1, 1], grid[2, 2]], atol=1e-12)
    rows = qsim.sweep(c, np.array([[ts[3], ps[2]], [ts[0], ps[1]]]), H)
    np.testing.assert_allclose(rows, [grid[3, 2], grid[0, 1]], atol=1e-12)
    # A fixed value broadcasts.
    np.testing.assert_allclose(qsim.sweep(c, {theta: ts, phi: ps[1]}, H), grid[:, 1], atol=1e-12)


def test_sweep_probabilities_and_counts() -> None:
    c = Circuit(2).ry(theta, 0).cx(0, 1)
    probs = qsim.sweep(c, {theta: [0.0, np.pi / 2, np.pi]})
    np.testing.assert_allclose(probs, [[1, 0, 0, 0], [0.5, 0, 0, 0.5], [0, 0, 0, 1]], atol=1e-12)
    counts = qsim.sweep(c, {theta: [0.0, np.pi / 2]}, shots=1000, seed=1)
    assert counts.dtype == np.int64 and counts.shape == (2, 4)
    assert counts[0].tolist() == [1000, 0, 0, 0] and counts[1].sum() == 1000
    assert counts[1, 1] == 0 and counts[1, 2] == 0
    again = qsim.sweep(c, {theta: [0.0, np.pi / 2]}, shots=1000, seed=1)
    np.testing.assert_array_equal(counts, again)


def test_sweep_errors() -> None:
    c = Circuit(1).ry(theta, 0).rz(phi, 0)
    with pytest.raises(CircuitError, match="'gamma' is not a parameter"):
        qsim.sweep(c, {"gamma": [1, 2]}, "Z0")
    with pytest.raises(CircuitError, match="different lengths"):
        qsim.sweep(c, {theta: [1, 2], phi: [1, 2, 3]}, "Z0", zip=True)
    with pytest.raises(CircuitError, match="shape"):
        qsim.sweep(c, np.zeros((3, 3)), "Z0")
    with pytest.raises(CircuitError, match="unbound parameters"):
        qsim.sweep(c, {theta: [1, 2]}, "Z0")  # phi left unbound


def test_parameters_are_a_pure_function_of_the_point() -> None:
    # The fast sweep rebuilds only the blocks whose gates change: the result must not depend on
    # the order the points come in.
    rng = np.random.default_rng(2)
    c = random_ansatz(rng, 3)
    pts = rng.uniform(-2, 2, (6, 2))
    a = qsim.sweep(c, pts, "Z0 Z1 + X2")
    b = qsim.sweep(c, pts[::-1], "Z0 Z1 + X2")[::-1]
    np.testing.assert_allclose(a, b, atol=1e-12)


def test_expectation_from_shots_has_an_honest_error() -> None:
    c = Circuit(3).ry(theta, 0).cx(0, 1).rx(phi, 2)
    H = qsim.PauliSum.from_string("Z0 Z1 + 0.5 X0 - 0.3 Y2 + 0.2 Z2", num_qubits=3)
    exact = qsim.expectation(c, H, [0.7, 1.1])
    est, err = qsim.expectation(c, H, [0.7, 1.1], shots=20_000, seed=4)
    assert err > 0 and abs(est - exact) < 4 * err
    assert (est, err) == qsim.expectation(c, H, [0.7, 1.1], shots=20_000, seed=4)
    # A sweep with shots returns estimates and their errors.
    vals, errs = qsim.sweep(c, {theta: [0.1, 0.7], phi: 1.1}, H, shots=20_000, seed=1)
    assert vals.shape == errs.shape == (2,)
    assert abs(vals[1] - exact) < 4 * errs[1]
