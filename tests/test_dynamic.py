"""Dynamic circuits (mid-circuit measurement, reset, classical control) run by branching.

References: distributions derived by hand (teleportation reproduces the sent Bloch vector, reset
gives |0>, conditionals fire on the register value with c[0] least significant), and the naive
per-shot path ``run_per_shot`` compared in distribution with a two-sample chi-square test.
"""

from collections import Counter

import numpy as np
import pytest
from scipy.stats import chi2

import qsim
from qsim import Circuit, SimulationError
from qsim.backends import available_backends
from qsim.backends.vector import marginal_probabilities
from qsim.compile import lower, plan
from qsim.engine.branching import run_branching, run_per_shot
from qsim.engine.branching import run_dynamic as _run_dynamic
from qsim.engine.job import make_job

P_MIN = 1e-4  # smallest accepted p-value of a goodness-of-fit test (fixed seeds: deterministic)


# --- helpers -------------------------------------------------------------------------------------
def plan_dynamic(c):
    return plan(c, lower(c))


def is_terminal(c):
    return plan_dynamic(c).terminal


def max_states_alive(p, shots):
    return p.max_states_alive(shots)


def run_dynamic(c, shots, rng, bit_order="big", **kw):
    """Branching, or one trajectory per shot when the branches do not fit (qsim.run's choice):
    the keys and each shot's key index, in shot order."""
    keys, _, shot_index = _run_dynamic(make_job(c, **kw), shots, rng, bit_order, memory=True)
    return keys, shot_index


def counts_of(keys, shot_index):
    return dict(Counter(keys[i] for i in shot_index))


def branching_counts(c, shots, seed, **kw):
    run = run_branching(c, shots, np.random.default_rng(seed), **kw)
    return counts_of(run.keys, run.shot_index), run


def per_shot_counts(c, shots, seed, **kw):
    return counts_of(*run_per_shot(c, shots, np.random.default_rng(seed), **kw))


def within_sigmas(count, shots, p, k=5.0):
    """|count/shots - p| within k binomial standard deviations (plus one count of slack)."""
    sd = np.sqrt(p * (1 - p) / shots)
    return abs(count / shots - p) <= k * sd + 1 / shots


def pooled(a, b, min_count=10):
    """Key-aligned count arrays; keys with fewer than ``min_count`` shots in both samples
    together are pooled into one bin (chi-square needs populated bins)."""
    keys = sorted(set(a) | set(b))
    big = [k for k in keys if a.get(k, 0) + b.get(k, 0) >= min_count]
    small = [k for k in keys if k not in big]
    x = [a.get(k, 0) for k in big] + ([sum(a.get(k, 0) for k in small)] if small else [])
    y = [b.get(k, 0) for k in big] + ([sum(b.get(k, 0) for k in small)] if small else [])
    return np.array(x, float), np.array(y, float)


def two_sample_p(a, b):
    """p-value of the chi-square test that two count dicts come from one distribution."""
    x, y = pooled(a, b)
    if len(x) < 2:
        return 1.0
    na, nb = x.sum(), y.sum()
    stat = np.sum((np.sqrt(nb / na) * x - np.sqrt(na / nb) * y) ** 2 / (x + y))
    return float(chi2.sf(stat, len(x) - 1))


def goodness_p(counts, probs):
    """p-value of the chi-square test of ``counts`` against exact probabilities ``probs``; a key
    outside the support fails outright."""
    shots = sum(counts.values())
    assert set(counts) <= {k for k, p in probs.items() if p > 0}, (counts, probs)
    keys = [k for k, p in probs.items() if p > 0]
    obs = np.array([counts.get(k, 0) for k in keys], float)
    exp = np.array([probs[k] * shots for k in keys])
    if len(keys) < 2:
        return 1.0
    return float(chi2.sf(np.sum((obs - exp) ** 2 / exp), len(keys) - 1))


def teleport(theta, phi, lam, basis=None):
    """Teleport u3(theta, phi, lam)|0> from qubit 0 to qubit 2; registers c0, c1 (Alice) and r
    (qubit 2 measured in ``basis``: X, Y or Z; no measurement when None)."""
    c = Circuit(3)
    c.add_creg("c0", 1)
    c.add_creg("c1", 1)
    c.u3(theta, phi, lam, 0).h(1).cx(1, 2).cx(0, 1).h(0).measure(0, 0).measure(1, 1)
    c.x(2).c_if("c1", 1)
    c.z(2).c_if("c0", 1)
    if basis is not None:
        c.add_creg("r", 1)
        if basis == "X":
            c.h(2)
        elif basis == "Y":
            c.sdg(2).h(2)
        c.measure(2, 2)
    return c


