"""The density-matrix backend (``backend="density"``), ``qsim.DensityMatrix`` and noise applied
when lowering, checked against values derived independently: |psi><psi| of the state vector, a
sparse superoperator built here from each gate's ``U (x) conj(U)`` and each channel's Kraus
operators embedded with ``qsim.embed`` (never the backend's own path), and closed forms."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats

import qsim
from qsim import Circuit, CircuitError, DensityMatrix, SimulationError, embed
from qsim.circuit import DefinitionOp, GateDefinition
from qsim.expr import Param
from qsim.gates import GATES, gate_matrix
from qsim.noise import (
    NoiseModel,
    amplitude_damping,
    depolarizing,
    kraus_channel,
    phase_damping,
    thermal_relaxation,
)


def random_circuit(rng: np.random.Generator, n: int, size: int) -> tuple[Circuit, list]:
    """Library gates, unitaries and calls of a defined gate ``pair(t) a, b``; with the list of
    (name written, qubits, matrix of the whole operation) for each instruction."""
    c = Circuit(n)
    t = Param("t")
    c.define(GateDefinition("pair", ("t",), ("a", "b"), (
        DefinitionOp("h", (), (0,)), DefinitionOp("cx", (), (0, 1)),
        DefinitionOp("ry", (t,), (1,)))))
    names = sorted(g for g in GATES if GATES[g].num_qubits <= min(n, 2))
    ops: list[tuple[str, list[int], np.ndarray]] = []
    for _ in range(size):
        r = rng.random()
        if r < 0.15 and n >= 2:
            qs = [int(q) for q in rng.permutation(n)[:2]]
            th = float(rng.uniform(-3, 3))
            c.append("pair", qs, [th])
            m = (np.kron(np.eye(2), gate_matrix("ry", [th])) @ gate_matrix("cx")
                 @ np.kron(gate_matrix("h"), np.eye(2)))
            ops.append(("pair", qs, m))
        elif r < 0.25:
            m, _ = np.linalg.qr(rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2)))
            q = [int(rng.integers(n))]
            c.unitary(m, q)
            ops.append(("unitary", q, m))
        else:
            name = names[int(rng.integers(len(names)))]
            g = GATES[name]
            qs = [int(q) for q in rng.permutation(n)[:g.num_qubits]]
            ps = [float(x) for x in rng.uniform(-3, 3, g.num_params)]
            c.append(name, qs, ps)
            ops.append((name, qs, gate_matrix(name, ps)))
    return c, ops


def unitary_super(m: np.ndarray, qs: list[int], n: int) -> sp.csr_matrix:
    u = sp.csr_matrix(embed(m, qs, n))
    return sp.kron(u, u.conj(), format="csr")


def kraus_super(kraus: tuple, qs: list[int], n: int) -> sp.csr_matrix:
    total = sp.csr_matrix((4**n, 4**n), dtype=complex)
    for k in kraus:
        e = sp.csr_matrix(embed(k, qs, n))
        total = total + sp.kron(e, e.conj(), format="csr")
    return total


def zero_vec(n: int) -> np.ndarray:
    v = np.zeros(4**n, dtype=complex)
    v[0] = 1
    return v


# --- without noise: |psi><psi| -------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(5))
def test_density_without_noise_is_the_projector_of_the_state_vector(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 6))
    c, _ = random_circuit(rng, n, 30)
    psi = qsim.simulate(c).data
    rho = qsim.simulate(c, backend="density")
    assert isinstance(rho, DensityMatrix) and rho.num_qubits == n
    np.testing.assert_allclose(rho.data, np.outer(psi, psi.conj()), atol=1e-10)
    assert rho.purity() == pytest.approx(1.0, abs=1e-10)
    assert rho.to_statevector().equiv(psi)


def test_density_from_an_initial_state_vector_and_density_matrix() -> None:
    rng = np.random.default_rng(1)
    c, _ = random_circuit(rng, 3, 12)
    v = rng.normal(size=8) + 1j * rng.normal(size=8)
    v /= np.linalg.norm(v)
    psi = qsim.simulate(c, v).data
    np.testing.assert_allclose(qsim.simulate(c, v, backend="density").data,
                               np.outer(psi, psi.conj()), atol=1e-10)
    # A mixed start: the mixture of two pure starts evolves into the mixture of their results.
    w = np.zeros(8, complex)
    w[5] = 1
    mixed = DensityMatrix(0.3 * np.outer(v, v.conj()) + 0.7 * np.outer(w, w.conj()))
    phi = qsim.simulate(c, w).data
    want = 0.3 * np.outer(psi, psi.conj()) + 0.7 * np.outer(phi, phi.conj())
    np.testing.assert_allclose(qsim.simulate(c, mixed, backend="density").data, want, atol=1e-10)
    with pytest.raises(CircuitError, match="needs backend='density'"):
        qsim.simulate(c, mixed)


# --- with noise: the sparse superoperator route ---------------------------------------------------
@pytest.mark.parametrize("seed", range(4))
def test_noisy_density_equals_the_sparse_superoperator_route(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(2, 5))
    c, ops = random_circuit(rng, n, 25)
    p2, gamma, lam = 0.08, 0.05, 0.03
    dep2 = depolarizing(p2, qubits=2)
    amp = amplitude_damping(gamma)
    pd = phase_damping(lam)
    noise = (NoiseModel().add(dep2, gates=["cx", "cz", "pair"])
             .add(amp)                              # every gate, each of its qubits
             .add(pd, gates=["h"], qubits=[0]))     # only h on qubit 0
    # Where the channels go, written out by hand: a defined gate gets the rule of its own name.
    vec = zero_vec(n)
    for name, qs, m in ops:
        vec = unitary_super(m, qs, n) @ vec
        if name in ("cx", "cz", "pair"):
            vec = kraus_super(dep2.kraus, qs, n) @ vec
        for q in qs:
            vec = kraus_super(amp.kraus, [q], n) @ vec
        if name == "h" and qs == [0]:
            vec = kraus_super(pd.kraus, [0], n) @ vec
    want = vec.reshape(2**n, 2**n)
    rho = qsim.simulate(c, noise=noise, backend="density")
    np.testing.assert_allclose(rho.data, want, atol=1e-10)
    assert rho.trace() == pytest.approx(1.0, abs=1e-10)
    single = qsim.simulate(c, noise=noise, backend="density", precision="single")
    np.testing.assert_allclose(single.data, want, atol=2e-5)


def test_two_qubit_channel_on_reversed_qubits_and_a_general_kraus_channel() -> None:
    # A non-symmetric 2-qubit channel (first factor damps, second dephases) after cx 2,0: its
    # first Kraus factor must act on qubit 2.
    ch = kraus_channel([np.kron(a, b) for a in amplitude_damping(0.3).kraus
                        for b in phase_damping(0.4).kraus])
    c = Circuit(3).h(0).x(2).cx(2, 0).ry(0.7, 1)
    noise = NoiseModel().add(ch, gates=["cx"])
    vec = zero_vec(3)
    for m, qs in ((gate_matrix("h"), [0]), (gate_matrix("x"), [2]), (gate_matrix("cx"), [2, 0])):
        vec = unitary_super(m, qs, 3) @ vec
    vec = kraus_super(ch.kraus, [2, 0], 3) @ vec
    vec = unitary_super(gate_matrix("ry", [0.7]), [1], 3) @ vec
    rho = qsim.simulate(c, noise=noise, backend="density")
    np.testing.assert_allclose(rho.data.ravel(), vec, atol=1e-12)


def test_idle_noise_per_layer() -> None:
    # Layers (as soon as possible): 1 = {h 0, x 2}, 2 = {cx 0,1}, 3 = {measure 1}.
    # Idle: layer 1 qubit 1; layer 2 qubit 2; layer 3 qubits 0 and 2 (qubit 1 is measured; no
    # idle noise follows a qubit's final measurement, and there is none after the last layer).
    idle = amplitude_damping(0.2)
    noise = NoiseModel().idle(idle)
    c = Circuit(3, 1).h(0).x(2).cx(0, 1).measure(1, 0)
    vec = zero_vec(3)
    vec = unitary_super(gate_matrix("h"), [0], 3) @ vec
    vec = unitary_super(gate_matrix("x"), [2], 3) @ vec
    vec = kraus_super(idle.kraus, [1], 3) @ vec
    vec = unitary_super(gate_matrix("cx"), [0, 1], 3) @ vec
    vec = kraus_super(idle.kraus, [2], 3) @ vec
    vec = kraus_super(idle.kraus, [0], 3) @ vec
    vec = kraus_super(idle.kraus, [2], 3) @ vec
    want = vec.reshape(8, 8)
    rho = qsim.simulate(c, noise=noise, backend="density")  # the terminal measure is ignored
    np.testing.assert_allclose(rho.data, want, atol=1e-12)


# --- analytic values through run ------------------------------------------------------------------
def chi2_p(counts: dict[str, int], probs: dict[str, float], shots: int) -> float:
    keys = sorted(set(probs) | set(counts))
    obs = np.array([counts.get(k, 0) for k in keys], dtype=float)
    exp = np.array([probs.get(k, 0.0) for k in keys]) * shots
    assert not np.any((exp == 0) & (obs > 0)), "an outcome of probability 0 was drawn"
    keep = exp > 0
    return float(stats.chisquare(obs[keep], exp[keep] * obs[keep].sum() / exp[keep].sum()).pvalue)


@pytest.mark.parametrize("method", ["density", "trajectories"])
def test_depolarizing_and_amplitude_damping_analytic(method: str) -> None:
    p, gamma, shots = 0.09, 0.3, 40000
    # Depolarizing p on |0> (Cirq's convention): P(1) = 2p/3.
    c = Circuit(1, 1).id(0).measure(0, 0)
    res = qsim.run(c, shots=shots, seed=5, noise=NoiseModel().add(depolarizing(p)),
                   method=method)
    assert chi2_p(res.counts, {"1": 2 * p / 3, "0": 1 - 2 * p / 3}, shots) > 1e-3
    # Amplitude damping gamma after x: P(1) = 1 - gamma.
    c = Circuit(1, 1).x(0).measure(0, 0)
    res = qsim.run(c, shots=shots, seed=6, noise=NoiseModel().add(amplitude_damping(gamma)),
                   method=method)
    assert chi2_p(res.counts, {"1": 1 - gamma, "0": gamma}, shots) > 1e-3
    assert res.noise is not None and res.backend == ("density" if method == "density"
                                                     else "statevector")


def test_exact_analytic_probabilities_on_the_density_matrix() -> None:
    p, gamma = 0.09, 0.3
    rho = qsim.simulate(Circuit(1).id(0), noise=NoiseModel().add(depolarizing(p)),
                        backend="density")
    assert rho.probabilities_array()[1] == pytest.approx(2 * p / 3, abs=1e-14)
    rho = qsim.simulate(Circuit(1).x(0), noise=NoiseModel().add(amplitude_damping(gamma)),
                        backend="density")
    assert rho.probabilities_array()[1] == pytest.approx(1 - gamma, abs=1e-14)
    # T1/T2 decay after k identity gates of duration t: P(1) = exp(-k t / T1) from |1>, and the
    # coherence of |+> decays as exp(-k t / T2) / 2.
    t1, t2, t, k = 50.0, 30.0, 2.0, 7
    noise = NoiseModel().add(thermal_relaxation(t1, t2, t), gates=["id"])
    c = Circuit(1).x(0)
    for _ in range(k):
        c.id(0)
    rho = qsim.simulate(c, noise=noise, backend="density")
    assert rho.data[1, 1].real == pytest.approx(np.exp(-k * t / t1), abs=1e-12)
    c = Circuit(1).h(0)
    for _ in range(k):
        c.id(0)
    rho = qsim.simulate(c, noise=noise, backend="density")
    assert abs(rho.data[0, 1]) == pytest.approx(np.exp(-k * t / t2) / 2, abs=1e-12)


# --- readout error --------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["density", "trajectories"])
def test_readout_error_is_the_confusion_product(method: str) -> None:
    a, b = 0.4, 1.1
    c = Circuit(2, 2).ry(a, 0).ry(b, 1).measure([0, 1], [0, 1])
    m0 = np.array([[0.9, 0.1], [0.25, 0.75]])
    m1 = np.array([[0.97, 0.03], [0.05, 0.95]])
    noise = NoiseModel().readout(m0, qubits=[0]).readout(m1, qubits=[1])
    p0 = [np.cos(a / 2) ** 2, np.sin(a / 2) ** 2]
    p1 = [np.cos(b / 2) ** 2, np.sin(b / 2) ** 2]
    want = {f"{r0}{r1}": sum(p0[t0] * p1[t1] * m0[t0][r0] * m1[t1][r1]
                             for t0 in (0, 1) for t1 in (0, 1))
            for r0 in (0, 1) for r1 in (0, 1)}
    shots = 50000
    res = qsim.run(c, shots=shots, seed=11, noise=noise, method=method)
    assert chi2_p(res.counts, want, shots) > 1e-3
    # Without quantum noise the state vector is exact: one branch, whatever the shots.
    assert res.branches == 1
    # The exact readout distribution, through the engine's own helper, equals the hand product.
    from qsim.engine.noisy import apply_readout

    got = apply_readout(np.kron(p0, p1), [0, 1], [m0, m1])
    np.testing.assert_allclose(got, [want[k] for k in ("00", "01", "10", "11")], atol=1e-15)


@pytest.mark.parametrize("method", ["density", "trajectories"])
@pytest.mark.parametrize("dynamic", [False, True])
def test_a_qubit_read_twice_gets_two_readout_draws(method: str, dynamic: bool) -> None:
    """Each measurement has its own readout error (as in Aer): a qubit measured into two
    clbits reads each independently, so they can differ. By hand, with H on qubit 0 and flip
    probabilities 0.2 / 0.1 for 0 / 1: P(c0 c1 = 00) = (0.8**2 + 0.1**2) / 2, 01 and 10 each
    (0.8 * 0.2 + 0.1 * 0.9) / 2, 11 = (0.2**2 + 0.9**2) / 2; c2 reads qubit 1 (true 0) once.
    ``dynamic``: qubit 1 is measured mid-circuit (and flipped after), so the run branches."""
    m = np.array([[0.8, 0.2], [0.1, 0.9]])
    noise = NoiseModel().readout(m)
    c = Circuit(2, 3).h(0).measure(0, 0).measure(0, 1).measure(1, 2)
    if dynamic:
        c.x(1)
    pair = {"00": (0.8**2 + 0.1**2) / 2, "01": (0.8 * 0.2 + 0.1 * 0.9) / 2,
            "10": (0.8 * 0.2 + 0.1 * 0.9) / 2, "11": (0.2**2 + 0.9**2) / 2}
    want = {f"{k}{r}": v * m[0][r] for k, v in pair.items() for r in (0, 1)}
    shots = 50000
    res = qsim.run(c, shots=shots, seed=5, noise=noise, method=method)
    assert chi2_p(res.counts, want, shots) > 1e-3
    # the exact read distribution, through the engine's helper
    from qsim.engine.noisy import read_distribution, read_width

    p, src = read_distribution(np.array([0.5, 0.0, 0.5, 0.0]), [0, 1], [0, 0, 1], [m, m])
    assert read_width([0, 1], [0, 0, 1], [m, m]) == 3 and list(src) == [0, 2, 1]
    got = {f"{x >> 2 & 1}{x & 1}{x >> 1 & 1}": float(p[x]) for x in range(8)}  # c0 c1 c2
    assert got == pytest.approx(want, abs=1e-15)


# --- DensityMatrix --------------------------------------------------------------------------------
def test_density_matrix_methods() -> None:
    bell = qsim.simulate(Circuit(2).h(0).cx(0, 1), backend="density")
    assert bell.purity() == pytest.approx(1.0)
    np.testing.assert_allclose(bell.reduced([1]).data, np.eye(2) / 2, atol=1e-15)
    np.testing.assert_allclose(bell.partial_trace([0]).data, np.eye(2) / 2, atol=1e-15)
    assert bell.reduced([1]).purity() == pytest.approx(0.5)
    assert bell.expectation("ZZ") == pytest.approx(1.0)
    assert bell.expectation("XX") == pytest.approx(1.0)
    assert bell.expectation("Y0 Y1") == pytest.approx(-1.0)
    assert bell.expectation(qsim.PauliSum("0.5*ZZ + 2*ZI")) == pytest.approx(0.5)
    assert bell.expectation(np.diag([1.0, -1.0]), [1]) == pytest.approx(0.0)
    assert bell.fidelity(qsim.simulate(Circuit(2).h(0).cx(0, 1))) == pytest.approx(1.0)
    # Uhlmann fidelity of two mixed qubits against the closed form for commuting states.
    r1 = DensityMatrix(np.diag([0.8, 0.2]))
    r2 = DensityMatrix(np.diag([0.3, 0.7]))
    want = (np.sqrt(0.8 * 0.3) + np.sqrt(0.2 * 0.7)) ** 2
    assert r1.fidelity(r2) == pytest.approx(want, abs=1e-12)
    assert r2.fidelity(r1) == pytest.approx(want, abs=1e-12)
    # Reduced state of three qubits in a chosen order.
    rng = np.random.default_rng(2)
    v = rng.normal(size=8) + 1j * rng.normal(size=8)
    v /= np.linalg.norm(v)
    rho = DensityMatrix(v)
    t = v.reshape(2, 2, 2)
    want = np.einsum("abc,dbf->cafd", t, t.conj()).reshape(4, 4)  # keep qubits 2, 0
    np.testing.assert_allclose(rho.reduced([2, 0]).data, want, atol=1e-14)
    counts = bell.sample(1000, seed=3)
    assert set(counts) <= {"00", "11"} and sum(counts.values()) == 1000
    assert counts == bell.sample(1000, seed=3)
    with pytest.raises(CircuitError, match="mixed"):
        DensityMatrix(np.eye(2) / 2).to_statevector()
    assert "purity=0.5" in repr(DensityMatrix(np.eye(2) / 2))


def test_mid_circuit_measure_reset_and_if_on_the_density_backend() -> None:
    # h; measure -> a; reset; x if a==1; measure -> b: b copies a.
    c = Circuit(1)
    c.add_creg("a", 1)
    c.add_creg("b", 1)
    c.h(0).measure(0, 0).reset(0)
    c.x(0).c_if("a", 1)
    c.measure(0, 1)
    res = qsim.run(c, shots=4000, seed=2, backend="density")
    assert set(res.counts) == {"0 0", "1 1"}
    assert abs(res.counts["1 1"] / 4000 - 0.5) < 4 * np.sqrt(0.25 / 4000)
    rho = qsim.simulate(c, backend="density", seed=4)
    assert rho.purity() == pytest.approx(1.0)


# --- memory ---------------------------------------------------------------------------------------
def test_density_memory_refusal_names_the_bytes() -> None:
    with pytest.raises(SimulationError, match=r"a 20-qubit density matrix needs 16.0 TiB "
                                              r"\(17,592,186,044,416 bytes") as err:
        qsim.simulate(Circuit(20).h(0), backend="density", max_memory=2**30)
    assert err.value.bytes_needed == 16 * 4**20
    with pytest.raises(SimulationError, match="density matrix"):
        qsim.run(Circuit(20).h(0), backend="density", max_memory=2**30)
    # Noisy auto route: a density matrix that does not fit falls back to noisy shots.
    res = qsim.run(Circuit(12).h(0).measure_all(), shots=100, seed=1, max_memory=2**26,
                   noise=NoiseModel().add(amplitude_damping(0.5)))
    assert res.backend == "statevector"


def test_result_keeps_the_density_matrix_and_the_noise() -> None:
    noise = NoiseModel().add(depolarizing(0.1))
    c = Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1])
    res = qsim.run(c, shots=100, seed=1, noise=noise, method="density", keep_state=True)
    assert res.state is None and res.density_matrix is not None and res.noise is noise
    want = qsim.simulate(Circuit(2).h(0).cx(0, 1), noise=noise, backend="density")
    np.testing.assert_allclose(res.density_matrix.data, want.data, atol=1e-14)
    d = res.to_dict()
    assert d["branches"] == 1 and "noise" in d["metadata"]
    back = qsim.Result.from_json(res.to_json())
    assert back.density_matrix == res.density_matrix and back.branches == 1
    assert back.counts == res.counts


def test_notebook_display_lists_the_diagonal() -> None:
    # H on qubit 0; two x on qubit 1, each followed by a bit flip of probability 0.1
    c = qsim.Circuit(2).h(0).x(1).x(1)
    noise = qsim.NoiseModel().add(qsim.bit_flip(0.1), gates=["x"], qubits=[1])
    rho = qsim.simulate(c, noise=noise, backend="density")
    html = rho._repr_html_()
    # two x gates, each followed by a flip of 0.1: P(qubit 1 = 1) = 2 * 0.1 * 0.9 = 0.18
    for label, p in (("00", 0.41), ("01", 0.09), ("10", 0.41), ("11", 0.09)):
        assert f"<code>|{label}&gt;</code></td><td>{p:.4f}</td>" in html
    assert f"purity {np.vdot(rho.data, rho.data).real:.6g}" in html
    big = qsim.simulate(qsim.Circuit(6).h(range(6)), backend="density")._repr_html_()
    assert big.count("<tr><td>") == 32 and "32 smaller nonzero probabilities not shown" in big
