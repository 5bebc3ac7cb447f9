"""The engine under inputs that used to hang, blow up or diverge (issue #15): nested definitions
counted before they are expanded, huge registers refused first, sampling memory in outcomes not
shots, every allocation counted by the guard, the slow per-shot fallback announced, branch draws
independent per branch, gates prepared once per run, single-precision drift."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import qsim
from qsim import Circuit, QsimWarning, SimulationError
from qsim.backends.dense import DenseState
from qsim.engine import branching

HEADER = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'


def doubling(depth: int, width: int = 1, base: str = "x") -> str:
    """g_i calls g_{i-1} twice: g_depth stands for 2**depth gates."""
    qs = ", ".join(f"a{j}" for j in range(width))
    text = HEADER + f"gate g0 {qs} {{ {base} a0; }}\n"
    text += "".join(f"gate g{i} {qs} {{ g{i - 1} {qs}; g{i - 1} {qs}; }}\n"
                    for i in range(1, depth + 1))
    args = ", ".join(f"q[{j}]" for j in range(width))
    return text + f"qreg q[{width}];\ng{depth} {args};\n"


# --- item 1: exponential nesting -----------------------------------------------------------------
def test_exponential_nesting_runs_on_dense_and_is_refused_where_it_would_expand() -> None:
    c = qsim.loads_qasm(doubling(40))
    # x applied 2**40 times is the identity (dense: one 2x2 matrix per nesting level).
    assert qsim.run(c, shots=10, seed=1).counts == {"0": 10}
    with pytest.raises(SimulationError, match=r"expands to 1,099,511,627,776 gates on the "
                                              r"sparse backend, more than the limit of "
                                              r"10,000,000 \(max_gates"):
        qsim.run(c, shots=10, seed=1, backend="sparse")
    # Wider than a fused block (5 qubits), the dense backend walks the body: counted first too.
    wide = qsim.loads_qasm(doubling(30, width=5))
    with pytest.raises(SimulationError, match=r"expands to 1,073,741,824 gates"):
        qsim.simulate(wide)
    # Under the limit it runs: 2**10 walked x gates on qubit 0 is the identity.
    assert qsim.simulate(qsim.loads_qasm(doubling(10, width=5))).probabilities() == {
        "00000": pytest.approx(1.0)}
    with pytest.raises(SimulationError, match="limit of 1,000"):
        qsim.simulate(qsim.loads_qasm(doubling(10, width=5)), max_gates=1000)


# --- item 2: a huge register is refused before anything else -------------------------------------
@pytest.mark.parametrize("build", [
    lambda c: c.x(0),
    # As the QASM loader builds `measure q -> c;` (unchecked: the loader validated it).
    lambda c: c.instructions.extend(qsim.Instruction("measure", (q,), (), (q,))
                                    for q in range(c.num_qubits)),
])
def test_huge_register_is_refused_first(build) -> None:  # noqa: ANN001
    n = 1 << 20
    c = Circuit(n, n)
    build(c)
    with pytest.raises(SimulationError, match=f"a {n}-qubit state vector needs 2\\^") as err:
        qsim.run(c, shots=10)
    assert err.value.bytes_needed == 16 << n
    with pytest.raises(SimulationError, match="state vector needs"):
        qsim.simulate(c)


def test_plan_is_linear_in_the_measured_qubits() -> None:
    # 200,000 measurements used to be quadratic (a list index per measurement): this plans them.
    from qsim.compile import plan

    n = 200_000
    c = Circuit(n, n).measure(list(range(n)), list(range(n)))
    p = plan(c, c.instructions)
    assert p.terminal and len(p.deferred) == n and p.tail_src[-1] == n - 1


# --- item 4: sampling memory follows the outcomes, and the guard counts it ----------------------
def test_many_shots_sample_as_one_multinomial() -> None:
    bell = Circuit(2).h(0).cx(0, 1).measure_all()
    res = qsim.run(bell, shots=10**12, seed=3)
    assert set(res.counts) == {"00", "11"} and sum(res.counts.values()) == 10**12
    assert abs(res.counts["00"] / 10**12 - 0.5) < 1e-5  # std 5e-7
    assert res.counts == qsim.run(bell, shots=10**12, seed=3).counts


def test_billion_shots_fit_in_a_small_address_space() -> None:
    code = textwrap.dedent("""
        import resource, qsim
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        c = qsim.Circuit(2).h(0).cx(0, 1).measure_all()
        print(sum(qsim.run(c, shots=10**9, seed=1).counts.values()))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(10**9)


def test_shots_beyond_64_bits_are_a_clear_error() -> None:
    with pytest.raises(SimulationError, match="shots must be at most"):
        qsim.run(Circuit(1).h(0), shots=10**20)


def test_guard_counts_probabilities_and_samples() -> None:
    c = Circuit(16).h(range(16)).measure_all()
    state = 16 << 16
    # The state alone fits, its probabilities and draws do not: refused before allocating.
    with pytest.raises(SimulationError, match="for the outcome probabilities and samples") as err:
        qsim.run(c, shots=100, max_memory=state + 1024)
    assert err.value.bytes_needed > state
    assert sum(qsim.run(c, shots=100, max_memory=4 * state).counts.values()) == 100
    # memory=True costs per shot: counted too.
    with pytest.raises(SimulationError, match="samples"):
        qsim.run(c, shots=10**7, memory=True, max_memory=4 * state)