def bloch(theta, phi):
    return np.array([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])


RANDOM_STATES = [tuple(np.random.default_rng(s).uniform([0, -np.pi, -np.pi], [np.pi, np.pi, np.pi]))
                 for s in (11, 12, 13)]


# --- teleportation -------------------------------------------------------------------------------
@pytest.mark.parametrize("angles", RANDOM_STATES)
def test_teleportation_reproduces_bloch_vector(angles):
    theta, phi, lam = angles
    b = bloch(theta, phi)
    shots = 20000
    for axis, basis in enumerate("XYZ"):
        counts, run = branching_counts(teleport(theta, phi, lam, basis), shots, seed=axis)
        assert sum(counts.values()) == shots
        assert run.stats.leaves == 4 and run.stats.splits == 3
        ones = sum(v for k, v in counts.items() if k.endswith("1"))
        assert within_sigmas(ones, shots, (1 - b[axis]) / 2), (basis, ones, b)
        # Alice's two bits are uniform and independent of the sent state.
        alice = Counter()
        for k, v in counts.items():
            alice[k[:3]] += v
        assert goodness_p(alice, {"0 0": .25, "0 1": .25, "1 0": .25, "1 1": .25}) > P_MIN


@pytest.mark.parametrize("angles", RANDOM_STATES)
def test_teleportation_branch_states_hold_the_sent_state(angles):
    theta, phi, lam = angles
    sent = np.array([np.cos(theta / 2), np.exp(1j * phi) * np.sin(theta / 2)])
    seen = []

    def on_leaf(clbits, n, state):
        psi = state.reshape(4, 2)  # (qubits 0-1, qubit 2)
        rho = psi.T @ psi.conj()  # reduced density matrix of qubit 2
        seen.append((tuple(clbits), n, float(np.real(sent.conj() @ rho @ sent))))

    run_branching(teleport(theta, phi, lam), 4000, np.random.default_rng(5), on_leaf=on_leaf)
    assert sorted(b for b, _, _ in seen) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert sum(n for _, n, _ in seen) == 4000
    for _, _, fidelity in seen:
        assert fidelity == pytest.approx(1, abs=1e-12)


def test_teleportation_single_precision():
    theta, phi, lam = RANDOM_STATES[0]
    counts, _ = branching_counts(teleport(theta, phi, lam, "Z"), 20000, 3, precision="single")
    ones = sum(v for k, v in counts.items() if k.endswith("1"))
    assert within_sigmas(ones, 20000, np.sin(theta / 2) ** 2)


# --- reset ---------------------------------------------------------------------------------------
def test_reset_from_one_is_deterministic():
    c = Circuit(1, 1).x(0).reset(0).measure(0, 0)
    assert not is_terminal(c)
    counts, run = branching_counts(c, 1000, 0)
    assert counts == {"0": 1000}
    assert run.stats.splits == 0 and run.stats.leaves == 1


def test_reset_of_unentangled_superposition_merges():
    # q0 in |+>, (q1, q2) a Bell pair: resetting q0 leaves one branch; the pair stays correlated.
    c = Circuit(3, 3).h(0).h(1).cx(1, 2).reset(0).measure([0, 1, 2], [0, 1, 2])
    counts, run = branching_counts(c, 4000, 1)
    assert run.stats.merges == 1 and run.stats.splits == 0 and run.stats.leaves == 1
    assert goodness_p(counts, {"000": .5, "011": .5}) > P_MIN


def test_reset_of_slightly_entangled_qubit_does_not_merge():
    # cry(0.02) leaves q0 entangled with q1 (1 - fidelity ~ 1e-4): the two branches must differ.
    c = Circuit(2, 1).h(0).cry(0.02, 0, 1).reset(0).measure(1, 0)
    counts, run = branching_counts(c, 20000, 1)
    assert run.stats.merges == 0 and run.stats.leaves == 2
    assert within_sigmas(counts.get("1", 0), 20000, np.sin(0.01) ** 2 / 2)


