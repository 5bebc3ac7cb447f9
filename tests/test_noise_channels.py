"""Noise channels against closed forms, textbook identities and Qiskit Aer's errors (as an oracle).

Every expected value is computed independently of qsim.noise: by hand (populations and coherences
of one qubit), from the Kraus sum written out here, or from Qiskit's ``Choi`` of Aer's errors.
"""

from __future__ import annotations

import itertools
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import qsim
from qsim import CircuitError
from qsim.noise import (
    Channel,
    amplitude_damping,
    bit_flip,
    bit_phase_flip,
    depolarizing,
    kraus_channel,
    pauli_channel,
    phase_damping,
    phase_flip,
    reset_error,
    thermal_relaxation,
)

I2 = np.eye(2)
X = np.array([[0, 1], [1, 0]], dtype=complex)
Y = np.array([[0, -1j], [1j, 0]])
Z = np.diag([1.0, -1.0]).astype(complex)
PAULI = {"I": I2, "X": X, "Y": Y, "Z": Z}
RHO0 = np.diag([1.0, 0.0]).astype(complex)
RHO1 = np.diag([0.0, 1.0]).astype(complex)
PLUS = np.full((2, 2), 0.5, dtype=complex)


def kraus_sum(ops, rho):
    """The map written out, independently of Channel.apply_to_density."""
    return sum(k @ rho @ k.conj().T for k in ops)


def random_density(n, rng):
    a = rng.normal(size=(2**n, 2**n)) + 1j * rng.normal(size=(2**n, 2**n))
    rho = a @ a.conj().T
    return rho / np.trace(rho)


def builtins_at(x):
    """Every built-in channel at a parameter value x in [0, 1]."""
    return [
        depolarizing(x), depolarizing(x, 2), depolarizing(x, 3), bit_flip(x), phase_flip(x),
        bit_phase_flip(x), pauli_channel({"X": x / 3, "Y": x / 4, "Z": x / 5}),
        pauli_channel({"XZ": x / 2, "IY": x / 3}),
        amplitude_damping(x), amplitude_damping(x, excited_population=0.3), phase_damping(x),
        thermal_relaxation(10.0, 15.0, 10 * x), thermal_relaxation(10.0, 5.0, 10 * x, 0.2),
        thermal_relaxation(math.inf, 7.0, 10 * x), reset_error(x / 2, x / 3),
    ]


def assert_cptp(ch: Channel):
    d = ch.dim
    total = sum(k.conj().T @ k for k in ch.kraus)
    np.testing.assert_allclose(total, np.eye(d), atol=1e-12)
    choi = ch.choi()
    np.testing.assert_allclose(choi, choi.conj().T, atol=1e-12)
    assert np.linalg.eigvalsh(choi).min() >= -1e-12
    # trace preservation as the Choi partial trace over the output: tr_out(Choi) = I.
    np.testing.assert_allclose(np.einsum("iojo->ij", choi.reshape(d, d, d, d)), np.eye(d),
                               atol=1e-12)


# --- analytic values ------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [0.0, 0.01, 0.3, 0.75, 1.0])
def test_depolarizing_on_zero_gives_two_thirds_p(p):
    out = depolarizing(p).apply_to_density(RHO0)
    assert out[1, 1].real == pytest.approx(2 * p / 3, abs=1e-15)
    assert np.trace(out).real == pytest.approx(1.0, abs=1e-15)


def test_depolarizing_three_quarters_is_fully_mixing():
    rng = np.random.default_rng(1)
    for k in (1, 2):
        p = (4**k - 1) / 4**k
        rho = random_density(k, rng)
        np.testing.assert_allclose(depolarizing(p, k).apply_to_density(rho),
                                   np.eye(2**k) / 2**k, atol=1e-14)


def test_two_qubit_depolarizing_is_the_pauli_sum():
    rng = np.random.default_rng(2)
    rho = random_density(2, rng)
    p = 0.2
    expected = (1 - p) * rho
    for a, b in itertools.product("IXYZ", repeat=2):
        if a + b != "II":
            pp = np.kron(PAULI[a], PAULI[b])
            expected = expected + p / 15 * pp @ rho @ pp
    np.testing.assert_allclose(depolarizing(p, 2).apply_to_density(rho), expected, atol=1e-14)
    assert len(depolarizing(p, 2).kraus) == 16
    # on |00>: qubit 0 flips when its Pauli is X or Y: 8 of the 15 strings.
    out = depolarizing(p, 2).apply_to_density(np.diag([1.0, 0, 0, 0]))
    assert out[2, 2].real + out[3, 3].real == pytest.approx(8 * p / 15, abs=1e-15)


