"""qsim.to_qasm(): OpenQASM 2 text that qsim's loader and Qiskit's both load to the same circuit.

Round trips are checked on random circuits (hypothesis) covering every library gate, random
parameters, measure / reset / barrier / ``if`` and user unitaries of one and two qubits. Where the
exporter has to decompose (unitaries, gates no qelib1.inc defines), the loaded circuit is compared
with the original by simulation, up to a global phase; otherwise it must be equal as a Circuit.
When Qiskit is installed, every exported text is also loaded by ``qiskit.qasm2`` and, for circuits
without measurements, its state is compared with qsim's (an independent simulator).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qsim
from qsim import Circuit, CircuitError, DefinitionOp, GateDefinition
from qsim.gates import GATES, QELIB1_2017, QISKIT_QELIB1_EXTRA, gate_matrix
from qsim.qasm.export import format_float, to_qasm

try:
    import qiskit.qasm2 as qasm2
    from qiskit.quantum_info import Statevector as QiskitStatevector
except ImportError:  # pragma: no cover - depends on the environment
    qasm2 = None

needs_qiskit = pytest.mark.skipif(qasm2 is None, reason="qiskit is not installed (optional "
                                  "cross-check: pip install qiskit)")

BY_NAME = sorted(QELIB1_2017 | QISKIT_QELIB1_EXTRA | {"U", "CX"})
EXTRA = sorted(set(GATES) - set(BY_NAME))


# --- helpers -------------------------------------------------------------------------------------
def random_unitary(dim: int, rng: np.random.Generator) -> np.ndarray:
    """Haar-random unitary: QR of a complex Gaussian matrix with the phases of R fixed."""
    z = rng.normal(size=(dim, dim)) + 1j * rng.normal(size=(dim, dim))
    q, r = np.linalg.qr(z)
    return q * (np.diag(r) / np.abs(np.diag(r)))


def random_state(n: int, rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=2**n) + 1j * rng.normal(size=2**n)
    return v / np.linalg.norm(v)


def circuit_unitary(c: Circuit) -> np.ndarray:
    """The circuit's matrix, column k = the final state from basis state k."""
    dim = 2**c.num_qubits
    return np.column_stack([qsim.simulate(c, initial_state=np.eye(dim)[k]).data
                            for k in range(dim)])


def equal_up_to_phase(a: np.ndarray, b: np.ndarray, atol: float = 1e-9) -> bool:
    overlap = np.vdot(a, b)
    if abs(overlap) < 1e-12:
        return False
    return bool(np.allclose(a * (overlap / abs(overlap)), b, atol=atol))


def to_big_endian(little: np.ndarray, n: int) -> np.ndarray:
    """A Qiskit (little-endian) vector or matrix in qsim's order (qubit 0 leftmost)."""
    little = np.asarray(little)
    rev = tuple(range(n - 1, -1, -1))
    if little.ndim == 1:
        return little.reshape((2,) * n).transpose(rev).ravel()
    t = little.reshape((2,) * (2 * n))
    return t.transpose(rev + tuple(n + i for i in rev)).reshape(2**n, 2**n)


def qiskit_load(text: str):
    return qasm2.loads(text, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)


def qiskit_state(text: str, n: int, initial: np.ndarray) -> np.ndarray:
    qc = qiskit_load(text)
    start = QiskitStatevector(to_big_endian(initial, n))  # the reversal is its own inverse
    return to_big_endian(np.asarray(start.evolve(qc)), n)


def is_dynamic(c: Circuit) -> bool:
    return any(i.name in ("measure", "reset") or i.condition for i in c.instructions)


# --- text layout -----------------------------------------------------------------------------
def test_header_registers_and_instruction_syntax():
    c = Circuit()
    c.add_qreg("q", 2)
    c.add_qreg("anc", 1)
    c.add_creg("c", 2)
    c.add_creg("flag", 1)
    c.h(0).cx(0, 2).rz(0.25, 1).barrier(0, 2).measure(2, 2)
    c.x(1).c_if("flag", 1)
    c.measure(0, 1).c_if("c", 2)
    c.reset(2).c_if("flag", 0)
    c.reset(1)
    expected = "\n".join([
        "OPENQASM 2.0;",
        'include "qelib1.inc";',
        "qreg q[2];",
        "qreg anc[1];",
        "creg c[2];",
        "creg flag[1];",
        "h q[0];",
        "cx q[0],anc[0];",
        "rz(0.25) q[1];",
        "barrier q[0],anc[0];",
        "measure anc[0] -> flag[0];",
        "if(flag==1) x q[1];",
        "if(c==2) measure q[0] -> c[1];",
        "if(flag==0) reset anc[0];",
        "reset q[1];",
    ]) + "\n"
    assert to_qasm(c) == expected
    assert qsim.loads_qasm(expected) == c


