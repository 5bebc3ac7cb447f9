"""The mpi backend in the ordinary test run: its planning and operator restriction without MPI,
and the ``qsim`` command under ``mpiexec -n 2`` (subprocesses). The registry conformance suite
(tests/test_backends.py) covers the backend at one rank; tests/mpi (``make test-mpi``) covers
2, 4 and 8 ranks.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import qsim
from qsim.backends.mpi import (
    Layout,
    count_swaps,
    prepared_from_ops,
    restrict,
    swap_lower_bound,
)
from qsim.compile.fusion import FusedOp
from qsim.kron import embed

H = np.array([[1, 1], [1, -1]]) / np.sqrt(2)


def h(q: int) -> FusedOp:
    return FusedOp("dense", (q,), H)


# --- planning (no MPI needed) -------------------------------------------------------------------
@pytest.mark.parametrize("k", [1, 2, 3])
def test_swap_counts_derived_by_hand(k: int) -> None:
    """H on 0, k, 0, k: Belady swaps qubit 0 in once (evicting a qubit never used again); with no
    look-ahead qubit 0 and qubit k evict each other every time (4); swap-back pays 2 per
    operator on a global qubit (4). Lower bound: qubit 0 starts global and is used (1)."""
    n = 8
    prep = prepared_from_ops([h(0), h(k), h(0), h(k)], n, k)
    assert count_swaps(prep, n, k, "belady") == 1
    assert count_swaps(prep, n, k, "lazy") == 4
    assert count_swaps(prep, n, k, "swapback") == 4
    assert swap_lower_bound(prep, n, k) == 1


def test_belady_keeps_the_qubits_used_next() -> None:
    """Two local qubits (n=4, k=2: qubits 2, 3 local), H on 0, 2, 3, 0, 2."""
    n, k = 4, 2
    prep = prepared_from_ops([h(0), h(2), h(3), h(0), h(2)], n, k)
    lay = Layout(n, k)
    # op 0: 0 is global; locals 2 (next used by op 1) and 3 (op 2): 3 leaves.
    assert lay.plan(prep.changed[0], prep, 0, "belady") == [(0, 3)]
    assert lay.log == [3, 1, 2, 0]
    # op 2: 3 is global (position 0); locals 2 (next used by op 4) and 0 (op 3): 2 leaves.
    assert lay.plan(prep.changed[2], prep, 2, "belady") == [(0, 2)]
    assert lay.log == [2, 1, 3, 0]
    # op 4: 2 is global; 3 and 0 are never used again: the least recently changed (3) leaves.
    # Three swaps in all; swap-back pays two for op 0 and two for op 3 (the only operators on
    # a qubit global in the initial layout). Lower bound: ops 0-2 change 3 distinct qubits with
    # 2 local positions, and so do ops 2-4: two windows, each needs a swap.
    assert count_swaps(prep, n, k, "belady") == 3
    assert count_swaps(prep, n, k, "swapback") == 4
    assert swap_lower_bound(prep, n, k) == 2


def test_a_block_wider_than_the_local_qubits_is_refused() -> None:
    m = np.linalg.qr(np.random.default_rng(0).normal(size=(8, 8)))[0]
    with pytest.raises(qsim.SimulationError, match="changes 3 qubits at once.*at most 4 ranks"):
        prepared_from_ops([FusedOp("dense", (0, 1, 2), m)], 5, 3)
    # Diagonals and controls on the global qubits are not refused: they change nothing there.
    prep = prepared_from_ops([FusedOp("diag", (0, 1, 2), np.ones(8)),
                              FusedOp("perm", (0, 1, 4), np.array([0, 1, 2, 3, 4, 5, 7, 6]))],
                             5, 4)
    assert prep.changed == [(), (4,)]


# --- restriction to one rank's slice, emulated with numpy -------------------------------------------
def random_op(rng: np.random.Generator, kind: str, qubits: tuple[int, ...],
              passive: tuple[int, ...]) -> FusedOp:
    """An operator on ``qubits`` that leaves the qubits ``passive`` unchanged (block diagonal
    in them)."""
    m = len(qubits)
    if kind == "diag":
        return FusedOp("diag", qubits, np.exp(1j * rng.uniform(-3, 3, 1 << m)))
    act = [t for t in range(m) if qubits[t] not in passive]
    blocks = {}
    for v in range(1 << (m - len(act))):
        if kind == "perm":
            blocks[v] = np.eye(1 << len(act))[rng.permutation(1 << len(act))]
        else:
            a = rng.normal(size=(1 << len(act),) * 2) + 1j * rng.normal(size=(1 << len(act),) * 2)
            blocks[v] = np.linalg.qr(a)[0]
    full = np.zeros((1 << m, 1 << m), dtype=complex)
    pas = [t for t in range(m) if t not in act]
    for i in range(1 << m):
        for j in range(1 << m):
            bi = [(i >> (m - 1 - t)) & 1 for t in range(m)]
            bj = [(j >> (m - 1 - t)) & 1 for t in range(m)]
            if any(bi[t] != bj[t] for t in pas):
                continue
            v = int("".join(str(bi[t]) for t in pas) or "0", 2)
            r = int("".join(str(bi[t]) for t in act) or "0", 2)
            c = int("".join(str(bj[t]) for t in act) or "0", 2)
            full[i, j] = blocks[v][r, c]
    if kind == "perm":
        return FusedOp("perm", qubits, np.argmax(full.real, axis=1))
    return FusedOp("dense", qubits, full)


@pytest.mark.parametrize("seed", range(12))
def test_restricted_operators_act_like_the_whole_one(seed: int) -> None:
    """Split a 6-qubit vector into 2**k slices under a random layout, apply each slice's
    restriction of an operator whose global qubits are passive, gather: the operator itself."""
    rng = np.random.default_rng(seed)
    n, k = 6, int(rng.integers(1, 4))
    lay = Layout(n, k)
    for _ in range(4):  # a random layout: some swaps of global and local positions
        lay.swap(int(rng.integers(k)), int(rng.integers(k, n)))
    m = int(rng.integers(1, 5))
    qubits = tuple(sorted(int(q) for q in rng.permutation(n)[:m]))
    passive = tuple(q for q in qubits if lay.is_global(q))
    kind = ["dense", "perm", "diag"][seed % 3]
    op = random_op(rng, kind, qubits, passive)
    psi = rng.normal(size=1 << n) + 1j * rng.normal(size=1 << n)
    # Physical vector: axis j holds logical qubit lay.log[j].
    phys = psi.reshape((2,) * n).transpose(lay.log).ravel()
    size = 1 << (n - k)
    out = np.empty_like(phys)
    for block in range(1 << k):
        sl = phys[block * size:(block + 1) * size].copy()
        r = restrict(op, lay, block)
        if r is not None:
            if r.kind == "diag":
                sl *= embed(np.diag(r.data), list(r.qubits), n - k).diagonal() if r.qubits else \
                    r.data[0]
            elif r.kind == "perm":
                sl = sl.reshape((2,) * (n - k))
                mat = np.eye(1 << len(r.qubits))[r.data]
                sl = (embed(mat, list(r.qubits), n - k) @ sl.ravel())
            else:
                sl = embed(r.data, list(r.qubits), n - k) @ sl
        out[block * size:(block + 1) * size] = np.ravel(sl)
    logical = out.reshape((2,) * n).transpose(np.argsort(lay.log)).ravel()
    mat = np.eye(1 << m)[op.data] if kind == "perm" else (
        np.diag(op.data) if kind == "diag" else op.data)
    np.testing.assert_allclose(logical, embed(mat, list(qubits), n) @ psi, atol=1e-12)


# --- the command under mpiexec ------------------------------------------------------------------
def _mpiexec() -> str:
    pytest.importorskip("mpi4py", reason="the mpi backend needs mpi4py: pip install 'qsim[mpi]'")
    exe = Path(sys.executable).parent / "mpiexec"
    found = str(exe) if exe.exists() else shutil.which("mpiexec")
    if found is None:
        pytest.skip("no mpiexec (pip install 'qsim[mpi]' brings MPICH's)")
    return found


QASM = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[9];
creg c[9];
h q;
cx q[0],q[8];
u3(0.3,0.2,0.1) q[1];
cx q[1],q[4];
ry(0.7) q[0];
rzz(0.4) q[0],q[2];
measure q -> c;
"""


