"""The one conformance suite every backend passes, parametrised over the registry.

Each registered backend (a :class:`qsim.backends.base.State` subclass) is checked through the
protocol itself (allocate, prepare/apply, probabilities, collapse, reset, copy, to_host, memory
guard) and through the engine (simulate, run, dynamic circuits) against values derived
independently: products of operators embedded with ``qsim.embed`` (never a backend's own gate
path), hand-computed projections, and exact outcome distributions. A backend added to
``qsim.backends.BACKENDS`` inherits every test here.
"""

from __future__ import annotations

import numpy as np
import pytest

import qsim
from qsim import Circuit, CircuitError, SimulationError, embed, ket
from qsim.backends import BACKENDS, available_backends, get_backend
from qsim.backends.base import State
from qsim.circuit import DefinitionOp, GateDefinition
from qsim.compile import lower
from qsim.expr import BinOp, Num, Param
from qsim.gates import GATES, gate_matrix

BACKEND_NAMES = available_backends()
DTYPES = [np.complex128, np.complex64]
ATOL = {np.complex128: 1e-10, np.complex64: 2e-5}


@pytest.fixture(params=BACKEND_NAMES)
def backend(request: pytest.FixtureRequest) -> type[State]:
    if request.param == "mpi":  # one rank here; tests/mpi runs 2-8 ranks (make test-mpi)
        pytest.importorskip("mpi4py", reason="the mpi backend needs mpi4py: pip install "
                            "'qsim[mpi]'")
    return get_backend(request.param)


def random_state(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.normal(size=1 << n) + 1j * rng.normal(size=1 << n)
    return v / np.linalg.norm(v)


def random_circuit(rng: np.random.Generator, n: int, size: int) -> tuple[Circuit, list]:
    """Library gates (every kind), unitaries and a nested parametrised definition, with the
    reference list of (matrix, qubits) for each."""
    c = Circuit(n)
    t = Param("t")
    c.define(GateDefinition("pair", ("t",), ("a", "b"), (
        DefinitionOp("h", (), (0,)), DefinitionOp("cx", (), (0, 1)),
        DefinitionOp("rz", (BinOp("*", t, Num(2.0)),), (1,)))))
    c.define(GateDefinition("trio", ("t",), ("a", "b", "c"), (
        DefinitionOp("pair", (t,), (2, 0)), DefinitionOp("ccx", (), (0, 1, 2)))))
    names = sorted(g for g in GATES if GATES[g].num_qubits <= n)
    ref: list[tuple[np.ndarray, list[int]]] = []
    for _ in range(size):
        r = rng.random()
        if r < 0.08 and n >= 3:
            qs = [int(q) for q in rng.permutation(n)[:3]]
            th = float(rng.uniform(-3, 3))
            c.append("trio", qs, [th])
            a, b, cq = qs
            ref += [(gate_matrix("h"), [cq]), (gate_matrix("cx"), [cq, a]),
                    (gate_matrix("rz", [2 * th]), [a]), (gate_matrix("ccx"), qs)]
        elif r < 0.16:
            k = int(rng.integers(1, min(2, n) + 1))
            m, _ = np.linalg.qr(rng.normal(size=(2**k, 2**k)) + 1j * rng.normal(size=(2**k, 2**k)))
            qs = [int(q) for q in rng.permutation(n)[:k]]
            c.unitary(m, qs)
            ref.append((m, qs))
        else:
            name = names[int(rng.integers(len(names)))]
            g = GATES[name]
            qs = [int(q) for q in rng.permutation(n)[:g.num_qubits]]
            ps = [float(x) for x in rng.uniform(-3, 3, g.num_params)]
            c.append(name, qs, ps)
            ref.append((gate_matrix(name, ps), qs))
    return c, ref


def reference(n: int, ref: list, start: np.ndarray) -> np.ndarray:
    psi = start.astype(complex)
    for m, qs in ref:
        psi = embed(m, qs, n) @ psi
    return psi


def on_host(backend: type[State], psi: np.ndarray) -> np.ndarray:
    """What ``to_host()`` holds for the pure state ``psi``: psi, or the row-major
    vec(|psi><psi|) on a backend that holds density matrices (capability "density_matrix")."""
    psi = np.asarray(psi)
    if "density_matrix" in backend.capabilities:
        return np.outer(psi, psi.conj()).ravel()
    return psi


# --- the registry --------------------------------------------------------------------------------
def test_registry_names_state_classes() -> None:
    assert set(BACKEND_NAMES) >= {"statevector", "sparse"}
    for name in BACKENDS:
        cls = get_backend(name)
        assert issubclass(cls, State) and cls.name == name


def test_unknown_backend_lists_the_known_ones() -> None:
    with pytest.raises(SimulationError,
                       match=r"unknown backend 'gpu'; choose one of (\w+, )*sparse, statevector"):
        get_backend("gpu")
    with pytest.raises(SimulationError, match="unknown backend"):
        qsim.simulate(Circuit(1), backend="gpu")


# --- the protocol --------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_allocate_zero_and_initial(backend: type[State], dtype: type) -> None:
    s = backend.allocate(3, dtype)
    assert s.num_qubits == 3 and s.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(s.to_host(), on_host(backend, ket("000")))
    assert s.nbytes >= 8 * np.dtype(dtype).itemsize
    init = random_state(np.random.default_rng(0), 3)
    s = backend.allocate(3, dtype, init)
    np.testing.assert_allclose(s.to_host(), on_host(backend, init), atol=ATOL[dtype])
    s.to_host()[0] = 5  # the state owns its amplitudes: the caller's vector is untouched
    assert init[0] != 5


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(6))
def test_prepared_block_equals_embedded_product(backend: type[State], dtype: type,
                                                seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 7))
    c, ref = random_circuit(rng, n, 25)
    start = random_state(rng, n)
    prepared = backend.prepare(lower(c), n)
    s = backend.allocate(n, dtype, start)
    s.apply(prepared)
    want = on_host(backend, reference(n, ref, start))
    np.testing.assert_allclose(s.to_host(), want, atol=ATOL[dtype] * 10)
    # A prepared block is reusable: applied to a second state it gives the same result.
    t = backend.allocate(n, dtype, start)
    t.apply(prepared)
    np.testing.assert_allclose(t.to_host(), want, atol=ATOL[dtype] * 10)


