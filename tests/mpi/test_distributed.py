"""The distributed backend under mpiexec (1, 2, 4 or 8 ranks): every rank runs each test.

Reference values come from the single-process dense backend (``backend="statevector"``, run on
every rank) and from swap counts derived by hand; nothing is compared with the MPI backend itself.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

if os.environ.get("QSIM_MPI_TESTS") != "1":  # not even MPI_Init outside make test-mpi
    pytest.skip("MPI tests run under mpiexec: make test-mpi", allow_module_level=True)

import qsim  # noqa: E402
from qsim import Circuit, SimulationError  # noqa: E402
from qsim.backends.dense import state as dense_state  # noqa: E402
from qsim.backends.mpi import (  # noqa: E402
    STATS,
    MPIState,
    communicator,
    count_swaps,
    prepared_from_ops,
    reset_exchange_stats,
)
from qsim.compile import lower  # noqa: E402
from qsim.compile.fusion import FusedOp  # noqa: E402
from qsim.gates import GATES  # noqa: E402

COMM = communicator()
SIZE = COMM.size
K = SIZE.bit_length() - 1
H = np.array([[1, 1], [1, -1]]) / np.sqrt(2)


#: Rotations with random angles: measured qubits then have generic probabilities (no exact 1/2,
#: where a branching draw may go either way: see MPIState.qubit_weights).
GENERIC = ["u", "rx", "ry", "rz", "crx", "cry", "cu", "rxx", "ryy", "rzz", "cx"]


def random_circuit(rng: np.random.Generator, n: int, size: int, generic: bool = False) -> Circuit:
    """Library gates of every kind (dense, diagonal, permutation; 1-3 qubits; only parametrised
    ones and cx when ``generic``) and random 1- and 2-qubit unitaries, on random qubits."""
    c = Circuit(n)
    names = sorted(g for g, spec in GATES.items() if spec.num_qubits <= min(n, 3)
                   and (not generic or g in GENERIC))
    for _ in range(size):
        if rng.random() < 0.1:
            k = int(rng.integers(1, 3))
            m, _ = np.linalg.qr(rng.normal(size=(2**k, 2**k)) + 1j * rng.normal(size=(2**k, 2**k)))
            c.unitary(m, [int(q) for q in rng.permutation(n)[:k]])
            continue
        name = names[int(rng.integers(len(names)))]
        g = GATES[name]
        qs = [int(q) for q in rng.permutation(n)[:g.num_qubits]]
        c.append(name, qs, [float(x) for x in rng.uniform(-3, 3, g.num_params)])
    return c


def same_on_every_rank(value: object) -> bool:
    return all(v == value for v in COMM.comm.allgather(value))


def half_slice_bytes(n: int, itemsize: int = 16) -> int:
    """Bytes one rank sends per swap: half of its 2**(n-k) amplitudes."""
    return (itemsize << (n - K)) // 2


# --- states ----------------------------------------------------------------------------------
@pytest.mark.parametrize("n,seed", [(8, 0), (9, 1), (11, 2), (13, 3), (16, 4)])
def test_gathered_state_equals_the_dense_backend(n: int, seed: int,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    c = random_circuit(np.random.default_rng(seed), n, 120)
    want = qsim.simulate(c).data
    got = qsim.simulate(c, backend="mpi").data
    assert np.abs(got - want).max() < 1e-12
    if SIZE == 1:  # one rank: the dense backend's fusion and kernels, bit for bit, when the
        # dense backend also works on the whole state from the start (no sub-state start)
        monkeypatch.setattr(dense_state, "SUPPORT_MAX", 0)
        np.testing.assert_array_equal(got, qsim.simulate(c).data)
    start = np.random.default_rng(seed + 100).normal(size=(1 << n, 2)) @ [1, 1j]
    start /= np.linalg.norm(start)
    want = qsim.simulate(c, start).data
    got = qsim.simulate(c, start, backend="mpi").data
    assert np.abs(got - want).max() < 1e-12


def test_single_precision_state() -> None:
    c = random_circuit(np.random.default_rng(7), 10, 80)
    want = qsim.simulate(c).data
    got = qsim.simulate(c, backend="mpi", precision="single").data
    assert got.dtype == np.complex64
    assert np.abs(got - want).max() < 1e-4


def test_the_most_significant_qubits_are_global() -> None:
    n = 6
    init = np.arange(1 << n, dtype=complex)
    s = MPIState.allocate(n, np.complex128, init)
    size = 1 << (n - K)
    np.testing.assert_array_equal(s.local, init[COMM.rank * size:(COMM.rank + 1) * size])
    assert s.nbytes == 16 * size


# --- sampling ----------------------------------------------------------------------------------
@pytest.mark.parametrize("n,seed", [(8, 10), (12, 11), (14, 12)])
def test_counts_and_memory_equal_the_single_process_run(n: int, seed: int) -> None:
    c = random_circuit(np.random.default_rng(seed), n, 100)
    c.measure_all()
    want = qsim.run(c, shots=1000, seed=seed, memory=True)
    got = qsim.run(c, shots=1000, seed=seed, memory=True, backend="mpi")
    assert got.counts == want.counts
    assert got.memory == want.memory
    assert same_on_every_rank(sorted(got.counts.items()))


def test_probabilities_are_bitwise_the_same_on_every_rank() -> None:
    n = 10
    c = random_circuit(np.random.default_rng(5), n, 80)
    s = MPIState.allocate(n, np.complex128)
    s.apply(MPIState.prepare(lower(c), n))
    want = np.abs(qsim.simulate(c).data) ** 2
    for qs in ([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [0], [9, 0, 4], [2, 7]):
        p = s.probabilities(qs)
        rest = tuple(q for q in range(n) if q not in qs)
        ref = want.reshape((2,) * n).sum(axis=rest).transpose(
            [sorted(qs).index(q) for q in qs]).ravel()
        np.testing.assert_allclose(p, ref, atol=1e-12)
        assert same_on_every_rank(p.tobytes())


def dynamic_circuit(n: int) -> Circuit:
    """Mid-circuit measurements and resets of global (0) and local (n-1, n-2) qubits, gates
    conditioned on their outcomes, and a reset of a qubit that is not entangled (merged)."""
    rng = np.random.default_rng(n)
    c = Circuit(n)
    c.add_creg("a", 2)
    c.add_creg("b", n)
    c = c.compose(random_circuit(rng, n, 40, generic=True))
    c.measure(0, 0).measure(n - 1, 1)
    c.x(n - 2).c_if("a", 1)
    c.h(0).c_if("a", 2)
    c.reset(0)
    c = c.compose(random_circuit(rng, n, 30, generic=True))
    c.reset(n - 2)
    c.h(1).reset(1)  # after reset(1) merges only if qubit 1 is not entangled
    c.ry(0.7, 0).reset(0)  # qubit 0 was reset: not entangled, merged without a draw
    c = c.compose(random_circuit(rng, n, 20, generic=True))
    c.measure(list(range(n)), [2 + q for q in range(n)])
    return c


@pytest.mark.parametrize("n", [8, 11])
def test_mid_circuit_measurement_reset_and_if(n: int) -> None:
    c = dynamic_circuit(n)
    want = qsim.run(c, shots=500, seed=21, memory=True)
    got = qsim.run(c, shots=500, seed=21, memory=True, backend="mpi")
    assert got.counts == want.counts
    assert got.memory == want.memory
    # One trajectory (simulate follows the same draws as the single-process backend).
    for seed in range(3):
        want_s = qsim.simulate(c, seed=seed).data
        got_s = qsim.simulate(c, seed=seed, backend="mpi").data
        assert np.abs(got_s - want_s).max() < 1e-12


@pytest.mark.parametrize("n", [6, 9])
def test_exact_half_splits_draw_as_on_one_process(n: int) -> None:
    """Hadamards and Bell pairs measured mid-circuit: outcome probabilities exactly 1/2."""
    c = Circuit(n)
    c.add_creg("m", 4)
    c.add_creg("out", n)
    c.h(0).cx(0, n - 1).h(1).cx(1, n // 2).measure(0, 0).measure(n // 2, 1)
    c.h(n - 1).measure(n - 1, 2).x(2).c_if("m", 1).reset(1).h(1).measure(1, 3)
    c.measure(list(range(n)), [4 + q for q in range(n)])
    want = qsim.run(c, shots=400, seed=8, memory=True)
    got = qsim.run(c, shots=400, seed=8, memory=True, backend="mpi")
    assert got.counts == want.counts and got.memory == want.memory


def test_keep_state_gives_every_rank_the_state() -> None:
    c = random_circuit(np.random.default_rng(30), 9, 60)
    c.measure_all()
    want = qsim.run(c, shots=100, seed=1, keep_state=True)
    got = qsim.run(c, shots=100, seed=1, keep_state=True, backend="mpi")
    assert want.state is not None and got.state is not None
    assert np.abs(got.state.data - want.state.data).max() < 1e-12
    assert got.counts == want.counts


def test_reset_and_collapse_of_a_global_qubit() -> None:
    n = 7
    c = random_circuit(np.random.default_rng(31), n, 50)
    psi = qsim.simulate(c).data
    for q in (0, n - 1):
        for outcome in (0, 1):
            for reset in (False, True):
                s = MPIState.allocate(n, np.complex128, psi)
                w = s.qubit_weights(q)
                assert w == pytest.approx(tuple(
                    (np.abs(psi.reshape(1 << q, 2, -1)) ** 2).sum(axis=(0, 2))), abs=1e-12)
                (s.reset if reset else s.collapse)(q, outcome, w[outcome])
                v = psi.reshape(1 << q, 2, -1).copy()
                v[:, 1 - outcome] = 0
                v /= np.sqrt(w[outcome])
                if reset and outcome:
                    v[:, 0], v[:, 1] = v[:, 1].copy(), 0
                assert np.abs(s.to_host() - v.ravel()).max() < 1e-12


def test_factorizes_on_global_and_local_qubits() -> None:
    """A product state factorizes on every qubit, a state entangling qubit q with the rest on
    none of q's; the same verdicts as the dense backend, whichever qubits are global."""
    n = 7
    rng = np.random.default_rng(50)
    singles = [np.linalg.qr(rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2)))[0][:, 0]
               for _ in range(n)]
    product = singles[0]
    for v in singles[1:]:
        product = np.kron(product, v)
    entangled = qsim.simulate(random_circuit(rng, n, 60, generic=True)).data
    for psi, want in ((product, True), (entangled, False)):
        for q in range(n):
            s = MPIState.allocate(n, np.complex128, psi)
            d = qsim.backends.get_backend("statevector").allocate(n, np.complex128, psi)
            w0, w1 = s.qubit_weights(q)
            assert s.factorizes(q, w0, w1) == d.factorizes(q, *d.qubit_weights(q)) == want
            assert np.abs(s.to_host() - psi).max() < 1e-12  # swapping q in changed nothing