def test_empty_circuit():
    assert to_qasm(Circuit()) == 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'
    assert qsim.loads_qasm(to_qasm(Circuit(1))) == Circuit(1)


@pytest.mark.parametrize("value, text", [
    (math.pi, "pi"), (-math.pi, "-pi"), (math.pi / 2, "pi/2"), (-math.pi / 4, "-pi/4"),
    (3 * math.pi / 4, "3*pi/4"), (2 * math.pi, "2*pi"), (math.pi / 3, "pi/3"),
    (0.0, "0"), (-0.0, "0"), (0.1, "0.1"), (2.0, "2.0"), (-1.5, "-1.5"), (1e-7, "1e-07"),
    (1 / 3, "0.3333333333333333"), (math.pi + 4e-16, repr(math.pi + 4e-16)),
    (math.pi / 4 * 1.0000000000000002, repr(math.pi / 4 * 1.0000000000000002)),
])
def test_format_float_hand_values(value, text):
    assert format_float(value) == text


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_format_float_refuses_non_finite(value):
    with pytest.raises(CircuitError, match="non-finite"):
        format_float(value)


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False)
       | st.integers(-64, 64).map(lambda k: k * math.pi / 8)
       | st.integers(-64, 64).map(lambda k: k * math.pi / 3))
def test_parameters_round_trip_bit_exactly(x):
    c = Circuit(1).rz(x, 0)
    got = qsim.loads_qasm(to_qasm(c)).instructions[0].params[0]
    assert got == x or (got == 0 and x == 0)


# --- gates by name, gates by definition -----------------------------------------------------
def _params_for(name: str, rng: np.random.Generator) -> list[float]:
    if name == "u0":
        return [float(rng.integers(0, 4))]  # Qiskit accepts only integer idle lengths
    return list(rng.uniform(-2 * math.pi, 2 * math.pi, GATES[name].num_params))


@pytest.mark.parametrize("name", BY_NAME)
def test_qelib1_gates_are_written_by_name(name):
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    g = GATES[name]
    qubits = list(range(g.num_qubits))[::-1]
    c = Circuit(g.num_qubits).append(name, qubits, _params_for(name, rng))
    text = to_qasm(c)
    assert "gate " not in text and "opaque" not in text
    line = text.splitlines()[-1]
    assert line.split("(")[0].split(" ")[0] == name
    assert qsim.loads_qasm(text) == c


def test_non_integer_u0_is_written_as_identity():
    c = Circuit(1).u0(0.5, 0)
    text = to_qasm(c)
    assert text.splitlines()[-1] == "id q[0];"
    assert np.allclose(circuit_unitary(qsim.loads_qasm(text)), np.eye(2))
    # also inside a definition; an integer idle length stays u0
    c = Circuit(1)
    c.define(GateDefinition("g", (), ("a",), (DefinitionOp("u0", (0.5,), (0,)),
                                              DefinitionOp("u0", (2.0,), (0,)))))
    c.append("g", [0])
    assert "gate g a { id a; u0(2.0) a; }" in to_qasm(c)
    if qasm2 is not None:
        assert qiskit_load(to_qasm(c)).num_qubits == 1


def test_extra_gate_list_is_the_library_minus_qelib1():
    assert set(EXTRA) == {name for name, g in GATES.items() if g.qasm_body is not None}
    assert set(EXTRA) == {"ryy", "rzx", "ecr", "iswap", "dcx", "r", "cs", "csdg", "ccz"}