@pytest.mark.parametrize("gamma", [0.0, 0.02, 0.5, 1.0])
def test_amplitude_damping_on_one(gamma):
    out = amplitude_damping(gamma).apply_to_density(RHO1)
    assert out[1, 1].real == pytest.approx(1 - gamma, abs=1e-15)
    assert out[0, 0].real == pytest.approx(gamma, abs=1e-15)
    # coherence shrinks by sqrt(1 - gamma)
    assert amplitude_damping(gamma).apply_to_density(PLUS)[0, 1].real == pytest.approx(
        0.5 * math.sqrt(1 - gamma), abs=1e-15)


def test_generalised_amplitude_damping_fixed_point():
    # gamma = 1 sends any state to the thermal state diag(1 - p1, p1).
    for rho in (RHO0, RHO1, PLUS):
        np.testing.assert_allclose(amplitude_damping(1.0, 0.25).apply_to_density(rho),
                                   np.diag([0.75, 0.25]), atol=1e-15)


def test_phase_damping_keeps_populations():
    lam = 0.36
    out = phase_damping(lam).apply_to_density(PLUS)
    np.testing.assert_allclose(np.diag(out).real, [0.5, 0.5], atol=1e-15)
    assert out[0, 1].real == pytest.approx(0.5 * 0.8, abs=1e-15)   # sqrt(1 - 0.36) = 0.8


def test_flips():
    p = 0.3
    assert bit_flip(p).apply_to_density(RHO0)[1, 1].real == pytest.approx(p)
    assert bit_phase_flip(p).apply_to_density(RHO0)[1, 1].real == pytest.approx(p)
    assert phase_flip(p).apply_to_density(RHO0)[1, 1].real == pytest.approx(0.0, abs=1e-15)
    assert phase_flip(p).apply_to_density(PLUS)[0, 1].real == pytest.approx(0.5 * (1 - 2 * p))
    # Y flip on |+>: Y|+> = -i|->, so the coherence changes sign with probability p.
    assert bit_phase_flip(p).apply_to_density(PLUS)[0, 1].real == pytest.approx(0.5 * (1 - 2 * p))


T1, T2 = 50.0, 30.0


@pytest.mark.parametrize("t", [0.0, 1.0, 10.0, 50.0, 200.0])
def test_thermal_relaxation_decay_curves(t):
    ch = thermal_relaxation(T1, T2, t)
    assert ch.apply_to_density(RHO1)[1, 1].real == pytest.approx(math.exp(-t / T1), abs=1e-12)
    assert abs(ch.apply_to_density(PLUS)[0, 1]) == pytest.approx(0.5 * math.exp(-t / T2),
                                                                 abs=1e-12)
    # T2 > T1 (allowed up to 2 T1): a Choi matrix that is not a unitary-plus-reset mixture.
    ch = thermal_relaxation(T1, 90.0, t)
    assert ch.apply_to_density(RHO1)[1, 1].real == pytest.approx(math.exp(-t / T1), abs=1e-12)
    assert abs(ch.apply_to_density(PLUS)[0, 1]) == pytest.approx(0.5 * math.exp(-t / 90.0),
                                                                 abs=1e-12)


def test_thermal_relaxation_towards_excited_population():
    t, p1 = 40.0, 0.1
    out = thermal_relaxation(T1, T2, t, p1).apply_to_density(RHO0)
    assert out[1, 1].real == pytest.approx(p1 * (1 - math.exp(-t / T1)), abs=1e-12)


def test_thermal_relaxation_composes_over_time():
    # E(t1) then E(t2) is E(t1 + t2): the semigroup property of the closed forms.
    a, b = thermal_relaxation(T1, T2, 7.0), thermal_relaxation(T1, T2, 11.0)
    assert a.compose(b).equivalent(thermal_relaxation(T1, T2, 18.0), atol=1e-12)


def test_reset_error():
    out = reset_error(0.2, 0.3).apply_to_density(PLUS)
    np.testing.assert_allclose(out, 0.5 * PLUS + 0.2 * RHO0 + 0.3 * RHO1, atol=1e-15)


def test_pauli_channel_strings_and_identity_rest():
    rng = np.random.default_rng(3)
    rho = random_density(2, rng)
    ch = pauli_channel({"XZ": 0.1, "iy": 0.2})
    xz, iy = np.kron(X, Z), np.kron(I2, Y)
    expected = 0.7 * rho + 0.1 * xz @ rho @ xz + 0.2 * iy @ rho @ iy
    np.testing.assert_allclose(ch.apply_to_density(rho), expected, atol=1e-14)
    with_identity = pauli_channel({"I": 0.5, "X": 0.5})
    assert with_identity.equivalent(bit_flip(0.5))


