"""The example algorithms in circuits/: each file loads and gives its textbook outcome.

Every expected value here is derived from the algorithm (by hand, from a closed formula, or from
plain numpy matrices written out in this file), never from qsim's own output. Circuits whose
measurements are all terminal are checked exactly via ``simulate``; the dynamic ones (mid-circuit
measurement, ``if``, ``reset``) are sampled with ``run`` and checked within 5 binomial standard
deviations.
"""

from __future__ import annotations

import cmath
import math
from pathlib import Path

import numpy as np
import pytest

import qsim

CIRCUITS = Path(__file__).resolve().parent.parent / "circuits"
SHOTS = 2000
EXACT = 1e-12


def load(name: str) -> qsim.Circuit:
    return qsim.load_qasm(CIRCUITS / name)


def measured_probabilities(circuit: qsim.Circuit) -> dict[str, float]:
    """Exact distribution of the (single, fully measured) classical register of a circuit whose
    measurements are all terminal: the qubit marginals read in classical-bit order."""
    assert len(circuit.cregs) == 1, "helper handles one classical register"
    source = {ins.clbits[0]: ins.qubits[0] for ins in circuit if ins.name == "measure"}
    assert sorted(source) == list(range(circuit.num_clbits))
    qubits = [source[b] for b in range(circuit.num_clbits)]
    return qsim.simulate(circuit).probabilities(qubits)


def assert_distribution(got: dict[str, float], expected: dict[str, float],
                        tol: float = EXACT) -> None:
    keys = set(got) | set(expected)
    for k in keys:
        assert got.get(k, 0.0) == pytest.approx(expected.get(k, 0.0), abs=tol), k


def bits_lsb_first(value: int, width: int) -> str:
    return "".join(str((value >> i) & 1) for i in range(width))


def five_sigma(p: float, shots: int = SHOTS) -> float:
    return 5 * math.sqrt(p * (1 - p) / shots)


# --- every file is covered and documents its outcome ---------------------------------------------
TESTED = {
    "bell.qasm", "ghz.qasm", "teleport.qasm", "superdense.qasm", "deutsch_jozsa.qasm",
    "bernstein_vazirani.qasm", "grover.qasm", "qft.qasm", "iqft.qasm", "phase_estimation.qasm",
    "adder.qasm", "simon.qasm", "wstate.qasm", "vqe_ansatz.qasm", "custom_gates.qasm",
    "reset_if.qasm",
}


def test_every_circuit_file_is_tested_and_documented():
    files = {p.name for p in CIRCUITS.glob("*.qasm")}
    assert files == TESTED
    for name in files:
        text = (CIRCUITS / name).read_text()
        assert text.startswith("//"), name
        assert "Expected outcome" in text.split("OPENQASM")[0], name
        assert load(name).num_qubits <= 10, name


# --- terminal-measurement circuits ---------------------------------------------------------------
def test_bell():
    assert_distribution(measured_probabilities(load("bell.qasm")), {"00": 0.5, "11": 0.5})


def test_ghz():
    assert_distribution(measured_probabilities(load("ghz.qasm")), {"00000": 0.5, "11111": 0.5})


def test_superdense_coding_decodes_both_messages():
    # pair A sent "10" (z), pair B sent "01" (x): c = "10" + "01"
    assert_distribution(measured_probabilities(load("superdense.qasm")), {"1001": 1.0})


def test_deutsch_jozsa_balanced_linear_oracle():
    # f(x) = x0 XOR x2 = s.x with s = 101: DJ returns s, never 000 (balanced)
    got = measured_probabilities(load("deutsch_jozsa.qasm"))
    assert_distribution(got, {"101": 1.0})
    assert got.get("000", 0.0) < EXACT


def test_bernstein_vazirani_returns_secret():
    assert_distribution(measured_probabilities(load("bernstein_vazirani.qasm")), {"1011": 1.0})


def test_grover_two_iterations():
    p = math.sin(5 * math.asin(1 / math.sqrt(8))) ** 2
    assert p == pytest.approx(121 / 128, abs=1e-15)
    expected = {format(i, "03b"): (1 - p) / 7 for i in range(8)}
    expected["101"] = p
    assert_distribution(measured_probabilities(load("grover.qasm")), expected)


