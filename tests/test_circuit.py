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


# --- argument checks: bad values are a CircuitError naming the argument -------------------------
NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize("build, fragment", [
    # sizes
    (lambda: Circuit(2.5), "Circuit: num_qubits must be a non-negative integer, got 2.5"),
    (lambda: Circuit(-1), "Circuit: num_qubits must be a non-negative integer, got -1"),
    (lambda: Circuit(True), "Circuit: num_qubits must be a non-negative integer, got True"),
    (lambda: Circuit("3"), "Circuit: num_qubits must be a non-negative integer, got '3'"),
    (lambda: Circuit(1, 2.0), "Circuit: num_clbits must be a non-negative integer, got 2.0"),
    (lambda: Circuit(1, None), "Circuit: num_clbits must be a non-negative integer, got None"),
    (lambda: Circuit().add_qreg("r", 1.5), "add_qreg: size of register 'r' must be a positive "
                                           "integer, got 1.5"),
    (lambda: Circuit().add_creg("m", "2"), "add_creg: size of register 'm' must be a positive "
                                           "integer, got '2'"),
    (lambda: Circuit().add_qreg("r", 0), "register 'r' must have size >= 1, got 0"),
    (lambda: Circuit().add_creg(3, 1), "add_creg: name must be a string, got 3"),
    # qubit indices
    (lambda: Circuit(2).h(1.5), "h: qubit must be an integer index, got 1.5"),
    (lambda: Circuit(3).h(2.0), "h: qubit must be an integer index, got 2.0"),
    (lambda: Circuit(2).h(True), "h: qubit must be an integer index, got True"),
    (lambda: Circuit(2).h(None), "h: qubit must be an integer index, got None"),
    (lambda: Circuit(2).h("0"), "h: qubit must be an integer index, got '0'"),
    (lambda: Circuit(2).h([0, 1.0]), "h: qubit must be an integer index, got 1.0"),
    (lambda: Circuit(2).cx(0, np.float64(1)), "cx: qubit must be an integer index, got "),
    (lambda: Circuit(2).cx([0, 1], 1.0), "cx: qubit must be an integer index, got 1.0"),
    (lambda: Circuit(2).append("h", 0.0), "h: qubit must be an integer index, got 0.0"),
    (lambda: Circuit(2).append("h", "0"), "h: qubit must be an integer index, got '0'"),
    (lambda: Circuit(2).append("cx", [0, False]), "cx: qubit must be an integer index, got False"),
    (lambda: Circuit(2).gate("h", 1.5), "h: qubit must be an integer index, got 1.5"),
    (lambda: Circuit(2, 1).measure(0.0, 0), "measure: qubit must be an integer index, got 0.0"),
    (lambda: Circuit(2).reset("a"), "reset: qubit must be an integer index, got 'a'"),
    (lambda: Circuit(2).reset([0, None]), "reset: qubit must be an integer index, got None"),
    (lambda: Circuit(2).barrier(0.5), "barrier: qubit must be an integer index, got 0.5"),
    (lambda: Circuit(2).unitary(np.eye(2), 0.0), "unitary: qubit must be an integer index, got "
                                                 "0.0"),
    (lambda: Circuit(3).compose(Circuit(1).h(0), qubits=[1.0]), "compose: qubit must be an "
                                                                "integer index, got 1.0"),
    # clbit indices
    (lambda: Circuit(2, 1).measure(0, 0.0), "measure: clbit must be an integer index, got 0.0"),
    (lambda: Circuit(2, 1).measure(0, True), "measure: clbit must be an integer index, got True"),
    (lambda: Circuit(2, 1).append("measure", [0], clbits=["0"]), "measure: clbit must be an "
                                                                 "integer index, got '0'"),
    # parameters
    # A string is not a symbol: qsim.Parameter("theta") is (issue #13).
    (lambda: Circuit(1).rx("theta", 0), "rx: parameter 'theta' must be a real number or a "
                                        "qsim.Parameter (qsim.Parameter('theta') makes a symbol)"),
    (lambda: Circuit(1).rx(None, 0), "rx: parameter must be a real number, got None"),
    (lambda: Circuit(1).rx(1j, 0), "rx: parameter must be a real number, got 1j"),
    (lambda: Circuit(1).rx(np.complex128(1), 0), "rx: parameter must be a real number, got "),
    (lambda: Circuit(1).rx(True, 0), "rx: parameter must be a real number, got True"),
    (lambda: Circuit(1).rx([0.1], 0), "rx: parameter must be a real number, got [0.1]"),
    (lambda: Circuit(1).rx(NAN, 0), "rx: parameter must be a finite real number, got nan"),
    (lambda: Circuit(1).rx(np.float32(NAN), 0), "rx: parameter must be a finite real number, "
                                                "got nan"),
    (lambda: Circuit(1).rx(-INF, 0), "rx: parameter must be a finite real number, got -inf"),
    (lambda: Circuit(1).rx(10**400, 0), "rx: parameter must be a finite real number, got 1000"),
    (lambda: Circuit(1).u(0.1, None, 0.3, 0), "u: parameter 2 of 3 must be a real number, got "
                                              "None"),
    (lambda: Circuit(1).u(0.1, 0.2, INF, 0), "u: parameter 3 of 3 must be a finite real number, "
                                             "got inf"),
    (lambda: Circuit(1).append("rx", [0], ["t"]), "rx: parameter 't' must be a real number"),
    (lambda: Circuit(1).append("rx", [0], "t"), "rx: parameter 't' must be a real number"),
    (lambda: Circuit(1).append("rx", [0], [NAN]), "rx: parameter must be a finite real number"),
    # conditions
    (lambda: Circuit(1, 2).x(0).c_if("c", 1.0), "c_if: condition value must be a non-negative "
                                                "integer, got 1.0"),
    (lambda: Circuit(1, 2).x(0).c_if("c", True), "c_if: condition value must be a non-negative "
                                                 "integer, got True"),
    (lambda: Circuit(1, 2).x(0).c_if("c", "1"), "c_if: condition value must be a non-negative "
                                                "integer, got '1'"),
    (lambda: Circuit(1, 2).x(0).c_if("c", -1), "condition value -1 does not fit register 'c'"),
    (lambda: Circuit(1, 2).x(0).c_if(0, 1), "c_if: condition register must be a register name"),
    (lambda: Circuit(1, 2).append("x", [0], condition=("c",)), "x: condition must be a "
                                                               "(register name, value) pair"),
    (lambda: Circuit(1, 2).append("x", [0], condition=("c", 0.5)), "x: condition value must be "
                                                                   "a non-negative integer"),
    # unitary matrix and label
    (lambda: Circuit(1).unitary("abc", 0), "unitary: matrix must be a square array of numbers"),
    (lambda: Circuit(1).unitary(np.eye(2), 0, label=5), "unitary: label must be a string, got 5"),
])
def test_bad_argument_values_name_the_argument(build, fragment):
    with pytest.raises(CircuitError) as err:
        build()
    msg = str(err.value)
    assert fragment in msg
    assert "\n" not in msg
    assert isinstance(err.value, ValueError)


