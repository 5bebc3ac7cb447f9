"""Parameters: symbols in circuits, expressions of them, binding, and the errors for unbound ones."""

from __future__ import annotations

import math

import numpy as np
import pytest

import qsim
from qsim import Circuit, CircuitError
from qsim.expr import cos, exp, ln, sin, sqrt, tan

theta, phi = qsim.Parameter("theta"), qsim.Parameter("phi")


def ansatz() -> Circuit:
    return Circuit(3).ry(theta, 0).cx(0, 1).rz(2 * phi - 0.1, 1)


def test_parameters_in_order_of_first_appearance() -> None:
    assert ansatz().parameters == (theta, phi)
    assert Circuit(2).rz(phi * theta, 0).rx(theta, 1).parameters == (phi, theta)
    assert Circuit(1).h(0).parameters == ()
    assert qsim.Parameter("theta") == theta  # a symbol is its name, as in Cirq/sympy


def test_bind_by_mapping_sequence_and_name_equals_building_with_numbers() -> None:
    want = Circuit(3).ry(0.3, 0).cx(0, 1).rz(2 * 1.2 - 0.1, 1)
    c = ansatz()
    assert c.bind({theta: 0.3, phi: 1.2}) == want
    assert c.bind([0.3, 1.2]) == want
    assert c.bind({"theta": 0.3, "phi": 1.2}) == want
    assert c.bind(np.array([0.3, 1.2])) == want
    # Binding shares the instructions without parameters and leaves the template alone.
    bound = c.bind([0.3, 1.2])
    assert bound.instructions[1] is c.instructions[1]
    assert c.parameters == (theta, phi)


def test_partial_binding_keeps_the_rest_symbolic() -> None:
    part = ansatz().bind({phi: 1.2})
    assert part.parameters == (theta,)
    assert part.bind([0.3]) == ansatz().bind([0.3, 1.2])


def test_bound_circuit_simulates_like_the_numeric_one() -> None:
    got = qsim.simulate(ansatz().bind({theta: 0.3, phi: 1.2}))
    want = qsim.simulate(Circuit(3).ry(0.3, 0).cx(0, 1).rz(2.3, 1))
    np.testing.assert_allclose(got.data, want.data, atol=1e-14)


@pytest.mark.parametrize("values, match", [
    ({"gamma": 1.0}, "'gamma' is not a parameter of the circuit"),
    ([0.3], "expected 2 value"),
    ([0.3, float("nan")], "finite"),
    ({theta: "x"}, "must be a real number"),
])
def test_bad_bindings_are_circuit_errors(values, match) -> None:  # noqa: ANN001
    with pytest.raises(CircuitError, match=match):
        ansatz().bind(values)


def test_unbound_parameters_are_named_at_simulation_and_export() -> None:
    with pytest.raises(CircuitError, match=r"unbound parameters \(theta, phi\)"):
        qsim.simulate(ansatz())
    with pytest.raises(CircuitError, match=r"unbound parameters \(theta, phi\)"):
        qsim.run(ansatz().measure_all(), shots=10)
    with pytest.raises(CircuitError, match=r"to_qasm: the circuit has unbound parameters "
                                           r"\(theta, phi\)"):
        qsim.to_qasm(ansatz())


def test_inverse_and_compose_keep_parameters() -> None:
    inv = ansatz().inverse()
    assert set(inv.parameters) == {theta, phi}
    u = qsim.simulate(ansatz().bind([0.3, 1.2])).data
    back = qsim.simulate(inv.bind({theta: 0.3, phi: 1.2}), u).data
    np.testing.assert_allclose(back, qsim.ket("000"), atol=1e-12)
    both = Circuit(3).compose(ansatz())
    assert both.parameters == (theta, phi)


def test_expressions_evaluate_and_differentiate() -> None:
    e = sin(theta) * theta / (phi + 1) + sqrt(exp(phi)) - ln(2 + cos(theta)) + tan(phi / 4)
    env = {"theta": 0.3, "phi": 1.2}
    t, p = 0.3, 1.2
    value = (math.sin(t) * t / (p + 1) + math.sqrt(math.exp(p)) - math.log(2 + math.cos(t))
             + math.tan(p / 4))
    assert e.evaluate(env) == pytest.approx(value, rel=1e-14)
    h = 1e-6
    for name in env:
        up, down = dict(env), dict(env)
        up[name] += h
        down[name] -= h
        fd = (e.evaluate(up) - e.evaluate(down)) / (2 * h)
        assert e.diff(name).evaluate(env) == pytest.approx(fd, rel=1e-7)
    assert sin(0.5) == pytest.approx(math.sin(0.5))  # numbers stay numbers
    assert str(2 * phi - 0.1) == "2*phi - 0.1"


def test_constant_expressions_become_numbers() -> None:
    c = Circuit(1).rz(qsim.Parameter("t").subs({"t": 0.5}) * 2, 0)
    assert c.parameters == () and c.instructions[0].params == (1.0,)


def test_drawing_shows_the_expression() -> None:
    assert "Rz(2*phi - 0.1)" in qsim.draw_text(ansatz())