# --- CPTP everywhere ------------------------------------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(st.floats(0.0, 1.0))
def test_every_builtin_is_cptp(x):
    for ch in builtins_at(x):
        assert_cptp(ch)


@pytest.mark.parametrize("x", [0.0, 1e-6, 0.5, 1.0])
def test_every_builtin_is_cptp_at_the_edges(x):
    for ch in builtins_at(x):
        assert_cptp(ch)


def test_superoperator_equals_kraus_sum():
    rng = np.random.default_rng(4)
    for ch in builtins_at(0.37):
        rho = random_density(ch.num_qubits, rng)
        s = ch.superoperator()
        assert s.shape == (4**ch.num_qubits,) * 2
        assert type(s).__name__ == "csr_matrix"
        out = (s @ rho.reshape(-1)).reshape(rho.shape)     # row-major vec
        np.testing.assert_allclose(out, kraus_sum(ch.kraus, rho), atol=1e-13)
        np.testing.assert_allclose(ch.apply_to_density(rho), kraus_sum(ch.kraus, rho),
                                   atol=1e-14)


def test_choi_is_the_map_on_matrix_units():
    rng = np.random.default_rng(5)
    ch = thermal_relaxation(T1, 70.0, 13.0, 0.1)
    choi = ch.choi()
    for i, j in itertools.product(range(2), repeat=2):
        unit = np.zeros((2, 2))
        unit[i, j] = 1
        np.testing.assert_allclose(choi[2 * i:2 * i + 2, 2 * j:2 * j + 2],
                                   kraus_sum(ch.kraus, unit), atol=1e-14)
    # and a channel rebuilt from its Choi matrix is the same map, with at most d^2 operators
    back = Channel.from_choi(choi)
    rho = random_density(1, rng)
    np.testing.assert_allclose(back.apply_to_density(rho), ch.apply_to_density(rho), atol=1e-13)
    assert len(back.kraus) <= 4


# --- tensor and compose ---------------------------------------------------------------------------
def test_tensor_of_one_qubit_channels():
    rng = np.random.default_rng(6)
    a, b = amplitude_damping(0.3), depolarizing(0.2)
    ab = a.tensor(b)
    assert ab.num_qubits == 2
    assert len(ab.kraus) == len(a.kraus) * len(b.kraus) == 8
    ra, rb = random_density(1, rng), random_density(1, rng)
    out = ab.apply_to_density(np.kron(ra, rb))
    np.testing.assert_allclose(out, np.kron(kraus_sum(a.kraus, ra), kraus_sum(b.kraus, rb)),
                               atol=1e-14)
    # reduced states: qubit 0 (leftmost factor) saw a, qubit 1 saw b
    t = out.reshape(2, 2, 2, 2)
    np.testing.assert_allclose(np.einsum("ijkj->ik", t), kraus_sum(a.kraus, ra), atol=1e-14)
    np.testing.assert_allclose(np.einsum("ijil->jl", t), kraus_sum(b.kraus, rb), atol=1e-14)
    # equal to the channels applied one after the other on their own qubits
    rho = random_density(2, rng)
    step = b.apply_to_density(a.apply_to_density(rho, qubits=[0]), qubits=[1])
    np.testing.assert_allclose(ab.apply_to_density(rho), step, atol=1e-14)
    assert_cptp(a.tensor(b, phase_flip(0.1)))


def test_tensor_of_depolarizing_is_not_two_qubit_depolarizing():
    # the 2-qubit depolarizing channel is not the product of two 1-qubit ones (Kraus count 16
    # in both, different maps), a common confusion worth pinning down
    assert not depolarizing(0.1).tensor(depolarizing(0.1)).equivalent(depolarizing(0.1, 2))


def test_compose_is_after_then_self():
    rng = np.random.default_rng(7)
    a, b = amplitude_damping(0.4), bit_flip(0.3)
    rho = random_density(1, rng)
    np.testing.assert_allclose(a.compose(b).apply_to_density(rho),
                               kraus_sum(b.kraus, kraus_sum(a.kraus, rho)), atol=1e-14)
    assert not a.compose(b).equivalent(b.compose(a))
    with pytest.raises(CircuitError, match="2-qubit channel cannot follow a 1-qubit"):
        a.compose(depolarizing(0.1, 2))


