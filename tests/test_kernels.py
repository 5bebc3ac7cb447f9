"""Dense kernels (qsim.backends.dense.kernels) against the reference: embed(...) @ state.

Small chunk sizes make even 8-qubit states go through many chunks and every layout (contiguous
rows, strided columns, gathered rows / columns); scratch buffers are pre-filled with NaN so a
kernel that reads scratch memory before writing it shows up as NaN in the result.
"""

from __future__ import annotations

import numpy as np
import pytest

from qsim.backends.dense import kernels
from qsim.kron import embed

TOL = {np.complex128: 1e-10, np.complex64: 2e-5}
DTYPES = [np.complex128, np.complex64]


def _state(rng: np.random.Generator, n: int, dtype: type) -> np.ndarray:
    v = rng.standard_normal(1 << n) + 1j * rng.standard_normal(1 << n)
    return (v / np.linalg.norm(v)).astype(dtype)


def _unitary(rng: np.random.Generator, k: int) -> np.ndarray:
    a = rng.standard_normal((1 << k, 1 << k)) + 1j * rng.standard_normal((1 << k, 1 << k))
    return np.linalg.qr(a)[0]


def _targets(rng: np.random.Generator, n: int, k: int) -> list[int]:
    return [int(q) for q in rng.permutation(n)[:k]]


def _ws(dtype: type, threads: int = 1) -> kernels.Workspace:
    return kernels.Workspace(dtype, kernels.CHUNK, threads, fill=np.nan)


@pytest.fixture(params=[4, 16, 64, 1 << 14], ids=lambda c: f"chunk{c}")
def chunk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(kernels, "CHUNK", request.param)
    return request.param


