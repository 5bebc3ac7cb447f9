"""Gradients of expectation values (qsim.engine.gradients): the adjoint method and the parameter-shift
rules against central finite differences of the exact expectation, against each other, against a
textbook value, and the errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import qsim
from qsim import Circuit, CircuitError, DefinitionOp, GateDefinition, SimulationError
from qsim.engine import gradients as gr
from qsim.engine.gradients import gradient, matrix_derivative
from qsim.expr import cos, sin
from qsim.gates import GATES, GateDef
from qsim.pauli import PauliSum

theta, phi, alpha = qsim.Parameter("theta"), qsim.Parameter("phi"), qsim.Parameter("alpha")
PARAMETRISED = sorted(n for n, g in GATES.items() if g.num_params)
#: Every parametrised library gate, as the issue lists them.
LISTED = ["rx", "ry", "rz", "p", "u1", "u2", "u3", "u", "U", "cp", "cu1", "crx", "cry", "crz",
          "cu3", "cu", "rxx", "ryy", "rzz", "rzx", "r"]


def energy(c: Circuit, h: PauliSum, values: dict[str, float]) -> float:
    """<psi|H|psi> of the bound circuit, simulated exactly (the reference)."""
    return float(np.real(h.expectation_value(qsim.simulate(c.bind(values)))))


def finite_difference(c: Circuit, h: PauliSum, values: dict[str, float],
                      step: float = 1e-5) -> np.ndarray:
    """Central differences of the exact expectation: error ~ step**2 + 1e-16/step ~ 1e-10."""
    out = []
    for p in c.parameters:
        up, down = dict(values), dict(values)
        up[p.name] += step
        down[p.name] -= step
        out.append((energy(c, h, up) - energy(c, h, down)) / (2 * step))
    return np.array(out)


def random_hamiltonian(n: int, terms: int, rng: np.random.Generator) -> PauliSum:
    labels = ["".join(rng.choice(list("IXYZ"), n)) for _ in range(terms)]
    return PauliSum.from_terms([(float(rng.normal()), lab) for lab in labels])


def random_unitary(k: int, rng: np.random.Generator) -> np.ndarray:
    z = rng.normal(size=(1 << k, 1 << k)) + 1j * rng.normal(size=(1 << k, 1 << k))
    q, r = np.linalg.qr(z)
    return q * (np.diag(r) / np.abs(np.diag(r)))


EXPRESSIONS = [
    lambda: theta, lambda: phi, lambda: alpha, lambda: 2 * theta - 0.1, lambda: sin(phi),
    lambda: theta * phi, lambda: cos(alpha) + 0.3 * theta, lambda: -alpha / 3,
    lambda: 0.7,  # a constant slot among parametrised ones
]

# A parametrised definition (nested: "outer" calls "inner"), with expressions of its formal
# parameters, a constant slot and pi.
INNER = GateDefinition("inner", ("a", "b"), ("x", "y"), (
    DefinitionOp("ry", (2 * qsim.Parameter("a"),), (0,)),
    DefinitionOp("cx", (), (0, 1)),
    DefinitionOp("crz", (qsim.Parameter("b") - qsim.Parameter("a"),), (1, 0)),
    DefinitionOp("u3", (qsim.Parameter("b"), 0.3, sin(qsim.Parameter("a"))), (1,)),
))
OUTER = GateDefinition("outer", ("t",), ("x", "y", "z"), (
    DefinitionOp("inner", (qsim.Parameter("t"), qsim.Parameter("t") * qsim.Parameter("t")),
                 (0, 2)),
    DefinitionOp("barrier", (), (0, 1, 2)),
    DefinitionOp("rzx", (qsim.Parameter("t") / 2,), (2, 1)),
))


def random_circuit(n: int, rng: np.random.Generator, gates: list[str] = LISTED) -> Circuit:
    """Every gate of ``gates`` once (random qubits, random expressions per slot), with
    entanglers, random unitaries and the parametrised definitions in between."""
    c = Circuit(n)
    c.define(INNER)
    c.define(OUTER)
    c.ry(theta, 0)  # theta, phi, alpha appear first in this order
    c.rx(phi, n - 1)
    c.rz(alpha, 0)
    for name in rng.permutation(gates):
        g = GATES[name]
        qs = [int(q) for q in rng.choice(n, g.num_qubits, replace=False)]
        params = [EXPRESSIONS[int(rng.integers(len(EXPRESSIONS)))]() for _ in range(g.num_params)]
        c.gate(name, *params, *qs)
        r = rng.random()
        if r < 0.3:
            a, b = (int(q) for q in rng.choice(n, 2, replace=False))
            c.cx(a, b)
        elif r < 0.45:
            c.h(int(rng.integers(n)))
        elif r < 0.55:
            c.unitary(random_unitary(1, rng), int(rng.integers(n)))
    if n >= 3:
        a, b, d = (int(q) for q in rng.choice(n, 3, replace=False))
        c.gate("outer", 2 * theta - 0.1, a, b, d)
        c.gate("inner", phi, theta * alpha, b, d)
    else:
        c.gate("inner", phi, theta * alpha, 1, 0)
    return c


VALUES = {"theta": 0.37, "phi": -1.21, "alpha": 2.05}


@pytest.mark.parametrize("n,seed", [(2, 0), (3, 1), (4, 2), (5, 3), (5, 4)])
def test_both_methods_match_finite_differences_on_random_circuits(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    c = random_circuit(n, rng)
    h = random_hamiltonian(n, 6, rng)
    assert c.parameters == (theta, phi, alpha)
    want = finite_difference(c, h, VALUES)
    adj = gradient(c, h, VALUES)
    ps = gradient(c, h, VALUES, method="parameter-shift")
    assert adj.dtype == np.float64 and adj.shape == (3,)
    np.testing.assert_allclose(adj, want, atol=1e-7)
    np.testing.assert_allclose(ps, want, atol=1e-7)
    np.testing.assert_allclose(adj, ps, atol=1e-8)
    assert np.abs(want).max() > 1e-3  # not a trivially flat landscape


@pytest.mark.parametrize("name", PARAMETRISED)
def test_each_parametrised_gate_alone(name: str) -> None:
    """Each slot of each gate its own parameter, between random unitaries, on every qubit order."""
    g = GATES[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    n = 3
    ps = [qsim.Parameter(f"p{j}") for j in range(g.num_params)]
    values = {p.name: float(v) for p, v in zip(ps, rng.uniform(-3, 3, g.num_params))}
    h = random_hamiltonian(n, 5, rng)
    for qs in ([0, 1, 2][:g.num_qubits], [2, 0, 1][:g.num_qubits]):
        c = Circuit(n).unitary(random_unitary(n, rng), [0, 1, 2])
        c.gate(name, *ps, *qs)
        c.unitary(random_unitary(n, rng), [0, 1, 2])
        want = finite_difference(c, h, values)
        np.testing.assert_allclose(gradient(c, h, values), want, atol=1e-7)
        np.testing.assert_allclose(gradient(c, h, values, method="parameter-shift"), want,
                                   atol=1e-7)


def test_every_parametrised_gate_is_listed_and_has_a_rule() -> None:
    assert set(LISTED) <= set(PARAMETRISED)
    for name in PARAMETRISED:
        g = GATES[name]
        assert g.generator is not None or len(gr.SHIFT_RULES[name]) == g.num_params, name


@pytest.mark.parametrize("name", PARAMETRISED)
def test_matrix_derivative_is_exact(name: str) -> None:
    """The four-term matrix rule against a Richardson-extrapolated numerical derivative."""
    g = GATES[name]
    rng = np.random.default_rng(7)
    for _ in range(3):
        p = rng.uniform(-4, 4, g.num_params)
        for j in range(g.num_params):
            def at(s: float, j: int = j, p: np.ndarray = p) -> np.ndarray:
                q = p.copy()
                q[j] += s
                return np.asarray(g.matrix_fn(*q), dtype=complex)

            d1 = (at(1e-3) - at(-1e-3)) / 2e-3
            d2 = (at(5e-4) - at(-5e-4)) / 1e-3
            numeric = (4 * d2 - d1) / 3
            np.testing.assert_allclose(matrix_derivative(name, p, j), numeric, atol=1e-9)


def test_textbook_ry_on_zero() -> None:
    """<Z> after ry(theta)|0> is cos(theta): the derivative is -sin(theta)."""
    c = Circuit(1).ry(theta, 0)
    for t in (-2.5, -0.3, 0.0, 0.5, 1.0, math.pi / 2, 3.0):
        for method in gr.METHODS:
            g = gradient(c, "Z", {theta: t}, method=method)
            assert g.shape == (1,)
            assert g[0] == pytest.approx(-math.sin(t), abs=1e-12)
    # The chain rule through an expression: d cos(2 theta - 0.1) / d theta.
    c2 = Circuit(1).ry(2 * theta - 0.1, 0)
    for method in gr.METHODS:
        assert gradient(c2, "Z", [0.4], method=method)[0] == pytest.approx(
            -2 * math.sin(0.7), abs=1e-12)


def test_parameter_used_several_times_and_in_several_gates() -> None:
    # <Z0> of rx(theta) ry(theta) on |0> is cos(theta)^2: derivative -sin(2 theta).
    c = Circuit(2).rx(theta, 0).ry(theta, 0).rzz(theta * phi, 0, 1)
    for method in gr.METHODS:
        g = gradient(c, "ZI", {"theta": 0.3, "phi": 0.8}, method=method)
        assert g[0] == pytest.approx(-math.sin(0.6), abs=1e-12)
        assert g[1] == pytest.approx(0.0, abs=1e-12)


def test_values_forms_and_parameter_order() -> None:
    c = Circuit(2).ry(phi, 0).cx(0, 1).rx(sin(theta) + phi, 1)
    h = PauliSum.from_string("0.5*ZZ - 1.2*XI + 0.3*YX")
    assert c.parameters == (phi, theta)
    ref = gradient(c, h, {phi: 0.2, theta: -0.7})
    np.testing.assert_allclose(gradient(c, h, {"theta": -0.7, "phi": 0.2}), ref, atol=1e-14)
    np.testing.assert_allclose(gradient(c, h, [0.2, -0.7]), ref, atol=1e-14)
    np.testing.assert_allclose(gradient(c, h, np.array([0.2, -0.7])), ref, atol=1e-14)
    np.testing.assert_allclose(ref, finite_difference(c, h, {"phi": 0.2, "theta": -0.7}),
                               atol=1e-8)


def test_observable_forms_agree() -> None:
    rng = np.random.default_rng(11)
    c = random_circuit(3, rng, ["ry", "crx", "u3", "rzz"])
    h = random_hamiltonian(3, 5, rng)
    ref = gradient(c, h, VALUES)
    np.testing.assert_allclose(gradient(c, str(h), VALUES), ref, atol=1e-12)
    dense = h.to_sparse().toarray()
    np.testing.assert_allclose(gradient(c, dense, VALUES), ref, atol=1e-12)
    np.testing.assert_allclose(gradient(c, h.to_sparse(), VALUES), ref, atol=1e-12)
    np.testing.assert_allclose(gradient(c, dense, VALUES, method="parameter-shift"), ref,
                               atol=1e-10)


def test_pauli_apply_matches_the_sparse_matrix() -> None:
    rng = np.random.default_rng(5)
    for n in (1, 3, 6):
        h = random_hamiltonian(n, 12, rng).simplify()
        psi = rng.normal(size=1 << n) + 1j * rng.normal(size=1 << n)
        np.testing.assert_allclose(h.apply(psi), h.to_sparse() @ psi, atol=1e-12)
    # Many terms sharing X masks: the Walsh-Hadamard branch (more than _GEMM_MAX_TERMS).
    n = 8
    labels = {"".join(rng.choice(list("IZ"), n)) for _ in range(400)}
    labels |= {"X" + lab[1:] for lab in labels}
    assert len(labels) > 2 * qsim.pauli._GEMM_MAX_TERMS
    h = PauliSum.from_terms([(float(rng.normal()), lab) for lab in sorted(labels)])
    psi = rng.normal(size=1 << n) + 1j * rng.normal(size=1 << n)
    np.testing.assert_allclose(h.apply(psi), h.to_sparse() @ psi,
                               atol=1e-10)
    single = h.apply(psi.astype(np.complex64))
    assert single.dtype == np.complex64
    np.testing.assert_allclose(single, h.to_sparse() @ psi, atol=1e-3)


@pytest.mark.parametrize("axes", [(0,), (3,), (6,), (0, 1), (0, 6), (2, 5), (5, 6), (1, 3)])
def test_cross_matrix_layouts(axes: tuple[int, ...]) -> None:
    """Every way of reading R[a, b] = sum_rest lamc[a, rest] psi[b, rest] gives the same matrix,
    and the copy-apply-dot fallback the same <lambda|M|psi>."""
    n = 7
    rng = np.random.default_rng(len(axes) * 10 + axes[0])
    lamc = rng.normal(size=1 << n) + 1j * rng.normal(size=1 << n)
    psi = rng.normal(size=1 << n) + 1j * rng.normal(size=1 << n)
    k = len(axes)
    rest = [q for q in range(n) if q not in axes]
    perm = list(axes) + rest
    lt = lamc.reshape((2,) * n).transpose(perm).reshape(1 << k, -1)
    pt = psi.reshape((2,) * n).transpose(perm).reshape(1 << k, -1)
    want = lt @ pt.T
    for how in ("einsum", "gemm"):
        if how == "gemm" and n - axes[0] > 5:
            continue
        np.testing.assert_allclose(gr.cross_matrix(lamc, psi, axes, n, how), want, atol=1e-10)
    m = rng.normal(size=(1 << k, 1 << k)) + 1j * rng.normal(size=(1 << k, 1 << k))
    qubits = list(reversed(axes))  # unsorted: the matrix is reordered to match
    full = qsim.embed(m, qubits, n)
    ws = qsim.backends.dense.kernels.Workspace(psi.dtype)
    got = gr._cross_expectations(lamc, psi, [m], qubits, ws, 1, [])
    assert got[0] == pytest.approx(lamc @ (full @ psi), abs=1e-9)


def test_no_parameters_gives_an_empty_gradient() -> None:
    for values in (None, {}, []):
        g = gradient(Circuit(2).h(0).cx(0, 1), "ZZ", values)
        assert g.shape == (0,) and g.dtype == np.float64


def test_parameter_not_reaching_the_state_has_zero_gradient() -> None:
    # A definition that ignores its parameter, and a parameter whose gate commutes with H.
    ignore = GateDefinition("ignore", ("a",), ("x",), (DefinitionOp("h", (), (0,)),))
    c = Circuit(2).define(ignore).gate("ignore", phi, 0).rz(theta, 1)
    for method in gr.METHODS:
        np.testing.assert_allclose(gradient(c, "XZ", [0.3, 0.4], method=method), [0.0, 0.0],
                                   atol=1e-14)


def test_terminal_measurements_barriers_and_leading_resets_are_ignored() -> None:
    rng = np.random.default_rng(3)
    c = random_circuit(3, rng, ["ry", "cry", "u2"])
    h = random_hamiltonian(3, 4, rng)
    ref = gradient(c, h, VALUES)
    d = Circuit(3, 3)
    d.definitions = dict(c.definitions)
    d.reset(1)
    for ins in c.instructions:
        d.instructions.append(ins)
        d.barrier()
    d.measure([0, 1, 2], [0, 1, 2])
    for method in gr.METHODS:
        np.testing.assert_allclose(gradient(d, h, VALUES, method=method), ref, atol=1e-9)


def test_definition_from_qasm_called_with_expressions() -> None:
    c = qsim.loads_qasm("""OPENQASM 2.0;
