"""Qiskit Aer's density-matrix method as an oracle for noisy circuits (the ``dev`` extra).

The same random 5-qubit circuits and the same noise, converted with Qiskit's conventions: qubit q
of qsim is qubit q of Qiskit but bit q of Qiskit's basis index is the *least* significant (so the
density matrix's axes are reversed), and Qiskit's ``depolarizing_error(lam, k)`` is qsim's
``depolarizing(lam * (4**k - 1) / 4**k, k)``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import qsim
from qsim import Circuit
from qsim.noise import (
    NoiseModel,
    amplitude_damping,
    depolarizing,
    phase_damping,
    thermal_relaxation,
)

qiskit = pytest.importorskip("qiskit", reason="qiskit (dev extra) is not installed")
aer = pytest.importorskip("qiskit_aer", reason="qiskit-aer (dev extra) is not installed")

from qiskit_aer import AerSimulator  # noqa: E402
from qiskit_aer import noise as aer_noise  # noqa: E402

N = 5
ONE_QUBIT = ["h", "sx", "rx", "ry", "rz"]
TWO_QUBIT = ["cx", "cz"]


def random_pair(rng: np.random.Generator, depth: int) -> tuple[Circuit, object]:
    """The same random circuit for qsim and for Qiskit (gate by gate, same qubit numbers)."""
    c = Circuit(N)
    qc = qiskit.QuantumCircuit(N)
    for _ in range(depth):
        if rng.random() < 0.35:
            name = TWO_QUBIT[int(rng.integers(2))]
            a, b = (int(q) for q in rng.permutation(N)[:2])
            c.append(name, [a, b])
            getattr(qc, name)(a, b)
        else:
            name = ONE_QUBIT[int(rng.integers(len(ONE_QUBIT)))]
            q = int(rng.integers(N))
            ps = [float(rng.uniform(-3, 3))] if name[0] == "r" else []
            c.append(name, [q], ps)
            getattr(qc, name)(*ps, q)
    return c, qc


def models(p1: float, p2: float, gamma: float, lam: float, t: tuple[float, float, float]
           ) -> tuple[NoiseModel, object]:
    """Depolarizing on every gate (1- and 2-qubit), amplitude damping on every qubit of every
    gate, phase damping after h, thermal relaxation after sx: in qsim and in Aer."""
    ours = (NoiseModel()
            .add(depolarizing(p1), gates=ONE_QUBIT)
            .add(depolarizing(p2, qubits=2), gates=TWO_QUBIT)
            .add(amplitude_damping(gamma))
            .add(phase_damping(lam), gates=["h"])
            .add(thermal_relaxation(*t), gates=["sx"]))
    dep1 = aer_noise.depolarizing_error(p1 * 4 / 3, 1)
    dep2 = aer_noise.depolarizing_error(p2 * 16 / 15, 2)
    amp = aer_noise.amplitude_damping_error(gamma)
    theirs = aer_noise.NoiseModel()
    for g in ["rx", "ry", "rz"]:
        theirs.add_all_qubit_quantum_error(dep1.compose(amp), [g])
    theirs.add_all_qubit_quantum_error(dep1.compose(amp).compose(
        aer_noise.phase_damping_error(lam)), ["h"])
    theirs.add_all_qubit_quantum_error(dep1.compose(amp).compose(
        aer_noise.thermal_relaxation_error(*t)), ["sx"])
    theirs.add_all_qubit_quantum_error(dep2.compose(amp.tensor(amp)), TWO_QUBIT)
    return ours, theirs


def big_endian(rho: np.ndarray, n: int) -> np.ndarray:
    """A Qiskit (little-endian) density matrix in qsim's order: every qubit axis reversed."""
    t = np.asarray(rho).reshape((2,) * (2 * n))
    order = list(range(n - 1, -1, -1)) + list(range(2 * n - 1, n - 1, -1))
    return t.transpose(order).reshape(2**n, 2**n)


