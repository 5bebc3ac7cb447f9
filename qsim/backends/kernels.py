"""Dense state-vector kernels: apply a k-qubit matrix to an n-qubit state in place.

This is the one entry point the dense backend uses (``apply_matrix``); faster implementations replace
its body without touching callers. State layout: a flat C-contiguous complex vector of length 2**n;
``state.reshape((2,) * n)`` has axis q = qubit q (qubit 0 leftmost / most significant).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def num_qubits_of(state: np.ndarray) -> int:
    return int(state.size).bit_length() - 1


def apply_diagonal(state: np.ndarray, diag: np.ndarray, qubits: Sequence[int]) -> np.ndarray:
    """Multiply in place by a diagonal operator given as its 2**k diagonal on ``qubits``."""
    n = num_qubits_of(state)
    k = len(qubits)
    d = np.asarray(diag, dtype=state.dtype).reshape((2,) * k)
    order = np.argsort(qubits)
    d = d.transpose(order)  # axes now in increasing qubit order
    shape = [1] * n
    for q in qubits:
        shape[q] = 2
    psi = state.reshape((2,) * n)
    psi *= d.reshape(shape)
    return state


def apply_matrix(state: np.ndarray, matrix: np.ndarray, qubits: Sequence[int]) -> np.ndarray:
    """Apply ``matrix`` (2**k square, ``qubits[0]`` leftmost factor) to ``state``.

    Modifies ``state`` in place and returns it. Equivalent to ``embed(matrix, qubits, n) @ state``
    without forming the 2**n x 2**n operator.
    """
    n = num_qubits_of(state)
    u = np.asarray(matrix, dtype=state.dtype)
    k = len(qubits)
    if k == 1:
        q = qubits[0]
        psi = state.reshape(1 << q, 2, 1 << (n - q - 1))
        a0, a1 = psi[:, 0, :], psi[:, 1, :]
        tmp = a0.copy()
        a0 *= u[0, 0]
        a0 += u[0, 1] * a1
        a1 *= u[1, 1]
        a1 += u[1, 0] * tmp
        return state
    psi = state.reshape((2,) * n)
    ut = u.reshape((2,) * (2 * k))
    res = np.tensordot(ut, psi, axes=(list(range(k, 2 * k)), list(qubits)))
    psi[...] = np.moveaxis(res, list(range(k)), list(qubits))
    return state