include "qelib1.inc";
gate layer(a, b) x, y { ry(a) x; ry(b - a/2) y; cx x, y; rz(2*b) y; }
qreg q[2];
h q[1];
""")
    c.gate("layer", theta, sin(phi), 0, 1)
    c.gate("layer", phi * theta, 0.4, 1, 0)
    h = PauliSum.from_string("ZZ + 0.5*XI - 0.7*IY")
    values = {"theta": 0.9, "phi": -0.4}
    want = finite_difference(c, h, values)
    for method in gr.METHODS:
        np.testing.assert_allclose(gradient(c, h, values, method=method), want, atol=1e-7)


def test_single_precision_and_the_sparse_backend() -> None:
    rng = np.random.default_rng(8)
    c = random_circuit(4, rng)
    h = random_hamiltonian(4, 5, rng)
    ref = gradient(c, h, VALUES)
    np.testing.assert_allclose(gradient(c, h, VALUES, precision="single"), ref, atol=1e-4)
    np.testing.assert_allclose(gradient(c, h, VALUES, backend="sparse"), ref, atol=1e-10)
    np.testing.assert_allclose(
        gradient(c, h, VALUES, method="parameter-shift", backend="sparse"), ref, atol=1e-9)


def test_gradient_of_a_larger_state_uses_every_layout() -> None:
    """8 qubits: the einsum, gemm and fallback paths of the backward pass all occur."""
    rng = np.random.default_rng(21)
    n = 8
    c = Circuit(n)
    for layer in range(2):
        for q in range(n):
            c.ry([theta, phi, alpha][(q + layer) % 3] * (q + 1) / n, q)
        for q in range(n - 1):
            c.cx(q, q + 1)
    c.crx(theta, 0, n - 1).rzz(phi, 1, n - 2).cu3(alpha, theta, phi, n - 1, 0)
    h = random_hamiltonian(n, 8, rng)
    want = finite_difference(c, h, VALUES)
    np.testing.assert_allclose(gradient(c, h, VALUES), want, atol=1e-7)
    np.testing.assert_allclose(gradient(c, h, VALUES, method="parameter-shift"), want, atol=1e-7)



def test_pauli_apply_tiled_matches_the_grouped_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tile-by-tile H psi (many qubits, few terms) against the X-mask-group path, with X/Y
    flips on the tile's bits, the top bits and both, and terms sharing an X mask."""
    rng = np.random.default_rng(8)
    n = 9
    labels = ["".join(rng.choice(list("IXYZ"), n)) for _ in range(20)]
    labels += ["Z" * n, "X" + "I" * (n - 1), "I" * (n - 1) + "Y", "XZ" + "I" * (n - 2)]
    h = PauliSum.from_terms([(float(rng.normal()), lab) for lab in labels]).simplify()
    psi = rng.normal(size=1 << n) + 1j * rng.normal(size=1 << n)
    want = h.to_sparse() @ psi
    for bits in (3, 5, n):
        monkeypatch.setattr(qsim.pauli, "_TILE_MIN_QUBITS", 2)
        monkeypatch.setattr(qsim.pauli, "_TILE_BITS", bits)
        np.testing.assert_allclose(h.apply(psi), want, atol=1e-12)
        single = h.apply(psi.astype(np.complex64))
        assert single.dtype == np.complex64
        np.testing.assert_allclose(single, want, atol=1e-4)


