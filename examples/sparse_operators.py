"""Sparse Kronecker products: operators far too large to write down densely, built and checked.

1. ``kron(eye(1000), eye(1000))`` as a scipy.sparse matrix: a 10^6 x 10^6 identity in a few MB,
   where the dense array would need 8 TB.
2. The 2-D Laplacian on an m x m grid as ``K⊗I + I⊗K`` (K the 1-D second difference), checked
   against the five-point finite-difference stencil applied to a grid function, and against its
   known eigenpair (a product of 1-D eigenvectors; the eigenvalues add).
3. A 20-qubit Hamiltonian as a ``qsim.PauliSum`` turned into a sparse matrix (nnz and bytes shown),
   with its expectation on a product state (built by ``qsim.kron`` from 20 one-qubit states)
   checked against the value worked out by hand, and against ``qsim.expectation`` of the circuit
   that prepares the same state.

Run: ``python examples/sparse_operators.py`` (about 3 s; writes no files).
``QSIM_EXAMPLE_QUICK=1`` (set by the test suite) uses 16 qubits and a 60 x 60 grid instead.
"""

from __future__ import annotations

import os
import time

import numpy as np
import scipy.sparse as sp

import qsim

QUICK = os.environ.get("QSIM_EXAMPLE_QUICK") == "1"
NUM_QUBITS = 16 if QUICK else 20
GRID = 60 if QUICK else 200


def nbytes(m: sp.csr_matrix) -> int:
    """Bytes held by a CSR matrix: values, column indices, row pointers."""
    return m.data.nbytes + m.indices.nbytes + m.indptr.nbytes