# --- mixtures -------------------------------------------------------------------------------------
def test_mixture_of_pauli_channels():
    mix = depolarizing(0.3).mixture
    assert mix is not None
    probs = [p for p, _ in mix]
    np.testing.assert_allclose(probs, [0.7, 0.1, 0.1, 0.1], atol=1e-15)
    np.testing.assert_allclose(mix[0][1], I2, atol=1e-15)
    for _, u in mix:
        np.testing.assert_allclose(u @ u.conj().T, I2, atol=1e-14)
    mix2 = depolarizing(0.3, 2).mixture
    assert mix2 is not None and len(mix2) == 16
    assert sum(p for p, _ in mix2) == pytest.approx(1.0)
    assert mix2[0][0] == pytest.approx(0.7) and mix2[1][0] == pytest.approx(0.02)
    pc = pauli_channel({"X": 0.05, "Z": 0.15}).mixture
    assert pc is not None
    assert [round(p, 12) for p, _ in pc] == [0.8, 0.15, 0.05]
    np.testing.assert_allclose(pc[1][1], Z)
    # the mixture reproduces the channel
    rng = np.random.default_rng(8)
    rho = random_density(1, rng)
    np.testing.assert_allclose(sum(p * u @ rho @ u.conj().T for p, u in pc),
                               pauli_channel({"X": 0.05, "Z": 0.15}).apply_to_density(rho),
                               atol=1e-14)


def test_mixture_merges_equal_unitaries():
    # bit flip p then bit flip q: X with probability p(1-q) + q(1-p), I with the rest;
    # the composed Kraus list has 4 operators, two of them proportional to I and two to X
    p, q = 0.1, 0.3
    composed = bit_flip(p).compose(bit_flip(q))
    assert len(composed.kraus) == 4
    mix = composed.mixture
    assert mix is not None and len(mix) == 2
    assert mix[1][0] == pytest.approx(p * (1 - q) + q * (1 - p), abs=1e-15)
    assert abs(np.vdot(mix[1][1], X)) == pytest.approx(2.0)


def test_unital_generalised_damping_is_a_pauli_mixture():
    # at excited population 1/2 generalised amplitude damping is unital, hence (one qubit) a
    # Pauli mixture: found from the chi matrix although no Kraus operator is unitary
    ch = amplitude_damping(0.1, excited_population=0.5)
    mix = ch.mixture
    assert mix is not None
    assert kraus_channel([math.sqrt(p) * u for p, u in mix]).equivalent(ch, atol=1e-12)


def test_phase_damping_is_found_to_be_a_z_mixture():
    lam = 0.19
    mix = phase_damping(lam).mixture
    assert mix is not None and len(mix) == 2
    pz = (1 - math.sqrt(1 - lam)) / 2
    assert mix[1][0] == pytest.approx(pz, abs=1e-14)
    np.testing.assert_allclose(mix[1][1], Z, atol=1e-14)
    assert phase_damping(lam).equivalent(phase_flip(pz))
    # pure dephasing (T1 infinite) as well
    assert thermal_relaxation(math.inf, 10.0, 3.0).mixture is not None


@pytest.mark.parametrize("ch", [amplitude_damping(0.1), reset_error(0.1),
                                thermal_relaxation(10.0, 12.0, 1.0),
                                amplitude_damping(0.1, excited_population=0.3)],
                         ids=repr)
def test_non_unitary_channels_have_no_mixture(ch):
    assert ch.mixture is None


# --- validation -----------------------------------------------------------------------------------
def test_non_cptp_kraus_list_is_refused():
    with pytest.raises(CircuitError, match=r"not trace preserving.*0\.2"):
        kraus_channel([np.sqrt(0.8) * I2, np.sqrt(0.4) * X])
    with pytest.raises(CircuitError, match="same shape"):
        kraus_channel([I2, np.eye(4)])
    with pytest.raises(CircuitError, match=r"2\*\*k x 2\*\*k"):
        kraus_channel([np.eye(3)])
    with pytest.raises(CircuitError, match="non-finite"):
        kraus_channel([[[np.nan, 0], [0, 1]]])
    with pytest.raises(CircuitError, match="at least one"):
        kraus_channel([])
    # a user's Kraus list that is CPTP is accepted, zero operators dropped
    ch = kraus_channel([np.sqrt(0.9) * I2, np.sqrt(0.1) * Y, np.zeros((2, 2))], name="my_y")
    assert len(ch.kraus) == 2 and ch.name == "my_y"
    assert ch.kraus[0].flags.writeable is False