def test_chains_of_one_qubit_parametrised_gates() -> None:
    """Parametrised one-qubit gates following each other on a qubit (read at one point, each
    through the later gates' conjugation), with a constant gate and a two-qubit gate between."""
    c = Circuit(3)
    for q in range(3):
        c.ry(theta * (q + 1), q)
    c.h(1)
    for q in range(3):
        c.rz(phi - q, q)
    c.rx(alpha, 0).p(theta, 0).u3(alpha, phi, theta, 2)
    c.cx(0, 1).ry(phi, 1).rz(theta, 1).crz(alpha, 1, 2).rz(phi, 2)
    h = random_hamiltonian(3, 8, np.random.default_rng(9))
    want = finite_difference(c, h, VALUES)
    np.testing.assert_allclose(gradient(c, h, VALUES), want, atol=1e-7)
    np.testing.assert_allclose(gradient(c, h, VALUES),
                               gradient(c, h, VALUES, method="parameter-shift"), atol=1e-10)

# --- errors --------------------------------------------------------------------------------------
def test_missing_or_bad_values() -> None:
    c = Circuit(1).ry(theta, 0).rz(phi, 0)
    with pytest.raises(CircuitError, match="pass their values"):
        gradient(c, "Z")
    with pytest.raises(CircuitError, match="no value for parameter.*phi"):
        gradient(c, "Z", {theta: 0.1})
    with pytest.raises(CircuitError, match="expected 2 value"):
        gradient(c, "Z", [0.1])
    with pytest.raises(CircuitError, match="not a parameter"):
        gradient(c, "Z", {"theta": 0.1, "phi": 0.2, "beta": 0.3})
    with pytest.raises(CircuitError, match="real number"):
        gradient(c, "Z", [0.1, 1j])
    with pytest.raises(CircuitError, match="finite"):
        gradient(c, "Z", [0.1, math.nan])