@pytest.mark.parametrize("precision", ["double", "single"])
def test_marginal_probabilities_match_a_direct_sum(precision):
    rng = np.random.default_rng(3)
    dtype = np.complex128 if precision == "double" else np.complex64
    psi = (rng.normal(size=32) + 1j * rng.normal(size=32)).astype(dtype)
    psi /= np.linalg.norm(psi)
    full = np.abs(psi.astype(np.complex128)) ** 2
    for qs in [(0,), (4,), (3, 1), (0, 2, 4), (4, 3, 2, 1, 0), (0, 1, 2, 3, 4)]:
        # Independent reference: add up |amplitude|^2 over every basis index, bit by bit.
        ref = np.zeros(2 ** len(qs))
        for i, w in enumerate(full):
            bits = format(i, "05b")
            ref[int("".join(bits[q] for q in qs), 2)] += w
        np.testing.assert_allclose(marginal_probabilities(psi, qs), ref, atol=1e-6)


@pytest.mark.parametrize("theta", [0.7, 2.0])
def test_reset_of_entangled_qubit(theta):
    # ry(theta) q0; cx q0,q1; reset q0; x q0  ->  q0 = 1 always, q1 = 1 with prob sin^2(theta/2).
    c = Circuit(2, 2).ry(theta, 0).cx(0, 1).reset(0).x(0).measure([0, 1], [0, 1])
    counts, run = branching_counts(c, 20000, 2)
    assert run.stats.leaves == 2 and run.stats.merges == 0
    assert set(counts) <= {"10", "11"}
    assert within_sigmas(counts.get("11", 0), 20000, np.sin(theta / 2) ** 2)


def test_reset_then_gate_and_active_reset():
    c = Circuit(1, 1).h(0).reset(0).h(0).measure(0, 0)  # reset then H: 50/50
    counts, _ = branching_counts(c, 10000, 3)
    assert goodness_p(counts, {"0": .5, "1": .5}) > P_MIN
    # Active reset: measure, flip on 1, measure again -> second bit always 0.
    c = Circuit(1)
    c.add_creg("m", 1)
    c.add_creg("f", 1)
    c.ry(1.2, 0).measure(0, 0).x(0).c_if("m", 1).measure(0, 1)
    counts, _ = branching_counts(c, 10000, 4)
    assert set(counts) <= {"0 0", "1 0"}
    assert within_sigmas(counts.get("1 0", 0), 10000, np.sin(0.6) ** 2)


# --- classical conditions ------------------------------------------------------------------------
def conditional_circuit():
    """c[0], c[1] from H-measured qubits; x q2 if c == 2 (c[1]=1, c[0]=0); x q3 if c == 1."""
    c = Circuit(4)
    c.add_creg("c", 2)
    c.add_creg("d", 2)
    c.h(0).h(1).measure([0, 1], [0, 1])
    c.x(2).c_if("c", 2)
    c.x(3).c_if("c", 1)
    c.measure([2, 3], [2, 3])
    return c


def test_condition_reads_register_with_c0_least_significant():
    c = Circuit(4)
    c.add_creg("c", 2)
    c.add_creg("d", 2)
    c.x(1).measure([0, 1], [0, 1])  # c[0] = 0, c[1] = 1: value 2
    c.x(2).c_if("c", 2)
    c.x(3).c_if("c", 1)
    c.measure([2, 3], [2, 3])
    assert qsim.run(c, 50, seed=1).counts == {"01 10": 50}
    assert qsim.run(c, 50, seed=1, bit_order="little").counts == {"01 10": 50}


def test_conditional_on_random_register_value():
    res = qsim.run(conditional_circuit(), 8000, seed=5, memory=True)
    # d = (1, 0) exactly when c = 2 ("01"), d = (0, 1) when c = 1 ("10"), else (0, 0).
    expected = {"00 00": .25, "10 01": .25, "01 10": .25, "11 00": .25}
    assert goodness_p(res.counts, expected) > P_MIN
    assert Counter(res.memory) == Counter(res.counts)
    little = qsim.run(conditional_circuit(), 8000, seed=5, bit_order="little")
    assert {k: v for k, v in little.counts.items()} == {
        " ".join(p[::-1] for p in reversed(k.split())): v for k, v in res.counts.items()}