def test_qft_of_basis_state_has_uniform_probabilities_and_fourier_phases():
    c = load("qft.qasm")
    x, n = 5, 3
    expected = np.array([cmath.exp(2j * math.pi * x * k / 2**n) for k in range(2**n)])
    expected /= math.sqrt(2**n)
    state = qsim.simulate(c).data
    assert np.allclose(state, expected, atol=EXACT)
    assert_distribution(measured_probabilities(c), {format(k, "03b"): 1 / 8 for k in range(8)})
    # e.g. |001> carries exp(2*pi*i*5/8) = exp(5*pi*i/4), |010> carries exp(i*pi/2) = i
    assert state[1] * math.sqrt(8) == pytest.approx(cmath.exp(1.25j * math.pi), abs=EXACT)
    assert state[2] * math.sqrt(8) == pytest.approx(1j, abs=EXACT)


def test_inverse_qft_recovers_basis_state():
    assert_distribution(measured_probabilities(load("iqft.qasm")), {"110": 1.0})


def test_phase_estimation_reads_exact_phase():
    phi, bits = 13 / 16, 4
    expected = format(round(phi * 2**bits), f"0{bits}b")
    assert expected == "1101"
    assert_distribution(measured_probabilities(load("phase_estimation.qasm")), {expected: 1.0})


def test_cuccaro_adder_computes_the_sum():
    a, b, width = 13, 7, 4
    total = a + b
    c = load("adder.qasm")
    assert_distribution(measured_probabilities(c), {bits_lsb_first(total, width + 1): 1.0})
    # The whole final state is one basis state: cin = 0, a restored, b = sum mod 16, cout = carry.
    label = ("0" + bits_lsb_first(a, width) + bits_lsb_first(total % 2**width, width)
             + str(total >> width))
    assert [r for r, _ in c.qregs] == ["cin", "a", "b", "cout"]
    assert abs(qsim.simulate(c).amplitude(label)) == pytest.approx(1.0, abs=EXACT)


def test_simon_outputs_are_orthogonal_to_the_period():
    s = (1, 1, 0)
    ortho = [y for y in range(8)
             if sum(int(b) * sb for b, sb in zip(format(y, "03b"), s)) % 2 == 0]
    expected = {format(y, "03b"): 1 / len(ortho) for y in ortho}
    assert set(expected) == {"000", "001", "110", "111"}
    assert_distribution(measured_probabilities(load("simon.qasm")), expected)


def test_w_state_one_hot_thirds():
    assert_distribution(measured_probabilities(load("wstate.qasm")),
                        {"100": 1 / 3, "010": 1 / 3, "001": 1 / 3})


def test_custom_gates_three_levels():
    c = load("custom_gates.qasm")
    assert {"rot", "flip", "entangle", "spread"} <= set(c.definitions)
    p = math.cos(math.pi / 6) ** 2
    assert_distribution(measured_probabilities(c), {"0011": p, "1101": 1 - p})


def _textbook_ry(t: float) -> np.ndarray:
    return np.array([[math.cos(t / 2), -math.sin(t / 2)], [math.sin(t / 2), math.cos(t / 2)]])


def _textbook_rz(t: float) -> np.ndarray:
    return np.diag([cmath.exp(-0.5j * t), cmath.exp(0.5j * t)])