def test_mid_circuit_measurement_reset_and_conditions_are_refused() -> None:
    c = Circuit(2, 2).ry(theta, 0).measure(0, 0).rx(theta, 0)
    with pytest.raises(CircuitError, match="mid-circuit measurement"):
        gradient(c, "ZZ", [0.3])
    c = Circuit(2, 2).ry(theta, 0).measure(0, 0).rx(theta, 1).gate("cx", 1, 0)
    with pytest.raises(CircuitError, match="mid-circuit measurement"):
        gradient(c, "ZZ", [0.3], method="parameter-shift")
    c = Circuit(2).ry(theta, 0).reset(0)
    with pytest.raises(CircuitError, match="reset"):
        gradient(c, "ZZ", [0.3])
    c = Circuit(2, 1).ry(theta, 0).x(1).c_if("c", 1)
    with pytest.raises(CircuitError, match="classically controlled"):
        gradient(c, "ZZ", [0.3])


def test_unsupported_gate_for_parameter_shift(monkeypatch: pytest.MonkeyPatch) -> None:
    """A gate without a shift rule (here exp(2ip)-phases, frequency 2): parameter-shift refuses
    and points to the adjoint method, which differentiates it (finite-difference fallback)."""
    fn = lambda p: np.diag([1.0, np.exp(2j * p)])  # noqa: E731
    monkeypatch.setitem(GATES, "p2", GateDef("p2", 1, 1, fn, diagonal=True))
    c = Circuit(1).h(0).gate("p2", theta, 0).h(0)
    h = PauliSum.from_string("Z + 0.5*X")
    with pytest.raises(CircuitError, match="no parameter-shift rule.*adjoint"):
        gradient(c, h, [0.4], method="parameter-shift")
    np.testing.assert_allclose(gradient(c, h, [0.4]), finite_difference(c, h, {"theta": 0.4}),
                               atol=1e-8)


