"""States held as one flat numpy vector on the host, and the vector math they share.

Measurement on a vector (:func:`marginal_probabilities`, :func:`qubit_weights`, :func:`collapse`)
is common to the dense and sparse backends; how gates are applied is not (each backend has its own
path from gate records to amplitudes, so that one checks the other). Probabilities are accumulated
in float64 with at most one temporary of 2**n floats, whatever the state's precision.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from ..resources import zeros
from .base import State

#: Overlap tolerance (1 - fidelity) under which the two halves of a qubit count as one state.
_MERGE_TOL = {np.dtype(np.complex128): 1e-12, np.dtype(np.complex64): 1e-5}


def marginal_probabilities(state: np.ndarray, qubits: Sequence[int]) -> np.ndarray:
    """Outcome probabilities of ``qubits`` of the flat state: float64 array of length
    2**len(qubits), index bits most significant first in the order given."""
    r = state.view(state.real.dtype).reshape(-1, 2)
    return marginalize(np.einsum("ij,ij->i", r, r, dtype=np.float64), qubits)


def marginalize(p: np.ndarray, qubits: Sequence[int]) -> np.ndarray:
    """The marginal of ``qubits`` of a distribution ``p`` over all n qubits (flat, length 2**n,
    qubit 0 most significant): float64, length 2**len(qubits), index bits most significant
    first in the order given."""
    n = int(p.size).bit_length() - 1
    p = np.asarray(p, dtype=np.float64).reshape((2,) * n)
    qs = list(qubits)
    if qs == list(range(n)):
        return np.ascontiguousarray(p).ravel()
    rest = tuple(k for k in range(n) if k not in qs)
    m = p.sum(axis=rest) if rest else p
    kept = sorted(qs)  # axes of m are the kept qubits in increasing order
    return np.ascontiguousarray(m.transpose([kept.index(k) for k in qs])).ravel()


def qubit_weights(state: np.ndarray, q: int) -> tuple[float, float]:
    """Squared norms of the qubit-q = 0 and = 1 halves of the flat state (float64 accumulation)."""
    n = int(state.size).bit_length() - 1
    r = state.view(state.real.dtype).reshape(1 << q, 2, 1 << (n - q))
    w = np.einsum("ijk,ijk->j", r, r, dtype=np.float64)
    return float(w[0]), float(w[1])


def collapse(state: np.ndarray, q: int, outcome: int, weight: float,
             reset: bool = False) -> np.ndarray:
    """Project qubit ``q`` onto ``outcome`` in place and renormalise (``weight``: that outcome's
    squared norm). With ``reset``, the kept half is then moved to qubit value 0."""
    n = int(state.size).bit_length() - 1
    v = state.reshape(1 << q, 2, 1 << (n - q - 1))
    scale = 1 / np.sqrt(weight)
    if reset and outcome:
        np.multiply(v[:, 1, :], scale, out=v[:, 0, :])
        v[:, 1, :] = 0
    else:
        v[:, outcome, :] *= scale
        v[:, 1 - outcome, :] = 0
    return state


def separable(state: np.ndarray, q: int, w0: float, w1: float) -> bool:
    """Whether the |0> and |1> halves of qubit q are the same state up to phase and norm
    (``|<a|b>|**2 = w0 * w1`` within the tolerance), computed without temporary copies."""
    n = int(state.size).bit_length() - 1
    r = state.view(state.real.dtype).reshape(1 << q, 2, 1 << (n - q - 1), 2)
    a, b = r[:, 0], r[:, 1]  # (re, im) pairs of the two halves
    re = np.einsum("ijk,ijk->", a, b, dtype=np.float64)
    im = (np.einsum("ij,ij->", a[..., 0], b[..., 1], dtype=np.float64)
          - np.einsum("ij,ij->", a[..., 1], b[..., 0], dtype=np.float64))
    return bool(1 - (re * re + im * im) / (w0 * w1) < _MERGE_TOL.get(state.dtype, 1e-12))


class VectorState(State):
    """A state held as ``data``, a flat C-contiguous numpy vector of length 2**n (qubit 0 the most
    significant bit of the index). Subclasses say how gates are prepared and applied."""

    capabilities: ClassVar[frozenset[str]] = frozenset({"merge_resets", "host_memory"})

    def __init__(self, data: np.ndarray) -> None:
        self.data = data
        self.num_qubits = int(data.size).bit_length() - 1
        self.dtype = data.dtype

    @classmethod
    def allocate(cls, num_qubits: int, dtype: Any, initial: np.ndarray | None = None
                 ) -> VectorState:
        if initial is None:
            data = zeros(1 << num_qubits, dtype)
            data[0] = 1
        else:
            data = np.array(initial, dtype=dtype, copy=True).ravel()
        return cls(data)

    def _like(self, data: np.ndarray) -> VectorState:
        out = object.__new__(type(self))
        VectorState.__init__(out, data)
        out.threads = self.threads
        return out

    def probabilities(self, qubits: Sequence[int]) -> np.ndarray:
        return marginal_probabilities(self.data, qubits)

    def qubit_weights(self, qubit: int) -> tuple[float, float]:
        return qubit_weights(self.data, qubit)

    def collapse(self, qubit: int, outcome: int, weight: float) -> None:
        collapse(self.data, qubit, outcome, weight)

    def reset(self, qubit: int, outcome: int, weight: float) -> None:
        collapse(self.data, qubit, outcome, weight, reset=True)

    def factorizes(self, qubit: int, w0: float, w1: float) -> bool:
        return separable(self.data, qubit, w0, w1)

    def copy(self) -> VectorState:
        return self._like(self.data.copy())

    def to_host(self) -> np.ndarray:
        return self.data

    @property
    def nbytes(self) -> int:
        return int(self.data.nbytes)
