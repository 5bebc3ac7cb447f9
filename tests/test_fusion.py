"""Gate fusion and the dense backend (qsim.compile.fusion / qsim.backends.dense) against the reference:
the product of embed(...) operators of the flattened circuit applied to the initial state."""

from __future__ import annotations

import math

import numpy as np
import pytest

import qsim
from qsim import Circuit, DefinitionOp, GateDefinition
from qsim.backends.dense import kernels
from qsim.backends.dense import state as statevector
from qsim.backends.dense.state import apply_gates, circuit_gates
from qsim.compile.fusion import FusedOp, FusionConfig, Gate, classify, fuse, permutation_map
from qsim.expr import BinOp, Num, Param
from qsim.gates import GATES, gate_matrix
from qsim.kron import embed, kron_apply

TOL = {np.complex128: 1e-10, np.complex64: 2e-5}
CONFIGS = [FusionConfig(1, 1, 1), FusionConfig(2, 3, 2), FusionConfig(3, 6, 8), FusionConfig(),
           FusionConfig(5, 10, 12), FusionConfig(6, 12, 16)]
NAMES = sorted(GATES)


def _unitary(rng: np.random.Generator, k: int) -> np.ndarray:
    a = rng.standard_normal((1 << k, 1 << k)) + 1j * rng.standard_normal((1 << k, 1 << k))
    return np.linalg.qr(a)[0]


def _definitions(c: Circuit) -> None:
    """A parametrised 2-qubit gate, a 3-qubit gate using it (nested), a 6-qubit one (wider than
    max_dense, so expanded) and a body-less-but-empty one."""
    t = Param("t")
    c.define(GateDefinition("mix", ("t",), ("a", "b"), (
        DefinitionOp("h", (), (0,)), DefinitionOp("cx", (), (0, 1)),
        DefinitionOp("rz", (BinOp("*", t, Num(2.0)),), (1,)), DefinitionOp("ry", (t,), (0,)))))
    c.define(GateDefinition("tri", ("t", "s"), ("a", "b", "c"), (
        DefinitionOp("mix", (Param("s"),), (2, 0)), DefinitionOp("ccx", (), (0, 1, 2)),
        DefinitionOp("cp", (t,), (1, 2)), DefinitionOp("mix", (t,), (1, 0)))))
    c.define(GateDefinition("wide", (), tuple("abcdef"), tuple(
        DefinitionOp("cx", (), (i, i + 1)) for i in range(5)) + (DefinitionOp("h", (), (5,)),)))
    c.define(GateDefinition("nop", (), ("a",), ()))


def random_circuit(rng: np.random.Generator, n: int, size: int) -> Circuit:
    """Every library gate, unitaries (dense, diagonal, permutation), definitions, barriers, random
    qubit orders."""
    c = Circuit(n)
    _definitions(c)
    for _ in range(size):
        r = rng.random()
        if r < 0.08:
            k = int(rng.integers(1, min(n, 3) + 1))
            qs = [int(q) for q in rng.permutation(n)[:k]]
            kind = rng.integers(3)
            if kind == 0:
                m = _unitary(rng, k)
            elif kind == 1:
                m = np.diag(np.exp(1j * rng.uniform(0, 6, 1 << k)))
            else:
                m = np.eye(1 << k)[rng.permutation(1 << k)]
            c.unitary(m, qs)
        elif r < 0.14:
            name = ["mix", "tri", "wide", "nop"][int(rng.integers(4))]
            d = c.definitions[name]
            if d.num_qubits > n:
                continue
            qs = [int(q) for q in rng.permutation(n)[:d.num_qubits]]
            c.append(name, qs, [float(x) for x in rng.choice([0.3, -1.1], d.num_params)])
        elif r < 0.16:
            c.barrier(*range(n))
        else:
            name = NAMES[int(rng.integers(len(NAMES)))]
            g = GATES[name]
            if g.num_qubits > n:
                continue
            qs = [int(q) for q in rng.permutation(n)[:g.num_qubits]]
            c.append(name, qs, [float(x) for x in rng.uniform(-4, 4, g.num_params)])
    return c


