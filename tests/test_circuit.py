"""The Circuit IR: builder, validation errors, inverse, compose, depth, definitions."""

import math

import numpy as np
import pytest

import qsim
from qsim import Circuit, CircuitError, DefinitionOp, GateDefinition, Instruction


def test_fluent_builder_and_params_first():
    c = Circuit(3).h(0).cx(0, 1).rz(0.3, 2).u(0.1, 0.2, 0.3, 1)
    assert [i.name for i in c] == ["h", "cx", "rz", "u"]
    assert c.instructions[2] == Instruction("rz", (2,), (0.3,))
    assert c.instructions[3].params == (0.1, 0.2, 0.3)
    assert len(c) == 4
    assert c.num_qubits == 3 and c.num_clbits == 0
    assert c.qregs == [("q", 3)] and c.cregs == []


def test_broadcast_lists():
    c = Circuit(3).h(range(3)).cx([0, 1], [1, 2])
    assert [(i.name, i.qubits) for i in c] == [("h", (0,)), ("h", (1,)), ("h", (2,)),
                                                ("cx", (0, 1)), ("cx", (1, 2))]


@pytest.mark.parametrize("build, words", [
    (lambda c: c.h(3), ["h", "qubit 3", "out of range"]),
    (lambda c: c.cx(0), ["cx", "2 qubit", "got 1"]),
    (lambda c: c.cx(1, 1), ["cx", "duplicate", "[1, 1]"]),
    (lambda c: c.append("rx", [0], []), ["rx", "1 parameter", "got 0"]),
    (lambda c: c.append("nope", [0]), ["unknown gate 'nope'"]),
    (lambda c: c.unitary([[1, 1], [0, 1]], [0]), ["not unitary"]),
    (lambda c: c.unitary(np.eye(2), [0, 1]), ["4x4"]),
    (lambda c: c.measure(0, 5), ["classical bit"]),
    (lambda c: c.h(0).c_if("c", 4), ["does not fit"]),
    (lambda c: c.h(0).c_if("zz", 1), ["zz"]),
    (lambda c: c.add_qreg("q", 2), ["already exists"]),
])
def test_errors_name_gate_and_qubit(build, words):
    with pytest.raises(CircuitError) as err:
        build(Circuit(3, 2))
    for w in words:
        assert w in str(err.value)


def test_registers_and_measure_all():
    c = Circuit()
    assert c.add_qreg("a", 2) == 0
    assert c.add_qreg("b", 1) == 2
    assert c.add_creg("m", 3) == 0
    assert list(c.qreg_indices("b")) == [2]
    c.measure_all()
    assert c.cregs == [("m", 3), ("meas", 3)]
    assert [(i.qubits, i.clbits) for i in c] == [((0,), (3,)), ((1,), (4,)), ((2,), (5,))]


def test_c_if_and_equality_and_repr():
    a = Circuit(2, 2).x(0).measure(0, 0).x(1).c_if("c", 1)
    b = Circuit(2, 2).x(0).measure(0, 0).x(1).c_if("c", 1)
    assert a == b
    assert a.instructions[-1].condition == ("c", 1)
    assert a != Circuit(2, 2).x(0).measure(0, 0).x(1)
    assert "x" in repr(a) and "2 qubits" in repr(a)


def test_depth():
    assert Circuit(3).depth() == 0
    assert Circuit(3).h(0).h(1).h(2).depth() == 1
    assert Circuit(3).h(0).cx(0, 1).cx(1, 2).depth() == 3
    assert Circuit(3).h(0).barrier().h(1).depth() == 1  # barriers are not counted
    # classical wires: measure then a condition on that register serialises
    c = Circuit(2, 1).h(0).measure(0, 0).x(1).c_if("c", 1)
    assert c.depth() == 3


def test_inverse_undoes_the_circuit():
    rng = np.random.default_rng(5)
    c = Circuit(3)
    for name in ["h", "s", "t", "sx", "u2", "u3", "rzx", "ecr", "iswap", "rccx", "cu", "r"]:
        g = qsim.gates.GATES[name]
        qubits = rng.permutation(3)[: g.num_qubits].tolist()
        c.append(name, qubits, rng.uniform(-2, 2, g.num_params))
    c.unitary(qsim.gates.gate_matrix("ch"), [2, 0])
    full = c.compose(c.inverse())
    start = qsim.Statevector.from_label("+0r")
    out = qsim.simulate(full, initial_state=start)
    assert out.equiv(start)
    with pytest.raises(CircuitError, match="measure"):
        Circuit(1, 1).measure(0, 0).inverse()


def test_compose_maps_qubits():
    bell = Circuit(2).h(0).cx(0, 1)
    big = Circuit(3).compose(bell, qubits=[2, 0])
    assert [(i.name, i.qubits) for i in big] == [("h", (2,)), ("cx", (2, 0))]


def test_definitions_expand_and_shadow_library():
    # A user "h" that is really an X: definitions are looked up before the library.
    c = Circuit(1)
    c.define(GateDefinition("h", (), ("a",), (DefinitionOp("x", (), (0,)),)))
    c.h(0)
    assert qsim.simulate(c).probabilities() == {"1": 1.0}
    # nested, with parameters
    d = Circuit(2)
    d.define(GateDefinition("rot", ("t",), ("a",), (DefinitionOp("ry", (1.0,), (0,)),)))
    d.define(GateDefinition("pair", ("t",), ("a", "b"),
                            (DefinitionOp("rot", (0.5,), (1,)), DefinitionOp("cx", (), (1, 0)))))
    d.append("pair", [0, 1], [0.25])
    flat = d.flatten()
    assert [(i.name, i.qubits, i.params) for i in flat] == [("ry", (1,), (1.0,)),
                                                          ("cx", (1, 0), ())]
    p1 = math.sin(0.5) ** 2
    probs = qsim.simulate(d).probabilities()
    assert probs["11"] == pytest.approx(p1)
    assert probs["00"] == pytest.approx(1 - p1)


def test_opaque_definition_refuses_to_simulate():
    c = Circuit(1)
    c.define(GateDefinition("magic", (), ("a",), None))
    c.append("magic", [0])
    with pytest.raises(CircuitError, match="magic.*opaque"):
        qsim.simulate(c)