def test_probabilities_of_chosen_qubits_in_the_order_given(backend: type[State]) -> None:
    psi = random_state(np.random.default_rng(3), 4)
    s = backend.allocate(4, np.complex128, psi)
    full = (np.abs(psi) ** 2).reshape(2, 2, 2, 2)  # axis k = qubit k
    for qs in ([0, 1, 2, 3], [2], [3, 0], [1, 3, 2]):
        rest = tuple(k for k in range(4) if k not in qs)
        want = full.sum(axis=rest) if rest else full
        want = want.transpose([sorted(qs).index(q) for q in qs]).ravel()
        got = s.probabilities(qs)
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, want, atol=1e-12)
    w0, w1 = s.qubit_weights(1)
    assert (w0, w1) == pytest.approx(tuple(full.sum(axis=(0, 2, 3))), abs=1e-12)


def test_collapse_projects_and_renormalises(backend: type[State]) -> None:
    psi = random_state(np.random.default_rng(4), 3)
    s = backend.allocate(3, np.complex128, psi)
    w0, w1 = s.qubit_weights(1)
    s.collapse(1, 1, w1)
    proj = embed(np.diag([0, 1]), [1], 3) @ psi
    np.testing.assert_allclose(s.to_host(), on_host(backend, proj / np.sqrt(w1)), atol=1e-12)
    assert s.qubit_weights(1) == pytest.approx((0.0, 1.0), abs=1e-12)


def test_reset_moves_the_kept_part_to_zero(backend: type[State]) -> None:
    psi = random_state(np.random.default_rng(5), 3)
    s = backend.allocate(3, np.complex128, psi)
    w0, w1 = s.qubit_weights(2)
    s.reset(2, 1, w1)
    # |1><1| on qubit 2, then X on qubit 2 (moves the kept half to |0>), renormalised.
    want = embed(np.array([[0, 1], [0, 0]]), [2], 3) @ psi / np.sqrt(w1)
    np.testing.assert_allclose(s.to_host(), on_host(backend, want), atol=1e-12)


def test_copy_is_independent(backend: type[State]) -> None:
    s = backend.allocate(2, np.complex128)
    c = s.copy()
    c.apply(backend.prepare(lower(Circuit(2).x(0)), 2))
    np.testing.assert_array_equal(s.to_host(), on_host(backend, ket("00")))
    np.testing.assert_array_equal(c.to_host(), on_host(backend, ket("10")))
    assert type(c) is type(s)


def test_factorizes_is_never_wrong(backend: type[State]) -> None:
    product = backend.allocate(2, np.complex128, np.kron([0.6, 0.8], [1, 1j]) / np.sqrt(2))
    bell = backend.allocate(2, np.complex128, np.array([1, 0, 0, 1]) / np.sqrt(2))
    assert not bell.factorizes(0, *bell.qubit_weights(0))
    if "merge_resets" in backend.capabilities:
        assert product.factorizes(0, *product.qubit_weights(0))


def test_memory_guard_refuses_before_allocating(backend: type[State]) -> None:
    # A density matrix holds 4**n entries: 15 of its qubits take what 30 of a state vector do.
    mixed = "density_matrix" in backend.capabilities
    what, n = ("density matrix", 15) if mixed else ("state vector", 30)
    with pytest.raises(SimulationError, match=f"{n}-qubit {what} needs 16.0 GiB") as err:
        backend.check_memory(n, np.complex128, max_memory=2**30)
    assert err.value.bytes_needed == 2**34
    what, n = ("density matrices of 10 qubits", 10) if mixed else ("state vectors of 20 qubits",
                                                                    20)
    with pytest.raises(SimulationError, match=f"3 {what}"):
        backend.check_memory(n, np.complex64, max_memory=2**23, copies=3)
    with pytest.raises(SimulationError, match="memory limit"):
        qsim.run(Circuit(30).h(0), backend=backend.name, max_memory=2**20)


