"""Noisy shots on the state vector (``qsim.run(..., noise=..., method="trajectories")``): the
shot-branching walker splits shots over Kraus outcomes. Checked by chi-square against the exact
distribution of the density matrix (a different backend and a different algorithm), and for the
structure of the walk (branches, determinism)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import qsim
from qsim import Circuit, SimulationError
from qsim.noise import (
    NoiseModel,
    amplitude_damping,
    bit_flip,
    depolarizing,
    kraus_channel,
    pauli_channel,
    phase_damping,
)

SHOTS = 20000


def exact(circuit: Circuit, noise: NoiseModel) -> dict[str, float]:
    """Outcome probabilities of measuring every qubit, from the density matrix."""
    return qsim.simulate(circuit, noise=noise, backend="density").probabilities(threshold=0)


def chi2_p(counts: dict[str, int], probs: dict[str, float]) -> float:
    keys = sorted(set(probs) | set(counts))
    obs = np.array([counts.get(k, 0) for k in keys], dtype=float)
    exp = np.array([probs.get(k, 0.0) for k in keys])
    assert not np.any((exp < 1e-15) & (obs > 0)), "an outcome of probability 0 was drawn"
    keep = exp > 1e-15
    exp = exp[keep] / exp[keep].sum() * obs.sum()
    return float(stats.chisquare(obs[keep], exp).pvalue)


def random_circuit(rng: np.random.Generator, n: int, depth: int) -> Circuit:
    c = Circuit(n)
    for _ in range(depth):
        for q in range(n):
            c.append(["rx", "ry", "rz"][int(rng.integers(3))], [q], [float(rng.uniform(0, 3))])
        for q in range(int(rng.integers(2)), n - 1, 2):
            c.cx(q, q + 1)
    return c


def rotated_damping(gamma: float, theta: float) -> object:
    """Amplitude damping in a rotated basis: its K^dagger K are not diagonal, so the walker
    reads the outcome probabilities from copies of the state."""
    r = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    return kraus_channel([r @ k @ r.T for k in amplitude_damping(gamma).kraus])


MODELS = {
    "depolarizing": lambda: (NoiseModel().add(depolarizing(0.03))
                             .add(depolarizing(0.05, qubits=2), gates=["cx"])),
    "pauli+damping": lambda: (NoiseModel().add(pauli_channel({"X": 0.02, "Z": 0.05}))
                              .add(amplitude_damping(0.04)).add(phase_damping(0.03),
                                                                gates=["cx"])),
    "general kraus": lambda: NoiseModel().add(rotated_damping(0.1, 0.6), gates=["ry", "cx"]),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_noisy_shots_follow_the_density_matrix(name: str) -> None:
    noise = MODELS[name]()
    c = random_circuit(np.random.default_rng(7), 4, 3)
    want = exact(c, noise)
    # Damping after every gate branches on most shots (state-dependent outcomes): fewer shots.
    shots = 10000 if name == "depolarizing" else 2000
    res = qsim.run(c, shots=shots, seed=21, noise=noise, method="trajectories")
    assert res.backend == "statevector" and res.noise is noise
    assert chi2_p(res.counts, want) > 1e-3
    assert 1 < res.branches <= shots
    # Same seed, same counts; the density route samples the same exact distribution.
    assert qsim.run(c, shots=shots, seed=21, noise=noise, method="trajectories").counts == \
        res.counts
    dens = qsim.run(c, shots=SHOTS, seed=22, noise=noise, method="density")
    assert dens.backend == "density" and dens.branches == 1
    assert chi2_p(dens.counts, want) > 1e-3


def test_branches_grow_with_error_patterns_not_shots() -> None:
    c = random_circuit(np.random.default_rng(3), 5, 4)
    none = NoiseModel().add(depolarizing(0.0))
    res = qsim.run(c, shots=100000, seed=1, noise=none, method="trajectories")
    assert res.branches == 1                      # no error ever drawn: one simulation
    rare = NoiseModel().add(bit_flip(1e-4))
    res = qsim.run(c, shots=100000, seed=1, noise=rare, method="trajectories")
    channels = sum(len(ins.qubits) for ins in c.instructions) + c.num_qubits  # measure_all
    # Each error splits off at most one new branch; about shots * channels * 1e-4 occur.
    expected = 100000 * (1 - (1 - 1e-4) ** channels)
    assert res.branches <= 1 + expected + 6 * np.sqrt(expected)
    assert sum(res.counts.values()) == 100000


def test_mid_circuit_measure_reset_and_if_with_noise_agree_on_both_routes() -> None:
    c = Circuit(3)
    c.add_creg("m", 1)
    c.add_creg("out", 2)
    c.h(0).cx(0, 1).measure(0, 0).reset(0)
    c.x(2).c_if("m", 1)
    c.ry(0.8, 0).cx(1, 2).measure(1, 1).measure(2, 2)
    noise = (NoiseModel().add(depolarizing(0.06, qubits=2), gates=["cx"])
             .add(amplitude_damping(0.1)).readout(0.05))
    a = qsim.run(c, shots=SHOTS, seed=3, noise=noise, method="trajectories")
    b = qsim.run(c, shots=SHOTS, seed=4, noise=noise, method="density")
    assert (a.backend, b.backend) == ("statevector", "density")
    keys = sorted(set(a.counts) | set(b.counts))
    table = np.array([[a.counts.get(k, 0) for k in keys], [b.counts.get(k, 0) for k in keys]])
    assert stats.chi2_contingency(table).pvalue > 1e-3


@pytest.mark.parametrize("method", ["density", "trajectories"])
def test_mid_circuit_readout_flips_the_record_not_the_state(method: str) -> None:
    # q0 measured mid-circuit with readout error f, then copied to q1 (no readout error): c1 is
    # the true outcome, so c0 != c1 exactly when the record flipped (probability f).
    f = 0.2
    c = Circuit(2, 2).h(0).measure(0, 0).cx(0, 1).measure(1, 1)
    noise = NoiseModel().readout(f, qubits=[0])
    res = qsim.run(c, shots=SHOTS, seed=8, noise=noise, method=method)
    want = {"00": 0.5 * (1 - f), "11": 0.5 * (1 - f), "10": 0.5 * f, "01": 0.5 * f}
    assert chi2_p(res.counts, want) > 1e-3


def test_simulate_with_noise_on_the_state_vector_is_one_trajectory() -> None:
    c = Circuit(2).h(0).cx(0, 1)
    noise = NoiseModel().add(depolarizing(0.5))
    states = [qsim.simulate(c, noise=noise, seed=s) for s in range(40)]
    assert all(abs(s.norm() - 1) < 1e-12 for s in states)
    assert qsim.simulate(c, noise=noise, seed=3) == states[3]
    # The average of the trajectories' projectors tends to the density matrix.
    avg = np.mean([np.outer(s.data, s.data.conj()) for s in states], axis=0)
    rho = qsim.simulate(c, noise=noise, backend="density").data
    assert np.abs(avg - rho).max() < 0.25


def test_method_choice_and_errors() -> None:
    noise = NoiseModel().add(depolarizing(1e-3))
    small = Circuit(3).h(0).cx(0, 1).measure_all()
    assert qsim.run(small, shots=1000, seed=1, noise=noise).backend == "density"
    big = Circuit(14)
    for q in range(13):
        big.cx(q, q + 1)
    big.measure_all()
    # 2**14 amplitudes against ~ 1000 * (1 - exp(-0.04)) branches: noisy shots.
    assert qsim.run(big, shots=1000, seed=1, noise=noise).backend == "statevector"
    assert qsim.run(big, shots=10, seed=1, noise=noise, backend="sparse").backend == "sparse"
    with pytest.raises(SimulationError, match="method must be one of"):
        qsim.run(small, noise=noise, method="exact")
    with pytest.raises(SimulationError, match="needs a state-vector backend"):
        qsim.run(small, noise=noise, method="trajectories", backend="density")
    with pytest.raises(SimulationError, match="noise must be a qsim.NoiseModel"):
        qsim.run(small, noise="depolarizing")


@pytest.mark.parametrize(("n", "q"), [(1, 0.01), (5, 0.02), (40, 0.003), (30, 0.2)])
def test_truncated_binomial_is_the_conditional_law(n: int, q: float) -> None:
    # The walker's "first channel where some shot errs" step draws the number of erring shots
    # from Binomial(n, q) given >= 1: checked against that law computed from scipy.
    from qsim.engine.noisy import truncated_binomial

    rng = np.random.default_rng(n)
    draws = np.array([truncated_binomial(rng, n, q) for _ in range(20000)])
    assert draws.min() >= 1
    ks = np.arange(1, n + 1)
    law = stats.binom.pmf(ks, n, q) / (1 - stats.binom.pmf(0, n, q))
    big = law * draws.size > 5   # pool the tail into the last kept cell
    obs = np.array([np.sum(draws == k) for k in ks[big]] + [np.sum(draws > ks[big][-1])])
    exp = np.concatenate([law[big], [law[~big].sum()]]) * draws.size
    if exp[-1] < 1e-9:
        obs, exp = obs[:-1], exp[:-1]
    if obs.size == 1:  # one shot: exactly one error
        assert np.all(draws == 1)
        return
    assert stats.chisquare(obs, exp * obs.sum() / exp.sum()).pvalue > 1e-3


def test_idle_noise_on_noisy_shots_follows_the_density_matrix() -> None:
    c = random_circuit(np.random.default_rng(9), 4, 2)
    c.h(0).cx(0, 1).x(3)                       # uneven layers: qubits 2 and 3 wait
    noise = NoiseModel().idle(amplitude_damping(0.15)).add(depolarizing(0.02), gates=["cx"])
    want = exact(c, noise)
    res = qsim.run(c, shots=3000, seed=5, noise=noise, method="trajectories")
    assert chi2_p(res.counts, want) > 1e-3


@pytest.mark.parametrize("seed", range(4))
def test_general_channel_outcome_probabilities_are_the_kraus_norms(seed: int) -> None:
    # p_i = ||K_i psi||^2 / ||psi||^2, computed here with embed(K_i) @ psi; the walker reads it
    # from one scratch copy rotated into each K_i^dagger K_i's eigenbasis
    from qsim.backends.dense import DenseState
    from qsim.compile.lower import ChannelOp
    from qsim.engine.noisy import prepare_channel
    from qsim.kron import embed

    rng = np.random.default_rng(seed)
    n = 4
    ch = rotated_damping(0.3, 0.6).tensor(rotated_damping(0.2, 1.1))
    qubits = tuple(int(q) for q in rng.choice(n, size=2, replace=False))
    psi = rng.normal(size=1 << n) + 1j * rng.normal(size=1 << n)
    psi *= 0.7 / np.linalg.norm(psi)                # unnormalised, as a branch's state may be
    state = DenseState.allocate(n, np.complex128, psi)
    prepared = prepare_channel(DenseState, ChannelOp(ch, qubits, None), n)
    assert prepared.diag is None and prepared.probs is None     # the rotated path
    want = np.array([np.linalg.norm(embed(k, list(qubits), n) @ psi) ** 2 for k in ch.kraus])
    np.testing.assert_allclose(prepared.probabilities(state), want / want.sum(), atol=1e-12)
    np.testing.assert_array_equal(state.data, psi)   # the state itself is not touched