# --- item 5: the per-shot fallback says how long it will take -----------------------------------
def test_per_shot_fallback_warns_with_an_estimate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(branching, "SLOW_FALLBACK_S", 0.0)
    c = Circuit(4, 4)
    for q in range(4):
        c.h(q).measure(q, q).x(q).c_if("c", 1)
    # Branching needs 5 states of 256 bytes; 2 (and ~1.7 KB of sampling memory) fit: one
    # trajectory per shot.
    with pytest.warns(QsimWarning, match=r"each of the 64 shots runs the circuit again: about"):
        res = qsim.run(c, shots=64, seed=1, max_memory=2600)
    assert sum(res.counts.values()) == 64


# --- item 9: a definition whose body is only a barrier ----------------------------------------------
def test_barrier_only_definition_is_the_identity() -> None:
    text = HEADER + "gate onlybarrier x, y { barrier x, y; }\nqreg q[2];\nonlybarrier q[0], q[1];\n"
    for backend in qsim.backends.available_backends():
        if backend == "mpi" and importlib.util.find_spec("mpi4py") is None:
            continue            # the mpi extra is not installed (make test-mpi covers it)
        out = qsim.simulate(qsim.loads_qasm(text), backend=backend)
        assert out.probabilities() == {"00": pytest.approx(1.0)}


# --- item 11: one flipped branch changes one subtree only --------------------------------------------
def many_measurements(n: int, m: int, seed: int) -> Circuit:
    rng = np.random.default_rng(seed)
    c = Circuit(n, m)
    for k in range(m):
        for q in range(n):
            c.u3(*rng.uniform(0, 3, 3), q)
        for q in range(n - 1):
            c.cx(q, q + 1)
        c.measure(k % n, k)
        c.x((k + 1) % n).c_if("c", k % 4)
    return c


def test_counts_agree_across_backends_and_precisions() -> None:
    # Branch probabilities differ in their last bits between these runs; with draws keyed by the
    # branch, a rare flipped binomial split moves a few shots of one subtree, not the whole run.
    c = many_measurements(8, 8, 2)
    shots = 20_000
    ref = qsim.run(c, shots=shots, seed=7).counts
    for kw in ({"backend": "sparse"}, {"precision": "single"}):
        other = qsim.run(c, shots=shots, seed=7, **kw).counts
        moved = sum(abs(ref.get(k, 0) - other.get(k, 0)) for k in set(ref) | set(other)) // 2
        assert moved <= shots // 100, (kw, moved)


# --- item 12: gates prepared once per run; single-precision drift --------------------------------------
def test_gates_after_a_measurement_are_prepared_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    original = DenseState.prepare.__func__  # type: ignore[attr-defined]

    def counting(cls, ops, n):  # noqa: ANN001
        calls.append(len(ops))
        return original(cls, ops, n)

    monkeypatch.setattr(DenseState, "prepare", classmethod(counting))
    c = Circuit(3, 3).h([0, 1, 2]).measure([0, 1, 2], [0, 1, 2])
    for k in range(5000):
        c.ry(0.001 * k, k % 3).cx(k % 3, (k + 1) % 3)
    c.measure_all()
    res = qsim.run(c, shots=1000, seed=1)
    assert len(res.counts) > 8  # eight branches after the first measurements, sampled at the end
    # The plan has two gate runs (before and after the measurements): each prepared once, not once
    # per branch.
    assert calls == [3, 10000]


def test_single_precision_sparse_keeps_its_norm() -> None:
    c = Circuit(12)
    for k in range(40_000):
        q = k % 12
        (c.h(q) if k % 3 == 0 else c.t(q) if k % 3 == 1 else c.cx(q, (q + 5) % 12))
    out = qsim.simulate(c, backend="sparse", precision="single")
    assert abs(out.norm() - 1) < 1e-5
    ref = qsim.simulate(c)
    assert out.fidelity(ref.data) > 1 - 1e-3


def test_flatten_and_inverse_count_before_expanding() -> None:
    c = qsim.loads_qasm(doubling(40))
    assert c.expanded_size() == 2**40
    with pytest.raises(qsim.CircuitError, match=r"expands to 1,099,511,627,776 instructions"):
        c.flatten()
    with pytest.raises(qsim.CircuitError, match="limit"):
        c.inverse()
    small = qsim.loads_qasm(doubling(3))
    assert small.expanded_size() == 8 and len(small.flatten()) == 8


def test_deep_squaring_of_a_definition_stays_unitary() -> None:
    # h applied 2**64 times is the identity; without re-projection the rounding of 64 nested
    # squarings grows as (1 + eps)**(2**64) and the state vanished (a division by zero).
    c = qsim.loads_qasm(doubling(64, base="h") + "creg c[1];\nmeasure q -> c;\n")
    assert qsim.run(c, shots=100, seed=1).counts == {"0": 100}
    np.testing.assert_allclose(qsim.simulate(c).data, [1, 0], atol=1e-9)