# --- through the engine --------------------------------------------------------------------------
@pytest.mark.parametrize("precision", ["double", "single"])
def test_simulate_matches_the_reference(backend: type[State], precision: str) -> None:
    rng = np.random.default_rng(11)
    c, ref = random_circuit(rng, 5, 40)
    out = qsim.simulate(c, backend=backend.name, precision=precision)
    tol = ATOL[np.complex128 if precision == "double" else np.complex64] * 10
    np.testing.assert_allclose(out.data.ravel(), on_host(backend, reference(5, ref, ket("00000"))),
                               atol=tol)
    start = random_state(rng, 5)
    out = qsim.simulate(c, start, backend=backend.name, precision=precision)
    np.testing.assert_allclose(out.data.ravel(), on_host(backend, reference(5, ref, start)),
                               atol=tol)


def test_run_counts_follow_the_exact_distribution(backend: type[State]) -> None:
    # ry(2 asin(sqrt(0.3))) q0 -> P(q0 = 1) = 0.3; cx copies it to q1; x on q2.
    c = Circuit(3, 3).ry(2 * np.arcsin(np.sqrt(0.3)), 0).cx(0, 1).x(2).measure([0, 1, 2],
                                                                              [0, 1, 2])
    res = qsim.run(c, shots=20000, seed=3, backend=backend.name)
    assert set(res.counts) == {"001", "111"}
    p = res.counts["111"] / 20000
    assert abs(p - 0.3) < 4 * np.sqrt(0.3 * 0.7 / 20000)
    # The same seed gives the same counts on every backend (sampling is the engine's).
    assert res.counts == qsim.run(c, shots=20000, seed=3).counts


def test_keep_state_returns_the_pre_measurement_state(backend: type[State]) -> None:
    c = Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1])
    res = qsim.run(c, shots=10, seed=1, backend=backend.name, keep_state=True)
    # A density-matrix backend returns its final state in Result.density_matrix.
    final = res.density_matrix if "density_matrix" in backend.capabilities else res.state
    assert final is not None
    np.testing.assert_allclose(final.data.ravel(),
                               on_host(backend, np.array([1, 0, 0, 1]) / np.sqrt(2)), atol=1e-12)
    assert qsim.run(c, shots=10, seed=1, backend=backend.name).state is None


def test_teleportation_branches(backend: type[State]) -> None:
    # Teleport ry(0.8)|0> from q0 to q2: q2 reads 1 with probability sin(0.4)**2 whatever the
    # corrections' branch (four branches, each exercising collapse and conditional gates).
    c = Circuit(3)
    c.add_creg("m0", 1)
    c.add_creg("m1", 1)
    c.add_creg("out", 1)
    c.ry(0.8, 0).h(1).cx(1, 2).cx(0, 1).h(0).measure(0, 0).measure(1, 1)
    c.x(2).c_if("m1", 1)
    c.z(2).c_if("m0", 1)
    c.measure(2, 2)
    res = qsim.run(c, shots=20000, seed=5, backend=backend.name)
    ones = sum(v for k, v in res.counts.items() if k.endswith("1"))
    p = np.sin(0.4) ** 2
    assert abs(ones / 20000 - p) < 4 * np.sqrt(p * (1 - p) / 20000)
    assert {k[:3] for k in res.counts} == {"0 0", "0 1", "1 0", "1 1"}


def test_mid_circuit_reset_and_remeasure(backend: type[State]) -> None:
    # h; measure -> a; reset; x; measure -> b: a is uniform, b always 1.
    c = Circuit(1)
    c.add_creg("a", 1)
    c.add_creg("b", 1)
    c.h(0).measure(0, 0).reset(0).x(0).measure(0, 1)
    res = qsim.run(c, shots=4000, seed=2, backend=backend.name)
    assert set(res.counts) == {"0 1", "1 1"}
    assert abs(res.counts["1 1"] / 4000 - 0.5) < 4 * np.sqrt(0.25 / 4000)


def test_simulate_follows_one_trajectory(backend: type[State]) -> None:
    c = Circuit(2, 1).h(0).measure(0, 0).cx(0, 1)
    for seed in range(4):
        out = qsim.simulate(c, backend=backend.name, seed=seed)
        probs = out.probabilities()
        assert probs in ({"00": pytest.approx(1.0)}, {"11": pytest.approx(1.0)})
        assert out.probabilities() == qsim.simulate(c, seed=seed).probabilities()


def test_opaque_gate_is_a_clear_error(backend: type[State]) -> None:
    c = Circuit(1)
    c.define(GateDefinition("mystery", (), ("a",), None))
    c.append("mystery", [0])
    with pytest.raises(CircuitError, match="'mystery' is opaque"):
        qsim.simulate(c, backend=backend.name)