def test_measure_twice_gives_equal_bits():
    for mid in (False, True):
        c = Circuit(3)
        c.add_creg("a", 1)
        c.add_creg("b", 1)
        c.add_creg("e", 1)
        c.ry(1.1, 0).measure(0, 0)
        if mid:  # a condition on a[0] makes the first measurement a branching one
            c.x(2).c_if("a", 1)
        c.h(1).cx(1, 2).measure(0, 1).measure(2, 2)
        res = qsim.run(c, 3000, seed=6, memory=True)
        for key in res.memory:
            a, b, _ = key.split()
            assert a == b
        assert within_sigmas(sum(v for k, v in res.counts.items() if k[0] == "1"), 3000,
                             np.sin(0.55) ** 2)


def test_deferred_and_branching_measurements_of_one_qubit_agree():
    # h q0; measure q0 -> a (deferred); measure q0 -> b (branching: b is read); x q1 if b == 1.
    c = Circuit(2)
    for r in "abe":
        c.add_creg(r, 1)
    c.h(0).measure(0, 0).measure(0, 1).x(1).c_if("b", 1).measure(1, 2)
    plan = plan_dynamic(c)
    assert plan.deferred == (0, 1) and plan.branch_points == 1
    res = qsim.run(c, 2000, seed=7, memory=True)
    assert set(res.memory) <= {"0 0 0", "1 1 1"}
    assert goodness_p(res.counts, {"0 0 0": .5, "1 1 1": .5}) > P_MIN


# --- deferred measurements and the last write to a bit ---------------------------------------------
def test_last_write_wins_between_deferred_and_branching_measurements():
    c = Circuit(2, 1).x(0).measure(0, 0).measure(1, 0).h(1)  # q1's |0> written last
    assert plan_dynamic(c).deferred == () and qsim.run(c, 100, seed=1).counts == {"0": 100}
    c = Circuit(2, 1).measure(1, 0).h(1).x(0).measure(0, 0)  # q0's |1> written last
    assert plan_dynamic(c).deferred == (0,) and qsim.run(c, 100, seed=1).counts == {"1": 100}


def test_conditional_measurement_overwriting_a_bit():
    # c[0] <- q0 (=1); d <- q2 (50/50); if d == 1: c[0] <- q1 (=0). So c = 1 - d.
    c = Circuit(3)
    c.add_creg("c", 1)
    c.add_creg("d", 1)
    c.x(0).measure(0, 0).h(2).measure(2, 1)
    c.measure(1, 0).c_if("d", 1)
    assert 0 not in plan_dynamic(c).deferred
    counts, _ = branching_counts(c, 4000, 8)
    assert goodness_p(counts, {"1 0": .5, "0 1": .5}) > P_MIN
    assert goodness_p(per_shot_counts(c, 400, 8), {"1 0": .5, "0 1": .5}) > P_MIN


def test_one_mid_circuit_measurement_costs_two_branches():
    n = 10
    c = Circuit(n)
    c.add_creg("m", 1)
    rng = np.random.default_rng(0)
    for q in range(n):
        c.ry(float(rng.uniform(0, 3)), q)
    c.cx(0, 1).measure(0, 0).x(1).c_if("m", 1)
    for q in range(n - 1):
        c.cx(q, q + 1)
    c.measure_all()
    plan = plan_dynamic(c)
    assert plan.branch_points == 1 and plan.deferred == tuple(range(n))
    counts, run = branching_counts(c, 10000, 9)
    # The prefix once, the conditional x in the m = 1 branch only, the cx chain once per branch.
    assert run.stats.leaves == 2 and run.stats.gate_calls == 4
    assert sum(counts.values()) == 10000
    ref = per_shot_counts(c, 300, 9)
    assert two_sample_p(counts, ref) > P_MIN


# --- shots, seeds, memory order ------------------------------------------------------------------
def many_branches(k=8):
    """k qubits in |+>, each measured mid-circuit (an H follows): 2**k equally likely branches."""
    c = Circuit(k, k)
    for q in range(k):
        c.h(q)
    for q in range(k):
        c.measure(q, q).h(q)
    return c


@pytest.mark.parametrize("shots", [1, 2, 7, 1000])
def test_shot_counts_sum_to_shots(shots):
    for c in (many_branches(5), conditional_circuit(), teleport(0.3, 0.2, 0.1, "X")):
        res = qsim.run(c, shots, seed=shots, memory=True)
        assert sum(res.counts.values()) == shots and len(res.memory) == shots
        run = run_branching(c, shots, np.random.default_rng(shots))
        assert sum(run.stats.leaf_shots) == shots and run.shot_index.shape == (shots,)
        assert run.stats.peak_states <= max_states_alive(plan_dynamic(c), shots)