def test_without_mpi4py_the_command_says_what_to_install(tmp_path: Path) -> None:
    (tmp_path / "c.qasm").write_text(QASM)
    script = ("import sys\nsys.modules['mpi4py'] = None  # as if it were not installed\n"
              "from qsim.cli import main\nmain(sys.argv[1:])\n")
    p = subprocess.run([sys.executable, "-c", script, "run", "c.qasm", "--backend", "mpi"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and p.stdout == ""
    assert len(p.stderr.splitlines()) == 1
    assert p.stderr.startswith("qsim: error: the mpi backend needs mpi4py and an MPI library: "
                               "pip install 'qsim[mpi]'")


def _launch(ranks: int, args: list[str], cwd: Path, script: str | None = None
            ) -> subprocess.CompletedProcess[str]:
    cmd = [_mpiexec(), "-n", str(ranks), sys.executable]
    cmd += ["-c", script] if script is not None else ["-m", "qsim.cli"]
    return subprocess.run(cmd + args, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_cli_under_mpiexec_prints_once_from_rank_0(tmp_path: Path) -> None:
    (tmp_path / "c.qasm").write_text(QASM)
    p = _launch(2, ["run", "c.qasm", "--backend", "mpi", "--shots", "700", "--seed", "4",
                    "--format", "json"], tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    out = json.loads(p.stdout)  # exactly one JSON document: rank 1 printed nothing
    want = qsim.run(qsim.loads_qasm(QASM), shots=700, seed=4)
    assert out["counts"] == want.counts and out["backend"] == "mpi"
    p = _launch(2, ["run", "c.qasm", "--backend", "mpi", "--shots", "700", "--seed", "4",
                    "--format", "json", "-o", "counts.json"], tmp_path)
    assert p.returncode == 0 and p.stdout == "" and p.stderr == ""
    assert json.loads((tmp_path / "counts.json").read_text())["counts"] == want.counts
    assert sorted(f.name for f in tmp_path.iterdir()) == ["c.qasm", "counts.json"]


def test_cli_errors_under_mpiexec_are_one_line_and_one_code(tmp_path: Path) -> None:
    (tmp_path / "c.qasm").write_text(QASM)
    p = _launch(2, ["run", "c.qasm", "--backend", "mpi", "-o", "missing/x.json"], tmp_path)
    assert p.returncode == 2
    assert p.stderr.splitlines() == ["qsim: error: cannot write missing/x.json: No such file or "
                                     "directory"]
    p = _launch(2, ["run", "c.qasm", "--backend", "mpi", "--max-memory", "10K"], tmp_path)
    assert p.returncode == 3 and len(p.stderr.splitlines()) == 1
    assert "split over 2 MPI ranks needs" in p.stderr
    p = _launch(3, ["run", "c.qasm", "--backend", "mpi"], tmp_path)
    assert p.returncode == 2
    assert p.stderr.splitlines() == ["qsim: error: the mpi backend needs a power of two of MPI "
                                     "ranks (1, 2, 4, 8, ...), got 3"]


def test_a_failure_on_one_rank_aborts_instead_of_hanging(tmp_path: Path) -> None:
    """Rank 1 fails inside the simulation while rank 0 waits in a collective: the job ends (the
    failing rank aborts it) with the internal-error code, well before the timeout."""
    (tmp_path / "c.qasm").write_text(QASM)
    script = (
        "import sys\n"
        "from qsim.backends import mpi\n"
        "orig = mpi.MPIState.apply\n"
        "def apply(self, prepared):\n"
        "    if self.comm.rank == 1:\n"
        "        raise RuntimeError('injected failure')\n"
        "    orig(self, prepared)\n"
        "mpi.MPIState.apply = apply\n"
        "from qsim.cli import main\n"
        "main(sys.argv[1:])\n")
    p = _launch(2, ["run", "c.qasm", "--backend", "mpi"], tmp_path, script=script)
    assert p.returncode == 1
    assert p.stdout == ""