def test_bad_observable_method_and_arguments() -> None:
    c = Circuit(2).ry(theta, 0)
    with pytest.raises(CircuitError, match="acts on 3 qubit"):
        gradient(c, PauliSum.from_string("ZZZ"), [0.1])
    with pytest.raises(CircuitError, match="not Hermitian"):
        gradient(c, PauliSum.from_string("1j*ZZ"), [0.1])
    with pytest.raises(CircuitError, match="not Hermitian"):
        gradient(c, np.triu(np.ones((4, 4))), [0.1])
    with pytest.raises(CircuitError, match="4x4"):
        gradient(c, np.eye(2), [0.1])
    with pytest.raises(SimulationError, match="method"):
        gradient(c, "ZZ", [0.1], method="backprop")
    with pytest.raises(SimulationError, match="backend"):
        gradient(c, "ZZ", [0.1], backend="nope")
    with pytest.raises(SimulationError, match="precision"):
        gradient(c, "ZZ", [0.1], precision="half")
    with pytest.raises(CircuitError, match="qsim.Circuit"):
        gradient("ry(0.1) q[0];", "Z", [0.1])  # type: ignore[arg-type]
    opaque = GateDefinition("blackbox", ("a",), ("x",), None)
    with pytest.raises(CircuitError, match="opaque"):
        gradient(Circuit(1).define(opaque).gate("blackbox", theta, 0), "Z", [0.1])