def test_same_seed_same_memory():
    for c in (many_branches(4), conditional_circuit(), teleport(1.0, 0.5, 0.2, "Y")):
        a = qsim.run(c, 500, seed=42, memory=True).memory
        assert a == qsim.run(c, 500, seed=42, memory=True).memory
        assert a != qsim.run(c, 500, seed=43, memory=True).memory
        keys, idx = run_dynamic(c, 500, np.random.default_rng(42))
        assert [keys[i] for i in idx] == a  # run() uses default_rng(seed) and this path


def test_memory_is_in_random_order():
    # Two equally likely branches: i.i.d. shots have about 1 + 2 n0 n1 / n runs, not 2.
    c = Circuit(1, 1).h(0).measure(0, 0).h(0)
    mem = qsim.run(c, 2000, seed=3, memory=True).memory
    n1 = mem.count("1")
    n0, n = 2000 - n1, 2000
    runs = 1 + sum(a != b for a, b in zip(mem, mem[1:]))
    mean = 1 + 2 * n0 * n1 / n
    var = 2 * n0 * n1 * (2 * n0 * n1 - n) / (n * n * (n - 1))
    assert abs(runs - mean) < 5 * np.sqrt(var)


def test_many_branches_quickly():
    c = many_branches(8)
    counts, run = branching_counts(c, 10000, 10)
    assert run.stats.leaves == 256 and len(counts) == 256
    # Work grows with the branches: one gate block per tree node (1 + 2 + ... + 256 = 511).
    assert run.stats.gate_calls == 511
    assert run.stats.peak_states <= 1 + 8
    assert goodness_p(counts, {format(i, "08b"): 1 / 256 for i in range(256)}) > P_MIN


# --- branching vs the per-shot reference -----------------------------------------------------------
def random_dynamic_circuit(seed, n=3):
    """Random gates, mid-circuit measurements, resets and conditional gates/measurements/resets
    on n qubits; registers c[2] (mid-circuit, conditions) and m[n] (final measure_all)."""
    rng = np.random.default_rng(seed)
    c = Circuit(n)
    c.add_creg("c", 2)
    for _ in range(14):
        kind = rng.choice(["u3", "cx", "measure", "reset", "cond"], p=[.35, .2, .2, .1, .15])
        q = int(rng.integers(n))
        if kind == "u3":
            c.u3(*rng.uniform(-np.pi, np.pi, 3), q)
        elif kind == "cx":
            c.cx(q, int((q + rng.integers(1, n)) % n))
        elif kind == "measure":
            c.measure(q, int(rng.integers(2)))
        elif kind == "reset":
            c.reset(q)
        else:
            what = rng.choice(["ry", "measure", "reset"])
            if what == "ry":
                c.ry(float(rng.uniform(0.5, 3)), q)
            elif what == "measure":
                c.measure(q, int(rng.integers(2)))
            else:
                c.reset(q)
            c.c_if("c", int(rng.integers(4)))
    c.measure_all()
    return c


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_branching_matches_per_shot_in_distribution(seed):
    c = random_dynamic_circuit(seed)
    assert not is_terminal(c)
    fast, run = branching_counts(c, 20000, seed)
    slow = per_shot_counts(c, 1000, seed + 100)
    assert two_sample_p(fast, slow) > P_MIN, (fast, slow)
    if seed == 2:
        # The test has power: the circuit with every u3 angle theta changed by 0.3 rad is told
        # apart from the per-shot sample.
        other = c.copy()
        other.instructions = [x.replace(params=(x.params[0] + 0.3, *x.params[1:]))
                              if x.name == "u3" else x for x in c.instructions]
        changed, _ = branching_counts(other, 20000, seed)
        assert two_sample_p(changed, slow) < P_MIN


@pytest.mark.parametrize("backend", sorted(available_backends()))
def test_every_backend_branches_alike(backend):
    if backend == "mpi":
        pytest.importorskip("mpi4py", reason="the mpi backend needs the mpi extra")
    c = random_dynamic_circuit(2)
    ours, _ = branching_counts(c, 20000, 21, backend=backend)
    ref, _ = branching_counts(c, 20000, 22, backend="statevector")
    assert two_sample_p(ours, ref) > P_MIN


