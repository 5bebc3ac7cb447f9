"""simulate / run / Statevector: against the slow reference (products of embedded dense operators),
hand-derived distributions, and a chi-square test of the sampler."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import qsim
from qsim import Circuit, SimulationError, Statevector, embed, ket
from qsim.gates import GATES, gate_matrix

GATE_NAMES = sorted(GATES)


@st.composite
def random_circuits(draw, max_qubits=6):
    n = draw(st.integers(1, max_qubits))
    c = Circuit(n)
    ops = []
    for _ in range(draw(st.integers(0, 12))):
        name = draw(st.sampled_from(GATE_NAMES + ["unitary"]))
        if name == "unitary":
            k = draw(st.integers(1, min(2, n)))
            seed = draw(st.integers(0, 2**32 - 1))
            z = np.random.default_rng(seed).normal(size=(2**k, 2**k, 2)) @ [1, 1j]
            m, _ = np.linalg.qr(z)
            qs = draw(st.permutations(range(n)))[:k]
            c.unitary(m, qs)
            ops.append((m, qs))
            continue
        g = GATES[name]
        if g.num_qubits > n:
            continue
        qs = draw(st.permutations(range(n)))[: g.num_qubits]
        ps = [draw(st.floats(-4, 4)) for _ in range(g.num_params)]
        c.append(name, qs, ps)
        ops.append((gate_matrix(name, ps), qs))
    return c, ops


def reference_state(n, ops, start=None):
    psi = ket("0" * n) if start is None else start.copy()
    for m, qs in ops:
        psi = embed(m, qs, n) @ psi
    return psi


@settings(max_examples=120, deadline=None)
@given(random_circuits())
def test_simulate_equals_product_of_embedded_operators(case):
    c, ops = case
    out = qsim.simulate(c)
    np.testing.assert_allclose(out.data, reference_state(c.num_qubits, ops), atol=1e-10)


@settings(max_examples=30, deadline=None)
@given(random_circuits(max_qubits=4))
def test_single_precision_close(case):
    c, ops = case
    out = qsim.simulate(c, precision="single")
    assert out.data.dtype == np.complex64
    np.testing.assert_allclose(out.data, reference_state(c.num_qubits, ops), atol=2e-5)


def test_initial_state_and_probabilities():
    sv = qsim.simulate(Circuit(2).cx(0, 1), initial_state="10")
    assert sv.probabilities() == {"11": 1.0}
    sv = qsim.simulate(Circuit(2).h(0).cx(0, 1))
    assert sv.probabilities() == pytest.approx({"00": 0.5, "11": 0.5})
    assert sv.amplitude("11") == pytest.approx(1 / math.sqrt(2))
    assert sv.amplitude("01") == 0
    # marginal over qubit 1 only; and qubits in reversed order
    sv = qsim.simulate(Circuit(3).x(0).h(2))
    assert sv.probabilities([0]) == pytest.approx({"1": 1.0})
    assert sv.probabilities([2, 0]) == pytest.approx({"01": 0.5, "11": 0.5})
    np.testing.assert_allclose(sv.probabilities_array([1]), [1.0, 0.0])
    assert sv.probabilities(bit_order="little") == pytest.approx({"001": 0.5, "101": 0.5})


def test_statevector_algebra():
    bell = qsim.simulate(Circuit(2).h(0).cx(0, 1))
    zz = np.diag([1, -1, -1, 1])
    assert bell.expectation(zz) == pytest.approx(1.0)
    assert bell.expectation(np.diag([1, -1]), [1]) == pytest.approx(0.0)
    x = np.array([[0, 1], [1, 0]])
    assert qsim.simulate(Circuit(1).h(0)).expectation(x) == pytest.approx(1.0)
    other = Statevector(-1j * bell.data)
    assert bell.equiv(other) and bell != other
    assert bell.fidelity(other) == pytest.approx(1.0)
    assert bell.fidelity(Statevector(ket("01"))) == pytest.approx(0.0)
    assert bell == Statevector(qsim.bell("phi+"))


def test_terminal_measure_ignored_by_simulate():
    c = Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1])
    assert qsim.simulate(c).probabilities() == pytest.approx({"00": 0.5, "11": 0.5})


def test_run_counts_reproducible_and_sum():
    c = Circuit(2).h(0).cx(0, 1).measure_all()
    a = qsim.run(c, shots=1000, seed=7)
    b = qsim.run(c, shots=1000, seed=7)
    assert a.counts == b.counts
    assert set(a.counts) == {"00", "11"}
    assert sum(a.counts.values()) == 1000
    assert a.seed == 7
    r = qsim.run(c, shots=50, seed=3, memory=True)
    assert len(r.memory) == 50
    assert {k: r.memory.count(k) for k in set(r.memory)} == r.counts
    assert qsim.run(c, shots=10).seed is not None  # a fresh seed is reported


def test_bit_order_and_register_layout():
    # x on q0 and q2; c[0] <- q0, c[1] <- q1, d[0] <- q2
    c = Circuit(3)
    c.add_creg("c", 2)
    c.add_creg("d", 1)
    c.x(0).x(2).measure([0, 1, 2], [0, 1, 2])
    assert qsim.run(c, shots=5, seed=1).counts == {"10 1": 5}
    assert qsim.run(c, shots=5, seed=1, bit_order="little").counts == {"1 01": 5}
    # crossed indices, an unused bit, one qubit into two bits
    c = Circuit(2, 3).x(1).measure(1, 0).measure(1, 2)
    assert qsim.run(c, shots=4, seed=0).counts == {"101": 4}


def test_implicit_measurement():
    r = qsim.run(Circuit(3).x(1), shots=10, seed=0)
    assert r.implicit_measurement
    assert r.counts == {"010": 10}


def test_chi_square_against_known_distribution():
    # ry(θ) on each of two qubits: P(ab) = Π p_i, p(1) = sin²(θ/2), derived by hand.
    t0, t1 = 1.0, 2.2
    p1 = [math.sin(t0 / 2) ** 2, math.sin(t1 / 2) ** 2]
    expected = {f"{a}{b}": (p1[0] if a else 1 - p1[0]) * (p1[1] if b else 1 - p1[1])
                for a in (0, 1) for b in (0, 1)}
    shots = 20000
    counts = qsim.run(Circuit(2).ry(t0, 0).ry(t1, 1).measure_all(), shots=shots, seed=11).counts
    chi2 = sum((counts.get(k, 0) - shots * p) ** 2 / (shots * p) for k, p in expected.items())
    assert chi2 < 16.27  # 99.9% quantile of chi-square with 3 degrees of freedom


def test_sample_from_statevector():
    sv = qsim.simulate(Circuit(3).x(2).h(0))
    counts = sv.sample(400, seed=2)
    assert set(counts) == {"001", "101"}
    assert sum(counts.values()) == 400
    assert sv.sample(400, seed=2) == counts
    assert sv.sample(10, seed=2, qubits=[2]) == {"1": 10}


def test_memory_refused_before_allocating():
    with pytest.raises(SimulationError) as err:
        qsim.simulate(Circuit(40))
    msg = str(err.value)
    assert "16.0 TiB" in msg and "17,592,186,044,416 bytes" in msg
    assert err.value.bytes_needed == 16 * 2**40
    with pytest.raises(SimulationError, match="limit"):
        qsim.simulate(Circuit(10), max_memory=1000)  # needs 16 KiB
    with pytest.raises(SimulationError, match="2\\^1004 bytes"):
        qsim.run(Circuit(1000).h(0), shots=1)


def test_bad_arguments():
    with pytest.raises(SimulationError, match="shots"):
        qsim.run(Circuit(1), shots=0)
    with pytest.raises(SimulationError, match="backend"):
        qsim.simulate(Circuit(1), backend="nope")
    with pytest.raises(SimulationError, match="precision"):
        qsim.simulate(Circuit(1), precision="half")
    with pytest.raises(ValueError, match="bit_order"):
        qsim.run(Circuit(1), bit_order="middle")