@pytest.mark.parametrize("make, field", [
    (lambda: depolarizing(1.5), "depolarizing: p"),
    (lambda: depolarizing(-0.1), "depolarizing: p"),
    (lambda: depolarizing(0.1, 0), "depolarizing: qubits"),
    (lambda: bit_flip("x"), "bit_flip: p"),
    (lambda: phase_flip(float("nan")), "phase_flip: p"),
    (lambda: amplitude_damping(2), "amplitude_damping: gamma"),
    (lambda: phase_damping(True), "phase_damping: lam"),
    (lambda: thermal_relaxation(10, 25, 1), "t2 must be <= 2\\*t1"),
    (lambda: thermal_relaxation(10, 5, -1), "thermal_relaxation: time"),
    (lambda: thermal_relaxation(0, 5, 1), "thermal_relaxation: t1"),
    (lambda: reset_error(0.6, 0.6), "p0 \\+ p1"),
    (lambda: pauli_channel({"X": 0.7, "Z": 0.5}), "add up to 1.2"),
    (lambda: pauli_channel({"XQ": 0.1}), "not a Pauli string"),
    (lambda: pauli_channel({"X": 0.1, "ZZ": 0.1}), "same qubits"),
])
def test_parameter_errors_are_one_line_and_name_the_parameter(make, field):
    with pytest.raises(CircuitError, match=field) as info:
        make()
    assert "\n" not in str(info.value)


def test_repr():
    assert repr(depolarizing(0.01)) == "Channel(depolarizing, p=0.01, 1 qubit, 4 Kraus operators)"
    assert repr(depolarizing(0.01, 2)).endswith("2 qubits, 16 Kraus operators)")


def test_public_names_and_no_heavy_imports():
    for name in ("Channel", "NoiseModel", "depolarizing", "bit_flip", "phase_flip",
                 "bit_phase_flip", "pauli_channel", "amplitude_damping", "phase_damping",
                 "thermal_relaxation", "reset_error", "kraus_channel"):
        assert getattr(qsim, name) is getattr(qsim.noise, name)
        assert name in qsim.__all__
    code = ("import sys, qsim.noise; "
            "print(sorted(m for m in ('scipy', 'matplotlib', 'click') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- Qiskit Aer as an oracle ----------------------------------------------------------------------
def _reverse_bits(n):
    return np.array([int(format(i, f"0{n}b")[::-1], 2) for i in range(2**n)])


def qiskit_choi(error):
    from qiskit.quantum_info import Choi

    return np.asarray(Choi(error.to_quantumchannel()).data)


def ours_in_qiskit_order(ch: Channel):
    """Our channel's Choi matrix with the qubits reversed (Qiskit is little-endian)."""
    perm = _reverse_bits(ch.num_qubits)
    return Channel([k[np.ix_(perm, perm)] for k in ch.kraus]).choi()


def test_against_qiskit_aer_errors():
    noise = pytest.importorskip("qiskit_aer.noise")
    cases = [
        (thermal_relaxation(50.0, 30.0, 7.0), noise.thermal_relaxation_error(50.0, 30.0, 7.0)),
        (thermal_relaxation(50.0, 80.0, 7.0), noise.thermal_relaxation_error(50.0, 80.0, 7.0)),
        (thermal_relaxation(50.0, 30.0, 7.0, 0.2),
         noise.thermal_relaxation_error(50.0, 30.0, 7.0, excited_state_population=0.2)),
        (amplitude_damping(0.13), noise.amplitude_damping_error(0.13)),
        (amplitude_damping(0.13, 0.3),
         noise.amplitude_damping_error(0.13, excited_state_population=0.3)),
        (phase_damping(0.21), noise.phase_damping_error(0.21)),
        (reset_error(0.1, 0.05), noise.reset_error(0.1, 0.05)),
        (bit_flip(0.07), noise.pauli_error([("X", 0.07), ("I", 0.93)])),
        (pauli_channel({"XZ": 0.1, "IY": 0.05}),     # qubit 0 leftmost here, rightmost in Qiskit
         noise.pauli_error([("ZX", 0.1), ("YI", 0.05), ("II", 0.85)])),
    ]
    for lam, k in ((0.02, 1), (0.3, 1), (0.05, 2)):
        cases.append((depolarizing(lam * (4**k - 1) / 4**k, k), noise.depolarizing_error(lam, k)))
    # bit order: our a.tensor(b) has a on qubit 0, which Qiskit writes b.tensor(a)
    a, b = amplitude_damping(0.2), phase_damping(0.3)
    cases.append((a.tensor(b), noise.phase_damping_error(0.3).tensor(
        noise.amplitude_damping_error(0.2))))
    for ours, theirs in cases:
        np.testing.assert_allclose(ours_in_qiskit_order(ours), qiskit_choi(theirs), atol=1e-12,
                                   err_msg=repr(ours))