def reference(c: Circuit, psi: np.ndarray) -> np.ndarray:
    """Gate by gate on the flattened circuit: embed(...) @ psi (kron_apply above 6 qubits)."""
    n = c.num_qubits
    psi = psi.astype(np.complex128)
    for ins in c.flatten().instructions:
        if ins.name == "barrier":
            continue
        m = ins.matrix if ins.name == "unitary" else gate_matrix(ins.name, ins.params)
        psi = embed(m, ins.qubits, n) @ psi if n <= 6 else kron_apply(m, ins.qubits, psi)
    return psi


def _state(rng: np.random.Generator, n: int, dtype: type) -> np.ndarray:
    v = rng.standard_normal(1 << n) + 1j * rng.standard_normal(1 << n)
    return (v / np.linalg.norm(v)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
@pytest.mark.parametrize("chunk", [8, 1 << 14])
def test_random_circuits_match_reference(monkeypatch: pytest.MonkeyPatch, dtype: type,
                                         chunk: int) -> None:
    monkeypatch.setattr(kernels, "CHUNK", chunk)
    rng = np.random.default_rng(chunk)
    for trial in range(30):
        n = int(rng.integers(1, 9))
        c = random_circuit(rng, n, int(rng.integers(1, 50)))
        psi = _state(rng, n, dtype)
        ref = reference(c, psi)
        for cfg in CONFIGS:
            ws = kernels.Workspace(dtype, kernels.CHUNK, 1, fill=np.nan)
            out = apply_gates(c, c.instructions, psi.copy(), fusion=cfg, threads=1,
                              workspace=ws)
            assert out.dtype == dtype
            np.testing.assert_allclose(out, ref, atol=TOL[dtype], rtol=0,
                                       err_msg=f"trial {trial}, {cfg}")


def test_threads_match_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kernels, "CHUNK", 16)
    monkeypatch.setattr(kernels, "MIN_PARALLEL", 1)
    rng = np.random.default_rng(11)
    for _ in range(15):
        n = int(rng.integers(4, 9))
        c = random_circuit(rng, n, 40)
        psi = _state(rng, n, np.complex128)
        out = apply_gates(c, c.instructions, psi.copy(), threads=2)
        np.testing.assert_allclose(out, reference(c, psi), atol=1e-10, rtol=0)


def _op_matrix(op: FusedOp, n: int) -> np.ndarray:
    if op.kind == "diag":
        m = np.diag(op.data)
    elif op.kind == "perm":
        m = np.zeros((op.data.size,) * 2)
        m[np.arange(op.data.size), op.data] = 1
    else:
        m = op.data
    return embed(m, list(op.qubits), n)


@pytest.mark.parametrize("cfg", CONFIGS[1:], ids=str)
def test_fused_ops_product_and_limits(cfg: FusionConfig) -> None:
    """The fused operators multiply to the circuit's unitary and respect the size limits (a
    single gate wider than the limit stays one operator)."""
    rng = np.random.default_rng(cfg.max_dense)
    for _ in range(20):
        n = int(rng.integers(2, 7))
        c = random_circuit(rng, n, 30)
        gates = list(circuit_gates(c, c.instructions, cfg.max_dense))
        ops = fuse(gates, cfg)
        total = np.eye(1 << n, dtype=complex)
        for op in ops:
            total = _op_matrix(op, n) @ total
            assert list(op.qubits) == sorted(op.qubits)
            limit = {"dense": cfg.max_dense, "perm": cfg.max_perm, "diag": cfg.max_diag}[op.kind]
            widest = max((len(g.qubits) for g in gates), default=0)
            assert len(op.qubits) <= max(limit, widest)
        expect = np.eye(1 << n, dtype=complex)
        for g in gates:
            expect = embed(g.matrix, list(g.qubits), n) @ expect
        np.testing.assert_allclose(total, expect, atol=1e-10)