@pytest.fixture
def parallel_small(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let tiny states use the thread pool."""
    monkeypatch.setattr(kernels, "MIN_PARALLEL", 1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_apply_matrix_random(chunk: int, dtype: type) -> None:
    rng = np.random.default_rng(chunk)
    for _ in range(60):
        n = int(rng.integers(1, 9))
        k = int(rng.integers(1, min(n, 5) + 1))
        qs = _targets(rng, n, k)
        u = _unitary(rng, k)
        psi = _state(rng, n, dtype)
        ref = embed(u, qs, n) @ psi.astype(np.complex128)
        out = kernels.apply_matrix(psi, u, qs, workspace=_ws(dtype))
        assert out is psi
        assert out.dtype == dtype
        np.testing.assert_allclose(out, ref, atol=TOL[dtype], rtol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_apply_diagonal_random(chunk: int, dtype: type) -> None:
    rng = np.random.default_rng(chunk + 1)
    for _ in range(60):
        n = int(rng.integers(1, 9))
        k = int(rng.integers(1, n + 1))
        qs = _targets(rng, n, k)
        d = np.exp(1j * rng.uniform(0, 2 * np.pi, 1 << k))
        psi = _state(rng, n, dtype)
        ref = embed(np.diag(d), qs, n) @ psi.astype(np.complex128)
        out = kernels.apply_diagonal(psi, d, qs)
        assert out is psi
        np.testing.assert_allclose(out, ref, atol=TOL[dtype], rtol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_apply_permutation_random(chunk: int, dtype: type) -> None:
    rng = np.random.default_rng(chunk + 2)
    for _ in range(60):
        n = int(rng.integers(1, 9))
        k = int(rng.integers(1, min(n, 6) + 1))
        qs = _targets(rng, n, k)
        src = rng.permutation(1 << k)
        p = np.zeros((1 << k, 1 << k))
        p[np.arange(1 << k), src] = 1
        psi = _state(rng, n, dtype)
        ref = embed(p, qs, n) @ psi.astype(np.complex128)
        out = kernels.apply_permutation(psi, src, qs, workspace=_ws(dtype))
        assert out is psi
        np.testing.assert_allclose(out, ref, atol=TOL[dtype], rtol=0)


@pytest.mark.parametrize(("n", "axes", "chunk_size", "kind"), [
    (8, (5, 6, 7), 16, "row"),          # lowest qubits: contiguous (rows, K) chunks
    (8, (1, 2), 16, "col"),             # adjacent, long runs below: strided (K, cols) chunks
    (8, (1, 2), 512, "col"),            # ... whole blocks batched
    (8, (0, 3, 6), 16, "gcol"),         # scattered: gather columns
    (8, (0, 7), 8, "gcol"),
    (8, (2, 4, 5, 6, 7), 64, "grow"),   # long run of targets at the bottom: gather rows
    (9, (0, 2, 3, 4, 5, 8), 128, "grow"),
])
@pytest.mark.parametrize("dtype", DTYPES)
def test_every_layout(monkeypatch: pytest.MonkeyPatch, n: int, axes: tuple[int, ...],
                      chunk_size: int, kind: str, dtype: type) -> None:
    monkeypatch.setattr(kernels, "CHUNK", chunk_size)
    assert kernels._layout(n, axes, chunk_size).kind == kind
    rng = np.random.default_rng(len(axes))
    k = len(axes)
    for qs in (list(axes), list(reversed(axes)), [int(a) for a in rng.permutation(axes)]):
        u = rng.standard_normal((1 << k, 1 << k)) + 1j * rng.standard_normal((1 << k, 1 << k))
        psi = _state(rng, n, dtype)
        ref = embed(u, qs, n) @ psi.astype(np.complex128)
        out = kernels.apply_matrix(psi.copy(), u, qs, workspace=_ws(dtype))
        np.testing.assert_allclose(out, ref, atol=TOL[dtype] * 10, rtol=0)  # u not unitary
        src = rng.permutation(1 << k)
        p = np.zeros((1 << k, 1 << k))
        p[np.arange(1 << k), src] = 1
        out = kernels.apply_permutation(psi.copy(), src, qs, workspace=_ws(dtype))
        np.testing.assert_allclose(out, embed(p, qs, n) @ psi.astype(np.complex128),
                                   atol=TOL[dtype], rtol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_threads_agree(parallel_small: None, monkeypatch: pytest.MonkeyPatch,
                       dtype: type) -> None:
    monkeypatch.setattr(kernels, "CHUNK", 16)
    rng = np.random.default_rng(7)
    for _ in range(30):
        n = int(rng.integers(3, 9))
        k = int(rng.integers(1, 4))
        qs = _targets(rng, n, k)
        u = _unitary(rng, k)
        d = np.exp(1j * rng.uniform(0, 6, 1 << k))
        src = rng.permutation(1 << k)
        psi = _state(rng, n, dtype)
        one = kernels.apply_matrix(psi.copy(), u, qs, workspace=_ws(dtype))
        two = kernels.apply_matrix(psi.copy(), u, qs, workspace=_ws(dtype, 3), threads=3)
        np.testing.assert_array_equal(one, two)
        one = kernels.apply_diagonal(psi.copy(), d, qs)
        two = kernels.apply_diagonal(psi.copy(), d, qs, threads=2)
        np.testing.assert_array_equal(one, two)
        one = kernels.apply_permutation(psi.copy(), src, qs)
        two = kernels.apply_permutation(psi.copy(), src, qs, threads=2)
        np.testing.assert_array_equal(one, two)


def test_non_unitary_matrix_and_full_width() -> None:
    """apply_matrix is plain linear algebra (Statevector.expectation uses it with observables)."""
    rng = np.random.default_rng(3)
    n = 4
    m = rng.standard_normal((16, 16)) + 1j * rng.standard_normal((16, 16))
    psi = _state(rng, n, np.complex128)
    for qs in ([0, 1, 2, 3], [3, 1, 0, 2]):
        out = kernels.apply_matrix(psi.copy(), m, qs)
        np.testing.assert_allclose(out, embed(m, qs, n) @ psi, atol=1e-10)


def test_no_targets_is_a_scalar() -> None:
    psi = np.array([1, 2, 3, 4], dtype=complex)
    np.testing.assert_allclose(kernels.apply_matrix(psi.copy(), [[2j]], []), 2j * psi)
    np.testing.assert_allclose(kernels.apply_diagonal(psi.copy(), [-1], []), -psi)
    np.testing.assert_allclose(kernels.apply_permutation(psi.copy(), [0], []), psi)


def test_sorting_helpers_match_embed() -> None:
    rng = np.random.default_rng(4)
    n, qs = 4, [2, 0, 3]
    order = sorted(range(3), key=qs.__getitem__)
    axes = sorted(qs)
    u = _unitary(rng, 3)
    np.testing.assert_allclose(embed(kernels.sort_matrix(u, order), axes, n), embed(u, qs, n))
    d = rng.standard_normal(8)
    np.testing.assert_allclose(np.diag(embed(np.diag(kernels.sort_vector(d, order)), axes, n)),
                               np.diag(embed(np.diag(d), qs, n)))
    src = rng.permutation(8)
    p = np.zeros((8, 8))
    p[np.arange(8), src] = 1
    ps = kernels.sort_permutation(src, order)
    p2 = np.zeros((8, 8))
    p2[np.arange(8), ps] = 1
    np.testing.assert_allclose(embed(p2, axes, n), embed(p, qs, n))


def test_widen_diagonal() -> None:
    d = np.array([1, 2, 3, 4], dtype=complex)
    w, axes = kernels.widen_diagonal(d, (0, 3), 5, inner=2)
    assert axes == (0, 3, 4)
    full = embed(np.diag(d), [0, 3], 5).diagonal()
    np.testing.assert_allclose(embed(np.diag(w), list(axes), 5).diagonal(), full)
    same, axes2 = kernels.widen_diagonal(d, (0, 2), 5, inner=2)  # runs of 4 below already
    assert axes2 == (0, 2) and same is d
    big = np.arange(1 << 16, dtype=complex)
    w3, axes3 = kernels.widen_diagonal(big, tuple(range(16)), 20, inner=5)
    assert axes3 == tuple(range(16)) and w3 is big  # capped at DIAG_MAX_WIDE qubits


def test_invalid_targets() -> None:
    psi = np.zeros(8, complex)
    with pytest.raises(ValueError):
        kernels.apply_matrix(psi, np.eye(4), [0, 0])
    with pytest.raises(ValueError):
        kernels.apply_diagonal(psi, np.ones(2), [3])


def test_default_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QSIM_NUM_THREADS", "3")
    assert kernels.default_threads() == 3
    monkeypatch.delenv("QSIM_NUM_THREADS")
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert kernels.default_threads() == 2
    monkeypatch.setenv("OMP_NUM_THREADS", "junk")
    assert kernels.default_threads() >= 1


def test_single_threaded_blas_restores() -> None:
    from threadpoolctl import threadpool_info

    def blas_threads() -> list[int]:
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    before = blas_threads()
    assert before  # numpy's BLAS is found
    with kernels.single_threaded_blas():
        assert all(n == 1 for n in blas_threads())
    assert blas_threads() == before


def test_workspace_grows_and_fills() -> None:
    ws = kernels.Workspace(np.complex64, 8, fill=np.nan)
    a, b = ws.buffers(1, 32)
    assert a.size >= 32 and b.size >= 32 and a.dtype == np.complex64
    assert np.isnan(a).all() and np.isnan(b).all()
