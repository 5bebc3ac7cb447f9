"""Both kernel sets (numpy and numba) against the reference ``embed(matrix, qubits, n) @ state``,
and the numba set against the numpy set, through the public entry points and through
:class:`DenseState` with ``QSIM_KERNELS`` forcing one set.

Scratch is NaN-filled where a test can reach it: the numpy kernels' workspaces (as in
tests/test_kernels.py) and the numba permutation kernel's per-worker scratch; the numba dense
kernel's batch scratch is allocated inside the kernel.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import qsim
from qsim import Circuit, SimulationError
from qsim.backends.dense import kernels
from qsim.backends.dense import numba_kernels as nk
from qsim.backends.dense import state as dense_state
from qsim.kron import embed

TOL = {np.complex128: 1e-10, np.complex64: 2e-5}
DTYPES = [np.complex128, np.complex64]
SETS = {"numpy": kernels, "numba": nk}


def _state(rng: np.random.Generator, n: int, dtype: type) -> np.ndarray:
    v = rng.standard_normal(1 << n) + 1j * rng.standard_normal(1 << n)
    return (v / np.linalg.norm(v)).astype(dtype)


def _unitary(rng: np.random.Generator, k: int) -> np.ndarray:
    a = rng.standard_normal((1 << k, 1 << k)) + 1j * rng.standard_normal((1 << k, 1 << k))
    return np.linalg.qr(a)[0]


def _perm_matrix(src: np.ndarray) -> np.ndarray:
    p = np.zeros((src.size, src.size))
    p[np.arange(src.size), src] = 1
    return p


def _target_sets(rng: np.random.Generator, n: int, k: int) -> list[list[int]]:
    """Unsorted random, adjacent (lowest, highest, middle) and gapped target lists."""
    out = [[int(q) for q in rng.permutation(n)[:k]], list(range(n - k, n)), list(range(k)),
           list(range(k - 1, -1, -1))]
    mid = (n - k) // 2
    out.append(list(range(mid, mid + k)))
    if 2 * k - 1 <= n:
        out.append([int(q) for q in rng.permutation(list(range(0, 2 * k - 1, 2)))])
    return out


def _apply(kset: str, kind: str, psi: np.ndarray, data: np.ndarray, qs: list[int],
           threads: int = 1) -> np.ndarray:
    mod = SETS[kset]
    ws = kernels.Workspace(psi.dtype, kernels.CHUNK, threads, fill=np.nan)
    if kind == "dense":
        return mod.apply_matrix(psi, data, qs, workspace=ws, threads=threads)
    if kind == "perm":
        return mod.apply_permutation(psi, data, qs, workspace=ws, threads=threads)
    return mod.apply_diagonal(psi, data, qs, threads=threads)


def _operator(rng: np.random.Generator, kind: str, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(kernel data, full 2**k matrix) of a random operator of ``kind``."""
    if kind == "dense":
        u = _unitary(rng, k)
        return u, u
    if kind == "perm":
        src = rng.permutation(1 << k)
        return src, _perm_matrix(src)
    d = np.exp(1j * rng.uniform(0, 2 * np.pi, 1 << k))
    return d, np.diag(d)


@pytest.fixture(autouse=True)
def _nan_scratch(monkeypatch: pytest.MonkeyPatch) -> None:
    """The numba permutation kernel's scratch starts as NaN (a read before write shows)."""
    monkeypatch.setattr(nk, "SCRATCH_FILL", complex(np.nan, np.nan))


@pytest.mark.parametrize("kset", list(SETS))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["dense", "diag", "perm"])
def test_against_embed(kset: str, dtype: type, kind: str) -> None:
    rng = np.random.default_rng(hash((kset, kind, np.dtype(dtype).name)) % 2**32)
    for k in range(1, 6):
        for n in (k, k + 1, k + 3, 9):
            for qs in _target_sets(rng, n, k):
                data, full = _operator(rng, kind, k)
                psi = _state(rng, n, dtype)
                ref = embed(full, qs, n) @ psi.astype(np.complex128)
                out = _apply(kset, kind, psi, data, qs)
                assert out is psi and out.dtype == dtype
                np.testing.assert_allclose(out, ref, atol=TOL[dtype], rtol=0,
                                           err_msg=f"{kind} k={k} n={n} qubits={qs}")