@pytest.mark.parametrize("seed", range(3))
def test_density_matrix_matches_aer(seed: int) -> None:
    rng = np.random.default_rng(40 + seed)
    c, qc = random_pair(rng, 40)
    ours, theirs = models(0.02, 0.05, 0.03, 0.04, (60.0, 40.0, 3.0))
    qc.save_density_matrix()
    sim = AerSimulator(method="density_matrix", noise_model=theirs)
    want = big_endian(sim.run(qc, shots=1).result().data()["density_matrix"], N)
    rho = qsim.simulate(c, noise=ours, backend="density")
    np.testing.assert_allclose(rho.data, want, atol=1e-9)
    np.testing.assert_allclose(rho.probabilities_array(), np.diagonal(want).real, atol=1e-9)
    assert rho.purity() < 0.9  # the noise did something


def test_readout_counts_follow_aer_readout_error() -> None:
    # Aer samples its readout error from the counts; ours is exact: chi-square of Aer's counts
    # against our distribution (both big-endian keys).
    rng = np.random.default_rng(7)
    c, qc = random_pair(rng, 20)
    ours, theirs = models(0.01, 0.03, 0.02, 0.0, (80.0, 60.0, 1.0))
    m = np.array([[0.93, 0.07], [0.12, 0.88]])
    ours.readout(m)
    theirs.add_all_qubit_readout_error(aer_noise.ReadoutError(m))
    qc.measure_all()
    shots = 40000
    counts = AerSimulator(method="density_matrix", noise_model=theirs).run(
        qc, shots=shots, seed_simulator=3).result().get_counts()
    counts = {k.replace(" ", "")[::-1]: v for k, v in counts.items()}  # Qiskit keys: c[0] right
    res = qsim.run(c.copy().measure_all(), shots=shots, seed=3, noise=ours, method="density")
    # Our exact readout distribution, from the density matrix and the confusion product.
    from qsim.engine.noisy import apply_readout

    p = apply_readout(qsim.simulate(c, noise=ours, backend="density").probabilities_array(),
                      list(range(N)), [m] * N)
    keys = [format(i, f"0{N}b") for i in range(2**N)]
    exp = p * shots
    for got in (counts, res.counts):
        obs = np.array([got.get(k, 0) for k in keys], dtype=float)
        assert stats.chisquare(obs, exp * obs.sum() / exp.sum()).pvalue > 1e-3


def test_a_qubit_read_twice_matches_aer() -> None:
    """A qubit measured into two clbits gets two independent readout draws, in Aer as here:
    the two runs' counts agree (a two-sample chi-square), and both differ from one shared draw
    (there the two bits never differ)."""
    m = np.array([[0.85, 0.15], [0.1, 0.9]])
    ours = NoiseModel().readout(m)
    theirs = aer_noise.NoiseModel()
    theirs.add_all_qubit_readout_error(aer_noise.ReadoutError(m))
    qc = qiskit.QuantumCircuit(2, 3)
    qc.ry(1.1, 0)
    qc.cx(0, 1)
    qc.measure([0, 0, 1], [0, 1, 2])
    c = Circuit(2, 3).ry(1.1, 0).cx(0, 1).measure([0, 0, 1], [0, 1, 2])
    shots = 40000
    counts = AerSimulator(method="density_matrix", noise_model=theirs).run(
        qc, shots=shots, seed_simulator=5).result().get_counts()
    counts = {k[::-1]: v for k, v in counts.items()}  # Qiskit keys: c[0] right
    res = qsim.run(c, shots=shots, seed=5, noise=ours)
    keys = [format(i, "03b") for i in range(8)]
    table = np.array([[got.get(k, 0) for k in keys] for got in (counts, res.counts)], float)
    table = table[:, table.sum(axis=0) > 0]
    assert stats.chi2_contingency(table)[1] > 1e-3
    assert res.counts.get("010", 0) > 0.02 * shots  # c0 = 0, c1 = 1: read differently