@pytest.mark.parametrize("name", EXTRA)
def test_extra_gates_become_exact_definitions(name):
    rng = np.random.default_rng(sum(map(ord, name)))
    g = GATES[name]
    params = list(rng.uniform(-2 * math.pi, 2 * math.pi, g.num_params))
    k = g.num_qubits
    c = Circuit(k).append(name, list(range(k)), params)
    text = to_qasm(c)
    assert f"gate {name}" in text
    loaded = qsim.loads_qasm(text)
    assert name in loaded.definitions
    # Every gate in the definition's body (recursively) is a qelib1 gate.
    for ins in loaded.flatten():
        assert ins.name in BY_NAME, ins.name
    assert equal_up_to_phase(circuit_unitary(loaded), np.asarray(gate_matrix(name, params)))
    # The qubit order matters: on reversed qubits the matrix is the one of the swapped gate.
    if k == 2:
        rev = qsim.loads_qasm(to_qasm(Circuit(2).append(name, [1, 0], params)))
        swap = np.asarray(gate_matrix("swap"))
        expected = swap @ np.asarray(gate_matrix(name, params)) @ swap
        assert equal_up_to_phase(circuit_unitary(rev), expected)


@needs_qiskit
@pytest.mark.parametrize("name", EXTRA)
def test_extra_gate_definitions_match_in_qiskit(name):
    from qiskit.quantum_info import Operator

    g = GATES[name]
    params = [0.3 + 0.4 * i for i in range(g.num_params)]
    text = to_qasm(Circuit(g.num_qubits).append(name, list(range(g.num_qubits)), params))
    theirs = to_big_endian(Operator(qiskit_load(text)).data, g.num_qubits)
    assert equal_up_to_phase(theirs, np.asarray(gate_matrix(name, params)))


def test_ecr_reuses_the_rzx_definition_and_user_names_win():
    c = Circuit(2).ecr(0, 1).rzx(0.5, 1, 0)
    text = to_qasm(c)
    assert text.count("gate rzx(") == 1 and text.index("gate rzx(") < text.index("gate ecr ")
    assert equal_up_to_phase(circuit_unitary(qsim.loads_qasm(text)), circuit_unitary(c))
    # A user definition called rzx takes the name; the library rzx that ecr needs is renamed.
    user = GateDefinition("rzx", (), ("a",), (DefinitionOp("x", (), (0,)),))
    c = Circuit(2).ecr(0, 1)
    c.define(user)
    c.append("rzx", [1])
    text = to_qasm(c)
    loaded = qsim.loads_qasm(text)
    assert loaded.definitions["rzx"] == user
    assert equal_up_to_phase(qsim.simulate(loaded).data, qsim.simulate(c).data)


# --- unitaries ------------------------------------------------------------------------------------
def test_one_qubit_unitary_becomes_u3():
    h = np.array([[1, 1], [1, -1]]) / math.sqrt(2)
    c = Circuit(2).unitary(h, [1])
    text = to_qasm(c)
    assert "gate " not in text
    ins = qsim.loads_qasm(text).instructions[0]
    assert ins.name == "u3" and ins.qubits == (1,)
    # H = U(pi/2, 0, pi) exactly (Qiskit's U); angles are defined modulo 2*pi.
    for got, want in zip(ins.params, (math.pi / 2, 0.0, math.pi)):
        assert math.remainder(got - want, 2 * math.pi) == pytest.approx(0, abs=1e-12)


@pytest.mark.parametrize("matrix", [
    np.eye(2), np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.diag([1, -1]),
    np.diag([1j, -1j]), -np.eye(2), np.diag([1, np.exp(0.3j)]), np.array([[0, 1j], [1j, 0]]),
])
def test_one_qubit_special_unitaries(matrix):
    c = Circuit(1).unitary(matrix, [0])
    assert equal_up_to_phase(circuit_unitary(qsim.loads_qasm(to_qasm(c))), matrix)


def _two_qubit_cases() -> list[np.ndarray]:
    rng = np.random.default_rng(12345)
    swap = np.eye(4)[[0, 2, 1, 3]]
    cx_rev = np.eye(4)[[0, 3, 2, 1]]  # control on the second qubit
    iswap = np.array([[1, 0, 0, 0], [0, 0, 1j, 0], [0, 1j, 0, 0], [0, 0, 0, 1]])
    local = np.kron(random_unitary(2, rng), random_unitary(2, rng))
    diag = np.diag(np.exp(1j * rng.uniform(0, 2 * math.pi, 4)))
    return [np.eye(4), swap, cx_rev, iswap, local, diag] + [random_unitary(4, rng)
                                                            for _ in range(6)]