@pytest.mark.parametrize("kind", ["dense", "diag", "perm"])
def test_numba_matches_numpy_on_many_groups(kind: str) -> None:
    """16 qubits: many prange groups, partial batches, wide diagonals and permutations; numba
    and numpy agree to 1e-12 in double (fastmath only contracts mul+add to FMA), and numba gives
    bit-identical results on 1 and 2 threads."""
    rng = np.random.default_rng(5)
    n = 16
    for k in (1, 2, 3, 5, 8) if kind != "dense" else (1, 2, 3, 4, 5):
        for qs in _target_sets(rng, n, k)[:4]:
            data, _ = _operator(rng, kind, k)
            psi = _state(rng, n, np.complex128)
            a = _apply("numpy", kind, psi.copy(), data, qs)
            b = _apply("numba", kind, psi.copy(), data, qs)
            c = _apply("numba", kind, psi.copy(), data, qs, threads=2)
            np.testing.assert_allclose(b, a, atol=1e-12, rtol=0)
            np.testing.assert_array_equal(b, c)


def test_no_targets_is_a_scalar() -> None:
    psi = np.arange(4, dtype=complex)
    np.testing.assert_allclose(nk.apply_matrix(psi.copy(), [[2j]], []), 2j * psi)
    np.testing.assert_allclose(nk.apply_diagonal(psi.copy(), [-1], []), -psi)
    np.testing.assert_allclose(nk.apply_permutation(psi.copy(), [0], []), psi)


def _circuit(n: int, seed: int) -> Circuit:
    rng = np.random.default_rng(seed)
    c = Circuit(n)
    for layer in range(3):
        for q in range(n):
            c.u3(*rng.uniform(0, 3, 3), q)
        for q in range(layer % 2, n - 1, 2):
            c.cx(q, q + 1)
        c.ccx(0, n // 2, n - 1).cp(0.3, 1, n - 2).swap(2, n - 3).rz(0.7, n // 3)
    return c


@pytest.mark.parametrize("precision", ["double", "single"])
def test_state_with_either_kernel_set(monkeypatch: pytest.MonkeyPatch, precision: str) -> None:
    c = _circuit(15, 2)
    out = {}
    for ks in ("numpy", "numba", "auto"):
        monkeypatch.setenv("QSIM_KERNELS", ks)
        out[ks] = qsim.simulate(c, precision=precision, threads=2).data
    tol = 1e-12 if precision == "double" else 1e-5
    np.testing.assert_allclose(out["numba"], out["numpy"], atol=tol, rtol=0)
    np.testing.assert_allclose(out["auto"], out["numpy"], atol=tol, rtol=0)
    monkeypatch.setenv("QSIM_KERNELS", "fortran")
    with pytest.raises(SimulationError, match="QSIM_KERNELS"):
        qsim.simulate(c)


def test_fallback_without_numba(monkeypatch: pytest.MonkeyPatch) -> None:
    """numba not importable: even a forced numba set runs on the numpy kernels."""
    c = _circuit(6, 3)
    ref = qsim.simulate(c).data
    monkeypatch.setattr(dense_state, "_NUMBA", False)
    monkeypatch.setattr(dense_state, "KERNELS", "numba")
    assert dense_state.numba_kernels() is None
    np.testing.assert_allclose(qsim.simulate(c).data, ref, atol=1e-12)


def test_small_runs_do_not_import_numba() -> None:
    code = ("import sys, qsim; c = qsim.Circuit(2).h(0).cx(0, 1).measure_all(); "
            "qsim.run(c, shots=10, seed=1); print('numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