def test_vqe_ansatz_matches_textbook_matrices():
    l1_ry = [math.pi / 4 + 0.1 * 2, math.pi / 3 - 0.5 / 2, 2 * 0.3**2]
    l1_rz = [-math.pi / 8 * 3, math.sqrt(2) / 4, math.log(2)]
    l2_ry = [math.cos(math.pi / 3) + 1, math.exp(-0.5), -(math.pi / 2 - 0.2)]
    eye, x = np.eye(2), np.array([[0, 1], [1, 0]])
    p0, p1 = np.diag([1, 0]), np.diag([0, 1])
    cx01 = np.kron(np.kron(p0, eye) + np.kron(p1, x), eye)
    cx12 = np.kron(eye, np.kron(p0, eye) + np.kron(p1, x))

    def layer(mats: list[np.ndarray]) -> np.ndarray:
        return np.kron(np.kron(mats[0], mats[1]), mats[2])

    psi = np.zeros(8, dtype=complex)
    psi[0] = 1
    psi = layer([_textbook_ry(t) for t in l1_ry]) @ psi
    psi = layer([_textbook_rz(t) for t in l1_rz]) @ psi
    psi = cx12 @ cx01 @ psi
    psi = layer([_textbook_ry(t) for t in l2_ry]) @ psi

    c = load("vqe_ansatz.qasm")
    assert qsim.simulate(c).equiv(psi, atol=EXACT)
    expected = {format(i, "03b"): abs(a) ** 2 for i, a in enumerate(psi)}
    assert_distribution(measured_probabilities(c), expected)
    # The parameter expressions were folded into the definition call's parameters.
    call = c.instructions[0]
    assert call.name == "layer"
    assert np.allclose(call.params, l1_ry + l1_rz, atol=EXACT)


# --- dynamic circuits (one trajectory per shot) --------------------------------------------------
def test_teleport_transfers_the_state_exactly():
    result = qsim.run(load("teleport.qasm"), shots=SHOTS, seed=2024)
    assert sum(result.counts.values()) == SHOTS
    # r (the last register) is 0 in every shot: the teleported state was un-prepared exactly.
    assert all(key.split(" ")[2] == "0" for key in result.counts), result.counts
    # the Bell measurement is uniform over its four outcomes
    for m0 in "01":
        for m1 in "01":
            f = result.counts.get(f"{m0} {m1} 0", 0) / SHOTS
            assert abs(f - 0.25) < five_sigma(0.25), (m0, m1, f)


def test_teleport_needs_its_corrections():
    c = load("teleport.qasm")
    uncorrected = c.copy()
    uncorrected.instructions = [i for i in c.instructions if i.condition is None]
    assert len(uncorrected) == len(c) - 2
    # Without the corrections Bob holds P|psi> with P = X^m1 Z^m0, each branch with probability
    # 1/4, and the un-preparation yields r = 1 with probability 1 - |<psi|P|psi>|^2.
    psi = np.array([math.cos(0.6), cmath.exp(0.7j) * math.sin(0.6)])
    x, z = np.array([[0, 1], [1, 0]]), np.diag([1, -1])
    branches = [np.eye(2), z, x, x @ z]
    p_one = sum(1 - abs(np.vdot(psi, p @ psi)) ** 2 for p in branches) / 4
    result = qsim.run(uncorrected, shots=SHOTS, seed=7)
    ones = sum(v for k, v in result.counts.items() if k.endswith("1")) / SHOTS
    assert abs(ones - p_one) < five_sigma(p_one)
    assert p_one > 0.4


def test_reset_and_if():
    result = qsim.run(load("reset_if.qasm"), shots=SHOTS, seed=11)
    assert set(result.counts) <= {"0 001", "1 010"}
    for key in ("0 001", "1 010"):
        f = result.counts.get(key, 0) / SHOTS
        assert abs(f - 0.5) < five_sigma(0.5), (key, f)


# --- the files also load in Qiskit ---------------------------------------------------------------
DYNAMIC = {"teleport.qasm", "reset_if.qasm"}


@pytest.mark.parametrize("name", sorted(TESTED))
def test_circuit_files_load_in_qiskit_with_the_same_state(name):
    qasm2 = pytest.importorskip("qiskit.qasm2", reason="qiskit is not installed")
    from qiskit.quantum_info import Statevector as QiskitStatevector

    qc = qasm2.load(str(CIRCUITS / name), custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    c = load(name)
    assert (qc.num_qubits, qc.num_clbits) == (c.num_qubits, c.num_clbits)
    if name in DYNAMIC:
        return
    # An independent simulator: Qiskit's state (little-endian) with the qubit axes reversed.
    qc.remove_final_measurements()
    n = qc.num_qubits
    theirs = np.asarray(QiskitStatevector(qc)).reshape((2,) * n).transpose(range(n - 1, -1, -1))
    assert qsim.simulate(c).equiv(theirs.ravel(), atol=1e-10)