def test_every_rank_gets_the_same_result() -> None:
    c = dynamic_circuit(8)
    r = qsim.run(c, shots=300, seed=4, memory=True, keep_state=True, backend="mpi")
    assert r.state is not None
    assert same_on_every_rank((sorted(r.counts.items()), r.memory, r.seed, r.state.data.tobytes()))


# --- communication -------------------------------------------------------------------------------
def test_diagonal_and_controlled_gates_on_global_qubits_exchange_nothing() -> None:
    n = 10
    rng = np.random.default_rng(40)
    c = Circuit(n)
    for q in range(n):
        c.h(q)  # one pass on all qubits first: global qubits need one swap each...
    s = MPIState.allocate(n, np.complex128)
    s.apply(MPIState.prepare(lower(c), n))
    before = s.bytes_exchanged
    layout = list(s.layout.phys)
    glob = [q for q in range(n) if s.layout.is_global(q)] or [0]
    loc = [q for q in range(n) if q not in glob]
    g = Circuit(n)  # ...then diagonals everywhere and gates controlled by the global qubits
    for _ in range(60):
        a, b, d = (int(x) for x in rng.permutation(n)[:3])
        kind = int(rng.integers(6))
        if kind == 0:
            g.rz(float(rng.uniform(-3, 3)), a)
        elif kind == 1:
            g.cp(float(rng.uniform(-3, 3)), a, b)
        elif kind == 2:
            g.cz(a, b).t(d).s(a)
        elif kind == 3:
            g.append("rzz", [a, b], [float(rng.uniform(-3, 3))])
        elif kind == 4:
            g.ccz(a, b, d) if "ccz" in GATES else g.cz(a, b)
        else:  # controls on the global qubits, targets local
            ctrl = glob[int(rng.integers(len(glob)))]
            tgt = loc[int(rng.integers(len(loc)))]
            g.cx(ctrl, tgt) if rng.random() < 0.5 else g.append("crx", [ctrl, tgt], [0.4])
    s.apply(MPIState.prepare(lower(g), n))
    assert s.bytes_exchanged == before
    assert s.layout.phys == layout
    want = qsim.simulate(c.compose(g)).data
    assert np.abs(s.to_host() - want).max() < 1e-12