def test_long_values_are_shortened_in_messages():
    with pytest.raises(CircuitError) as err:
        Circuit(1).rx(np.zeros((30, 30)), 0)
    assert "\n" not in str(err.value) and len(str(err.value)) < 120


def test_integer_like_and_real_values_are_accepted():
    c = Circuit(np.int64(3), np.uint8(2))
    assert c.num_qubits == 3 and c.num_clbits == 2
    assert c.add_qreg("r", np.int32(1)) == 3
    c.h(np.int64(2)).cx(np.int32(0), 1).h(np.array([0, 1]))
    c.rx(np.float32(0.5), 0).ry(np.int64(2), 1).rz(np.array(0.25), 2).rz(3, 0)
    c.u(1, np.float64(2.0), 0.5, np.intp(1))
    c.append("rz", 0, 0.125)  # a single qubit and a single parameter
    c.measure(np.int64(0), np.int16(1)).reset(np.array([1, 2])).barrier(range(3))
    c.x(0).c_if("c", np.int64(3))
    c.unitary(np.eye(2), np.int64(1), label="id")
    assert [(i.name, i.qubits) for i in c][:5] == [("h", (2,)), ("cx", (0, 1)), ("h", (0,)),
                                                   ("h", (1,)), ("rx", (0,))]
    for ins in c:
        assert all(type(q) is int for q in ins.qubits + ins.clbits)
        assert all(type(p) is float for p in ins.params)
    assert c.instructions[5].params == (2.0,) and c.instructions[6].params == (0.25,)
    assert c.instructions[9].params == (0.125,)
    assert c.instructions[-2].condition == ("c", 3) and type(c.instructions[-2].condition[1]) is int
    assert c.instructions[-3].qubits == (0, 1, 2)  # the barrier


def test_qasm_loader_path_stays_unchecked(monkeypatch):
    # The loader validates as it parses and builds through _append_unchecked: none of the
    # argument checks run for it (they would cost time per instruction on big files).
    import qsim.circuit as circuit_module

    def boom(*args, **kwargs):
        raise AssertionError("argument check called on the loader's path")

    for name in ("_index", "_indices", "_param", "_params", "_is_many"):
        monkeypatch.setattr(circuit_module, name, boom)
    loaded = qsim.loads_qasm('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'
                             "rx(pi/2) q[0];\ncx q[0],q[1];\nmeasure q -> c;\n"
                             "if(c==1) x q[1];\n")
    assert [(i.name, i.qubits) for i in loaded] == [("rx", (0,)), ("cx", (0, 1)),
                                                    ("measure", (0,)), ("measure", (1,)),
                                                    ("x", (1,))]
    c = Circuit(1)
    c._append_unchecked(Instruction("rx", (0,), (1.0,)))
    assert c.instructions == [Instruction("rx", (0,), (1.0,))]