def _qft(n: int) -> Circuit:
    c = Circuit(n)
    for j in range(n):
        c.h(j)
        for k in range(j + 1, n):
            c.cp(math.pi / 2 ** (k - j), k, j)
    for i in range(n // 2):
        c.swap(i, n - 1 - i)
    return c


def test_qft_fuses_into_few_operators() -> None:
    """Controlled phases wait and are hoisted into a few diagonal passes between dense blocks."""
    n = 12
    c = _qft(n)
    cfg = FusionConfig(4, 10, 12)
    ops = fuse(circuit_gates(c, c.instructions), cfg)
    kinds = [op.kind for op in ops]
    assert kinds.count("dense") == 3  # one per 4-qubit group
    assert kinds.count("diag") <= 3
    assert len(ops) <= 8
    psi = _state(np.random.default_rng(0), n, np.complex128)
    np.testing.assert_allclose(apply_gates(c, c.instructions, psi.copy(), fusion=cfg),
                               reference(c, psi), atol=1e-10)


def test_ghz_chain_becomes_permutations() -> None:
    n = 14
    c = Circuit(n).h(0)
    for q in range(n - 1):
        c.cx(q, q + 1)
    ops = fuse(circuit_gates(c, c.instructions), FusionConfig(4, 10, 12))
    assert [op.kind for op in ops] == ["dense", "perm", "perm"]
    psi = np.zeros(1 << n, complex)
    psi[0] = 1
    out = apply_gates(c, c.instructions, psi)
    assert abs(out[0] - 2 ** -0.5) < 1e-12 and abs(out[-1] - 2 ** -0.5) < 1e-12


def test_definition_matrix_computed_once_per_parameter_set(monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    calls: list[str] = []
    original = statevector._BodyMatrices._compute

    def counting(self: object, body: object) -> tuple[str, np.ndarray]:
        calls.append(body.name)  # type: ignore[attr-defined]
        return original(self, body)  # type: ignore[arg-type]

    monkeypatch.setattr(statevector._BodyMatrices, "_compute", counting)
    c = Circuit(4)
    _definitions(c)
    for i in range(10):
        c.append("tri", [i % 4, (i + 1) % 4, (i + 2) % 4], [0.5, 0.25])
    c.append("tri", [0, 1, 2], [0.5, 0.3])
    gates = list(circuit_gates(c, c.instructions))
    # tri(0.5, 0.25) and tri(0.5, 0.3) once each; the nested mix for t = 0.25, 0.5, 0.3 once each.
    assert [n for n in calls if n == "tri"] == ["tri", "tri"] and calls.count("mix") == 3
    assert all(g.kind == "dense" and len(g.qubits) == 3 for g in gates)
    psi = _state(np.random.default_rng(1), 4, np.complex128)
    np.testing.assert_allclose(apply_gates(c, c.instructions, psi.copy()), reference(c, psi),
                               atol=1e-10)


def test_wide_definition_is_expanded_and_identity_dropped() -> None:
    c = Circuit(6)
    _definitions(c)
    c.append("wide", list(range(6)))
    c.append("nop", [2])
    c.id(3)
    gates = list(circuit_gates(c, c.instructions, max_definition=4))
    assert [g.kind for g in gates] == ["perm"] * 5 + ["dense", "diag"]
    assert gates[-1].matrix.shape == (2, 2)


def test_classify() -> None:
    assert classify(np.diag([1, 1j])) == "diag"
    assert classify(gate_matrix("cx")) == "perm"
    assert classify(gate_matrix("swap")) == "perm"
    assert classify(gate_matrix("h")) == "dense"
    assert classify(gate_matrix("y")) == "dense"  # a phase times a permutation is dense here
    assert classify(np.eye(4)[[0, 1, 3, 2]] * 1.0) == "perm"
    np.testing.assert_array_equal(permutation_map(gate_matrix("cx")), [0, 1, 3, 2])


def test_fuse_keeps_order_of_noncommuting_diagonals_and_perms() -> None:
    """A diagonal gate may not move across a permutation on its qubits."""
    n = 3
    gates = [Gate("diag", (0,), gate_matrix("t")), Gate("perm", (0, 1), gate_matrix("cx")),
             Gate("diag", (1,), gate_matrix("s")), Gate("perm", (1, 2), gate_matrix("cx")),
             Gate("diag", (2, 0), gate_matrix("cz")), Gate("dense", (1,), gate_matrix("h"))]
    for cfg in CONFIGS:
        total = np.eye(8, dtype=complex)
        for op in fuse(gates, cfg):
            total = _op_matrix(op, n) @ total
        expect = np.eye(8, dtype=complex)
        for g in gates:
            expect = embed(g.matrix, list(g.qubits), n) @ expect
        np.testing.assert_allclose(total, expect, atol=1e-12, err_msg=str(cfg))


def test_backend_through_simulate_both_precisions() -> None:
    import qsim

    rng = np.random.default_rng(5)
    c = random_circuit(rng, 6, 60)
    zero = np.zeros(64, complex)
    zero[0] = 1
    ref = reference(c, zero)
    np.testing.assert_allclose(qsim.simulate(c).data, ref, atol=1e-10)
    single = qsim.simulate(c, precision="single").data
    assert single.dtype == np.complex64
    np.testing.assert_allclose(single, ref, atol=2e-5)


def test_non_contiguous_state_is_handled() -> None:
    rng = np.random.default_rng(9)
    c = random_circuit(rng, 4, 20)
    big = _state(rng, 5, np.complex128)
    psi = big[::2]  # a strided view: the backend works on a contiguous copy and returns it
    out = apply_gates(c, c.instructions, psi)
    np.testing.assert_allclose(out, reference(c, np.ascontiguousarray(psi)), atol=1e-10)


def test_global_phase_unitary_is_kept() -> None:
    c = Circuit(2).h(0)
    c.unitary(np.array([[1j]]), [])
    c.cx(0, 1)
    zero = np.zeros(4, complex)
    zero[0] = 1
    out = apply_gates(c, c.instructions, zero.copy())
    np.testing.assert_allclose(out, [1j * 2 ** -0.5, 0, 0, 1j * 2 ** -0.5], atol=1e-12)
    ops = fuse(circuit_gates(c, c.instructions))
    assert ops[-1].qubits == () and ops[-1].data[0] == 1j


def test_long_single_qubit_runs_fuse_to_the_product() -> None:
    # Thousands of one-qubit gates on few qubits: each qubit's product of 2x2 matrices, computed
    # here by hand-rolled matrix products, must equal the fused simulation (this path once copied
    # the whole gate list per gate).
    import qsim
    from qsim.gates import gate_matrix

    rng = np.random.default_rng(11)
    n = 3
    c = qsim.Circuit(n)
    per_qubit = [np.eye(2, dtype=complex) for _ in range(n)]
    for _ in range(3000):
        q = int(rng.integers(n))
        theta = float(rng.uniform(-3, 3))
        c.ry(theta, q)
        per_qubit[q] = gate_matrix("ry", (theta,)) @ per_qubit[q]
    expected = np.kron(np.kron(per_qubit[0][:, 0], per_qubit[1][:, 0]), per_qubit[2][:, 0])
    np.testing.assert_allclose(qsim.simulate(c).data, expected, atol=1e-10)


def test_exponentially_nested_definitions_are_not_expanded() -> None:
    # g_i calls g_{i-1} twice, so g40 stands for 2**40 gates: lowering keeps one body per
    # definition and the dense backend multiplies 40 2x2 matrices instead of walking the tree.
    # ry(t)^(2**40) = ry(2**40 t) = ry(0.6): P(1) = sin(0.3)**2.
    text = ('OPENQASM 2.0;\ninclude "qelib1.inc";\ngate g0 a { ry(0.6/1099511627776) a; }\n'
            + "".join(f"gate g{i} a {{ g{i - 1} a; g{i - 1} a; }}\n" for i in range(1, 41))
            + "qreg q[1];\ng40 q[0];\n")
    probs = qsim.simulate(qsim.loads_qasm(text)).probabilities_array()
    np.testing.assert_allclose(probs, [np.cos(0.3) ** 2, np.sin(0.3) ** 2], atol=1e-9)