def test_a_diagonal_circuit_exchanges_no_bytes_through_the_engine() -> None:
    n = 9
    c = Circuit(n)
    for q in range(n):
        c.rz(0.1 * (q + 1), q).t(q)
    for q in range(n - 1):
        c.cp(0.3, q, q + 1).cz(q, (q + 3) % n)
    c.measure_all()
    reset_exchange_stats()
    got = qsim.run(c, shots=50, seed=2, backend="mpi")
    assert STATS.bytes == 0 and STATS.swaps == 0
    assert got.counts == {"0" * n: 50}


def h_op(q: int) -> FusedOp:
    return FusedOp("dense", (q,), H)


@pytest.mark.parametrize("schedule,per_k", [("belady", 1), ("lazy", 4), ("swapback", 4)])
def test_swap_schedules_exchange_what_was_derived_by_hand(schedule: str, per_k: int,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """H on qubits 0, k, 0, k (qubit 0 global, k the most significant local one) in one block.
    belady: one swap (qubit 0 comes in, a qubit never used again leaves). lazy (no look-ahead:
    the most significant free local qubit leaves): 0 evicts k, k evicts 0, and so on: 4 swaps.
    swapback: qubit 0 in and back out, twice: 4 swaps. One rank: no swaps at all."""
    n = 8
    monkeypatch.setattr(MPIState, "schedule", schedule)
    ops = [h_op(0), h_op(K), h_op(0), h_op(K)] if K else [h_op(0)] * 4
    prep = prepared_from_ops(ops, n, K)
    s = MPIState.allocate(n, np.complex128)
    s.apply(prep)
    swaps = per_k if K else 0
    assert s.swaps == swaps == count_swaps(prep, n, K, schedule)
    assert s.bytes_exchanged == swaps * half_slice_bytes(n)
    # H.H = I on both qubits: back to |0...0>.
    np.testing.assert_allclose(s.to_host(), np.eye(1 << n)[0], atol=1e-12)


def test_one_swap_per_global_qubit_then_none() -> None:
    """Separate blocks h(0), h(1), ..., h(k-1), then h(0) ... h(k-1) again: each global qubit is
    swapped in once and stays local (the permutation is kept), so k swaps in all."""
    n = 9
    s = MPIState.allocate(n, np.complex128)
    c = Circuit(n)
    for _ in range(2):
        for q in range(K):
            s.apply(MPIState.prepare(lower(Circuit(n).h(q)), n))
            c.h(q)
    assert s.swaps == K
    assert s.bytes_exchanged == K * half_slice_bytes(n)
    assert np.abs(s.to_host() - qsim.simulate(c).data).max() < 1e-12
    t = MPIState.allocate(n, np.complex64)
    t.apply(MPIState.prepare(lower(Circuit(n).h(0)), n))
    assert t.bytes_exchanged == (1 if K else 0) * half_slice_bytes(n, itemsize=8)


# --- errors and memory ---------------------------------------------------------------------------
def test_memory_guard_per_rank() -> None:
    n = 30
    one = 16 << (n - K)
    need = one + (2 * min(1 << 22, one // 2) if SIZE > 1 else 0)
    with pytest.raises(SimulationError) as err:
        MPIState.check_memory(n, np.complex128, max_memory=need - 1)
    assert err.value.bytes_needed == need
    assert MPIState.check_memory(n, np.complex128, max_memory=need) == one
    if SIZE > 1:
        assert f"split over {SIZE} MPI ranks" in str(err.value)
    with pytest.raises(SimulationError, match="memory limit"):
        qsim.run(Circuit(n).h(0), backend="mpi", max_memory=need - 1)


def test_gathering_the_state_is_guarded() -> None:
    n = 14
    full = 16 << n
    one = 16 << (n - K)
    if SIZE == 1:
        pytest.skip("one rank returns its slice, nothing is gathered")
    # The slices fit (two per rank with the buffers), the gathered vector does not.
    with pytest.raises(SimulationError, match="gathering the 14-qubit state vector"):
        qsim.simulate(Circuit(n).h(0), backend="mpi", max_memory=full + one - 1)
    assert qsim.simulate(Circuit(n).h(0), backend="mpi", max_memory=full + one).data.size == 1 << n


def test_too_many_ranks_and_too_few_local_qubits() -> None:
    if SIZE == 1:
        pytest.skip("needs more than one rank")
    with pytest.raises(SimulationError, match=f"{SIZE} MPI ranks are more than"):
        qsim.simulate(Circuit(K - 1).x(0) if K > 1 else Circuit(0), backend="mpi")
    n = K + 2  # two local qubits: a 3-qubit unitary cannot be made local
    m, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(8, 8)))
    with pytest.raises(SimulationError, match="changes 3 qubits at once"):
        qsim.simulate(Circuit(n).unitary(m, [0, 1, 2]), backend="mpi")
    # ... but a Toffoli changes one qubit only (its controls stay where they are).
    c = Circuit(n).h(0).h(1).ccx(0, 1, 2)
    assert np.abs(qsim.simulate(c, backend="mpi").data - qsim.simulate(c).data).max() < 1e-12