@pytest.mark.parametrize("matrix", _two_qubit_cases())
def test_two_qubit_unitary_becomes_exact_definition(matrix):
    c = Circuit(3).unitary(matrix, [2, 0])
    text = to_qasm(c)
    assert "gate unitary_0 a,b {" in text and "unitary_0 q[2],q[0];" in text
    loaded = qsim.loads_qasm(text)
    assert {i.name for i in loaded.flatten()} <= set(QELIB1_2017)
    assert equal_up_to_phase(circuit_unitary(loaded), circuit_unitary(c))


def test_conditional_two_qubit_unitary_is_one_conditional_call():
    rng = np.random.default_rng(3)
    c = Circuit(2, 1).h(0).measure(0, 0).unitary(random_unitary(4, rng), [0, 1]).c_if("c", 1)
    text = to_qasm(c)
    assert "if(c==1) unitary_2 q[0],q[1];" in text
    loaded = qsim.loads_qasm(text)
    for seed in range(4):
        assert qsim.simulate(loaded, seed=seed).equiv(qsim.simulate(c, seed=seed))


def test_three_qubit_unitary_is_refused_with_the_instruction_named():
    rng = np.random.default_rng(0)
    c = Circuit(3).h(0).unitary(random_unitary(8, rng), [0, 1, 2], label="oracle")
    with pytest.raises(CircuitError) as info:
        to_qasm(c)
    msg = str(info.value)
    assert "#1" in msg and "unitary" in msg and "'oracle'" in msg and "3 qubits" in msg


# --- definitions and names --------------------------------------------------------------------
NESTED = """OPENQASM 2.0;
include "qelib1.inc";
gate level1(theta) a { ry(theta) a; }
gate level2(alpha, beta) a, b { level1(alpha / 2) a; barrier a, b; cx a, b; level1(-beta) b; }
gate level3(gamma) x, y, z { level2(2 * gamma, gamma / 3) x, y; level1(pi - gamma) z; ccx x, y, z;
  u3(sin(gamma) + 0.25, -gamma^2, ln(2)) y; }
opaque box(t) a, b;
qreg q[3];
qreg r[1];
creg c[3];
creg d[1];
level3(pi / 2) q[0], q[1], q[2];
level2(pi / 3, -pi / 4) q[2], r[0];
measure q -> c;
if(c==5) level1(0.5) r[0];
measure r[0] -> d[0];
"""


def test_definitions_round_trip_exactly():
    c = qsim.loads_qasm(NESTED)
    text = to_qasm(c)
    assert "opaque box(t) a,b;" in text
    again = qsim.loads_qasm(text)
    assert again == c
    assert to_qasm(again) == text


def test_definitions_are_written_after_what_they_use():
    inner = GateDefinition("inner", ("t",), ("a",), (DefinitionOp("rx", (0.5,), (0,)),))
    outer = GateDefinition("outer", (), ("a", "b"), (DefinitionOp("inner", (0.25,), (1,)),
                                                     DefinitionOp("cx", (), (0, 1))))
    c = Circuit(2)
    c.define(outer)  # defined first, but uses inner
    c.define(inner)
    c.append("outer", [0, 1])
    text = to_qasm(c)
    assert text.index("gate inner") < text.index("gate outer")
    loaded = qsim.loads_qasm(text)
    assert loaded.definitions == c.definitions
    assert loaded.instructions == c.instructions


def test_invalid_and_clashing_names_are_renamed_consistently():
    from qsim.expr import Param

    c = Circuit()
    c.add_qreg("Q", 2)  # Qiskit: identifiers start with a lowercase letter
    c.add_qreg("h", 1)  # clashes with the gate h
    c.add_creg("if", 1)  # a keyword
    # A file's own sx (here: an X) must not be replaced by Qiskit's library sx.
    c.define(GateDefinition("sx", (), ("a",), (DefinitionOp("x", (), (0,)),)))
    c.define(GateDefinition("MyRot", ("Theta",), ("pi", "b"),
                            (DefinitionOp("ry", (Param("Theta") * 2,), (0,)),
                             DefinitionOp("sx", (), (1,)))))
    c.append("sx", [0])
    c.append("MyRot", [1, 2], [0.3])
    c.measure(2, 0)
    c.h(0).c_if("if", 1)
    text = to_qasm(c)
    loaded = qsim.loads_qasm(text)
    assert [size for _, size in loaded.qregs] == [2, 1]
    assert "gate sx " not in text
    for seed in range(3):
        assert qsim.simulate(loaded, seed=seed).equiv(qsim.simulate(c, seed=seed))
    if qasm2 is not None:
        qc = qiskit_load(text)
        assert qc.num_qubits == 3
        plain = c.copy()
        plain.instructions = plain.instructions[:2]
        plain_text = to_qasm(plain)
        ours = qsim.simulate(plain).data
        assert equal_up_to_phase(qiskit_state(plain_text, 3, np.eye(8)[0]), ours)