def human(b: float) -> str:
    """Bytes in decimal units (1 MB = 10^6 bytes)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if b < 1000 or unit == "TB":
            return f"{b:,.1f} {unit}"
        b /= 1000
    raise AssertionError


def identity_example() -> None:
    eye = sp.identity(1000, format="csr")
    big = qsim.kron(eye, eye)  # sparse in, sparse CSR out
    dense_bytes = big.shape[0] * big.shape[1] * big.dtype.itemsize
    print(f"1. kron(eye(1000), eye(1000)): {type(big).__name__} {big.shape[0]:,} x "
          f"{big.shape[1]:,}, nnz {big.nnz:,}")
    print(f"   sparse {human(nbytes(big))} vs dense {human(dense_bytes)} "
          f"({dense_bytes / nbytes(big):,.0f}x more)")
    assert sp.issparse(big) and big.shape == (10**6, 10**6) and big.nnz == 10**6
    assert (big != sp.identity(10**6, format="csr")).nnz == 0
    x = np.random.default_rng(0).normal(size=10**6)
    assert np.array_equal(big @ x, x)
    assert nbytes(big) < 20e6 and dense_bytes == 8 * 10**12


def laplacian_example(m: int) -> None:
    # 1-D second difference with zero (Dirichlet) boundaries: (K u)_i = 2u_i - u_{i-1} - u_{i+1}.
    k = sp.diags([-np.ones(m - 1), 2 * np.ones(m), -np.ones(m - 1)], [-1, 0, 1], format="csr")
    eye = sp.identity(m, format="csr")
    lap = qsim.kron(k, eye) + qsim.kron(eye, k)  # K acts on the row index, then on the column index
    print(f"\n2. 2-D Laplacian K⊗I + I⊗K on a {m} x {m} grid: {lap.shape[0]:,} x {lap.shape[1]:,}, "
          f"nnz {lap.nnz:,} ({human(nbytes(lap))}; dense {human(lap.shape[0] ** 2 * 8)})")

    # Five-point stencil on a grid function u[i, j], zero outside the grid; flattened row-major,
    # entry (i, j) is index i*m + j, i.e. i is the left Kronecker factor.
    u = np.random.default_rng(1).normal(size=(m, m))
    padded = np.pad(u, 1)
    stencil = (4 * u - padded[:-2, 1:-1] - padded[2:, 1:-1]
               - padded[1:-1, :-2] - padded[1:-1, 2:])
    diff = np.abs(lap @ u.ravel() - stencil.ravel()).max()
    print(f"   (K⊗I + I⊗K) u equals the stencil 4u[i,j] - u[i±1,j] - u[i,j±1]: max diff {diff:.1e}")
    assert diff < 1e-12
    assert lap.nnz == 5 * m * m - 4 * m  # 5 per row, minus the missing neighbours at the edges

    # Eigenpairs: K v_p = lambda_p v_p with v_p[i] = sin(p pi (i+1)/(m+1)),
    # lambda_p = 2 - 2 cos(p pi/(m+1)); then (K⊗I + I⊗K)(v_p⊗v_q) = (lambda_p + lambda_q)(v_p⊗v_q).
    i = np.arange(1, m + 1)
    v1, v2 = np.sin(np.pi * i / (m + 1)), np.sin(2 * np.pi * i / (m + 1))
    lam1, lam2 = 2 - 2 * np.cos(np.pi / (m + 1)), 2 - 2 * np.cos(2 * np.pi / (m + 1))
    mode = qsim.kron(v1, v2)
    residual = np.abs(lap @ mode - (lam1 + lam2) * mode).max()
    print(f"   eigenpair v1⊗v2 with lambda1 + lambda2 = {lam1 + lam2:.6e}: residual {residual:.1e}")
    assert residual < 1e-12


def hamiltonian_example(n: int) -> None:
    j, h, g = 1.0, 0.7, 0.2
    text = " ".join([f"- {j} Z{q} Z{q + 1}" for q in range(n - 1)]
                    + [f"- {h} X{q}" for q in range(n)] + [f"- {g} Z{q}" for q in range(n)])
    ham = qsim.PauliSum.from_string(text, num_qubits=n)
    t0 = time.perf_counter()
    mat = ham.to_sparse()
    build_s = time.perf_counter() - t0
    dim = 1 << n
    print(f"\n3. {n}-qubit Ising chain with transverse and longitudinal fields, "
          f"{ham.num_terms} Pauli terms:")
    print(f"   H = -{j} Σ Z_q Z_q+1 - {h} Σ X_q - {g} Σ Z_q")
    print(f"   H.to_sparse(): {dim:,} x {dim:,}, nnz {mat.nnz:,} ({mat.nnz / dim:.0f} per row), "
          f"{human(nbytes(mat))} in {build_s:.2f} s; dense would be {human(dim * dim * 16)}")
    # One diagonal entry per row (the Z terms) plus one per X term: n + 1 distinct X masks.
    assert mat.nnz == dim * (n + 1)
    assert ham.is_hermitian()

    # A product state: qubit q in ry(theta_q)|0> = cos(theta_q/2)|0> + sin(theta_q/2)|1>,
    # for which <Z_q> = cos(theta_q) and <X_q> = sin(theta_q).
    thetas = np.random.default_rng(2).uniform(0, np.pi, n)
    singles = [np.array([np.cos(t / 2), np.sin(t / 2)]) for t in thetas]
    psi = qsim.kron(*singles)
    by_hand = (-j * np.sum(np.cos(thetas[:-1]) * np.cos(thetas[1:]))
               - h * np.sum(np.sin(thetas)) - g * np.sum(np.cos(thetas)))
    sparse_value = float(np.vdot(psi, mat @ psi).real)
    circuit = qsim.Circuit(n)
    for q, t in enumerate(thetas):
        circuit.ry(float(t), q)
    circuit_value = qsim.expectation(circuit, ham)
    print(f"   <psi|H|psi> on a product state: by hand {by_hand:.12f}, sparse matrix "
          f"{sparse_value:.12f}, qsim.expectation of the ry circuit {circuit_value:.12f}")
    assert abs(sparse_value - by_hand) < 1e-10
    assert abs(circuit_value - by_hand) < 1e-10
    assert np.allclose(qsim.simulate(circuit).data, psi, atol=1e-12)


def main() -> None:
    start = time.perf_counter()
    identity_example()
    laplacian_example(GRID)
    hamiltonian_example(NUM_QUBITS)
    print(f"\ntime {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