def test_initial_state_matches_per_shot():
    c = random_dynamic_circuit(4)
    fast, _ = branching_counts(c, 20000, 4, initial_state="1+0")
    slow = per_shot_counts(c, 800, 5, initial_state="1+0")
    assert two_sample_p(fast, slow) > P_MIN


# --- memory --------------------------------------------------------------------------------------
def test_memory_check_counts_live_states():
    c = teleport(0.4, 0.3, 0.2, "Z")  # 3 qubits: 128 bytes per state; 2 branch points
    assert max_states_alive(plan_dynamic(c), 1000) == 3
    assert max_states_alive(plan_dynamic(c), 3) == 2  # fewer than 4 shots: one level at most
    rng = np.random.default_rng
    fast = run_branching(c, 300, rng(1))
    keys, idx = run_dynamic(c, 300, rng(1), max_memory=3 * 128)
    assert keys == fast.keys and np.array_equal(idx, fast.shot_index)
    with pytest.raises(SimulationError):
        run_branching(c, 300, rng(1), max_memory=3 * 128 - 1)
    # Not enough for branching: falls back to one trajectory per shot (two states).
    keys, idx = run_dynamic(c, 300, rng(1), max_memory=3 * 128 - 1)
    ref_keys, ref_idx = run_per_shot(c, 300, rng(1))
    assert keys == ref_keys and np.array_equal(idx, ref_idx)
    with pytest.raises(SimulationError):
        run_dynamic(c, 300, rng(1), max_memory=2 * 128 - 1)


# --- optional: Qiskit Aer on the same circuit ------------------------------------------------------
def test_teleportation_matches_aer():
    pytest.importorskip("qiskit_aer")
    from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
    from qiskit_aer import AerSimulator

    theta, phi, lam = RANDOM_STATES[1]
    q = QuantumRegister(3, "q")
    c0, c1, r = ClassicalRegister(1, "c0"), ClassicalRegister(1, "c1"), ClassicalRegister(1, "r")
    qc = QuantumCircuit(q, c0, c1, r)
    qc.u(theta, phi, lam, 0)
    qc.h(1)
    qc.cx(1, 2)
    qc.cx(0, 1)
    qc.h(0)
    qc.measure(0, c0[0])
    qc.measure(1, c1[0])
    with qc.if_test((c1, 1)):
        qc.x(2)
    with qc.if_test((c0, 1)):
        qc.z(2)
    qc.h(2)
    qc.measure(2, r[0])
    aer = AerSimulator().run(qc, shots=20000, seed_simulator=1).result().get_counts()
    ours = qsim.run(teleport(theta, phi, lam, "X"), 20000, seed=1, bit_order="little").counts
    assert two_sample_p(ours, dict(aer)) > P_MIN


# --- from OpenQASM ---------------------------------------------------------------------------------
QASM_TELEPORT = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg c0[1];
creg c1[1];
creg r[1];
u3({t},{p},{l}) q[0];
h q[1];
cx q[1],q[2];
cx q[0],q[1];
h q[0];
measure q[0] -> c0[0];
measure q[1] -> c1[0];
if (c1==1) x q[2];
if (c0==1) z q[2];
{basis}
measure q[2] -> r[0];
"""


def test_qasm_teleportation():
    theta, phi, lam = RANDOM_STATES[2]
    b = bloch(theta, phi)
    for axis, basis in enumerate(["h q[2];", "sdg q[2];\nh q[2];", ""]):
        c = qsim.loads_qasm(QASM_TELEPORT.format(t=theta, p=phi, l=lam, basis=basis))
        res = qsim.run(c, 20000, seed=axis)
        ones = sum(v for k, v in res.counts.items() if k.endswith("1"))
        assert within_sigmas(ones, 20000, (1 - b[axis]) / 2)


def test_qasm_reset_and_multibit_condition():
    src = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[4];
creg c[2];
creg d[2];
h q[0];
cx q[0],q[3];
reset q[0];
x q[1];
measure q[0] -> c[0];
measure q[1] -> c[1];
if (c==2) x q[2];
if (c==1) x q[0];
reset q[1];
measure q[2] -> d[0];
measure q[3] -> d[1];
"""
    # q[0] reset to 0 (q[3] keeps a fair coin), q[1] = 1: c = 2, so x q[2] fires, x q[0] does not.
    res = qsim.run(qsim.loads_qasm(src), 4000, seed=1, memory=True)
    assert goodness_p(res.counts, {"01 10": .5, "01 11": .5}) > P_MIN
    assert len(res.memory) == 4000