# --- random round trips -----------------------------------------------------------------------
ANGLES = (st.floats(-2 * math.pi, 2 * math.pi, allow_nan=False)
          | st.sampled_from([0.0, math.pi, -math.pi / 2, math.pi / 4, 3 * math.pi / 8, 1e-9,
                             123.456, -1e-300]))


@st.composite
def random_circuits(draw, *, unitaries: bool = True, extras: bool = True) -> Circuit:
    n = draw(st.integers(1, 5))
    split = draw(st.integers(0, n - 1))
    c = Circuit()
    c.add_qreg("q", n - split)
    if split:
        c.add_qreg("anc", split)
    ncl = draw(st.integers(0, 3))
    if ncl:
        c.add_creg("c", ncl)
    if draw(st.booleans()):
        c.add_creg("flag", 1)
    names = [g for g in sorted(GATES) if g in BY_NAME or extras]
    names = [g for g in names if GATES[g].num_qubits <= n]
    kinds = ["gate"] * 6 + ["measure", "reset", "barrier"]
    if unitaries:
        kinds += ["unitary"]
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    for _ in range(draw(st.integers(0, 14))):
        kind = draw(st.sampled_from(kinds))
        if kind == "measure" and not c.num_clbits:
            continue
        if kind == "unitary":
            k = draw(st.integers(1, min(2, n)))
            qs = draw(st.permutations(range(n)))[:k]
            c.unitary(random_unitary(2**k, rng), qs)
        elif kind == "gate":
            name = draw(st.sampled_from(names))
            g = GATES[name]
            qs = draw(st.permutations(range(n)))[:g.num_qubits]
            if name == "u0":
                params = [float(draw(st.integers(0, 3)))]
            else:
                params = [draw(ANGLES) for _ in range(g.num_params)]
            c.append(name, qs, params)
        elif kind == "measure":
            c.measure(draw(st.integers(0, n - 1)), draw(st.integers(0, c.num_clbits - 1)))
        elif kind == "reset":
            c.reset(draw(st.integers(0, n - 1)))
        else:
            qs = draw(st.permutations(range(n)))[:draw(st.integers(1, n))]
            c.barrier(*qs)
        if kind != "barrier" and c.cregs and draw(st.integers(0, 4)) == 0:
            reg, size = draw(st.sampled_from(c.cregs))
            c.c_if(reg, draw(st.integers(0, 2**size - 1)))
    return c


ROUND_TRIP = settings(max_examples=60, deadline=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@ROUND_TRIP
@given(random_circuits(unitaries=False, extras=False))
def test_round_trip_of_qelib1_circuits_is_exact(c):
    text = to_qasm(c)
    loaded = qsim.loads_qasm(text)
    assert loaded == c
    assert to_qasm(loaded) == text


@ROUND_TRIP
@given(random_circuits(), st.integers(0, 2**31 - 1))
def test_round_trip_simulates_to_the_same_state(c, seed):
    loaded = qsim.loads_qasm(to_qasm(c))
    assert (loaded.qregs, loaded.cregs) == (c.qregs, c.cregs)
    assert len(loaded) == len(c)
    psi0 = random_state(c.num_qubits, np.random.default_rng(seed))
    # Same seed: the trajectories see the same measurement draws, so the states agree too.
    ours = qsim.simulate(c, initial_state=psi0, seed=seed)
    back = qsim.simulate(loaded, initial_state=psi0, seed=seed)
    assert ours.equiv(back, atol=1e-9)


@needs_qiskit
@ROUND_TRIP
@given(random_circuits(), st.integers(0, 2**31 - 1))
def test_exported_text_loads_in_qiskit_with_the_same_state(c, seed):
    text = to_qasm(c)
    qc = qiskit_load(text)
    assert (qc.num_qubits, qc.num_clbits) == (c.num_qubits, c.num_clbits)
    if is_dynamic(c):
        return
    psi0 = random_state(c.num_qubits, np.random.default_rng(seed))
    ours = qsim.simulate(c, initial_state=psi0).data
    assert equal_up_to_phase(qiskit_state(text, c.num_qubits, psi0), ours)
